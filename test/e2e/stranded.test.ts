/**
 * Messages queued for a target the config no longer has (a connector removed, an account
 * deleted) are said at start: otherwise they would wait until they expire with nothing saying
 * why. The SMSC runs as a child process on a SQLite file that already holds them.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeMessage } from '../contract/store-contract.js';
import { removeDir, startSmscProcess, tempDir } from '../support/smsc-process.js';
import { until } from '../support/until.js';

test('messages waiting for a connector the config no longer has are said at start; those of known targets are not', { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  const path = join(dir, 'smsc.db');
  const store = new SqliteStore({ path });
  await store.init();
  await store.insert([makeMessage({ target: 'old-hook' }), makeMessage({ target: 'old-hook' }), makeMessage({ target: 'esme:alice' })]);
  await store.close();
  const smsc = await startSmscProcess({ dir, store: { sqlite: { path } }, accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }] });
  try {
    await until(() => smsc.output().includes("2 message(s) wait for 'old-hook'"), 'the stranded queue said', { ms: 10_000 });
    assert.doesNotMatch(smsc.output(), /wait for 'esme:alice'/);
  } finally {
    await smsc.stop();
    await removeDir(dir);
  }
});
