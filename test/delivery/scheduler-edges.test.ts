/**
 * The scheduler at its edges: a stop while a claim is on its way, a target going down with
 * messages held for it, a message given back (`unavailable`) while others are held, a target
 * disabled while down. The real SQLite store (in memory), wrapped where a test needs a claim
 * held back or notifications late (as PostgreSQL's come, over their own connection).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SchedulerOptions } from '../../src/delivery/scheduler.js';
import type { DeliveryTarget, Outcome } from '../../src/delivery/target.js';
import { ManualClock } from '../../src/session/clock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewMessage, Store, StoredMessage } from '../../src/store/types.js';
import { makeMessage } from '../contract/store-contract.js';
import { testScheduler } from '../support/scheduler.js';

const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const mt = (over: Partial<NewMessage> = {}): NewMessage =>
  makeMessage({ target: 'esme:bob', registeredDelivery: 0, submittedAt: T0, scheduleAt: T0, expiresAt: T0 + 86_400_000, ...over });

/** A target that keeps each delivery waiting until the test answers; `up` as the test sets it. */
class HeldTarget implements DeliveryTarget {
  room = 3;
  isUp = true;
  readonly got: string[] = [];
  readonly #pending: ((o: Outcome) => void)[] = [];
  capacity(): number {
    return Math.max(0, this.room - this.#pending.length);
  }
  up(): boolean {
    return this.isUp;
  }
  deliver(m: StoredMessage): Promise<Outcome> {
    this.got.push(m.id);
    return new Promise((resolve) => this.#pending.push(resolve));
  }
  answerAll(o: Outcome = { kind: 'delivered' }): void {
    for (const r of this.#pending.splice(0)) r(o);
  }
}

async function setup(
  targets: Map<string, DeliveryTarget>,
  over: Partial<SchedulerOptions> = {},
  wrap: Partial<Record<keyof Store, (store: SqliteStore) => unknown>> = {},
) {
  const clock = new ManualClock(T0);
  const sqlite = new SqliteStore({ path: ':memory:', commitDelayMs: 0 });
  await sqlite.init();
  const store = new Proxy(sqlite, {
    get(t, key) {
      const w = wrap[key as keyof Store];
      if (w !== undefined) return w(t);
      const v = Reflect.get(t, key, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { clock, sqlite, scheduler: testScheduler(store, clock, targets, over) };
}

test('a claim answered after stop() sends nothing and gives its messages back; stop() waits for it', async () => {
  const bob = new HeldTarget();
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const { sqlite, scheduler } = await setup(new Map([['esme:bob', bob]]), {}, {
    claimDue: (t) => async (req: Parameters<Store['claimDue']>[0]) => {
      const got = await t.claimDue(req);
      await gate;
      return got;
    },
  });
  try {
    const queued = mt();
    await sqlite.insert([queued]);
    await scheduler.start();
    await sleep(20); // the first pass waits inside its claim
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await sleep(20);
    assert.equal(stopped, false, 'stop() waits for the claim under way');
    open();
    await stopping;
    assert.deepEqual(bob.got, [], 'nothing sent after stop()');
    const back = await sqlite.get(queued.id);
    assert.equal(back?.leaseOwner, null, 'given back, for the next node or start');
  } finally {
    open();
    await sqlite.close();
  }
});

test('messages held for a target that goes down fail over once its grace has passed', async () => {
  const a = new HeldTarget();
  a.room = 0; // its window is full: a new message is held for it
  const b = new HeldTarget();
  b.room = 10;
  const targets = new Map<string, DeliveryTarget>([
    ['smpp:a', a],
    ['smpp:b', b],
  ]);
  const { clock, sqlite, scheduler } = await setup(targets, { failoverGraceMs: 10_000, expiryIntervalMs: 1000 });
  await scheduler.start();
  await sleep(30);
  try {
    const held = mt({ target: 'smpp:a', failover: ['smpp:b'] });
    await scheduler.storeNew([held], clock.now());
    assert.equal((await sqlite.get(held.id))?.leaseOwner, 'n1', 'held for smpp:a');
    a.isUp = false;
    for (let i = 0; i < 30 && b.got.length === 0; i++) {
      clock.advance(1000);
      await sleep(5);
    }
    assert.equal((await sqlite.get(held.id))?.target, 'smpp:b');
    assert.deepEqual(b.got, [held.id], 'delivered by the failover connector');
    b.answerAll();
  } finally {
    await scheduler.stop();
    await sqlite.close();
  }
});

test('a message given back (unavailable) is not overtaken by the one held behind it, notifications late or not', async () => {
  const bob = new HeldTarget();
  bob.room = 1;
  const { clock, sqlite, scheduler } = await setup(new Map([['esme:bob', bob]]), {}, {
    // As PostgreSQL's: over their own connection, after the write's reply.
    onNotify: (t) => (listener: (target: string) => void) => t.onNotify((k) => setTimeout(() => listener(k), 50)),
  });
  await scheduler.start();
  await sleep(30);
  try {
    const [m1, m2] = [mt(), mt()];
    await scheduler.storeNew([m1!, m2!], clock.now());
    await sleep(20);
    assert.deepEqual(bob.got, [m1!.id]);
    bob.answerAll({ kind: 'unavailable' });
    for (let i = 0; i < 50 && bob.got.length < 3; i++) {
      await sleep(10);
      bob.answerAll();
    }
    assert.deepEqual(bob.got, [m1!.id, m1!.id, m2!.id], 'm1 again before m2');
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await sqlite.close();
  }
});

test('a target disabled while down starts its grace again when it is back', async () => {
  const a = new HeldTarget();
  a.isUp = false;
  const b = new HeldTarget();
  const targets = new Map<string, DeliveryTarget>([
    ['smpp:a', a],
    ['smpp:b', b],
  ]);
  const { clock, sqlite, scheduler } = await setup(targets, { failoverGraceMs: 10_000 });
  try {
    await scheduler.failoverNow(); // down since now, within the grace
    targets.delete('smpp:a'); // disabled by the operator
    clock.advance(3_600_000);
    await scheduler.failoverNow();
    targets.set('smpp:a', a); // enabled again, reconnecting
    const queued = mt({ target: 'smpp:a', failover: ['smpp:b'] });
  await sqlite.insert([queued]);
    assert.equal(await scheduler.failoverNow(), 0, 'a reconnect is not an outage');
    clock.advance(10_000);
    assert.equal(await scheduler.failoverNow(), 1, 'down for the whole grace: it fails over');
  } finally {
    await sqlite.close();
  }
});

test('an odd lease length still leases held messages to a whole millisecond', async () => {
  const bob = new HeldTarget();
  const { clock, sqlite, scheduler } = await setup(new Map([['esme:bob', bob]]), { leaseMs: 60_001 });
  await scheduler.start();
  await sleep(30);
  try {
    const m = mt();
    await scheduler.storeNew([m], clock.now());
    const until = (await sqlite.get(m.id))?.leaseUntil;
    assert.equal(until, T0 + 90_002, 'one and a half leases, rounded up');
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await sqlite.close();
  }
});

test('RX_P_APPN for an MO ends that message only, not the other subscribers\' MO to the short code', async () => {
  const bob = new HeldTarget();
  bob.room = 1;
  const { clock, sqlite, scheduler } = await setup(new Map([['esme:bob', bob]]));
  await scheduler.start();
  await sleep(30);
  try {
    const mo = (from: string) =>
      mt({ direction: 'mo', account: 'bob', source: { ton: 1, npi: 1, addr: from }, destination: { ton: 0, npi: 0, addr: '2000' } });
    const [m1, m2] = [mo('447700900001'), mo('447700900002')];
    await scheduler.storeNew([m1!, m2!], clock.now());
    await sleep(20);
    assert.deepEqual(bob.got, [m1!.id]);
    bob.answerAll({ kind: 'failed', state: 'UNDELIVERABLE', errorCode: 0x64, allToDestination: true });
    for (let i = 0; i < 50 && bob.got.length < 2; i++) await sleep(10);
    assert.deepEqual(bob.got, [m1!.id, m2!.id], 'the other subscriber\'s MO still goes');
    bob.answerAll();
    for (let i = 0; i < 50 && (await sqlite.get(m2!.id))?.state !== 'DELIVERED'; i++) await sleep(10);
    assert.equal((await sqlite.get(m2!.id))?.state, 'DELIVERED');
    assert.equal((await sqlite.get(m1!.id))?.state, 'UNDELIVERABLE');
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await sqlite.close();
  }
});

test("a target whose up() throws fails that store call, and leaves no reservation behind", async () => {
  const bob = new HeldTarget();
  bob.room = 0; // nothing goes out: what is held stays held
  let throwing = false;
  let calls = 0;
  const flaky = Object.assign(Object.create(bob) as HeldTarget, {
    // Throws for the second message of a call: the first is reserved by then.
    up: () => {
      if (throwing && ++calls === 2) throw new Error('a target with a bug');
      return true;
    },
  });
  const { clock, sqlite, scheduler } = await setup(new Map<string, DeliveryTarget>([['esme:bob', flaky]]), { holdLimit: 2 } as Partial<SchedulerOptions>);
  await scheduler.start();
  await sleep(30);
  try {
    const first = mt();
    await scheduler.storeNew([first], clock.now());
    throwing = true;
    await assert.rejects(scheduler.storeNew([mt(), mt()], clock.now()));
    throwing = false;
    // Had the failed call's reservations stayed, this one would find the line full and spill.
    const next = mt();
    await scheduler.storeNew([next], clock.now());
    assert.equal((await sqlite.get(next.id))?.leaseOwner, 'n1', 'held, not spilled to the store');
  } finally {
    await scheduler.stop();
    await sqlite.close();
  }
});

test('an expiry run that fails does not keep failover from running', async () => {
  const a = new HeldTarget();
  a.isUp = false;
  a.room = 0; // down: it takes nothing
  const b = new HeldTarget();
  b.room = 10;
  const targets = new Map<string, DeliveryTarget>([
    ['smpp:a', a],
    ['smpp:b', b],
  ]);
  let expiryRuns = 0;
  const { clock, sqlite, scheduler } = await setup(
    targets,
    { failoverGraceMs: 2000, expiryIntervalMs: 1000 },
    {
      expireDue: () => () => {
        expiryRuns++;
        return Promise.reject(new Error('the store failed'));
      },
    },
  );
  const queued = mt({ target: 'smpp:a', failover: ['smpp:b'] });
  await sqlite.insert([queued]);
  await scheduler.start();
  await sleep(30);
  try {
    for (let i = 0; i < 30 && b.got.length === 0; i++) {
      clock.advance(1000);
      await sleep(5);
    }
    assert.ok(expiryRuns > 0);
    assert.deepEqual(b.got, [queued.id], 'moved to the failover connector and delivered there');
    b.answerAll();
  } finally {
    await scheduler.stop();
    await sqlite.close();
  }
});

test('awaitOutcome: two waits on one message both end at its outcome; a forwarded message without the next hop\'s id is accepted; endWaits ends the rest', async () => {
  const bob = new HeldTarget();
  const up = new HeldTarget();
  const { clock, sqlite, scheduler } = await setup(new Map<string, DeliveryTarget>([['esme:bob', bob], ['smpp:up', up]]));
  await scheduler.start();
  try {
    // Transaction mode: esm_class bits 1-0 = 10.
    const tx = mt({ esmClass: 0x02 });
    await scheduler.storeNew([tx], clock.now());
    const first = scheduler.awaitOutcome(tx.id, 10_000);
    const second = scheduler.awaitOutcome(tx.id, 10_000);
    await sleep(30);
    bob.answerAll();
    // The clock does not move: only the outcome can wake them (not the 1 s re-read).
    const both = await Promise.race([Promise.all([first, second]), sleep(5_000).then(() => undefined)]);
    assert.ok(both !== undefined, 'both woken by the outcome');
    const [a, b] = both;
    assert.equal(a.message?.state, 'DELIVERED');
    assert.equal(b.message?.state, 'DELIVERED');

    // Handed to an upstream that gave no id: pending, one attempt made.
    const forwarded = mt({ target: 'smpp:up', esmClass: 0x02 });
    await scheduler.storeNew([forwarded], clock.now());
    const waiting = scheduler.awaitOutcome(forwarded.id, 10_000);
    await sleep(30);
    up.answerAll({ kind: 'forwarded' });
    const f = await waiting;
    assert.equal(f.ended, false);
    assert.equal(f.message?.state, 'ENROUTE');
    assert.equal(f.message?.attempts, 1);

    // Nobody to take it: the wait lasts until endWaits(), which says so.
    const stuck = mt({ target: 'esme:carol', esmClass: 0x02 });
    await scheduler.storeNew([stuck], clock.now());
    const pending = scheduler.awaitOutcome(stuck.id, 10_000);
    await sleep(20);
    scheduler.endWaits();
    const s = await pending;
    assert.equal(s.ended, true);
    assert.equal(s.message?.state, 'ENROUTE');
  } finally {
    await scheduler.stop();
    await sqlite.close();
  }
});

test("abandon(): a transaction's message held here leaves its line unsent, one whose claim is on its way is not sent, one under way is not abandoned", async () => {
  const bob = new HeldTarget();
  bob.room = 0; // full: a new message is held for it
  let open!: () => void;
  let gate: Promise<void> | undefined;
  const { clock, sqlite, scheduler } = await setup(new Map([['esme:bob', bob]]), { expiryIntervalMs: 1000 }, {
    claimDue: (t) => async (req: Parameters<Store['claimDue']>[0]) => {
      const got = await t.claimDue(req);
      if (gate !== undefined) await gate;
      return got;
    },
  });
  const tx = (text: string) => mt({ esmClass: 0x02, payload: Buffer.from(text) });
  try {
    await scheduler.start();
    await sleep(20);
    // Held (bob's window full): taken out of its line, never sent once bob has room.
    const held = tx('held');
    await scheduler.storeNew([held], clock.now());
    assert.equal((await sqlite.get(held.id))?.leaseOwner, 'n1', 'held for bob');
    assert.equal(scheduler.abandon(held.id), true);
    // Claimed, the claim's answer still on its way when the wait runs out: not sent either.
    gate = new Promise<void>((r) => {
      open = r;
    });
    const claimed = tx('claimed');
    await sqlite.insert([claimed]);
    bob.room = 5;
    scheduler.notify('esme:bob');
    await sleep(20); // the pass waits inside its claim
    assert.equal((await sqlite.get(claimed.id))?.leaseOwner, 'n1', 'claimed');
    assert.equal(scheduler.abandon(claimed.id), true);
    open();
    gate = undefined;
    await sleep(30);
    assert.equal(bob.got.length, 0, 'neither the held nor the claimed one was sent');
    // Under way: not abandoned (its outcome comes within its lease).
    const sent = tx('sent');
    await scheduler.storeNew([sent], clock.now());
    for (let i = 0; i < 50 && !bob.got.includes(sent.id); i++) await sleep(5);
    assert.deepEqual(bob.got, [sent.id]);
    assert.equal(scheduler.abandon(sent.id), false);
    bob.answerAll();
  } finally {
    open?.();
    bob.answerAll();
    await scheduler.stop();
    await sqlite.close();
  }
});

test('a claim pass that fails on the store (and its due-time query too) is tried again within the expiry interval, with nothing else to wake it', async () => {
  const bob = new HeldTarget();
  bob.room = 5;
  let failing = true;
  const fail = (t: SqliteStore, name: 'claimDue' | 'nextDueAt') => (...args: unknown[]) => {
    if (failing) return Promise.reject(new Error('too many clients'));
    return (t[name] as (...a: unknown[]) => Promise<unknown>).apply(t, args);
  };
  const { clock, sqlite, scheduler } = await setup(new Map([['esme:bob', bob]]), { expiryIntervalMs: 1000 }, {
    claimDue: (t) => fail(t, 'claimDue'),
    nextDueAt: (t) => fail(t, 'nextDueAt'),
  });
  try {
    const queued = mt();
    await sqlite.insert([queued]);
    await scheduler.start();
    await sleep(30);
    assert.deepEqual(bob.got, [], 'the first pass failed');
    failing = false;
    await sleep(30);
    assert.deepEqual(bob.got, [], 'nothing woke it');
    clock.advance(1000);
    for (let i = 0; i < 40 && bob.got.length === 0; i++) await sleep(5);
    assert.deepEqual(bob.got, [queued.id], 'the expiry timer ran another pass');
    bob.answerAll();
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await sqlite.close();
  }
});
