/**
 * A delivery receipt commits with its message's final outcome, in one transaction: a node that
 * dies after the outcome's commit cannot leave the message final and its receipt never made.
 * The scheduler with the real SQLite store, wrapped so that from a chosen moment every insert
 * fails (what a crash after that moment amounts to); test targets answer each delivery.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { DeliveryTarget, Outcome } from '../../src/delivery/target.js';
import { ManualClock } from '../../src/session/clock.js';
import { finalReceiptId } from '../../src/store/receipts.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { isPendingState, MessageState, type Store, type StoredMessage } from '../../src/store/types.js';
import { makeMessage } from '../contract/store-contract.js';
import { testScheduler } from '../support/scheduler.js';

const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);

/** A target whose deliveries wait until the test answers them. */
class AnsweredTarget implements DeliveryTarget {
  readonly got: StoredMessage[] = [];
  readonly #pending: ((o: Outcome) => void)[] = [];
  capacity(): number {
    return 10 - this.#pending.length;
  }
  deliver(m: StoredMessage): Promise<Outcome> {
    this.got.push(m);
    return new Promise((resolve) => this.#pending.push(resolve));
  }
  answerAll(o: Outcome): void {
    for (const r of this.#pending.splice(0)) r(o);
  }
}

/**
 * The store, with every insert failing while `inserts.fail` (what a crash or a store error
 * amounts to), and those `inserts.refuse` picks.
 */
function withFailingInserts(sqlite: SqliteStore): {
  store: Store;
  inserts: { fail: boolean; refuse?: (msgs: Parameters<Store['insert']>[0]) => boolean };
} {
  const inserts: { fail: boolean; refuse?: (msgs: Parameters<Store['insert']>[0]) => boolean } = { fail: false };
  const store = new Proxy(sqlite, {
    get(t, key) {
      if (key === 'insert') {
        return (msgs: Parameters<Store['insert']>[0]) =>
          inserts.fail || inserts.refuse?.(msgs) === true ? Promise.reject(new Error('the store failed')) : t.insert(msgs);
      }
      const v = Reflect.get(t, key, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { store, inserts };
}

async function settle(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.fail(`timed out waiting for ${what}`);
}

for (const [name, outcome, state] of [
  ['delivered', { kind: 'delivered' }, MessageState.DELIVERED],
  ['failed', { kind: 'failed', state: 'UNDELIVERABLE', errorCode: 0x45 }, MessageState.UNDELIVERABLE],
] as const) {
  test(`a ${name} outcome and its receipt commit together: inserts failing after it lose nothing`, async () => {
    const clock = new ManualClock(T0);
    const sqlite = new SqliteStore({ path: ':memory:', commitDelayMs: 0 });
    await sqlite.init();
    const { store, inserts } = withFailingInserts(sqlite);
    const bob = new AnsweredTarget();
    const alice = new AnsweredTarget();
    const scheduler = testScheduler(store, clock, new Map<string, DeliveryTarget>([['esme:bob', bob], ['esme:alice', alice]]));
    await scheduler.start();
    // Its first pass finds both queues empty (held messages never overtake stored ones).
    await new Promise((r) => setTimeout(r, 30));
    try {
      // alice's MT to bob, asking for a receipt whatever the outcome.
      const m = makeMessage({ account: 'alice', target: 'esme:bob', registeredDelivery: 1, submittedAt: T0, scheduleAt: T0, expiresAt: T0 + 86_400_000 });
      if (name === 'failed') m.registeredDelivery = 2;
      await scheduler.storeNew([m], clock.now());
      await settle(() => bob.got.length === 1, 'the delivery to bob');

      inserts.fail = true;
      bob.answerAll(outcome);
      await settle(async () => (await sqlite.get(m.id))?.state === state, 'the final outcome');
      await settle(() => alice.got.length === 1, 'the receipt to alice');
      const receipt = alice.got[0]!;
      assert.equal(receipt.direction, 'receipt');
      assert.equal(receipt.receiptFor, m.id);
      const stored = await sqlite.get(receipt.id);
      assert.equal(stored?.state, MessageState.ENROUTE, 'the receipt is in the store');
      assert.equal(stored?.leaseOwner, 'n1', 'held by this node for its delivery');

      alice.answerAll({ kind: 'delivered' });
      await settle(async () => (await sqlite.get(receipt.id))?.state === MessageState.DELIVERED, "the receipt's outcome");
      assert.equal(scheduler.stats.receipts, 1);
    } finally {
      await scheduler.stop();
      await sqlite.close();
    }
  });
}

test('an onDelivered observer that throws costs no receipt: it is delivered from memory, and a forwarded one is made', async () => {
  const clock = new ManualClock(T0);
  const store = new SqliteStore({ path: ':memory:', commitDelayMs: 0 });
  await store.init();
  const bob = new AnsweredTarget();
  const alice = new AnsweredTarget();
  let observed = 0;
  const scheduler = testScheduler(store, clock, new Map<string, DeliveryTarget>([['esme:bob', bob], ['esme:alice', alice]]), {
    onDelivered: () => {
      observed++;
      throw new Error('a metrics bug');
    },
  });
  await scheduler.start();
  await new Promise((r) => setTimeout(r, 30));
  const mt = () => makeMessage({ account: 'alice', target: 'esme:bob', registeredDelivery: 1, submittedAt: T0, scheduleAt: T0, expiresAt: T0 + 86_400_000 });
  try {
    const m = mt();
    await scheduler.storeNew([m], clock.now());
    await settle(() => bob.got.length === 1, 'the delivery to bob');
    bob.answerAll({ kind: 'delivered' });
    // The clock never moves: a receipt left leased in the store (its reservation lost) would
    // wait for its lease to run out and never reach alice here.
    await settle(() => alice.got.length === 1, 'the receipt to alice, from memory');
    assert.equal(alice.got[0]!.receiptFor, m.id);
    assert.equal(observed, 1);
    alice.answerAll({ kind: 'delivered' });
    await settle(async () => (await store.get(alice.got[0]!.id))?.state === MessageState.DELIVERED, "the receipt's outcome");

    // An upstream's verdict on a message (finalize): the receipt is made after the observer threw.
    const forwarded = mt();
    forwarded.target = 'esme:nobody';
    await store.insert([forwarded]);
    assert.equal(await scheduler.finalize(forwarded.id, MessageState.DELIVERED, 0), true);
    await settle(() => alice.got.length === 2, 'the receipt of the forwarded message');
    assert.equal(alice.got[1]!.receiptFor, forwarded.id);
    assert.equal(observed, 3, 'the MT, its receipt and the forwarded message');
    assert.equal(scheduler.stats.delivered, 3);
  } finally {
    alice.answerAll({ kind: 'delivered' });
    await scheduler.stop();
    await store.close();
  }
});

for (const how of ['expiry', 'an upstream verdict (finalize)', 'a destination refused (RX_P_APPN)'] as const) {
  test(`a message ended by ${how} and its receipt commit together: one not stored leaves the other undone`, async () => {
    const clock = new ManualClock(T0);
    const dir = mkdtempSync(join(tmpdir(), 'smsc-receipts-'));
    const path = join(dir, 'smsc.db');
    const store = new SqliteStore({ path, commitDelayMs: 0 });
    await store.init();
    // A second connection to the file: its trigger makes every receipt's insert fail while it
    // exists (what a store error inside that transaction amounts to), the messages' updates not.
    const side = new Database(path);
    // failPendingTo calls that have returned or failed (the RX_P_APPN case waits for them).
    let refusalsDone = 0;
    const watched = new Proxy(store, {
      get(t, key) {
        const v = Reflect.get(t, key, t);
        if (key === 'failPendingTo') return (...args: Parameters<Store['failPendingTo']>) => t.failPendingTo(...args).finally(() => refusalsDone++);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const refuser = new AnsweredTarget();
    const scheduler = testScheduler(watched, clock, new Map<string, DeliveryTarget>([['esme:bob', refuser]]));
    await scheduler.start();
    await new Promise((r) => setTimeout(r, 30));
    try {
      // Queued for bob, asking for a receipt whatever the outcome; another one to the same
      // destination is the one bob refuses for all (RX_P_APPN ends the rest).
      const mk = () => makeMessage({ account: 'alice', target: 'esme:bob', registeredDelivery: 1, submittedAt: T0, scheduleAt: T0, expiresAt: T0 + 1000 });
      const m = mk();
      m.scheduleAt = T0 + 500_000;
      await store.insert([m]);
      side.exec(`CREATE TRIGGER no_receipts BEFORE INSERT ON messages WHEN NEW.direction = 'receipt'
        BEGIN SELECT RAISE(ABORT, 'receipts refused'); END`);
      const end = async (): Promise<void> => {
        if (how === 'expiry') {
          if (clock.now() < T0 + 2000) clock.advance(T0 + 2000 - clock.now());
          await scheduler.expireNow();
        } else if (how === 'an upstream verdict (finalize)') {
          await scheduler.finalize(m.id, MessageState.DELIVERED, 0).catch(() => false);
        } else {
          const refused = mk();
          await scheduler.storeNew([refused], clock.now());
          await settle(() => refuser.got.length > 0, 'the delivery bob refuses');
          const before = refusalsDone;
          refuser.answerAll({ kind: 'failed', state: 'UNDELIVERABLE', errorCode: 0x45, allToDestination: true });
          await settle(() => refusalsDone > before, 'the refusal of every message to that destination');
          refuser.got.length = 0;
        }
      };
      const receiptsOf = async () => (await store.find({ limit: 10, account: 'alice' })).filter((x) => x.direction === 'receipt' && x.receiptFor === m.id);

      await end().catch(() => {});
      assert.ok(isPendingState((await store.get(m.id))!.state), 'still pending: its receipt could not be stored');
      assert.equal((await receiptsOf()).length, 0);

      side.exec('DROP TRIGGER no_receipts');
      await end();
      assert.ok(!isPendingState((await store.get(m.id))!.state), 'ended now');
      const receipts = await receiptsOf();
      assert.equal(receipts.length, 1, 'with its receipt');
      assert.equal(receipts[0]!.id, finalReceiptId(m.id));
    } finally {
      refuser.answerAll({ kind: 'delivered' });
      await scheduler.stop();
      await store.close();
      side.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
