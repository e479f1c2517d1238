import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommitter, type Settled, StoreClosedError } from './group-commit.js';

/** A fake backend that records each batch and can fail items or whole batches. */
function fakeBackend(opts: { failItem?: (n: number) => boolean; failBatch?: (items: readonly number[]) => boolean } = {}) {
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  return {
    batches,
    /** Holds every commit until `open()` is called. */
    hold() {
      gate = new Promise((r) => {
        release = r;
      });
    },
    open() {
      release?.();
      gate = undefined;
    },
    async commit(items: readonly number[]): Promise<Settled<number>[]> {
      if (gate !== undefined) await gate;
      if (opts.failBatch?.(items)) throw new Error('batch failed');
      batches.push([...items]);
      return items.map((n) => (opts.failItem?.(n) ? { ok: false, error: new Error(`item ${n}`) } : { ok: true, value: n * 10 }));
    },
  };
}

test('items submitted together share one commit and get their own results', async () => {
  const be = fakeBackend();
  const gc = new GroupCommitter<number, number>({ commit: (i) => be.commit(i), delayMs: 0, maxBatch: 100 });
  const results = await Promise.all([1, 2, 3, 4].map((n) => gc.submit(n)));
  assert.deepEqual(results, [10, 20, 30, 40]);
  assert.deepEqual(be.batches, [[1, 2, 3, 4]]);
  assert.deepEqual(gc.stats(), { batches: 1, calls: 4, rows: 4, failures: 0, maxBatchItems: 4 });
});

test('a failing item rejects only its own caller', async () => {
  const be = fakeBackend({ failItem: (n) => n === 2 });
  const gc = new GroupCommitter<number, number>({ commit: (i) => be.commit(i), delayMs: 0, maxBatch: 100 });
  const results = await Promise.allSettled([1, 2, 3].map((n) => gc.submit(n)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.equal(be.batches.length, 1);
});

test('a batch that fails as a whole is retried item by item', async () => {
  // The batch fails whenever it contains 2 (like a duplicate key in a multi-row INSERT).
  const be = fakeBackend({ failBatch: (items) => items.includes(2) });
  const gc = new GroupCommitter<number, number>({ commit: (i) => be.commit(i), delayMs: 0, maxBatch: 100 });
  const results = await Promise.allSettled([1, 2, 3].map((n) => gc.submit(n)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(be.batches, [[1], [3]]);
  assert.equal(gc.stats().failures, 1);
  assert.equal(gc.stats().batches, 2);
});

test('maxBatch (by weight) starts a commit at once and caps the batch, never splitting an item', async () => {
  const be = fakeBackend();
  // A window of a minute: only the size trigger can commit before the test times out.
  const gc = new GroupCommitter<number, number>({ commit: (i) => be.commit(i), delayMs: 60_000, maxBatch: 10, maxInFlight: 4 });
  const p = [gc.submit(1, 4), gc.submit(2, 4), gc.submit(3, 4), gc.submit(4, 12)];
  await gc.flush();
  await Promise.all(p);
  // Submit 3 brings the queue to 12 >= 10: [1,2] goes (adding 3 would pass 10), then [3] in a
  // second slot; item 4 alone weighs more than maxBatch and goes whole, on its own.
  assert.deepEqual(be.batches, [[1, 2], [3], [4]]);
  assert.equal(gc.stats().rows, 24);
});

test('items arriving while a commit is in flight form the next batch', async () => {
  const be = fakeBackend();
  const gc = new GroupCommitter<number, number>({ commit: (i) => be.commit(i), delayMs: 0, maxBatch: 100 });
  be.hold();
  const first = gc.submit(1);
  await new Promise((r) => setImmediate(r)); // let the first batch start (and block)
  const rest = [2, 3, 4].map((n) => gc.submit(n));
  await new Promise((r) => setImmediate(r));
  be.open();
  await Promise.all([first, ...rest]);
  assert.deepEqual(be.batches, [[1], [2, 3, 4]]);
});

test('close() commits what is queued and rejects later submits', async () => {
  const be = fakeBackend();
  const gc = new GroupCommitter<number, number>({ commit: (i) => be.commit(i), delayMs: 60_000, maxBatch: 100 });
  const p = gc.submit(7);
  await gc.close();
  assert.equal(await p, 70);
  await assert.rejects(gc.submit(8), StoreClosedError);
});

test('a synchronous commit function works (better-sqlite3 style)', async () => {
  const seen: number[][] = [];
  const gc = new GroupCommitter<number, number>({
    commit: (items) => {
      seen.push([...items]);
      return items.map((n) => ({ ok: true, value: n + 1 }));
    },
    delayMs: 1,
    maxBatch: 100,
  });
  assert.deepEqual(await Promise.all([gc.submit(1), gc.submit(2)]), [2, 3]);
  assert.deepEqual(seen, [[1, 2]]);
});

test('bad options are refused', () => {
  const commit = () => [];
  assert.throws(() => new GroupCommitter<number, number>({ commit, delayMs: 0, maxBatch: 0 }), RangeError);
  assert.throws(() => new GroupCommitter<number, number>({ commit, delayMs: -1, maxBatch: 1 }), RangeError);
});
