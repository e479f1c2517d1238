/**
 * Schema v5 (the lean row, cold fields packed in `body`): a file written at schema v4 is
 * migrated in place, and every message, lease and event reads back as it was.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { sqliteMigrations } from '../../src/store/migrations/sqlite.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { MessageState, type StoredMessage } from '../../src/store/types.js';
import { asInserted, makeFullMessage, makeMessage } from './store-contract.js';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

/** A stored message as the v4 file holds it: as inserted, then `over`. */
function stored(over: Partial<StoredMessage>): StoredMessage {
  return { ...asInserted(makeMessage(over)), ...over };
}

/** A message as the named values of a schema v4 row. */
function v4Row(m: StoredMessage, dueAt: number): Record<string, unknown> {
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
    payload_in_tlv: m.payloadInTlv ? 1 : 0,
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
// Due at the same time: claims take them in insertion (rowid) order, not id order.
const first = stored({ id: 'z-first', account: 'acc-ü', target: 'net', submittedAt: T0 + 5, scheduleAt: T0 + 5, nextAttemptAt: T0 + 20 });
const second = stored({ id: 'a-second', account: 'acc-ü', target: 'net', submittedAt: T0 + 5, scheduleAt: T0 + 5, nextAttemptAt: T0 + 20 });

const rows: [StoredMessage, number][] = [
  [full, T0 + 10],
  [scheduled, T0 + DAY / 2],
  [leased, T0 + 5000],
  [delivered, T0],
  [forwarded, T0 + DAY],
  [first, T0 + 20],
  [second, T0 + 20],
];
const fullEvents = [
  { messageId: 'full', at: T0 + 5, kind: 'attempt', detail: 'owner=n0 attempt=1' },
  { messageId: 'full', at: T0 + 6, kind: 'retry', detail: `next=${T0 + 10} error=88 owner=n0` },
];

/** A schema v4 file holding {@link rows} and {@link fullEvents}. */
function writeV4(path: string): void {
  const db = new Database(path);
  db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  for (let v = 0; v < 4; v++) {
    db.exec(sqliteMigrations[v]!);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, 0)').run(v + 1);
  }
  const columns = Object.keys(v4Row(full, 0));
  const insert = db.prepare(`INSERT INTO messages (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
  // A deleted row leaves a gap in the rowids, so a copy that renumbers them would show.
  insert.run(v4Row(stored({ id: 'gone' }), T0));
  for (const [m, dueAt] of rows) insert.run(v4Row(m, dueAt));
  db.prepare(`DELETE FROM messages WHERE id = 'gone'`).run();
  const event = db.prepare('INSERT INTO events (message_id, at, kind, detail) VALUES (@messageId, @at, @kind, @detail)');
  for (const e of fullEvents) event.run(e);
  db.close();
}

/** The v5 columns without a default (failover may be null). */
const V5_REQUIRED = 'id, direction, account, target, state, priority, submitted_at, schedule_at, expires_at, next_attempt_at, due_at, src_addr, dst_addr, body';

function rowids(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT rowid, id FROM messages ORDER BY rowid').all();
  } finally {
    db.close();
  }
}

test('a schema v4 file is migrated to the lean row: every message, lease and event reads back the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  const path = join(dir, 'v4.db');
  try {
    writeV4(path);
    const rowidsBefore = rowids(path);
    const s = new SqliteStore({ path, commitDelayMs: 0 });
    await s.init();
    try {
      for (const [m] of rows) assert.deepEqual(await s.get(m.id), m, m.id);
      assert.deepEqual(await s.events(full.id), [
        { messageId: 'full', at: T0, kind: 'accepted', detail: 'target=net' },
        ...fullEvents,
      ]);
      assert.deepEqual(
        (await s.find({ limit: 10 })).map((m) => m.id),
        ['z-first', 'a-second', 'fwd', 'done', 'leased', 'sched', 'full'],
      );
      assert.deepEqual(await s.find({ addr: full.destination.addr, limit: 10 }), [full]);
      const pending = { account: 'acc-ü', sourceAddr: 'SMSC Ünïcode', destinationAddr: full.destination.addr };
      assert.deepEqual(await s.findPending(pending), [full]);
      assert.deepEqual(await s.findPending({ ...pending, serviceType: 'CMT' }), [full]);
      assert.deepEqual(await s.findPending({ ...pending, serviceType: '' }), []);
      assert.deepEqual(await s.findForwarded('upstream-a', 'R-1'), forwarded);
      assert.deepEqual(await s.leasedTo('n1'), ['leased']);
      assert.equal(await s.nextDueAt(['net']), T0 + 10);
      const counts = await s.countByState();
      assert.deepEqual([counts.ENROUTE, counts.SCHEDULED, counts.DELIVERED], [5, 1, 1]);

      // Two units (net/acc-ü, net/alice), limit 2: acc-ü gets both, the second by rowid.
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
    } finally {
      await s.close();
    }
    assert.deepEqual(rowids(path).slice(0, rows.length), rowidsBefore, 'rowids (the claim order of equal due times) are kept');
    const db = new Database(path);
    try {
      assert.throws(
        () => db.prepare(`INSERT INTO messages (${V5_REQUIRED}) VALUES ('x', 'sms', 'a', 't', 'ENROUTE', 0, 0, 0, 0, 0, 0, '1', '2', x'00')`).run(),
        /CHECK constraint failed/,
        'direction is still checked',
      );
      const columns = (db.prepare('PRAGMA table_info(messages)').all() as { name: string }[]).map((c) => c.name);
      assert.ok(columns.includes('body') && !columns.includes('payload'), columns.join(','));
      const indexes = (db.prepare('PRAGMA index_list(messages)').all() as { name: string }[]).map((i) => i.name).sort();
      assert.deepEqual(indexes.filter((i) => !i.startsWith('sqlite_autoindex')), [
        'messages_due',
        'messages_expiry',
        'messages_final',
        'messages_pending_addr',
        'messages_remote',
      ]);
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
