/**
 * `smsc config check [FILE]`: load and validate a config as `smsc start` would (file, `SMSC_*`
 * environment overrides, and the routes, connectors and network sections), without opening
 * the store or listening. Prints `ok` and a summary, or the error naming the key (exit 1).
 */
import { accessSync, constants } from 'node:fs';
import { parseArgs } from 'node:util';
import { asConfigError } from '../app/smsc.js';
import { type Config, ConfigError, type EnvOverride, loadConfigWithOverrides } from '../config/config.js';
import { parseHttp } from '../connectors/http.js';
import { parseNetwork } from '../connectors/network.js';
import { parseSmpp } from '../connectors/smpp.js';
import { commandStatusByName } from '../pdu/constants.js';
import { parseRoutes, type RoutesConfig } from '../routing/index.js';
import { parseCidr } from '../server/accounts.js';

export const CONFIG_HELP = `smsc config check [FILE]

Loads FILE (default: $SMSC_CONFIG, else data/smsc.yaml) with the SMSC_* environment overrides
and validates every section as 'smsc start' would, without opening the store or listening.
Prints 'ok' and a summary (exit 0), or the offending key and the reason (exit 1).
Environment overrides: SMSC_<SECTION>__<KEY>, e.g. SMSC_SMPP__WINDOW_SIZE=50 (docs/config-reference.md).

Examples:
  smsc config check config/smsc.example.yaml
  SMSC_ADMIN__TOKEN=secret smsc config check data/smsc.yaml`;

/** What the sections parsed elsewhere hold, for the summary. */
export interface SectionsSummary {
  /** Connector names routes may use (`network` when the network section is present). */
  connectors: string[];
  routes: RoutesConfig;
}


/**
 * Validates what `validateConfig` keeps as given and `startSmsc` checks at start: the
 * connectors, network and routes sections (with the same parsers and cross-references), the
 * command_status names, the allowedIps ranges and that TLS files are readable.
 * @throws ConfigError naming the key
 */
export function checkSections(config: Config): SectionsSummary {
  for (const k of ['unknownSystemIdStatus', 'wrongPasswordStatus'] as const) {
    const name = config.smpp[k];
    if (commandStatusByName(name) === undefined) throw new ConfigError(`smpp.${k}`, `unknown command_status name '${name}'`);
  }
  config.smpp.listeners.forEach((l, i) => {
    for (const f of ['cert', 'key'] as const) {
      const file = l.tls?.[f];
      if (file === undefined) continue;
      try {
        accessSync(file, constants.R_OK);
      } catch (err) {
        throw new ConfigError(`smpp.listeners[${i}].tls.${f}`, `cannot read ${file}: ${(err as Error).message}`);
      }
    }
  });
  config.accounts.forEach((a, i) => {
    a.allowedIps?.forEach((range, j) => {
      try {
        parseCidr(range);
      } catch (err) {
        throw new ConfigError(`accounts[${i}].allowedIps[${j}]`, (err as Error).message);
      }
    });
  });

  const names = new Set<string>();
  const raw = config['connectors'];
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new ConfigError('connectors', 'must be a mapping of name → connector');
  }
  for (const [name, c] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const type = (c as { type?: unknown } | null)?.type;
    const path = `connectors.${name}`;
    if (type === 'http') asConfigError(() => parseHttp(c, path));
    else if (type === 'smpp') asConfigError(() => parseSmpp(c, path, commandStatusByName));
    else if (type === 'network') {
      const { type: _t, ...rest } = c as Record<string, unknown>;
      asConfigError(() => parseNetwork(rest, path));
    } else throw new ConfigError(`${path}.type`, "must be 'http', 'smpp' or 'network'");
    names.add(name);
  }
  if (config['network'] !== undefined) {
    asConfigError(() => parseNetwork(config['network'], 'network'));
    names.add('network');
  }
  const routes = asConfigError(() =>
    parseRoutes(config['routes'], {
      statusByName: commandStatusByName,
      connectors: names,
      accounts: config.accounts.map((a) => a.systemId),
    }),
  );
  return { connectors: [...names], routes };
}

/** Hides the password of a URL. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(url)';
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The summary printed after `ok`. */
export function summary(config: Config, sections: SectionsSummary, overrides: readonly EnvOverride[]): string {
  const listeners = config.smpp.listeners.map((l) => `${l.host}:${l.port}${l.tls ? ' (TLS)' : ''}`).join(', ');
  const store = config.store.postgres !== undefined ? `postgres ${redact(config.store.postgres.url)}` : `sqlite ${config.store.sqlite!.path}`;
  const lines = [
    `  node ${config.nodeId}; SMPP on ${listeners}`,
    `  store: ${store}`,
    `  ${plural(config.accounts.length, 'account')}${config.accounts.length > 0 ? ` (${config.accounts.map((a) => a.systemId).join(', ')})` : ''}`,
    `  connectors: ${sections.connectors.length > 0 ? sections.connectors.join(', ') : 'none'}; routes: ${plural(sections.routes.mt.length, 'MT rule')}, ${plural(sections.routes.mo.length, 'MO rule')}`,
    `  admin: ${config.admin !== undefined ? `on ${config.admin.listen}` : 'off'}`,
  ];
  if (overrides.length > 0) lines.push(`  environment overrides: ${overrides.map((o) => `${o.variable} → ${o.key}`).join(', ')}`);
  return lines.join('\n');
}

export function configCommand(args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const [op, ...rest] = args;
  if (op === undefined || op === '--help' || op === 'help') {
    console.log(CONFIG_HELP);
    process.exit(op === undefined ? 2 : 0);
  }
  if (op !== 'check') {
    console.error(`unknown config operation '${op}' (check)\n\n${CONFIG_HELP}`);
    process.exit(2);
  }
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log(CONFIG_HELP);
    return;
  }
  if (positionals.length > 1) {
    console.error(`one config file at most, got ${positionals.length}`);
    process.exit(2);
  }
  const file = positionals[0] ?? env['SMSC_CONFIG'] ?? 'data/smsc.yaml';
  try {
    const { config, overrides } = loadConfigWithOverrides(file, env);
    const sections = checkSections(config);
    console.log(`ok: ${file}\n${summary(config, sections, overrides)}`);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${file}: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}
