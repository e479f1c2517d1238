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
export const postgresMigrations: readonly string[] = [
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
];
