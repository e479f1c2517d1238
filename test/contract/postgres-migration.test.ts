/**
 * Schema v6 (the lean row, cold fields packed in `body`): a PostgreSQL database written at
 * schema v5 is migrated, and every message, lease and event reads back as it was, including
 * rows beyond the first chunk the migration packs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { postgresMigrations } from '../../src/store/migrations/postgres.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startTestPostgres } from '../support/pg.js';
import { assertMigrated, stored, T0, wideEvents, wideRow, wideRows } from './wide-rows.js';

/** Rows beyond the fixtures: more than two chunks of the migration (1,000 rows each). */
const BULK = 2500;

/** Writes schema v5 through its own migrations, then {@link wideRows}, {@link wideEvents} and BULK expired rows. */
async function writeV5(c: pg.Client): Promise<void> {
  await c.query('CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (let v = 0; v < 5; v++) {
    const migration = postgresMigrations[v];
    assert.equal(typeof migration, 'string');
    await c.query(migration as string);
    await c.query('INSERT INTO schema_version (version) VALUES ($1)', [v + 1]);
  }
  const columns = Object.keys(wideRow(stored({}), 0));
  const insert = `INSERT INTO messages (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
  for (const [m, dueAt] of wideRows) await c.query(insert, Object.values(wideRow(m, dueAt)));
  for (const e of wideEvents) {
    await c.query('INSERT INTO events (message_id, at, kind, detail) VALUES ($1, $2, $3, $4)', [e.messageId, e.at, e.kind, e.detail]);
  }
  await c.query(
    `INSERT INTO messages (id, direction, account, target, src_ton, src_npi, src_addr, dst_ton, dst_npi, dst_addr,
      service_type, esm_class, protocol_id, priority, data_coding, registered_delivery, payload, payload_in_tlv,
      submitted_at, schedule_at, expires_at, state, next_attempt_at, final_at, due_at)
    SELECT 'bulk-' || i, 'mt', 'bulk', 'net', 1, 1, '1000', 1, 1, '2000' || i, 'B', 0, 0, 0, 0, 0,
      convert_to('bulk ' || i, 'UTF8'), false, $1, $1, $1, 'EXPIRED', $1, $1, $1
    FROM generate_series(1, ${BULK}) i`,
    [T0 - 1000],
  );
}

test('a schema v5 PostgreSQL database is migrated to the lean row: every message, lease and event reads back the same', async () => {
  const db = await startTestPostgres();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await writeV5(c);
    const s = new PostgresStore({ url: db.url, commitDelayMs: 0 });
    try {
      await s.init();
      await assertMigrated(s);
      const bulk = await s.find({ account: 'bulk', limit: BULK + 1 });
      assert.equal(bulk.length, BULK);
      for (const m of bulk) {
        const i = m.id.slice('bulk-'.length);
        assert.deepEqual(
          [m.payload.toString(), m.destination.addr, m.serviceType, m.state, m.finalAt],
          [`bulk ${i}`, `2000${i}`, 'B', 'EXPIRED', T0 - 1000],
          m.id,
        );
      }
    } finally {
      await s.close();
    }

    const version = await c.query<{ v: number }>('SELECT max(version) AS v FROM schema_version');
    assert.equal(version.rows[0]?.v, postgresMigrations.length);
    await assert.rejects(
      c.query(`INSERT INTO messages (id, direction, account, target, state, priority, submitted_at, schedule_at, expires_at,
        next_attempt_at, due_at, src_addr, dst_addr, body) VALUES ('x', 'sms', 'a', 't', 'ENROUTE', 0, 0, 0, 0, 0, 0, '1', '2', '\\x00')`),
      /messages_direction_check/,
      'direction is still checked',
    );
    const columns = await c.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'messages'`,
    );
    const names = columns.rows.map((r) => r.column_name);
    assert.ok(names.includes('body') && !names.includes('payload'), names.join(','));
    const tables = await c.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`);
    assert.deepEqual(
      tables.rows.map((r) => r.tablename),
      ['accounts', 'events', 'messages', 'schema_version', 'settings'],
    );
    const indexes = await c.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'messages' ORDER BY 1`,
    );
    assert.deepEqual(
      indexes.rows.map((r) => r.indexname),
      ['messages_due', 'messages_expiry', 'messages_final', 'messages_pending_addr', 'messages_pkey', 'messages_remote'],
    );
    const stats = await c.query<{ analyzed: boolean }>(
      `SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relid = 'messages'::regclass`,
    );
    assert.deepEqual(stats.rows, [{ analyzed: true }], 'the migrated backlog has planner statistics');
  } finally {
    await c.end();
    await db.stop();
  }
});
