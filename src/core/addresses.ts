/**
 * Which account owns an address: exact addresses and prefixes (`44*`) per account, matched
 * longest first with a digit trie (no loop over patterns).
 */

interface Node {
  children: Map<string, Node>;
  exact?: string;
  prefix?: string;
}

export class AddressOwners {
  #root: Node = { children: new Map() };

  /** `pattern` is an exact address or a prefix ending in `*`. */
  add(pattern: string, owner: string): void {
    const isPrefix = pattern.endsWith('*');
    const key = isPrefix ? pattern.slice(0, -1) : pattern;
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
