/**
 * The behaviour every {@link Store} must show, as one suite that each backend's test file
 * runs unchanged: `storeContract('sqlite', makeFixture)`.
 *
 * Time is driven explicitly (`T0 + n`), never read from the clock, and nothing sleeps: a test
 * waits only for the promises the store returns (or, for notifications, for the callback).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isDuplicateId } from '../../src/store/common.js';
import { finalReceiptId } from '../../src/store/receipts.js';
import {
  MessageState,
  type MessageStateName,
  type NewMessage,
  type Store,
  type StoredMessage,
  type StoreOptions,
} from '../../src/store/types.js';
import { configStoreContract } from './config-store-contract.js';

/** One isolated backing database for one test. */
export interface StoreFixture {
  /** A new, not yet initialised store on this fixture's database; may be called many times. */
  open(options?: StoreOptions): Store;
  /** Removes the database (all stores opened on it are closed first by the suite). */
  dispose(): Promise<void>;
}

/** Creates a fresh, empty {@link StoreFixture}. */
export type MakeStoreFixture = () => Promise<StoreFixture>;

/** Optional suite-wide hooks (e.g. keep a shared database server up for the whole suite). */
export interface ContractHooks {
  before?: () => Promise<void>;
  after?: () => Promise<void>;
}

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

let idSeq = 0;

/** A plain immediate MT message; override anything. */
export function makeMessage(over: Partial<NewMessage> = {}): NewMessage {
  return {
    id: `m${++idSeq}`,
    direction: 'mt',
    account: 'alice',
    target: 'esme:bob',
    batchId: null,
    source: { ton: 1, npi: 1, addr: '447700900001' },
    destination: { ton: 1, npi: 1, addr: '447700900002' },
    serviceType: '',
    esmClass: 0,
    protocolId: 0,
    priority: 0,
    dataCoding: 0,
    registeredDelivery: 1,
    payload: Buffer.from('hello'),
    payloadInTlv: false,
    tlvs: null,
    submittedAt: T0,
    scheduleAt: T0,
    expiresAt: T0 + DAY,
    receiptFor: null,
    originNode: null,
    originSession: null,
    ...over,
  };
}

/** A message with every field set to a value of its own (every byte value in the payload); override anything. */
export function makeFullMessage(over: Partial<NewMessage> = {}): NewMessage {
  return makeMessage({
    direction: 'receipt',
    account: 'acc-ü',
    target: 'upstream-a',
    batchId: 'batch-1',
    source: { ton: 5, npi: 0, addr: 'SMSC Ünïcode' },
    destination: { ton: 2, npi: 9, addr: '+4915112345678' },
    serviceType: 'CMT',
    esmClass: 0x44,
    protocolId: 0x7f,
    priority: 3,
    dataCoding: 8,
    registeredDelivery: 0x11,
    payload: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    payloadInTlv: true,
    tlvs: Buffer.from([0x14, 0x27, 0x00, 0x01, 0x00, 0xff, 0xfe]),
    submittedAt: T0 + 1,
    scheduleAt: T0 + 60_000,
    expiresAt: 8_640_000_000_000, // far future, beyond 2^32 seconds
    receiptFor: 'orig-42',
    originNode: 'node-1',
    originSession: 'sess-9',
    ...over,
  });
}

/** What get() must return right after insert(). */
export function asInserted(m: NewMessage): StoredMessage {
  return {
    ...m,
    state: m.scheduleAt > m.submittedAt ? MessageState.SCHEDULED : MessageState.ENROUTE,
    attempts: 0,
    nextAttemptAt: m.scheduleAt,
    leaseOwner: null,
    leaseUntil: 0,
    finalAt: null,
    errorCode: 0,
    failover: m.failover ?? [],
    remoteId: null,
  };
}

const ids = (ms: readonly { id: string }[]) => ms.map((m) => m.id);
const sortedIds = (ms: readonly { id: string }[]) => ids(ms).sort();

interface Harness {
  /** Opens and initialises a store on the test's database. */
  open(options?: StoreOptions): Promise<Store>;
  /** Opens without init(). */
  openRaw(options?: StoreOptions): Store;
}

/** Collects notifications and lets a test wait for a given target. */
function notifications(): { listener: (t: string) => void; seen: string[]; waitFor(target: string): Promise<void> } {
  const seen: string[] = [];
  const waiters: { target: string; resolve: () => void }[] = [];
  return {
    seen,
    listener(t) {
      seen.push(t);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.target === t) waiters.splice(i, 1)[0]!.resolve();
      }
    },
    waitFor(target) {
      if (seen.includes(target)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ target, resolve }));
    },
  };
}

/**
 * Registers the contract suite for one backend. `makeStore` gives each test a fresh database.
 */
export function storeContract(name: string, makeStore: MakeStoreFixture, hooks: ContractHooks = {}): void {
  configStoreContract(name, makeStore);
  async function withStores(fn: (h: Harness) => Promise<void>): Promise<void> {
    const fx = await makeStore();
    const opened: Store[] = [];
    const h: Harness = {
      openRaw(options) {
        const s = fx.open(options);
        opened.push(s);
        return s;
      },
      async open(options) {
        const s = h.openRaw(options);
        await s.init();
        return s;
      },
    };
    try {
      await fn(h);
    } finally {
      for (const s of opened) await s.close().catch(() => {});
      await fx.dispose();
    }
  }

  /** Claims everything due for `targets` at `now` and returns it. */
  async function claim(s: Store, targets: string[], now: number, owner = 'A', limit = 100, leaseMs = 1000) {
    return s.claimDue({ targets, now, limit, leaseMs, owner });
  }

  describe(`store contract: ${name}`, () => {
    if (hooks.before !== undefined) before(hooks.before);
    if (hooks.after !== undefined) after(hooks.after);

    test('init is idempotent, concurrent init is safe, and a reopened store keeps its data', () =>
      withStores(async (h) => {
        const a = h.openRaw();
        const b = h.openRaw();
        await Promise.all([a.init(), b.init()]);
        await a.init();
        const m = makeMessage();
        await a.insert([m]);
        await a.close();
        await b.close();
        const c = await h.open();
        assert.deepEqual(await c.get(m.id), asInserted(m));
      }));

    test('insert + get round-trips every field, Buffer bytes exactly', () =>
      withStores(async (h) => {
        const s = await h.open();
        const full = makeFullMessage();
        const everyByte = full.payload;
        const empty = makeMessage({ payload: Buffer.alloc(0), serviceType: '' });
        const big = makeMessage({ payload: Buffer.alloc(65_536, 0xa5), dataCoding: 4, payloadInTlv: true });
        await s.insert([full, empty, big]);
        const gotFull = await s.get(full.id);
        assert.deepEqual(gotFull, asInserted(full));
        assert.equal(gotFull?.state, MessageState.SCHEDULED);
        assert.ok(Buffer.isBuffer(gotFull?.payload));
        assert.ok(gotFull?.payload.equals(everyByte));
        const gotEmpty = await s.get(empty.id);
        assert.deepEqual(gotEmpty, asInserted(empty));
        assert.equal(gotEmpty?.state, MessageState.ENROUTE);
        assert.equal(gotEmpty?.payload.length, 0);
        assert.deepEqual(await s.get(big.id), asInserted(big));
        assert.equal(await s.get('no-such-id'), undefined);
        await s.insert([]);
      }));

    test('a duplicate id fails only its own insert call, and one call is all or nothing', () =>
      withStores(async (h) => {
        const s = await h.open({ commitDelayMs: 5 });
        const a = makeMessage();
        const b = makeMessage();
        const c = makeMessage();
        const results = await Promise.allSettled([s.insert([a]), s.insert([{ ...a, account: 'other' }]), s.insert([b])]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        // The core stores the message again under a new id on exactly this error (ids after a restart).
        assert.ok(isDuplicateId((results[1] as PromiseRejectedResult).reason), 'the refusal reads as a duplicate id');
        assert.ok(!isDuplicateId(new Error('disk I/O error')));
        assert.equal((await s.get(a.id))?.account, 'alice');
        assert.ok(await s.get(b.id));
        await assert.rejects(s.insert([c, a]));
        assert.equal(await s.get(c.id), undefined, 'no row of a failed call is kept');
        assert.equal(s.stats().insertCalls, 2);
        assert.equal(s.stats().insertRows, 2);
      }));

    test('group commit: 100 concurrent inserts share far fewer transactions', () =>
      withStores(async (h) => {
        const s = await h.open({ commitDelayMs: 5 });
        const before = s.stats();
        const msgs = Array.from({ length: 100 }, () => makeMessage());
        await Promise.all(msgs.map((m) => s.insert([m])));
        const after = s.stats();
        const calls = after.insertCalls - before.insertCalls;
        const batches = after.commitBatches - before.commitBatches;
        assert.equal(calls, 100);
        assert.equal(after.insertRows - before.insertRows, 100);
        assert.ok(batches < calls, `batches ${batches} should be < calls ${calls}`);
        assert.ok(batches <= 10, `expected at most 10 transactions, got ${batches}`);
        assert.equal((await s.countByState()).ENROUTE, 100);
      }));

    test('writes made in one tick each get their own answer (the worker-thread store merges them)', () =>
      withStores(async (h) => {
        const s = await h.open();
        const leased = [1, 2, 3].map(() => makeMessage({ target: 'direct-1', lease: { owner: 'n1', until: T0 + 60_000 } }));
        await Promise.all(leased.map((m) => s.insert([m])));
        const [a, b, c] = leased as [NewMessage, NewMessage, NewMessage];
        const fresh = [makeMessage(), makeMessage(), makeMessage()];
        // Outcomes, one of them not the lease holder's, and inserts, one a duplicate, all in one tick.
        const results = await Promise.allSettled([
          s.markDelivered(a.id, T0 + 5, 'n1'),
          s.insert([fresh[0]!]),
          s.markDelivered(b.id, T0 + 5, 'n2'),
          s.insert([{ ...a, account: 'dup' }]),
          s.markDelivered(c.id, T0 + 6, 'n1'),
          s.insert([fresh[1]!, fresh[2]!]),
          s.markDelivered('no-such-id', T0 + 6, 'n1'),
        ]);
        assert.deepEqual(
          results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected')),
          [true, undefined, false, 'rejected', true, undefined, false],
        );
        assert.deepEqual(
          await Promise.all(leased.map(async (m) => (await s.get(m.id))?.state)),
          [MessageState.DELIVERED, MessageState.ENROUTE, MessageState.DELIVERED],
        );
        assert.equal((await s.get(a.id))?.account, 'alice', 'the duplicate left the first row as it was');
        for (const m of fresh) assert.equal((await s.get(m.id))?.state, MessageState.ENROUTE);
        const stats = s.stats();
        assert.equal(stats.insertCalls, 5, 'each successful insert call counts once, merged or not');
        assert.equal(stats.insertRows, 6);
        assert.equal(stats.commitCalls, 10, 'three inserts, then seven writes, each counted once');
      }));

    test('group commit: a full batch commits at once without waiting for the window', () =>
      withStores(async (h) => {
        // A one-minute window: if size-triggered commits did not happen this would time out.
        const s = await h.open({ commitDelayMs: 60_000, maxBatch: 10 });
        const before = s.stats().commitBatches;
        await Promise.all(Array.from({ length: 30 }, () => s.insert([makeMessage()])));
        assert.equal(s.stats().commitBatches - before, 3);
        // A single call bigger than maxBatch is never split.
        await s.insert(Array.from({ length: 25 }, () => makeMessage()));
        assert.equal(s.stats().commitBatches - before, 4);
        assert.equal((await s.countByState()).ENROUTE, 55);
      }));

    test('claimDue honours scheduleAt, nextAttemptAt, expiresAt and targets', () =>
      withStores(async (h) => {
        const s = await h.open();
        const now = makeMessage({ target: 't1' });
        const later = makeMessage({ target: 't1', scheduleAt: T0 + 1000 });
        const expiring = makeMessage({ target: 't1', expiresAt: T0 + 10 });
        const other = makeMessage({ target: 't2' });
        await s.insert([now, later, expiring, other]);

        assert.deepEqual(sortedIds(await claim(s, ['t1'], T0 + 10)), [now.id]);
        const got = await s.get(now.id);
        assert.equal(got?.state, MessageState.ENROUTE);
        assert.equal(got?.leaseOwner, 'A');
        assert.equal(got?.leaseUntil, T0 + 10 + 1000);
        assert.equal(got?.attempts, 0);

        assert.deepEqual(await claim(s, ['t1'], T0 + 999), []);
        const [sch] = await claim(s, ['t1'], T0 + 1000, 'B');
        assert.equal(sch?.id, later.id);
        assert.equal(sch?.state, MessageState.ENROUTE, 'a claimed scheduled message is en route');
        assert.equal(await s.markDelivered(later.id, T0 + 1001, 'B'), true);
        assert.deepEqual(await claim(s, ['t1', 'nope'], T0 + 1000), [], 'the expired message is never claimed');
        assert.deepEqual(ids(await claim(s, ['t2'], T0)), [other.id]);
        assert.deepEqual(await claim(s, [], T0), []);

        // nextAttemptAt: a retry is due exactly at its time.
        assert.equal(await s.retryLater(now.id, T0 + 5000, 0x58, 'A', T0 + 20), true);
        assert.deepEqual(await claim(s, ['t1'], T0 + 4999), []);
        const [retried] = await claim(s, ['t1'], T0 + 5000);
        assert.equal(retried?.id, now.id);
        assert.equal(retried?.attempts, 1);
      }));

    test('a live lease hides a message; when it lapses the message is due again (at-least-once)', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage();
        await s.insert([m]);
        assert.equal((await claim(s, ['esme:bob'], T0, 'A', 10, 1000)).length, 1);
        assert.deepEqual(await claim(s, ['esme:bob'], T0 + 999, 'B'), []);
        const [again] = await claim(s, ['esme:bob'], T0 + 1000, 'B', 10, 500);
        assert.equal(again?.id, m.id);
        assert.equal(again?.leaseOwner, 'B');
        assert.equal(again?.leaseUntil, T0 + 1500);
        assert.equal(again?.attempts, 0, 'an attempt that never reported is not counted');
      }));

    test('a message inserted leased is ENROUTE, hidden from claims until the lease ends, and sends no notification', () =>
      withStores(async (h) => {
        const s = await h.open();
        const heard = notifications();
        await s.onNotify(heard.listener);
        const leased = makeMessage({ target: 'direct-1', lease: { owner: 'n1', until: T0 + 30_000 } });
        const plain = makeMessage({ target: 'direct-2' });
        await s.insert([leased, plain]);
        await heard.waitFor('direct-2');
        assert.ok(!heard.seen.includes('direct-1'), 'nothing became claimable on direct-1');
        const got = await s.get(leased.id);
        assert.equal(got?.state, MessageState.ENROUTE);
        assert.equal(got?.leaseOwner, 'n1');
        assert.equal(got?.leaseUntil, T0 + 30_000);
        assert.equal(got?.attempts, 0);
        assert.deepEqual(await s.leasedTo('n1'), [leased.id]);
        assert.deepEqual(await claim(s, ['direct-1'], T0 + 29_999, 'n2'), [], 'leased: nobody else can claim it');
        assert.equal(await s.nextDueAt(['direct-1']), T0 + 30_000);
        assert.equal(await s.markDelivered(leased.id, T0 + 5, 'n2'), false, 'only the lease holder records the outcome');
        assert.equal(await s.markDelivered(leased.id, T0 + 5, 'n1'), true);
        assert.equal((await s.get(leased.id))?.state, MessageState.DELIVERED);
        assert.deepEqual(
          (await s.events(leased.id)).map((e) => [e.kind, e.at, e.detail]),
          [
            ['accepted', T0, 'target=direct-1'],
            ['attempt', T0, 'owner=n1 attempt=1'],
            ['delivered', T0 + 5, 'owner=n1'],
          ],
          'the hand-over is the first attempt',
        );

        // A node that died with a leased insert: the message is due again when the lease lapses.
        const orphan = makeMessage({ target: 'direct-1', lease: { owner: 'n3', until: T0 + 1000 } });
        await s.insert([orphan]);
        const [again] = await claim(s, ['direct-1'], T0 + 1000, 'n2');
        assert.equal(again?.id, orphan.id);
        assert.equal(again?.leaseOwner, 'n2');
      }));

    test('leasedTo lists the pending messages leased to an owner, so a restarted node can release them', () =>
      withStores(async (h) => {
        const s = await h.open();
        const a = makeMessage();
        const b = makeMessage();
        const c = makeMessage();
        await s.insert([a, b, c]);
        const claimed = await claim(s, ['esme:bob'], T0, 'n1', 2, 60_000);
        assert.equal(claimed.length, 2);
        assert.deepEqual((await s.leasedTo('n1')).sort(), claimed.map((m) => m.id).sort());
        assert.deepEqual(await s.leasedTo('n2'), []);
        await s.markDelivered(claimed[0]!.id, T0 + 1, 'n1');
        assert.deepEqual(await s.leasedTo('n1'), [claimed[1]!.id]);
        assert.equal(await s.release(await s.leasedTo('n1'), 'n1', T0 + 2), 1);
        assert.equal((await claim(s, ['esme:bob'], T0 + 3, 'n1', 10, 60_000)).length, 2, 'released: due again at once');
      }));

    test('leaseHolders names each owner of a lease on a pending message once, lapsed leases included', () =>
      withStores(async (h) => {
        const s = await h.open();
        assert.deepEqual(await s.leaseHolders(), []);
        await s.insert([makeMessage(), makeMessage(), makeMessage(), makeMessage()]);
        const byN1 = await claim(s, ['esme:bob'], T0, 'n1', 2, 1_000);
        const byN2 = await claim(s, ['esme:bob'], T0, 'n2', 1, 60_000);
        assert.equal(byN1.length + byN2.length, 3);
        // n1's leases have lapsed by now; they are still recorded (the node may be dead).
        assert.deepEqual((await s.leaseHolders()).sort(), ['n1', 'n2']);
        await s.markDelivered(byN2[0]!.id, T0 + 1, 'n2');
        assert.deepEqual(await s.leaseHolders(), ['n1'], 'a final message holds no lease');
        assert.equal(await s.release(await s.leasedTo('n1'), 'n1', T0 + 2), 2);
        assert.deepEqual(await s.leaseHolders(), []);
      }));

    test('failPendingTo ends the queued MT messages of a target to one destination, not those on their way, nor MO or receipts', () =>
      withStores(async (h) => {
        const s = await h.open();
        const to999 = { target: 'esme:bob', destination: { ton: 1, npi: 1, addr: '999' } };
        const a = makeMessage(to999);
        const b = makeMessage(to999);
        const c = makeMessage(to999);
        const mo = makeMessage({ ...to999, direction: 'mo' });
        const receipt = makeMessage({ ...to999, direction: 'receipt' });
        const other = makeMessage({ target: 'esme:bob', destination: { ton: 1, npi: 1, addr: '888' } });
        const elsewhere = makeMessage({ target: 'network', destination: { ton: 1, npi: 1, addr: '999' } });
        await s.insert([a, b, c, mo, receipt, other, elsewhere]);
        // a on its way (leased to A), b held unsent by A (leased, named), c queued.
        const claimed = ids(await claim(s, ['esme:bob'], T0, 'A', 2, 60_000));
        assert.deepEqual(claimed, [a.id, b.id]);
        const failed = await s.failPendingTo('esme:bob', '999', 'UNDELIVERABLE', 0x65, T0 + 5, undefined, [b.id]);
        assert.deepEqual(failed.map((m) => m.id).sort(), [b.id, c.id].sort());
        for (const m of failed) {
          assert.equal(m.state, 'UNDELIVERABLE');
          assert.equal(m.errorCode, 0x65);
          assert.equal(m.finalAt, T0 + 5);
        }
        for (const kept of [a, mo, receipt, other, elsewhere]) assert.equal((await s.get(kept.id))?.state, 'ENROUTE', kept.id);
        assert.equal(await s.markDelivered(a.id, T0 + 6, 'A'), true, 'the one on its way keeps its own outcome');
        assert.equal(await s.markDelivered(b.id, T0 + 6, 'A'), false, 'the held one ended');
        assert.deepEqual(await s.failPendingTo('esme:bob', '999', 'UNDELIVERABLE', 0x65, T0 + 7), []);
      }));

    test('finalize ends a pending message from outside an attempt, once', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage();
        await s.insert([m]);
        const [claimed] = await claim(s, ['esme:bob'], T0, 'A', 1, 60_000);
        assert.equal(claimed?.id, m.id);
        const done = await s.finalize(m.id, 'DELIVERED', T0 + 5, 0);
        assert.equal(done?.state, 'DELIVERED');
        assert.equal(done?.finalAt, T0 + 5);
        assert.equal(done?.leaseOwner, null);
        assert.equal(await s.finalize(m.id, 'UNDELIVERABLE', T0 + 6, 1), undefined, 'already final');
        assert.equal(await s.markDelivered(m.id, T0 + 7, 'A'), false, 'the old lease holder cannot touch it');
        assert.equal(await s.finalize('no-such-id', 'DELIVERED', T0, 0), undefined);
        assert.equal((await s.get(m.id))?.state, 'DELIVERED');
        assert.ok(
          (await s.events(m.id)).some((e) => e.kind === 'delivered' && e.detail === 'upstream state=DELIVERED error=0'),
          'the lifecycle says an upstream ended it (the default cause)',
        );
        // The lifecycle names the cause it is given, one per verdict (also in one batch).
        const waited = makeMessage();
        const part = makeMessage();
        await s.insert([waited, part]);
        await Promise.all([
          s.finalize(waited.id, 'UNDELIVERABLE', T0 + 8, 0, undefined, 'transaction-wait'),
          s.finalize(part.id, 'DELIVERED', T0 + 8, 0, undefined, 'reassembled'),
        ]);
        assert.ok((await s.events(waited.id)).some((e) => e.kind === 'failed' && e.detail === 'transaction-wait state=UNDELIVERABLE error=0'));
        assert.ok((await s.events(part.id)).some((e) => e.kind === 'delivered' && e.detail === 'reassembled state=DELIVERED error=0'));
      }));

    test('claimDue orders by due time then priority', () =>
      withStores(async (h) => {
        const s = await h.open();
        const late = makeMessage({ scheduleAt: T0 + 20, submittedAt: T0 });
        const lowPrio = makeMessage({ scheduleAt: T0 + 10, priority: 0 });
        const highPrio = makeMessage({ scheduleAt: T0 + 10, priority: 3 });
        const early = makeMessage({ scheduleAt: T0 + 5 });
        await s.insert([late, lowPrio, highPrio, early]);
        const got = await claim(s, ['esme:bob'], T0 + 100, 'A', 3);
        assert.deepEqual(ids(got), [early.id, highPrio.id, lowPrio.id]);
      }));

    test('claimDue shares the limit fairly across targets', () =>
      withStores(async (h) => {
        const s = await h.open();
        const many = Array.from({ length: 50 }, () => makeMessage({ target: 'busy' }));
        const few = Array.from({ length: 3 }, () => makeMessage({ target: 'quiet' }));
        await s.insert([...many, ...few]);
        const got = await claim(s, ['busy', 'quiet', 'empty'], T0, 'A', 10);
        assert.equal(got.length, 10);
        assert.equal(got.filter((m) => m.target === 'quiet').length, 3, 'the quiet target is not starved');
        assert.equal(got.filter((m) => m.target === 'busy').length, 7, 'unused shares go to the busy target');

        // With limit < number of targets, consecutive claims rotate over the targets.
        await s.insert(Array.from({ length: 4 }, (_, i) => makeMessage({ target: i % 2 === 0 ? 'x' : 'y' })));
        const first = await claim(s, ['x', 'y'], T0, 'A', 1);
        const second = await claim(s, ['x', 'y'], T0, 'A', 1);
        assert.equal(first.length, 1);
        assert.equal(second.length, 1);
        assert.notEqual(first[0]?.target, second[0]?.target);
      }));

    test('claimDue shares one target fairly between the accounts sending to it', () =>
      withStores(async (h) => {
        const s = await h.open();
        // alice queued 200 first; bob's 5 came later, with later due times.
        await s.insert(Array.from({ length: 200 }, () => makeMessage({ target: 'net', account: 'alice' })));
        const bobs = Array.from({ length: 5 }, (_, i) => makeMessage({ target: 'net', account: 'bob', submittedAt: T0 + 1 + i, scheduleAt: T0 + 1 + i }));
        await s.insert(bobs);
        const got = await claim(s, ['net'], T0 + 100, 'A', 20);
        assert.equal(got.length, 20);
        assert.deepEqual(
          got.filter((m) => m.account === 'bob').map((m) => m.id),
          bobs.map((m) => m.id),
          "bob's messages are not stuck behind alice's backlog (in his own order)",
        );
        assert.equal(got.filter((m) => m.account === 'alice').length, 15, "bob's unused share goes to alice");
      }));

    test('claimDue keeps insertion order among messages due at the same time (long message parts)', () =>
      withStores(async (h) => {
        const s = await h.open();
        const parts = Array.from({ length: 12 }, (_, i) => makeMessage({ id: `p${String(i).padStart(2, '0')}`, target: 'net' }));
        // Inserted in part order, across two calls, with ids that do not sort the same way as text.
        const shuffledIds = parts.map((p, i) => ({ ...p, id: ['9', '10', '11', '100', '101', '999', '1000', '1001', '1002', '5000', '5001', '9999'][i]! }));
        await s.insert(shuffledIds.slice(0, 5));
        await s.insert(shuffledIds.slice(5));
        const got = await claim(s, ['net'], T0 + 1, 'A', 12);
        assert.deepEqual(ids(got), ids(shuffledIds));
      }));

    test('reroute moves a pending message to another target with its remaining failover list', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage({ target: 'up-a', failover: ['up-b', 'net'] });
        const done = makeMessage({ target: 'up-a' });
        await s.insert([m, done]);
        assert.deepEqual((await s.get(m.id))?.failover, ['up-b', 'net']);
        const [leased] = await claim(s, ['up-a'], T0, 'A', 1);
        assert.equal(leased?.id, m.id);
        assert.equal(await s.reroute(m.id, 'up-b', ['net'], T0 + 1, 'B'), false, 'only the lease holder may move a leased message');
        assert.equal(await s.reroute(m.id, 'up-b', ['net'], T0 + 1, 'A'), true);
        const moved = await s.get(m.id);
        assert.equal(moved?.target, 'up-b');
        assert.deepEqual(moved?.failover, ['net']);
        assert.equal(moved?.leaseOwner, null);
        assert.equal(moved?.attempts, 0, 'a reroute is not an attempt');
        assert.deepEqual(ids(await claim(s, ['up-b'], T0 + 1, 'A', 5)), [m.id], 'due at once on the new target');
        await s.markDelivered(done.id, T0 + 2, 'A').catch(() => false);
        const [d] = await claim(s, ['up-a'], T0 + 2, 'A', 1);
        await s.markDelivered(d!.id, T0 + 2, 'A');
        assert.equal(await s.reroute(done.id, 'up-b', [], T0 + 3, null), false, 'a final message stays where it is');
        assert.ok((await s.events(m.id)).some((e) => e.kind === 'rerouted' && e.detail.includes('up-b')));
      }));

    test('failoverAll moves the unleased messages of a target that have failover connectors', () =>
      withStores(async (h) => {
        const s = await h.open();
        const twoLeft = makeMessage({ target: 'up-a', failover: ['up-b', 'net'] });
        const oneLeft = makeMessage({ target: 'up-a', failover: ['net'] });
        const none = makeMessage({ target: 'up-a' });
        const leased = makeMessage({ target: 'up-a', failover: ['net'], priority: 3, scheduleAt: T0 - 1 });
        await s.insert([twoLeft, oneLeft, none, leased]);
        assert.deepEqual(ids(await claim(s, ['up-a'], T0, 'A', 1)), [leased.id]);
        assert.deepEqual(await s.failoverAll('up-a', T0 + 1), { 'up-b': 1, net: 1 });
        const a = await s.get(twoLeft.id);
        assert.deepEqual([a?.target, a?.failover], ['up-b', ['net']]);
        const b = await s.get(oneLeft.id);
        assert.deepEqual([b?.target, b?.failover], ['net', []]);
        assert.equal((await s.get(none.id))?.target, 'up-a', 'without failover a message waits for its connector');
        assert.equal((await s.get(leased.id))?.target, 'up-a', 'a leased message is left to its attempt');
        assert.deepEqual(await s.failoverAll('up-a', T0 + 2), {});
      }));

    test('markForwarded parks a message under the next hop id until finalize', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage({ target: 'up-a', failover: ['net'] });
        await s.insert([m]);
        await claim(s, ['up-a'], T0, 'A', 1);
        assert.equal(await s.markForwarded(m.id, 'ABC123', T0 + DAY / 2, 'B', T0 + 1), false, 'only the lease holder');
        assert.equal(await s.markForwarded(m.id, 'ABC123', T0 + DAY / 2, 'A', T0 + 1), true);
        const parked = await s.get(m.id);
        assert.deepEqual([parked?.remoteId, parked?.attempts, parked?.leaseOwner], ['ABC123', 1, null]);
        assert.equal((await s.findForwarded('up-a', 'ABC123'))?.id, m.id);
        assert.equal(await s.findForwarded('up-b', 'ABC123'), undefined, 'ids are per connector');
        assert.deepEqual(await claim(s, ['up-a'], T0 + 1000, 'A', 5), [], 'not due again');
        assert.deepEqual(await s.failoverAll('up-a', T0 + 1000), {}, 'a forwarded message does not fail over');
        // The upstream has it: it delivers it, whatever a cancel or a replace here would say.
        assert.equal(await s.cancel(m.id, T0 + 1500), undefined, 'not cancelled');
        assert.equal(await s.replace(m.id, { payload: Buffer.from('new') }, T0 + 1500), undefined, 'not replaced');
        await s.finalize(m.id, 'DELIVERED', T0 + 2000, 0);
        assert.equal(await s.findForwarded('up-a', 'ABC123'), undefined, 'only pending messages are found');
      }));

    test('two claimers on the same database never get the same message', () =>
      withStores(async (h) => {
        const s1 = await h.open();
        const s2 = await h.open();
        const targets = ['t1', 't2', 't3'];
        const all = Array.from({ length: 300 }, (_, i) => makeMessage({ target: targets[i % 3]! }));
        await s1.insert(all);
        async function drain(s: Store, owner: string): Promise<string[]> {
          const got: string[] = [];
          for (;;) {
            const batch = await s.claimDue({ targets, now: T0, limit: 7, leaseMs: 60_000, owner });
            if (batch.length === 0) return got;
            got.push(...ids(batch));
          }
        }
        const [a, b, c, d] = await Promise.all([drain(s1, 'A'), drain(s2, 'B'), drain(s1, 'C'), drain(s2, 'D')]);
        const claimed = [...a, ...b, ...c, ...d];
        assert.equal(new Set(claimed).size, claimed.length, 'a message was claimed twice');
        assert.equal(claimed.length, all.length);
      }));

    test('markDelivered, markFailed and retryLater apply only for the current lease holder', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage();
        const f = makeMessage();
        const unclaimed = makeMessage();
        await s.insert([m, f, unclaimed]);
        await claim(s, ['esme:bob'], T0, 'A', 2);

        assert.equal(await s.markDelivered(m.id, T0 + 5, 'B'), false);
        assert.equal(await s.markDelivered(m.id, T0 + 5, 'A'), true);
        const d = await s.get(m.id);
        assert.equal(d?.state, MessageState.DELIVERED);
        assert.equal(d?.finalAt, T0 + 5);
        assert.equal(d?.attempts, 1);
        assert.equal(d?.leaseOwner, null);
        assert.equal(d?.errorCode, 0);
        assert.equal(await s.markDelivered(m.id, T0 + 6, 'A'), false, 'a final message stays final');
        assert.equal(await s.markFailed(m.id, 'UNDELIVERABLE', T0 + 6, 1, 'A'), false);
        assert.equal(await s.retryLater(m.id, T0 + 100, 1, 'A', T0 + 6), false);

        assert.equal(await s.markFailed(f.id, 'UNDELIVERABLE', T0 + 7, 0x45, 'A'), true);
        const failed = await s.get(f.id);
        assert.equal(failed?.state, MessageState.UNDELIVERABLE);
        assert.equal(failed?.errorCode, 0x45);
        assert.equal(failed?.finalAt, T0 + 7);
        assert.equal(failed?.attempts, 1);

        assert.equal(await s.markDelivered(unclaimed.id, T0, 'A'), false, 'no lease, no outcome');
        await assert.rejects(s.markFailed(unclaimed.id, 'ENROUTE' as 'REJECTED', T0, 0, 'A'), TypeError);
        await assert.rejects(s.markFailed(unclaimed.id, 'DELIVERED' as 'REJECTED', T0, 0, 'A'), TypeError);
      }));

    test('an outcome stores the receipt it carries only when it applies, leased as given', () =>
      withStores(async (h) => {
        const s = await h.open();
        const delivered = makeMessage();
        const failed = makeMessage();
        const stale = makeMessage();
        await s.insert([delivered, failed, stale]);
        await claim(s, ['esme:bob'], T0, 'A', 3);
        const receipt = (m: NewMessage, leased: boolean): NewMessage =>
          makeMessage({
            direction: 'receipt',
            target: 'esme:alice',
            receiptFor: m.id,
            submittedAt: T0 + 5,
            scheduleAt: T0 + 5,
            ...(leased ? { lease: { owner: 'A', until: T0 + 60_000 } } : {}),
          });
        const r1 = receipt(delivered, true);
        const r2 = receipt(failed, false);
        const r3 = receipt(stale, false);
        const r4 = receipt(stale, false);
        const inserted = s.stats().insertRows;
        // In one batch: the worker-thread store merges the two delivered outcomes into one
        // call (one applies, one does not), then the failed one.
        const outcomes = await Promise.all([
          s.markDelivered(delivered.id, T0 + 5, 'A', r1),
          s.markDelivered(stale.id, T0 + 5, 'B', r3),
          s.markFailed(failed.id, 'UNDELIVERABLE', T0 + 5, 0x45, 'A', r2),
        ]);
        assert.deepEqual(outcomes, [true, false, true]);
        assert.equal(s.stats().insertRows - inserted, 2, 'the receipts stored count as inserted rows');
        const got1 = await s.get(r1.id);
        assert.equal(got1?.direction, 'receipt');
        assert.equal(got1?.receiptFor, delivered.id);
        assert.equal(got1?.state, MessageState.ENROUTE);
        assert.equal(got1?.leaseOwner, 'A', 'a held receipt is stored leased to its holder');
        assert.equal((await s.get(r2.id))?.state, MessageState.ENROUTE);
        assert.equal((await s.get(r3.id)) ?? null, null, 'no receipt for an outcome that did not apply');
        assert.equal(await s.markDelivered(stale.id, T0 + 6, 'A', r4), true);
        assert.equal((await s.get(r4.id))?.receiptFor, stale.id);
        assert.equal(s.stats().insertRows - inserted, 3);
        // The unleased receipt is claimable like any new message.
        const due = await claim(s, ['esme:alice'], T0 + 10, 'C', 10);
        assert.deepEqual(due.map((m) => m.id).sort(), [r2.id, r4.id].sort());
      }));

    test('a stale lease holder cannot overwrite the outcome of a newer claim', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage();
        await s.insert([m]);
        await claim(s, ['esme:bob'], T0, 'A', 1, 1000);
        await claim(s, ['esme:bob'], T0 + 1000, 'B', 1, 1000);
        assert.equal(await s.markDelivered(m.id, T0 + 1001, 'A'), false);
        assert.equal(await s.markFailed(m.id, 'REJECTED', T0 + 1001, 1, 'A'), false);
        assert.equal(await s.retryLater(m.id, T0 + 9000, 1, 'A', T0 + 1001), false);
        assert.equal(await s.release([m.id], 'A', T0 + 1001), 0);
        assert.equal((await s.get(m.id))?.leaseOwner, 'B');
        // Outcomes arriving together (one group-commit window) still follow the lease rules,
        // and only the first of two outcomes from the holder applies.
        const together = await Promise.all([
          s.markDelivered(m.id, T0 + 1002, 'A'),
          s.markDelivered(m.id, T0 + 1002, 'B'),
          s.markFailed(m.id, 'UNDELIVERABLE', T0 + 1002, 1, 'B'),
          s.markDelivered(m.id, T0 + 1002, 'B'),
        ]);
        assert.deepEqual(together, [false, true, false, false]);
        const got = await s.get(m.id);
        assert.equal(got?.state, MessageState.DELIVERED);
        assert.equal(got?.attempts, 1);
      }));

    test('retryLater counts the attempt and clears the lease; release does not count it', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage();
        await s.insert([m]);
        await claim(s, ['esme:bob'], T0);
        assert.equal(await s.retryLater(m.id, T0 + 60_000, 0x58, 'A', T0 + 10), true);
        const r = await s.get(m.id);
        assert.equal(r?.state, MessageState.ENROUTE);
        assert.equal(r?.attempts, 1);
        assert.equal(r?.nextAttemptAt, T0 + 60_000);
        assert.equal(r?.errorCode, 0x58);
        assert.equal(r?.leaseOwner, null);
        assert.equal(r?.leaseUntil, 0);
        assert.equal(r?.finalAt, null);

        await claim(s, ['esme:bob'], T0 + 60_000, 'A');
        assert.equal(await s.release([m.id, 'no-such-id'], 'B', T0 + 60_001), 0, 'only the holder releases');
        assert.equal(await s.release([m.id, 'no-such-id'], 'A', T0 + 60_001), 1);
        assert.equal(await s.release([], 'A', T0), 0);
        const rel = await s.get(m.id);
        assert.equal(rel?.attempts, 1, 'a released attempt never happened');
        assert.equal(rel?.leaseOwner, null);
        assert.deepEqual(ids(await claim(s, ['esme:bob'], T0 + 60_001, 'C')), [m.id], 'due again at once');
      }));

    test('cancel: pending messages are deleted, final ones are not, leased ones only by the node holding them unsent or once the lease ran out', () =>
      withStores(async (h) => {
        const s = await h.open();
        const pending = makeMessage({ scheduleAt: T0 + 1000 });
        const leased = makeMessage();
        const done = makeMessage();
        await s.insert([pending, leased, done]);

        const c = await s.cancel(pending.id, T0 + 1);
        assert.equal(c?.id, pending.id);
        assert.equal(c?.state, MessageState.DELETED);
        assert.equal(c?.finalAt, T0 + 1);
        assert.deepEqual(await s.get(pending.id), c);
        assert.equal(await s.cancel(pending.id, T0 + 2), undefined);
        assert.equal(await s.cancel('no-such-id', T0), undefined);

        await claim(s, ['esme:bob'], T0, 'A', 10);
        assert.equal(await s.markDelivered(done.id, T0 + 3, 'A'), true);
        assert.equal(await s.cancel(done.id, T0 + 4), undefined);
        assert.equal((await s.get(done.id))?.state, MessageState.DELIVERED);

        // Leased to A until T0 + 1000: an attempt may be carrying it.
        assert.equal(await s.cancel(leased.id, T0 + 5), undefined);
        assert.equal(await s.cancel(leased.id, T0 + 5, undefined, 'B'), undefined, 'not the holder');
        assert.equal((await s.get(leased.id))?.state, MessageState.ENROUTE);
        const cl = await s.cancel(leased.id, T0 + 5, undefined, 'A');
        assert.equal(cl?.state, MessageState.DELETED, 'A holds it unsent and gives it up');
        assert.equal(await s.markDelivered(leased.id, T0 + 6, 'A'), false, 'the in-flight outcome must not resurrect it');
        assert.equal(await s.retryLater(leased.id, T0 + 100, 1, 'A', T0 + 6), false);
        assert.equal((await s.get(leased.id))?.state, MessageState.DELETED);
        assert.deepEqual(await claim(s, ['esme:bob'], T0 + 10_000, 'B'), []);
      }));

    test('replace changes a pending message only', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage({ scheduleAt: T0 + 10_000, submittedAt: T0 });
        const other = makeMessage();
        await s.insert([m, other]);

        const r = await s.replace(m.id, { payload: Buffer.from([0, 1, 2]), registeredDelivery: 0, dataCoding: 8 }, T0 + 1);
        assert.ok(r);
        assert.deepEqual(r.payload, Buffer.from([0, 1, 2]));
        assert.equal(r.registeredDelivery, 0);
        assert.equal(r.dataCoding, 8);
        assert.equal(r.esmClass, m.esmClass);
        assert.equal(r.payloadInTlv, false);
        assert.equal(r.scheduleAt, T0 + 10_000);
        assert.equal(r.state, MessageState.SCHEDULED);
        assert.deepEqual(await s.get(m.id), r);

        // Bringing the schedule forward makes it due at the new time.
        const sooner = await s.replace(m.id, { scheduleAt: T0 + 100, expiresAt: T0 + DAY * 2, esmClass: 0x40, payloadInTlv: true }, T0 + 2);
        assert.equal(sooner?.scheduleAt, T0 + 100);
        assert.equal(sooner?.expiresAt, T0 + DAY * 2);
        assert.equal(sooner?.esmClass, 0x40);
        assert.equal(sooner?.payloadInTlv, true);
        assert.equal(sooner?.state, MessageState.SCHEDULED);
        assert.equal(await s.nextDueAt(['esme:bob']), T0);
        assert.deepEqual(ids(await claim(s, ['esme:bob'], T0 + 99)), [other.id]);
        assert.deepEqual(ids(await claim(s, ['esme:bob'], T0 + 100)), [m.id]);

        // Claimed by A (leased until T0 + 1100): only A, holding it unsent, may change it; the
        // change gives the lease up, so it is claimed again with its new content.
        assert.equal(await s.replace(m.id, { scheduleAt: T0 + 50 }, T0 + 200), undefined);
        assert.equal(await s.replace(m.id, { scheduleAt: T0 + 50 }, T0 + 200, 'B'), undefined);
        // A schedule already reached means en route.
        const s2 = await s.replace(m.id, { scheduleAt: T0 + 50 }, T0 + 200, 'A');
        assert.equal(s2?.state, MessageState.ENROUTE);
        assert.equal(s2?.leaseOwner, null);
        assert.deepEqual(ids(await claim(s, ['esme:bob'], T0 + 201, 'B')), [m.id]);
        // Once a lease has run out (its node gone), anyone may.
        assert.ok(await s.replace(m.id, { payload: Buffer.from('late') }, T0 + 201 + 1000));

        assert.equal(await s.markDelivered(other.id, T0 + 300, 'A'), true);
        assert.equal(await s.replace(other.id, { payload: Buffer.from('x') }, T0 + 301), undefined);
        assert.equal(await s.replace('no-such-id', { payload: Buffer.from('x') }, T0), undefined);
      }));

    test('findPending matches account, source, destination and service type', () =>
      withStores(async (h) => {
        const s = await h.open();
        const src = { ton: 1, npi: 1, addr: '1111' };
        const dst = { ton: 1, npi: 1, addr: '2222' };
        const a = makeMessage({ source: src, destination: dst, submittedAt: T0 });
        const b = makeMessage({ source: src, destination: dst, serviceType: 'CMT', submittedAt: T0 + 1 });
        const otherDst = makeMessage({ source: src, destination: { ...dst, addr: '3333' } });
        const otherSrc = makeMessage({ source: { ...src, addr: '9999' }, destination: dst });
        const otherAccount = makeMessage({ account: 'bob', source: src, destination: dst });
        const done = makeMessage({ source: src, destination: dst, target: 'done' });
        await s.insert([a, b, otherDst, otherSrc, otherAccount, done]);
        await claim(s, ['done'], T0);
        await s.markDelivered(done.id, T0, 'A');
        await claim(s, ['esme:bob'], T0, 'A', 1); // a is now in flight: still pending

        const q = { account: 'alice', sourceAddr: '1111', destinationAddr: '2222' };
        assert.deepEqual(ids(await s.findPending(q)), [a.id, b.id]);
        assert.deepEqual(ids(await s.findPending({ ...q, serviceType: 'CMT' })), [b.id]);
        assert.deepEqual(ids(await s.findPending({ ...q, serviceType: '' })), [a.id]);
        assert.deepEqual(await s.findPending({ ...q, account: 'carol' }), []);
      }));

    test('getMany returns the messages of the ids that exist', () =>
      withStores(async (h) => {
        const s = await h.open();
        const [a, b, c] = [makeMessage(), makeMessage(), makeMessage()];
        await s.insert([a, b, c]);
        assert.deepEqual(ids(await s.getMany([c.id, 'no-such-id', a.id])).sort(), [a.id, c.id].sort());
        assert.deepEqual(await s.getMany([]), []);
        assert.deepEqual(await s.getMany(["it's", '%']), []);
        assert.deepEqual((await s.getMany([b.id]))[0], await s.get(b.id));
      }));

    test('retryLater stores the receipt it is given when, and only when, the retry applies', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage();
        await s.insert([m]);
        await claim(s, ['esme:bob'], T0, 'A', 1, 60_000);
        const notice = makeMessage({ id: `${m.id}-notice`, direction: 'receipt', target: 'esme:alice', registeredDelivery: 0 });
        assert.equal(await s.retryLater(m.id, T0 + 100, 0x58, 'not-the-owner', T0 + 1, notice), false);
        assert.equal(await s.get(notice.id), undefined, 'no retry, no receipt');
        assert.equal(await s.retryLater(m.id, T0 + 100, 0x58, 'A', T0 + 1, notice), true);
        assert.equal((await s.get(notice.id))?.direction, 'receipt');
        assert.equal((await s.get(m.id))?.attempts, 1);
      }));

    test('cancel makes the receipt owed in its own transaction', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage({ registeredDelivery: 2 });
        await s.insert([m]);
        assert.equal((await s.cancel(m.id, T0 + 5, 'n2'))?.state, MessageState.DELETED);
        const [r] = (await s.find({ limit: 10 })).filter((x) => x.receiptFor === m.id);
        assert.equal(r?.id, finalReceiptId(m.id));
        assert.match(r!.payload.toString('latin1'), /stat:DELETED/);
      }));

    test('expireDue, failPendingTo and finalize make the receipts owed in their own transaction', () =>
      withStores(async (h) => {
        const s = await h.open();
        // registered_delivery 1: a receipt whatever the outcome; 2: on failure only; 0: none.
        const expiring = makeMessage({ expiresAt: T0 + 100, target: 'x', account: 'alice' });
        const silent = makeMessage({ expiresAt: T0 + 100, target: 'x', registeredDelivery: 0 });
        const refused = makeMessage({ target: 'esme:bob', destination: { ton: 1, npi: 1, addr: '999' }, registeredDelivery: 2 });
        const verdict = makeMessage({ target: 'up', account: 'carol', registeredDelivery: 2 });
        const mo = makeMessage({ direction: 'mo', expiresAt: T0 + 100, target: 'x' });
        await s.insert([expiring, silent, refused, verdict, mo]);
        const receiptsOf = async (id: string) => (await s.find({ limit: 50 })).filter((m) => m.receiptFor === id);

        assert.deepEqual(ids(await s.expireDue(T0 + 200, 10, 'n7')).sort(), [expiring.id, silent.id, mo.id].sort());
        const [r] = await receiptsOf(expiring.id);
        assert.equal(r?.id, finalReceiptId(expiring.id));
        assert.equal(r?.direction, 'receipt');
        assert.equal(r?.target, 'esme:alice');
        assert.equal(r?.originNode, 'n7');
        assert.equal(r?.submittedAt, T0 + 200);
        assert.match(r!.payload.toString('latin1'), /stat:EXPIRED/);
        assert.equal(r?.state, MessageState.ENROUTE, 'due at once');
        assert.deepEqual(await receiptsOf(silent.id), [], 'none asked');
        assert.deepEqual(await receiptsOf(mo.id), [], 'MO owes none');

        assert.deepEqual(ids(await s.failPendingTo('esme:bob', '999', 'UNDELIVERABLE', 0x65, T0 + 300, 'n7')), [refused.id]);
        assert.match((await receiptsOf(refused.id))[0]!.payload.toString('latin1'), /stat:UNDELIV err:101/);

        assert.equal((await s.finalize(verdict.id, 'DELIVERED', T0 + 400, 0, 'n7'))?.state, 'DELIVERED');
        assert.deepEqual(await receiptsOf(verdict.id), [], 'on failure only');

        // A receipt there already (its id is made from its message's) is that receipt: kept, not made again.
        const again = makeMessage({ target: 'up', registeredDelivery: 1 });
        const there = makeMessage({ id: finalReceiptId(again.id), target: 'elsewhere', payload: Buffer.from('first') });
        await s.insert([again, there]);
        assert.equal((await s.finalize(again.id, 'DELIVERED', T0 + 500, 0, 'n7'))?.state, 'DELIVERED');
        assert.equal((await s.get(there.id))?.payload.toString(), 'first');
        // Without receiptsBy, no receipts (the caller's choice).
        const none = makeMessage({ target: 'up', registeredDelivery: 1 });
        await s.insert([none]);
        assert.equal((await s.finalize(none.id, 'DELIVERED', T0 + 600, 0))?.state, 'DELIVERED');
        assert.deepEqual(await receiptsOf(none.id), []);
      }));

    test('finalize calls made together each get their own answer: states, receipts, a message named twice ended once', () =>
      withStores(async (h) => {
        const s = await h.open();
        const ok = makeMessage({ target: 'up', account: 'alice', registeredDelivery: 1 });
        const bad = makeMessage({ target: 'up', account: 'alice', registeredDelivery: 1 });
        const quiet = makeMessage({ target: 'up', account: 'alice', registeredDelivery: 1 });
        await s.insert([ok, bad, quiet]);
        const [a, b, twice, c, none] = await Promise.all([
          s.finalize(ok.id, 'DELIVERED', T0 + 1, 0, 'n7'),
          s.finalize(bad.id, 'UNDELIVERABLE', T0 + 2, 0x0b, 'n7'),
          s.finalize(ok.id, 'UNDELIVERABLE', T0 + 3, 1, 'n7'),
          s.finalize(quiet.id, 'DELIVERED', T0 + 4, 0),
          s.finalize('no-such-id', 'DELIVERED', T0 + 5, 0, 'n7'),
        ]);
        assert.equal(a?.state, 'DELIVERED');
        assert.equal(a?.finalAt, T0 + 1);
        assert.equal(b?.state, 'UNDELIVERABLE');
        assert.equal(b?.errorCode, 0x0b);
        assert.equal(twice, undefined, 'ended by the first verdict');
        assert.equal(c?.state, 'DELIVERED');
        assert.equal(none, undefined);
        assert.equal((await s.get(ok.id))?.state, 'DELIVERED');
        const receipts = (await s.find({ limit: 50 })).filter((m) => m.direction === 'receipt');
        assert.deepEqual(receipts.map((r) => r.receiptFor).sort(), [ok.id, bad.id].sort(), 'receipts where receiptsBy was given, once each');
        assert.match(receipts.find((r) => r.receiptFor === bad.id)!.payload.toString('latin1'), /stat:UNDELIV err:011/);
      }));

    test('expireDue expires pending, unleased messages past their validity', () =>
      withStores(async (h) => {
        const s = await h.open();
        const a = makeMessage({ expiresAt: T0 + 100, target: 'x' });
        const b = makeMessage({ expiresAt: T0 + 200, target: 'x' });
        const c = makeMessage({ expiresAt: T0 + 10_000, target: 'x' });
        const leased = makeMessage({ expiresAt: T0 + 100, target: 'lease' });
        const done = makeMessage({ expiresAt: T0 + 100, target: 'done' });
        await s.insert([a, b, c, leased, done]);
        await claim(s, ['lease'], T0, 'A', 1, 1000);
        await claim(s, ['done'], T0, 'A');
        await s.markDelivered(done.id, T0 + 1, 'A');

        const first = await s.expireDue(T0 + 200, 1);
        assert.deepEqual(ids(first), [a.id]);
        const rest = await s.expireDue(T0 + 200, 10);
        assert.deepEqual(ids(rest), [b.id]);
        assert.equal(rest[0]?.state, MessageState.EXPIRED);
        assert.equal(rest[0]?.finalAt, T0 + 200);
        assert.deepEqual(await s.get(b.id), rest[0]);
        assert.deepEqual(await s.expireDue(T0 + 200, 10), []);
        assert.equal((await s.get(c.id))?.state, MessageState.ENROUTE);
        assert.equal((await s.get(done.id))?.state, MessageState.DELIVERED);
        assert.equal((await s.get(leased.id))?.state, MessageState.ENROUTE, 'an in-flight attempt is not cut short');
        assert.deepEqual(ids(await s.expireDue(T0 + 1000, 10)), [leased.id], 'once the lease lapses it expires');
        assert.equal(await s.markDelivered(leased.id, T0 + 1001, 'A'), false);
      }));

    test('nextDueAt gives the earliest claimable time of the targets', () =>
      withStores(async (h) => {
        const s = await h.open();
        assert.equal(await s.nextDueAt(['t1']), undefined);
        assert.equal(await s.nextDueAt([]), undefined);
        const a = makeMessage({ target: 't1', scheduleAt: T0 + 500 });
        const b = makeMessage({ target: 't2', scheduleAt: T0 + 300 });
        await s.insert([a, b]);
        assert.equal(await s.nextDueAt(['t1']), T0 + 500);
        assert.equal(await s.nextDueAt(['t1', 't2', 't3']), T0 + 300);
        await claim(s, ['t2'], T0 + 300, 'A', 1, 1000);
        assert.equal(await s.nextDueAt(['t2']), T0 + 1300, 'a leased message is due when its lease lapses');
        await s.retryLater(b.id, T0 + 5000, 1, 'A', T0 + 400);
        assert.equal(await s.nextDueAt(['t2']), T0 + 5000);
        await claim(s, ['t2'], T0 + 5000, 'A', 1, 1000);
        await s.markDelivered(b.id, T0 + 5001, 'A');
        assert.equal(await s.nextDueAt(['t2']), undefined);
        assert.equal(await s.nextDueAt(['t1', 't2']), T0 + 500);
      }));

    test('countByState, queueDepth and pendingCount', () =>
      withStores(async (h) => {
        const s = await h.open();
        const zero = Object.fromEntries(Object.values(MessageState).map((st) => [st, 0])) as Record<MessageStateName, number>;
        assert.deepEqual(await s.countByState(), zero);
        assert.deepEqual(await s.queueDepth(), {});
        assert.deepEqual(await s.queueDepthByAccount(), {});
        assert.equal(await s.pendingCount('alice'), 0);
        await s.insert([
          makeMessage({ target: 'a' }),
          makeMessage({ target: 'a' }),
          makeMessage({ target: 'a', scheduleAt: T0 + 1000 }),
          makeMessage({ target: 'b', account: 'bob' }),
          makeMessage({ target: 'c', id: 'deliver-me' }),
          makeMessage({ target: 'c', id: 'fail-me' }),
          // Waiting for bob and carol, but not their submits: not in their queue depth.
          makeMessage({ target: 'esme:bob', account: 'bob', direction: 'mo' }),
          makeMessage({ target: 'esme:carol', account: 'carol', direction: 'receipt' }),
        ]);
        await claim(s, ['c'], T0);
        // deliver-me owes a receipt to alice (registered_delivery 1): not counted either.
        await s.markDelivered('deliver-me', T0, 'A', makeMessage({ target: 'esme:alice', direction: 'receipt', registeredDelivery: 0 }));
        await s.markFailed('fail-me', 'REJECTED', T0, 1, 'A');
        assert.deepEqual(await s.countByState(), { ...zero, ENROUTE: 6, SCHEDULED: 1, DELIVERED: 1, REJECTED: 1 });
        assert.deepEqual(await s.queueDepth(), { a: 3, b: 1, 'esme:bob': 1, 'esme:carol': 1, 'esme:alice': 1 });
        assert.deepEqual(await s.queueDepthByAccount(), { alice: 3, bob: 1 });
        assert.equal(await s.pendingCount('alice'), 3);
        assert.equal(await s.pendingCount('bob'), 1);
        assert.equal(await s.pendingCount('carol'), 0);
      }));

    test('purgeFinished deletes old final messages and their events', () =>
      withStores(async (h) => {
        const s = await h.open();
        const a = makeMessage();
        const b = makeMessage();
        const pending = makeMessage({ target: 'other' });
        const recent = makeMessage();
        await s.insert([a, b, pending, recent]);
        await claim(s, ['esme:bob'], T0);
        await s.markDelivered(a.id, T0 + 10, 'A');
        await s.markFailed(b.id, 'UNDELIVERABLE', T0 + 20, 1, 'A');
        await s.markDelivered(recent.id, T0 + 100, 'A');
        assert.equal(await s.purgeFinished(T0 + 50), 2);
        assert.equal(await s.get(a.id), undefined);
        assert.equal(await s.get(b.id), undefined);
        assert.deepEqual(await s.events(a.id), []);
        assert.ok(await s.get(pending.id));
        assert.ok(await s.get(recent.id));
        assert.ok((await s.events(recent.id)).length > 0);
        assert.equal(await s.purgeFinished(T0 + 50), 0);
        assert.equal(await s.purgeFinished(T0 + 101), 1);
      }));

    test('events record the lifecycle in order', () =>
      withStores(async (h) => {
        const s = await h.open();
        const m = makeMessage({ submittedAt: T0, scheduleAt: T0 });
        const c = makeMessage({ target: 'cx' });
        const r = makeMessage({ target: 'rx' });
        await s.insert([m, c, r]);
        await claim(s, ['esme:bob'], T0 + 1, 'node-1', 1);
        await s.retryLater(m.id, T0 + 100, 0x58, 'node-1', T0 + 2);
        await claim(s, ['esme:bob'], T0 + 100, 'node-2', 1);
        await s.release([m.id], 'node-2', T0 + 101);
        await claim(s, ['esme:bob'], T0 + 102, 'node-2', 1);
        await s.markFailed(m.id, 'UNDELIVERABLE', T0 + 103, 0x45, 'node-2');
        await s.replace(r.id, { payload: Buffer.from('new') }, T0 + 3);
        await s.cancel(c.id, T0 + 4);
        const ev = await s.events(m.id);
        assert.deepEqual(
          ev.map((e) => [e.kind, e.at]),
          [
            ['accepted', T0],
            ['attempt', T0 + 1],
            ['retry', T0 + 2],
            ['attempt', T0 + 100],
            ['released', T0 + 101],
            ['attempt', T0 + 102],
            ['failed', T0 + 103],
          ],
        );
        assert.ok(ev.every((e) => e.messageId === m.id && typeof e.detail === 'string'));
        assert.match(ev[1]!.detail, /node-1/);
        assert.match(ev[6]!.detail, /UNDELIVERABLE/);
        assert.deepEqual(
          (await s.events(r.id)).map((e) => e.kind),
          ['accepted', 'replaced'],
        );
        assert.deepEqual(
          (await s.events(c.id)).map((e) => e.kind),
          ['accepted', 'cancelled'],
        );
        assert.deepEqual(await s.events('no-such-id'), []);

        const x = makeMessage({ target: 'exp', expiresAt: T0 + 10 });
        await s.insert([x]);
        await s.expireDue(T0 + 10, 10);
        assert.deepEqual(
          (await s.events(x.id)).map((e) => [e.kind, e.at]),
          [
            ['accepted', T0],
            ['expired', T0 + 10],
          ],
        );
      }));

    test('with events off nothing is logged and everything else works', () =>
      withStores(async (h) => {
        const s = await h.open({ events: false });
        const m = makeMessage();
        const n = makeMessage();
        await s.insert([m, n]);
        await claim(s, ['esme:bob'], T0);
        assert.equal(await s.retryLater(m.id, T0 + 10, 1, 'A', T0 + 1), true);
        assert.equal(await s.markFailed(n.id, 'REJECTED', T0 + 1, 2, 'A'), true);
        await claim(s, ['esme:bob'], T0 + 10);
        assert.equal(await s.release([m.id], 'A', T0 + 11), 1);
        assert.ok(await s.replace(m.id, { payload: Buffer.from('z') }, T0 + 12));
        await claim(s, ['esme:bob'], T0 + 13);
        assert.equal(await s.markDelivered(m.id, T0 + 14, 'A'), true);
        assert.equal((await s.get(m.id))?.attempts, 2);
        assert.deepEqual(await s.events(m.id), []);
        assert.deepEqual(await s.events(n.id), []);

        // Handed over and delivered while the log was off: with it on again, nothing of that
        // lifecycle shows (not half of it).
        const handed = makeMessage({ target: 'direct', lease: { owner: 'A', until: T0 + 60_000 } });
        await s.insert([handed]);
        assert.equal(await s.markDelivered(handed.id, T0 + 1, 'A'), true);
        const on = await h.open();
        assert.deepEqual(
          (await on.events(handed.id)).map((e) => e.kind),
          ['accepted'],
        );
      }));

    test('find filters by target', () =>
      withStores(async (h) => {
        const s = await h.open();
        const a = makeMessage({ target: 'hold:bob' });
        const b = makeMessage({ target: 'esme:bob' });
        await s.insert([a, b]);
        assert.deepEqual(ids(await s.find({ target: 'hold:bob', limit: 10 })), [a.id]);
      }));

    test('find filters by account, address, state and time, newest first', () =>
      withStores(async (h) => {
        const s = await h.open();
        const a = makeMessage({ submittedAt: T0 + 1, destination: { ton: 1, npi: 1, addr: '555' } });
        const b = makeMessage({ submittedAt: T0 + 2, source: { ton: 1, npi: 1, addr: '555' } });
        const c = makeMessage({ submittedAt: T0 + 3, account: 'bob', target: 'other' });
        const d = makeMessage({ submittedAt: T0 + 4 });
        await s.insert([a, b, c, d]);
        await claim(s, ['other'], T0 + 10);
        await s.markDelivered(c.id, T0 + 11, 'A');
        assert.deepEqual(ids(await s.find({ limit: 10 })), [d.id, c.id, b.id, a.id]);
        assert.deepEqual(ids(await s.find({ limit: 2 })), [d.id, c.id]);
        assert.deepEqual(ids(await s.find({ account: 'alice', limit: 10 })), [d.id, b.id, a.id]);
        assert.deepEqual(ids(await s.find({ addr: '555', limit: 10 })), [b.id, a.id]);
        assert.deepEqual(ids(await s.find({ state: 'DELIVERED', limit: 10 })), [c.id]);
        assert.deepEqual(ids(await s.find({ from: T0 + 2, to: T0 + 4, limit: 10 })), [c.id, b.id]);
        assert.deepEqual(ids(await s.find({ account: 'alice', addr: '555', from: T0 + 2, limit: 10 })), [b.id]);
        await assert.rejects(s.find({ limit: 0 }), RangeError);
      }));

    test('onNotify wakes listeners of this and other stores on insert, retry and release', () =>
      withStores(async (h) => {
        const s1 = await h.open();
        const s2 = await h.open();
        const n1 = notifications();
        const n2 = notifications();
        const off1 = await s1.onNotify(n1.listener);
        await s2.onNotify(n2.listener);
        const m = makeMessage({ target: 'wake-1' });
        await s1.insert([m]);
        await Promise.all([n1.waitFor('wake-1'), n2.waitFor('wake-1')]);

        await claim(s1, ['wake-1'], T0);
        const retried = notifications();
        const offRetried = await s2.onNotify(retried.listener);
        assert.equal(await s1.retryLater(m.id, T0 + 10, 1, 'A', T0 + 1), true);
        await retried.waitFor('wake-1');
        offRetried();

        off1();
        const n1b = notifications();
        await s1.onNotify(n1b.listener);
        await s2.insert([makeMessage({ target: 'wake-2' })]);
        await Promise.all([n1b.waitFor('wake-2'), n2.waitFor('wake-2')]);
        // One store hands a notification to all its listeners at once: n1 would have it by now.
        assert.ok(!n1.seen.includes('wake-2'), 'an unsubscribed listener is not called');
        assert.ok(!retried.seen.includes('wake-2'), 'an unsubscribed listener is not called');

        await claim(s2, ['wake-1'], T0 + 10, 'B');
        const n4 = notifications();
        await s1.onNotify(n4.listener);
        assert.equal(await s2.release([m.id], 'B', T0 + 11), 1);
        await n4.waitFor('wake-1');
      }));

    test('invalid arguments are rejected', () =>
      withStores(async (h) => {
        const s = await h.open();
        await assert.rejects(s.claimDue({ targets: ['t'], now: T0, limit: 0, leaseMs: 10, owner: 'A' }), RangeError);
        await assert.rejects(s.claimDue({ targets: ['t'], now: T0, limit: 1, leaseMs: 0, owner: 'A' }), RangeError);
        await assert.rejects(s.claimDue({ targets: ['t'], now: T0, limit: 1, leaseMs: 1.5, owner: 'A' }), RangeError);
        await assert.rejects(s.claimDue({ targets: ['t'], now: T0, limit: 1, leaseMs: 10, owner: '' }), TypeError);
        await assert.rejects(s.expireDue(T0, 0), RangeError);
      }));
  });
}
