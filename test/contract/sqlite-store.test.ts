/** Runs the store contract against {@link SqliteStore} on a temp file, plus SQLite specifics. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { createStore } from '../../src/store/index.js';
import { sqliteMigrations } from '../../src/store/migrations/sqlite.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { makeMessage, storeContract } from './store-contract.js';

storeContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  const path = join(dir, 'store.db');
  return {
    open: (options) => new SqliteStore({ path, ...options }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('sqlite store specifics', () => {
  test('init called again while it opens waits for that open: one handle, which close releases', () =>
    withDir(async (dir) => {
      const path = join(dir, 'once.db');
      const handles = () => readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
        } catch {
          return false; // closed meanwhile
        }
      }).length;
      const s = new SqliteStore({ path, commitDelayMs: 0 });
      await Promise.all([s.init(), s.init(), s.init()]);
      assert.ok(handles() > 0);
      await s.close();
      assert.equal(handles(), 0, 'none left open');
    }));

  test('createStore builds a SQLite store from config', () =>
    withDir(async (dir) => {
      const s = createStore({ sqlite: { path: join(dir, 'f.db'), commitDelayMs: 0 } });
      assert.ok(s instanceof SqliteStore);
      await s.init();
      const m = makeMessage();
      await s.insert([m]);
      assert.equal((await s.get(m.id))?.id, m.id);
      await s.close();
    }));

  test('the file is in WAL mode at the latest schema version and refuses a newer schema', () =>
    withDir(async (dir) => {
      const path = join(dir, 'store.db');
      const s = new SqliteStore({ path });
      await s.init();
      await s.close();
      const db = new Database(path);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(
        db.prepare('SELECT version FROM schema_version ORDER BY version').all(),
        sqliteMigrations.map((_, i) => ({ version: i + 1 })),
      );
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, 0)').run();
      db.close();
      await assert.rejects(new SqliteStore({ path }).init(), /newer than this code/);
    }));

  test('pending messages by address (kept in memory) are right after a reopen, after another connection wrote, after a rolled-back call', () =>
    withDir(async (dir) => {
      const path = join(dir, 'store.db');
      const T0 = 1_700_000_000_000;
      const ids = async (s: SqliteStore, m: NewMessage) =>
        (await s.findPending({ account: m.account, destinationAddr: m.destination.addr, sourceAddr: m.source.addr })).map((x) => x.id).sort();
      const first = new SqliteStore({ path, commitDelayMs: 0 });
      await first.init();
      const m1 = makeMessage();
      const other = makeMessage({ destination: { ton: 1, npi: 1, addr: '447700900777' } });
      await first.insert([m1, other]);
      await first.close();

      // Reopened: rebuilt from the table.
      const b = new SqliteStore({ path, commitDelayMs: 0 });
      await b.init();
      const c = new SqliteStore({ path, commitDelayMs: 0 });
      await c.init();
      try {
        assert.deepEqual(await ids(b, m1), [m1.id]);
        assert.deepEqual(await ids(b, other), [other.id]);
        assert.deepEqual(await b.queueDepthByAccount(), { alice: 2 });

        // Another connection inserts one and cancels one: b sees both changes.
        const m2 = makeMessage();
        await c.insert([m2]);
        assert.deepEqual(await ids(b, m1), [m1.id, m2.id].sort());
        assert.ok(await c.cancel(m1.id, T0 + 1));
        assert.deepEqual(await ids(b, m1), [m2.id]);
        assert.deepEqual(await b.queueDepthByAccount(), { alice: 2 });
        assert.equal(await b.pendingCount('alice'), 2);

        // A call that fails (a duplicate id) rolls back the row it inserted first: not counted.
        await assert.rejects(b.insert([makeMessage(), { ...m2 }]));
        assert.deepEqual(await ids(b, m1), [m2.id]);
        assert.equal(await b.pendingCount('alice'), 2);

        // b's own writes: a new row counts, a final one leaves.
        const m3 = makeMessage({ account: 'carol' });
        await b.insert([m3]);
        assert.deepEqual(await ids(b, m3), [m3.id]);
        await b.finalize(m2.id, 'UNDELIVERABLE', T0 + 2, 1);
        await b.cancel(other.id, T0 + 2);
        assert.deepEqual(await ids(b, m1), []);
        assert.deepEqual(await b.queueDepthByAccount(), { carol: 1 });
        assert.equal(await b.pendingCount('alice'), 0);
      } finally {
        await b.close();
        await c.close();
      }
    }));

  test('a full disk in the middle of a batch fails the batch whole: no call commits outside it, nothing is miscounted', () =>
    withDir(async (dir) => {
      // The store's own connection, caught as it prepares its statements, to cap the file's size.
      let db: Database.Database | undefined;
      const prepare = Database.prototype.prepare;
      Database.prototype.prepare = function (this: Database.Database, ...args: Parameters<typeof prepare>) {
        db = this;
        return prepare.apply(this, args);
      } as typeof prepare;
      const s = new SqliteStore({ path: join(dir, 'store.db'), commitDelayMs: 0 });
      try {
        await s.init();
        Database.prototype.prepare = prepare;
        await s.insert([makeMessage()]);
        assert.equal(await s.pendingCount('alice'), 1);
        const pages = db!.pragma('page_count', { simple: true }) as number;
        db!.pragma(`max_page_count = ${pages + 3}`);
        const small = [makeMessage(), makeMessage()];
        const big = makeMessage({ payload: Buffer.alloc(200_000) });
        // One batch: the big row fills the file and SQLite rolls back the whole transaction.
        const settled = await Promise.allSettled([s.insert([small[0]!]), s.insert([big]), s.insert([small[1]!])]);
        db!.pragma('max_page_count = 1073741823');
        assert.equal(db!.inTransaction, false);
        // Each call was then tried alone: the small ones fit, the big one does not.
        assert.deepEqual(
          settled.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        assert.match(String((settled[1] as PromiseRejectedResult).reason), /full/i);
        for (const m of small) assert.equal((await s.get(m.id))?.state, 'ENROUTE');
        assert.equal(await s.get(big.id), undefined);
        assert.equal(await s.pendingCount('alice'), 3, 'the address map counts what the table holds');
      } finally {
        Database.prototype.prepare = prepare;
        await s.close();
      }
    }));

  test('pending messages by address stay exact through every way out of the pending states, once built', () =>
    withDir(async (dir) => {
      const path = join(dir, 'store.db');
      const T0 = 1_700_000_000_000;
      const s = new SqliteStore({ path, commitDelayMs: 0 });
      await s.init();
      // What the table says, read through another connection (reading changes nothing for s).
      const truth = () => {
        const db = new Database(path, { readonly: true });
        try {
          const rows = db.prepare(`SELECT account, COUNT(*) AS n FROM messages WHERE state IN ('SCHEDULED', 'ENROUTE') GROUP BY account`).all() as { account: string; n: number }[];
          return Object.fromEntries(rows.map((r) => [r.account, r.n]));
        } finally {
          db.close();
        }
      };
      try {
        assert.deepEqual(await s.queueDepthByAccount(), {}); // built now, then kept up to date
        const leased = (account: string, addr: string) =>
          makeMessage({ account, target: 'direct-1', destination: { ton: 1, npi: 1, addr }, lease: { owner: 'n1', until: T0 + 60_000 } });
        const [a1, a2, a3, a4] = [leased('alice', '1'), leased('alice', '2'), leased('alice', '3'), leased('alice', '4')];
        const [b1, b2] = [leased('bob', '1'), leased('bob', '5')];
        const soon = makeMessage({ account: 'carol', expiresAt: T0 + 10 });
        const toFail = [makeMessage({ account: 'carol', destination: { ton: 1, npi: 1, addr: '9' } }), makeMessage({ account: 'dave', destination: { ton: 1, npi: 1, addr: '9' } })];
        await s.insert([a1!, a2!, a3!, a4!, b1!, b2!, soon, ...toFail]);
        assert.deepEqual(await s.queueDepthByAccount(), truth());
        assert.deepEqual(await s.markDeliveredMany([[a1!.id, T0 + 1, 'n1'], [a2!.id, T0 + 1, 'n2'], [b1!.id, T0 + 1, 'n1']]), [true, false, true]);
        assert.deepEqual(await s.queueDepthByAccount(), truth());
        assert.ok(await s.markFailed(a2!.id, 'UNDELIVERABLE', T0 + 2, 1, 'n1'));
        assert.ok(await s.retryLater(a3!.id, T0 + 5, 0x58, 'n1', T0 + 2)); // still pending
        assert.deepEqual(await s.queueDepthByAccount(), truth());
        const [again] = await s.claimDue({ targets: ['direct-1'], now: T0 + 6, limit: 1, leaseMs: 1000, owner: 'n1' });
        assert.equal(again?.id, a3!.id);
        assert.ok(await s.markDelivered(a3!.id, T0 + 7, 'n1'));
        assert.equal((await s.expireDue(T0 + 20, 10)).length, 1);
        assert.equal((await s.failPendingTo('esme:bob', '9', 'UNDELIVERABLE', 1, T0 + 21)).length, 2);
        assert.ok(await s.finalize(b2!.id, 'DELIVERED', T0 + 22, 0));
        assert.deepEqual(await s.queueDepthByAccount(), truth());
        assert.deepEqual(await s.queueDepthByAccount(), { alice: 1 });
        assert.deepEqual(
          (await s.findPending({ account: 'alice', destinationAddr: '4', sourceAddr: a4!.source.addr })).map((m) => m.id),
          [a4!.id],
        );
      } finally {
        await s.close();
      }
    }));

  test('a version 1 file with pending messages is migrated in place and its messages stay claimable', () =>
    withDir(async (dir) => {
      const path = join(dir, 'v1.db');
      const db = new Database(path);
      db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      db.exec(sqliteMigrations[0]!);
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (1, 0)').run();
      const m = makeMessage({ id: 'old-1', target: 'net', submittedAt: 1000, scheduleAt: 1000, expiresAt: 10_000_000 });
      db.prepare(`INSERT INTO messages (id, direction, account, target, batch_id, src_ton, src_npi, src_addr, dst_ton,
          dst_npi, dst_addr, service_type, esm_class, protocol_id, priority, data_coding, registered_delivery, payload,
          payload_in_tlv, tlvs, submitted_at, schedule_at, expires_at, state, next_attempt_at, due_at)
        VALUES ('old-1', 'mt', ?, 'net', NULL, 1, 1, '1000', 1, 1, '4470', '', 0, 0, 0, 0, 0, x'41', 0, NULL, 1000, 1000,
          10000000, 'ENROUTE', 1000, 1000)`).run(m.account);
      db.close();
      const s = new SqliteStore({ path });
      await s.init();
      try {
        const got = await s.claimDue({ targets: ['net'], now: 2000, limit: 10, leaseMs: 1000, owner: 'n1' });
        assert.deepEqual(got.map((x) => [x.id, x.failover, x.remoteId]), [['old-1', [], null]]);
      } finally {
        await s.close();
      }
    }));

  test('every acknowledged insert survives the process being killed (SIGKILL)', () =>
    withDir(async (dir) => {
      const path = join(dir, 'store.db');
      const storeUrl = pathToFileURL(fileURLToPath(new URL('../../src/store/sqlite/sqlite-store.js', import.meta.url))).href;
      // The child inserts from 20 concurrent writers and prints each id once insert() resolved
      // (stdout to a pipe is synchronous on Linux, so a printed id was acknowledged first).
      const child = `
        const { SqliteStore } = await import(${JSON.stringify(storeUrl)});
        const s = new SqliteStore({ path: ${JSON.stringify(path)}, commitDelayMs: 1 });
        await s.init();
        const m = ${JSON.stringify(makeMessage({ id: 'x' }))};
        m.payload = Buffer.from('durable');
        let n = 0;
        async function writer(w) {
          while (n < 200000) {
            const id = 'w' + w + '-' + n++;
            await s.insert([{ ...m, id }]);
            process.stdout.write(id + '\\n');
          }
        }
        await Promise.all(Array.from({ length: 20 }, (_, w) => writer(w)));
      `;
      const proc = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acked: string[] = [];
      let buf = '';
      const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (chunk: string) => {
        buf += chunk;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        acked.push(...lines);
        if (acked.length >= 2000) proc.kill('SIGKILL');
      });
      assert.equal(await exited, 'SIGKILL', 'the child must be killed mid-run, not finish');
      assert.ok(acked.length >= 2000);

      const s = new SqliteStore({ path });
      await s.init();
      try {
        for (const id of acked) {
          const got = await s.get(id);
          assert.ok(got, `acknowledged message ${id} was lost`);
          assert.equal(got.payload.toString(), 'durable');
        }
      } finally {
        await s.close();
      }
    }));
});
