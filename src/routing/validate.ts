/**
 * Small helpers to validate config sections (routes, connectors) so that every error names
 * the offending key, e.g. `routes.mt[2].prefix`. Pure: no I/O, no imports.
 *
 * {@link ConfigKeyError} has the same shape as `ConfigError` of src/config (name, code, key,
 * message `config key '<key>': <reason>`), so callers may rethrow it as one:
 * `new ConfigError(err.key, err.reason)`.
 */

/** A config key that is missing, of the wrong type or out of range. */
export class ConfigKeyError extends Error {
  override name = 'ConfigError';
  readonly code = 'SMSC_ERR_CONFIG';
  /** Dotted path of the offending key, e.g. `routes.mt[2].prefix`. */
  readonly key: string;
  /** The reason alone, without the key. */
  readonly reason: string;
  constructor(key: string, reason: string) {
    super(`config key '${key}': ${reason}`);
    this.key = key;
    this.reason = reason;
  }
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `path.key`, or `key` at the root. */
export function keyOf(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Rejects keys not in `allowed` (catches typos such as `service_type` for `serviceType`). */
export function checkKeys(obj: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      const hint = allowed.find((a) => a.toLowerCase() === k.replace(/[_-]/g, '').toLowerCase());
      throw new ConfigKeyError(keyOf(path, k), hint === undefined ? `unknown key (known: ${allowed.join(', ')})` : `unknown key (did you mean '${hint}'?)`);
    }
  }
}

/** The mapping at `path`, or an error naming it. */
export function mapping(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new ConfigKeyError(path, 'must be a mapping');
  return v;
}

/**
 * An address-like string (prefix, address, short code). YAML numbers are refused: `0044`
 * would silently become 44.
 */
export function addrString(v: unknown, key: string, allowEmpty = false): string {
  if (typeof v === 'number') throw new ConfigKeyError(key, `must be a string (quote it: "${v}"; unquoted numbers lose leading zeros)`);
  if (typeof v !== 'string') throw new ConfigKeyError(key, 'must be a string');
  if (!allowEmpty && v.length === 0) throw new ConfigKeyError(key, 'must not be empty');
  if (/\s/.test(v)) throw new ConfigKeyError(key, 'must not contain whitespace');
  return v;
}

/** A non-empty name (connector, account). */
export function name(v: unknown, key: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigKeyError(key, 'must be a non-empty string');
  return v;
}

/** A string or a non-empty list of strings, each checked by `item`; undefined when absent. */
export function oneOrMany<T>(v: unknown, key: string, item: (x: unknown, key: string) => T): T[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return [item(v, key)];
  if (v.length === 0) throw new ConfigKeyError(key, 'must not be an empty list');
  return v.map((x, i) => item(x, `${key}[${i}]`));
}

/** A number within [min, max] (integer when `integer`); `def` when absent. */
export function num(v: unknown, key: string, def: number | undefined, min: number, max: number, integer: boolean): number {
  if (v === undefined) {
    if (def === undefined) throw new ConfigKeyError(key, 'is required');
    return def;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new ConfigKeyError(key, integer ? 'must be an integer' : 'must be a number');
  }
  if (v < min || v > max) throw new ConfigKeyError(key, `must be between ${min} and ${max}`);
  return v;
}

/** A regular expression source, compiled to check it. */
export function regex(v: unknown, key: string): RegExp {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigKeyError(key, 'must be a non-empty string (a regular expression)');
  try {
    return new RegExp(v);
  } catch (err) {
    throw new ConfigKeyError(key, `is not a valid regular expression: ${(err as Error).message}`);
  }
}

/**
 * A number as the SMSC keeps it: a leading `+` before digits dropped (submits lose theirs), so a
 * route prefix or source written `+4479` matches the number `447912345678` as submitted.
 */
export function plainNumber(a: string): string {
  return a.charCodeAt(0) === 0x2b && a.length > 1 && a.charCodeAt(1) >= 0x30 && a.charCodeAt(1) <= 0x39 ? a.slice(1) : a;
}
