/**
 * MO routing (mobile-originated messages to the ESME that owns the destination) and source
 * address ownership (which source addresses an account may submit with). Pure: no I/O,
 * imports only types.
 *
 * Destination lookup precedence, most specific first:
 * 1. an exact short code (`match`),
 * 2. the longest matching `prefix`,
 * 3. the `regex` rules, in config order,
 * 4. with `fallbackToSources`, the account whose declared addresses cover the destination
 *    (exact first, then longest prefix).
 * A destination nothing claims has no owner (`undefined`).
 *
 * Source ownership: an account declares addresses/short codes, exact (`"2000"`) or prefixes
 * with a trailing `*` (`"4479*"`; `"*"` alone = anything). **An account that declares no
 * addresses (absent, or an empty list) may use any source address.**
 */
import { PrefixTable } from './prefix-table.js';

/** One MO rule: exactly one of `match`, `prefix`, `regex`, and the owning account. */
export interface MoRule {
  /** Exact destination (short code). */
  match?: string;
  /** Destination prefix. */
  prefix?: string;
  /** Destination regex (anchor it). */
  regex?: string | RegExp;
  /** The account MO to these destinations goes to. */
  account: string;
}

/** Declared addresses per account: a record or a map of account → patterns. */
export type DeclaredAddresses = Readonly<Record<string, readonly string[]>> | ReadonlyMap<string, readonly string[]>;

export interface MoRouterOptions {
  /** Per-account declared source addresses (exact or `prefix*`), e.g. from accounts[].addresses. */
  sources?: DeclaredAddresses;
  /**
   * When no MO rule matches, give the destination to the account whose declared addresses
   * cover it (exact first, then longest prefix). Default false.
   */
  fallbackToSources?: boolean;
}

/** Exact addresses and prefixes of one account (or of every account, for reverse lookup). */
class AddressSet<T> {
  readonly exact = new Map<string, T>();
  readonly prefixes = new PrefixTable<T>();

  /** First declaration wins. */
  add(pattern: string, value: T): void {
    if (pattern.endsWith('*')) {
      const p = pattern.slice(0, -1);
      if (!this.prefixes.has(p)) this.prefixes.set(p, value);
    } else if (!this.exact.has(pattern)) {
      this.exact.set(pattern, value);
    }
  }

  lookup(addr: string): T | undefined {
    const e = this.exact.get(addr);
    return e !== undefined ? e : this.prefixes.lookup(addr);
  }

  get empty(): boolean {
    return this.exact.size === 0 && this.prefixes.size === 0;
  }
}

function entriesOf(d: DeclaredAddresses | undefined): Iterable<readonly [string, readonly string[]]> {
  if (d === undefined) return [];
  if (d instanceof Map) return d.entries();
  return Object.entries(d as Readonly<Record<string, readonly string[]>>);
}

export class MoRouter {
  readonly #exact = new Map<string, string>();
  readonly #prefixes = new PrefixTable<string>();
  readonly #regexes: { regex: RegExp; account: string }[] = [];
  readonly #sources = new Map<string, AddressSet<true>>();
  readonly #owners: AddressSet<string> | undefined;

  /**
   * Rules are applied as described in the module comment; for a short code or prefix given
   * twice the first rule wins. @throws RangeError for a rule with none or several of
   * match/prefix/regex, or without an account.
   */
  constructor(rules: readonly MoRule[], options: MoRouterOptions = {}) {
    rules.forEach((r, i) => {
      const kinds = (r.match !== undefined ? 1 : 0) + (r.prefix !== undefined ? 1 : 0) + (r.regex !== undefined ? 1 : 0);
      if (kinds !== 1) throw new RangeError(`MO rule ${i}: give exactly one of match, prefix, regex`);
      if (typeof r.account !== 'string' || r.account.length === 0) throw new RangeError(`MO rule ${i}: account is required`);
      if (r.match !== undefined) {
        if (!this.#exact.has(r.match)) this.#exact.set(r.match, r.account);
      } else if (r.prefix !== undefined) {
        if (!this.#prefixes.has(r.prefix)) this.#prefixes.set(r.prefix, r.account);
      } else {
        const re = typeof r.regex === 'string' ? new RegExp(r.regex) : r.regex!;
        this.#regexes.push({ regex: re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re, account: r.account });
      }
    });
    const owners = options.fallbackToSources === true ? new AddressSet<string>() : undefined;
    for (const [account, patterns] of entriesOf(options.sources)) {
      const set = new AddressSet<true>();
      for (const p of patterns) {
        set.add(p, true);
        owners?.add(p, account);
      }
      this.#sources.set(account, set);
    }
    this.#owners = owners;
  }

  /** The account that owns MO to `destination`, or undefined. */
  route(destination: string): string | undefined {
    const exact = this.#exact.get(destination);
    if (exact !== undefined) return exact;
    const prefix = this.#prefixes.lookup(destination);
    if (prefix !== undefined) return prefix;
    for (const r of this.#regexes) if (r.regex.test(destination)) return r.account;
    return this.#owners?.lookup(destination);
  }

  /**
   * True when `account` may use `sourceAddr`: it declared it (exactly or by prefix), or it
   * declared no addresses at all (then any source is allowed).
   */
  ownsSource(account: string, sourceAddr: string): boolean {
    const set = this.#sources.get(account);
    if (set === undefined || set.empty) return true;
    return set.lookup(sourceAddr) !== undefined;
  }

  /** True when `account` declared source addresses (so its sources are checked). */
  restrictsSources(account: string): boolean {
    const set = this.#sources.get(account);
    return set !== undefined && !set.empty;
  }
}
