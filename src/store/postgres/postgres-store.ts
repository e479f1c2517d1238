/**
 * The cluster message store on PostgreSQL through a `pg` Pool.
 *
 * - Inserts are group-committed: the messages of all insert() calls within `commitDelayMs`
 *   go into ONE statement (an `INSERT ... SELECT FROM unnest($arrays)`, a constant-size
 *   prepared statement whatever the row count) that also sends the NOTIFYs (the `accepted`
 *   event is made from the row, not logged: one write less per message). A single statement is its own transaction: one round trip, one commit.
 *   The row is lean (schema v6: the fields only read back whole are one `body`, see
 *   store/body.ts) and the arrays travel in PostgreSQL's binary format (binary-arrays.ts).
 * - Claims use `FOR UPDATE SKIP LOCKED` inside one `UPDATE ... RETURNING` statement, so two
 *   processes never lease the same row and never wait on each other's claimed rows.
 * - Final outcomes (markDelivered/markFailed), the other hot write, are group-committed the
 *   same way: one `UPDATE ... FROM unnest(...)` per batch.
 * - Other writes are single statements too (data-modifying CTEs write the event alongside),
 *   so they need no explicit transaction; PostgreSQL's own WAL flushing groups concurrent
 *   commits.
 * - BIGINT columns come back from pg as strings and are turned into numbers (epoch ms fits in
 *   2^53). Global pg type parsers are left alone, since the pool may be the caller's.
 * - Migrations run in one transaction under `pg_advisory_xact_lock`, so two processes
 *   starting together are safe.
 * - `onNotify` uses LISTEN on a dedicated connection; insert, retryLater, release and replace
 *   send `pg_notify(channel, target)` in the same statement, delivered on commit.
 * - A migration announces itself on a schema channel (delivered on its commit). Every store
 *   listening hears it on the same connection, and re-reads the schema version whenever that
 *   connection is (re-)established; a version past the code's makes the store refuse every
 *   write and claim and tell its `onSchemaNewer` listeners, so a node left on older code stops
 *   instead of writing rows the new schema does not expect.
 */
import pg from 'pg';
import { encodeBody } from '../body.js';
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
  initialState,
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
import type { ConfigStore, ConfigTopic, StoredAccount } from '../config-store.js';
import { GroupCommitter, type Settled } from '../group-commit.js';
import { type PostgresMigration, postgresMigrations } from '../migrations/postgres.js';
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
import { byteaArray, int4Array, int8Array, textArray } from './binary-arrays.js';
import { PostgresConfigTables } from './postgres-config.js';

/** Options of {@link PostgresStore}: give `url` (the store owns its pool) or `pool` (yours). */
export type PostgresStoreOptions = StoreOptions & {
  /**
   * Schema holding the tables; created by init() if missing. Default: none, i.e. unqualified
   * names resolved through the connection's `search_path`.
   */
  schema?: string;
  /**
   * Insert batches committing at the same time, each on its own pooled connection: one batch's
   * inserts run while another's commit waits for its WAL flush. Default 2 (docs/performance.md:
   * accept-pg at window 100 x 4, five alternated pairs, 27,800 -> 32,800/s on average). Batches
   * in flight together may commit in either order. (Two outcome batches go at a time too, as
   * they carry the receipts' inserts: see #finals.)
   */
  maxInFlight?: number;
  /** How long (ms) to wait before re-establishing a lost LISTEN connection. Default 1000. */
  listenRetryMs?: number;
  /** The migrations this code knows (tests: an older or newer code). Default {@link postgresMigrations}. */
  migrations?: readonly PostgresMigration[];
} & (
    | {
        url: string;
        poolSize?: number;
        /**
         * A query of the pool not answered within this many ms fails, and its connection is
         * dropped: a database cut off mid-query (a half-open connection) otherwise holds the
         * query, and whatever waits for it, for the minutes of TCP retransmissions. 0: no limit.
         * Default {@link DEFAULT_QUERY_TIMEOUT_MS}. Not for the migrations of init(), which may
         * take long on a big table (they run on a connection of their own).
         */
        queryTimeoutMs?: number;
      }
    | { pool: pg.Pool }
  );

/** The LISTEN connection's heartbeat: a query this often, answered within the timeout (see PostgresStore#heartbeat). */
export const LISTEN_HEARTBEAT_MS = 5000;
export const LISTEN_HEARTBEAT_TIMEOUT_MS = 3000;

/** Default {@link PostgresStoreOptions} queryTimeoutMs. */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/** How long opening a connection may take (an address that drops packets fails, not hangs). */
const CONNECT_TIMEOUT_MS = 10_000;

const PENDING_SQL = `state IN ('SCHEDULED', 'ENROUTE')`;

/** One markDelivered/markFailed call, queued for the outcome group committer. */
interface FinalOutcome {
  id: string;
  state: string;
  at: number;
  errorCode: number;
  owner: string;
  /** The receipt the message owes, inserted in the outcome's transaction when it applies. */
  receipt: NewMessage | undefined;
}
/** One finalize() call (a next hop's verdict), queued for the verdict group committer. */
interface Verdict {
  id: string;
  state: Exclude<MessageStateName, PendingState>;
  at: number;
  errorCode: number;
  receiptsBy: string | undefined;
  cause: FinalizeCause;
}

/** Advisory lock class id for migrations ("smsc" in ASCII); the object id is a hash of the schema. */
const MIGRATION_LOCK_CLASS = 0x736d7363;

/** TCP keepalive's first probe on the store's connections, ms. */
const KEEPALIVE_DELAY_MS = 10_000;

/** Calls a listener; one that throws (a bug above the store) must not stop the others or the process. */
function tell<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch {
    // The listener's own concern.
  }
}

/** The error of a store whose database was migrated past its code (init, and every write after). */
function newerSchemaError(version: number, known: number): Error {
  return new Error(`PostgresStore: database schema version ${version} is newer than this code (${known}): upgrade this node`);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The NOTIFY channel `prefix` names for `schema`: the prefix and the schema's name in lower
 * case, cut at 63 characters (the names of earlier versions, so nodes of both hear each other
 * during an upgrade), unless that is over PostgreSQL's 63 octets (a non-ASCII name), which
 * pg_notify refuses, failing every insert: then the prefix, `h` and a hash of the name.
 */
export function channelName(prefix: string, schema: string | undefined): string {
  const plain = `${prefix}${(schema ?? 'default').toLowerCase()}`.slice(0, 63);
  if (Buffer.byteLength(plain) <= 63) return plain;
  return `${prefix}h${(hash32(schema ?? '') >>> 0).toString(36)}`;
}

/** FNV-1a, folded to a signed 32-bit int (pg_advisory_xact_lock(int, int)). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

interface Sql {
  insert: string;
  claim: string;
  markFinal: string;
  markFinalReceipts: string;
  retry: string;
  release: string;
  cancel: string;
  lockForReplace: string;
  replace: string;
  expire: string;
  nextDue: string;
  accountsOf: string;
  reroute: string;
  failoverAll: string;
  forward: string;
  findForwarded: string;
  get: string;
  getMany: string;
  insertReceipts: string;
  events: string;
  countByState: string;
  queueDepth: string;
  queueDepthByAccount: string;
  pendingCount: string;
  leasedTo: string;
  leaseHolders: string;
  failPendingTo: string;
  finalize: string;
  findPending: string;
  purge: string;
  messages: string;
}

/** Inserts after which the store checks that the messages table has planner statistics (×10 each time, up to the last). */
const ANALYZE_FIRST = 1000;
const ANALYZE_LAST = 100_000;

/**
 * The order of a claim within one (target, account), over alias `s`: due time, priority, then
 * id order (insertion order for our ids). The due index (schema v5) has exactly these columns
 * after (target, account), so a claim reads its rows off the index without sorting the queue.
 */
export const CLAIM_ORDER = 's.due_at, s.priority DESC, length(s.id), s.id';

function buildSql(messages: string, events: string, withEvents: boolean): Sql {
  // Event writes ride in the same statement as the change they record, as a data-modifying
  // CTE; with events off the CTE is simply left out.
  // Statements whose event needs parameters take them last ($n after the others), so the
  // events-off variant simply has fewer parameters.
  const ev = (from: string, at: string, kind: string, detailSql: string): string =>
    withEvents ? `, e AS (INSERT INTO ${events} (message_id, at, kind, detail) SELECT id, ${at}, ${kind}, ${detailSql} FROM ${from})` : '';
  const k = (kind: string): string => `'${kind}'`;
  // CTE a(target, account): the accounts with pending messages for each target of $1, one
  // index probe per account (a loose index scan), never a walk over the messages themselves.
  const accountsOfTargets = `WITH RECURSIVE a(target, account) AS (
        SELECT t.target, (SELECT min(s.account) FROM ${messages} s WHERE s.target = t.target AND s.${PENDING_SQL})
        FROM unnest($1::text[]) AS t(target)
        UNION ALL
        SELECT a.target, (SELECT min(s.account) FROM ${messages} s
          WHERE s.target = a.target AND s.${PENDING_SQL} AND s.account > a.account)
        FROM a WHERE a.account IS NOT NULL)`;
  // INSERT of the columns of InsertColumns from $p on (in order); `where`, if any, filters
  // their unnest() `u`, which then has one more column, outcome_of, from the array after them.
  const p = (first: number, i: number): string => `$${first + i}`;
  const insertRows = (first: number, where: string, onConflict = ''): string => `INSERT INTO ${messages} (
          id, direction, account, target, state, priority, submitted_at, schedule_at, expires_at, next_attempt_at,
          due_at, src_addr, dst_addr, failover, body, lease_owner, lease_until, handed_to)
        SELECT id, direction, account, target, state, priority, submitted_at, schedule_at, expires_at, schedule_at,
          GREATEST(schedule_at, lease_until), src_addr, dst_addr, failover, body, lease_owner, lease_until,
          ${withEvents ? 'lease_owner' : 'NULL'}
        FROM unnest(${p(first, 0)}::text[], ${p(first, 1)}::text[], ${p(first, 2)}::text[], ${p(first, 3)}::text[],
          ${p(first, 4)}::text[], ${p(first, 5)}::int[], ${p(first, 6)}::bigint[], ${p(first, 7)}::bigint[],
          ${p(first, 8)}::bigint[], ${p(first, 9)}::text[], ${p(first, 10)}::text[], ${p(first, 11)}::text[],
          ${p(first, 12)}::bytea[], ${p(first, 13)}::text[], ${p(first, 14)}::bigint[]${where === '' ? '' : `, ${p(first, 15)}::text[]`})
          AS u(id, direction, account, target, state, priority, submitted_at, schedule_at, expires_at, src_addr,
            dst_addr, failover, body, lease_owner, lease_until${where === '' ? '' : ', outcome_of'})
        ${where}
        ${onConflict}
        RETURNING target, lease_owner`;
  // pg_notify for each target of unleased rows of CTE `from`, once a target.
  const notifyNew = (from: string, channel: string): string =>
    `SELECT pg_notify(${channel}, t.target) FROM (SELECT DISTINCT target FROM ${from} WHERE lease_owner IS NULL) t`;
  const markFinalCtes = `WITH v AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::text[])
          AS v(id, state, at, error_code, owner)),
      done AS (
        UPDATE ${messages} m SET state = v.state, final_at = v.at, error_code = v.error_code,
          attempts = m.attempts + 1, ${withEvents ? 'final_by = m.lease_owner, ' : ''}lease_owner = NULL, lease_until = 0
        FROM v
        WHERE m.id = ANY ($1::text[]) AND m.id = v.id AND m.lease_owner = v.owner AND m.${PENDING_SQL}
        RETURNING m.id)`;
  return {
    messages,
    // The parameters are the columns of InsertColumns, in order, then the channel.
    insert: `WITH m AS (${insertRows(1, '')})
      -- A leased row (its hand-over is its first attempt, kept in handed_to: see events()) is already on its way to its target: nothing became claimable.
      SELECT count(*) AS n FROM (${notifyNew('m', '$16')}) x`,
    // Receipts made by the store (see #end): one there already (the same id) is that receipt.
    insertReceipts: `WITH m AS (${insertRows(1, '', 'ON CONFLICT (id) DO NOTHING')}),
      k AS (${notifyNew('m', '$16')})
      SELECT (SELECT count(*) FROM m) AS n, (SELECT count(*) FROM k) AS notified`,
    // `= ANY (ARRAY(...))` rather than a join: the planner cannot estimate the picked rows
    // (LIMIT q.quota) and may hash-join against a sequential scan; this form is always a
    // primary-key index scan.
    // Per target, the LATERAL sub-select walks messages_due in order and stops at the quota;
    // SKIP LOCKED passes over rows another claimer is taking right now. A row claimed and
    // committed meanwhile is re-checked against the WHERE (its due_at moved to the lease
    // end) and dropped, so it is never leased twice.
    claim: `WITH picked AS (
        SELECT c.id FROM unnest($1::text[], $6::text[], $2::int[]) AS q(target, account, quota)
        CROSS JOIN LATERAL (
          SELECT s.id FROM ${messages} s
          WHERE s.target = q.target AND s.account = q.account AND s.${PENDING_SQL} AND s.due_at <= $3 AND s.expires_at > $3
          ORDER BY ${CLAIM_ORDER}
          LIMIT q.quota
          FOR UPDATE SKIP LOCKED) c),
      u AS (
        UPDATE ${messages} m SET state = 'ENROUTE', lease_owner = $4, lease_until = $5, due_at = $5
        WHERE m.id = ANY (ARRAY(SELECT id FROM picked))
        RETURNING m.*)
      ${ev('u', '$3', k(EventKind.ATTEMPT), `'owner=' || $4::text || ' attempt=' || (attempts + 1)`)}
      SELECT * FROM u`,
    // Final outcomes of many messages in one statement (group-committed like inserts). The
    // extra `m.id = ANY ($1)` lets the planner use the primary key whatever it guesses for
    // the unnest() row count. Ids are unique within a batch (see #commitFinals).
    // The outcome is not logged: `final_by` stands for it (see events()).
    markFinal: `${markFinalCtes}
      SELECT id FROM done`,
    // The same with the receipts owed ($6-$21: InsertColumns and the id each receipt is for),
    // inserted for the outcomes that applied, in the same statement. The last row (id NULL)
    // is what makes the notifications run (a SELECT in WITH runs only when read).
    markFinalReceipts: `${markFinalCtes},
      r AS (${insertRows(6, 'WHERE u.outcome_of IN (SELECT id FROM done)')})
      SELECT id FROM done
      UNION ALL SELECT NULL FROM (SELECT count(*) FROM (${notifyNew('r', '$22')}) n) x`,
    retry: `WITH u AS (
        UPDATE ${messages} SET state = 'ENROUTE', next_attempt_at = $2, error_code = $3, attempts = attempts + 1,
          lease_owner = NULL, lease_until = 0, due_at = GREATEST(schedule_at, $2)
        WHERE id = $1 AND lease_owner = $4 AND ${PENDING_SQL}
        RETURNING id, target)
      ${ev('u', '$6', k(EventKind.RETRY), '$7')}
      SELECT pg_notify($5, target) FROM u`,
    release: `WITH u AS (
        UPDATE ${messages} SET lease_owner = NULL, lease_until = 0, due_at = GREATEST(schedule_at, next_attempt_at)
        WHERE id = ANY($1::text[]) AND lease_owner = $2 AND ${PENDING_SQL}
        RETURNING id, target)
      ${ev('u', '$4', k(EventKind.RELEASED), `'owner=' || $2::text`)}
      SELECT (SELECT count(*) FROM u) AS n,
        (SELECT count(*) FROM (SELECT pg_notify($3, t.target) FROM (SELECT DISTINCT target FROM u) t) x) AS k`,
    cancel: `WITH u AS (
        UPDATE ${messages} SET state = 'DELETED', final_at = $2, lease_owner = NULL, lease_until = 0
        WHERE id = $1 AND ${PENDING_SQL} AND remote_id IS NULL AND (lease_until <= $2 OR lease_owner = $3)
        RETURNING *)
      ${ev('u', '$2', k(EventKind.CANCELLED), `''`)}
      SELECT * FROM u`,
    lockForReplace: `SELECT * FROM ${messages} WHERE id = $1 FOR UPDATE`,
    replace: `WITH u AS (
        UPDATE ${messages} SET body = $2, schedule_at = $3, expires_at = $4, state = $5, next_attempt_at = $6, due_at = $7,
          lease_owner = NULL, lease_until = 0
        WHERE id = $1
        RETURNING *)
      ${ev('u', '$9', k(EventKind.REPLACED), '$10')}
      SELECT u.*, pg_notify($8, u.target) FROM u`,
    expire: `WITH picked AS (
        SELECT id FROM ${messages}
        WHERE ${PENDING_SQL} AND expires_at <= $1 AND lease_until <= $1
        ORDER BY expires_at LIMIT $2
        FOR UPDATE SKIP LOCKED),
      u AS (
        UPDATE ${messages} m SET state = 'EXPIRED', final_at = $1, lease_owner = NULL, lease_until = 0
        WHERE m.id = ANY (ARRAY(SELECT id FROM picked))
        RETURNING m.*)
      ${ev('u', '$1', k(EventKind.EXPIRED), `''`)}
      SELECT * FROM u`,
    accountsOf: `${accountsOfTargets}
      SELECT target, account FROM a WHERE account IS NOT NULL`,
    // Then one index probe per (target, account), rather than a scan of all messages.
    nextDue: `${accountsOfTargets}
      SELECT min(x.due_at) AS d FROM a
      CROSS JOIN LATERAL (
        SELECT s.due_at FROM ${messages} s WHERE s.target = a.target AND s.account = a.account AND s.${PENDING_SQL}
        ORDER BY s.due_at LIMIT 1) x
      WHERE a.account IS NOT NULL`,
    reroute: `WITH u AS (
        UPDATE ${messages} SET target = $2, failover = $3, lease_owner = NULL, lease_until = 0,
          due_at = GREATEST(schedule_at, next_attempt_at)
        WHERE id = $1 AND ${PENDING_SQL} AND ($4::text IS NULL OR lease_owner = $4)
        RETURNING id, target)
      ${ev('u', '$6', k(EventKind.REROUTED), '$7')}
      SELECT pg_notify($5, target) FROM u`,
    failoverAll: `WITH picked AS (
        SELECT id FROM ${messages}
        WHERE target = $1 AND ${PENDING_SQL} AND failover IS NOT NULL AND remote_id IS NULL AND lease_until <= $2
        FOR UPDATE SKIP LOCKED),
      u AS (
        UPDATE ${messages} m SET target = split_part(m.failover, ',', 1),
          failover = NULLIF(substr(m.failover, length(split_part(m.failover, ',', 1)) + 2), ''),
          due_at = GREATEST(m.schedule_at, m.next_attempt_at)
        WHERE m.id = ANY (ARRAY(SELECT id FROM picked))
        RETURNING m.id, m.target, m.failover)
      ${ev('u', '$2', k(EventKind.REROUTED), `'target=' || target || COALESCE(' failover=' || failover, '')`)}
      SELECT u.target, count(*) AS n, (SELECT count(*) FROM (SELECT pg_notify($3, t.target) FROM (SELECT DISTINCT target FROM u) t) x) AS k
      FROM u GROUP BY u.target`,
    forward: `WITH u AS (
        UPDATE ${messages} SET remote_id = $2, next_attempt_at = $3, due_at = $3, attempts = attempts + 1,
          lease_owner = NULL, lease_until = 0
        WHERE id = $1 AND lease_owner = $4 AND ${PENDING_SQL}
        RETURNING id)
      ${ev('u', '$5', k(EventKind.FORWARDED), '$6')}
      SELECT id FROM u`,
    findForwarded: `SELECT * FROM ${messages} WHERE target = $1 AND remote_id = $2 AND ${PENDING_SQL}`,
    get: `SELECT * FROM ${messages} WHERE id = $1`,
    getMany: `SELECT * FROM ${messages} WHERE id = ANY($1::text[])`,
    events: `SELECT message_id, at, kind, detail FROM ${events} WHERE message_id = $1 ORDER BY seq`,
    countByState: `SELECT state, count(*) AS n FROM ${messages} GROUP BY state`,
    queueDepth: `SELECT target, count(*) AS n FROM ${messages} WHERE ${PENDING_SQL} GROUP BY target`,
    queueDepthByAccount: `SELECT account, count(*) AS n FROM ${messages} WHERE direction = 'mt' AND ${PENDING_SQL} GROUP BY account`,
    pendingCount: `SELECT count(*) AS n FROM ${messages} WHERE account = $1 AND direction = 'mt' AND ${PENDING_SQL}`,
    leasedTo: `SELECT id FROM ${messages} WHERE lease_owner = $1 AND ${PENDING_SQL}`,
    leaseHolders: `SELECT DISTINCT lease_owner FROM ${messages} WHERE lease_owner IS NOT NULL AND ${PENDING_SQL}`,
    // Next hops' verdicts, many in one statement (group-committed); ids unique within a batch.
    finalize: `WITH v AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::text[]) AS v(id, state, at, error_code, cause)),
      u AS (
        UPDATE ${messages} m SET state = v.state, final_at = v.at, error_code = v.error_code, lease_owner = NULL, lease_until = 0
        FROM v
        WHERE m.id = ANY ($1::text[]) AND m.id = v.id AND m.${PENDING_SQL}
        RETURNING m.*, v.cause AS finalize_cause)
      ${ev('u', 'final_at', `CASE WHEN state = 'DELIVERED' THEN ${k(EventKind.DELIVERED)} ELSE ${k(EventKind.FAILED)} END`, `finalize_cause || ' state=' || state || ' error=' || error_code`)}
      SELECT * FROM u`,
    failPendingTo: `WITH u AS (
        UPDATE ${messages} m SET state = $3, final_at = $4, error_code = $5, lease_owner = NULL, lease_until = 0
        WHERE m.target = $1 AND m.dst_addr = $2 AND m.${PENDING_SQL} AND m.direction = 'mt'
          AND (m.lease_until <= $4 OR m.id = ANY ($6::text[]))
        RETURNING m.*)
      ${ev('u', '$4', k(EventKind.FAILED), `'destination refused'`)}
      SELECT * FROM u`,
    findPending: `SELECT * FROM ${messages}
      WHERE account = $1 AND dst_addr = $2 AND src_addr = $3 AND direction = 'mt' AND ${PENDING_SQL}
      ORDER BY submitted_at, id`,
    purge: `WITH d AS (SELECT id FROM ${messages} WHERE final_at < $1 LIMIT $2),
      e AS (DELETE FROM ${events} WHERE message_id IN (SELECT id FROM d)),
      m AS (DELETE FROM ${messages} WHERE id IN (SELECT id FROM d) RETURNING 1)
      SELECT count(*) AS n FROM m`,
  };
}

/**
 * The insert's parameters, one array a column (`unnest` makes them rows): next_attempt_at and
 * due_at are computed in SQL from schedule_at and the lease.
 */
class InsertColumns {
  readonly #id: string[] = [];
  readonly #direction: string[] = [];
  readonly #account: string[] = [];
  readonly #target: string[] = [];
  readonly #state: string[] = [];
  readonly #priority: number[] = [];
  readonly #submittedAt: number[] = [];
  readonly #scheduleAt: number[] = [];
  readonly #expiresAt: number[] = [];
  readonly #srcAddr: string[] = [];
  readonly #dstAddr: string[] = [];
  readonly #failover: (string | null)[] = [];
  readonly #body: Buffer[] = [];
  readonly #leaseOwner: (string | null)[] = [];
  readonly #leaseUntil: number[] = [];

  add(m: NewMessage): void {
    this.#id.push(m.id);
    this.#direction.push(m.direction);
    this.#account.push(m.account);
    this.#target.push(m.target);
    this.#state.push(initialState(m));
    this.#priority.push(m.priority);
    this.#submittedAt.push(m.submittedAt);
    this.#scheduleAt.push(m.scheduleAt);
    this.#expiresAt.push(m.expiresAt);
    this.#srcAddr.push(m.source.addr);
    this.#dstAddr.push(m.destination.addr);
    this.#failover.push(failoverColumn(m.failover));
    this.#body.push(encodeBody(m));
    this.#leaseOwner.push(m.lease?.owner ?? null);
    this.#leaseUntil.push(m.lease?.until ?? 0);
  }

  /** The parameters $1..$15 of the insert statement. */
  values(): Buffer[] {
    return [
      textArray(this.#id),
      textArray(this.#direction),
      textArray(this.#account),
      textArray(this.#target),
      textArray(this.#state),
      int4Array(this.#priority),
      int8Array(this.#submittedAt),
      int8Array(this.#scheduleAt),
      int8Array(this.#expiresAt),
      textArray(this.#srcAddr),
      textArray(this.#dstAddr),
      textArray(this.#failover),
      byteaArray(this.#body),
      textArray(this.#leaseOwner),
      int8Array(this.#leaseUntil),
    ];
  }
}

/** {@link Store} on PostgreSQL. Call {@link init} before use. */
export class PostgresStore implements Store, ConfigStore {
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #url: string | undefined;
  readonly #schema: string | undefined;
  readonly #events: boolean;
  readonly #channel: string;
  readonly #sql: Sql;
  /** Prepared-statement name prefix, unique per schema (names are per connection in pg). */
  readonly #tag: string;
  readonly #writer: GroupCommitter<readonly NewMessage[], undefined>;
  readonly #finals: GroupCommitter<FinalOutcome, boolean>;
  readonly #verdicts: GroupCommitter<Verdict, StoredMessage | undefined>;
  readonly #listeners = new Set<(target: string) => void>();
  readonly #configListeners = new Set<(topic: ConfigTopic) => void>();
  readonly #configChannel: string;
  readonly #schemaListeners = new Set<(version: number, known: number) => void>();
  readonly #schemaChannel: string;
  readonly #migrations: readonly PostgresMigration[];
  /** `SELECT max(version)` of this store's schema_version table. */
  readonly #versionSql: string;
  readonly #config: PostgresConfigTables;
  readonly #listenRetryMs: number;
  #listen: Promise<pg.Client | pg.PoolClient> | undefined;
  #listenTimer: NodeJS.Timeout | undefined;
  /** LISTEN connections given up (their heartbeat stops). */
  readonly #droppedListen = new WeakSet<pg.Client | pg.PoolClient>();
  #ready = false;
  /** Initialised and the schema not newer than the code: the one check of every write. */
  #writable = false;
  /** The schema version found newer than the code, once seen. */
  #newer: number | undefined;
  #closed = false;
  #turn = 0;
  #insertCalls = 0;
  #insertRows = 0;
  /** Rows inserted at which to check that the messages table has planner statistics. */
  #analyzeAt = ANALYZE_FIRST;

  constructor(options: PostgresStoreOptions) {
    if ('pool' in options) {
      this.#pool = options.pool;
      this.#ownsPool = false;
      this.#url = undefined;
    } else {
      const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
      this.#pool = new pg.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 10,
        // A half-open connection (a dropped NAT entry, a failed-over address) ends within a minute.
        keepAlive: true,
        keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        ...(queryTimeoutMs > 0 ? { query_timeout: queryTimeoutMs } : {}),
      });
      // An idle client losing its connection must not crash the process; the next query
      // gets a fresh connection (and its error, if the server is gone).
      this.#pool.on('error', () => {});
      this.#ownsPool = true;
      this.#url = options.url;
    }
    this.#schema = options.schema;
    this.#events = options.events ?? true;
    this.#listenRetryMs = options.listenRetryMs ?? 1000;
    const q = (t: string) => (options.schema === undefined ? t : `${quoteIdent(options.schema)}.${t}`);
    this.#sql = buildSql(q('messages'), q('events'), this.#events);
    this.#tag = `smsc_${(hash32(`${options.schema ?? ''}|${this.#events}`) >>> 0).toString(36)}`;
    this.#channel = channelName('smsc_store_', options.schema);
    this.#configChannel = channelName('smsc_config_', options.schema);
    this.#schemaChannel = channelName('smsc_schema_', options.schema);
    this.#migrations = options.migrations ?? postgresMigrations;
    this.#versionSql = `SELECT max(version) AS v FROM ${q('schema_version')}`;
    this.#config = new PostgresConfigTables(this.#pool, this.#configChannel, q('accounts'), q('settings'));
    this.#writer = new GroupCommitter<readonly NewMessage[], undefined>({
      commit: (items) => this.#commitInserts(items),
      delayMs: options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS,
      maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
      maxInFlight: options.maxInFlight ?? 2,
    });
    // Delivery outcomes are the other hot write: batch them the same way. They carry the
    // receipts' inserts, which went with the insert batches (two at a time) before, so two go at
    // a time as well: esme-pg at window 100 x 4, 8,730-8,820 receipts/s with one, delivery p99
    // 2.0-2.6 s, against 11,505-12,121/s, p99 0.3-0.4 s with two (alternated pairs). The
    // outcomes of one message never travel together: its next attempt waits for the last one's.
    this.#finals = new GroupCommitter<FinalOutcome, boolean>({
      commit: (items) => this.#commitFinals(items),
      delayMs: options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS,
      maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
      maxInFlight: 2,
    });
    // Next hops' verdicts (an upstream SMSC's receipts) too: one at a time, each its own
    // transaction, they were about 1,600/s with fsync whatever the concurrency.
    this.#verdicts = new GroupCommitter<Verdict, StoredMessage | undefined>({
      commit: (items) => this.#commitVerdicts(items),
      delayMs: options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS,
      maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
      maxInFlight: 2,
    });
  }

  /** Creates the schema if needed and runs pending migrations under an advisory lock. */
  async init(): Promise<void> {
    if (this.#ready) return;
    await this.#migrationTransaction(async (client) => {
      // The lock comes first: concurrent CREATE SCHEMA IF NOT EXISTS can still collide.
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [MIGRATION_LOCK_CLASS, hash32(this.#schema ?? '')]);
      if (this.#schema !== undefined) {
        // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the right to create schemas even
        // when the schema is there, which a role given only its own schema does not have.
        const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.#schema]);
        if (found.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.#schema)}`);
        await client.query(`SET LOCAL search_path TO ${quoteIdent(this.#schema)}`);
      }
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const res = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
      const current = res.rows[0]?.v ?? 0;
      const known = this.#migrations.length;
      if (current > known) throw newerSchemaError(current, known);
      for (let v = current; v < known; v++) {
        const migration = this.#migrations[v]!;
        if (typeof migration === 'string') await client.query(migration);
        else await migration(client);
        await client.query('INSERT INTO schema_version (version) VALUES ($1)', [v + 1]);
      }
      // Delivered on commit: stores of older code listening on this schema find out (#checkSchema).
      if (current < known) await client.query('SELECT pg_notify($1, $2)', [this.#schemaChannel, String(known)]);
    });
    this.#ready = true;
    this.#writable = true;
  }

  /** Commits queued inserts, stops listening and ends the pool if the store created it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#writer.close(), this.#finals.close(), this.#verdicts.close()]);
    if (this.#listenTimer !== undefined) clearTimeout(this.#listenTimer);
    const listen = this.#listen;
    this.#listen = undefined;
    if (listen !== undefined) {
      const client = await listen.catch(() => undefined);
      if (client !== undefined) await this.#dropListenClient(client);
    }
    if (this.#ownsPool) await this.#pool.end();
  }

  /** Counters for metrics. */
  stats(): StoreStats {
    const w = this.#writer.stats();
    const f = this.#finals.stats();
    const v = this.#verdicts.stats();
    return {
      commitBatches: w.batches + f.batches + v.batches,
      commitCalls: w.calls + f.calls + v.calls,
      commitFailures: w.failures + f.failures + v.failures,
      insertCalls: this.#insertCalls,
      insertRows: this.#insertRows,
    };
  }

  async insert(msgs: readonly NewMessage[]): Promise<void> {
    this.#checkWritable();
    if (msgs.length === 0) return;
    await this.#writer.submit(msgs, msgs.length);
    this.#insertCalls++;
    this.#inserted(msgs.length);
  }

  /** Counts rows inserted (by inserts, and receipts with their outcomes) towards the first ANALYZE. */
  #inserted(rows: number): void {
    this.#insertRows += rows;
    if (this.#insertRows >= this.#analyzeAt) this.#analyzeIfNeverAnalyzed();
  }

  /**
   * Until autovacuum's first ANALYZE of a fresh messages table (it may take a minute), the
   * planner has no statistics and sorts the whole queue for every claim instead of reading the
   * due index (20-30 ms per claim at 20,000 queued, against 0.15 ms). So this store analyzes
   * the table itself after 1,000, 10,000 and 100,000 inserts, unless it was analyzed already.
   */
  #analyzeIfNeverAnalyzed(): void {
    this.#analyzeAt = this.#analyzeAt >= ANALYZE_LAST ? Number.POSITIVE_INFINITY : this.#analyzeAt * 10;
    const table = this.#sql.messages;
    void this.#pool
      .query<{ never: boolean }>(
        `SELECT last_analyze IS NULL AND last_autoanalyze IS NULL AS never FROM pg_stat_user_tables WHERE relid = $1::regclass`,
        [table],
      )
      .then((r) => (r.rows[0]?.never === true ? this.#pool.query(`ANALYZE ${table}`) : undefined))
      .catch(() => {});
  }

  async #commitInserts(batches: readonly (readonly NewMessage[])[]): Promise<Settled<undefined>[]> {
    // Queued before the schema was found newer, committed after: refused too.
    this.#checkWritable();
    const cols = new InsertColumns();
    for (const msgs of batches) for (const m of msgs) cols.add(m);
    await this.#pool.query({ name: `${this.#tag}_insert`, text: this.#sql.insert, values: [...cols.values(), this.#channel] });
    return batches.map(() => ({ ok: true, value: undefined }));
  }

  async claimDue(req: ClaimRequest): Promise<StoredMessage[]> {
    this.#checkWritable();
    checkClaim(req);
    if (req.targets.length === 0) return [];
    const accounts = await this.#pool.query<{ target: string; account: string }>({
      name: `${this.#tag}_accounts_of`,
      text: this.#sql.accountsOf,
      values: [[...new Set(req.targets)]],
    });
    const plan = new FairClaimPlan(
      accounts.rows.map((r) => unitKey(r.target, r.account)),
      req.limit,
      this.#turn++,
    );
    for (let quotas = plan.next(); quotas !== undefined; quotas = plan.next()) {
      plan.record(await this.#claimPass(quotas, req));
    }
    return plan.result();
  }

  async #claimPass(quotas: readonly Quota[], req: ClaimRequest): Promise<StoredMessage[]> {
    const res = await this.#pool.query<MessageRow>({
      name: `${this.#tag}_claim`,
      text: this.#sql.claim,
      values: [
        quotas.map(([u]) => unitParts(u)[0]),
        quotas.map(([, q]) => q),
        req.now,
        req.owner,
        req.now + req.leaseMs,
        quotas.map(([u]) => unitParts(u)[1]),
      ],
    });
    return res.rows.map(rowToMessage);
  }

  async markDelivered(id: string, at: number, owner: string, receipt?: NewMessage): Promise<boolean> {
    return this.#markFinal(id, MessageState.DELIVERED, at, 0, owner, receipt);
  }

  async markFailed(id: string, state: FailedState, at: number, errorCode: number, owner: string, receipt?: NewMessage): Promise<boolean> {
    checkFailedState(state);
    return this.#markFinal(id, state, at, errorCode, owner, receipt);
  }

  async #markFinal(id: string, state: string, at: number, errorCode: number, owner: string, receipt: NewMessage | undefined): Promise<boolean> {
    this.#checkWritable();
    return this.#finals.submit({ id, state, at, errorCode, owner, receipt });
  }

  /**
   * Commits a batch of final outcomes; an outcome's value is whether it applied. The receipts
   * they carry are inserted by the same statement, for the outcomes that applied.
   */
  async #commitFinals(items: readonly FinalOutcome[]): Promise<Settled<boolean>[]> {
    this.#checkWritable();
    const unique = new Set(items.map((i) => i.id));
    if (unique.size === items.length) {
      const applied = await this.#finalStatement(items);
      return items.map((i) => ({ ok: true, value: applied.has(i.id) }));
    }
    // The same message twice in one window (rare): an UPDATE ... FROM would apply only one
    // of them, arbitrarily. Apply them one at a time, in order, instead.
    const out: Settled<boolean>[] = [];
    for (const item of items) {
      try {
        out.push({ ok: true, value: (await this.#finalStatement([item])).has(item.id) });
      } catch (error) {
        out.push({ ok: false, error });
      }
    }
    return out;
  }

  async #finalStatement(items: readonly FinalOutcome[]): Promise<Set<string>> {
    // Unnamed, so PostgreSQL plans every batch for its own arrays. As a named statement it
    // went to a generic plan after five executions, which knows no array length (unnest() is
    // guessed at 10 rows); planned while the table was young, that plan was a nested loop
    // rescanning the unnest() once per updated row: O(n²) a batch, 0.34 s for 600 outcomes and
    // 0.56 s for 880 (auto_explain in the esme-pg benchmark at window 10). Planning costs under
    // a millisecond a batch.
    const values: unknown[] = [
      items.map((i) => i.id),
      items.map((i) => i.state),
      items.map((i) => i.at),
      items.map((i) => i.errorCode),
      items.map((i) => i.owner),
    ];
    const receipts = new InsertColumns();
    const outcomeOf: string[] = [];
    for (const i of items) {
      if (i.receipt === undefined) continue;
      receipts.add(i.receipt);
      outcomeOf.push(i.id);
    }
    const withReceipts = outcomeOf.length > 0;
    if (withReceipts) values.push(...receipts.values(), textArray(outcomeOf), this.#channel);
    const res = await this.#pool.query<{ id: string | null }>({
      text: withReceipts ? this.#sql.markFinalReceipts : this.#sql.markFinal,
      values,
    });
    const applied = new Set<string>();
    for (const r of res.rows) if (r.id !== null) applied.add(r.id);
    if (withReceipts) this.#inserted(outcomeOf.filter((id) => applied.has(id)).length);
    return applied;
  }

  async retryLater(id: string, nextAttemptAt: number, errorCode: number, owner: string, at: number, receipt?: NewMessage): Promise<boolean> {
    this.#checkWritable();
    const values: unknown[] = [id, nextAttemptAt, errorCode, owner, this.#channel];
    if (this.#events) values.push(at, detail.retry(nextAttemptAt, errorCode, owner));
    const query = { name: `${this.#tag}_retry`, text: this.#sql.retry, values };
    if (receipt === undefined) return ((await this.#pool.query(query)).rowCount ?? 0) > 0;
    // With the receipt it owes (an intermediate notification), in one transaction.
    const inserted = await this.#transaction(async (client) => {
      if (((await client.query(query)).rowCount ?? 0) === 0) return undefined;
      return this.#insertReceiptsWith(client, [receipt]);
    });
    if (inserted === undefined) return false;
    this.#inserted(inserted);
    return true;
  }

  async release(ids: readonly string[], owner: string, at: number): Promise<number> {
    this.#checkWritable();
    if (ids.length === 0) return 0;
    const values: unknown[] = [ids, owner, this.#channel];
    if (this.#events) values.push(at);
    const res = await this.#pool.query<{ n: string }>({ name: `${this.#tag}_release`, text: this.#sql.release, values });
    return Number(res.rows[0]?.n ?? 0);
  }

  async reroute(id: string, target: string, failover: readonly string[], at: number, owner: string | null): Promise<boolean> {
    this.#checkWritable();
    const values: unknown[] = [id, target, failoverColumn(failover), owner, this.#channel];
    if (this.#events) values.push(at, detail.rerouted(target, failover));
    const res = await this.#pool.query({ name: `${this.#tag}_reroute`, text: this.#sql.reroute, values });
    return (res.rowCount ?? 0) > 0;
  }

  async failoverAll(target: string, at: number): Promise<Record<string, number>> {
    this.#checkWritable();
    const res = await this.#pool.query<{ target: string; n: string }>({
      name: `${this.#tag}_failover_all`,
      text: this.#sql.failoverAll,
      values: [target, at, this.#channel],
    });
    return Object.fromEntries(res.rows.map((r) => [r.target, Number(r.n)]));
  }

  async markForwarded(id: string, remoteId: string, until: number, owner: string, at: number): Promise<boolean> {
    this.#checkWritable();
    const values: unknown[] = [id, remoteId, until, owner];
    if (this.#events) values.push(at, detail.forwarded(remoteId, owner));
    const res = await this.#pool.query({ name: `${this.#tag}_forward`, text: this.#sql.forward, values });
    return (res.rowCount ?? 0) > 0;
  }

  async findForwarded(target: string, remoteId: string): Promise<StoredMessage | undefined> {
    this.#check();
    const res = await this.#pool.query<MessageRow>({
      name: `${this.#tag}_find_forwarded`,
      text: this.#sql.findForwarded,
      values: [target, remoteId],
    });
    const row = res.rows[0];
    return row === undefined ? undefined : rowToMessage(row);
  }

  async get(id: string): Promise<StoredMessage | undefined> {
    this.#check();
    const row = await this.#row(id);
    return row === undefined ? undefined : rowToMessage(row);
  }

  async getMany(ids: readonly string[]): Promise<StoredMessage[]> {
    this.#check();
    if (ids.length === 0) return [];
    const res = await this.#pool.query<MessageRow>({ name: `${this.#tag}_get_many`, text: this.#sql.getMany, values: [ids] });
    return res.rows.map(rowToMessage);
  }

  async #row(id: string): Promise<MessageRow | undefined> {
    return (await this.#pool.query<MessageRow>({ name: `${this.#tag}_get`, text: this.#sql.get, values: [id] })).rows[0];
  }

  async events(id: string): Promise<MessageEvent[]> {
    this.#check();
    if (!this.#events) return [];
    const row = await this.#row(id);
    if (row === undefined) return [];
    const res = await this.#pool.query<{ message_id: string; at: string; kind: string; detail: string }>({
      name: `${this.#tag}_events`,
      text: this.#sql.events,
      values: [id],
    });
    const logged = res.rows.map((r) => ({ messageId: r.message_id, at: Number(r.at), kind: r.kind, detail: r.detail }));
    return lifecycle(row, logged);
  }

  async findPending(q: PendingQuery): Promise<StoredMessage[]> {
    this.#check();
    const res = await this.#pool.query<MessageRow>({
      name: `${this.#tag}_find_pending`,
      text: this.#sql.findPending,
      values: [q.account, q.destinationAddr, q.sourceAddr],
    });
    return withServiceType(res.rows.map(rowToMessage), q.serviceType);
  }

  async cancel(id: string, at: number, receiptsBy?: string, heldBy: string | null = null): Promise<StoredMessage | undefined> {
    this.#checkWritable();
    const query = { name: `${this.#tag}_cancel`, text: this.#sql.cancel, values: [id, at, heldBy] };
    const ended = await this.#end(query, receiptsBy, MessageState.DELETED, at, 0);
    return ended[0];
  }

  async replace(id: string, changes: ReplaceChanges, at: number, heldBy: string | null = null): Promise<StoredMessage | undefined> {
    this.#checkWritable();
    return this.#transaction(async (client) => {
      // Lock the row, compute the new values (shared with SQLite), write them back.
      const cur = await client.query<MessageRow>(this.#sql.lockForReplace, [id]);
      const row = cur.rows[0];
      if (row === undefined || !isPendingState(row.state as string)) return undefined;
      const m = rowToMessage(row);
      if (!unsent(m, at, heldBy)) return undefined;
      const v = applyReplace(m, changes, at);
      const values: unknown[] = [id, replacedBody(m, v), v.scheduleAt, v.expiresAt, v.state, v.nextAttemptAt, v.dueAt, this.#channel];
      if (this.#events) values.push(at, detail.replaced(changedFields(changes)));
      const res = await client.query<MessageRow>(this.#sql.replace, values);
      return rowToMessage(res.rows[0]!);
    });
  }

  async expireDue(now: number, limit: number, receiptsBy?: string): Promise<StoredMessage[]> {
    this.#checkWritable();
    checkLimit(limit);
    const query = { name: `${this.#tag}_expire`, text: this.#sql.expire, values: [now, limit] };
    const ended = await this.#end(query, receiptsBy, MessageState.EXPIRED, now, 0);
    return ended.sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1));
  }

  /**
   * Runs `query`, a statement that ends messages in `state` and returns their rows, and with
   * `receiptsBy` inserts the receipts they owe in the same transaction.
   */
  async #end(
    query: pg.QueryConfig,
    receiptsBy: string | undefined,
    state: MessageStateName,
    at: number,
    errorCode: number,
  ): Promise<StoredMessage[]> {
    return this.#endMaking(query, receiptsBy === undefined ? undefined : (ended) => finalReceipts(ended, state, at, errorCode, receiptsBy));
  }

  /**
   * Runs `query`, a statement that ends messages and returns their rows, and with `receipts`
   * inserts the receipts it makes of them in the same transaction.
   */
  async #endMaking(query: pg.QueryConfig, receipts?: (ended: StoredMessage[]) => NewMessage[]): Promise<StoredMessage[]> {
    if (receipts === undefined) return (await this.#pool.query<MessageRow>(query)).rows.map(rowToMessage);
    const [ended, inserted] = await this.#transaction(async (client) => {
      const ended = (await client.query<MessageRow>(query)).rows.map(rowToMessage);
      return [ended, await this.#insertReceiptsWith(client, receipts(ended))] as const;
    });
    this.#inserted(inserted);
    return ended;
  }

  /** Inserts receipts on `client` (in its transaction), one already there kept; how many went in. */
  async #insertReceiptsWith(client: pg.ClientBase, made: readonly NewMessage[]): Promise<number> {
    if (made.length === 0) return 0;
    const cols = new InsertColumns();
    for (const m of made) cols.add(m);
    const res = await client.query<{ n: string }>({
      name: `${this.#tag}_insert_receipts`,
      text: this.#sql.insertReceipts,
      values: [...cols.values(), this.#channel],
    });
    return Number(res.rows[0]?.n ?? 0);
  }

  /** Runs `fn` in a transaction on a pooled connection: committed when it returns, rolled back when it throws. */
  async #transaction<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      return await inTransaction(client, fn, (error) => {
        broken = error;
      });
    } finally {
      client.release(broken);
    }
  }

  /**
   * {@link #transaction} for the migrations: on a connection of its own, without the pool's
   * query timeout (a migration of a big table may take minutes), when the store made the pool.
   */
  async #migrationTransaction<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    if (this.#url === undefined) return this.#transaction(fn);
    const client = ownConnection(this.#url);
    await client.connect();
    try {
      return await inTransaction(client, fn, () => {});
    } finally {
      await client.end().catch(() => {});
    }
  }

  async nextDueAt(targets: readonly string[]): Promise<number | undefined> {
    this.#check();
    if (targets.length === 0) return undefined;
    const res = await this.#pool.query<{ d: string | null }>({
      name: `${this.#tag}_next_due`,
      text: this.#sql.nextDue,
      values: [[...new Set(targets)]],
    });
    const d = res.rows[0]?.d;
    return d === null || d === undefined ? undefined : Number(d);
  }

  async countByState(): Promise<Record<MessageStateName, number>> {
    this.#check();
    const out = Object.fromEntries(Object.values(MessageState).map((s) => [s, 0])) as Record<MessageStateName, number>;
    const res = await this.#pool.query<{ state: MessageStateName; n: string }>(this.#sql.countByState);
    for (const r of res.rows) out[r.state] = Number(r.n);
    return out;
  }

  async queueDepth(): Promise<Record<string, number>> {
    this.#check();
    const out: Record<string, number> = {};
    const res = await this.#pool.query<{ target: string; n: string }>(this.#sql.queueDepth);
    for (const r of res.rows) out[r.target] = Number(r.n);
    return out;
  }

  async queueDepthByAccount(): Promise<Record<string, number>> {
    this.#check();
    const out: Record<string, number> = {};
    const res = await this.#pool.query<{ account: string; n: string }>(this.#sql.queueDepthByAccount);
    for (const r of res.rows) out[r.account] = Number(r.n);
    return out;
  }

  async finalize(
    id: string,
    state: Exclude<MessageStateName, PendingState>,
    at: number,
    errorCode: number,
    receiptsBy?: string,
    cause: FinalizeCause = 'upstream',
  ): Promise<StoredMessage | undefined> {
    this.#checkWritable();
    return this.#verdicts.submit({ id, state, at, errorCode, receiptsBy, cause });
  }

  /**
   * Commits a batch of verdicts in one transaction: the messages they end, and the receipts
   * those owe. A message named twice in one batch (a receipt resent at once) is ended by the
   * first; the second finds it final, as it would one batch later.
   */
  async #commitVerdicts(items: readonly Verdict[]): Promise<Settled<StoredMessage | undefined>[]> {
    this.#checkWritable();
    const first = new Map<string, Verdict>();
    for (const v of items) if (!first.has(v.id)) first.set(v.id, v);
    const unique = [...first.values()];
    // Unnamed, as the outcome batches: planned for each batch's arrays (see #finalStatement).
    const query = {
      text: this.#sql.finalize,
      values: [unique.map((v) => v.id), unique.map((v) => v.state), unique.map((v) => v.at), unique.map((v) => v.errorCode), unique.map((v) => v.cause)],
    };
    // Each ended message's receipt from its own verdict (state, time, error, receiptsBy).
    const receipts = unique.some((v) => v.receiptsBy !== undefined)
      ? (ended: StoredMessage[]) =>
          ended.flatMap((m) => {
            const v = first.get(m.id)!;
            return v.receiptsBy === undefined ? [] : finalReceipts([m], v.state, v.at, v.errorCode, v.receiptsBy);
          })
      : undefined;
    const ended = new Map((await this.#endMaking(query, receipts)).map((m) => [m.id, m]));
    // Only the first of a message's verdicts in the batch ended it.
    return items.map((v) => ({ ok: true, value: first.get(v.id) === v ? ended.get(v.id) : undefined }));
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
    this.#checkWritable();
    checkFailedState(state);
    const query = {
      name: `${this.#tag}_fail_pending_to`,
      text: this.#sql.failPendingTo,
      values: [target, destinationAddr, state, at, errorCode, heldIds],
    };
    return this.#end(query, receiptsBy, state, at, errorCode);
  }

  async leasedTo(owner: string): Promise<string[]> {
    this.#check();
    const res = await this.#pool.query<{ id: string }>({ name: `${this.#tag}_leased_to`, text: this.#sql.leasedTo, values: [owner] });
    return res.rows.map((r) => r.id);
  }

  async leaseHolders(): Promise<string[]> {
    this.#check();
    const res = await this.#pool.query<{ lease_owner: string }>({ name: `${this.#tag}_lease_holders`, text: this.#sql.leaseHolders });
    return res.rows.map((r) => r.lease_owner);
  }

  async pendingCount(account: string): Promise<number> {
    this.#check();
    const res = await this.#pool.query<{ n: string }>({ name: `${this.#tag}_pending_count`, text: this.#sql.pendingCount, values: [account] });
    return Number(res.rows[0]?.n ?? 0);
  }

  async purgeFinished(before: number): Promise<number> {
    this.#checkWritable();
    let total = 0;
    for (;;) {
      // Chunked, one statement (= transaction) per chunk, so a big purge never holds locks long.
      const res = await this.#pool.query<{ n: string }>({ name: `${this.#tag}_purge`, text: this.#sql.purge, values: [before, PURGE_CHUNK] });
      const n = Number(res.rows[0]?.n ?? 0);
      total += n;
      if (n < PURGE_CHUNK) return total;
    }
  }

  async find(q: FindQuery): Promise<StoredMessage[]> {
    this.#check();
    checkFind(q);
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown) => {
      values.push(value);
      where.push(clause(`$${values.length}`));
    };
    if (q.account !== undefined) add((p) => `account = ${p}`, q.account);
    if (q.addr !== undefined) add((p) => `(src_addr = ${p} OR dst_addr = ${p})`, q.addr);
    if (q.state !== undefined) add((p) => `state = ${p}`, q.state);
    if (q.from !== undefined) add((p) => `submitted_at >= ${p}`, q.from);
    if (q.to !== undefined) add((p) => `submitted_at < ${p}`, q.to);
    if (q.target !== undefined) add((p) => `target = ${p}`, q.target);
    values.push(q.limit);
    const text = `SELECT * FROM ${this.#sql.messages}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY submitted_at DESC, id DESC LIMIT $${values.length}`;
    const res = await this.#pool.query<MessageRow>(text, values);
    return res.rows.map(rowToMessage);
  }

  // ---- run-time configuration (ConfigStore) -------------------------------------------------

  listAccounts(): Promise<StoredAccount[]> {
    this.#check();
    return this.#config.list();
  }
  getAccount(systemId: string): Promise<StoredAccount | undefined> {
    this.#check();
    return this.#config.get(systemId);
  }
  async createAccount(account: StoredAccount): Promise<boolean> {
    this.#checkWritable();
    return this.#config.create(account);
  }
  async updateAccount(account: StoredAccount): Promise<boolean> {
    this.#checkWritable();
    return this.#config.update(account);
  }
  async deleteAccount(systemId: string): Promise<boolean> {
    this.#checkWritable();
    return this.#config.delete(systemId);
  }
  getSetting(key: string): Promise<string | undefined> {
    this.#check();
    return this.#config.getSetting(key);
  }
  async setSetting(key: string, value: string | null, at: number): Promise<void> {
    this.#checkWritable();
    return this.#config.setSetting(key, value, at);
  }
  onConfigChange(listener: (topic: ConfigTopic) => void): Promise<() => void> {
    return this.#subscribe(this.#configListeners, listener);
  }

  onNotify(listener: (target: string) => void): Promise<() => void> {
    return this.#subscribe(this.#listeners, listener);
  }

  /**
   * Calls `listener(version, known)` once when the database turns out to be migrated past this
   * code (`known` migrations): another process with newer code ran init() on it. From then on
   * every write and claim rejects, naming both versions; reads still work. Heard through
   * LISTEN (whichever listener keeps the connection up, this one does), and checked again each
   * time that connection is established, since a notification sent while it was down is lost.
   * A listener added after the fact is called at once. Resolves once listening; the result
   * unsubscribes.
   */
  async onSchemaNewer(listener: (version: number, known: number) => void): Promise<() => void> {
    const already = this.#newer;
    const off = await this.#subscribe(this.#schemaListeners, listener);
    if (already !== undefined) listener(already, this.#migrations.length);
    return off;
  }

  /**
   * Reads the schema version on the LISTEN connection (no pool slot needed); past the code's,
   * the store refuses writes from now on and tells its listeners.
   */
  async #checkSchema(client: pg.Client | pg.PoolClient): Promise<void> {
    if (this.#newer !== undefined || this.#closed) return;
    let version: number;
    try {
      version = (await client.query<{ v: number | null }>(this.#versionSql)).rows[0]?.v ?? 0;
    } catch {
      return; // The connection is lost: once re-established, it checks again.
    }
    const known = this.#migrations.length;
    if (version <= known || this.#newer !== undefined) return;
    this.#newer = version;
    this.#writable = false;
    // Not from here: a listener's error must not fail the LISTEN connection being set up.
    for (const l of this.#schemaListeners) queueMicrotask(() => l(version, known));
  }

  /** Adds a listener once LISTEN is up (all channels share the connection); the result removes it. */
  async #subscribe<L>(set: Set<L>, listener: L): Promise<() => void> {
    this.#check();
    // After close() a LISTEN connection would be opened and never closed.
    if (this.#closed) throw new Error('PostgresStore: closed');
    set.add(listener);
    try {
      await this.#ensureListening();
    } catch (error) {
      set.delete(listener);
      throw error;
    }
    return () => {
      set.delete(listener);
    };
  }

  #ensureListening(): Promise<pg.Client | pg.PoolClient> {
    if (this.#listen === undefined) {
      const p = this.#connectListener();
      this.#listen = p;
      p.catch(() => {
        if (this.#listen === p) this.#listen = undefined;
      });
    }
    return this.#listen;
  }

  async #connectListener(): Promise<pg.Client | pg.PoolClient> {
    let client: pg.Client | pg.PoolClient;
    if (this.#url !== undefined) {
      // A connection of its own, so a long-lived LISTEN never holds a pool slot.
      // keepAlive: a half-open connection (an idle NAT entry dropped) must end, or no NOTIFY ever comes again.
      // The first probe after 10 s idle: the OS default waits two hours, all notifications lost meanwhile.
      const own = ownConnection(this.#url);
      await own.connect();
      client = own;
    } else {
      client = await this.#pool.connect();
    }
    client.on('notification', (n) => {
      if (n.channel === this.#configChannel) {
        for (const l of this.#configListeners) tell(l, (n.payload ?? '*') as ConfigTopic);
        return;
      }
      if (n.channel === this.#schemaChannel) {
        void this.#checkSchema(client);
        return;
      }
      if (n.channel !== this.#channel) return;
      const target = n.payload ?? '';
      for (const l of this.#listeners) tell(l, target);
    });
    client.on('error', () => this.#onListenLost(client));
    client.on('end', () => this.#onListenLost(client));
    try {
      // A migration committed before this LISTEN (since init, or while a lost connection was
      // down) notified nobody, so the version is read right after it; later ones are heard.
      // Subscribing resolves once the version is known.
      await client.query(`LISTEN ${quoteIdent(this.#schemaChannel)}`);
      await this.#checkSchema(client);
      await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
      await client.query(`LISTEN ${quoteIdent(this.#configChannel)}`);
    } catch (error) {
      await this.#dropListenClient(client);
      throw error;
    }
    this.#heartbeat(client);
    return client;
  }

  /**
   * A query on the LISTEN connection every LISTEN_HEARTBEAT_MS, to be answered within
   * LISTEN_HEARTBEAT_TIMEOUT_MS: a silent connection (the database host gone, a NAT entry
   * dropped) would otherwise keep every notification from this node for the minutes TCP
   * keepalive takes, and a message stored by another node for an ESME bound here would wait
   * unseen. Unanswered, the connection is dropped and made again, and the listeners told to
   * look at everything ('*').
   */
  #heartbeat(client: pg.Client | pg.PoolClient): void {
    const beat = (): void => {
      if (this.#closed || this.#droppedListen.has(client)) return;
      let answered = false;
      const timer = setTimeout(() => {
        if (answered) return;
        // Its socket goes at once: ending it politely would wait on the silence too.
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        this.#onListenLost(client);
      }, LISTEN_HEARTBEAT_TIMEOUT_MS);
      timer.unref();
      client.query('SELECT 1').then(
        () => {
          answered = true;
          clearTimeout(timer);
          setTimeout(beat, LISTEN_HEARTBEAT_MS).unref();
        },
        () => {
          answered = true;
          clearTimeout(timer);
          this.#onListenLost(client);
        },
      );
    };
    setTimeout(beat, LISTEN_HEARTBEAT_MS).unref();
  }

  #onListenLost(client: pg.Client | pg.PoolClient): void {
    const current = this.#listen;
    if (this.#closed || current === undefined) return;
    void current.then(
      (c) => {
        if (c !== client) return;
        this.#listen = undefined;
        void this.#dropListenClient(client);
        this.#scheduleRelisten();
      },
      () => {},
    );
  }

  #scheduleRelisten(): void {
    if (this.#closed || this.#listenTimer !== undefined) return;
    this.#listenTimer = setTimeout(() => {
      this.#listenTimer = undefined;
      if (this.#closed || this.#listeners.size + this.#configListeners.size + this.#schemaListeners.size === 0) return;
      this.#ensureListening().then(
        () => {
          // Notifications sent while we were away are lost: tell listeners to re-check all.
          for (const l of this.#listeners) tell(l, '*');
          for (const l of this.#configListeners) tell(l, '*');
        },
        () => this.#scheduleRelisten(),
      );
    }, this.#listenRetryMs);
    this.#listenTimer.unref();
  }

  async #dropListenClient(client: pg.Client | pg.PoolClient): Promise<void> {
    this.#droppedListen.add(client);
    if ('release' in client) {
      try {
        client.release(true);
      } catch {
        // Already released.
      }
    } else {
      await client.end().catch(() => {});
    }
  }

  #check(): void {
    if (!this.#ready) throw new Error('PostgresStore: not initialised (call init())');
  }

  /** The check of every write and claim: one boolean while all is well. */
  #checkWritable(): void {
    if (this.#writable) return;
    if (this.#newer !== undefined) throw newerSchemaError(this.#newer, this.#migrations.length);
    this.#check();
  }
}

/**
 * A connection outside the pool (LISTEN, migrations, the cluster's locks), without its query
 * timeout: kept alive (the first probe after `keepAliveDelayMs` idle), and its errors surface
 * through the queries and its 'end', never unhandled.
 */
export function ownConnection(url: string, keepAliveDelayMs = KEEPALIVE_DELAY_MS): pg.Client {
  const client = new pg.Client({ connectionString: url, keepAlive: true, keepAliveInitialDelayMillis: keepAliveDelayMs, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => {});
  return client;
}

/**
 * `fn` in a transaction on `client`: committed when it returns, rolled back when it throws. A
 * connection that cannot roll back is told to `broken`, for the pool to discard rather than
 * hand it to the next caller.
 */
async function inTransaction<T>(client: pg.ClientBase, fn: (client: pg.ClientBase) => Promise<T>, broken: (error: Error) => void): Promise<T> {
  await client.query('BEGIN');
  try {
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (error) {
    // A query that timed out is still running on the connection: a ROLLBACK would queue
    // behind it and time out too. The connection is dropped instead (the server rolls back).
    if (error instanceof Error && error.message === QUERY_TIMEOUT_MESSAGE) {
      broken(error);
      throw error;
    }
    const failed = await rollback(client);
    if (failed !== undefined) broken(failed);
    throw error;
  }
}

/** What node-postgres says of a query past its query_timeout. */
const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

/** Rolls back `client`'s transaction; the error when that failed too. */
async function rollback(client: pg.ClientBase): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
