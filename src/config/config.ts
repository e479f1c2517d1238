/**
 * The SMSC configuration: one YAML file plus `SMSC_*` environment overrides, validated at
 * start against one schema (schema.ts, which also generates docs/config-reference.md); every
 * error names the key and the reason.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type CollectionTag, parse as parseYaml, type ScalarTag } from 'yaml';
import { applyEnv, type EnvOverride } from './env.js';
import { ConfigError } from './errors.js';
import { type Field, isObj, type ListField, type Obj, SCHEMA, type SectionField } from './schema.js';

export { ConfigError };

/**
 * YAML as the config files are read: an integer written in a form that a number would not keep
 * (`0012`, `007700`, `0x1F`, `0o17`) stays the string it was written as. Read as a number, a
 * password `0123` became "123" and an address `007700` "7700", silently (Kannel and Jasmin
 * files are full of numeric passwords and ids); a number key given one is refused by its check.
 */
export function parseConfigYaml(text: string): unknown {
  return parseYaml(text, { merge: true, customTags: keepIntegerForms as never });
}

const keepIntegerForms = (tags: (ScalarTag | CollectionTag | string)[]): (ScalarTag | CollectionTag | string)[] =>
  tags.map((t) => {
    if (typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:int' || !('resolve' in t)) return t;
    const { resolve, format } = t as ScalarTag;
    const asText = format === 'OCT' || format === 'HEX';
    return { ...t, resolve: (text, onError, options) => (asText || /^[-+]?0[0-9]/.test(text) ? text : resolve(text, onError, options)) } as ScalarTag;
  });

export interface ListenerConfig {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
}

export interface AccountConfig {
  systemId: string;
  password?: string;
  passwordHash?: string;
  /** Addresses (exact) and prefixes (ending in `*`) this account owns: MT to them is delivered to it. */
  addresses: string[];
  allowedIps?: string[];
  maxBinds: number;
  windowSize: number;
  allowedSystemTypes?: string[];
  /** Validity when the submit gives none, seconds. */
  defaultValiditySeconds: number;
  /** Longest validity accepted; longer ones are capped, seconds. */
  maxValiditySeconds: number;
  /** Submits per second accepted from this account (token bucket; 0 = no limit). */
  tps: number;
  /** Messages this account submitted waiting for delivery (MT only) before its submits get ESME_RMSGQFUL (0 = no limit). */
  maxQueued: number;
  /**
   * The SMSC connects out to this ESME (outbind) when set. `ca` is a file (config accounts);
   * `caPem` the certificates' text (accounts made through the admin API).
   */
  outbind?: { host: string; port: number; password?: string; tls?: boolean; ca?: string; caPem?: string };
  /** MO parts of a concatenated message are joined into one message_payload before delivery. */
  reassembleMo: boolean;
}

export interface Config {
  /** This node's id (message ids, leases). */
  nodeId: string;
  smpp: {
    systemId: string;
    listeners: ListenerConfig[];
    maxConnections: number;
    maxUnboundPerIp: number;
    maxPduBytes: number;
    windowSize: number;
    /** Inbound requests a session handles at once (reading pauses beyond). */
    maxInboundInFlight: number;
    responseTimeoutMs: number;
    enquireLinkIntervalMs: number;
    inactivityTimeoutMs: number;
    sessionInitTimeoutMs: number;
    drainTimeoutMs: number;
    /** command_status names for an unknown system_id and a wrong password. */
    unknownSystemIdStatus: string;
    wrongPasswordStatus: string;
  };
  /** active-active: every node serves; active-standby: the node holding the database lock. */
  cluster: { mode: 'active-active' | 'active-standby'; standbyRetryMs: number; storeFailureStopMs: number };
  store: {
    sqlite?: { path: string };
    postgres?: { url: string; schema?: string; poolSize: number; insertBatches: number; queryTimeoutMs: number; listenRetryMs: number };
    /** Submits arriving within this many ms share one commit. */
    commitDelayMs: number;
    /** Finished messages are purged after this many hours. */
    retentionHours: number;
    /** Write the per-message lifecycle log. */
    events: boolean;
  };
  delivery: {
    /** First retry after a temporary failure, ms; doubles up to maxRetryDelayMs. */
    retryDelayMs: number;
    maxRetryDelayMs: number;
    /** A claimed message is leased for this long, ms. */
    leaseMs: number;
    /** A connector down this long hands its queue to failover connectors, ms. */
    failoverGraceMs: number;
    /** A transaction-mode submit waits this long for its message's outcome, ms. */
    transactionWaitMs: number;
    /** A datagram waits at most this long for its destination, ms. */
    datagramWaitMs: number;
    /** MO parts wait this long for the rest before they are delivered as they are, ms. */
    moReassemblyTimeoutMs: number;
  };
  admin?: { listen: string; token: string; publicMetrics: boolean; hideMessageContent: boolean };
  accounts: AccountConfig[];
  /** The sections parsed elsewhere (routes, network, connectors, ...) as given, and top-level `x-` keys. */
  [key: string]: unknown;
}


export type { EnvOverride };

interface Context {
  baseDir: string;
}

function keyOf(path: string, k: string): string {
  return path === '' ? k : `${path}.${k}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known key an unknown one was probably meant to be. */
function nearest(k: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.replace(/[_-]/g, '').toLowerCase();
  return known.find((a) => norm(a) === norm(k)) ?? known.find((a) => k.length >= 4 && editDistance(a.toLowerCase(), k.toLowerCase()) <= 2);
}

/**
 * Unknown keys are errors (typos must not be ignored silently), naming the known key a near
 * miss (`acounts`) was probably meant to be. At the root, `x-` keys are kept as given.
 */
function checkKeys(section: SectionField, obj: Obj, path: string): void {
  const known = Object.keys(section.keys);
  for (const k of Object.keys(obj)) {
    if (Object.hasOwn(section.keys, k)) continue;
    // Top-level `x-` keys are the file's own (YAML anchors to reuse), as in Compose files.
    if (path === '' && k.startsWith('x-')) continue;
    const hint = nearest(k, known);
    throw new ConfigError(keyOf(path, k), hint === undefined ? `unknown key (known: ${known.join(', ')})` : `unknown key (did you mean '${hint}'?)`);
  }
}

function validateSection(section: SectionField, obj: Obj, path: string, ctx: Context): Obj {
  checkKeys(section, obj, path);
  const out: Obj = path === '' ? { ...obj } : {};
  for (const [k, field] of Object.entries(section.keys)) {
    // Sections with their own parser are kept as given; the SMSC validates them at start.
    if ((field.type === 'section' || field.type === 'named') && field.parsedBy !== undefined) continue;
    const v = validateField(field, obj[k], keyOf(path, k), ctx);
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  section.check?.(out, path);
  return out;
}

function validateList(field: ListField, v: unknown, key: string, ctx: Context): Obj[] {
  const items = v ?? field.default ?? [];
  if (!Array.isArray(items)) throw new ConfigError(key, 'must be a list');
  const seen = new Set<unknown>();
  return items.map((item: unknown, i) => {
    const ik = `${key}[${i}]`;
    if (!isObj(item)) throw new ConfigError(ik, 'must be a mapping');
    const out = validateSection(field.item, item, ik, ctx);
    if (field.uniqueKey !== undefined) {
      const u = out[field.uniqueKey];
      if (seen.has(u)) throw new ConfigError(`${ik}.${field.uniqueKey}`, `'${String(u)}' is defined twice`);
      seen.add(u);
    }
    return out;
  });
}

function str(v: unknown, key: string): string {
  if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(key, 'must be a string');
  return String(v);
}

/** The validated value of one key, defaults filled; `undefined` = leave it out. */
function validateField(field: Field, v: unknown, key: string, ctx: Context): unknown {
  if (v === null) v = undefined; // `key:` with nothing after it
  switch (field.type) {
    case 'section': {
      if (v === undefined) {
        if (field.required) throw new ConfigError(key, 'is required');
        if (field.optional) return undefined;
        v = {};
      }
      if (!isObj(v)) throw new ConfigError(key, 'must be a mapping');
      return validateSection(field, v, key, ctx);
    }
    case 'list':
      if (v === undefined && field.required) throw new ConfigError(key, 'is required');
      return validateList(field, v, key, ctx);
    case 'named':
    case 'any':
      if (v === undefined && field.required) throw new ConfigError(key, 'is required');
      return v;
    case 'strings': {
      if (v === undefined) {
        if (field.required) throw new ConfigError(key, 'is required');
        return field.default === undefined ? undefined : [...field.default];
      }
      if (field.oneOrMany && !Array.isArray(v)) return [str(v, key)];
      if (!Array.isArray(v)) throw new ConfigError(key, 'must be a list');
      return v.map((x: unknown, i) => str(x, `${key}[${i}]`));
    }
    case 'boolean':
      v ??= field.default;
      if (v === undefined) {
        if (field.required) throw new ConfigError(key, 'is required');
        return undefined;
      }
      if (typeof v !== 'boolean') throw new ConfigError(key, 'must be true or false');
      return v;
    case 'integer':
    case 'number': {
      v ??= field.default;
      if (v === undefined) {
        if (field.required) throw new ConfigError(key, 'is required');
        return undefined;
      }
      const integer = field.type === 'integer';
      if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
        throw new ConfigError(key, integer ? 'must be an integer' : 'must be a number');
      }
      const min = field.min ?? Number.NEGATIVE_INFINITY;
      const max = field.max ?? Number.POSITIVE_INFINITY;
      if (v < min || v > max) {
        if (field.max === undefined) throw new ConfigError(key, `must be at least ${min}`);
        throw new ConfigError(key, field.min === undefined ? `must be at most ${max}` : `must be between ${min} and ${max}`);
      }
      return v;
    }
    case 'string': {
      v ??= field.default;
      if (v === undefined) {
        if (field.required) throw new ConfigError(key, 'is required');
        return undefined;
      }
      const s = str(v, key);
      if (field.minLength !== undefined && s.length < field.minLength) {
        throw new ConfigError(key, `must be at least ${field.minLength} characters`);
      }
      if (field.maxLength !== undefined && s.length > field.maxLength) {
        throw new ConfigError(key, `must be at most ${field.maxLength} characters${field.lengthNote === undefined ? '' : ` (${field.lengthNote})`}`);
      }
      if (field.oneOf !== undefined && !field.oneOf.includes(s)) throw new ConfigError(key, `must be one of ${field.oneOf.join(', ')}`);
      if (field.path && s !== ':memory:') return resolve(ctx.baseDir, s);
      return s;
    }
  }
}

/**
 * Validates a parsed config object and fills defaults. `baseDir` resolves relative paths
 * (store file, TLS files) against the config file's folder. The `routes`, `connectors` and
 * `network` sections are kept as given: the SMSC validates them at start (see
 * src/cli/config-check.ts to validate them without starting).
 */
export function validateConfig(raw: unknown, baseDir = process.cwd()): Config {
  if (!isObj(raw)) throw new ConfigError('(root)', 'must be a mapping');
  const ctx = { baseDir };
  const config = validateSection(SCHEMA, raw, '', ctx) as unknown as Config;
  if (config['connectors'] !== undefined) config['connectors'] = connectorFiles(config['connectors'], baseDir);
  if (config.store.postgres === undefined && config.store.sqlite === undefined) {
    const sqlite = SCHEMA.keys['store'] as SectionField;
    config.store.sqlite = validateField(sqlite.keys['sqlite']!, {}, 'store.sqlite', ctx) as { path: string };
  }
  if (config.cluster.mode === 'active-standby' && config.store.postgres === undefined) {
    throw new ConfigError('cluster.mode', 'active-standby needs store.postgres: the nodes share its database (SQLite is one node)');
  }
  const { leaseMs } = config.delivery;
  if (config.smpp.responseTimeoutMs >= attemptBudgetMs(leaseMs)) {
    throw new ConfigError(
      'delivery.leaseMs',
      `must leave more than smpp.responseTimeoutMs (${config.smpp.responseTimeoutMs} ms) for a deliver_sm attempt after a tenth of it is kept for recording the outcome: ${leaseMs} ms leaves ${attemptBudgetMs(leaseMs)} (a delivery still waiting for its response when its lease ends could be sent twice)`,
    );
  }
  return config;
}

/** Connector keys naming a file: resolved against the config file's folder like the schema's paths. */
const CONNECTOR_FILES = ['ca'] as const;

/**
 * The `connectors` section (kept as given, parsed at start) with its file names resolved
 * against `baseDir`; anything malformed is left for the connectors' parsers to name.
 */
function connectorFiles(connectors: unknown, baseDir: string): unknown {
  if (!isObj(connectors)) return connectors;
  const out: Obj = {};
  for (const [name, c] of Object.entries(connectors)) {
    if (!isObj(c)) {
      out[name] = c;
      continue;
    }
    const copy: Obj = { ...c };
    for (const k of CONNECTOR_FILES) {
      const file = copy[k];
      if (typeof file === 'string' && file !== '') copy[k] = resolve(baseDir, file);
    }
    out[name] = copy;
  }
  return out;
}

/**
 * How long a delivery attempt may take under a lease of `leaseMs`: all of it but a tenth,
 * which is kept for recording the outcome. An attempt still running when its lease ends could
 * be claimed and sent again, so every timeout of an attempt (a deliver_sm's response, a
 * connector's submit or request) must fit in this.
 */
export function attemptBudgetMs(leaseMs: number): number {
  return leaseMs - Math.ceil(leaseMs / 10);
}

/** A loaded config and the environment variables that changed it. */
export interface LoadedConfig {
  config: Config;
  overrides: EnvOverride[];
}

/**
 * Reads and parses a YAML config file, applies the `SMSC_*` environment overrides (env.ts)
 * and validates the result. An error caused by an override names the variable too.
 */
export function loadConfigWithOverrides(file: string, env: Readonly<Record<string, string | undefined>> = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    // Merge keys (`<<: *defaults`), for the anchors of `x-` keys.
    raw = parseConfigYaml(text);
  } catch (err) {
    throw new ConfigError('(file)', `${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (!isObj(raw)) throw new ConfigError('(root)', 'must be a mapping');
  const overrides = applyEnv(raw, env);
  try {
    return { config: validateConfig(raw, dirname(resolve(file))), overrides };
  } catch (err) {
    const o = err instanceof ConfigError ? overrides.find((x) => x.key === err.key) : undefined;
    if (o !== undefined && err instanceof ConfigError) throw new ConfigError(err.key, `${err.reason} (value from environment variable ${o.variable})`);
    throw err;
  }
}

/** Reads, parses and validates a YAML config file, with the `SMSC_*` environment overrides. */
export function loadConfig(file: string, env: Readonly<Record<string, string | undefined>> = process.env): Config {
  return loadConfigWithOverrides(file, env).config;
}
