/**
 * Active/standby on one PostgreSQL database (cluster.mode active-standby): the second node
 * waits without listening while the first holds the database's lock, takes over when the first
 * stops, and delivers what was queued on the first. Both nodes in this process, real
 * PostgreSQL (embedded), real TCP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pgLib from 'pg';
import { postgresStoreOptions, type Smsc, startSmsc } from '../../src/app/smsc.js';
import { connect } from '../../src/client/client.js';
import { type Config, validateConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/errors.js';
import type { DeliverSm } from '../../src/pdu/index.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';
import { CLI_PATH } from '../support/smsc-process.js';

let pg: TestPostgres;
before(async () => {
  pg = await startTestPostgres();
});
after(() => pg.stop());

const node = (nodeId: string, cluster: Record<string, unknown> = {}): Config =>
  validateConfig({
    nodeId,
    cluster: { mode: 'active-standby', standbyRetryMs: 100, ...cluster },
    smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
    store: { postgres: { url: pg.url, schema: 'smsc_as' } },
    accounts: [
      { systemId: 'alice', password: 'apw', addresses: ['1000'] },
      { systemId: 'bob', password: 'bpw', addresses: ['2000'] },
    ],
  });

test('a standby node waits while the active one runs, then takes over and delivers its queue', { timeout: 60_000 }, async () => {
  const first = await startSmsc(node('n1'));
  const abort = new AbortController();
  let second: Smsc | undefined;
  const standingBy = startSmsc(node('n2'), { signal: abort.signal }).then((s) => {
    second = s;
    return s;
  });
  try {
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(second, undefined, 'standing by while n1 holds the lock');

    const alice = await connect({ port: first.listening[0]!.port });
    await alice.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
    await alice.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('queued on n1') });
    await alice.close();
    await first.stop();

    const taken = await Promise.race([standingBy, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    assert.ok(taken !== undefined, 'n2 became active within 10 s of n1 stopping');
    const bob = await connect({ port: taken.listening[0]!.port });
    await bob.bind({ type: 'receiver', systemId: 'bob', password: 'bpw' });
    const d = (await bob.deliveries().next()).value as DeliverSm;
    assert.equal(Buffer.from(d.shortMessage).toString(), 'queued on n1');
    await bob.close();
  } finally {
    abort.abort();
    await first.stop().catch(() => {});
    await standingBy.then((s) => s.stop()).catch(() => {});
  }
});

test('a standby that is stopped before it takes over starts nothing', { timeout: 30_000 }, async () => {
  const first = await startSmsc(node('n1'));
  try {
    const abort = new AbortController();
    const standingBy = startSmsc(node('n2'), { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await assert.rejects(standingBy, /standing by/);
  } finally {
    await first.stop();
  }
});

test('an active node that loses its lock (its connection ended) stops: another may be active', { timeout: 30_000 }, async () => {
  let fatal: (e: Error) => void = () => {};
  const stopped = new Promise<Error>((r) => {
    fatal = r;
  });
  const active = await startSmsc(node('n1'), { onFatal: (e) => fatal(e) });
  const admin = new pgLib.Client({ connectionString: pg.url });
  await admin.connect();
  try {
    // The database ends the connection holding the advisory lock (a failover of PostgreSQL, a network cut).
    const res = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()");
    assert.ok((res.rowCount ?? 0) >= 1);
    const err = await Promise.race([stopped, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    assert.match(String(err?.message), /lost the connection holding the active lock/);
  } finally {
    await admin.end();
    await active.stop();
  }
});

for (const standbyId of ['n1', 'n2']) {
  test(`a standby (nodeId ${standbyId}) that takes the lock of an active node still stopping starts only once that node has stopped`, { timeout: 60_000 }, async () => {
    let fatal: (e: Error) => void = () => {};
    const lostLock = new Promise<Error>((r) => {
      fatal = r;
    });
    // With onFatal the old active node stops when the test says: it models one still finishing
    // its deliveries and unbinds after it lost the lock.
    const first = await startSmsc(node('n1'), { onFatal: (e) => fatal(e) });
    const abort = new AbortController();
    let second: Smsc | undefined;
    let failed: unknown;
    const standingBy = startSmsc(node(standbyId), { signal: abort.signal }).then(
      (s) => {
        second = s;
        return s;
      },
      (e: unknown) => {
        failed = e;
        return undefined;
      },
    );
    const admin = new pgLib.Client({ connectionString: pg.url });
    await admin.connect();
    try {
      await new Promise((r) => setTimeout(r, 300));
      // Only the connection holding the active lock ends (class 'SMSA'): n1 itself runs on.
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = x'534d5341'::int::oid");
      assert.equal(cut.rowCount, 1);
      await Promise.race([lostLock, new Promise((_, reject) => setTimeout(() => reject(new Error('n1 never saw its lock lost')), 10_000))]);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(failed, undefined, 'the standby did not give up');
      assert.equal(second, undefined, 'nor start while n1 has not stopped');
      await first.stop();
      const taken = await Promise.race([standingBy, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
      assert.ok(taken !== undefined, `the standby started once n1 stopped (${String(failed)})`);
    } finally {
      abort.abort();
      await admin.end();
      await first.stop().catch(() => {});
      await standingBy.then((s) => s?.stop()).catch(() => {});
    }
  });
}

test('a node that loses the active lock while it waits for the old one to stop does not start', { timeout: 60_000 }, async () => {
  let fatal: (e: Error) => void = () => {};
  const firstLost = new Promise<Error>((r) => {
    fatal = r;
  });
  const first = await startSmsc(node('n1'), { onFatal: (e) => fatal(e) });
  const standingBy = startSmsc(node('n2')).then(
    (s) => s,
    (e: Error) => e,
  );
  const admin = new pgLib.Client({ connectionString: pg.url });
  await admin.connect();
  const cutActiveLock = () =>
    admin.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = x'534d5341'::int::oid");
  try {
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await cutActiveLock()).rowCount, 1);
    await firstLost;
    // n2 takes the lock and waits for n1 to stop; then it loses the lock too.
    let held = 0;
    for (let i = 0; i < 100 && held === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      held = Number((await admin.query("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = x'534d5341'::int::oid")).rows[0].n);
    }
    assert.equal(held, 1, 'n2 holds the lock and waits');
    assert.equal((await cutActiveLock()).rowCount, 1);
    const result = await Promise.race([standingBy, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    assert.ok(result instanceof Error, `n2 gave up the start: ${String(result)}`);
    assert.match(result.message, /active lock/);
  } finally {
    await admin.end();
    await first.stop().catch(() => {});
    await standingBy.then((s) => (s instanceof Error ? undefined : s.stop())).catch(() => {});
  }
});

test('a standby with nothing else open (no admin API) keeps its process alive while it waits', { timeout: 60_000 }, async () => {
  const first = await startSmsc(node('n1'));
  const yaml = JSON.stringify({
    nodeId: 'n2',
    cluster: { mode: 'active-standby', standbyRetryMs: 100 },
    smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
    store: { postgres: { url: pg.url, schema: 'smsc_as' } },
    accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'smsc-standby-'));
  writeFileSync(join(dir, 'smsc.yaml'), yaml);
  const child = spawn(process.execPath, [CLI_PATH, 'start', '--config', join(dir, 'smsc.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  try {
    const standing = await Promise.race([
      new Promise<boolean>((r) => {
        const t = setInterval(() => {
          if (out.includes('standing by')) {
            clearInterval(t);
            r(true);
          }
        }, 50);
      }),
      exited.then(() => false),
    ]);
    assert.ok(standing, `the standby said it stands by: ${out}`);
    const early = await Promise.race([exited.then((code) => `exited ${code}`), new Promise((r) => setTimeout(() => r('running'), 1500))]);
    assert.equal(early, 'running', out);
    await first.stop();
    const listening = await Promise.race([
      new Promise<boolean>((r) => {
        const t = setInterval(() => {
          if (/listening/i.test(out)) {
            clearInterval(t);
            r(true);
          }
        }, 50);
      }),
      new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
    ]);
    assert.ok(listening, `it took over: ${out}`);
  } finally {
    child.kill('SIGKILL');
    await first.stop().catch(() => {});
  }
});

/** A store whose reads fail on demand, as a pool cut from the database does (its lock's connection alive). */
class CutStore extends PostgresStore {
  cut = false;
  override get(id: string) {
    return this.cut ? Promise.reject(new Error('connection terminated unexpectedly')) : super.get(id);
  }
}

test('an active node whose store stops answering gives the lock up after cluster.storeFailureStopMs, so a standby can take over', { timeout: 30_000 }, async () => {
  const config = node('n1', { storeFailureStopMs: 1000 });
  const store = new CutStore(postgresStoreOptions(config));
  await store.init();
  let fatal: (e: Error) => void = () => {};
  const gaveUp = new Promise<Error>((r) => {
    fatal = r;
  });
  const active = await startSmsc(config, { store, onFatal: (e) => fatal(e) });
  const admin = new pgLib.Client({ connectionString: pg.url });
  await admin.connect();
  const activeLocks = async () =>
    Number((await admin.query("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = x'534d5341'::int::oid")).rows[0].n);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await activeLocks(), 1, 'a store that answers keeps the lock');
    store.cut = true;
    const err = await Promise.race([gaveUp, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    assert.match(String(err?.message), /store has not answered for \d+ s \(the store failed: connection terminated unexpectedly\): giving the active lock up/);
    assert.equal(await activeLocks(), 0, 'the lock is free for a standby');
  } finally {
    await admin.end();
    await active.stop();
    await store.close();
  }
});

test('active-standby needs PostgreSQL: with SQLite the config error names cluster.mode', () => {
  assert.throws(
    () => validateConfig({ cluster: { mode: 'active-standby' }, accounts: [] }),
    (e: unknown) => e instanceof ConfigError && e.key === 'cluster.mode',
  );
});
