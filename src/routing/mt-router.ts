/**
 * MT routing: an ordered list of rules, the first rule that matches a message names its
 * connector (and failover connectors). Pure: no I/O, imports only types.
 *
 * A rule matches when every condition it has matches (conditions of different kinds AND
 * together; the values of one condition OR together). A rule without conditions matches
 * everything (a default route).
 *
 * Lookups do not walk the rule list. Each rule is indexed by one condition:
 * - rules with destination prefixes sit in a prefix trie (every prefix → its rule positions);
 * - otherwise rules with origin accounts sit in a map account → rule positions;
 * - the rest (regex-only, source-only, default routes...) form a short "always a candidate" list.
 * A lookup collects candidates from the trie path of the destination, the account's list and the
 * general list, each sorted by position, and takes the lowest position whose remaining
 * conditions match, testing a candidate only while it is below the best found so far. So a
 * prefix-only rule never costs a regex test, and 100,000 prefix rules cost one trie walk.
 */
import { PrefixTable } from './prefix-table.js';

/** ESME_RINVDSTADR: the default status when no rule matches. */
export const DEFAULT_NO_ROUTE_STATUS = 0x0000000b;

/** One MT rule, as written in the config (lists or single values). */
export interface MtRule {
  /** Origin account(s) (system_id of the submitting ESME). */
  account?: string | readonly string[];
  /** Destination address prefix(es); `""` matches every destination. */
  prefix?: string | readonly string[];
  /** Destination regex (tested with `RegExp.test`, so anchor it: `^1[0-9]{3}$`). */
  regex?: string | RegExp;
  /** Source address(es): exact, or a prefix when ending in `*` (`"44*"`; `"*"` = any). */
  source?: string | readonly string[];
  /** service_type value(s), exact (`""` = the default service type). */
  serviceType?: string | readonly string[];
  /** data_coding value(s). */
  dataCoding?: number | readonly number[];
  /** Connector (delivery target key) the message goes to. */
  connector: string;
  /** Connectors to try, in order, when `connector` cannot take the message. */
  failover?: readonly string[];
}

/** What an MT lookup is about. */
export interface MtRouteRequest {
  /** Origin account (system_id). */
  account: string;
  /** Destination address digits. */
  destination: string;
  /** Source address; absent = `""`. */
  source?: string;
  /** service_type; absent = `""`. */
  serviceType?: string;
  /** data_coding; absent matches no rule that has a dataCoding condition. */
  dataCoding?: number;
}

/** A route: the connector, its failover list and the position of the rule that matched. */
export interface MtRoute {
  connector: string;
  failover: readonly string[];
  /** 0-based position of the matching rule. */
  rule: number;
}

/** No rule matched: the command_status to refuse the submit with. */
export interface MtNoRoute {
  status: number;
}

export type MtDecision = MtRoute | MtNoRoute;

export interface MtRouterOptions {
  /** command_status when no rule matches. Default ESME_RINVDSTADR (0x0B). */
  noRouteStatus?: number;
}

const EMPTY: number[] = [];

interface Compiled {
  pos: number;
  accounts: ReadonlySet<string> | undefined;
  regex: RegExp | undefined;
  sourceExact: ReadonlySet<string> | undefined;
  sourcePrefixes: readonly string[] | undefined;
  serviceTypes: ReadonlySet<string> | undefined;
  dataCodings: ReadonlySet<number> | undefined;
  route: MtRoute;
}

function list<T>(v: T | readonly T[] | undefined, what: string, pos: number): readonly T[] | undefined {
  if (v === undefined) return undefined;
  const l = Array.isArray(v) ? (v as readonly T[]) : [v as T];
  if (l.length === 0) throw new RangeError(`MT rule ${pos}: ${what} must not be an empty list`);
  return l;
}

/** A RegExp without the stateful flags (g, y), so `test` has no lastIndex side effects. */
function statelessRegex(r: string | RegExp): RegExp {
  if (typeof r === 'string') return new RegExp(r);
  return r.global || r.sticky ? new RegExp(r.source, r.flags.replace(/[gy]/g, '')) : r;
}

function compile(rule: MtRule, pos: number): Compiled {
  if (typeof rule.connector !== 'string' || rule.connector.length === 0) throw new RangeError(`MT rule ${pos}: connector is required`);
  const accounts = list(rule.account, 'account', pos);
  const sources = list(rule.source, 'source', pos);
  const serviceTypes = list(rule.serviceType, 'serviceType', pos);
  const dataCodings = list(rule.dataCoding, 'dataCoding', pos);
  let sourceExact: Set<string> | undefined;
  let sourcePrefixes: string[] | undefined;
  if (sources !== undefined) {
    for (const s of sources) {
      if (s.endsWith('*')) (sourcePrefixes ??= []).push(s.slice(0, -1));
      else (sourceExact ??= new Set()).add(s);
    }
  }
  return {
    pos,
    accounts: accounts === undefined ? undefined : new Set(accounts),
    regex: rule.regex === undefined ? undefined : statelessRegex(rule.regex),
    sourceExact,
    sourcePrefixes,
    serviceTypes: serviceTypes === undefined ? undefined : new Set(serviceTypes),
    dataCodings: dataCodings === undefined ? undefined : new Set(dataCodings),
    route: { connector: rule.connector, failover: Object.freeze([...(rule.failover ?? [])]), rule: pos },
  };
}

/** The conditions other than the destination prefix (which the index already checked). */
function matchesRest(r: Compiled, req: MtRouteRequest): boolean {
  if (r.accounts !== undefined && !r.accounts.has(req.account)) return false;
  if (r.serviceTypes !== undefined && !r.serviceTypes.has(req.serviceType ?? '')) return false;
  if (r.dataCodings !== undefined && (req.dataCoding === undefined || !r.dataCodings.has(req.dataCoding))) return false;
  if (r.sourceExact !== undefined || r.sourcePrefixes !== undefined) {
    const src = req.source ?? '';
    let ok = r.sourceExact?.has(src) === true;
    if (!ok && r.sourcePrefixes !== undefined) {
      for (const p of r.sourcePrefixes) {
        if (src.startsWith(p)) {
          ok = true;
          break;
        }
      }
    }
    if (!ok) return false;
  }
  if (r.regex !== undefined && !r.regex.test(req.destination)) return false;
  return true;
}

/** Ordered MT rules; the first that matches wins. */
export class MtRouter {
  readonly #rules: Compiled[];
  /** Destination prefix → positions (ascending) of the rules that list it. */
  readonly #byPrefix = new PrefixTable<number[]>();
  /** Account → positions (ascending) of rules without prefixes that list the account. */
  readonly #byAccount = new Map<string, number[]>();
  /** Positions (ascending) of every other rule. */
  readonly #general: number[] = [];
  readonly #noRoute: MtNoRoute;
  /** Scratch buffer for the position lists of the destination's prefixes (route() is synchronous). */
  readonly #matched: number[][] = [];

  /** @throws RangeError for a rule without a connector or with an empty list. */
  constructor(rules: readonly MtRule[], options: MtRouterOptions = {}) {
    this.#rules = rules.map(compile);
    this.#noRoute = Object.freeze({ status: options.noRouteStatus ?? DEFAULT_NO_ROUTE_STATUS });
    rules.forEach((rule, pos) => {
      const prefixes = list(rule.prefix, 'prefix', pos);
      const accounts = this.#rules[pos]!.accounts;
      if (prefixes !== undefined) {
        for (const p of new Set(prefixes)) {
          const at = this.#byPrefix.get(p);
          if (at === undefined) this.#byPrefix.set(p, [pos]);
          else at.push(pos);
        }
      } else if (accounts !== undefined) {
        for (const a of accounts) {
          const at = this.#byAccount.get(a);
          if (at === undefined) this.#byAccount.set(a, [pos]);
          else at.push(pos);
        }
      } else {
        this.#general.push(pos);
      }
    });
  }

  /** Number of rules. */
  get size(): number {
    return this.#rules.length;
  }

  /** The route of a message, or the status to refuse it with. */
  route(req: MtRouteRequest): MtDecision {
    let best = Number.POSITIVE_INFINITY;
    const buf = this.#matched;
    const n = this.#byPrefix.collect(req.destination, buf);
    for (let i = 0; i < n; i++) best = this.#scan(buf[i]!, req, best);
    buf.fill(EMPTY, 0, n);
    const byAccount = this.#byAccount.get(req.account);
    if (byAccount !== undefined) best = this.#scan(byAccount, req, best);
    best = this.#scan(this.#general, req, best);
    return best === Number.POSITIVE_INFINITY ? this.#noRoute : this.#rules[best]!.route;
  }

  /**
   * `positions` is ascending: tests its candidates below `best` until the first that matches
   * and returns the new best position.
   */
  #scan(positions: readonly number[], req: MtRouteRequest, best: number): number {
    for (let i = 0; i < positions.length; i++) {
      const pos = positions[i]!;
      if (pos >= best) return best;
      if (matchesRest(this.#rules[pos]!, req)) return pos;
    }
    return best;
  }
}

/** True when a decision is a route (not a refusal). */
export function isRoute(d: MtDecision): d is MtRoute {
  return 'connector' in d;
}
