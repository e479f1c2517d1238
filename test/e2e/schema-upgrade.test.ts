/**
 * An SMSC node running on PostgreSQL when another node, of newer code, migrates the shared
 * database: `smsc start` logs which versions and that the node must be upgraded, stops the way
 * SIGTERM stops it and exits 1; an SMSC started as a library stops itself (or calls onFatal).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startSmsc } from '../../src/app/smsc.js';
import { validateConfig } from '../../src/config/config.js';
import { postgresMigrations } from '../../src/store/migrations/postgres.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';
import { killAllSmscProcesses, removeDir, startSmscProcess, tempDir } from '../support/smsc-process.js';
import { until } from '../support/until.js';

const KNOWN = postgresMigrations.length;
const NEWER_CODE = [...postgresMigrations, 'CREATE TABLE schema_test_probe (x integer)'];
const ALICE = { systemId: 'alice', password: 'alice-pw', addresses: ['1000'] };

let dir: string | undefined;
before(async () => {
  dir = await tempDir('smsc-schema-upgrade-');
});
after(async () => {
  await killAllSmscProcesses();
  await removeDir(dir);
});

/** Runs init() of a store of newer code on the database: the migration a newer node makes. */
async function migrateAsNewerNode(url: string): Promise<void> {
  const newer = new PostgresStore({ url, migrations: NEWER_CODE });
  try {
    await newer.init();
  } finally {
    await newer.close();
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('smsc start: the database migrated past its code by another node, it logs both versions, stops and exits 1', { timeout: 60_000 }, async () => {
  const pg: TestPostgres = await startTestPostgres();
  try {
    const node = await startSmscProcess({ dir: dir!, label: 'old-node', nodeId: 'n1', store: { postgres: { url: pg.url } }, accounts: [ALICE] });
    await migrateAsNewerNode(pg.url);
    const exit = await Promise.race([
      node.exited,
      new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 15_000).unref()),
    ]);
    assert.deepEqual(exit, { code: 1, signal: null }, node.output());
    const out = node.output();
    assert.match(out, new RegExp(`database schema version ${KNOWN + 1} is newer than this code \\(${KNOWN}\\)`), out);
    assert.match(out, /upgrade node n1/, out);
    assert.match(out, /stopping: unbinding sessions/, out);
  } finally {
    await pg.stop();
  }
});

test('startSmsc: stops itself when the database is migrated past its code, or calls onFatal when given', { timeout: 60_000 }, async () => {
  const pg = await startTestPostgres();
  const config = (nodeId: string) =>
    validateConfig({
      nodeId,
      smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
      store: { postgres: { url: pg.url } },
      accounts: [ALICE],
    });
  const fatal: Error[] = [];
  const selfStopping = await startSmsc(config('n1'));
  const reporting = await startSmsc(config('n2'), { onFatal: (error) => fatal.push(error) });
  try {
    const port = selfStopping.listening[0]!.port;
    assert.equal(await accepting(port), true);
    await migrateAsNewerNode(pg.url);
    await until(async () => !(await accepting(port)), 'the node to stop itself');
    await until(() => fatal.length > 0, 'onFatal');
    assert.match(fatal[0]!.message, new RegExp(`version ${KNOWN + 1} is newer than this code \\(${KNOWN}\\).*upgrade node n2`));
    assert.equal(fatal.length, 1);
    assert.equal(await accepting(reporting.listening[0]!.port), true, 'with onFatal, stopping is the caller’s');
  } finally {
    await Promise.all([selfStopping.stop(), reporting.stop()]);
    await pg.stop();
  }
});

// What it had started is stopped again: a listener left open would keep this file from ending.
test('startSmsc: a store found outdated while starting fails the start, naming both versions', { timeout: 60_000 }, async () => {
  const pg = await startTestPostgres();
  const store = new PostgresStore({ url: pg.url });
  try {
    await store.init();
    let outdated = false;
    await store.onSchemaNewer(() => {
      outdated = true;
    });
    await migrateAsNewerNode(pg.url);
    await until(() => outdated, 'the store to hear the migration');
    const config = validateConfig({
      nodeId: 'n3',
      smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
      store: { postgres: { url: pg.url } },
      accounts: [ALICE],
    });
    await assert.rejects(startSmsc(config, { store }), new RegExp(`version ${KNOWN + 1} is newer than this code \\(${KNOWN}\\).*upgrade node n3`));
  } finally {
    await store.close();
    await pg.stop();
  }
});
