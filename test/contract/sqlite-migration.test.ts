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
import type { StoredMessage } from '../../src/store/types.js';
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
