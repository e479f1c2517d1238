/** The store contract against the SQLite store running on a worker thread, plus its own cases. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { MessageState, type NewMessage } from '../../src/store/types.js';
import { withTimeout } from '../support/async.js';
import { makeMessage, storeContract } from './store-contract.js';

storeContract('sqlite (worker thread)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  const path = join(dir, 'store.db');
  return {
    open: (options) => new ThreadedSqliteStore({ path, ...options }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

async function withStore(fn: (s: ThreadedSqliteStore, worker: () => Worker) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  // The store's worker, caught as it is posted to (to stop it as a crash would).
  let worker: Worker | undefined;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
    worker = this;
    return post.apply(this, args);
  };
  const s = new ThreadedSqliteStore({ path: join(dir, 'store.db') });
  try {
    await s.init();
    await fn(s, () => worker!);
  } finally {
    Worker.prototype.postMessage = post;
    await s.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

test('worker thread store: callers of calls merged into one fail (not hang) when the worker exits', () =>
  withStore(async (s, worker) => {
    const calls = [s.insert([makeMessage()]), s.insert([makeMessage()]), s.markDelivered('x', 1, 'n1')];
    await Promise.resolve(); // the batch goes to the worker at the end of the tick
    void worker().terminate();
    const settled = await withTimeout(Promise.allSettled(calls), 5000, 'callers settle');
    assert.deepEqual(
      settled.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled')),
      ['store worker exited', 'store worker exited', 'store worker exited'],
    );
    await assert.rejects(s.insert([makeMessage()]), /closed|exited/);
  }));

test('worker thread store: inserts made while it closes all settle', () =>
  withStore(async (s) => {
    const closing = s.close();
    await Promise.resolve();
    await Promise.resolve();
    const settling = Promise.allSettled([s.insert([makeMessage()]), s.insert([makeMessage()])]);
    await closing;
    const settled = await withTimeout(settling, 5000, 'callers settle');
    assert.equal(settled.length, 2);
  }));

test('worker thread store: writes made in one tick apply in the order they were made (as in one thread)', () =>
  withStore(async (s) => {
    const T0 = 1_700_000_000_000;
    const [x, y] = [1, 2].map(() => makeMessage({ target: 'direct-1', lease: { owner: 'n1', until: T0 + 60_000 } })) as [NewMessage, NewMessage];
    await s.insert([x, y]);
    // y is released before its outcome arrives: the outcome no longer applies.
    const results = await Promise.all([s.markDelivered(x.id, T0 + 5, 'n1'), s.release([y.id], 'n1', T0 + 5), s.markDelivered(y.id, T0 + 6, 'n1')]);
    assert.deepEqual(results, [true, 1, false]);
    assert.equal((await s.get(y.id))?.state, MessageState.ENROUTE);
    // A destination failed before a message to it was stored: the new one stays.
    const d = makeMessage({ destination: { ton: 1, npi: 1, addr: '447700900555' } });
    const [, failed] = await Promise.all([
      s.insert([makeMessage()]),
      s.failPendingTo('esme:bob', '447700900555', 'UNDELIVERABLE', 0x65, T0 + 7),
      s.insert([d]),
    ]);
    assert.deepEqual(failed, []);
    assert.equal((await s.get(d.id))?.state, MessageState.ENROUTE);
  }));

test('worker thread store: a message that cannot be packed fails its own insert, not those made with it', () =>
  withStore(async (s) => {
    const good = [makeMessage(), makeMessage()];
    const bad = makeMessage({ payload: undefined as unknown as Buffer });
    const calls = [s.insert([good[0]!]), s.insert([bad]), s.insert([good[1]!])];
    const settled = await withTimeout(Promise.allSettled(calls), 5000, 'callers settle');
    assert.deepEqual(
      settled.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok((settled[1] as PromiseRejectedResult).reason instanceof TypeError);
    for (const m of good) assert.equal((await s.get(m.id))?.id, m.id);
    assert.equal(await s.get(bad.id), undefined);
    // Alone, the same.
    await assert.rejects(s.insert([makeMessage({ payload: undefined as unknown as Buffer })]), TypeError);
    assert.equal((await s.stats()).insertRows, 2, "only the good rows counted");
  }));

test('worker thread store: a receipt that cannot be stored fails its own outcome, not those merged with it', () =>
  withStore(async (s) => {
    const msgs = [makeMessage(), makeMessage(), makeMessage()];
    await s.insert(msgs);
    const at = msgs[0]!.submittedAt;
    assert.equal((await s.claimDue({ targets: ['esme:bob'], now: at, owner: 'A', leaseMs: 60_000, limit: 3 })).length, 3);
    const receipt = (m: NewMessage) => makeMessage({ direction: 'receipt', target: 'esme:alice', receiptFor: m.id });
    const bad = receipt(msgs[1]!);
    (bad as { payload: unknown }).payload = undefined;
    const calls = [
      s.markDelivered(msgs[0]!.id, at + 1, 'A', receipt(msgs[0]!)),
      s.markDelivered(msgs[1]!.id, at + 1, 'A', bad),
      s.markDelivered(msgs[2]!.id, at + 1, 'A', receipt(msgs[2]!)),
    ];
    const settled = await withTimeout(Promise.allSettled(calls), 5000, 'callers settle');
    assert.deepEqual(
      settled.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok((settled[1] as PromiseRejectedResult).reason instanceof TypeError);
    assert.equal((await s.get(msgs[0]!.id))?.state, MessageState.DELIVERED);
    assert.equal((await s.get(msgs[1]!.id))?.state, MessageState.ENROUTE, 'its outcome waits for a receipt it can store');
    assert.equal((await s.get(msgs[2]!.id))?.state, MessageState.DELIVERED);
  }));

test('worker thread store: a call whose arguments cannot be copied to the worker fails alone; the store goes on', () =>
  withStore(async (s) => {
    const m = makeMessage();
    const calls = [
      s.insert([m]),
      s.find({ limit: 10, account: (() => 'alice') as unknown as string }),
      s.get(m.id),
    ] as const;
    const settled = await withTimeout(Promise.allSettled(calls), 5000, 'callers settle');
    assert.deepEqual(
      settled.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((settled[1] as PromiseRejectedResult).reason?.name, 'DataCloneError');
    assert.equal((await s.get(m.id))?.id, m.id);
    assert.equal((await withTimeout(s.countByState(), 5000, 'a later call')).ENROUTE, 1);
  }));

test('worker thread store: errors keep their code; empty inserts are not counted', () =>
  withStore(async (s) => {
    const m = makeMessage();
    await s.insert([m]);
    await assert.rejects(s.insert([{ ...m }]), (e: Error & { code?: string }) => e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY');
    await Promise.all([s.insert([]), s.insert([makeMessage()]), s.insert([])]);
    const stats = s.stats();
    assert.equal(stats.insertCalls, 2, 'the two inserts with rows');
    assert.equal(stats.insertRows, 2);
  }));

test('worker thread store: whole-table reads (search, count by state) run on a reader of their own; writes do not wait for them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  const path = join(dir, 'store.db');
  const s = new ThreadedSqliteStore({ path });
  try {
    await s.init();
    // 300,000 finished rows, written past the store: a search that matches none walks them all.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path);
    db.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000)
      INSERT INTO messages (id, direction, account, target, state, priority, submitted_at, schedule_at, expires_at,
        next_attempt_at, due_at, src_addr, dst_addr, body, final_at)
      SELECT printf('old%07d', i), 'mt', 'alice', 'esme:bob', 'DELIVERED', 0, i, i, i + 1000, i, i, '1000', '2000', x'00', i FROM c`);
    db.close();
    const order: string[] = [];
    const search = s.find({ addr: 'nobody', limit: 10 }).then((found) => {
      order.push('search');
      return found;
    });
    // The search is on its way (on the writer's thread, the insert would queue behind it).
    await new Promise((resolve) => setImmediate(resolve));
    const m = makeMessage();
    const insert = s.insert([m]).then(() => order.push('insert'));
    await Promise.all([search, insert]);
    assert.deepEqual(order, ['insert', 'search'], 'the insert committed while the search still read');
    assert.deepEqual(await search, []);
    // The reader sees every committed write.
    assert.deepEqual((await s.find({ account: m.account, limit: 1 })).map((x) => x.id), [m.id]);
    const counts = await s.countByState();
    assert.equal(counts.DELIVERED, 300_000);
    assert.equal(counts.ENROUTE, 1);
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
  await assert.rejects(s.find({ limit: 1 }), /closed/, 'no reader starts after close');
});
