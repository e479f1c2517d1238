/**
 * Direct hand-over: a new message whose target is served here is stored already leased to this
 * node and held in memory, and goes to the target as it has room and nothing older waits in
 * the store, without a claim. The scheduler with the real SQLite store and a test target; the
 * store is wrapped only to count claims. Timers run on a ManualClock; real time only lets
 * store I/O settle.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeliveryTarget, Outcome } from '../../src/delivery/target.js';
import { ManualClock } from '../../src/session/clock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewMessage, Store, StoredMessage } from '../../src/store/types.js';
import { makeMessage } from '../contract/store-contract.js';
import { testScheduler } from '../support/scheduler.js';

const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);

function mt(over: Partial<NewMessage> = {}): NewMessage {
  return makeMessage({ target: 'esme:bob', registeredDelivery: 0, submittedAt: T0, scheduleAt: T0, expiresAt: T0 + 86_400_000, ...over });
}

/** A target taking `room` messages at once; each delivery waits until the test answers it. */
class HeldTarget implements DeliveryTarget {
  room = 3;
  readonly got: StoredMessage[] = [];
  readonly #pending: ((o: Outcome) => void)[] = [];
  capacity(): number {
    return Math.max(0, this.room - this.#pending.length);
  }
  deliver(m: StoredMessage): Promise<Outcome> {
    this.got.push(m);
    return new Promise((resolve) => this.#pending.push(resolve));
  }
  answerAll(o: Outcome = { kind: 'delivered' }): void {
    for (const r of this.#pending.splice(0)) r(o);
  }
}

async function setup(targets: Map<string, DeliveryTarget>, over: { holdLimit?: number; holdTotal?: number; leaseMs?: number } = {}) {
  const clock = new ManualClock(T0);
  const sqlite = new SqliteStore({ path: ':memory:', commitDelayMs: 0 });
  await sqlite.init();
  let claims = 0;
  const store = new Proxy(sqlite, {
    get(t, key) {
      if (key === 'claimDue') {
        return (...args: Parameters<Store['claimDue']>) => {
          claims++;
          return t.claimDue(...args);
        };
      }
      const v = Reflect.get(t, key, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  const scheduler = testScheduler(store, clock, targets, over);
  const settle = async (cond: () => boolean | Promise<boolean>, what: string) => {
    for (let i = 0; i < 500; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  /** What the core does with new messages. */
  const submit = (msgs: NewMessage[]) => scheduler.storeNew(msgs, clock.now());
  /** Starts the scheduler and lets its first pass (a claim when bob has room, finding his queue empty) finish. */
  const started = async () => {
    await scheduler.start();
    await new Promise((r) => setTimeout(r, 30));
  };
  /** Real time for store I/O, then the scheduler's next pass. */
  const pass = async () => {
    await new Promise((r) => setTimeout(r, 20));
    scheduler.kick();
    await new Promise((r) => setTimeout(r, 20));
  };
  return { clock, store, scheduler, settle, submit, started, pass, claims: () => claims };
}

test('an idle target with room gets new messages without a claim, leased and delivered once', async () => {
  const bob = new HeldTarget();
  const { store, scheduler, settle, submit, started, claims } = await setup(new Map([['esme:bob', bob]]));
  try {
    await started();
    const before = claims();
    assert.equal(before, 1, 'the first pass claimed nothing: bob is idle');
    const [a, b] = [mt(), mt()];
    await submit([a, b]);
    assert.deepEqual(bob.got.map((m) => m.id), [a.id, b.id], 'handed over at once, in order');
    assert.equal(bob.got[0]?.leaseOwner, 'n1');
    assert.equal((await store.get(a.id))?.leaseOwner, 'n1', 'stored leased: nobody else claims it');
    bob.answerAll();
    await settle(async () => (await store.get(b.id))?.state === 'DELIVERED', 'both delivered');
    assert.equal((await store.get(a.id))?.state, 'DELIVERED');
    assert.equal(claims(), before, 'no claim was needed');
    assert.equal(scheduler.stats.delivered, 2);
  } finally {
    await scheduler.stop();
    await store.close();
  }
});

test('beyond the room, held messages wait in memory and go out as the room frees, in order, without claims', async () => {
  const bob = new HeldTarget();
  bob.room = 2;
  const { store, scheduler, settle, submit, started, claims } = await setup(new Map([['esme:bob', bob]]));
  try {
    await started();
    const before = claims();
    const msgs = Array.from({ length: 6 }, () => mt());
    await submit(msgs);
    assert.ok(msgs.every((m) => m.lease !== undefined), 'all stored leased');
    assert.deepEqual(bob.got.map((m) => m.id), msgs.slice(0, 2).map((m) => m.id), 'as many as the room');
    while (bob.got.length < 6) {
      const seen = bob.got.length;
      bob.answerAll();
      await settle(() => bob.got.length > seen, 'the next held ones');
    }
    bob.answerAll();
    assert.deepEqual(bob.got.map((m) => m.id), msgs.map((m) => m.id), 'each once, in submission order');
    await settle(async () => (await store.countByState()).DELIVERED === 6, 'all recorded');
    assert.equal(claims(), before, 'no claim was needed');
  } finally {
    await scheduler.stop();
    await store.close();
  }
});

test('held messages wait behind older ones queued in the store: they are not overtaken', async () => {
  const bob = new HeldTarget();
  bob.room = 100;
  const targets = new Map<string, DeliveryTarget>();
  const { store, scheduler, settle, submit, started } = await setup(targets);
  try {
    const old = [mt(), mt()];
    await store.insert(old); // queued while bob was not bound
    await started();
    targets.set('esme:bob', bob); // bob binds
    const fresh = mt();
    await submit([fresh]);
    assert.ok(fresh.lease !== undefined, 'held');
    assert.equal(bob.got.length, 0, 'the store queue of bob is not known to be empty yet');
    scheduler.notify('esme:bob'); // what the bind does
    await settle(() => bob.got.length === 3, 'all three delivered');
    assert.deepEqual(bob.got.map((m) => m.id), [...old, fresh].map((m) => m.id));
    const elsewhere = mt({ target: 'esme:carol' });
    await submit([elsewhere]);
    assert.equal(elsewhere.lease, undefined, 'not served here: no lease');
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('a full held line spills into the store with everything after it: order kept, all delivered by claims', async () => {
  const bob = new HeldTarget();
  bob.room = 0;
  const { store, scheduler, settle, submit, started } = await setup(new Map([['esme:bob', bob]]), { holdLimit: 3 });
  try {
    await started();
    const msgs = Array.from({ length: 5 }, () => mt());
    for (const m of msgs) await submit([m]);
    assert.deepEqual(msgs.map((m) => m.lease !== undefined), [true, true, true, false, false], 'three held, then the store');
    await settle(async () => (await store.leasedTo('n1')).length === 0, 'the held ones given back to the store');
    bob.room = 10;
    scheduler.notify('esme:bob');
    await settle(() => bob.got.length === 5, 'all delivered');
    assert.deepEqual(bob.got.map((m) => m.id), msgs.map((m) => m.id), 'in submission order');
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('past a fifth of holdLimit a target holds more only while all targets hold fewer than holdTotal', async () => {
  const bob = new HeldTarget();
  const carol = new HeldTarget();
  bob.room = 0;
  carol.room = 0;
  // Each may hold 2 (a fifth of 10) whatever the other holds, and up to 10 while the two hold fewer than 12.
  const { store, scheduler, submit, started } = await setup(
    new Map<string, DeliveryTarget>([
      ['esme:bob', bob],
      ['esme:carol', carol],
    ]),
    { holdLimit: 10, holdTotal: 12 },
  );
  try {
    await started();
    const toBob = Array.from({ length: 8 }, () => mt());
    for (const m of toBob) await submit([m]);
    assert.ok(
      toBob.every((m) => m.lease !== undefined),
      'bob holds eight: past his share while the two hold fewer than twelve',
    );
    const toCarol = Array.from({ length: 5 }, () => mt({ target: 'esme:carol' }));
    for (const m of toCarol) await submit([m]);
    assert.deepEqual(
      toCarol.map((m) => m.lease !== undefined),
      [true, true, true, true, false],
      'carol: her share of two, then two more while the total is under twelve, then the store',
    );
    const more = mt();
    await submit([more]);
    assert.notEqual(more.lease, undefined, "carol's overflow gave her line back to the store: bob may hold a ninth");
  } finally {
    bob.answerAll();
    carol.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('a held message whose lease is half gone is given back to the store, never sent late', async () => {
  const bob = new HeldTarget();
  bob.room = 0;
  const { clock, store, scheduler, settle, submit, started, pass } = await setup(new Map([['esme:bob', bob]]), { leaseMs: 1000 });
  try {
    await started();
    const m = mt();
    await submit([m]);
    await pass();
    assert.equal((await store.get(m.id))?.leaseOwner, 'n1', 'still held');
    clock.advance(600);
    await pass();
    await settle(async () => (await store.get(m.id))?.leaseOwner === null, 'given back');
    assert.equal((await store.get(m.id))?.attempts, 0, 'never sent: not an attempt');
    bob.room = 1;
    scheduler.notify('esme:bob');
    await settle(() => bob.got.length === 1, 'claimed and delivered');
    assert.equal(bob.got[0]?.id, m.id);
    assert.equal(bob.got[0]?.leaseUntil, clock.now() + 1000, 'under a fresh lease');
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('a target gone while messages are held: they are given back and delivered by a claim after the bind', async () => {
  const bob = new HeldTarget();
  bob.room = 0;
  const targets = new Map<string, DeliveryTarget>([['esme:bob', bob]]);
  const { store, scheduler, settle, submit, started, pass } = await setup(targets);
  try {
    await started();
    const m = mt();
    await submit([m]);
    targets.delete('esme:bob'); // bob unbinds
    await pass();
    await settle(async () => (await store.get(m.id))?.leaseOwner === null, 'the lease given back');
    assert.equal((await store.get(m.id))?.attempts, 0, 'never sent: not an attempt');
    bob.room = 1;
    targets.set('esme:bob', bob);
    scheduler.notify('esme:bob');
    await settle(() => bob.got.length === 1, 'delivered after the bind');
    assert.equal(bob.got[0]?.id, m.id);
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('takeOut: a held message cancelled is never sent; one replaced is sent with its new content; one whose change failed is put back', async () => {
  const bob = new HeldTarget();
  bob.room = 0;
  const { store, scheduler, settle, submit, started } = await setup(new Map([['esme:bob', bob]]));
  try {
    await started();
    const [a, b, c] = [mt(), mt(), mt()];
    await submit([a, b, c]);
    const owner = (await store.get(a.id))?.leaseOwner ?? null;
    assert.notEqual(owner, null, 'held: leased to this node');
    // Leased and not handed over: the store refuses a change (an attempt may be carrying it).
    assert.equal(await store.cancel(a.id, T0 + 1), undefined);
    assert.ok(scheduler.takeOut(a.id) !== undefined);
    assert.ok((await store.cancel(a.id, T0 + 1, undefined, owner)) !== undefined);
    assert.ok(scheduler.takeOut(b.id) !== undefined);
    assert.ok((await store.replace(b.id, { payload: Buffer.from('new text') }, T0 + 1, owner)) !== undefined);
    assert.equal((await store.get(b.id))?.leaseOwner, null, 'the replaced one back in the store queue');
    // A change that did not apply: put back, released to the store.
    const putBack = scheduler.takeOut(c.id);
    assert.ok(putBack !== undefined);
    assert.equal(scheduler.takeOut(c.id), undefined, 'no longer held');
    putBack();
    await settle(async () => (await store.get(c.id))?.leaseOwner === null, 'the put back one released');
    bob.room = 5;
    scheduler.notify('esme:bob');
    await settle(() => bob.got.length === 2, 'the replaced one and the put back one delivered');
    assert.deepEqual(
      bob.got.map((m) => [m.id, m.payload.toString()]).sort(),
      [
        [b.id, 'new text'],
        [c.id, c.payload.toString()],
      ].sort(),
      'the cancelled one never went out',
    );
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('a failed insert (a duplicate id) gives its reservation back', async () => {
  const bob = new HeldTarget();
  const { store, scheduler, started } = await setup(new Map([['esme:bob', bob]]), { holdLimit: 1 });
  try {
    const first = mt({ target: 'elsewhere' });
    await store.insert([first]);
    await started();
    const dup = mt({ id: first.id });
    await assert.rejects(scheduler.storeNew([dup], T0));
    assert.ok(dup.lease !== undefined, 'it was to be held');
    const next = mt();
    await scheduler.storeNew([next], T0);
    assert.ok(next.lease !== undefined, 'the line of one has room again');
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('when the oldest held message must go back to the store, the whole line goes with it: no later one overtakes it', async () => {
  const bob = new HeldTarget();
  bob.room = 0;
  const { clock, store, scheduler, settle, submit, started, pass } = await setup(new Map([['esme:bob', bob]]), { leaseMs: 1000 });
  try {
    await started();
    const m1 = mt();
    await submit([m1]);
    clock.advance(400);
    const m2 = mt({ submittedAt: T0 + 400, scheduleAt: T0 + 400 });
    await submit([m2]);
    clock.advance(200); // m1 has less than a whole lease left, m2 more
    bob.room = 2; // and a slot frees while bob is idle
    await pass();
    await settle(() => bob.got.length === 2, 'both delivered (through claims)');
    assert.deepEqual(bob.got.map((m) => m.id), [m1.id, m2.id]);
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('stop gives the held messages back to the store, for whichever node the ESME binds to next', async () => {
  const bob = new HeldTarget();
  bob.room = 0;
  const { store, scheduler, submit, started } = await setup(new Map([['esme:bob', bob]]));
  try {
    await started();
    await submit([mt(), mt()]);
    assert.equal((await store.leasedTo('n1')).length, 2);
    await scheduler.stop();
    assert.deepEqual(await store.leasedTo('n1'), []);
    assert.equal((await store.countByState()).ENROUTE, 2, 'still pending');
  } finally {
    await scheduler.stop();
    await store.close();
  }
});

test('a permanent failure for a destination (RX_P_APPN) ends the held messages to it: they are never sent', async () => {
  const bob = new HeldTarget();
  bob.room = 1;
  const { store, scheduler, settle, submit, started } = await setup(new Map([['esme:bob', bob]]));
  try {
    await started();
    const [m1, m2] = [mt(), mt()];
    await submit([m1, m2]);
    assert.deepEqual(bob.got.map((m) => m.id), [m1.id], 'm2 held: no room');
    bob.answerAll({ kind: 'failed', state: 'UNDELIVERABLE', errorCode: 0x63, allToDestination: true });
    await settle(async () => (await store.get(m2.id))?.state === 'UNDELIVERABLE', 'm2 ended with m1');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(bob.got.map((m) => m.id), [m1.id], 'm2 never went out');
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('a held message past its validity is not sent: it goes back to the store and the expiry run ends it', async () => {
  const bob = new HeldTarget();
  bob.room = 0;
  const { clock, store, scheduler, settle, submit, started, pass } = await setup(new Map([['esme:bob', bob]]));
  try {
    await started();
    const m = mt({ expiresAt: T0 + 100 });
    await submit([m]);
    clock.advance(200);
    bob.room = 1;
    await pass();
    await settle(async () => (await store.get(m.id))?.leaseOwner === null, 'given back');
    await scheduler.expireNow();
    assert.equal((await store.get(m.id))?.state, 'EXPIRED');
    assert.equal(bob.got.length, 0);
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('stop() called twice while an attempt is under way: both return once the attempt is recorded', async () => {
  const bob = new HeldTarget();
  const { store, scheduler, settle, submit, started } = await setup(new Map([['esme:bob', bob]]));
  try {
    await started();
    await submit([mt()]);
    assert.equal(bob.got.length, 1, 'the attempt is under way');
    const returned = { first: false, second: false };
    const first = scheduler.stop().then(() => (returned.first = true));
    const second = scheduler.stop().then(() => (returned.second = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(returned, { first: false, second: false }, 'both wait for the attempt');
    bob.answerAll();
    await settle(() => returned.first && returned.second, 'both stop() calls returned');
    await Promise.all([first, second]);
  } finally {
    await scheduler.stop();
    await store.close();
  }
});
