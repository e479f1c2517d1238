/**
 * Messages in the wide layout (every field a column: SQLite schema v4, PostgreSQL v5) that the
 * migrations to the lean row (cold fields packed in `body`) must carry over, and the checks
 * that they read back the same afterwards. Shared by the SQLite and PostgreSQL migration tests.
 */
import assert from 'node:assert/strict';
import { MessageState, type Store, type StoredMessage } from '../../src/store/types.js';
import { asInserted, makeFullMessage, makeMessage } from './store-contract.js';

export const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

/** A stored message as the wide table holds it: as inserted, then `over`. */
export function stored(over: Partial<StoredMessage>): StoredMessage {
  return { ...asInserted(makeMessage(over)), ...over };
}

/** A message as the named values of a wide row (payload_in_tlv a boolean). */
export function wideRow(m: StoredMessage, dueAt: number): Record<string, unknown> {
  return {
    id: m.id,
    direction: m.direction,
    account: m.account,
    target: m.target,
    batch_id: m.batchId,
    src_ton: m.source.ton,
    src_npi: m.source.npi,
    src_addr: m.source.addr,
    dst_ton: m.destination.ton,
    dst_npi: m.destination.npi,
    dst_addr: m.destination.addr,
    service_type: m.serviceType,
    esm_class: m.esmClass,
    protocol_id: m.protocolId,
    priority: m.priority,
    data_coding: m.dataCoding,
    registered_delivery: m.registeredDelivery,
    payload: m.payload,
    payload_in_tlv: m.payloadInTlv,
    tlvs: m.tlvs,
    submitted_at: m.submittedAt,
    schedule_at: m.scheduleAt,
    expires_at: m.expiresAt,
    receipt_for: m.receiptFor,
    origin_node: m.originNode,
    origin_session: m.originSession,
    state: m.state,
    attempts: m.attempts,
    next_attempt_at: m.nextAttemptAt,
    lease_owner: m.leaseOwner,
    lease_until: m.leaseUntil,
    final_at: m.finalAt,
    error_code: m.errorCode,
    due_at: dueAt,
    failover: m.failover.length > 0 ? m.failover.join(',') : null,
    remote_id: m.remoteId,
  };
}

/** Every field set; retried once, due again at T0 + 10. */
const full = stored({
  ...makeFullMessage(),
  id: 'full',
  target: 'net',
  submittedAt: T0,
  scheduleAt: T0,
  expiresAt: T0 + DAY,
  attempts: 1,
  nextAttemptAt: T0 + 10,
  errorCode: 0x58,
  failover: ['b', 'c'],
});
/** Scheduled ahead; empty payload, empty tlvs, empty batch id, a protocol_id beyond a byte. */
const scheduled = stored({
  id: 'sched',
  target: 'net',
  submittedAt: T0 + 1,
  scheduleAt: T0 + DAY / 2,
  nextAttemptAt: T0 + DAY / 2,
  state: MessageState.SCHEDULED,
  payload: Buffer.alloc(0),
  tlvs: Buffer.alloc(0),
  batchId: '',
  protocolId: 300,
});
const leased = stored({ id: 'leased', target: 'net', submittedAt: T0 + 2, leaseOwner: 'n1', leaseUntil: T0 + 5000 });
const delivered = stored({ id: 'done', target: 'net', submittedAt: T0 + 3, state: MessageState.DELIVERED, attempts: 2, finalAt: T0 + 100 });
const forwarded = stored({ id: 'fwd', target: 'upstream-a', submittedAt: T0 + 4, attempts: 1, remoteId: 'R-1', nextAttemptAt: T0 + DAY });
// Due at the same time: SQLite claims them in insertion (rowid) order, PostgreSQL in (length,
// id) order; both take 'z-first' first.
const first = stored({ id: 'z-first', account: 'acc-ü', target: 'net', submittedAt: T0 + 5, scheduleAt: T0 + 5, nextAttemptAt: T0 + 20 });
const second = stored({ id: 'a-second', account: 'acc-ü', target: 'net', submittedAt: T0 + 5, scheduleAt: T0 + 5, nextAttemptAt: T0 + 20 });

/** The messages of the wide table, in insertion order, each with its due_at. */
export const wideRows: [StoredMessage, number][] = [
  [full, T0 + 10],
  [scheduled, T0 + DAY / 2],
  [leased, T0 + 5000],
  [delivered, T0],
  [forwarded, T0 + DAY],
  [first, T0 + 20],
  [second, T0 + 20],
];

/** The events logged for {@link wideRows}. */
export const wideEvents = [
  { messageId: 'full', at: T0 + 5, kind: 'attempt', detail: 'owner=n0 attempt=1' },
  { messageId: 'full', at: T0 + 6, kind: 'retry', detail: `next=${T0 + 10} error=88 owner=n0` },
];

/** Asserts that a store opened on the migrated table reads, finds, claims and takes messages as before. */
export async function assertMigrated(s: Store): Promise<void> {
  for (const [m] of wideRows) assert.deepEqual(await s.get(m.id), m, m.id);
  assert.deepEqual(await s.events(full.id), [{ messageId: 'full', at: T0, kind: 'accepted', detail: 'target=net' }, ...wideEvents]);
  assert.deepEqual(
    (await s.find({ from: T0, limit: 10 })).map((m) => m.id),
    ['z-first', 'a-second', 'fwd', 'done', 'leased', 'sched', 'full'],
  );
  assert.deepEqual(await s.find({ addr: full.destination.addr, limit: 10 }), [full]);
  // findPending finds what an account submitted: 'full' is a receipt waiting for acc-ü.
  assert.deepEqual(await s.findPending({ account: 'acc-ü', sourceAddr: 'SMSC Ünïcode', destinationAddr: full.destination.addr }), []);
  const pending = { account: 'acc-ü', sourceAddr: first.source.addr, destinationAddr: first.destination.addr };
  assert.deepEqual(await s.findPending(pending), [second, first]);
  assert.deepEqual(await s.findPending({ ...pending, serviceType: '' }), [second, first]);
  assert.deepEqual(await s.findPending({ ...pending, serviceType: 'CMT' }), []);
  assert.deepEqual(await s.findForwarded('upstream-a', 'R-1'), forwarded);
  assert.deepEqual(await s.leasedTo('n1'), ['leased']);
  assert.equal(await s.nextDueAt(['net']), T0 + 10);
  const counts = await s.countByState();
  assert.deepEqual([counts.ENROUTE, counts.SCHEDULED, counts.DELIVERED], [5, 1, 1]);

  // Two units (net/acc-ü, net/alice), limit 2: acc-ü gets both, 'z-first' before 'a-second'.
  const now = T0 + 30;
  const claimed = await s.claimDue({ targets: ['net'], now, limit: 2, leaseMs: 1000, owner: 'n2' });
  const lease = { leaseOwner: 'n2', leaseUntil: now + 1000 };
  assert.deepEqual(claimed, [
    { ...full, ...lease },
    { ...first, ...lease },
  ]);
  assert.equal(await s.markDelivered(full.id, now + 1, 'n2'), true);
  assert.equal((await s.get(full.id))?.state, MessageState.DELIVERED);

  const fresh = makeMessage({ id: 'after-migration' });
  await s.insert([fresh]);
  assert.equal((await s.get(fresh.id))?.payload.toString(), 'hello');
}
