import { encodeBody } from '../body.js';
import { bodyColumns, PACKED_COLUMNS } from '../common.js';

/**
 * SQLite schema migrations, applied in order by `SqliteStore.init()`. Migration `i` (0-based)
 * brings the schema to version `i + 1`; the applied version is kept in `schema_version`.
 * Never edit a released migration: append a new one. A migration may call the SQL functions
 * of {@link sqliteMigrationFunctions}, which the runner registers first.
 *
 * Times are epoch-ms INTEGERs. `due_at` is derived and kept by the store: the time the row
 * next becomes claimable, max(schedule_at, next_attempt_at, lease_until). Keeping it as one
 * column lets a single index serve claimDue and nextDueAt. The pending-only partial indexes
 * stay small: a message leaves them when it reaches a final state.
 */
export const sqliteMigrations: readonly string[] = [
  `
CREATE TABLE messages (
  id                  TEXT PRIMARY KEY,
  direction           TEXT NOT NULL CHECK (direction IN ('mt', 'mo', 'receipt')),
  account             TEXT NOT NULL,
  target              TEXT NOT NULL,
  batch_id            TEXT,
  src_ton             INTEGER NOT NULL,
  src_npi             INTEGER NOT NULL,
  src_addr            TEXT NOT NULL,
  dst_ton             INTEGER NOT NULL,
  dst_npi             INTEGER NOT NULL,
  dst_addr            TEXT NOT NULL,
  service_type        TEXT NOT NULL,
  esm_class           INTEGER NOT NULL,
  protocol_id         INTEGER NOT NULL,
  priority            INTEGER NOT NULL,
  data_coding         INTEGER NOT NULL,
  registered_delivery INTEGER NOT NULL,
  payload             BLOB NOT NULL,
  payload_in_tlv      INTEGER NOT NULL,
  tlvs                BLOB,
  submitted_at        INTEGER NOT NULL,
  schedule_at         INTEGER NOT NULL,
  expires_at          INTEGER NOT NULL,
  receipt_for         TEXT,
  origin_node         TEXT,
  origin_session      TEXT,
  state               TEXT NOT NULL,
  attempts            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at     INTEGER NOT NULL,
  lease_owner         TEXT,
  lease_until         INTEGER NOT NULL DEFAULT 0,
  final_at            INTEGER,
  error_code          INTEGER NOT NULL DEFAULT 0,
  due_at              INTEGER NOT NULL
);
CREATE INDEX messages_due ON messages (target, due_at, priority DESC)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_expiry ON messages (expires_at)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_pending_addr ON messages (account, dst_addr)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_final ON messages (final_at) WHERE final_at IS NOT NULL;
CREATE TABLE events (
  seq        INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL,
  at         INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  detail     TEXT NOT NULL
);
CREATE INDEX events_message ON events (message_id);
`,
  // 2: failover connectors and the next hop's id travel with the message; claims are fair
  // between the accounts sending to one target, so the due index leads with (target, account).
  `
ALTER TABLE messages ADD COLUMN failover TEXT;
ALTER TABLE messages ADD COLUMN remote_id TEXT;
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (target, account, due_at, priority DESC)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_remote ON messages (target, remote_id)
  WHERE remote_id IS NOT NULL AND state IN ('SCHEDULED', 'ENROUTE');
`,
  // 3: run-time configuration (admin API): accounts created at run time and settings documents
  // (routes, disabled connectors). Lists are JSON arrays; NULL allowed_* = any.
  `
CREATE TABLE accounts (
  system_id            TEXT PRIMARY KEY,
  password_hash        TEXT NOT NULL,
  addresses            TEXT NOT NULL,
  allowed_ips          TEXT,
  allowed_system_types TEXT,
  max_binds            INTEGER NOT NULL,
  window_size          INTEGER NOT NULL,
  default_validity_s   INTEGER NOT NULL,
  max_validity_s       INTEGER NOT NULL,
  tps                  INTEGER NOT NULL DEFAULT 0,
  max_queued           INTEGER NOT NULL DEFAULT 0,
  disabled             INTEGER NOT NULL DEFAULT 0,
  updated_at           INTEGER NOT NULL
);
CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`,
  // 4: accounts made through the admin API may ask for MO reassembly too.
  `
ALTER TABLE accounts ADD COLUMN reassemble_mo INTEGER NOT NULL DEFAULT 0;
`,
  // 5: a lean row, cheaper to insert for the writer thread (docs/decisions.md). The fields
  // written at insert and only read back whole move into one `body` BLOB (store/body.ts); what
  // queries filter, order, index or update stays a column. Columns with defaults come last, so
  // an insert binds only what it knows. rowid is kept: it orders claims of equal due time. The
  // direction CHECK is spelt with OR: an IN list of three or more values makes SQLite build a
  // temporary table on every insert (about 2.5 µs a row); two or fewer are plain comparisons.
  `
CREATE TABLE messages_v5 (
  id              TEXT PRIMARY KEY,
  direction       TEXT NOT NULL CHECK (direction = 'mt' OR direction = 'mo' OR direction = 'receipt'),
  account         TEXT NOT NULL,
  target          TEXT NOT NULL,
  state           TEXT NOT NULL,
  priority        INTEGER NOT NULL,
  submitted_at    INTEGER NOT NULL,
  schedule_at     INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  due_at          INTEGER NOT NULL,
  src_addr        TEXT NOT NULL,
  dst_addr        TEXT NOT NULL,
  failover        TEXT,
  body            BLOB NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  lease_owner     TEXT,
  lease_until     INTEGER NOT NULL DEFAULT 0,
  final_at        INTEGER,
  error_code      INTEGER NOT NULL DEFAULT 0,
  remote_id       TEXT
);
INSERT INTO messages_v5 (rowid, id, direction, account, target, state, priority, submitted_at, schedule_at,
    expires_at, next_attempt_at, due_at, src_addr, dst_addr, failover, body, attempts, lease_owner, lease_until,
    final_at, error_code, remote_id)
  SELECT rowid, id, direction, account, target, state, priority, submitted_at, schedule_at,
    expires_at, next_attempt_at, due_at, src_addr, dst_addr, failover,
    smsc_message_body(${PACKED_COLUMNS.join(', ')}),
    attempts, lease_owner, lease_until, final_at, error_code, remote_id
  FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v5 RENAME TO messages;
CREATE INDEX messages_due ON messages (target, account, due_at, priority DESC)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_expiry ON messages (expires_at)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_pending_addr ON messages (account, dst_addr)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_final ON messages (final_at) WHERE final_at IS NOT NULL;
CREATE INDEX messages_remote ON messages (target, remote_id)
  WHERE remote_id IS NOT NULL AND state IN ('SCHEDULED', 'ENROUTE');
`,
  // 6: the happy path's lifecycle is read off the row, not logged (docs/decisions.md):
  // `handed_to` is the node a message was inserted leased to (its first attempt, at
  // submitted_at), `final_by` the lease holder whose delivered/failed outcome made it final.
  // Rows of earlier versions have both NULL and their events logged, so they read as before.
  `
ALTER TABLE messages ADD COLUMN handed_to TEXT;
ALTER TABLE messages ADD COLUMN final_by TEXT;
`,
  // 7: pending messages by (account, destination) are kept in memory by the store (store/sqlite/
  // pending-addresses.ts): with many destinations and a long queue this index dirtied a
  // different page with every insert, each one written to the WAL and fsynced (docs/decisions.md).
  `
DROP INDEX IF EXISTS messages_pending_addr;
`,
  // 8: accounts made through the admin API may have an outbind (JSON: host, port, password).
  `
ALTER TABLE accounts ADD COLUMN outbind TEXT;
`,
];

/**
 * SQL functions the migrations use (better-sqlite3 `db.function`), by name. Keep each one
 * computing what its migrations expect; add new names rather than change an old one's meaning.
 */
export const sqliteMigrationFunctions: Readonly<Record<string, (...args: unknown[]) => unknown>> = {
  /**
   * Migration 5: the `body` of a row from its old columns, passed in the order of
   * {@link PACKED_COLUMNS}. Written in the current body format, which the store always reads.
   */
  smsc_message_body: (...values: unknown[]): Buffer =>
    encodeBody(bodyColumns(Object.fromEntries(PACKED_COLUMNS.map((column, i) => [column, values[i]])))),
};
