/**
 * Direct hand-over: a new message whose target is served here, has room and has nothing
 * waiting in the store is stored already leased and handed to the target at once, without a
 * claim. The scheduler with the real SQLite store and a test target; the store is wrapped only
 * to count claims. Timers run on a ManualClock; real time only lets store I/O settle.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageIdGenerator } from '../../src/core/message-id.js';
import { DeliveryScheduler } from '../../src/delivery/scheduler.js';
import type { DeliveryTarget, Outcome } from '../../src/delivery/target.js';
import { ManualClock } from '../../src/session/clock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewMessage, Store, StoredMessage } from '../../src/store/types.js';
import { makeMessage } from '../contract/store-contract.js';

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

async function setup(targets: Map<string, DeliveryTarget>) {
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
  const scheduler = new DeliveryScheduler({
    store,
    clock,
    ids: new MessageIdGenerator(1, () => clock.now()),
    nodeId: 'n1',
    targets: () => targets,
    leaseMs: 60_000,
    retryDelayMs: 60_000,
    maxRetryDelayMs: 600_000,
  });
  const settle = async (cond: () => boolean | Promise<boolean>, what: string) => {
    for (let i = 0; i < 500; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  /** What the core does: reserve, insert (leased or not), hand over or wake the scheduler. */
  const submit = async (msgs: NewMessage[]) => {
    for (const m of msgs) m.lease = scheduler.reserve(m.target, clock.now());
    await store.insert(msgs);
    scheduler.handOver(msgs);
    for (const m of msgs) if (m.lease === undefined) scheduler.notify(m.target);
  };
  /** Waits until the scheduler knows bob's queue is empty (its first claim found nothing). */
  const knownIdle = async () => {
    await settle(() => scheduler.reserve('esme:bob', T0) !== undefined, 'the target known idle');
    scheduler.unreserve([mt({ lease: { owner: 'n1', until: T0 + 60_000 } })]);
  };
  return { clock, store, scheduler, settle, submit, knownIdle, claims: () => claims };
}

test('an idle target with room gets new messages without a claim, leased and delivered once', async () => {
  const bob = new HeldTarget();
  const { store, scheduler, settle, submit, knownIdle, claims } = await setup(new Map([['esme:bob', bob]]));
  try {
    await scheduler.start();
    await knownIdle();
    const before = claims();
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

test('beyond the room, new messages are stored unleased and delivered by claims, in submission order', async () => {
  const bob = new HeldTarget();
  bob.room = 2;
  const { store, scheduler, settle, submit, knownIdle, claims } = await setup(new Map([['esme:bob', bob]]));
  try {
    await scheduler.start();
    await knownIdle();
    const msgs = Array.from({ length: 6 }, () => mt());
    await submit(msgs);
    assert.equal(msgs.filter((m) => m.lease !== undefined).length, 2, 'two leased: the room');
    assert.deepEqual(bob.got.map((m) => m.id), msgs.slice(0, 2).map((m) => m.id));
    const before = claims();
    while (bob.got.length < 6) {
      const seen = bob.got.length;
      bob.answerAll();
      await settle(() => bob.got.length > seen, 'the next claim');
    }
    bob.answerAll();
    assert.deepEqual(bob.got.map((m) => m.id), msgs.map((m) => m.id), 'each once, in submission order');
    assert.ok(claims() > before, 'the rest came through claims');
    await settle(async () => (await store.countByState()).DELIVERED === 6, 'all recorded');
  } finally {
    await scheduler.stop();
    await store.close();
  }
});

test('no hand-over while older messages of the target wait in the store: they are not overtaken', async () => {
  const bob = new HeldTarget();
  bob.room = 100;
  const targets = new Map<string, DeliveryTarget>();
  const { store, scheduler, settle, submit } = await setup(targets);
  try {
    const old = [mt(), mt()];
    await store.insert(old); // queued while bob was not bound
    await scheduler.start();
    assert.equal(scheduler.reserve('esme:bob', T0), undefined, 'not served here: no lease');
    targets.set('esme:bob', bob);
    const fresh = mt();
    await submit([fresh]);
    assert.equal(fresh.lease, undefined, 'the target had not been claimed yet: its queue is unknown');
    await settle(() => bob.got.length === 3, 'all three delivered');
    assert.deepEqual(bob.got.map((m) => m.id), [...old, fresh].map((m) => m.id));
  } finally {
    bob.answerAll();
    await scheduler.stop();
    await store.close();
  }
});

test('a target gone between reserve and hand-over: the lease is given back and a later claim delivers it', async () => {
  const bob = new HeldTarget();
  const targets = new Map<string, DeliveryTarget>([['esme:bob', bob]]);
  const { store, scheduler, settle, knownIdle } = await setup(targets);
  try {
    await scheduler.start();
    await knownIdle();
    const m = mt();
    m.lease = scheduler.reserve(m.target, T0);
    assert.ok(m.lease !== undefined);
    await store.insert([m]);
    targets.delete('esme:bob'); // bob unbound while the insert committed
    scheduler.handOver([m]);
    await settle(async () => (await store.get(m.id))?.leaseOwner === null, 'the lease given back');
    assert.equal((await store.get(m.id))?.attempts, 0, 'never sent: not an attempt');
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

test('a failed insert (a duplicate id) gives the reserved room back', async () => {
  const bob = new HeldTarget();
  bob.room = 1;
  const { store, scheduler, knownIdle } = await setup(new Map([['esme:bob', bob]]));
  try {
    const first = mt({ target: 'elsewhere' });
    await store.insert([first]);
    await scheduler.start();
    await knownIdle();
    const dup = mt({ id: first.id });
    dup.lease = scheduler.reserve(dup.target, T0);
    assert.ok(dup.lease !== undefined);
    assert.equal(scheduler.reserve('esme:bob', T0), undefined, 'room for one, reserved');
    await assert.rejects(store.insert([dup]));
    scheduler.unreserve([dup]);
    const next = mt();
    next.lease = scheduler.reserve(next.target, T0);
    assert.ok(next.lease !== undefined, 'room again');
  } finally {
    await scheduler.stop();
    await store.close();
  }
});
