import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeMessage } from '../../test/contract/store-contract.js';
import { ConfigError, validateConfig } from '../config/config.js';
import { openStore, postgresStoreOptions, smppSessionOptions, urlForLog } from './smsc.js';

const URL = 'postgres://smsc:secret@127.0.0.1:5432/smsc';

test('the PostgreSQL store gets the pool size, the query timeout, the insert batches and the LISTEN retry of the config', () => {
  const defaults = postgresStoreOptions(validateConfig({ store: { postgres: { url: URL } } }, '/srv'));
  assert.deepEqual(defaults, { url: URL, poolSize: 10, queryTimeoutMs: 30_000, maxInFlight: 2, listenRetryMs: 1000, commitDelayMs: 0, events: true });
  const set = postgresStoreOptions(
    validateConfig({ store: { postgres: { url: URL, poolSize: 4, insertBatches: 1, listenRetryMs: 250, queryTimeoutMs: 0 }, commitDelayMs: 3, events: false } }, '/srv'),
  );
  assert.deepEqual(set, { url: URL, poolSize: 4, queryTimeoutMs: 0, maxInFlight: 1, listenRetryMs: 250, commitDelayMs: 3, events: false });
  const inSchema = postgresStoreOptions(validateConfig({ store: { postgres: { url: URL, schema: 'smsc_b' } } }, '/srv'));
  assert.equal(inSchema.schema, 'smsc_b');
  assert.equal('schema' in defaults, false, 'no schema: the search_path decides');
  assert.throws(() => postgresStoreOptions(validateConfig({}, '/srv')), /no store\.postgres/);
});

test('store.postgres.schema, poolSize, insertBatches and listenRetryMs: names, ranges, and no more batches than connections', () => {
  const throwsKey = (postgres: Record<string, unknown>, key: string, reason: RegExp) =>
    assert.throws(
      () => validateConfig({ store: { postgres: { url: URL, ...postgres } } }, '/srv'),
      (e: unknown) => e instanceof ConfigError && e.key === key && reason.test(e.reason),
      `expected an error naming ${key}`,
    );
  throwsKey({ poolSize: 1 }, 'store.postgres.poolSize', /between 2 and 1000/);
  throwsKey({ insertBatches: 0 }, 'store.postgres.insertBatches', /between 1 and 16/);
  throwsKey({ insertBatches: 17 }, 'store.postgres.insertBatches', /between 1 and 16/);
  throwsKey({ listenRetryMs: 5 }, 'store.postgres.listenRetryMs', /between 10 and 60000/);
  throwsKey({ listenRetryMs: 1.5 }, 'store.postgres.listenRetryMs', /integer/);
  throwsKey({ poolSize: 3, insertBatches: 4 }, 'store.postgres.insertBatches', /must not exceed poolSize \(3\)/);
  for (const schema of ['1abc', 'smsc-b', 'a"b', 'a.b', '']) throwsKey({ schema }, 'store.postgres.schema', /letters, digits and _/);
  throwsKey({ schema: 'a'.repeat(64) }, 'store.postgres.schema', /at most 63/);
  assert.equal(validateConfig({ store: { postgres: { url: URL, poolSize: 4, insertBatches: 4 } } }, '/srv').store.postgres?.insertBatches, 4);
});

test('every SMPP session gets the smpp section: window, requests handled at once, timers, PDU size', () => {
  const defaults = smppSessionOptions(validateConfig({}, '/srv'));
  assert.equal(defaults.maxInboundInFlight, 100);
  assert.equal(defaults.windowSize, 10);
  const set = smppSessionOptions(
    validateConfig({ smpp: { maxInboundInFlight: 400, windowSize: 50, responseTimeoutMs: 5000, maxPduBytes: 4096 } }, '/srv'),
  );
  assert.deepEqual(
    [set.maxInboundInFlight, set.windowSize, set.responseTimeoutMs, set.maxPduBytes],
    [400, 50, 5000, 4096],
  );
  assert.throws(
    () => validateConfig({ smpp: { maxInboundInFlight: 0 } }, '/srv'),
    (e: unknown) => e instanceof ConfigError && e.key === 'smpp.maxInboundInFlight',
  );
});

test('a new SQLite store is private to its owner: its folder 0700, the database and its WAL 0600', async () => {
  const root = mkdtempSync(join(tmpdir(), 'smsc-modes-'));
  const path = join(root, 'data', 'smsc.db');
  const store = await openStore(validateConfig({ store: { sqlite: { path } } }, root));
  try {
    await store.insert([makeMessage()]);
    assert.equal(statSync(join(root, 'data')).mode & 0o777, 0o700);
    for (const file of [path, `${path}-wal`]) assert.equal(statSync(file).mode & 0o077, 0, file);
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('one SMSC per SQLite file: a second one on it is refused, naming the file; once the first stops it starts', async () => {
  const root = mkdtempSync(join(tmpdir(), 'smsc-lock-'));
  const path = join(root, 'smsc.db');
  const config = validateConfig({ store: { sqlite: { path } } }, root);
  const first = await openStore(config);
  try {
    await assert.rejects(openStore(config), (e: Error) => e.message.includes('another SMSC process has the store') && e.message.includes(path));
  } finally {
    await first.close();
  }
  const again = await openStore(config);
  await again.close();
  rmSync(root, { recursive: true, force: true });
});

test('a SQLite store that cannot be opened is named in the error', async () => {
  const root = mkdtempSync(join(tmpdir(), 'smsc-open-'));
  // A folder where the database file should be: SQLite says only 'unable to open database file'.
  const path = join(root, 'smsc.db');
  mkdirSync(path);
  try {
    await assert.rejects(openStore(validateConfig({ store: { sqlite: { path } } }, root)), (e: Error) => e.message.includes(path) && e.message.includes('store.sqlite.path'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a connector URL in the logs: origin and path, no credentials, no query (an api_key there is a secret)', () => {
  assert.equal(urlForLog('https://hooks.example/sms?api_key=SECRET&x=1'), 'https://hooks.example/sms?…');
  assert.equal(urlForLog('http://127.0.0.1:8080/in'), 'http://127.0.0.1:8080/in');
});
