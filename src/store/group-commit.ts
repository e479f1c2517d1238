/**
 * Group commit: writes that arrive within a short window share one transaction, and each
 * caller's promise settles only after that transaction has committed. One fsync then covers
 * many callers, so durability does not cost throughput (architecture §4).
 *
 * The committer is storage-agnostic: the backend supplies `commit(items)`, which runs all
 * items in ONE transaction and returns a per-item outcome. It throws only when the batch as a
 * whole failed (the transaction rolled back); then every item is retried alone, so one bad
 * item (say a duplicate id) fails only its own caller.
 */

/** The outcome of one item of a batch. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Options of {@link GroupCommitter}. */
export interface GroupCommitterOptions<I, R> {
  /**
   * Commits `items` in one transaction. Returns one outcome per item, in order, and throws
   * only when nothing was committed. May be synchronous (better-sqlite3) or async (pg).
   */
  commit: (items: readonly I[]) => Settled<R>[] | Promise<Settled<R>[]>;
  /** Wait this long (ms) for more items after the first; 0 gathers one event-loop turn. */
  delayMs: number;
  /** Commit at once when the queued weight reaches this; also caps a batch's weight. */
  maxBatch: number;
  /** Batches committed concurrently (async backends); further items queue meanwhile. Default 1. */
  maxInFlight?: number;
}

/** Counters of a {@link GroupCommitter}. */
export interface GroupCommitStats {
  /** Batches (transactions) committed. */
  batches: number;
  /** Items submitted. */
  calls: number;
  /** Total weight committed (rows). */
  rows: number;
  /** Batches that failed as a whole and were split into single-item retries. */
  failures: number;
  /** Largest batch seen, in items. */
  maxBatchItems: number;
}

interface Entry<I, R> {
  item: I;
  weight: number;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/** Raised for items submitted after {@link GroupCommitter.close}. */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
  readonly code = 'SMSC_ERR_STORE_CLOSED';
  constructor() {
    super('the store is closed');
  }
}

/**
 * Batches items into shared transactions. `submit()` queues an item; the batch is committed
 * after `delayMs`, or at once when it reaches `maxBatch` weight. While `maxInFlight` batches
 * are committing, new items wait and go in the next batch as soon as one finishes (the
 * classic group-commit leader/follower effect: the slower the commit, the bigger the batch).
 */
export class GroupCommitter<I, R> {
  readonly #commit: GroupCommitterOptions<I, R>['commit'];
  readonly #delayMs: number;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Entry<I, R>[] = [];
  #queuedWeight = 0;
  #timeout: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #closed = false;
  readonly #stats: GroupCommitStats = { batches: 0, calls: 0, rows: 0, failures: 0, maxBatchItems: 0 };

  constructor(options: GroupCommitterOptions<I, R>) {
    if (!(options.maxBatch >= 1)) throw new RangeError(`maxBatch must be >= 1, got ${options.maxBatch}`);
    if (!(options.delayMs >= 0)) throw new RangeError(`delayMs must be >= 0, got ${options.delayMs}`);
    this.#commit = options.commit;
    this.#delayMs = options.delayMs;
    this.#maxBatch = options.maxBatch;
    this.#maxInFlight = options.maxInFlight ?? 1;
  }

  /**
   * Queues `item` (counting `weight` rows towards `maxBatch`) and resolves with its result
   * once the transaction that carried it has committed. An item is never split.
   */
  submit(item: I, weight = 1): Promise<R> {
    if (this.#closed) return Promise.reject(new StoreClosedError());
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, weight, resolve, reject });
      this.#queuedWeight += weight;
      this.#stats.calls++;
      if (this.#queuedWeight >= this.#maxBatch) this.#kick();
      else this.#arm();
    });
  }

  /** A snapshot of the counters. */
  stats(): GroupCommitStats {
    return { ...this.#stats };
  }

  /** Commits everything queued now (without waiting for the window) and waits for it. */
  async flush(): Promise<void> {
    this.#kick();
    while (this.#queue.length > 0 || this.#inFlight > 0) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
      this.#kick();
    }
  }

  /** Rejects further submits, then commits what is queued. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #arm(): void {
    if (this.#timeout !== undefined || this.#immediate !== undefined) return;
    if (this.#delayMs === 0) {
      // setImmediate runs after this turn's I/O callbacks, so everything that arrived in the
      // same turn (e.g. a burst of PDUs read from one socket chunk) shares the batch.
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#kick();
      });
    } else {
      this.#timeout = setTimeout(() => {
        this.#timeout = undefined;
        this.#kick();
      }, this.#delayMs);
    }
  }

  #clearTimer(): void {
    if (this.#timeout !== undefined) clearTimeout(this.#timeout);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timeout = undefined;
    this.#immediate = undefined;
  }

  /** Starts batches while there is queued work and a free in-flight slot. */
  #kick(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      this.#clearTimer();
      const batch = this.#take();
      this.#inFlight++;
      void this.#run(batch).finally(() => {
        this.#inFlight--;
        // Items that queued during the commit have waited long enough: go at once.
        if (this.#queue.length > 0) this.#kick();
        if (this.#queue.length === 0 && this.#inFlight === 0) {
          const idle = this.#idle;
          this.#idle = [];
          for (const wake of idle) wake();
        }
      });
    }
  }

  #take(): Entry<I, R>[] {
    let weight = 0;
    let n = 0;
    while (n < this.#queue.length && (n === 0 || weight + this.#queue[n]!.weight <= this.#maxBatch)) {
      weight += this.#queue[n]!.weight;
      n++;
    }
    const batch = this.#queue.splice(0, n);
    this.#queuedWeight -= weight;
    return batch;
  }

  async #run(batch: Entry<I, R>[]): Promise<void> {
    let outcomes: Settled<R>[];
    try {
      outcomes = await this.#commit(batch.map((e) => e.item));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // The whole transaction rolled back: retry each item alone so only the culprit fails.
      this.#stats.failures++;
      for (const entry of batch) await this.#run([entry]);
      return;
    }
    this.#stats.batches++;
    if (batch.length > this.#stats.maxBatchItems) this.#stats.maxBatchItems = batch.length;
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      const outcome = outcomes[i];
      if (outcome === undefined) {
        entry.reject(new Error('group commit: missing outcome for item'));
      } else if (outcome.ok) {
        this.#stats.rows += entry.weight;
        entry.resolve(outcome.value);
      } else {
        entry.reject(outcome.error);
      }
    }
  }
}
