/**
 * The `routes` config section, validated. Every error names the key (`routes.mt[2].prefix`).
 * Pure: no I/O, imports only types.
 *
 * ```yaml
 * routes:
 *   noRouteStatus: ESME_RINVDSTADR        # or a number; status when no MT rule matches
 *   mt:                                   # ordered: the first matching rule wins
 *     - { prefix: "4470", connector: network }
 *     - { prefix: ["4479", "4478"], connector: upstream-a, failover: [network] }
 *     - { regex: "^1[0-9]{3}$", account: alice, connector: hook }
 *     - { source: "44*", serviceType: "WAP", dataCoding: [0, 8], connector: network }
 *   mo:
 *     - { match: "2000", account: bob }   # exact short code
 *     - { prefix: "30", account: bob }
 *     - { regex: "^9[0-9]{2}$", account: alice }
 * ```
 */
import type { MoRule } from './mo-router.js';
import { DEFAULT_NO_ROUTE_STATUS, type MtRule } from './mt-router.js';
import { addrString, ConfigKeyError, checkKeys, isObj, mapping, name, num, oneOrMany, plainNumber, regex } from './validate.js';

/** The validated `routes` section. */
export interface RoutesConfig {
  mt: MtRule[];
  mo: MoRule[];
  /** command_status when no MT rule matches. Default ESME_RINVDSTADR (0x0B). */
  noRouteStatus: number;
}

export interface ParseRoutesOptions {
  /** Key path of the section, for error messages. Default `routes`. */
  path?: string;
  /** Resolves a command_status name (`ESME_RINVDSTADR`); without it only numbers are accepted. */
  statusByName?: (name: string) => number | undefined;
  /** When given, every connector and failover must be one of these. */
  connectors?: Iterable<string>;
  /** When given, every account named must be one of these. */
  accounts?: Iterable<string>;
}

const MT_KEYS = ['account', 'prefix', 'regex', 'source', 'serviceType', 'dataCoding', 'connector', 'failover'] as const;
const MO_KEYS = ['match', 'prefix', 'regex', 'account'] as const;

function known(set: ReadonlySet<string> | undefined, what: string) {
  return (v: unknown, key: string): string => {
    const n = name(v, key);
    if (set !== undefined && !set.has(n)) throw new ConfigKeyError(key, `unknown ${what} '${n}'`);
    return n;
  };
}

function serviceType(v: unknown, key: string): string {
  if (typeof v !== 'string') throw new ConfigKeyError(key, 'must be a string');
  if (v.length > 5) throw new ConfigKeyError(key, 'must be at most 5 characters (SMPP service_type)');
  return v;
}

/** Validates the `routes` section (`undefined` = no routes). @throws ConfigKeyError */
export function parseRoutes(raw: unknown, options: ParseRoutesOptions = {}): RoutesConfig {
  const path = options.path ?? 'routes';
  if (raw === undefined || raw === null) return { mt: [], mo: [], noRouteStatus: DEFAULT_NO_ROUTE_STATUS };
  const r = mapping(raw, path);
  checkKeys(r, path, ['mt', 'mo', 'noRouteStatus']);
  const connectors = options.connectors === undefined ? undefined : new Set(options.connectors);
  const accounts = options.accounts === undefined ? undefined : new Set(options.accounts);
  const connector = known(connectors, 'connector');
  const account = known(accounts, 'account');

  let noRouteStatus = DEFAULT_NO_ROUTE_STATUS;
  const statusRaw = r['noRouteStatus'];
  const statusKey = `${path}.noRouteStatus`;
  if (typeof statusRaw === 'string') {
    const s = options.statusByName?.(statusRaw);
    if (s === undefined) throw new ConfigKeyError(statusKey, `unknown command_status name '${statusRaw}'`);
    noRouteStatus = s;
  } else if (statusRaw !== undefined) {
    noRouteStatus = num(statusRaw, statusKey, undefined, 1, 0xffffffff, true);
  }

  const mt = listOf(r['mt'], `${path}.mt`).map((item, i): MtRule => {
    const key = `${path}.mt[${i}]`;
    const o = mapping(item, key);
    checkKeys(o, key, MT_KEYS);
    const rule: MtRule = { connector: connector(o['connector'], `${key}.connector`) };
    const accts = oneOrMany(o['account'], `${key}.account`, account);
    if (accts !== undefined) rule.account = accts;
    // A leading + before digits is dropped, as the SMSC drops it from the numbers it is given.
    const prefixes = oneOrMany(o['prefix'], `${key}.prefix`, (v, k) => plainNumber(addrString(v, k, true)));
    if (prefixes !== undefined) rule.prefix = prefixes;
    if (o['regex'] !== undefined) {
      regex(o['regex'], `${key}.regex`);
      rule.regex = o['regex'] as string;
    }
    const sources = oneOrMany(o['source'], `${key}.source`, (v, k) => plainNumber(addrString(v, k)));
    if (sources !== undefined) rule.source = sources;
    const types = oneOrMany(o['serviceType'], `${key}.serviceType`, serviceType);
    if (types !== undefined) rule.serviceType = types;
    const codings = oneOrMany(o['dataCoding'], `${key}.dataCoding`, (v, k) => num(v, k, undefined, 0, 255, true));
    if (codings !== undefined) rule.dataCoding = codings;
    if (o['failover'] !== undefined) {
      const fk = `${key}.failover`;
      const list = oneOrMany(o['failover'], fk, connector)!;
      list.forEach((c, j) => {
        if (c === rule.connector) throw new ConfigKeyError(`${fk}[${j}]`, `'${c}' is the rule's own connector`);
        if (list.indexOf(c) !== j) throw new ConfigKeyError(`${fk}[${j}]`, `'${c}' is listed twice`);
      });
      rule.failover = list;
    }
    return rule;
  });

  const exact = new Set<string>();
  const prefixes = new Set<string>();
  const mo = listOf(r['mo'], `${path}.mo`).map((item, i): MoRule => {
    const key = `${path}.mo[${i}]`;
    const o = mapping(item, key);
    checkKeys(o, key, MO_KEYS);
    const given = (['match', 'prefix', 'regex'] as const).filter((k) => o[k] !== undefined);
    if (given.length !== 1) {
      throw new ConfigKeyError(given.length === 0 ? `${key}.match` : `${key}.${given[1]}`, 'give exactly one of match, prefix, regex');
    }
    const rule: MoRule = { account: account(o['account'], `${key}.account`) };
    if (o['match'] !== undefined) {
      const m = addrString(o['match'], `${key}.match`);
      if (exact.has(m)) throw new ConfigKeyError(`${key}.match`, `'${m}' is routed twice`);
      exact.add(m);
      rule.match = m;
    } else if (o['prefix'] !== undefined) {
      const p = addrString(o['prefix'], `${key}.prefix`, true);
      if (prefixes.has(p)) throw new ConfigKeyError(`${key}.prefix`, `'${p}' is routed twice`);
      prefixes.add(p);
      rule.prefix = p;
    } else {
      regex(o['regex'], `${key}.regex`);
      rule.regex = o['regex'] as string;
    }
    return rule;
  });

  return { mt, mo, noRouteStatus };
}

function listOf(v: unknown, key: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigKeyError(key, 'must be a list');
  if (v.some((x) => !isObj(x))) {
    const i = v.findIndex((x) => !isObj(x));
    throw new ConfigKeyError(`${key}[${i}]`, 'must be a mapping');
  }
  return v;
}
