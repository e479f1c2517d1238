/**
 * The pending messages of a SQLite store by (account, destination address), in memory: what
 * cancel_sm by address and replace_if_present look up, and the pending count per account. It
 * replaces the partial index `messages_pending_addr` (dropped by schema v7, docs/decisions.md):
 * with many destinations and a long queue, every insert into that index dirtied a different
 * page, and every dirtied page went to the WAL and its fsync, which made an accepted message
 * cost the writer thread two to three times as much (34.9 against 12.7 µs a row, a queue of
 * 300,000 to scattered numbers against one number).
 *
 * Entries are row ids under a 30-bit hash of (account, destination): a lookup returns
 * candidates, and the query that reads them checks account and destination again, so a hash
 * collision costs one extra row read, never a wrong answer. Per unique key the map holds one
 * number (a Set only once a key has several rows), so a million pending messages to a million
 * numbers cost tens of MB, not hundreds.
 *
 * The store keeps it exact for its own writes (a journal undoes what a rollback or a savepoint
 * undid) and rebuilds it from the table when it cannot be sure: at open, and after another
 * connection wrote to the file (`PRAGMA data_version`).
 */
export class PendingAddresses {
  #byKey = new Map<number, number | Set<number>>();
  #byAccount = new Map<string, number>();
  /** Changes made since begin(), to undo what a rollback undid: [added?, account, destination, rowid]. */
  #journal: [boolean, string, string, number][] | undefined;

  /** Starts keeping a journal of changes (a transaction begins). */
  begin(): void {
    this.#journal = [];
  }

  /** Where the journal is now: undo(mark()) later undoes what came after (a savepoint). */
  mark(): number {
    return this.#journal?.length ?? 0;
  }

  /** Undoes the changes after `mark`, latest first (what the database rolled back). */
  undo(mark = 0): void {
    const journal = this.#journal;
    if (journal === undefined) return;
    this.#journal = undefined;
    for (let i = journal.length - 1; i >= mark; i--) {
      const [added, account, destination, rowid] = journal[i]!;
      if (added) this.remove(account, destination, rowid);
      else this.add(account, destination, rowid);
    }
    journal.length = mark;
    this.#journal = journal;
  }

  /** Stops the journal (the transaction ended, committed or rolled back and undone). */
  end(): void {
    this.#journal = undefined;
  }

  /** Forgets everything (before a rebuild). */
  clear(): void {
    this.#byKey.clear();
    this.#byAccount.clear();
  }

  /** A pending row `rowid` of `account` to `destination`. */
  add(account: string, destination: string, rowid: number): void {
    const key = keyOf(account, destination);
    const held = this.#byKey.get(key);
    if (held === undefined) this.#byKey.set(key, rowid);
    else if (typeof held === 'number') {
      if (held === rowid) return;
      this.#byKey.set(key, new Set([held, rowid]));
    } else {
      // One lookup, not has() then add(): a new row id is almost never there already.
      const size = held.size;
      if (held.add(rowid).size === size) return;
    }
    this.#byAccount.set(account, (this.#byAccount.get(account) ?? 0) + 1);
    this.#journal?.push([true, account, destination, rowid]);
  }

  /** Row `rowid` of `account` to `destination` is no longer pending. */
  remove(account: string, destination: string, rowid: number): void {
    const key = keyOf(account, destination);
    const held = this.#byKey.get(key);
    if (held === undefined) return;
    if (typeof held === 'number') {
      if (held !== rowid) return;
      this.#byKey.delete(key);
    } else {
      if (!held.delete(rowid)) return;
      if (held.size === 1) this.#byKey.set(key, held.values().next().value as number);
    }
    const n = (this.#byAccount.get(account) ?? 0) - 1;
    if (n > 0) this.#byAccount.set(account, n);
    else this.#byAccount.delete(account);
    this.#journal?.push([false, account, destination, rowid]);
  }

  /** Row ids that may be pending rows of `account` to `destination` (check both on reading them). */
  candidates(account: string, destination: string): number[] {
    const held = this.#byKey.get(keyOf(account, destination));
    if (held === undefined) return [];
    return typeof held === 'number' ? [held] : [...held];
  }

  /** Pending rows of `account`. */
  count(account: string): number {
    return this.#byAccount.get(account) ?? 0;
  }

  /** Pending rows by account (accounts with none left out). */
  byAccount(): Record<string, number> {
    return Object.fromEntries(this.#byAccount);
  }
}

/** FNV-1a over both strings (NUL between them), folded to 30 bits so the key stays a small integer. */
export function keyOf(account: string, destination: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < account.length; i++) h = Math.imul(h ^ account.charCodeAt(i), 0x01000193);
  h = Math.imul(h, 0x01000193); // the NUL separator
  for (let i = 0; i < destination.length; i++) h = Math.imul(h ^ destination.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}
