/**
 * Environment overrides: `SMSC_<PATH>` sets a key of the config file, the path's keys
 * separated by a double underscore, e.g. `SMSC_SMPP__WINDOW_SIZE=50` sets `smpp.windowSize`.
 * Within a key, case and single underscores do not matter (`SMSC_SMPP__WINDOWSIZE` works
 * too). A number is a list index (`SMSC_ACCOUNTS__0__PASSWORD`; the item must exist in the
 * file). Values are typed by the schema: numbers are parsed, `true`/`false` are booleans,
 * lists are comma-separated. Variables without `__` that name no key (`SMSC_CONFIG`,
 * `SMSC_ADMIN_TOKEN`) are not overrides and are ignored; with `__` they must name a key.
 */
import { ConfigError } from './errors.js';
import { envName, type Field, isObj, type Obj, SCHEMA } from './schema.js';

/** One applied override. */
export interface EnvOverride {
  variable: string;
  /** The config key it set, e.g. `smpp.windowSize` or `accounts[0].password`. */
  key: string;
}

const PREFIX = 'SMSC_';
const norm = (s: string) => s.replace(/_/g, '').toLowerCase();

function typed(field: Field, text: string, key: string, variable: string): unknown {
  const bad = (reason: string): never => {
    throw new ConfigError(key, `environment variable ${variable}: ${reason}, got '${text}'`);
  };
  const t = text.trim();
  switch (field.type) {
    case 'integer':
      if (!/^[+-]?\d+$/.test(t)) bad('must be an integer');
      return Number(t);
    case 'number': {
      const n = Number(t);
      if (t === '' || !Number.isFinite(n)) bad('must be a number');
      return n;
    }
    case 'boolean':
      if (/^true$/i.test(t)) return true;
      if (/^false$/i.test(t)) return false;
      return bad('must be true or false');
    case 'string':
      return text;
    case 'strings':
      return t === '' ? [] : t.split(',').map((s) => s.trim());
    case 'any':
      if (field.fromEnv === undefined) return bad('this key cannot be set from the environment');
      return field.fromEnv(t);
    default:
      return bad('names a section, not a key');
  }
}

/** Applies the `SMSC_*` overrides of `env` to the parsed file `raw` (in place). @throws ConfigError */
export function applyEnv(raw: Obj, env: Readonly<Record<string, string | undefined>>): EnvOverride[] {
  const applied: EnvOverride[] = [];
  for (const variable of Object.keys(env).sort()) {
    const text = env[variable];
    if (!variable.startsWith(PREFIX) || text === undefined) continue;
    const segments = variable.slice(PREFIX.length).split('__');
    const nested = segments.length > 1;
    let field: Field = SCHEMA;
    let container: Obj | unknown[] = raw;
    let slot: string | number = '';
    let key = '';
    let ours = true;
    for (const [i, seg] of segments.entries()) {
      if (i > 0) {
        // Step into the container the previous segment named, creating a missing section.
        const parent: Obj | unknown[] = container;
        const next: unknown = Array.isArray(parent) ? parent[slot as number] : parent[slot as string];
        if (field.type === 'list') {
          if (next === undefined || next === null) (parent as Obj)[slot as string] = [];
          else if (!Array.isArray(next)) throw new ConfigError(key, `must be a list (to apply ${variable})`);
        } else if (next === undefined || next === null) (parent as Obj)[slot as string] = {};
        else if (!isObj(next)) throw new ConfigError(key, `must be a mapping (to apply ${variable})`);
        container = (Array.isArray(parent) ? parent[slot as number] : parent[slot as string]) as Obj | unknown[];
      }
      if (field.type === 'section') {
        const keys: Record<string, Field> = field.keys;
        const k = Object.keys(keys).find((x) => norm(x) === norm(seg));
        if (k === undefined) {
          if (!nested) {
            ours = false;
            break;
          }
          const known = Object.keys(keys).map((x) => envName([...pathOf(key), x]));
          throw new ConfigError(variable, `environment variable names no config key (known here: ${known.join(', ')})`);
        }
        field = keys[k]!;
        slot = k;
        key = key === '' ? k : `${key}.${k}`;
      } else if (field.type === 'list') {
        if (!/^\d+$/.test(seg)) throw new ConfigError(key, `environment variable ${variable}: '${seg}' must be a list index`);
        const index = Number(seg);
        if ((container as unknown[])[index] === undefined) throw new ConfigError(`${key}[${index}]`, `does not exist in the file (to apply ${variable})`);
        field = field.item;
        slot = index;
        key = `${key}[${index}]`;
      } else if (field.type === 'named') {
        throw new ConfigError(key, `environment variable ${variable}: the keys of ${key} cannot be set from the environment`);
      } else {
        throw new ConfigError(key, `environment variable ${variable}: ${key} has no keys below it`);
      }
    }
    if (!ours) continue;
    const value = typed(field, text, key, variable);
    if (Array.isArray(container)) container[slot as number] = value;
    else container[slot as string] = value;
    applied.push({ variable, key });
  }
  return applied;
}

/** `accounts[0].password` → `['accounts', '0', 'password']`. */
function pathOf(key: string): string[] {
  return key === '' ? [] : key.replace(/\[(\d+)\]/g, '.$1').split('.');
}
