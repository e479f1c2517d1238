/**
 * `smsc account`, `smsc route`, `smsc connector` and `smsc message`: run-time administration
 * through the admin API of a running SMSC (`--admin HOST:PORT`, default 127.0.0.1:8775; the
 * token from `--token` or SMSC_ADMIN_TOKEN, as `smsc mo`). Refusals print the HTTP status,
 * the message and the field at fault, and exit 1; usage errors exit 2.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseConfigYaml } from '../config/config.js';
import { parseHostPort } from '../config/schema.js';
import { hashPassword } from '../server/accounts.js';

type Values = Record<string, string | boolean | string[] | undefined>;

const COMMON = {
  admin: { type: 'string', default: '127.0.0.1:8775' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

const ACCOUNT_OPTIONS = {
  ...COMMON,
  password: { type: 'string' },
  address: { type: 'string', multiple: true },
  'allowed-ip': { type: 'string', multiple: true },
  'system-type': { type: 'string', multiple: true },
  tps: { type: 'string' },
  'max-queued': { type: 'string' },
  'max-binds': { type: 'string' },
  window: { type: 'string' },
  'default-validity': { type: 'string' },
  'max-validity': { type: 'string' },
  disabled: { type: 'boolean' },
  'reassemble-mo': { type: 'string' },
  outbind: { type: 'string' },
  'outbind-password': { type: 'string' },
  'outbind-tls': { type: 'boolean' },
  'outbind-ca': { type: 'string' },
} as const;

class UsageError extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/**
 * One admin API call; exits 1 with status, message and field when refused, or naming the
 * address when the API cannot be reached.
 */
export async function adminCall(values: Values, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const token = (values['token'] as string | undefined) ?? process.env['SMSC_ADMIN_TOKEN'];
  if (token === undefined || token === '') throw new UsageError('--token (or SMSC_ADMIN_TOKEN) is required');
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`http://${values['admin'] as string}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch (err) {
    fail(`cannot reach the admin API at ${values['admin'] as string}: ${(err as Error).cause ?? (err as Error).message}`, 1);
  }
  const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const field = typeof answer['field'] === 'string' ? ` [${answer['field']}]` : '';
    fail(`refused (${res.status} ${answer['code'] ?? ''}): ${answer['message'] ?? res.statusText}${field}`, 1);
  }
  return answer;
}

function int(values: Values, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
  return Number(v);
}

function idArg(positionals: string[], what: string): string {
  const id = positionals[0];
  if (id === undefined) throw new UsageError(`give the ${what}`);
  return id;
}

/** The account fields given as options (only those present). */
function accountFields(values: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lists: [string, string][] = [
    ['address', 'addresses'],
    ['allowed-ip', 'allowedIps'],
    ['system-type', 'allowedSystemTypes'],
  ];
  for (const [opt, field] of lists) if (values[opt] !== undefined) out[field] = values[opt];
  const ints: [string, string][] = [
    ['tps', 'tps'],
    ['max-queued', 'maxQueued'],
    ['max-binds', 'maxBinds'],
    ['window', 'windowSize'],
    ['default-validity', 'defaultValiditySeconds'],
    ['max-validity', 'maxValiditySeconds'],
  ];
  for (const [opt, field] of ints) {
    const n = int(values, opt);
    if (n !== undefined) out[field] = n;
  }
  if (values['disabled'] !== undefined) out['disabled'] = values['disabled'];
  const reassemble = values['reassemble-mo'];
  if (reassemble !== undefined) {
    if (reassemble !== 'on' && reassemble !== 'off') throw new UsageError('--reassemble-mo must be on or off');
    out['reassembleMo'] = reassemble === 'on';
  }
  const outbind = values['outbind'];
  const outbindPassword = values['outbind-password'];
  const outbindTls = values['outbind-tls'];
  const outbindCa = values['outbind-ca'];
  const details = [outbindPassword !== undefined && '--outbind-password', outbindTls !== undefined && '--outbind-tls', outbindCa !== undefined && '--outbind-ca'].filter(
    (o) => o !== false,
  );
  if (outbind === 'off' || outbind === undefined) {
    if (details.length > 0) throw new UsageError(`${details.join(', ')}: goes with --outbind HOST:PORT`);
    if (outbind === 'off') out['outbind'] = null;
  } else {
    // The form of admin.listen: an IPv6 host in brackets.
    const target = typeof outbind === 'string' ? parseHostPort(outbind) : undefined;
    if (target === undefined) throw new UsageError('--outbind must be HOST:PORT or off');
    if (outbindCa !== undefined && outbindTls !== true) throw new UsageError('--outbind-ca goes with --outbind-tls');
    out['outbind'] = {
      ...target,
      ...(outbindPassword !== undefined ? { password: outbindPassword } : {}),
      ...(outbindTls === true ? { tls: true } : {}),
      ...(typeof outbindCa === 'string' ? { caPem: readCaFile(outbindCa) } : {}),
    };
  }
  return out;
}

/** The CA certificates of --outbind-ca, sent as their text (the SMSC may run elsewhere). */
function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--outbind-ca: cannot read ${file}: ${(err as Error).message}`);
  }
}

interface AccountRow {
  systemId: string;
  source?: string;
  disabled: boolean;
  tps: number;
  maxQueued: number;
  addresses: string[];
}

function accountLine(a: AccountRow): string {
  return [
    a.systemId.padEnd(16),
    (a.source ?? '-').padEnd(7),
    (a.disabled ? 'disabled' : 'enabled').padEnd(9),
    `tps=${a.tps || '-'}`.padEnd(9),
    `maxQueued=${a.maxQueued || '-'}`.padEnd(16),
    a.addresses.join(',') || '(any source)',
  ].join(' ');
}

function print(values: Values, answer: unknown, text: () => string): void {
  console.log(values['json'] === true ? JSON.stringify(answer, null, 2) : text());
}

export async function accountCommand(args: string[], help: string): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, options: ACCOUNT_OPTIONS, allowPositionals: true });
  if (values.help || sub === undefined || sub === '--help') {
    console.log(help);
    return;
  }
  const enc = encodeURIComponent;
  await run(async () => {
    switch (sub) {
      case 'list': {
        const r = await adminCall(values, 'GET', '/api/accounts');
        print(values, r, () => (r['accounts'] as AccountRow[]).map(accountLine).join('\n') || '(no accounts)');
        return;
      }
      case 'show': {
        const r = await adminCall(values, 'GET', `/api/accounts/${enc(idArg(positionals, 'system_id'))}`);
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      case 'create': {
        const body: Record<string, unknown> = { systemId: idArg(positionals, 'system_id'), ...accountFields(values) };
        if (values.password !== undefined) body['password'] = values.password;
        const r = await adminCall(values, 'POST', '/api/accounts', body);
        print(values, r, () => {
          const lines = [`account ${body['systemId']} created`, accountLine(r['account'] as AccountRow)];
          if (typeof r['password'] === 'string') lines.push(`password: ${r['password']}   (shown only now)`);
          return lines.join('\n');
        });
        return;
      }
      case 'update':
      case 'disable':
      case 'enable': {
        const id = idArg(positionals, 'system_id');
        const patch = sub === 'update' ? accountFields(values) : { disabled: sub === 'disable' };
        if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give at least one field option');
        const r = await adminCall(values, 'PATCH', `/api/accounts/${enc(id)}`, patch);
        print(values, r, () => `account ${id} ${sub === 'update' ? 'updated' : `${sub}d`}\n${accountLine(r as unknown as AccountRow)}`);
        return;
      }
      case 'delete': {
        const id = idArg(positionals, 'system_id');
        const r = await adminCall(values, 'DELETE', `/api/accounts/${enc(id)}`);
        print(values, r, () => `account ${id} deleted (${r['sessionsClosed']} session(s) closed)`);
        return;
      }
      case 'hash': {
        // For a config file's accounts[].passwordHash: made here, no SMSC asked.
        const password = values.password ?? (await readStdin()).replace(/\r?\n$/, '');
        if (password === '') throw new UsageError('give the password with --password PW, or on standard input');
        console.log(hashPassword(password));
        return;
      }
      case 'reset-password': {
        const id = idArg(positionals, 'system_id');
        const r = await adminCall(values, 'POST', `/api/accounts/${enc(id)}/password`, values.password === undefined ? {} : { password: values.password });
        print(values, r, () => `new password of ${id}: ${r['password']}`);
        return;
      }
      default:
        throw new UsageError(`unknown account command '${sub}'\n\n${help}`);
    }
  });
}

/** A routes document from a YAML or JSON file: the whole file, or its `routes:` section. */
function readRoutes(file: string): unknown {
  let doc: unknown;
  try {
    doc = parseConfigYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read routes from ${file}: ${(err as Error).message}`);
  }
  if (typeof doc === 'object' && doc !== null && 'routes' in doc) return (doc as { routes: unknown }).routes;
  return doc ?? {};
}

function routesText(r: Record<string, unknown>): string {
  const doc = (r['routes'] ?? {}) as { mt?: unknown[]; mo?: unknown[]; noRouteStatus?: unknown };
  const lines = [`routes from ${r['source']}`];
  if (doc.noRouteStatus !== undefined) lines.push(`noRouteStatus: ${String(doc.noRouteStatus)}`);
  lines.push('mt:', ...(doc.mt ?? []).map((x, i) => `  [${i}] ${JSON.stringify(x)}`));
  lines.push('mo:', ...(doc.mo ?? []).map((x, i) => `  [${i}] ${JSON.stringify(x)}`));
  return lines.join('\n');
}

export async function routeCommand(args: string[], help: string): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { ...COMMON, position: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.help || sub === undefined || sub === '--help') {
    console.log(help);
    return;
  }
  await run(async () => {
    let r: Record<string, unknown>;
    switch (sub) {
      case 'list':
        r = await adminCall(values, 'GET', '/api/routes');
        break;
      case 'set':
        r = await adminCall(values, 'PUT', '/api/routes', readRoutes(idArg(positionals, 'routes file (YAML or JSON)')));
        break;
      case 'clear':
        r = await adminCall(values, 'DELETE', '/api/routes');
        break;
      case 'add': {
        const [kind, rule] = positionals;
        if (kind !== 'mt' && kind !== 'mo') throw new UsageError('give mt or mo, then the rule as JSON');
        if (rule === undefined) throw new UsageError(`give the ${kind} rule as JSON, e.g. '{"prefix":"44","connector":"network"}'`);
        let parsed: unknown;
        try {
          parsed = JSON.parse(rule);
        } catch (err) {
          throw new UsageError(`the rule is not JSON: ${(err as Error).message}`);
        }
        const position = int(values, 'position');
        r = await adminCall(values, 'POST', `/api/routes/${kind}${position === undefined ? '' : `?position=${position}`}`, parsed);
        break;
      }
      case 'delete': {
        const [kind, index] = positionals;
        if ((kind !== 'mt' && kind !== 'mo') || index === undefined || !/^\d+$/.test(index)) {
          throw new UsageError('give mt or mo and the index of the rule (see smsc route list)');
        }
        r = await adminCall(values, 'DELETE', `/api/routes/${kind}/${index}`);
        break;
      }
      default:
        throw new UsageError(`unknown route command '${sub}'\n\n${help}`);
    }
    print(values, r, () => routesText(r));
  });
}

export async function connectorCommand(args: string[], help: string): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, options: COMMON, allowPositionals: true });
  if (values.help || sub === undefined || sub === '--help') {
    console.log(help);
    return;
  }
  type Row = { name: string; type: string; state: string; queueDepth: number; lastError?: string };
  const line = (c: Row) =>
    `${c.name.padEnd(20)} ${c.type.padEnd(8)} ${c.state.padEnd(11)} queued=${c.queueDepth}${c.lastError !== undefined ? `  (${c.lastError})` : ''}`;
  await run(async () => {
    if (sub === 'list') {
      const r = await adminCall(values, 'GET', '/api/connectors');
      print(values, r, () => (r['connectors'] as Row[]).map(line).join('\n') || '(no connectors)');
      return;
    }
    if (sub !== 'disable' && sub !== 'enable') throw new UsageError(`unknown connector command '${sub}'\n\n${help}`);
    const r = await adminCall(values, 'POST', `/api/connectors/${encodeURIComponent(idArg(positionals, 'connector name'))}/${sub}`);
    print(values, r, () => line(r as unknown as Row));
  });
}

interface MessageAnswer {
  message: Record<string, unknown> & { source: { addr: string }; destination: { addr: string } };
  events: { at: number; kind: string; detail: string }[];
}

export async function messageCommand(args: string[], help: string): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true });
  if (values.help) {
    console.log(help);
    return;
  }
  // No id: a usage error (exit 2), as a missing argument is for the other commands.
  if (positionals[0] === undefined) fail(`a message id is required\n\n${help}`, 2);
  await run(async () => {
    const id = idArg(positionals, 'message id');
    const r = (await adminCall(values, 'GET', `/api/messages/${encodeURIComponent(id)}`)) as unknown as MessageAnswer;
    print(values, r, () => {
      const m = r.message;
      const iso = (t: unknown) => (typeof t === 'number' ? new Date(t).toISOString() : '-');
      const lines = [
        `message ${m['id']}  ${m['direction']}  account=${m['account']}  target=${m['target']}`,
        `  ${m.source.addr} → ${m.destination.addr}${typeof m['text'] === 'string' ? `  "${m['text']}"` : ''}`,
        `  state=${m['state']}  attempts=${m['attempts']}  error=${m['errorCode']}  submitted=${iso(m['submittedAt'])}  expires=${iso(m['expiresAt'])}${m['finalAt'] === null ? '' : `  final=${iso(m['finalAt'])}`}`,
        'lifecycle:',
        ...r.events.map((e) => `  ${iso(e.at)}  ${e.kind.padEnd(10)} ${e.detail}`),
      ];
      return lines.join('\n');
    });
  });
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof UsageError) fail(err.message, 2);
    throw err;
  }
}

/** Everything on standard input (a password piped in, kept out of the shell's history). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
