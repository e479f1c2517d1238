/**
 * The SMSC configuration: one YAML file, validated at start against one schema; every error
 * names the key and the reason. Defaults live beside each key with its unit.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** A config key that is missing, of the wrong type or out of range. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'SMSC_ERR_CONFIG';
  /** Dotted path of the offending key, e.g. `accounts[0].password`. */
  readonly key: string;
  constructor(key: string, reason: string) {
    super(`config key '${key}': ${reason}`);
    this.key = key;
  }
}

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
  /** Messages of this account waiting for delivery before submits get ESME_RMSGQFUL (0 = no limit). */
  maxQueued: number;
  /** The SMSC connects out to this ESME (outbind) when set. */
  outbind?: { host: string; port: number };
}

export interface Config {
  /** This node's id (message ids, leases). */
  nodeId: string;
  smpp: {
    systemId: string;
    listeners: ListenerConfig[];
    maxConnections: number;
    maxPduBytes: number;
    windowSize: number;
    responseTimeoutMs: number;
    enquireLinkIntervalMs: number;
    inactivityTimeoutMs: number;
    sessionInitTimeoutMs: number;
    drainTimeoutMs: number;
    /** command_status names for an unknown system_id and a wrong password. */
    unknownSystemIdStatus: string;
    wrongPasswordStatus: string;
  };
  store: {
    sqlite?: { path: string };
    postgres?: { url: string };
    /** Submits arriving within this many ms share one commit. */
    commitDelayMs: number;
    /** Finished messages are purged after this many hours. */
    retentionHours: number;
  };
  delivery: {
    /** First retry after a temporary failure, ms; doubles up to maxRetryDelayMs. */
    retryDelayMs: number;
    maxRetryDelayMs: number;
    /** A claimed message is leased for this long, ms. */
    leaseMs: number;
  };
  admin?: { listen: string; token: string };
  accounts: AccountConfig[];
  /** Sections of later issues are kept as given. */
  [key: string]: unknown;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
  readonly obj: Obj;
  readonly path: string;
  constructor(obj: Obj, path: string) {
    this.obj = obj;
    this.path = path;
  }
  #key(k: string): string {
    return this.path === '' ? k : `${this.path}.${k}`;
  }
  str(k: string, def?: string): string {
    const v = this.obj[k];
    if (v === undefined) {
      if (def === undefined) throw new ConfigError(this.#key(k), 'is required');
      return def;
    }
    if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(this.#key(k), 'must be a string');
    return String(v);
  }
  optStr(k: string): string | undefined {
    return this.obj[k] === undefined ? undefined : this.str(k);
  }
  int(k: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[k] ?? def;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(this.#key(k), 'must be an integer');
    if (v < min || v > max) throw new ConfigError(this.#key(k), `must be between ${min} and ${max}`);
    return v;
  }
  strList(k: string): string[] | undefined {
    const v = this.obj[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw new ConfigError(this.#key(k), 'must be a list');
    return v.map((x, i) => {
      if (typeof x !== 'string' && typeof x !== 'number') throw new ConfigError(`${this.#key(k)}[${i}]`, 'must be a string');
      return String(x);
    });
  }
  sub(k: string, required = false): Reader | undefined {
    const v = this.obj[k];
    if (v === undefined || v === null) {
      if (required) throw new ConfigError(this.#key(k), 'is required');
      return undefined;
    }
    if (!isObj(v)) throw new ConfigError(this.#key(k), 'must be a mapping');
    return new Reader(v, this.#key(k));
  }
  list(k: string): Reader[] {
    const v = this.obj[k];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new ConfigError(this.#key(k), 'must be a list');
    return v.map((x, i) => {
      if (!isObj(x)) throw new ConfigError(`${this.#key(k)}[${i}]`, 'must be a mapping');
      return new Reader(x, `${this.#key(k)}[${i}]`);
    });
  }
}

/**
 * Validates a parsed config object and fills defaults. `baseDir` resolves relative paths
 * (store file, TLS files) against the config file's folder.
 */
export function validateConfig(raw: unknown, baseDir = process.cwd()): Config {
  if (!isObj(raw)) throw new ConfigError('(root)', 'must be a mapping');
  const r = new Reader(raw, '');
  const smpp = r.sub('smpp') ?? new Reader({}, 'smpp');
  const listeners = smpp.list('listeners').map((l) => {
    const tls = l.sub('tls');
    const listener: ListenerConfig = { host: l.str('host', '127.0.0.1'), port: l.int('port', 2775, 0, 65535) };
    if (tls !== undefined) listener.tls = { cert: resolve(baseDir, tls.str('cert')), key: resolve(baseDir, tls.str('key')) };
    return listener;
  });
  if (listeners.length === 0) listeners.push({ host: '127.0.0.1', port: 2775 });

  const store = r.sub('store') ?? new Reader({}, 'store');
  const sqlite = store.sub('sqlite');
  const postgres = store.sub('postgres');
  if (sqlite !== undefined && postgres !== undefined) throw new ConfigError('store', 'give either sqlite or postgres, not both');
  const delivery = r.sub('delivery') ?? new Reader({}, 'delivery');

  const seen = new Set<string>();
  const accounts = r.list('accounts').map((a) => {
    const systemId = a.str('systemId');
    if (systemId.length > 15) throw new ConfigError(`${a.path}.systemId`, 'must be at most 15 characters (SMPP system_id)');
    if (seen.has(systemId)) throw new ConfigError(`${a.path}.systemId`, `'${systemId}' is defined twice`);
    seen.add(systemId);
    const password = a.optStr('password');
    const passwordHash = a.optStr('passwordHash');
    if (password === undefined && passwordHash === undefined) {
      throw new ConfigError(`${a.path}.password`, 'is required (or passwordHash)');
    }
    if (password !== undefined && password.length > 8) {
      throw new ConfigError(`${a.path}.password`, 'must be at most 8 characters (SMPP password)');
    }
    const outbind = a.sub('outbind');
    const acc: AccountConfig = {
      systemId,
      addresses: a.strList('addresses') ?? [],
      maxBinds: a.int('maxBinds', 4, 1, 10_000),
      windowSize: a.int('windowSize', 10, 1, 10_000),
      defaultValiditySeconds: a.int('defaultValiditySeconds', 48 * 3600, 1),
      maxValiditySeconds: a.int('maxValiditySeconds', 7 * 24 * 3600, 1),
      tps: a.int('tps', 0, 0),
      maxQueued: a.int('maxQueued', 0, 0),
    };
    if (password !== undefined) acc.password = password;
    if (passwordHash !== undefined) acc.passwordHash = passwordHash;
    const ips = a.strList('allowedIps');
    if (ips !== undefined) acc.allowedIps = ips;
    const types = a.strList('allowedSystemTypes');
    if (types !== undefined) acc.allowedSystemTypes = types;
    if (outbind !== undefined) acc.outbind = { host: outbind.str('host'), port: outbind.int('port', 2775, 1, 65535) };
    return acc;
  });

  const config: Config = {
    ...raw,
    nodeId: r.str('nodeId', 'n1'),
    smpp: {
      systemId: smpp.str('systemId', 'smsc'),
      listeners,
      maxConnections: smpp.int('maxConnections', 10_000, 1),
      maxPduBytes: smpp.int('maxPduBytes', 65_536, 1024, 16 * 1024 * 1024),
      windowSize: smpp.int('windowSize', 10, 1, 10_000),
      responseTimeoutMs: smpp.int('responseTimeoutMs', 30_000, 1),
      enquireLinkIntervalMs: smpp.int('enquireLinkIntervalMs', 30_000, 0),
      inactivityTimeoutMs: smpp.int('inactivityTimeoutMs', 0, 0),
      sessionInitTimeoutMs: smpp.int('sessionInitTimeoutMs', 10_000, 0),
      drainTimeoutMs: smpp.int('drainTimeoutMs', 30_000, 0),
      unknownSystemIdStatus: smpp.str('unknownSystemIdStatus', 'ESME_RINVSYSID'),
      wrongPasswordStatus: smpp.str('wrongPasswordStatus', 'ESME_RINVPASWD'),
    },
    store: {
      commitDelayMs: store.int('commitDelayMs', 2, 0, 1000),
      retentionHours: store.int('retentionHours', 72, 0),
    },
    delivery: {
      retryDelayMs: delivery.int('retryDelayMs', 10_000, 1),
      maxRetryDelayMs: delivery.int('maxRetryDelayMs', 3_600_000, 1),
      leaseMs: delivery.int('leaseMs', 60_000, 100),
    },
    accounts,
  };
  if (postgres !== undefined) config.store.postgres = { url: postgres.str('url') };
  else {
    const path = sqlite?.str('path', './data/smsc.db') ?? './data/smsc.db';
    config.store.sqlite = { path: path === ':memory:' ? path : resolve(baseDir, path) };
  }
  const admin = r.sub('admin');
  if (admin !== undefined) config.admin = { listen: admin.str('listen', '127.0.0.1:8775'), token: admin.str('token') };
  return config;
}

/** Reads, parses and validates a YAML config file. */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError('(file)', `${file} is not valid YAML: ${(err as Error).message}`);
  }
  return validateConfig(raw, dirname(resolve(file)));
}
