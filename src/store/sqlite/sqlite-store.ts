/**
 * The embedded message store: one SQLite file through better-sqlite3.
 *
 * - WAL journal with `synchronous=FULL`: a commit returns only once the WAL is fsynced, so
 *   "committed" means "on disk".
 * - Every write (insert, claim, outcome, cancel, ...) goes through one {@link GroupCommitter}:
 *   writes arriving within `commitDelayMs` run in ONE `BEGIN IMMEDIATE` transaction, each in
 *   its own savepoint (so one failing write rolls back alone), and share one fsync. Without
 *   this every delivery outcome would cost an fsync of its own and, since better-sqlite3 is
 *   synchronous, block the event loop for it.
 * - Reads run directly; no transaction is ever left open across an `await`, so they only see
 *   committed data.
 * - Statements are prepared once in `init()`.
 *
 * Several stores (in one process or several) may open the same file: SQLite's write lock
 * serialises their transactions, so two claimers never lease the same message.
 */
import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import Database from 'better-sqlite3';
import {
  applyReplace,
  changedFields,
  checkClaim,
  checkFailedState,
  checkFind,
  checkLimit,
  DEFAULT_COMMIT_DELAY_MS,
  DEFAULT_MAX_BATCH,
  detail,
  FairClaimPlan,
  failoverColumn,
  lifecycle,
  type MessageRow,
  PURGE_CHUNK,
  type Quota,
  replacedBody,
  rowToMessage,
  unitKey,
  unitParts,
  unsent,
  withServiceType,
} from '../common.js';
import { accountTopic, type ConfigStore, type ConfigTopic, type StoredAccount, settingTopic } from '../config-store.js';
import { GroupCommitter, type Settled } from '../group-commit.js';
import { sqliteMigrationFunctions, sqliteMigrations } from '../migrations/sqlite.js';
import { finalReceipts } from '../receipts.js';
import {
  type ClaimRequest,
  EventKind,
  type FailedState,
  type FinalizeCause,
  type FindQuery,
  isPendingState,
  type MessageEvent,
  MessageState,
  type MessageStateName,
  type NewMessage,
  type PendingQuery,
  type PendingState,
  type ReplaceChanges,
  type Store,
  type StoredMessage,
  type StoreOptions,
  type StoreStats,
} from '../types.js';
import { PendingAddresses } from './pending-addresses.js';
import { ACCOUNT, DIRECTION, DST_ADDR, HANDED_TO, type MessageValues, messageRow, STATE, TARGET, UNLEASED_VALUES } from './rows.js';
import { SqliteConfigTables } from './sqlite-config.js';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions extends StoreOptions {
  /** Database file; created if missing. `:memory:` works for throwaway stores. */
  path: string;
  /** How long (ms) to wait for another connection's write lock before failing. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * This store alone uses the file (an SMSC process): it holds an exclusive lock on
   * `<path>.lock` while open, and init() fails when another holds it. Two processes on one
   * file would make the same message ids (their nodeId is the config's) and fail each other's
   * inserts. Default false (tests, tools and the reader open the file beside the store).
   */
  exclusive?: boolean;
}

type WriteOp = () => unknown;

const PENDING_SQL = `state IN ('SCHEDULED', 'ENROUTE')`;

/**
 * CTE a(account): the accounts with pending messages for target @t, one index seek per account
 * (a loose index scan over messages_due), never a walk over the messages themselves.
 */
const ACCOUNTS_OF_TARGET = `WITH RECURSIVE a(account) AS (
        SELECT MIN(account) FROM messages WHERE target = @t AND ${PENDING_SQL}
        UNION ALL
        SELECT (SELECT MIN(account) FROM messages WHERE target = @t AND ${PENDING_SQL} AND account > a.account)
        FROM a WHERE a.account IS NOT NULL)`;

// In-process notification buses, one per database file, so that stores of this process on the
// same file hear each other (SQLite has no LISTEN/NOTIFY).
const buses = new Map<string, { emitter: EventEmitter; refs: number }>();

function acquireBus(key: string): EventEmitter {
  let bus = buses.get(key);
  if (bus === undefined) {
    const emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    bus = { emitter, refs: 0 };
    buses.set(key, bus);
  }
  bus.refs++;
  return bus.emitter;
}

function releaseBus(key: string): void {
  const bus = buses.get(key);
  if (bus !== undefined && --bus.refs === 0) buses.delete(key);
}

let memoryBusSeq = 0;

interface Statements {
  insertMessage: Database.Statement;
  insertLeased: Database.Statement;
  insertReceipt: Database.Statement;
  insertEvent: Database.Statement;
  get: Database.Statement;
  getMany: Database.Statement;
  events: Database.Statement;
  claim: Database.Statement;
  byRowids: Database.Statement;
  accountsOf: Database.Statement;
  enroute: Database.Statement;
  reroute: Database.Statement;
  failoverAll: Database.Statement;
  forward: Database.Statement;
  findForwarded: Database.Statement;
  markFinal: Database.Statement;
  pendingRow: Database.Statement;
  retry: Database.Statement;
  release: Database.Statement;
  cancel: Database.Statement;
  replace: Database.Statement;
  expire: Database.Statement;
  nextDue: Database.Statement;
  countByState: Database.Statement;
  queueDepth: Database.Statement;
  leasedTo: Database.Statement;
  leaseHolders: Database.Statement;
  failPendingTo: Database.Statement;
  finalize: Database.Statement;
  findPending: Database.Statement;
  pendingAddresses: Database.Statement;
  dataVersion: Database.Statement;
  purgeIds: Database.Statement;
  purgeEvents: Database.Statement;
  purgeMessages: Database.Statement;
}

/** {@link Store} on one SQLite file. Call {@link init} before use. */
export class SqliteStore implements Store, ConfigStore {
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  readonly #events: boolean;
  readonly #exclusive: boolean;
  /** The connection holding `<path>.lock` (see SqliteStoreOptions.exclusive). */
  #lock: Database.Database | undefined;
  readonly #writer: GroupCommitter<WriteOp, unknown>;
  readonly #busKey: string;
  #bus: EventEmitter | undefined;
  #db: Database.Database | undefined;
  #st: Statements | undefined;
  #config: SqliteConfigTables | undefined;
  #savepoint: ((op: WriteOp) => unknown) | undefined;
  /** Ops of the running batch begun (a throwing one included). */
  #started = 0;
  /** Column names of the byRowids statement (its rows come as arrays). */
  #byRowidsColumns: string[] | undefined;
  #tx: { fast: Database.Transaction<(ops: readonly WriteOp[], outcomes: Settled<unknown>[]) => void>; isolated: Database.Transaction<(ops: readonly WriteOp[], outcomes: Settled<unknown>[], savepoint: (op: WriteOp) => unknown) => void> } | undefined;
  #findCache = new Map<string, Database.Statement>();
  #notifyAfterCommit = new Set<string>();
  #turn = 0;
  #insertCalls = 0;
  #insertRows = 0;
  /** Pending rows by (account, destination); rebuilt from the table when #pendingStale. */
  readonly #pending = new PendingAddresses();
  #pendingStale = true;
  /** An init() under way. */
  #opening: Promise<void> | undefined;
  /** `PRAGMA data_version` when #pending was last rebuilt: it changes when another connection commits. */
  #dataVersion = -1;

  constructor(options: SqliteStoreOptions) {
    this.#path = options.path;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#events = options.events ?? true;
    this.#exclusive = options.exclusive === true && options.path !== ':memory:' && options.path !== '';
    this.#busKey = options.path === ':memory:' || options.path === '' ? `memory:${++memoryBusSeq}` : resolvePath(options.path);
    this.#writer = new GroupCommitter<WriteOp, unknown>({
      commit: (ops) => this.#commit(ops),
      delayMs: options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS,
      maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
    });
  }

  /** Opens the file (WAL, synchronous=FULL), runs pending migrations and prepares statements. */
  async init(): Promise<void> {
    if (this.#db !== undefined) return;
    // Calls while one opens wait for it (an open may wait for a busy file): one handle only.
    this.#opening ??= this.#init().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #init(): Promise<void> {
    if (this.#exclusive) this.#lock = lockFile(`${this.#path}.lock`, this.#path);
    let db: Database.Database;
    try {
      db = await this.#open();
    } catch (err) {
      this.#unlock();
      throw err;
    }
    this.#db = db;
    this.#savepoint = db.transaction((op: WriteOp) => op());
    // Built once: better-sqlite3 makes five functions for every transaction() call.
    this.#tx = {
      fast: db.transaction((ops: readonly WriteOp[], outcomes: Settled<unknown>[]) => {
        for (const op of ops) {
          this.#started++;
          outcomes.push({ ok: true, value: op() });
        }
      }),
      isolated: db.transaction((ops: readonly WriteOp[], outcomes: Settled<unknown>[], savepoint: (op: WriteOp) => unknown) => {
        for (const op of ops) {
          const mark = this.#pending.mark();
          try {
            // Nested better-sqlite3 transaction = SAVEPOINT: a throwing op rolls back alone.
            outcomes.push({ ok: true, value: savepoint(op) });
          } catch (error) {
            // Some errors (a full disk, an I/O error, no memory) make SQLite roll back the whole
            // transaction, not just the savepoint: the later ops would each run in a transaction
            // of their own and commit. The batch fails whole instead, nothing of it committed.
            if (!db.inTransaction) throw error;
            this.#pending.undo(mark);
            outcomes.push({ ok: false, error });
          }
        }
      }),
    };
    this.#bus = acquireBus(this.#busKey);
  }

  /**
   * The file opened in WAL mode and migrated. Two openers at once (two processes, or two
   * worker threads, on a new file) can get SQLITE_BUSY at once, without the busy timeout's
   * wait: SQLite does not wait for the switch to WAL or for a WAL being recovered. Such an
   * open is tried again, for as long as the busy timeout.
   */
  async #open(): Promise<Database.Database> {
    const giveUpAt = Date.now() + this.#busyTimeoutMs;
    for (;;) {
      const db = new Database(this.#path, { timeout: this.#busyTimeoutMs });
      try {
        db.pragma('journal_mode = WAL');
        // FULL: fsync the WAL on every commit, so a resolved insert survives power loss.
        db.pragma('synchronous = FULL');
        db.pragma('foreign_keys = OFF');
        migrate(db);
        this.#st = prepare(db, this.#events);
        this.#config = new SqliteConfigTables(db);
        return db;
      } catch (error) {
        db.close();
        if (!isBusy(error) || Date.now() >= giveUpAt) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  }

  /** Commits queued writes and closes the file. */
  async close(): Promise<void> {
    await this.#opening?.catch(() => {});
    await this.#writer.close();
    if (this.#db !== undefined) {
      this.#db.close();
      this.#db = undefined;
      this.#st = undefined;
      this.#config = undefined;
      this.#savepoint = undefined;
      this.#tx = undefined;
      // Another connection may change the file before a reopen.
      this.#pendingStale = true;
      this.#findCache.clear();
      releaseBus(this.#busKey);
      this.#bus = undefined;
    }
    this.#unlock();
  }

  #unlock(): void {
    this.#lock?.close();
    this.#lock = undefined;
  }

  /** Counters for metrics. */
  stats(): StoreStats {
    const w = this.#writer.stats();
    return {
      commitBatches: w.batches,
      commitCalls: w.calls,
      commitFailures: w.failures,
      insertCalls: this.#insertCalls,
      insertRows: this.#insertRows,
    };
  }

  async insert(msgs: readonly NewMessage[]): Promise<void> {
    if (msgs.length === 0) return;
    await this.insertRows(msgs.map(messageRow));
  }

  /**
   * {@link insert} of rows made by {@link messageRow}: what ThreadedSqliteStore sends to its
   * worker (arrays of plain values copy between threads much faster than objects).
   */
  async insertRows(rows: readonly MessageValues[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#write(() => {
      const st = this.#stmts();
      // The values go as arguments, not as one array: better-sqlite3 binds an array element by
      // element through the engine's API, about 1 µs a row slower (data/prof-style microbenchmark:
      // 15 values, 4.5-5.0 -> 3.5-4.1 µs a row in the statement).
      for (const row of rows) this.#insertRow(st, row);
    }, rows.length);
    this.#insertCalls++;
    this.#insertRows += rows.length;
  }

  /** One row of {@link insertRows}, inside a write. */
  #insertRow(st: Statements, row: MessageValues): void {
    let rowid: number | bigint;
    if (row.length === UNLEASED_VALUES) {
      rowid = st.insertMessage.run(...row).lastInsertRowid;
      this.#notifyAfterCommit.add(row[TARGET]);
    } else {
      // A leased row is already on its way to its target (its first attempt): nothing
      // became claimable. Its `handed_to` stands for the attempt event (see events()), so
      // with events off it stays NULL: nothing of the lifecycle is kept. (The rows are
      // this call's own: made for it, or cloned from the main thread.)
      if (!this.#events) row[HANDED_TO] = null;
      rowid = st.insertLeased.run(...row).lastInsertRowid;
    }
    if (isPendingState(row[STATE]) && row[DIRECTION] === 'mt') this.#pending.add(row[ACCOUNT], row[DST_ADDR], Number(rowid));
  }

  async claimDue(req: ClaimRequest): Promise<StoredMessage[]> {
    checkClaim(req);
    if (req.targets.length === 0) return [];
    const turn = this.#turn++;
    return this.#write(() => {
      const st = this.#stmts();
      const until = req.now + req.leaseMs;
      const units: string[] = [];
      for (const target of new Set(req.targets)) {
        for (const r of st.accountsOf.all({ t: target }) as { account: string }[]) units.push(unitKey(target, r.account));
      }
      const plan = new FairClaimPlan(units, req.limit, turn);
      for (let quotas = plan.next(); quotas !== undefined; quotas = plan.next()) {
        plan.record(this.#claimPass(st, quotas, req, until));
      }
      return plan.result();
    });
  }

  #claimPass(st: Statements, quotas: readonly Quota[], req: ClaimRequest, until: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (const [unit, quota] of quotas) {
      const [target, account] = unitParts(unit);
      const rowids = st.claim.all(req.owner, until, until, target, account, req.now, req.now, quota) as number[];
      if (rowids.length === 0) continue;
      for (const row of this.#rowsByRowid(st, rowids)) {
        const m = rowToMessage(row);
        if (m.state === MessageState.SCHEDULED) {
          st.enroute.run(m.id);
          m.state = MessageState.ENROUTE;
        }
        if (this.#events) st.insertEvent.run(m.id, req.now, EventKind.ATTEMPT, detail.attempt(req.owner, m.attempts + 1));
        out.push(m);
      }
    }
    return out;
  }

  async markDelivered(id: string, at: number, owner: string, receipt?: NewMessage): Promise<boolean> {
    const row = receipt === undefined ? undefined : messageRow(receipt);
    const applied = await this.#write(() => {
      const st = this.#stmts();
      // `final_by` stands for the delivered event (see events()).
      return this.#markFinal(st, MessageState.DELIVERED, at, 0, id, owner, row);
    });
    if (applied && row !== undefined) this.#insertRows++;
    return applied;
  }

  /**
   * {@link markDelivered} for several messages in one write (the worker-thread store merges
   * the calls of a batch), each receipt as a row of {@link messageRow}: whether each was
   * applied, in order.
   */
  async markDeliveredMany(
    calls: readonly (readonly [id: string, at: number, owner: string, receipt?: MessageValues])[],
  ): Promise<boolean[]> {
    const applied = await this.#write(() => {
      const st = this.#stmts();
      const applied: boolean[] = [];
      for (const [id, at, owner, receipt] of calls) applied.push(this.#markFinal(st, MessageState.DELIVERED, at, 0, id, owner, receipt));
      return applied;
    }, calls.length);
    for (let i = 0; i < calls.length; i++) if (applied[i] === true && calls[i]![3] !== undefined) this.#insertRows++;
    return applied;
  }

  async markFailed(id: string, state: FailedState, at: number, errorCode: number, owner: string, receipt?: NewMessage): Promise<boolean> {
    checkFailedState(state);
    const row = receipt === undefined ? undefined : messageRow(receipt);
    const applied = await this.#write(() => {
      const st = this.#stmts();
      return this.#markFinal(st, state, at, errorCode, id, owner, row);
    });
    if (applied && row !== undefined) this.#insertRows++;
    return applied;
  }

  async retryLater(id: string, nextAttemptAt: number, errorCode: number, owner: string, at: number, receipt?: NewMessage): Promise<boolean> {
    const receiptRow = receipt === undefined ? undefined : messageRow(receipt);
    const applied = await this.#write(() => {
      const st = this.#stmts();
      const row = st.retry.get(nextAttemptAt, errorCode, nextAttemptAt, id, owner) as { target: string } | undefined;
      if (row === undefined) return false;
      if (this.#events) st.insertEvent.run(id, at, EventKind.RETRY, detail.retry(nextAttemptAt, errorCode, owner));
      this.#notifyAfterCommit.add(row.target);
      if (receiptRow !== undefined) this.#insertRow(st, receiptRow);
      return true;
    });
    if (applied && receiptRow !== undefined) this.#insertRows++;
    return applied;
  }

  async release(ids: readonly string[], owner: string, at: number): Promise<number> {
    if (ids.length === 0) return 0;
    return this.#write(() => {
      const st = this.#stmts();
      let n = 0;
      for (const id of ids) {
        const row = st.release.get(id, owner) as { target: string } | undefined;
        if (row === undefined) continue;
        n++;
        if (this.#events) st.insertEvent.run(id, at, EventKind.RELEASED, detail.released(owner));
        this.#notifyAfterCommit.add(row.target);
      }
      return n;
    });
  }

  async reroute(id: string, target: string, failover: readonly string[], at: number, owner: string | null): Promise<boolean> {
    return this.#write(() => {
      const st = this.#stmts();
      const applied = st.reroute.run(target, failoverColumn(failover), id, owner, owner).changes > 0;
      if (!applied) return false;
      if (this.#events) st.insertEvent.run(id, at, EventKind.REROUTED, detail.rerouted(target, failover));
      this.#notifyAfterCommit.add(target);
      return true;
    });
  }

  async failoverAll(target: string, at: number): Promise<Record<string, number>> {
    return this.#write(() => {
      const st = this.#stmts();
      const out: Record<string, number> = {};
      for (const r of st.failoverAll.all({ t: target, at }) as { id: string; target: string; failover: string | null }[]) {
        out[r.target] = (out[r.target] ?? 0) + 1;
        if (this.#events) st.insertEvent.run(r.id, at, EventKind.REROUTED, detail.rerouted(r.target, r.failover?.split(',') ?? []));
        this.#notifyAfterCommit.add(r.target);
      }
      return out;
    });
  }

  async markForwarded(id: string, remoteId: string, until: number, owner: string, at: number): Promise<boolean> {
    return this.#write(() => {
      const st = this.#stmts();
      const applied = st.forward.run(remoteId, until, until, id, owner).changes > 0;
      if (applied && this.#events) st.insertEvent.run(id, at, EventKind.FORWARDED, detail.forwarded(remoteId, owner));
      return applied;
    });
  }

  async findForwarded(target: string, remoteId: string): Promise<StoredMessage | undefined> {
    const row = this.#stmts().findForwarded.get(target, remoteId) as MessageRow | undefined;
    return row === undefined ? undefined : rowToMessage(row);
  }

  async get(id: string): Promise<StoredMessage | undefined> {
    const row = this.#stmts().get.get(id) as MessageRow | undefined;
    return row === undefined ? undefined : rowToMessage(row);
  }

  async getMany(ids: readonly string[]): Promise<StoredMessage[]> {
    if (ids.length === 0) return [];
    return (this.#stmts().getMany.all(JSON.stringify(ids)) as MessageRow[]).map(rowToMessage);
  }

  async events(id: string): Promise<MessageEvent[]> {
    if (!this.#events) return [];
    const st = this.#stmts();
    const m = st.get.get(id) as MessageRow | undefined;
    if (m === undefined) return [];
    const rows = st.events.all(id) as { message_id: string; at: number; kind: string; detail: string }[];
    // The happy path is read off the row, not logged (fewer writes per message): `accepted`
    // is the row itself, a hand-over at insert its first attempt, and a delivered or failed
    // outcome its final state. Everything else, the exceptions, is logged.
    const logged = rows.map((r) => ({ messageId: r.message_id, at: r.at, kind: r.kind, detail: r.detail }));
    return lifecycle(m, logged);
  }

  async findPending(q: PendingQuery): Promise<StoredMessage[]> {
    const candidates = this.#pendingAddresses().candidates(q.account, q.destinationAddr);
    if (candidates.length === 0) return [];
    const rows = this.#stmts().findPending.all(JSON.stringify(candidates), q.account, q.destinationAddr, q.sourceAddr) as MessageRow[];
    return withServiceType(rows.map(rowToMessage), q.serviceType);
  }

  async cancel(id: string, at: number, receiptsBy?: string, heldBy: string | null = null): Promise<StoredMessage | undefined> {
    const [m] = await this.#end(receiptsBy, MessageState.DELETED, at, 0, (st) => {
      const row = st.cancel.get(at, id, at, heldBy) as MessageRow | undefined;
      if (row === undefined) return [];
      this.#leftRow(row);
      if (this.#events) st.insertEvent.run(id, at, EventKind.CANCELLED, '');
      return [rowToMessage(row)];
    });
    return m;
  }

  async replace(id: string, changes: ReplaceChanges, at: number, heldBy: string | null = null): Promise<StoredMessage | undefined> {
    return this.#write(() => {
      const st = this.#stmts();
      const row = st.get.get(id) as MessageRow | undefined;
      if (row === undefined) return undefined;
      const m = rowToMessage(row);
      if (!isPendingState(m.state) || !unsent(m, at, heldBy)) return undefined;
      const v = applyReplace(m, changes, at);
      const updated = st.replace.get(replacedBody(m, v), v.scheduleAt, v.expiresAt, v.state, v.nextAttemptAt, v.dueAt, id) as MessageRow;
      if (this.#events) st.insertEvent.run(id, at, EventKind.REPLACED, detail.replaced(changedFields(changes)));
      this.#notifyAfterCommit.add(m.target);
      return rowToMessage(updated);
    });
  }

  async expireDue(now: number, limit: number, receiptsBy?: string): Promise<StoredMessage[]> {
    checkLimit(limit);
    const out = await this.#end(receiptsBy, MessageState.EXPIRED, now, 0, (st) => {
      const rows = st.expire.all(now, now, now, limit) as MessageRow[];
      for (const r of rows) this.#leftRow(r);
      const out = rows.map(rowToMessage);
      if (this.#events) for (const m of out) st.insertEvent.run(m.id, now, EventKind.EXPIRED, '');
      return out;
    });
    return out.sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1));
  }

  async nextDueAt(targets: readonly string[]): Promise<number | undefined> {
    const st = this.#stmts();
    let min: number | undefined;
    for (const target of new Set(targets)) {
      // Index seeks only: one per account with messages for the target (see the statement).
      const row = st.nextDue.get({ t: target }) as { d: number | null };
      if (row.d !== null && (min === undefined || row.d < min)) min = row.d;
    }
    return min;
  }

  async countByState(): Promise<Record<MessageStateName, number>> {
    const out = Object.fromEntries(Object.values(MessageState).map((s) => [s, 0])) as Record<MessageStateName, number>;
    for (const r of this.#stmts().countByState.all() as { state: MessageStateName; n: number }[]) out[r.state] = r.n;
    return out;
  }

  async queueDepth(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of this.#stmts().queueDepth.all() as { target: string; n: number }[]) out[r.target] = r.n;
    return out;
  }

  async queueDepthByAccount(): Promise<Record<string, number>> {
    return this.#pendingAddresses().byAccount();
  }

  async finalize(
    id: string,
    state: Exclude<MessageStateName, PendingState>,
    at: number,
    errorCode: number,
    receiptsBy?: string,
    cause: FinalizeCause = 'upstream',
  ): Promise<StoredMessage | undefined> {
    const [m] = await this.#end(receiptsBy, state, at, errorCode, (st) => {
      const row = st.finalize.get(state, at, errorCode, id) as MessageRow | undefined;
      if (row === undefined) return [];
      this.#leftRow(row);
      if (this.#events) {
        st.insertEvent.run(id, at, state === 'DELIVERED' ? EventKind.DELIVERED : EventKind.FAILED, detail.finalized(cause, state, errorCode));
      }
      return [rowToMessage(row)];
    });
    return m;
  }

  async failPendingTo(
    target: string,
    destinationAddr: string,
    state: FailedState,
    errorCode: number,
    at: number,
    receiptsBy?: string,
    heldIds: readonly string[] = [],
  ): Promise<StoredMessage[]> {
    checkFailedState(state);
    return this.#end(receiptsBy, state, at, errorCode, (st) => {
      const rows = st.failPendingTo.all(state, at, errorCode, target, destinationAddr, at, JSON.stringify(heldIds)) as MessageRow[];
      for (const r of rows) this.#leftRow(r);
      if (this.#events) for (const r of rows) st.insertEvent.run(r.id, at, EventKind.FAILED, detail.failed(state, errorCode, 'destination'));
      return rows.map(rowToMessage);
    });
  }

  /**
   * A write in which `end` ends messages in `state` and returns them; with `receiptsBy`, the
   * final receipts they owe are inserted in the same write. One already there (its id is made
   * from its message's) is not made again. Inserted rows are counted once committed.
   */
  async #end(
    receiptsBy: string | undefined,
    state: MessageStateName,
    at: number,
    errorCode: number,
    end: (st: Statements) => StoredMessage[],
  ): Promise<StoredMessage[]> {
    const [ended, made] = await this.#write(() => {
      const st = this.#stmts();
      const ended = end(st);
      if (receiptsBy === undefined) return [ended, 0] as const;
      let made = 0;
      for (const receipt of finalReceipts(ended, state, at, errorCode, receiptsBy)) {
        const row = messageRow(receipt);
        // None there already (the same receipt, made before): a receipt is not in #pending (MT only).
        if (st.insertReceipt.run(...row).changes === 0) continue;
        this.#notifyAfterCommit.add(row[TARGET]);
        made++;
      }
      return [ended, made] as const;
    });
    this.#insertRows += made;
    return ended;
  }

  async leasedTo(owner: string): Promise<string[]> {
    return (this.#stmts().leasedTo.all(owner) as { id: string }[]).map((r) => r.id);
  }

  async leaseHolders(): Promise<string[]> {
    return this.#stmts().leaseHolders.all() as string[];
  }

  async pendingCount(account: string): Promise<number> {
    return this.#pendingAddresses().count(account);
  }

  async purgeFinished(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      // Chunked, one transaction per chunk, so a big purge never holds the write lock long.
      const n = await this.#write(() => {
        const st = this.#stmts();
        const ids = (st.purgeIds.all(before, PURGE_CHUNK) as { id: string }[]).map((r) => r.id);
        if (ids.length === 0) return 0;
        const json = JSON.stringify(ids);
        st.purgeEvents.run(json);
        return st.purgeMessages.run(json).changes;
      });
      total += n;
      if (n < PURGE_CHUNK) return total;
    }
  }

  async find(q: FindQuery): Promise<StoredMessage[]> {
    checkFind(q);
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.account !== undefined) {
      where.push('account = ?');
      params.push(q.account);
    }
    if (q.addr !== undefined) {
      where.push('(src_addr = ? OR dst_addr = ?)');
      params.push(q.addr, q.addr);
    }
    if (q.state !== undefined) {
      where.push('state = ?');
      params.push(q.state);
    }
    if (q.from !== undefined) {
      where.push('submitted_at >= ?');
      params.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('submitted_at < ?');
      params.push(q.to);
    }
    if (q.target !== undefined) {
      where.push('target = ?');
      params.push(q.target);
    }
    const sql = `SELECT * FROM messages${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY submitted_at DESC, id DESC LIMIT ?`;
    params.push(q.limit);
    this.#stmts();
    let stmt = this.#findCache.get(sql);
    if (stmt === undefined) {
      stmt = this.#db!.prepare(sql);
      this.#findCache.set(sql, stmt);
    }
    return (stmt.all(...params) as MessageRow[]).map(rowToMessage);
  }

  async onNotify(listener: (target: string) => void): Promise<() => void> {
    const bus = this.#bus;
    if (bus === undefined) throw new Error('SqliteStore: call init() first');
    bus.on('notify', listener);
    return () => {
      bus.off('notify', listener);
    };
  }

  // ---- run-time configuration (ConfigStore) -------------------------------------------------

  async listAccounts(): Promise<StoredAccount[]> {
    return this.#cfg().list();
  }
  async getAccount(systemId: string): Promise<StoredAccount | undefined> {
    return this.#cfg().get(systemId);
  }
  async createAccount(account: StoredAccount): Promise<boolean> {
    const done = await this.#write(() => this.#cfg().create(account));
    if (done) this.#configChanged(accountTopic(account.systemId));
    return done;
  }
  async updateAccount(account: StoredAccount): Promise<boolean> {
    const done = await this.#write(() => this.#cfg().update(account));
    if (done) this.#configChanged(accountTopic(account.systemId));
    return done;
  }
  async deleteAccount(systemId: string): Promise<boolean> {
    const done = await this.#write(() => this.#cfg().delete(systemId));
    if (done) this.#configChanged(accountTopic(systemId));
    return done;
  }
  async getSetting(key: string): Promise<string | undefined> {
    return this.#cfg().getSetting(key);
  }
  async setSetting(key: string, value: string | null, at: number): Promise<void> {
    await this.#write(() => this.#cfg().setSetting(key, value, at));
    this.#configChanged(settingTopic(key));
  }
  async onConfigChange(listener: (topic: ConfigTopic) => void): Promise<() => void> {
    const bus = this.#bus;
    if (bus === undefined) throw new Error('SqliteStore: call init() first');
    bus.on('config', listener);
    return () => {
      bus.off('config', listener);
    };
  }

  #cfg(): SqliteConfigTables {
    if (this.#config === undefined) throw new Error('SqliteStore: not initialised (call init()) or closed');
    return this.#config;
  }

  /** Called after the change committed (the write resolved). */
  #configChanged(topic: ConfigTopic): void {
    const bus = this.#bus;
    if (bus !== undefined) queueMicrotask(() => bus.emit('config', topic));
  }

  #stmts(): Statements {
    if (this.#st === undefined) throw new Error('SqliteStore: not initialised (call init()) or closed');
    return this.#st;
  }

  /** The rows of `rowids`, in that order, as row objects. */
  #rowsByRowid(st: Statements, rowids: readonly number[]): MessageRow[] {
    const columns = (this.#byRowidsColumns ??= st.byRowids.columns().map((c) => c.name));
    const at = new Map<number, number>();
    for (let i = 0; i < rowids.length; i++) at.set(rowids[i]!, i);
    const rows: MessageRow[] = new Array(rowids.length);
    for (const values of st.byRowids.all(JSON.stringify(rowids)) as unknown[][]) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
      rows[at.get(values[0] as number)!] = row as MessageRow;
    }
    return rows;
  }

  /**
   * The lease holder's final outcome of a pending message, and the receipt it owes (inserted
   * only when the outcome applies); false when it no longer applies.
   */
  #markFinal(st: Statements, state: string, at: number, errorCode: number, id: string, owner: string, receipt?: MessageValues): boolean {
    const found = st.pendingRow.get(id, owner) as [number, string, string] | undefined;
    if (found === undefined) return false;
    const [rowid, account, destination] = found;
    st.markFinal.run(state, at, errorCode, rowid);
    this.#pending.remove(account, destination, rowid);
    if (receipt !== undefined) this.#insertRow(st, receipt);
    return true;
  }

  /** A row (with its rowid) that just left the pending states. */
  #leftRow(row: MessageRow): void {
    this.#pending.remove(String(row.account), String(row.dst_addr), Number(row.rowid));
  }

  /**
   * The pending-address map, first rebuilt from the table if it may be wrong: not built since
   * the file was opened, or another connection committed since (its writes are not in it).
   */
  #pendingAddresses(): PendingAddresses {
    const st = this.#stmts();
    const version = st.dataVersion.get() as number;
    if (this.#pendingStale || version !== this.#dataVersion) {
      this.#pending.clear();
      for (const [rowid, account, destination] of st.pendingAddresses.iterate() as IterableIterator<[number, string, string]>) {
        this.#pending.add(account, destination, rowid);
      }
      this.#pendingStale = false;
      this.#dataVersion = version;
    }
    return this.#pending;
  }

  #write<T>(op: () => T, weight = 1): Promise<T> {
    return this.#writer.submit(op, weight) as Promise<T>;
  }

  /**
   * Runs a batch of write operations in one IMMEDIATE transaction. Optimistically without
   * savepoints (two statements less per operation, and most operations are one or two
   * statements); when an operation throws, the whole batch is rolled back and run again with a
   * savepoint per operation, so only the failing ones fail. Operations are plain statements
   * over their arguments, so running one twice after a rollback is safe.
   */
  #commit(ops: readonly WriteOp[]): Settled<unknown>[] {
    const savepoint = this.#savepoint;
    const tx = this.#tx;
    if (this.#db === undefined || savepoint === undefined || tx === undefined) throw new Error('SqliteStore: not initialised (call init()) or closed');
    let outcomes: Settled<unknown>[] = [];
    this.#started = 0;
    this.#notifyAfterCommit.clear();
    this.#pending.begin();
    try {
      // IMMEDIATE takes the write lock up front, so reads inside ops never go stale.
      try {
        tx.fast.immediate(ops, outcomes);
      } catch (error) {
        // Not an operation's own failure (BEGIN or COMMIT: busy, disk): nothing to isolate.
        if (this.#started === 0 || outcomes.length === ops.length) throw error;
        outcomes = [];
        this.#notifyAfterCommit.clear();
        this.#pending.undo();
        tx.isolated.immediate(ops, outcomes, savepoint);
      }
    } catch (error) {
      this.#notifyAfterCommit.clear();
      // Nothing was committed: the address map goes back to where the batch found it.
      this.#pending.undo();
      throw error;
    } finally {
      this.#pending.end();
    }
    if (this.#notifyAfterCommit.size > 0) {
      const targets = [...this.#notifyAfterCommit];
      this.#notifyAfterCommit.clear();
      const bus = this.#bus;
      // After the commit, and outside the transaction: listeners may read the store.
      if (bus !== undefined) queueMicrotask(() => {
        for (const t of targets) bus.emit('notify', t);
      });
    }
    return outcomes;
  }
}

/** SQLITE_BUSY or one of its extended codes: another connection holds the lock asked for. */
function isBusy(err: unknown): boolean {
  return String((err as { code?: unknown } | undefined)?.code).startsWith('SQLITE_BUSY');
}

/**
 * An exclusive lock on `lockPath`, held by the returned connection until it closes (or the
 * process ends: the operating system drops its file locks then, so a crash leaves none).
 */
function lockFile(lockPath: string, storePath: string): Database.Database {
  const lock = new Database(lockPath, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock.close();
    if (isBusy(err)) {
      throw new Error(`another SMSC process has the store ${storePath} open (its lock ${lockPath} is held): one process per SQLite file; several nodes need store.postgres`);
    }
    throw err;
  }
}

/** Applies pending migrations inside one IMMEDIATE transaction (safe against a concurrent opener). */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
    const current = row.v ?? 0;
    if (current > sqliteMigrations.length) {
      throw new Error(`SqliteStore: database schema version ${current} is newer than this code (${sqliteMigrations.length})`);
    }
    for (const [name, fn] of Object.entries(sqliteMigrationFunctions)) {
      db.function(name, { deterministic: true, varargs: true }, fn);
    }
    const record = db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, CAST(strftime('%s', 'now') AS INTEGER) * 1000)");
    for (let v = current; v < sqliteMigrations.length; v++) {
      db.exec(sqliteMigrations[v]!);
      record.run(v + 1);
    }
  }).immediate();
}

/** The columns a new message binds, in the order of rows.ts `UnleasedValues`. */
const INSERT_COLUMNS = `id, direction, account, target, state, priority, submitted_at, schedule_at, expires_at,
  next_attempt_at, due_at, src_addr, dst_addr, failover, body`;
const INSERT_VALUES = INSERT_COLUMNS.replace(/\w+/g, '?');

/** The statements of a store; `events` off leaves out the columns that stand for log rows. */
function prepare(db: Database.Database, events: boolean): Statements {
  const p = (sql: string) => db.prepare(sql);
  return {
    // The values of rows.ts `messageRow`; attempts, the lease, final_at, error_code and
    // remote_id start at their column defaults unless the message is inserted leased.
    insertMessage: p(`INSERT INTO messages (${INSERT_COLUMNS}) VALUES (${INSERT_VALUES})`),
    insertReceipt: p(`INSERT INTO messages (${INSERT_COLUMNS}) VALUES (${INSERT_VALUES}) ON CONFLICT (id) DO NOTHING`),
    insertLeased: p(`INSERT INTO messages (${INSERT_COLUMNS}, lease_owner, lease_until, handed_to) VALUES (${INSERT_VALUES}, ?, ?, ?)`),
    insertEvent: p('INSERT INTO events (message_id, at, kind, detail) VALUES (?, ?, ?, ?)'),
    get: p('SELECT * FROM messages WHERE id = ?'),
    getMany: p('SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
    events: p('SELECT message_id, at, kind, detail FROM events WHERE message_id = ? ORDER BY seq'),
    // The sub-select walks messages_due (target, account, due_at, priority DESC) in order and
    // stops at the quota; the claimed row's due_at moves to the lease end so nobody else sees
    // it due. rowid (insertion order) breaks ties, so the parts of a long message keep theirs.
    // `state` is not set here: naming it in SET makes SQLite rewrite every partial index (they
    // all filter on state) for each claimed row; the few SCHEDULED ones are moved by `enroute`.
    claim: p(`UPDATE messages SET lease_owner = ?, lease_until = ?, due_at = ?
      WHERE rowid IN (
        SELECT rowid FROM messages
        WHERE target = ? AND account = ? AND ${PENDING_SQL} AND due_at <= ? AND expires_at > ?
        ORDER BY due_at, priority DESC, rowid LIMIT ?)
      RETURNING rowid`).pluck(),
    // The claimed rows, read after the claim: RETURNING * costs SQLite about twice the
    // instructions of RETURNING rowid and this read together (callgrind, claims of 25:
    // 118,000 against 78,000 per row), and raw arrays are cheaper to make than row objects.
    byRowids: p('SELECT rowid, * FROM messages WHERE rowid IN (SELECT value FROM json_each(?))').raw(true),
    enroute: p(`UPDATE messages SET state = 'ENROUTE' WHERE id = ? AND state = 'SCHEDULED'`),
    accountsOf: p(`${ACCOUNTS_OF_TARGET}
      SELECT account FROM a WHERE account IS NOT NULL`),
    reroute: p(`UPDATE messages SET target = ?, failover = ?, lease_owner = NULL, lease_until = 0,
        due_at = MAX(schedule_at, next_attempt_at)
      WHERE id = ? AND ${PENDING_SQL} AND (? IS NULL OR lease_owner = ?)`),
    failoverAll: p(`UPDATE messages SET
        target = CASE WHEN instr(failover, ',') > 0 THEN substr(failover, 1, instr(failover, ',') - 1) ELSE failover END,
        failover = CASE WHEN instr(failover, ',') > 0 THEN substr(failover, instr(failover, ',') + 1) ELSE NULL END,
        due_at = MAX(schedule_at, next_attempt_at)
      WHERE target = @t AND ${PENDING_SQL} AND failover IS NOT NULL AND remote_id IS NULL AND lease_until <= @at
      RETURNING id, target, failover`),
    forward: p(`UPDATE messages SET remote_id = ?, next_attempt_at = ?, due_at = ?, attempts = attempts + 1,
        lease_owner = NULL, lease_until = 0
      WHERE id = ? AND lease_owner = ? AND ${PENDING_SQL}`),
    findForwarded: p(`SELECT * FROM messages WHERE target = ? AND remote_id = ? AND ${PENDING_SQL}`),
    // A final outcome in two statements: the row's address by its id, then the update by rowid.
    // RETURNING would give the address in one, but costs SQLite more than the read and the
    // rowid's direct reach together (callgrind: about 27,000 instructions per outcome more).
    pendingRow: p(`SELECT rowid, account, dst_addr FROM messages WHERE id = ? AND lease_owner = ? AND ${PENDING_SQL}`).raw(true),
    markFinal: p(`UPDATE messages SET state = ?, final_at = ?, error_code = ?, attempts = attempts + 1,
        ${events ? 'final_by = lease_owner, ' : ''}lease_owner = NULL, lease_until = 0
      WHERE rowid = ?`),
    retry: p(`UPDATE messages SET state = 'ENROUTE', next_attempt_at = ?, error_code = ?, attempts = attempts + 1,
        lease_owner = NULL, lease_until = 0, due_at = MAX(schedule_at, ?)
      WHERE id = ? AND lease_owner = ? AND ${PENDING_SQL}
      RETURNING target`),
    release: p(`UPDATE messages SET lease_owner = NULL, lease_until = 0, due_at = MAX(schedule_at, next_attempt_at)
      WHERE id = ? AND lease_owner = ? AND ${PENDING_SQL}
      RETURNING target`),
    cancel: p(`UPDATE messages SET state = 'DELETED', final_at = ?, lease_owner = NULL, lease_until = 0
      WHERE id = ? AND ${PENDING_SQL} AND remote_id IS NULL AND (lease_until <= ? OR lease_owner = ?)
      RETURNING rowid, *`),
    // Checked unsent (see unsent()) by the caller, in the same write.
    replace: p(`UPDATE messages SET body = ?, schedule_at = ?, expires_at = ?, state = ?, next_attempt_at = ?, due_at = ?,
        lease_owner = NULL, lease_until = 0
      WHERE id = ?
      RETURNING *`),
    expire: p(`UPDATE messages SET state = 'EXPIRED', final_at = ?, lease_owner = NULL, lease_until = 0
      WHERE rowid IN (
        SELECT rowid FROM messages
        WHERE ${PENDING_SQL} AND expires_at <= ? AND lease_until <= ?
        ORDER BY expires_at LIMIT ?)
      RETURNING rowid, *`),
    nextDue: p(`${ACCOUNTS_OF_TARGET}
      SELECT MIN((SELECT MIN(due_at) FROM messages WHERE target = @t AND account = a.account AND ${PENDING_SQL})) AS d
      FROM a WHERE a.account IS NOT NULL`),
    countByState: p('SELECT state, COUNT(*) AS n FROM messages GROUP BY state'),
    queueDepth: p(`SELECT target, COUNT(*) AS n FROM messages WHERE ${PENDING_SQL} GROUP BY target`),
    leasedTo: p(`SELECT id FROM messages WHERE lease_owner = ? AND ${PENDING_SQL}`),
    leaseHolders: p(`SELECT DISTINCT lease_owner FROM messages WHERE lease_owner IS NOT NULL AND ${PENDING_SQL}`).pluck(),
    finalize: p(`UPDATE messages SET state = ?, final_at = ?, error_code = ?, lease_owner = NULL, lease_until = 0
      WHERE id = ? AND ${PENDING_SQL}
      RETURNING rowid, *`),
    failPendingTo: p(`UPDATE messages SET state = ?, final_at = ?, error_code = ?, lease_owner = NULL, lease_until = 0
      WHERE target = ? AND dst_addr = ? AND ${PENDING_SQL} AND direction = 'mt'
        AND (lease_until <= ? OR id IN (SELECT value FROM json_each(?)))
      RETURNING rowid, *`),
    // The candidates come from PendingAddresses; account and destination are checked again (its hash may collide).
    findPending: p(`SELECT * FROM messages
      WHERE rowid IN (SELECT value FROM json_each(?)) AND account = ? AND dst_addr = ? AND src_addr = ? AND direction = 'mt' AND ${PENDING_SQL}
      ORDER BY submitted_at, id`),
    pendingAddresses: p(`SELECT rowid, account, dst_addr FROM messages WHERE direction = 'mt' AND ${PENDING_SQL}`).raw(true),
    dataVersion: p('PRAGMA data_version').pluck(),
    purgeIds: p('SELECT id FROM messages WHERE final_at < ? LIMIT ?'),
    purgeEvents: p('DELETE FROM events WHERE message_id IN (SELECT value FROM json_each(?))'),
    purgeMessages: p('DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
  };
}
