/**
 * A prefix trie over strings (digits fast-pathed) that answers "the longest stored prefix of
 * this address" in time proportional to the address length, whatever the number of prefixes
 * (100,000 prefixes: a few hundred nanoseconds per lookup, see bench/route-table.ts).
 *
 * Keys are compared per UTF-16 code unit, exactly as given: no normalisation (`+44` and `44`
 * are different prefixes). The empty prefix is allowed and matches every address.
 */

const DIGIT_0 = 48;
/** Slots per node in the flat array: [value index, child '0', ..., child '9']. */
const STRIDE = 11;
const NONE = -1;
/** A longest match: the stored prefix and its value. */
export interface PrefixMatch<T> {
  prefix: string;
  value: T;
}

/**
 * Longest-prefix lookup table.
 *
 * Layout: trie nodes live in one Int32Array, 11 slots per node (the index of the node's value,
 * then the child node for each digit), so a lookup of a digit string touches one small run of
 * memory per character and allocates nothing. Children for other characters sit in one Map
 * keyed by `node * 65536 + charCode`. Deleting a prefix keeps its (empty) nodes for reuse.
 */
export class PrefixTable<T> {
  #nodes = new Int32Array(STRIDE * 64).fill(NONE);
  #nodeCount = 1;
  #other = new Map<number, number>();
  #values: T[] = [];
  #keys: string[] = [];
  #freeValues: number[] = [];
  #size = 0;

  /** Builds a table from `[prefix, value]` pairs (a later duplicate replaces an earlier one). */
  static from<T>(entries: Iterable<readonly [string, T]>): PrefixTable<T> {
    const t = new PrefixTable<T>();
    for (const [p, v] of entries) t.set(p, v);
    return t;
  }

  /** Number of stored prefixes. */
  get size(): number {
    return this.#size;
  }

  #child(node: number, code: number): number {
    const d = code - DIGIT_0;
    if (d >= 0 && d <= 9) return this.#nodes[node * STRIDE + 1 + d]!;
    return this.#other.get(node * 65536 + code) ?? NONE;
  }

  #newNode(): number {
    if ((this.#nodeCount + 1) * STRIDE > this.#nodes.length) {
      const grown = new Int32Array(this.#nodes.length * 2).fill(NONE);
      grown.set(this.#nodes);
      this.#nodes = grown;
    }
    return this.#nodeCount++;
  }

  /** The node of exactly `prefix`, or NONE. */
  #find(prefix: string): number {
    let node = 0;
    for (let i = 0; i < prefix.length && node !== NONE; i++) node = this.#child(node, prefix.charCodeAt(i));
    return node;
  }

  /** Stores `value` under `prefix`, replacing any value stored there. */
  set(prefix: string, value: T): this {
    let node = 0;
    for (let i = 0; i < prefix.length; i++) {
      const code = prefix.charCodeAt(i);
      let next = this.#child(node, code);
      if (next === NONE) {
        next = this.#newNode();
        const d = code - DIGIT_0;
        if (d >= 0 && d <= 9) this.#nodes[node * STRIDE + 1 + d] = next;
        else this.#other.set(node * 65536 + code, next);
      }
      node = next;
    }
    const at = this.#nodes[node * STRIDE]!;
    if (at !== NONE) {
      this.#values[at] = value;
      return this;
    }
    const slot = this.#freeValues.pop() ?? this.#values.length;
    this.#values[slot] = value;
    this.#keys[slot] = prefix;
    this.#nodes[node * STRIDE] = slot;
    this.#size++;
    return this;
  }

  /** The value stored under exactly `prefix`. */
  get(prefix: string): T | undefined {
    const node = this.#find(prefix);
    if (node === NONE) return undefined;
    const at = this.#nodes[node * STRIDE]!;
    return at === NONE ? undefined : this.#values[at];
  }

  /** True when exactly `prefix` is stored. */
  has(prefix: string): boolean {
    const node = this.#find(prefix);
    return node !== NONE && this.#nodes[node * STRIDE]! !== NONE;
  }

  /** Removes `prefix`; returns whether it was stored. */
  delete(prefix: string): boolean {
    const node = this.#find(prefix);
    if (node === NONE) return false;
    const at = this.#nodes[node * STRIDE]!;
    if (at === NONE) return false;
    this.#nodes[node * STRIDE] = NONE;
    this.#values[at] = undefined as T;
    this.#keys[at] = '';
    this.#freeValues.push(at);
    this.#size--;
    return true;
  }

  /** Removes everything. */
  clear(): void {
    this.#nodes = new Int32Array(STRIDE * 64).fill(NONE);
    this.#nodeCount = 1;
    this.#other.clear();
    this.#values = [];
    this.#keys = [];
    this.#freeValues = [];
    this.#size = 0;
  }

  /** Index (into #values) of the longest stored prefix of `key`, or NONE. */
  #longest(key: string): number {
    const nodes = this.#nodes;
    let node = 0;
    let best = nodes[0]!;
    for (let i = 0; i < key.length; i++) {
      const code = key.charCodeAt(i);
      const d = code - DIGIT_0;
      node = d >= 0 && d <= 9 ? nodes[node * STRIDE + 1 + d]! : (this.#other.get(node * 65536 + code) ?? NONE);
      if (node === NONE) break;
      const at = nodes[node * STRIDE]!;
      if (at !== NONE) best = at;
    }
    return best;
  }

  /** The value of the longest stored prefix of `key`, or undefined. Allocates nothing. */
  lookup(key: string): T | undefined {
    const at = this.#longest(key);
    return at === NONE ? undefined : this.#values[at];
  }

  /** The longest stored prefix of `key` and its value, or undefined. */
  longestMatch(key: string): PrefixMatch<T> | undefined {
    const at = this.#longest(key);
    return at === NONE ? undefined : { prefix: this.#keys[at]!, value: this.#values[at] as T };
  }

  /**
   * Calls `fn(value, prefixLength)` for every stored prefix of `key`, shortest first.
   * Returning `false` from `fn` stops the walk.
   */
  forEachMatch(key: string, fn: (value: T, prefixLength: number) => unknown): void {
    const nodes = this.#nodes;
    let node = 0;
    let at = nodes[0]!;
    if (at !== NONE && fn(this.#values[at] as T, 0) === false) return;
    for (let i = 0; i < key.length; i++) {
      node = this.#child(node, key.charCodeAt(i));
      if (node === NONE) return;
      at = nodes[node * STRIDE]!;
      if (at !== NONE && fn(this.#values[at] as T, i + 1) === false) return;
    }
  }

  /**
   * Writes the values of every stored prefix of `key` into `out` (from index 0, shortest
   * first) and returns how many there are. Allocates nothing once `out` is large enough.
   */
  collect(key: string, out: T[]): number {
    const nodes = this.#nodes;
    let n = 0;
    let node = 0;
    let at = nodes[0]!;
    if (at !== NONE) out[n++] = this.#values[at] as T;
    for (let i = 0; i < key.length; i++) {
      const code = key.charCodeAt(i);
      const d = code - DIGIT_0;
      node = d >= 0 && d <= 9 ? nodes[node * STRIDE + 1 + d]! : (this.#other.get(node * 65536 + code) ?? NONE);
      if (node === NONE) break;
      at = nodes[node * STRIDE]!;
      if (at !== NONE) out[n++] = this.#values[at] as T;
    }
    return n;
  }

  /** Every stored prefix of `key` with its value, shortest first. */
  matches(key: string): PrefixMatch<T>[] {
    const out: PrefixMatch<T>[] = [];
    this.forEachMatch(key, (value, len) => {
      out.push({ prefix: key.slice(0, len), value });
    });
    return out;
  }

  /** Every `[prefix, value]`, in no particular order. */
  *entries(): IterableIterator<[string, T]> {
    const free = new Set(this.#freeValues);
    for (let i = 0; i < this.#values.length; i++) if (!free.has(i)) yield [this.#keys[i]!, this.#values[i] as T];
  }
}
