
import { parseArgs } from 'node:util';
import { checkSections, type SectionsSummary } from '../app/check-config.js';
import { type Config, ConfigError, type EnvOverride, loadConfigWithOverrides } from '../config/config.js';

export const CONFIG_HELP = `smsc config check [FILE]

Loads FILE (default: $SMSC_CONFIG, else data/smsc.yaml) with the SMSC_* environment overrides
and validates every section as 'smsc start' would, without opening the store or listening.
Prints 'ok' and a summary (exit 0), or the offending key and the reason (exit 1).
Environment overrides: SMSC_<SECTION>__<KEY>, e.g. SMSC_SMPP__WINDOW_SIZE=50 (docs/config-reference.md).

Examples:
  smsc config check config/smsc.example.yaml
  SMSC_ADMIN__TOKEN=secret smsc config check data/smsc.yaml`;

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
