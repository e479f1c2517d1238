#!/usr/bin/env node
/**
 * The `smsc` command line: start the SMSC, send and listen as an ESME, decode and encode PDUs.
 */
import { parseArgs } from 'node:util';
import { connect } from '../client/client.js';
import { CommandStatusError } from '../errors.js';
import {
  DataCoding,
  decodePdu,
  EsmClass,
  encodePdu,
  PduDecodeError,
  PduEncodeError,
  pduFromJson,
  pduToJson,
} from '../pdu/index.js';
import type { BindType } from '../session/state.js';
import { countSegments, decodeText, parseReceipt } from '../sm/index.js';
import { ProgressBar } from './progress.js';

const HELP: Record<string, string> = {
  main: `smsc: a Short Message Service Centre

Usage: smsc <command> [options]

Commands:
  start    run the SMSC            smsc start [--config smsc.yaml]
  send     submit a message        smsc send --port 2775 --system-id alice --password pw --from 1000 --to 447700900123 --text "hi" [--dlr]
  listen   receive as an ESME      smsc listen --port 2775 --system-id bob --password pw [--type transceiver]
  mo       a handset sends MO      smsc mo --token T --from 447700900123 --to 2000 --text "hi"
  account  manage accounts         smsc account create carol --address 3000 --tps 50
  route    manage routes           smsc route set routes.yaml
  connector  switch connectors     smsc connector disable network
  message  a message's lifecycle   smsc message 120534292705536
  pdu      decode/encode PDUs      smsc pdu decode 00000010000000150000000000000001
  config   validate a config       smsc config check smsc.yaml
  bench    run the benchmark suite smsc bench --quick   (from a repository checkout)

Run 'smsc <command> --help' for a command's options and examples; 'smsc --version' for the version.
Exit codes: 0 done, 1 failed, 2 a usage error.`,
  start: `smsc start [--config FILE]

Starts the SMSC. Without --config it uses data/smsc.yaml, and on the first start writes a demo
config there with freshly generated passwords, which it prints.

Examples:
  smsc start
  smsc start --config config/smsc.example.yaml`,
  send: `smsc send --host H --port P --system-id ID --password PW --from ADDR --to ADDR --text TEXT [--dlr] [--tls] [--wait-dlr SECONDS] [--count N --window W]

Binds as a transmitter (transceiver with --dlr), submits the text (split into concatenated parts
with a UDH when it is long; GSM 7-bit when possible, else UCS2), prints each message id.
With --dlr it waits for the delivery receipts (up to --wait-dlr seconds, default 30).
Bulk: --count N sends the text N times with W copies outstanding (--window, default 10;
each copy of a long text is its own concatenated message), showing a progress bar (and one
for the receipts with --dlr) and a summary instead of each id.
--tls connects with TLS without verifying the server's certificate (a test tool: use the client
library, which verifies it, where that matters).

Examples:
  smsc send --port 2775 --system-id alice --password s3cret --from 1000 --to 447700900123 --text "Hello" --dlr
  smsc send --port 2775 --system-id alice --password s3cret --from 1000 --to 447700900123 --text "load" --count 10000 --window 50 --dlr`,
  listen: `smsc listen --host H --port P --system-id ID --password PW [--type receiver|transceiver] [--count N] [--tls]

Binds as a receiver (default) or transceiver, prints every deliver_sm/data_sm as one JSON line,
answers each with ESME_ROK. Stops after --count messages, or on Ctrl-C. --tls: as smsc send's
(the server's certificate is not verified).

Example:
  smsc listen --port 2775 --system-id bob --password s3cret`,
  mo: `smsc mo --from NUMBER --to SHORTCODE --text TEXT [--admin HOST:PORT] [--token TOKEN]

A handset of the simulated mobile network sends an MO message, through the admin API of a
running SMSC (default 127.0.0.1:8775; the token from --token or SMSC_ADMIN_TOKEN). The SMSC
stores it for the account that owns the short code and delivers it as deliver_sm.

Example:
  smsc mo --token "$SMSC_ADMIN_TOKEN" --from 447700900123 --to 2000 --text "Hello from a phone"`,
  account: `smsc account list|show|create|update|disable|enable|delete|reset-password [ID] [options] [--admin HOST:PORT] [--token T] [--json]
       smsc account hash [--password PW]   (a passwordHash for the config file; the password on standard input without --password)

Manages ESME accounts through the admin API of a running SMSC (default 127.0.0.1:8775; the
token from --token or SMSC_ADMIN_TOKEN). Accounts created here live in the store (shared by
every node in PostgreSQL mode) and apply at once; accounts of the config file are read only.
Disabling or deleting an account unbinds its sessions and refuses its binds.

Field options (create, update): --password PW (create; generated and printed once when absent)
  --address A (repeat; exact or prefix ending in *)  --allowed-ip CIDR (repeat)
  --system-type T (repeat)  --tps N  --max-queued N  --max-binds N  --window N
  --default-validity SECONDS  --max-validity SECONDS  --disabled
  --reassemble-mo on|off (join the parts of a long MO into one deliver_sm)
  --outbind HOST:PORT|off [--outbind-password PW] [--outbind-tls [--outbind-ca PEMFILE]]
      (the SMSC connects out to the ESME and sends outbind; over TLS, the ESME's certificate
      verified against the CAs of PEMFILE, read here and stored with the account)

Examples:
  smsc account list
  smsc account create carol --address 3000 --address "4477*" --tps 50
  smsc account update carol --max-queued 10000
  smsc account disable carol
  smsc account reset-password carol
  smsc account delete carol`,
  route: `smsc route list|set FILE|clear|add mt|mo JSON [--position N]|delete mt|mo INDEX [--admin HOST:PORT] [--token T] [--json]

Shows or changes the MT and MO routes through the admin API. 'set' replaces them with a YAML
or JSON file (the config 'routes' section, or a whole config file with one); the routes then
apply on every node and override the config file's until 'clear'. Errors name the field.

Examples:
  smsc route list
  smsc route set routes.yaml
  smsc route add mt '{"prefix":"4479","connector":"network"}' --position 0
  smsc route add mo '{"match":"2000","account":"bob"}'
  smsc route delete mt 2
  smsc route clear`,
  connector: `smsc connector list|disable NAME|enable NAME [--admin HOST:PORT] [--token T] [--json]

Lists the connectors with their state and queue depth (and, for an SMPP upstream not bound,
why its last connection or bind failed), or switches one off and on (on every node). A
disabled connector's messages stay queued; enabling it delivers them.

Examples:
  smsc connector list
  smsc connector disable network      (the demo config's simulated network)
  smsc connector enable network`,
  message: `smsc message ID [--admin HOST:PORT] [--token T] [--json]

Shows a stored message and its lifecycle: accepted, every delivery attempt and its outcome.

Example:
  smsc message 120534292705536       (the id a submit_sm_resp gave)`,
  pdu: `smsc pdu decode <hex>     prints the PDU as JSON (exit 0), or the command_status name and the reason (exit 1)
smsc pdu encode <json>    prints the PDU as hex; octet strings in the JSON are hex

Examples:
  smsc pdu decode 00000010000000150000000000000001
  smsc pdu encode '{"command":"enquire_link","sequenceNumber":1}'`,
};

/** The package's version (package.json beside dist/). */
async function version(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `smsc ${pkg.version}`;
}

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function pduCommand(args: string[]): void {
  const [op, arg] = args;
  if (op === undefined || op === '--help' || arg === undefined) {
    console.log(HELP['pdu']);
    process.exit(op === '--help' ? 0 : 2);
  }
  if (op === 'decode') {
    const clean = arg.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})+$/.test(clean)) fail('ESME_RINVCMDLEN: input is not an even number of hex digits', 1);
    try {
      console.log(JSON.stringify(pduToJson(decodePdu(Buffer.from(clean, 'hex')), { redact: false }), null, 2));
    } catch (err) {
      // Its message starts with the command_status name.
      if (err instanceof PduDecodeError) fail(err.message, 1);
      throw err;
    }
    return;
  }
  if (op === 'encode') {
    let json: unknown;
    try {
      json = JSON.parse(arg);
    } catch (err) {
      fail(`input is not JSON: ${(err as Error).message}`, 1);
    }
    try {
      console.log(encodePdu(pduFromJson(json as Record<string, unknown>)).toString('hex'));
    } catch (err) {
      if (err instanceof PduEncodeError) fail(err.message, 1);
      throw err;
    }
    return;
  }
  fail(`unknown pdu operation '${op}' (decode or encode)`);
}

const connectionOptions = {
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '2775' },
  'system-id': { type: 'string' },
  password: { type: 'string' },
  tls: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** --port as a number, or a usage error naming it. */
function portOf(values: { port: string }): number {
  const port = Number(values.port);
  if (!/^[0-9]+$/.test(values.port) || port < 1 || port > 65535) fail(`--port must be a port number (1-65535), got '${values.port}'`);
  return port;
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') fail(`--${name} is required (see --help)`);
  return v;
}

async function sendCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...connectionOptions,
      from: { type: 'string', default: '' },
      to: { type: 'string' },
      text: { type: 'string' },
      dlr: { type: 'boolean', default: false },
      'wait-dlr': { type: 'string', default: '30' },
      count: { type: 'string', default: '1' },
      window: { type: 'string', default: '10' },
    },
  });
  if (values.help) {
    console.log(HELP['send']);
    return;
  }
  const to = required(values, 'to');
  const text = required(values, 'text');
  const waitDlr = Number(values['wait-dlr']);
  // Checked before anything is sent: a bad value must not leave a message sent and unwatched.
  if (!(waitDlr > 0)) fail('--wait-dlr must be a positive number of seconds');
  const count = Number(values.count);
  const window = Number(values.window);
  if (!Number.isInteger(count) || count < 1) fail('--count must be a positive integer');
  if (!Number.isInteger(window) || window < 1) fail('--window must be a positive integer');
  const systemId = required(values, 'system-id');
  const password = required(values, 'password');
  const client = await connect({ host: values.host, port: portOf(values), tls: values.tls ? { rejectUnauthorized: false } : false });
  const type: BindType = values.dlr ? 'transceiver' : 'transmitter';
  try {
    await client.bind({ type, systemId, password });
    const bulk = count > 1;
    const ids: string[] = [];
    // Bulk: `count` copies, at most `window` of them outstanding, a progress bar instead of ids.
    // Each copy of a long text is its own concatenated message (its own reference).
    const parts = countSegments(text);
    const bar = bulk ? new ProgressBar('sending', count * parts) : undefined;
    const t0 = performance.now();
    let sent = 0;
    const sendCopies = async () => {
      while (sent < count) {
        sent++;
        const partIds = await client.sendText({
          sourceAddr: values.from,
          sourceAddrTon: /^\d+$/.test(values.from) ? 1 : 5,
          destinationAddr: to,
          registeredDelivery: values.dlr ? 1 : 0,
          text,
        });
        for (const id of partIds) {
          ids.push(id);
          if (bar === undefined) console.log(`submitted ${id}`);
        }
        bar?.update(ids.length);
      }
    };
    await Promise.all(Array.from({ length: bulk ? Math.min(window, count) : 1 }, sendCopies));
    if (bar !== undefined) {
      bar.end();
      const secs = (performance.now() - t0) / 1000;
      console.log(`submitted ${ids.length} messages in ${secs.toFixed(2)} s (${Math.round(ids.length / secs)}/s); first ${ids[0]}, last ${ids.at(-1)}`);
    }
    if (values.dlr) {
      const pending = new Set(ids);
      const receiptBar = bulk ? new ProgressBar('receipts', ids.length, { showRate: false }) : undefined;
      const timer = setTimeout(() => fail(`no receipt for ${pending.size} message(s) within ${values['wait-dlr']} s`, 1), waitDlr * 1000);
      for await (const d of client.deliveries()) {
        if (d.command !== 'deliver_sm' || (d.esmClass & EsmClass.TypeDeliveryReceipt) === 0) continue;
        const text = decodeText(d.shortMessage, DataCoding.Default);
        const id = d.tlvs.receiptedMessageId ?? parseReceipt(text)?.id ?? '';
        // Receipts of other messages (sent before, queued for this account) are not this run's.
        if (!pending.delete(id)) continue;
        if (receiptBar === undefined) console.log(`receipt ${id}: ${text}`);
        receiptBar?.update(ids.length - pending.size);
        if (pending.size === 0) break;
      }
      clearTimeout(timer);
      // The deliveries ended (the connection closed) with receipts still owed.
      if (pending.size > 0) fail(`the connection closed before the receipt of ${pending.size} message(s)`, 1);
      if (receiptBar !== undefined) {
        receiptBar.end();
        console.log(`${ids.length} receipts received`);
      }
    }
  } catch (err) {
    if (err instanceof CommandStatusError) fail(err.message, 1);
    throw err;
  } finally {
    await client.close();
  }
}

async function listenCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...connectionOptions, type: { type: 'string', default: 'receiver' }, count: { type: 'string' } },
  });
  if (values.help) {
    console.log(HELP['listen']);
    return;
  }
  if (values.type !== 'receiver' && values.type !== 'transceiver') fail('--type must be receiver or transceiver');
  const count = values.count === undefined ? Number.POSITIVE_INFINITY : Number(values.count);
  if (values.count !== undefined && !(Number.isInteger(count) && count >= 1)) fail('--count must be a positive integer');
  const client = await connect({
    host: values.host,
    port: portOf(values),
    tls: values.tls ? { rejectUnauthorized: false } : false,
    reconnect: { initialDelayMs: 1000 },
  });
  await client.bind({ type: values.type, systemId: required(values, 'system-id'), password: required(values, 'password') });
  console.error(`bound as ${values.type}; waiting for messages (Ctrl-C to stop)`);
  process.once('SIGINT', () => void client.close());
  // The client reconnects and rebinds on its own (keeping the process alive meanwhile): this
  // says when the link goes and comes back.
  let down = false;
  const watch = setInterval(() => {
    const now = !client.session.isBound;
    if (now !== down) console.error(now ? 'connection lost; reconnecting' : `bound again as ${values.type}`);
    down = now;
  }, 250);
  let left = count;
  try {
    for await (const d of client.deliveries()) {
      const line: Record<string, unknown> = { ...pduToJson(d) };
      if (d.command === 'deliver_sm') line['text'] = decodeText(d.tlvs.messagePayload ?? d.shortMessage, d.dataCoding);
      console.log(JSON.stringify(line));
      if (--left <= 0) break;
    }
  } finally {
    clearInterval(watch);
  }
  await client.close();
}

async function moCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      admin: { type: 'string', default: '127.0.0.1:8775' },
      token: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      text: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP['mo']);
    return;
  }
  const token = values.token ?? process.env['SMSC_ADMIN_TOKEN'];
  if (token === undefined || token === '') fail('--token (or SMSC_ADMIN_TOKEN) is required');
  const { adminCall } = await import('./admin-commands.js');
  // As the admin commands do: an API that is down is named, a refusal says its status and field.
  const body = await adminCall({ admin: values.admin, token }, 'POST', '/api/mo', {
    from: required(values, 'from'),
    to: required(values, 'to'),
    // An empty text is a message too (the API takes it): only a missing --text is refused.
    text: typeof values.text === 'string' ? values.text : required(values, 'text'),
  });
  console.log(`MO stored as ${String(body['messageId'])}`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'pdu':
      pduCommand(rest);
      return;
    case 'send':
      await sendCommand(rest);
      return;
    case 'listen':
      await listenCommand(rest);
      return;
    case 'mo':
      await moCommand(rest);
      return;
    case 'account':
    case 'route':
    case 'connector':
    case 'message': {
      const admin = await import('./admin-commands.js');
      const run = { account: admin.accountCommand, route: admin.routeCommand, connector: admin.connectorCommand, message: admin.messageCommand }[command];
      await run(rest, HELP[command]!);
      return;
    }
    case 'start': {
      const { startCommand } = await import('./start.js');
      await startCommand(rest, HELP['start']!);
      return;
    }
    case 'bench':
      return (await import('./bench.js')).benchCommand(rest);
    case 'config': {
      const { configCommand } = await import('./config-check.js');
      configCommand(rest);
      return;
    }
    case undefined:
    case '--help':
    case 'help':
      console.log(HELP['main']);
      return;
    case '--version':
    case 'version':
      console.log(await version());
      return;
    default:
      fail(`unknown command '${command}'\n\n${HELP['main']}`);
  }
}

// A command line parseArgs refuses (an unknown option, one without its value, a stray
// argument) is a usage error, exit 2, as the CLI's own checks say; anything else failed at run time.
main(process.argv.slice(2)).catch((err: Error & { code?: unknown }) =>
  fail(`smsc: ${err.message}`, typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS_') ? 2 : 1),
);
