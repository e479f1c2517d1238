/**
 * Runs the store contract against {@link PostgresStore}: each test gets its own database on
 * one PostgreSQL server (embedded, or `SMSC_TEST_PG_URL`). Plus PostgreSQL specifics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CLAIM_ORDER, channelName, LISTEN_HEARTBEAT_MS, LISTEN_HEARTBEAT_TIMEOUT_MS, PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { withTimeout } from '../support/async.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';
import { makeMessage, storeContract } from './store-contract.js';

// Held for the whole file so the shared server is not restarted between tests.
let anchor: TestPostgres | undefined;
const hooks = {
  before: async () => {
    anchor ??= await startTestPostgres();
  },
  after: async () => {},
};
after(async () => {
  await anchor?.stop();
});

storeContract(
  'postgres',
  async () => {
    const db = await startTestPostgres();
    return {
      open: (options) => new PostgresStore({ url: db.url, poolSize: 4, ...options }),
      dispose: () => db.stop(),
    };
  },
  hooks,
);

async function withDb(fn: (db: TestPostgres) => Promise<void>): Promise<void> {
  const db = await startTestPostgres();
  try {
    await fn(db);
  } finally {
    await db.stop();
  }
}

describe('postgres store specifics', () => {
  before(hooks.before);

  test('a query not answered within queryTimeoutMs fails, and the store works again once the database answers', () =>
    withDb(async (db) => {
      const store = new PostgresStore({ url: db.url, poolSize: 3, queryTimeoutMs: 300 });
      const locker = new pg.Client({ connectionString: db.url });
      try {
        await store.init();
        const m = makeMessage();
        await store.insert([m]);
        // A table nobody can read stands for a database that stopped answering.
        await locker.connect();
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
        await assert.rejects(store.get(m.id), /timeout/i);
        await assert.rejects(store.insert([makeMessage()]), /timeout/i);
        // In a transaction too (a cancel with the receipt it owes): its connection is dropped.
        await assert.rejects(store.cancel(m.id, Date.now(), 'n1'), /timeout/i);
        await locker.query('ROLLBACK');
        // The timed-out connections were dropped, not handed to the next query.
        assert.equal((await store.get(m.id))?.id, m.id);
        const later = makeMessage();
        await store.insert([later]);
        assert.equal((await store.get(later.id))?.id, later.id);
      } finally {
        await locker.end().catch(() => {});
        await store.close();
      }
    }));

  test('schema option: tables live in that schema, and two schemas are isolated', () =>
    withDb(async (db) => {
      const a = new PostgresStore({ url: db.url, schema: 'smsc_a' });
      const b = new PostgresStore({ url: db.url, schema: 'smsc_b' });
      const a2 = new PostgresStore({ url: db.url, schema: 'smsc_a' });
      try {
        await Promise.all([a.init(), b.init(), a2.init()]);
        const m = makeMessage();
        await a.insert([m]);
        assert.ok(await a2.get(m.id));
        assert.equal(await b.get(m.id), undefined);
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        const res = await c.query<{ table_schema: string }>(
          "SELECT table_schema FROM information_schema.tables WHERE table_name = 'messages' ORDER BY 1",
        );
        await c.end();
        assert.deepEqual(
          res.rows.map((r) => r.table_schema),
          ['smsc_a', 'smsc_b'],
        );
      } finally {
        await Promise.all([a.close(), b.close(), a2.close()]);
      }
    }));

  test('a schema whose name is long, non-ASCII or mixed case: inserts notify on a channel PostgreSQL takes', () =>
    withDb(async (db) => {
      // 28 characters of two octets: with the prefix, past the 63-octet limit of a channel's name.
      // The names of earlier versions wherever PostgreSQL takes them (nodes of both hear each other).
      assert.equal(channelName('smsc_store_', undefined), 'smsc_store_default');
      assert.equal(channelName('smsc_store_', 'Tenant-1'), 'smsc_store_tenant-1');
      const schema = `smsc_${'ü'.repeat(28)}`;
      assert.match(channelName('smsc_store_', schema), /^smsc_store_h[0-9a-z]+$/);
      const s = new PostgresStore({ url: db.url, schema });
      const t = new PostgresStore({ url: db.url, schema: 'Smsc_Mixed' });
      try {
        await Promise.all([s.init(), t.init()]);
        for (const store of [s, t]) {
          let told: (target: string) => void = () => {};
          const heard = new Promise<string>((resolve) => {
            told = resolve;
          });
          await store.onNotify((target) => told(target));
          await store.insert([makeMessage({ target: 'told' })]);
          assert.equal(await heard, 'told');
        }
      } finally {
        await Promise.all([s.close(), t.close()]);
      }
    }));

  test('a claim reads its rows off the due index in claim order: no sort of the whole queue', () =>
    withDb(async (db) => {
      const s = new PostgresStore({ url: db.url });
      await s.init();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        for (let i = 0; i < 5; i++) await s.insert(Array.from({ length: 1000 }, () => makeMessage()));
        await c.query('ANALYZE messages');
        const m = makeMessage();
        const plan = await c.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT s.id FROM messages s
            WHERE s.target = $1 AND s.account = $2 AND s.state IN ('SCHEDULED', 'ENROUTE') AND s.due_at <= $3 AND s.expires_at > $3
            ORDER BY ${CLAIM_ORDER} LIMIT 10`,
          [m.target, m.account, m.scheduleAt + 1],
        );
        const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
        assert.match(text, /messages_due/, text);
        assert.doesNotMatch(text, /Sort|Seq Scan/, text);
      } finally {
        await c.end();
        await s.close();
      }
    }));

  // A cached generic plan knows neither batch size: on a young table PostgreSQL chose a nested
  // loop that rescans the unnest() once per updated row, O(n²) per batch (0.7 s of PostgreSQL
  // CPU per 1,000 messages at window 10 in the esme-pg benchmark). Each batch must be planned
  // for its own arrays. (pg_prepared_statements counts generic plans since PostgreSQL 14.)
  test('final outcomes are never run on a generic plan: each batch is planned for its own size', () =>
    withDb(async (db) => {
      // One connection, so the store's prepared statements are the ones this test reads.
      const pool = new pg.Pool({ connectionString: db.url, max: 1 });
      const s = new PostgresStore({ pool });
      try {
        await s.init();
        const msgs = Array.from({ length: 60 }, () => makeMessage());
        await s.insert(msgs);
        const now = msgs[0]!.scheduleAt + 1;
        const claimed = await s.claimDue({ targets: [msgs[0]!.target], limit: 60, now, owner: 'o', leaseMs: 60_000 });
        assert.equal(claimed.length, 60);
        // More batches than PostgreSQL's five custom plans before it considers a generic one.
        for (let i = 0; i < 60; i += 5) {
          const done = await Promise.all(claimed.slice(i, i + 5).map((m) => s.markDelivered(m.id, now, 'o')));
          assert.deepEqual(done, [true, true, true, true, true]);
        }
        const res = await pool.query<{ statement: string; generic_plans: string }>(
          `SELECT statement, generic_plans FROM pg_prepared_statements WHERE generic_plans > 0 AND statement LIKE '%unnest%'`,
        );
        const joins = res.rows.filter((r) => /UPDATE[\s\S]*FROM v\b/.test(r.statement));
        assert.deepEqual(joins, []);
      } finally {
        await s.close();
        await pool.end();
      }
    }));

  test('a never-analyzed messages table is analyzed by the store after its first 1,000 inserts', () =>
    withDb(async (db) => {
      const s = new PostgresStore({ url: db.url });
      await s.init();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const analyzed = async () =>
        (await c.query<{ a: boolean }>("SELECT last_analyze IS NOT NULL AS a FROM pg_stat_user_tables WHERE relname = 'messages'")).rows[0]?.a;
      try {
        await s.insert(Array.from({ length: 999 }, () => makeMessage()));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(await analyzed(), false, 'not before');
        await s.insert([makeMessage()]);
        for (let i = 0; i < 250 && !(await analyzed()); i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(await analyzed(), true);
      } finally {
        await c.end();
        await s.close();
      }
    }));

  test('the happy path logs no event rows: a hand-over and its outcome are read off the row (schema v7)', () =>
    withDb(async (db) => {
      const s = new PostgresStore({ url: db.url });
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await s.init();
        const m = makeMessage({ target: 'direct', lease: { owner: 'n1', until: Date.now() + 60_000 } });
        await s.insert([m]);
        assert.equal(await s.markDelivered(m.id, m.submittedAt + 5, 'n1'), true);
        assert.deepEqual(
          (await s.events(m.id)).map((e) => [e.kind, e.at, e.detail]),
          [
            ['accepted', m.submittedAt, 'target=direct'],
            ['attempt', m.submittedAt, 'owner=n1 attempt=1'],
            ['delivered', m.submittedAt + 5, 'owner=n1'],
          ],
        );
        const rows = await c.query('SELECT count(*)::int AS n FROM events WHERE message_id = $1', [m.id]);
        assert.deepEqual(rows.rows, [{ n: 0 }], 'nothing written to the log');
      } finally {
        await c.end();
        await s.close();
      }
    }));

  test('a caller-supplied pool is used and left open by close()', () =>
    withDb(async (db) => {
      const pool = new pg.Pool({ connectionString: db.url, max: 3 });
      try {
        const s = new PostgresStore({ pool });
        await s.init();
        const m = makeMessage();
        await s.insert([m]);
        const heard = new Promise<string>((resolve) => {
          void s.onNotify(resolve);
        });
        await s.insert([makeMessage({ target: 'via-pool' })]);
        assert.equal(await heard, 'via-pool');
        await s.close();
        const res = await pool.query<{ n: string }>('SELECT count(*) AS n FROM messages');
        assert.equal(Number(res.rows[0]?.n), 2);
      } finally {
        await pool.end();
      }
    }));

  test('a lost LISTEN connection is re-established and listeners are told to re-check (*)', () =>
    withDb(async (db) => {
      const s = new PostgresStore({ url: db.url, listenRetryMs: 10 });
      await s.init();
      try {
        const seen: string[] = [];
        let wake: ((t: string) => void) | undefined;
        await s.onNotify((t) => {
          seen.push(t);
          wake?.(t);
        });
        const next = (want: string) =>
          new Promise<void>((resolve) => {
            wake = (t) => {
              if (t === want) resolve();
            };
          });
        const star = next('*');
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        const killed = await c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        );
        await c.end();
        assert.equal(killed.rowCount, 1);
        await star;
        const again = next('after-reconnect');
        await s.insert([makeMessage({ target: 'after-reconnect' })]);
        await again;
      } finally {
        await s.close();
      }
    }));

  test(
    'a LISTEN connection that falls silent (its backend stopped) is noticed by its heartbeat, made again, and listeners told to re-check (*)',
    // It stops the backend by its pid: only a server on this machine, the embedded one.
    { timeout: 30_000, skip: process.env['SMSC_TEST_PG_URL'] !== undefined ? 'SIGSTOPs a backend: embedded PostgreSQL only' : false },
    () =>
    withDb(async (db) => {
      const s = new PostgresStore({ url: db.url, listenRetryMs: 10 });
      await s.init();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      let stopped: number | undefined;
      try {
        let wake: ((t: string) => void) | undefined;
        await s.onNotify((t) => wake?.(t));
        const star = new Promise<void>((resolve) => {
          wake = (t) => t === '*' && resolve();
        });
        const found = await c.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        );
        assert.equal(found.rowCount, 1);
        stopped = found.rows[0]!.pid;
        // Silent, not closed: no error and no end reach the client (a host gone, a NAT entry dropped).
        process.kill(stopped, 'SIGSTOP');
        const t0 = Date.now();
        await withTimeout(star, LISTEN_HEARTBEAT_MS + LISTEN_HEARTBEAT_TIMEOUT_MS + 5000, 'listeners told to re-check');
        assert.ok(Date.now() - t0 >= LISTEN_HEARTBEAT_TIMEOUT_MS, 'not before a heartbeat went unanswered');
        const heard = new Promise<void>((resolve) => {
          wake = (t) => t === 'after-silence' && resolve();
        });
        await s.insert([makeMessage({ target: 'after-silence' })]);
        await withTimeout(heard, 5000, 'notifications heard on the new connection');
      } finally {
        if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
        await c.end();
        await s.close();
      }
    }),
  );

  test('a role that owns its schema but may not create schemas can init; a throwing listener harms no other', () =>
    withDb(async (db) => {
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        await admin.query("CREATE ROLE smsc_limited LOGIN PASSWORD 'limited'");
        await admin.query('CREATE SCHEMA smsc_own AUTHORIZATION smsc_limited');
        await admin.query('REVOKE CREATE ON DATABASE ' + (await admin.query('SELECT current_database() AS d')).rows[0].d + ' FROM PUBLIC');
      } finally {
        await admin.end();
      }
      const url = new URL(db.url);
      url.username = 'smsc_limited';
      url.password = 'limited';
      const s = new PostgresStore({ url: url.toString(), schema: 'smsc_own' });
      await s.init();
      try {
        const heard: string[] = [];
        await s.onNotify(() => {
          throw new Error('a listener with a bug');
        });
        await s.onNotify((t) => heard.push(t));
        await s.insert([makeMessage({ target: 'esme:heard' })]);
        for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(heard, ['esme:heard']);
      } finally {
        await s.close();
      }
      await assert.rejects(s.onNotify(() => {}), /closed/, 'no LISTEN connection opened after close()');
    }));

  test('init refuses a schema newer than the code', () =>
    withDb(async (db) => {
      const s = new PostgresStore({ url: db.url });
      await s.init();
      await s.close();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query('INSERT INTO schema_version (version) VALUES (99)');
      await c.end();
      const t = new PostgresStore({ url: db.url });
      await assert.rejects(t.init(), /newer than this code/);
      await t.close();
    }));
});
