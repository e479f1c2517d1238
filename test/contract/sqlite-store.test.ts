/** Runs the store contract against {@link SqliteStore} on a temp file, plus SQLite specifics. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { createStore } from '../../src/store/index.js';
import { sqliteMigrations } from '../../src/store/migrations/sqlite.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeMessage, storeContract } from './store-contract.js';

storeContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  const path = join(dir, 'store.db');
  return {
    open: (options) => new SqliteStore({ path, ...options }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('sqlite store specifics', () => {
  test('createStore builds a SQLite store from config', () =>
    withDir(async (dir) => {
      const s = createStore({ sqlite: { path: join(dir, 'f.db'), commitDelayMs: 0 } });
      assert.ok(s instanceof SqliteStore);
      await s.init();
      const m = makeMessage();
      await s.insert([m]);
      assert.equal((await s.get(m.id))?.id, m.id);
      await s.close();
    }));

  test('the file is in WAL mode at the latest schema version and refuses a newer schema', () =>
    withDir(async (dir) => {
      const path = join(dir, 'store.db');
      const s = new SqliteStore({ path });
      await s.init();
      await s.close();
      const db = new Database(path);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(
        db.prepare('SELECT version FROM schema_version ORDER BY version').all(),
        sqliteMigrations.map((_, i) => ({ version: i + 1 })),
      );
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, 0)').run();
      db.close();
      await assert.rejects(new SqliteStore({ path }).init(), /newer than this code/);
    }));

  test('every acknowledged insert survives the process being killed (SIGKILL)', () =>
    withDir(async (dir) => {
      const path = join(dir, 'store.db');
      const storeUrl = pathToFileURL(fileURLToPath(new URL('../../src/store/sqlite/sqlite-store.js', import.meta.url))).href;
      // The child inserts from 20 concurrent writers and prints each id once insert() resolved
      // (stdout to a pipe is synchronous on Linux, so a printed id was acknowledged first).
      const child = `
        const { SqliteStore } = await import(${JSON.stringify(storeUrl)});
        const s = new SqliteStore({ path: ${JSON.stringify(path)}, commitDelayMs: 1 });
        await s.init();
        const m = ${JSON.stringify(makeMessage({ id: 'x' }))};
        m.payload = Buffer.from('durable');
        let n = 0;
        async function writer(w) {
          while (n < 200000) {
            const id = 'w' + w + '-' + n++;
            await s.insert([{ ...m, id }]);
            process.stdout.write(id + '\\n');
          }
        }
        await Promise.all(Array.from({ length: 20 }, (_, w) => writer(w)));
      `;
      const proc = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acked: string[] = [];
      let buf = '';
      const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (chunk: string) => {
        buf += chunk;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        acked.push(...lines);
        if (acked.length >= 2000) proc.kill('SIGKILL');
      });
      assert.equal(await exited, 'SIGKILL', 'the child must be killed mid-run, not finish');
      assert.ok(acked.length >= 2000);

      const s = new SqliteStore({ path });
      await s.init();
      try {
        for (const id of acked) {
          const got = await s.get(id);
          assert.ok(got, `acknowledged message ${id} was lost`);
          assert.equal(got.payload.toString(), 'durable');
        }
      } finally {
        await s.close();
      }
    }));
});
