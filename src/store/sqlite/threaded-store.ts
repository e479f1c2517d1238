/**
 * The SQLite store on a worker thread. Why: better-sqlite3 is synchronous, so every durable
 * commit (an fsync) stops the event loop, and while it is stopped no SMPP traffic is read or
 * answered. Here the main thread queues store calls and hands the worker everything queued
 * whenever the worker is idle; the worker runs one batch as one transaction (the SqliteStore
 * group committer with no delay) and answers all of it. The next batch forms while the worker
 * commits: adaptive group commit, no timers, and the event loop never waits for the disk.
 */
import { Worker } from 'node:worker_threads';
import type { ConfigStore, ConfigTopic, StoredAccount } from '../config-store.js';
import { StoreClosedError } from '../group-commit.js';
import type {
  ClaimRequest,
  FailedState,
  FinalizeCause,
  FindQuery,
  MessageEvent,
  MessageStateName,
  NewMessage,
  PendingQuery,
  PendingState,
  ReplaceChanges,
  Store,
  StoredMessage,
  StoreStats,
} from '../types.js';
import { messageRow, packMessages } from './rows.js';
import type { SqliteStoreOptions } from './sqlite-store.js';

interface Call {
  method: string;
  args: unknown[];
  resolve(v: unknown): void;
  reject(e: unknown): void;
  /** Goes to the worker as it is, never merged with other calls (a retry after a merged one failed). */
  alone?: boolean;
  /** A merged call: the callers' calls it stands for. */
  parts?: Call[];
}

type Reply =
  /** Values by call; `errors` (by call index) only when some call failed. */
  | { kind: 'results'; seq: number; values: unknown[]; errors: Record<number, WorkerError> | null; stats: StoreStats }
  | { kind: 'notify'; target: string }
  | { kind: 'config'; topic: ConfigTopic };

/** Structured clone turns Buffers into Uint8Arrays: make them Buffers again (no copy). */
export function reviveBuffers(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = reviveBuffers(v[i]);
    return v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const x = o[k];
      if (x !== null && typeof x === 'object') o[k] = reviveBuffers(x);
    }
  }
  return v;
}

/** The worker's method for inserts: `insertRows` of the rows of one {@link packMessages}. */
export const INSERT_PACKED = 'insertPacked';

/**
 * Batches on their way to the worker at once. One: the next batch is whatever queued while the
 * worker committed. Two (the next one already in the worker's queue) measured the same on the
 * accept benchmark (about 30,000/s either way), so the simpler order is kept.
 */
const MAX_IN_FLIGHT = 1;

/** How the calls of one method travel as one call of its batch form (see ThreadedSqliteStore#merge). */
interface Merge {
  /** The worker's method taking the list. */
  method: string;
  /** Rows a call adds (towards `maxBatch`). */
  rows(args: unknown[]): number;
  /** Adds a call's arguments to the list: all of them, or nothing when it throws. */
  add(items: unknown[], args: unknown[]): void;
  /** The i-th merged call's value from the batch call's. */
  value(batchValue: unknown, i: number): unknown;
  /** Which counter of stats() the merged calls belong to. */
  counts: 'insert' | 'other';
}

const MERGED: Record<string, Merge | undefined> = {
  insertRows: {
    method: 'insertRows',
    rows: (args) => (args[0] as unknown[]).length,
    add: (items, args) => {
      for (const m of args[0] as unknown[]) items.push(m);
    },
    value: () => undefined,
    counts: 'insert',
  },
  // The delivered outcome: one per deliver_sm_resp, the other half of the writer's calls end to end.
  markDelivered: {
    method: 'markDeliveredMany',
    rows: () => 1,
    add: (items, args) => {
      // A receipt travels as its row (plain values clone faster than the message object).
      const receipt = args[3] as NewMessage | undefined;
      items.push(receipt === undefined ? args : [args[0], args[1], args[2], messageRow(receipt)]);
    },
    value: (values, i) => (values as boolean[])[i],
    counts: 'other',
  },
};

/** The callers' calls of `calls`: a merged call stands for its parts. */
function partsOf(calls: readonly Call[]): Call[] {
  return calls.flatMap((c) => c.parts ?? [c]);
}

/** Threaded stores of this process by file, so stores on one file hear each other (as SqliteStore's do). */
const peers = new Map<string, Set<ThreadedSqliteStore>>();

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError };

/** An error as it crosses from the worker: its class by name, its message and its code. */
export interface WorkerError {
  name: string;
  message: string;
  code?: string;
}

/** An error from the worker as the caller would have seen it in-thread (class by name, code kept). */
export function reviveError(e: WorkerError): Error {
  if (e.name === 'StoreClosedError') return new StoreClosedError();
  const Ctor = BUILTIN_ERRORS[e.name];
  const err: Error & { code?: string } = Ctor !== undefined ? new Ctor(e.message) : new Error(e.message);
  if (Ctor === undefined) err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  return err;
}

/** {@link Store} backed by a SqliteStore running in a worker thread. */
export class ThreadedSqliteStore implements Store, ConfigStore {
  readonly #options: SqliteStoreOptions;
  /** The store, or the reader of a store's whole-table reads (see #wholeTableRead). */
  readonly #role: 'store' | 'reader';
  /** The reader, once a whole-table read started it. */
  #reader: Promise<ThreadedSqliteStore> | undefined;
  #closing = false;
  #worker: Worker | undefined;
  #queue: Call[] = [];
  /** Batches sent and not yet answered, by sequence number. */
  #inFlight = new Map<number, Call[]>();
  #seq = 0;
  #listeners = new Set<(target: string) => void>();
  #configListeners = new Set<(topic: ConfigTopic) => void>();
  #stats: StoreStats = { commitBatches: 0, commitCalls: 0, commitFailures: 0, insertCalls: 0, insertRows: 0 };
  #closed = false;
  #sendScheduled = false;
  /** Calls the worker saw as part of a merged one, beyond the one it counted. */
  #mergedCalls = { insert: 0, commit: 0 };

  constructor(options: SqliteStoreOptions, role: 'store' | 'reader' = 'store') {
    this.#options = options;
    this.#role = role;
  }

  #initialised: Promise<void> | undefined;

  init(): Promise<void> {
    this.#initialised ??= this.#start();
    return this.#initialised;
  }

  async #start(): Promise<void> {
    const worker = new Worker(new URL('./store-worker.js', import.meta.url), {
      // The batch is whatever queued while the worker was busy: no commit window needed.
      workerData: { maxBatch: 1_000_000, ...this.#options, commitDelayMs: 0 },
    });
    // An idle store never keeps the process alive; pending calls keep their callers waiting anyway.
    worker.unref();
    worker.on('message', (m: Reply) => this.#onMessage(m));
    worker.on('error', (err) => this.#failAll(err));
    // An answer that could not be read: its callers cannot know what was written (it may have
    // committed) and fail; the calls queued since go on.
    worker.on('messageerror', (err) => {
      const sent = [...this.#inFlight.values()].flat();
      this.#inFlight.clear();
      for (const part of partsOf(sent)) part.reject(err);
      this.#send();
    });
    worker.on('exit', () => {
      // Nothing can be stored any more: every waiting and later call fails instead of hanging.
      this.#closed = true;
      this.#failAll(new Error('store worker exited'));
    });
    this.#worker = worker;
    if (this.#role === 'reader') {
      await this.#call('init', []);
      return;
    }
    if (this.#options.path !== ':memory:') {
      let set = peers.get(this.#options.path);
      if (set === undefined) peers.set(this.#options.path, (set = new Set()));
      set.add(this);
    }
    await this.#call('init', []);
    // The worker's store notifies its own listeners; relay them here.
    await this.#call('subscribe', []);
    await this.#call('subscribeConfig', []);
  }

  async close(): Promise<void> {
    // No reader starts once closing began.
    this.#closing = true;
    const reader = this.#reader;
    this.#reader = undefined;
    await (await reader?.catch(() => undefined))?.close();
    if (this.#worker === undefined || this.#closed) return;
    await this.#call('close', []);
    this.#closed = true;
    const set = peers.get(this.#options.path);
    set?.delete(this);
    if (set?.size === 0) peers.delete(this.#options.path);
    await this.#worker.terminate();
  }

  #call(method: string, args: unknown[]): Promise<never> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ method, args, resolve: resolve as (v: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Sends the queue at the end of this tick if the worker is free by then. */
  #schedule(): void {
    if (this.#inFlight.size < MAX_IN_FLIGHT && !this.#sendScheduled) {
      // Calls made in the same tick travel (and commit) together.
      this.#sendScheduled = true;
      queueMicrotask(() => {
        this.#sendScheduled = false;
        if (this.#inFlight.size < MAX_IN_FLIGHT) this.#send();
      });
    }
  }

  #send(): void {
    if (this.#closed) {
      this.#failAll(new Error('store is closed'));
      return;
    }
    const queued = this.#queue;
    if (queued.length === 0 || this.#worker === undefined) return;
    this.#queue = [];
    const merged = this.#merge(queued);
    // Two flat lists rather than an object per call: fewer objects to clone on both threads.
    // Filled by push, not preallocated: a holey array is cloned the slow (sparse) way.
    const batch: Call[] = [];
    const methods: string[] = [];
    const args: unknown[][] = [];
    const unpackable: [Call, unknown][] = [];
    for (const c of merged) {
      // New messages travel as columns (rows.ts), made from the messages as they are now. One
      // that cannot be packed fails its own call (a merged call then goes again call by call).
      if (c.method === 'insertRows') {
        try {
          args.push([packMessages(c.args[0] as NewMessage[])]);
        } catch (err) {
          unpackable.push([c, err]);
          continue;
        }
        methods.push(INSERT_PACKED);
      } else {
        methods.push(c.method);
        args.push(c.args);
      }
      batch.push(c);
    }
    if (batch.length > 0) {
      const seq = ++this.#seq;
      this.#inFlight.set(seq, batch);
      try {
        this.#worker.postMessage({ seq, methods, args });
      } catch (err) {
        this.#inFlight.delete(seq);
        this.#unsendable(batch, err);
      }
    }
    for (const [c, err] of unpackable) {
      if (c.parts !== undefined) this.#againAlone(c.parts);
      else c.reject(err);
    }
  }

  /**
   * The calls of a batch that have a batch form, as one call per method (or one per
   * `maxBatch` rows), each at the place of its method's first call; a call of another method
   * closes the groups, so a merged call never moves past one (inserts and outcomes may pass
   * each other: nothing in a batch can wait for a call that has not resolved). The worker then runs
   * one statement loop, one promise and one answer for all of them, where the per-call costs
   * were about a fifth of its time per row (a microbenchmark of 400 concurrent one-row
   * inserts: 16.5-17 → 13-14 µs a row in the worker). When a merged call fails, each of its
   * calls is sent again alone, so only a bad one fails; they then run after the rest of their
   * batch and the batch sent meanwhile. So a call may apply after calls made later, but only
   * ones made before it resolved: nobody could have acted on its result (an id whose submit
   * was not answered cannot be cancelled by that id).
   */
  #merge(queued: Call[]): Call[] {
    let mergeable = 0;
    for (const c of queued) if (c.alone !== true && MERGED[c.method] !== undefined) mergeable++;
    if (mergeable < 2) return queued;
    const limit = this.#options.maxBatch ?? Number.POSITIVE_INFINITY;
    const batch: Call[] = [];
    const open = new Map<string, { parts: Call[]; items: unknown[] }>();
    for (const c of queued) {
      const how = c.alone === true ? undefined : MERGED[c.method];
      if (how === undefined) {
        // Merged calls never move past another call: later ones start new groups.
        open.clear();
        batch.push(c);
        continue;
      }
      let group = open.get(c.method);
      const fresh = group === undefined || group.items.length + how.rows(c.args) > limit;
      const items = fresh || group === undefined ? [] : group.items;
      try {
        how.add(items, c.args);
      } catch (err) {
        // Arguments that cannot travel (a receipt that cannot be made a row) fail their own call.
        c.reject(err);
        continue;
      }
      if (fresh || group === undefined) {
        group = { parts: [], items };
        open.set(c.method, group);
        batch.push(this.#merged(how, group.parts, items));
      }
      group.parts.push(c);
    }
    return batch;
  }

  /** One call standing for `parts` (filled in by the caller), with their `items`. */
  #merged(how: Merge, parts: Call[], items: unknown[]): Call {
    return {
      method: how.method,
      args: [items],
      parts,
      resolve: (value) => {
        if (how.counts === 'insert') this.#mergedCalls.insert += parts.length - 1;
        this.#mergedCalls.commit += parts.length - 1;
        for (let i = 0; i < parts.length; i++) parts[i]!.resolve(how.value(value, i));
      },
      reject: (error) => {
        if (this.#closed) {
          for (const part of parts) part.reject(error);
          return;
        }
        // The worker counted the failed call; each part is counted when it goes again alone.
        this.#mergedCalls.commit -= 1;
        this.#againAlone(parts);
      },
    };
  }

  /**
   * A batch that could not be copied to the worker (a DataCloneError: an argument that is not
   * plain data): the calls that cannot be copied fail, the others go again, each alone.
   */
  #unsendable(batch: readonly Call[], err: unknown): void {
    const parts = partsOf(batch);
    const again: Call[] = [];
    for (const part of parts) {
      try {
        structuredClone(part.args);
        again.push(part);
      } catch (cloneError) {
        part.reject(cloneError);
      }
    }
    if (again.length === parts.length) {
      // No call to blame: none of them can go.
      for (const part of parts) part.reject(err);
      return;
    }
    this.#againAlone(again);
  }

  /** The calls of a failed merged call go again, each alone, first in the queue (see #merge on their order). */
  #againAlone(parts: Call[]): void {
    for (const part of parts) part.alone = true;
    this.#queue.unshift(...parts);
    this.#schedule();
  }

  #onMessage(m: Reply): void {
    if (m.kind === 'notify') {
      for (const store of peers.get(this.#options.path) ?? [this]) store.#emit(m.target);
      return;
    }
    if (m.kind === 'config') {
      for (const store of peers.get(this.#options.path) ?? [this]) for (const l of store.#configListeners) l(m.topic);
      return;
    }
    const batch = this.#inFlight.get(m.seq) ?? [];
    this.#inFlight.delete(m.seq);
    this.#stats = m.stats;
    this.#send(); // the next batch starts committing before this one's callers run
    const errors = m.errors;
    for (let i = 0; i < batch.length; i++) {
      const call = batch[i]!;
      const error = errors?.[i];
      if (error === undefined) call.resolve(reviveBuffers(m.values[i]));
      else call.reject(reviveError(error));
    }
  }

  #emit(target: string): void {
    for (const l of this.#listeners) l(target);
  }

  #failAll(err: Error): void {
    const calls = [...[...this.#inFlight.values()].flat(), ...this.#queue];
    this.#inFlight.clear();
    this.#queue = [];
    // A merged call's callers fail with it (it would send them again alone).
    for (const part of partsOf(calls)) part.reject(err);
  }

  insert(msgs: readonly NewMessage[]): Promise<void> {
    // As in one thread: nothing to write, nothing counted.
    if (msgs.length === 0) return Promise.resolve();
    // Packed (bodies encoded) here when the batch is sent: the worker only binds the rows.
    return this.#call('insertRows', [msgs]);
  }
  claimDue(req: ClaimRequest): Promise<StoredMessage[]> {
    return this.#call('claimDue', [req]);
  }
  markDelivered(id: string, at: number, owner: string, receipt?: NewMessage): Promise<boolean> {
    return this.#call('markDelivered', [id, at, owner, receipt]);
  }
  markFailed(id: string, state: FailedState, at: number, errorCode: number, owner: string, receipt?: NewMessage): Promise<boolean> {
    return this.#call('markFailed', [id, state, at, errorCode, owner, receipt]);
  }
  retryLater(id: string, nextAttemptAt: number, errorCode: number, owner: string, at: number, receipt?: NewMessage): Promise<boolean> {
    return this.#call('retryLater', [id, nextAttemptAt, errorCode, owner, at, receipt]);
  }
  release(ids: readonly string[], owner: string, at: number): Promise<number> {
    return this.#call('release', [ids, owner, at]);
  }
  get(id: string): Promise<StoredMessage | undefined> {
    return this.#call('get', [id]);
  }
  getMany(ids: readonly string[]): Promise<StoredMessage[]> {
    return this.#call('getMany', [ids]);
  }
  events(id: string): Promise<MessageEvent[]> {
    return this.#call('events', [id]);
  }
  findPending(query: PendingQuery): Promise<StoredMessage[]> {
    return this.#call('findPending', [query]);
  }
  cancel(id: string, at: number, receiptsBy?: string, heldBy?: string | null): Promise<StoredMessage | undefined> {
    return this.#call('cancel', [id, at, receiptsBy, heldBy]);
  }
  replace(id: string, changes: ReplaceChanges, at: number, heldBy?: string | null): Promise<StoredMessage | undefined> {
    return this.#call('replace', [id, changes, at, heldBy]);
  }
  expireDue(now: number, limit: number, receiptsBy?: string): Promise<StoredMessage[]> {
    return this.#call('expireDue', [now, limit, receiptsBy]);
  }
  nextDueAt(targets: readonly string[]): Promise<number | undefined> {
    return this.#call('nextDueAt', [targets]);
  }
  countByState(): Promise<Record<MessageStateName, number>> {
    return this.#wholeTableRead('countByState', []);
  }
  queueDepth(): Promise<Record<string, number>> {
    return this.#call('queueDepth', []);
  }

  queueDepthByAccount(): Promise<Record<string, number>> {
    return this.#call('queueDepthByAccount', []);
  }

  pendingCount(account: string): Promise<number> {
    return this.#call('pendingCount', [account]);
  }
  finalize(
    id: string,
    state: Exclude<MessageStateName, PendingState>,
    at: number,
    errorCode: number,
    receiptsBy?: string,
    cause?: FinalizeCause,
  ): Promise<StoredMessage | undefined> {
    return this.#call('finalize', [id, state, at, errorCode, receiptsBy, cause]);
  }
  failPendingTo(
    target: string,
    destinationAddr: string,
    state: FailedState,
    errorCode: number,
    at: number,
    receiptsBy?: string,
    heldIds: readonly string[] = [],
  ): Promise<StoredMessage[]> {
    return this.#call('failPendingTo', [target, destinationAddr, state, errorCode, at, receiptsBy, heldIds]);
  }
  leasedTo(owner: string): Promise<string[]> {
    return this.#call('leasedTo', [owner]);
  }
  leaseHolders(): Promise<string[]> {
    return this.#call('leaseHolders', []);
  }
  reroute(id: string, target: string, failover: readonly string[], at: number, owner: string | null): Promise<boolean> {
    return this.#call('reroute', [id, target, failover, at, owner]);
  }
  failoverAll(target: string, at: number): Promise<Record<string, number>> {
    return this.#call('failoverAll', [target, at]);
  }
  markForwarded(id: string, remoteId: string, until: number, owner: string, at: number): Promise<boolean> {
    return this.#call('markForwarded', [id, remoteId, until, owner, at]);
  }
  findForwarded(target: string, remoteId: string): Promise<StoredMessage | undefined> {
    return this.#call('findForwarded', [target, remoteId]);
  }

  purgeFinished(before: number): Promise<number> {
    return this.#call('purgeFinished', [before]);
  }
  find(query: FindQuery): Promise<StoredMessage[]> {
    return this.#wholeTableRead('find', [query]);
  }

  /**
   * A read that may walk the whole table (a search by address, the count by state of the
   * metrics and /api/stats): on a connection of its own, in a worker of its own, so it never
   * holds up the writer's batches, and the SMPP answers waiting for them. With 2,500,000 rows
   * a count takes the thread 1.3 s and a search up to 5 s. The reader starts at the first such
   * read; WAL lets it read while the writer commits, and it sees every committed write. A
   * database in memory has no second connection: there they run on the writer.
   */
  async #wholeTableRead<T>(method: string, args: unknown[]): Promise<T> {
    const path = this.#options.path;
    if (this.#role === 'reader' || path === ':memory:' || path === '') return this.#call(method, args);
    if (this.#closed || this.#closing) throw new Error('store is closed');
    if (this.#reader === undefined) {
      const reader = new ThreadedSqliteStore({ ...this.#options, exclusive: false }, 'reader');
      const started = reader.init().then(() => reader);
      // A reader that failed to start (its thread ended with it), or whose thread ended, is
      // made again at the next read.
      started.catch(() => {
        void reader.close().catch(() => {});
        if (this.#reader === started) this.#reader = undefined;
      });
      this.#reader = started;
    }
    const reader = await this.#reader;
    if (reader.#closed) {
      this.#reader = undefined;
      return this.#wholeTableRead(method, args);
    }
    return reader.#call(method, args);
  }
  async onNotify(listener: (target: string) => void): Promise<() => void> {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  stats(): StoreStats {
    // The worker counts a merged call once; callers count each of theirs.
    const { insert, commit } = this.#mergedCalls;
    if (insert === 0 && commit === 0) return this.#stats;
    return { ...this.#stats, commitCalls: this.#stats.commitCalls + commit, insertCalls: this.#stats.insertCalls + insert };
  }

  listAccounts(): Promise<StoredAccount[]> {
    return this.#call('listAccounts', []);
  }
  getAccount(systemId: string): Promise<StoredAccount | undefined> {
    return this.#call('getAccount', [systemId]);
  }
  createAccount(account: StoredAccount): Promise<boolean> {
    return this.#call('createAccount', [account]);
  }
  updateAccount(account: StoredAccount): Promise<boolean> {
    return this.#call('updateAccount', [account]);
  }
  deleteAccount(systemId: string): Promise<boolean> {
    return this.#call('deleteAccount', [systemId]);
  }
  getSetting(key: string): Promise<string | undefined> {
    return this.#call('getSetting', [key]);
  }
  setSetting(key: string, value: string | null, at: number): Promise<void> {
    return this.#call('setSetting', [key, value, at]);
  }
  async onConfigChange(listener: (topic: ConfigTopic) => void): Promise<() => void> {
    this.#configListeners.add(listener);
    return () => this.#configListeners.delete(listener);
  }
}
