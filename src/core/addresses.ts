/**
 * Which account owns an address: exact addresses and prefixes (`44*`) per account, matched
 * longest first with a digit trie (no loop over patterns).
 */

interface Node {
  children: Map<string, Node>;
  exact?: string;
  prefix?: string;
}

/**
 * A number as the SMSC keeps it: without a leading `+` (submits lose theirs, see withoutPlus in
 * validate.ts), so an account that owns `+441000` or `+4479*` owns `441000` and `4479*`.
 */
function plainNumber(a: string): string {
  return a.charCodeAt(0) === 0x2b && a.length > 1 && a.charCodeAt(1) >= 0x30 && a.charCodeAt(1) <= 0x39 ? a.slice(1) : a;
}

export class AddressOwners {
  #root: Node = { children: new Map() };

  /** `pattern` is an exact address or a prefix ending in `*` (a leading `+` before digits is dropped). */
  add(pattern: string, owner: string): void {
    const isPrefix = pattern.endsWith('*');
    const key = plainNumber(isPrefix ? pattern.slice(0, -1) : pattern);
    let node = this.#root;
    for (const ch of key) {
      let next = node.children.get(ch);
      if (next === undefined) node.children.set(ch, (next = { children: new Map() }));
      node = next;
    }
    if (isPrefix) node.prefix = owner;
    else node.exact = owner;
  }

  /** The owner of `addr` (exact match first, then the longest prefix), or undefined. */
  ownerOf(addr: string): string | undefined {
    addr = plainNumber(addr);
    let node: Node | undefined = this.#root;
    let best = this.#root.prefix;
    for (let i = 0; i < addr.length && node !== undefined; i++) {
      node = node.children.get(addr[i]!);
      if (node?.prefix !== undefined) best = node.prefix;
    }
    if (node !== undefined && node.exact !== undefined) return node.exact;
    return best;
  }
}
