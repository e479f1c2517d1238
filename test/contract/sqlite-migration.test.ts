/**
 * Schema v5 (the lean row, cold fields packed in `body`): a file written at schema v4 is
 * migrated in place, and every message, lease and event reads back as it was.
 * Schema v6 (the happy path's events read off the row): a v5 file's logged events read back
 * once each, and new messages log nothing on the happy path.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { sqliteMigrationFunctions, sqliteMigrations } from '../../src/store/migrations/sqlite.js';
import { messageRow } from '../../src/store/sqlite/rows.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { StoredMessage } from '../../src/store/types.js';
import { makeMessage } from './store-contract.js';
import { assertMigrated, stored, T0, wideEvents, wideRow, wideRows } from './wide-rows.js';

/** A message as the named values of a schema v4 row (better-sqlite3 binds no booleans). */
function v4Row(m: StoredMessage, dueAt: number): Record<string, unknown> {
  return { ...wideRow(m, dueAt), payload_in_tlv: m.payloadInTlv ? 1 : 0 };
}

/** A schema v4 file holding {@link wideRows} and {@link wideEvents}. */
function writeV4(path: string): void {
  const db = new Database(path);
  db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  for (let v = 0; v < 4; v++) {
    db.exec(sqliteMigrations[v]!);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, 0)').run(v + 1);
  }
  const columns = Object.keys(v4Row(stored({}), 0));
  const insert = db.prepare(`INSERT INTO messages (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
  // A deleted row leaves a gap in the rowids, so a copy that renumbers them would show.
  insert.run(v4Row(stored({ id: 'gone' }), T0));
  for (const [m, dueAt] of wideRows) insert.run(v4Row(m, dueAt));
  db.prepare(`DELETE FROM messages WHERE id = 'gone'`).run();
  const event = db.prepare('INSERT INTO events (message_id, at, kind, detail) VALUES (@messageId, @at, @kind, @detail)');
  for (const e of wideEvents) event.run(e);
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
      await assertMigrated(s);
    } finally {
      await s.close();
    }
    assert.deepEqual(rowids(path).slice(0, wideRows.length), rowidsBefore, 'rowids (the claim order of equal due times) are kept');
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
      // messages_pending_addr is gone since v7: the store keeps pending messages by address in memory.
      assert.deepEqual(indexes.filter((i) => !i.startsWith('sqlite_autoindex')), ['messages_due', 'messages_expiry', 'messages_final', 'messages_remote']);
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a schema v5 file keeps its logged events; from v6 on the happy path logs none and reads the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  const path = join(dir, 'v5.db');
  try {
    const v5 = new Database(path);
    v5.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    for (const [name, fn] of Object.entries(sqliteMigrationFunctions)) v5.function(name, { varargs: true }, fn);
    for (let v = 0; v < 5; v++) {
      v5.exec(sqliteMigrations[v]!);
      v5.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, 0)').run(v + 1);
    }
    // Handed over at insert and delivered, as v5 logged it: the attempt and the outcome are rows.
    const old = makeMessage({ id: 'old', target: 'net', submittedAt: T0, scheduleAt: T0 });
    v5.prepare(`INSERT INTO messages (${V5_REQUIRED}, failover) VALUES (${V5_REQUIRED.replace(/\w+/g, '?')}, ?)`).run(
      ...reorderV5(messageRow(old)),
    );
    v5.prepare(`UPDATE messages SET state = 'DELIVERED', final_at = ?, attempts = 1 WHERE id = 'old'`).run(T0 + 5);
    const event = v5.prepare('INSERT INTO events (message_id, at, kind, detail) VALUES (?, ?, ?, ?)');
    event.run('old', T0, 'attempt', 'owner=n1 attempt=1');
    event.run('old', T0 + 5, 'delivered', 'owner=n1');
    v5.close();

    const s = new SqliteStore({ path, commitDelayMs: 0 });
    await s.init();
    const handedOver = makeMessage({ id: 'new', target: 'net', submittedAt: T0 + 10, scheduleAt: T0 + 10, lease: { owner: 'n2', until: T0 + 60_000 } });
    const failed = makeMessage({ id: 'failed', target: 'net', submittedAt: T0 + 10, scheduleAt: T0 + 10 });
    try {
      const lifecycle = [
        ['accepted', T0, 'target=net'],
        ['attempt', T0, 'owner=n1 attempt=1'],
        ['delivered', T0 + 5, 'owner=n1'],
      ];
      assert.deepEqual((await s.events('old')).map((e) => [e.kind, e.at, e.detail]), lifecycle, 'logged before v6: each event once');

      await s.insert([handedOver, failed]);
      assert.equal(await s.markDelivered('new', T0 + 15, 'n2'), true);
      await s.claimDue({ targets: ['net'], now: T0 + 20, limit: 1, leaseMs: 1000, owner: 'n3' });
      assert.equal(await s.markFailed('failed', 'UNDELIVERABLE', T0 + 21, 0x45, 'n3'), true);
      assert.deepEqual(
        (await s.events('new')).map((e) => [e.kind, e.at, e.detail]),
        [
          ['accepted', T0 + 10, 'target=net'],
          ['attempt', T0 + 10, 'owner=n2 attempt=1'],
          ['delivered', T0 + 15, 'owner=n2'],
        ],
      );
      assert.deepEqual(
        (await s.events('failed')).map((e) => [e.kind, e.at, e.detail]),
        [
          ['accepted', T0 + 10, 'target=net'],
          ['attempt', T0 + 20, 'owner=n3 attempt=1'],
          ['failed', T0 + 21, 'state=UNDELIVERABLE error=69 owner=n3'],
        ],
      );
      assert.equal((await s.get('new'))?.leaseOwner, null, 'a final message has no lease');
    } finally {
      await s.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      const logged = db.prepare('SELECT message_id AS id, kind FROM events ORDER BY seq').all();
      assert.deepEqual(
        logged,
        [
          { id: 'old', kind: 'attempt' },
          { id: 'old', kind: 'delivered' },
          { id: 'failed', kind: 'attempt' },
        ],
        'the hand-over and the outcomes of v6 are not logged; a claim is',
      );
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A v5 insert row (rows.ts order) in the order of {@link V5_REQUIRED} and then failover. */
function reorderV5(row: readonly unknown[]): unknown[] {
  const [id, direction, account, target, state, priority, submittedAt, scheduleAt, expiresAt, nextAttemptAt, dueAt, src, dst, failover, body] = row;
  return [id, direction, account, target, state, priority, submittedAt, scheduleAt, expiresAt, nextAttemptAt, dueAt, src, dst, body, failover];
}
