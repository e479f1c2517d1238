import type pg from 'pg';
import { encodeBody } from '../body.js';
import { bodyColumns, type MessageRow, PACKED_COLUMNS } from '../common.js';
import { byteaArray, textArray } from '../postgres/binary-arrays.js';

/** A migration: SQL, or a function running its statements on the migrating connection. */
export type PostgresMigration = string | ((db: pg.ClientBase) => Promise<void>);

/** Rows migration 6 packs per statement. */
const V6_CHUNK = 1000;

/** The columns schema v6 keeps from v5, besides `body`. Never change: migration 6 uses it. */
const V6_KEPT_COLUMNS = `id, direction, account, target, state, priority, submitted_at, schedule_at, expires_at,
  next_attempt_at, due_at, src_addr, dst_addr, failover, attempts, lease_owner, lease_until, final_at, error_code, remote_id`;

/**
 * PostgreSQL schema migrations, applied in order by `PostgresStore.init()` inside one
 * transaction that holds an advisory lock, with `search_path` set to the store's schema (so
 * the SQL here is unqualified). Migration `i` (0-based) brings the schema to version `i + 1`.
 * Never edit a released migration: append a new one.
 *
 * Times are epoch-ms BIGINTs. `due_at` is derived and kept by the store: the time the row next
 * becomes claimable, max(schedule_at, next_attempt_at, lease_until), so one index serves both
 * claimDue and nextDueAt. Pending-only partial indexes stay small: rows leave them when final.
 */
export const postgresMigrations: readonly PostgresMigration[] = [
  `
CREATE TABLE messages (
  id                  text PRIMARY KEY,
  direction           text NOT NULL CHECK (direction IN ('mt', 'mo', 'receipt')),
  account             text NOT NULL,
  target              text NOT NULL,
  batch_id            text,
  src_ton             integer NOT NULL,
  src_npi             integer NOT NULL,
  src_addr            text NOT NULL,
  dst_ton             integer NOT NULL,
  dst_npi             integer NOT NULL,
  dst_addr            text NOT NULL,
  service_type        text NOT NULL,
  esm_class           integer NOT NULL,
  protocol_id         integer NOT NULL,
  priority            integer NOT NULL,
  data_coding         integer NOT NULL,
  registered_delivery integer NOT NULL,
  payload             bytea NOT NULL,
  payload_in_tlv      boolean NOT NULL,
  tlvs                bytea,
  submitted_at        bigint NOT NULL,
  schedule_at         bigint NOT NULL,
  expires_at          bigint NOT NULL,
  receipt_for         text,
  origin_node         text,
  origin_session      text,
  state               text NOT NULL,
  attempts            integer NOT NULL DEFAULT 0,
  next_attempt_at     bigint NOT NULL,
  lease_owner         text,
  lease_until         bigint NOT NULL DEFAULT 0,
  final_at            bigint,
  error_code          integer NOT NULL DEFAULT 0,
  due_at              bigint NOT NULL
);
CREATE INDEX messages_due ON messages (target, due_at, priority DESC)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_expiry ON messages (expires_at)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_pending_addr ON messages (account, dst_addr)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_final ON messages (final_at) WHERE final_at IS NOT NULL;
CREATE TABLE events (
  seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id text NOT NULL,
  at         bigint NOT NULL,
  kind       text NOT NULL,
  detail     text NOT NULL
);
CREATE INDEX events_message ON events (message_id, seq);
`,
  // 2: failover connectors and the next hop's id travel with the message; claims are fair
  // between the accounts sending to one target, so the due index leads with (target, account).
  `
ALTER TABLE messages ADD COLUMN failover text;
ALTER TABLE messages ADD COLUMN remote_id text;
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (target, account, due_at, priority DESC)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_remote ON messages (target, remote_id)
  WHERE remote_id IS NOT NULL AND state IN ('SCHEDULED', 'ENROUTE');
`,
  // 3: run-time configuration (admin API): accounts created at run time and settings documents
  // (routes, disabled connectors). NULL allowed_* = any.
  `
CREATE TABLE accounts (
  system_id            text PRIMARY KEY,
  password_hash        text NOT NULL,
  addresses            text[] NOT NULL,
  allowed_ips          text[],
  allowed_system_types text[],
  max_binds            integer NOT NULL,
  window_size          integer NOT NULL,
  default_validity_s   integer NOT NULL,
  max_validity_s       integer NOT NULL,
  tps                  integer NOT NULL DEFAULT 0,
  max_queued           integer NOT NULL DEFAULT 0,
  disabled             boolean NOT NULL DEFAULT false,
  updated_at           bigint NOT NULL
);
CREATE TABLE settings (
  key        text PRIMARY KEY,
  value      text NOT NULL,
  updated_at bigint NOT NULL
);
`,
  // 4: accounts made through the admin API may ask for MO reassembly too.
  `
ALTER TABLE accounts ADD COLUMN reassemble_mo boolean NOT NULL DEFAULT false;
`,
  // 5: the due index carries the claim's whole order (due time, priority, then id order, which
  // is insertion order for our ids), so a claim reads its LIMIT rows off the index. Without the
  // id the planner sorted every due row of the (target, account) for each claim: 20 ms per
  // claim with 20,000 queued, against 0.15 ms.
  `
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (target, account, due_at, priority DESC, length(id), id)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
`,
  // 6: a lean row, cheaper to insert (docs/decisions.md), like SQLite's schema v5: the fields
  // written at insert and only read back whole move into one `body` (store/body.ts); what
  // queries filter, order, index or update stays a column. The body format is packed in
  // TypeScript, so the rows are copied in chunks through a cursor into a new table, and the
  // indexes are built once the rows are in.
  async (db) => {
    await db.query(`
ALTER TABLE messages RENAME TO messages_v5;
ALTER INDEX messages_pkey RENAME TO messages_v5_pkey;
CREATE TABLE messages (
  id              text PRIMARY KEY,
  direction       text NOT NULL CHECK (direction IN ('mt', 'mo', 'receipt')),
  account         text NOT NULL,
  target          text NOT NULL,
  state           text NOT NULL,
  priority        integer NOT NULL,
  submitted_at    bigint NOT NULL,
  schedule_at     bigint NOT NULL,
  expires_at      bigint NOT NULL,
  next_attempt_at bigint NOT NULL,
  due_at          bigint NOT NULL,
  src_addr        text NOT NULL,
  dst_addr        text NOT NULL,
  failover        text,
  body            bytea NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  lease_owner     text,
  lease_until     bigint NOT NULL DEFAULT 0,
  final_at        bigint,
  error_code      integer NOT NULL DEFAULT 0,
  remote_id       text
);
DECLARE v5_rows NO SCROLL CURSOR FOR SELECT id, ${PACKED_COLUMNS.join(', ')} FROM messages_v5;`);
    let moved = 0;
    for (;;) {
      const chunk = await db.query<MessageRow>(`FETCH ${V6_CHUNK} FROM v5_rows`);
      if (chunk.rows.length === 0) break;
      moved += chunk.rows.length;
      await db.query(
        `INSERT INTO messages (${V6_KEPT_COLUMNS}, body)
        SELECT ${V6_KEPT_COLUMNS}, n.body FROM unnest($1::text[], $2::bytea[]) AS n(id, body) JOIN messages_v5 USING (id)`,
        [textArray(chunk.rows.map((r) => r.id as string)), byteaArray(chunk.rows.map((r) => encodeBody(bodyColumns(r))))],
      );
    }
    await db.query(`
CLOSE v5_rows;
DROP TABLE messages_v5;
CREATE INDEX messages_due ON messages (target, account, due_at, priority DESC, length(id), id)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_expiry ON messages (expires_at)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_pending_addr ON messages (account, dst_addr)
  WHERE state IN ('SCHEDULED', 'ENROUTE');
CREATE INDEX messages_final ON messages (final_at) WHERE final_at IS NOT NULL;
CREATE INDEX messages_remote ON messages (target, remote_id)
  WHERE remote_id IS NOT NULL AND state IN ('SCHEDULED', 'ENROUTE');
`);
    // The new table has no planner statistics: without them claims on a migrated backlog sort
    // it. (An empty one is left to the store, which analyzes after its first inserts.)
    if (moved > 0) await db.query('ANALYZE messages');
  },
  // 7: the happy path's lifecycle is read off the row, not logged, as in SQLite's schema v6:
  // `handed_to` is the node a message was inserted leased to (its first attempt), `final_by`
  // the lease holder whose delivered/failed outcome made it final. Older rows have both NULL
  // and their events logged.
  `
ALTER TABLE messages ADD COLUMN handed_to text;
ALTER TABLE messages ADD COLUMN final_by text;
`,
  // 8: accounts made through the admin API may have an outbind (JSON: host, port, password).
  `
ALTER TABLE accounts ADD COLUMN outbind text;
`,
];
