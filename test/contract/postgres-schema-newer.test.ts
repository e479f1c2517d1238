/**
 * A running PostgresStore whose database another process migrates past its code: it hears the
 * migration (NOTIFY on its schema channel, or the version read again when its LISTEN connection
 * comes back), tells its onSchemaNewer listeners and refuses every write and claim from then on,
 * while the store of the newer code works. A store whose code is current never reports.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { postgresMigrations } from '../../src/store/migrations/postgres.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';
import { until } from '../support/until.js';
import { makeMessage } from './store-contract.js';

/** The migrations of this code, and of a newer code with one more (trivial) migration. */
const KNOWN = postgresMigrations.length;
const NEWER_CODE = [...postgresMigrations, 'CREATE TABLE schema_test_probe (x integer)'];
const REFUSED = new RegExp(`database schema version ${KNOWN + 1} is newer than this code \\(${KNOWN}\\)`);
/** Finds the backend of a store's LISTEN connection (its last statement is a LISTEN). */
const LISTEN_BACKENDS = `SELECT pid FROM pg_stat_activity
  WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`;

// Held for the whole file so the shared server is not restarted between tests.
let anchor: TestPostgres | undefined;
before(async () => {
  anchor = await startTestPostgres();
});
after(async () => {
  await anchor?.stop();
});

async function withDb(fn: (db: TestPostgres, sql: pg.Client) => Promise<void>): Promise<void> {
  const db = await startTestPostgres();
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  try {
    await fn(db, sql);
  } finally {
    await sql.end();
    await db.stop();
  }
}

test('a store of older code hears a newer store migrate the database: it reports both versions and refuses writes and claims', () =>
  withDb(async (db, sql) => {
    const old = new PostgresStore({ url: db.url, commitDelayMs: 0 });
    const newer = new PostgresStore({ url: db.url, commitDelayMs: 0, migrations: NEWER_CODE });
    try {
      await old.init();
      const before = makeMessage({ target: 'net' });
      await old.insert([before]);
      const reports: [number, number][] = [];
      await old.onSchemaNewer((version, known) => reports.push([version, known]));
      assert.deepEqual(reports, [], 'nothing to report while the code is current');

      await newer.init();
      await until(() => reports.length > 0, 'the old store to hear the migration');
      assert.deepEqual(reports, [[KNOWN + 1, KNOWN]]);

      const now = before.scheduleAt + 1;
      const claim = { targets: ['net'], limit: 10, now, owner: 'old', leaseMs: 60_000 };
      await assert.rejects(old.insert([makeMessage({ target: 'net' })]), REFUSED);
      await assert.rejects(old.claimDue(claim), REFUSED);
      await assert.rejects(old.markDelivered(before.id, now, 'old'), REFUSED);
      await assert.rejects(old.retryLater(before.id, now + 1000, 8, 'old', now), REFUSED);
      await assert.rejects(old.release([before.id], 'old', now), REFUSED);
      await assert.rejects(old.cancel(before.id, now), REFUSED);
      await assert.rejects(old.expireDue(now, 10), REFUSED);
      await assert.rejects(old.setSetting('routes', '[]', now), REFUSED);
      // Reads still answer (the admin API while the node stops).
      assert.equal((await old.get(before.id))?.id, before.id);

      // The newer code works on the same database, and nothing of the old store's got in.
      const claimed = await newer.claimDue({ ...claim, owner: 'newer' });
      assert.deepEqual(
        claimed.map((m) => m.id),
        [before.id],
      );
      assert.equal(await newer.markDelivered(before.id, now, 'newer'), true);
      await newer.insert([makeMessage({ target: 'net' })]);
      const rows = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM messages');
      assert.deepEqual(rows.rows, [{ n: 2 }]);

      // Reported once; a listener added afterwards hears it at once.
      const late: [number, number][] = [];
      await old.onSchemaNewer((version, known) => late.push([version, known]));
      assert.deepEqual(late, [[KNOWN + 1, KNOWN]]);
      assert.equal(reports.length, 1);
    } finally {
      await Promise.all([old.close(), newer.close()]);
    }
  }));

test('a migration while the LISTEN connection is down is found when it is re-established', () =>
  withDb(async (db, sql) => {
    // A retry long enough for the migration to commit while nobody listens.
    const old = new PostgresStore({ url: db.url, listenRetryMs: 1000 });
    const newer = new PostgresStore({ url: db.url, migrations: NEWER_CODE });
    try {
      await old.init();
      const reports: [number, number][] = [];
      await old.onSchemaNewer((version, known) => reports.push([version, known]));
      const killed = await sql.query(`SELECT pg_terminate_backend(pid) FROM (${LISTEN_BACKENDS}) l`);
      assert.equal(killed.rowCount, 1);
      await until(async () => (await sql.query(LISTEN_BACKENDS)).rowCount === 0, 'the LISTEN backend to be gone');

      await newer.init();
      assert.equal((await sql.query(LISTEN_BACKENDS)).rowCount, 0, 'the migration committed while nobody listened');
      await until(() => reports.length > 0, 'the old store to re-check on reconnecting');
      assert.deepEqual(reports, [[KNOWN + 1, KNOWN]]);
      await assert.rejects(old.insert([makeMessage()]), REFUSED);
    } finally {
      await Promise.all([old.close(), newer.close()]);
    }
  }));

test('a store whose code is current never reports: not when another node starts, not when LISTEN is re-established', () =>
  withDb(async (db, sql) => {
    const s = new PostgresStore({ url: db.url, commitDelayMs: 0, listenRetryMs: 10 });
    const peer = new PostgresStore({ url: db.url, commitDelayMs: 0 });
    try {
      await s.init();
      const reports: [number, number][] = [];
      await s.onSchemaNewer((version, known) => reports.push([version, known]));
      const heard: string[] = [];
      await s.onNotify((target) => heard.push(target));

      await peer.init();
      await peer.insert([makeMessage({ target: 'from-peer' })]);
      await until(() => heard.includes('from-peer'), 'the peer insert to be heard');

      // Re-established, the connection reads the version before its listeners are told '*'.
      await sql.query(`SELECT pg_terminate_backend(pid) FROM (${LISTEN_BACKENDS}) l`);
      await until(() => heard.includes('*'), 'the LISTEN connection to come back');

      assert.deepEqual(reports, []);
      await s.insert([makeMessage({ target: 'net' })]);
      assert.equal(await s.setSetting('routes', '[]', Date.now()), undefined);
    } finally {
      await Promise.all([s.close(), peer.close()]);
    }
  }));
