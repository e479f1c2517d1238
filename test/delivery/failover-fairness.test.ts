/**
 * The delivery scheduler with the real SQLite store and test targets (the DeliveryTarget seam):
 * failover between connectors (a temporary failure moves the message on at once; the queue of
 * a connector that stays down moves to its failover connector) and fair delivery between
 * accounts sharing one connector, measured as the order of deliveries.
 * Timers run on a ManualClock; real time only lets store I/O settle.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeliveryTarget, Outcome } from '../../src/delivery/target.js';
import { ManualClock } from '../../src/session/clock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewMessage, StoredMessage } from '../../src/store/types.js';
import { makeMessage } from '../contract/store-contract.js';
import { testScheduler } from '../support/scheduler.js';

const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);
/** An immediate MT of alice to the connector up-a, due at T0; override anything. */
function mt(over: Partial<NewMessage> = {}): NewMessage {
  return makeMessage({ target: 'up-a', registeredDelivery: 0, submittedAt: T0, scheduleAt: T0, expiresAt: T0 + 86_400_000, ...over });
}

/** A target whose state the test sets: up or down, what each attempt answers, how much it takes at once. */
class TestTarget implements DeliveryTarget {
  isUp = true;
  answer: Outcome = { kind: 'delivered' };
  room = 1000;
  readonly got: StoredMessage[] = [];
  capacity(): number {
    return this.isUp ? this.room : 0;
  }
  up(): boolean {
    return this.isUp;
  }
  async deliver(m: StoredMessage): Promise<Outcome> {
    this.got.push(m);
    return this.answer;
  }
}

async function setup(targets: Map<string, DeliveryTarget>, over: { maxClaim?: number; disabled?: () => Iterable<string> } = {}) {
  const clock = new ManualClock(T0);
  const store = new SqliteStore({ path: ':memory:', commitDelayMs: 0 });
  await store.init();
  const scheduler = testScheduler(store, clock, targets, { expiryIntervalMs: 1000, failoverGraceMs: 5000, ...over });
  /** Steps the clock (stepMs at a time) until `cond` holds, letting store I/O settle between steps. */
  const until = async (cond: () => boolean | Promise<boolean>, what: string, stepMs = 0) => {
    for (let i = 0; i < 500; i++) {
      if (await cond()) return;
      if (stepMs > 0) clock.advance(stepMs);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  return { clock, store, scheduler, until };
}

test('a temporary failure moves the message to its failover connector at once, without back-off', async () => {
  const upA = new TestTarget();
  upA.answer = { kind: 'retry', errorCode: 0x58 };
  const net = new TestTarget();
  const { store, scheduler, until } = await setup(
    new Map<string, DeliveryTarget>([
      ['up-a', upA],
      ['net', net],
    ]),
  );
  try {
    const m = mt({ failover: ['net'] });
    const plain = mt();
    await store.insert([m, plain]);
    await scheduler.start();
    await until(async () => (await store.get(m.id))?.state === 'DELIVERED', 'delivery through the failover connector');
    const done = await store.get(m.id);
    assert.equal(done?.target, 'net');
    assert.deepEqual(net.got.map((x) => x.id), [m.id]);
    assert.ok((await store.events(m.id)).some((e) => e.kind === 'rerouted' && e.detail === 'target=net'));
    // Without a failover list the same failure means back-off on the same connector.
    const other = await store.get(plain.id);
    assert.equal(other?.target, 'up-a');
    assert.equal(other?.attempts, 1);
    assert.equal(scheduler.stats.rerouted, 1);
  } finally {
    await scheduler.stop();
    await store.close();
  }
});

test("a connector down longer than the grace hands its queue to the failover connector; others wait", async () => {
  const upA = new TestTarget();
  upA.isUp = false;
  const net = new TestTarget();
  net.isUp = false;
  const { store, scheduler, until, clock } = await setup(
    new Map<string, DeliveryTarget>([
      ['up-a', upA],
      ['net', net],
    ]),
  );
  try {
    const withFailover = Array.from({ length: 5 }, () => mt({ failover: ['net'] }));
    const without = mt();
    await store.insert([...withFailover, without]);
    await scheduler.start();
    clock.advance(3000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await store.get(withFailover[0]!.id))?.target, 'up-a', 'inside the grace nothing moves');
    // Both down past the grace: moved to net (which is down too)...
    await until(async () => (await store.get(withFailover[0]!.id))?.target === 'net', 'failover of the queue', 500);
    // ...and delivered once net comes up.
    net.isUp = true;
    scheduler.notify('net');
    await until(async () => {
      const states = await Promise.all(withFailover.map((m) => store.get(m.id)));
      return states.every((s) => s?.state === 'DELIVERED');
    }, 'deliveries on net');
    assert.deepEqual(
      net.got.map((m) => m.id),
      withFailover.map((m) => m.id),
      'in their original order',
    );
    const waiting = await store.get(without.id);
    assert.deepEqual([waiting?.target, waiting?.state, waiting?.attempts], ['up-a', 'ENROUTE', 0], 'no failover: it waits for its connector');
    assert.equal(upA.got.length, 0);
  } finally {
    await scheduler.stop();
    await store.close();
  }
});

test('a connector the operator disabled hands its queue to the failover connector at once (no grace)', async () => {
  const net = new TestTarget();
  const disabled = new Set(['up-a']);
  // up-a is switched off: not among the targets, listed as disabled.
  const { store, scheduler, until, clock } = await setup(new Map<string, DeliveryTarget>([['net', net]]), { disabled: () => disabled });
  try {
    const m = mt({ failover: ['net'] });
    const stays = mt();
    await store.insert([m, stays]);
    await scheduler.start();
    await until(async () => (await store.get(m.id))?.state === 'DELIVERED', 'delivery through the failover connector', 1000);
    assert.ok(clock.now() - T0 < 5000, 'before the grace of a connector that went down by itself');
    assert.equal((await store.get(m.id))?.target, 'net');
    assert.equal((await store.get(stays.id))?.target, 'up-a', 'no failover: it waits for the connector to be enabled');
  } finally {
    await scheduler.stop();
    await store.close();
  }
});

test('failover skips connectors that are down too: the queue of X with [Y, Z] ends on Z when Y is down', async () => {
  const x = new TestTarget();
  const y = new TestTarget();
  y.isUp = false;
  const z = new TestTarget();
  const { store, scheduler, until } = await setup(
    new Map<string, DeliveryTarget>([
      ['x', x],
      ['y', y],
      ['z', z],
    ]),
  );
  try {
    // Y has been down a while; X is up with a message in flight that fails temporarily.
    x.answer = { kind: 'retry', errorCode: 8 };
    const retried = mt({ target: 'x', failover: ['y', 'z'] });
    await store.insert([retried]);
    await scheduler.start();
    await until(async () => (await store.get(retried.id))?.state === 'DELIVERED', 'the retried message delivered by z', 500);
    assert.equal((await store.get(retried.id))?.target, 'z', 'a temporary failure skips the down y');
    // Now X goes down with a queue: past the grace it moves to y, which is down, so on to z.
    x.isUp = false;
    const queued = Array.from({ length: 3 }, () => mt({ target: 'x', failover: ['y', 'z'] }));
    await store.insert(queued);
    await until(async () => {
      const all = await Promise.all(queued.map((m) => store.get(m.id)));
      return all.every((m) => m?.state === 'DELIVERED');
    }, 'the queue of x delivered by z', 500);
    for (const m of queued) assert.equal((await store.get(m.id))?.target, 'z');
    assert.equal(y.got.length, 0);
  } finally {
    await scheduler.stop();
    await store.close();
  }
});

test('fairness: one account with a backlog of 5,000 does not delay another account on the same connector', async () => {
  const net = new TestTarget();
  net.isUp = false;
  net.room = 50; // a connector that takes 50 at a time, like a window
  const { store, scheduler, until, clock } = await setup(new Map<string, DeliveryTarget>([['net', net]]), { maxClaim: 50 });
  try {
    const backlog = Array.from({ length: 5000 }, () => mt({ account: 'bulk', target: 'net' }));
    for (let i = 0; i < backlog.length; i += 1000) await store.insert(backlog.slice(i, i + 1000));
    // Bob's 20 arrive after the whole backlog.
    const bobs = Array.from({ length: 20 }, (_, i) => mt({ account: 'bob', target: 'net', submittedAt: T0 + 1 + i, scheduleAt: T0 + 1 + i }));
    await store.insert(bobs);
    clock.advance(100);
    await scheduler.start();
    net.isUp = true;
    scheduler.notify('net');
    await until(() => bobs.every((b) => net.got.some((m) => m.id === b.id)), "bob's messages");
    const lastBob = Math.max(...bobs.map((b) => net.got.findIndex((m) => m.id === b.id)));
    // Measured: bob's 20 are among the first deliveries; FIFO would have put them after 5,000.
    console.log(`# fairness: bob's last message was delivery #${lastBob + 1} of ${net.got.length} so far (backlog 5000, FIFO would be #5020)`);
    assert.ok(lastBob < 100, `bob's last message was delivery #${lastBob + 1}`);
    assert.deepEqual(
      net.got.filter((m) => m.account === 'bob').map((m) => m.id),
      bobs.map((b) => b.id),
      "bob's messages keep their order",
    );
  } finally {
    await scheduler.stop();
    await store.close();
  }
});
