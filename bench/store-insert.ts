/**
 * Store insert benchmark: durable inserts per second with group commit, for SQLite (a temp
 * file, WAL + synchronous=FULL) and PostgreSQL (embedded server with fsync on, or
 * SMSC_TEST_PG_URL), with the event log on and off, plus a one-writer baseline (every insert
 * its own commit), the claim → markDelivered outcome rate and the finalize (next hop's verdict,
 * receipt made) rate.
 * The SQLite store on its worker thread (the product's default) also shows each thread's CPU per row.
 * Usage: npm run build && node dist/bench/store-insert.js [--count 20000] [--concurrency 64] [--backend sqlite|postgres|all]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { ThreadedSqliteStore } from '../src/store/sqlite/threaded-store.js';
import type { NewMessage, Store, StoreOptions } from '../src/store/types.js';
import { startTestPostgres } from '../test/support/pg.js';
import { threadCpuMs } from './support/smsc.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const count = Number(arg('count', '20000'));
const concurrency = Number(arg('concurrency', '64'));
const backend = arg('backend', 'all');

const T0 = 1_700_000_000_000;
let seq = 0;
function message(): NewMessage {
  const n = ++seq;
  return {
    id: `b${n}`,
    direction: 'mt',
    account: `acc${n % 10}`,
    target: `esme:acc${n % 10}`,
    batchId: null,
    source: { ton: 5, npi: 0, addr: 'ACME' },
    destination: { ton: 1, npi: 1, addr: `4477009${String(n % 100000).padStart(5, '0')}` },
    serviceType: '',
    esmClass: 0,
    protocolId: 0,
    priority: 0,
    dataCoding: 0,
    registeredDelivery: 1,
    payload: Buffer.from('Hello from the benchmark, a typical short message text'),
    payloadInTlv: false,
    tlvs: null,
    submittedAt: T0 + n,
    scheduleAt: T0 + n,
    expiresAt: T0 + 86_400_000,
    receiptFor: null,
    originNode: 'bench',
    originSession: 's1',
  };
}

/** `total` single-message inserts from `writers` concurrent loops; returns rows/s and rows per transaction. */
async function insertRun(store: Store, total: number, writers: number): Promise<{ perSec: number; perBatch: number }> {
  const before = store.stats();
  let left = total;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (left > 0) {
        left--;
        await store.insert([message()]);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const after = store.stats();
  const batches = after.commitBatches - before.commitBatches;
  return { perSec: total / secs, perBatch: total / Math.max(1, batches) };
}

/** Claims everything due in chunks of 100 and marks each delivered, `writers` outcomes at a time. */
async function deliverRun(store: Store, writers: number): Promise<number> {
  const targets = Array.from({ length: 10 }, (_, i) => `esme:acc${i}`);
  let done = 0;
  const start = process.hrtime.bigint();
  for (;;) {
    const batch = await store.claimDue({ targets, now: T0 + 10_000_000, limit: 100 * writers, leaseMs: 60_000, owner: 'bench' });
    if (batch.length === 0) break;
    let i = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (i < batch.length) {
          const m = batch[i++]!;
          await store.markDelivered(m.id, T0 + 10_000_001, 'bench');
        }
      }),
    );
    done += batch.length;
  }
  return done / (Number(process.hrtime.bigint() - start) / 1e9);
}

/**
 * Next hops' verdicts (an upstream SMSC's receipts): `total` pending messages, each ended by
 * finalize() with its receipt made, `writers` at a time. Returns verdicts/s.
 */
async function verdictRun(store: Store, total: number, writers: number): Promise<number> {
  const msgs = Array.from({ length: total }, () => ({ ...message(), target: 'upstream' }));
  for (let i = 0; i < msgs.length; i += 500) await store.insert(msgs.slice(i, i + 500));
  let i = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (i < msgs.length) await store.finalize(msgs[i++]!.id, 'DELIVERED', T0 + 10_000_002, 0, 'bench');
    }),
  );
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(9);
}

async function scenario(label: string, open: (o: StoreOptions) => Promise<{ store: Store; done(): Promise<void> }>, options: StoreOptions, deliver = false) {
  const { store, done } = await open(options);
  try {
    await insertRun(store, Math.min(2000, count), concurrency); // warm-up
    const r = await insertRun(store, count, concurrency);
    let line = `${label.padEnd(44)} ${fmt(r.perSec)} inserts/s  ${r.perBatch.toFixed(1).padStart(6)} rows/commit`;
    if (deliver) {
      line += `  | claim+markDelivered ${fmt(await deliverRun(store, concurrency))} /s`;
      line += `  | finalize+receipt ${fmt(await verdictRun(store, Math.min(count, 10_000), concurrency))} /s`;
    }
    console.log(line);
    const base = await insertRun(store, Math.min(500, count), 1);
    console.log(`${`${label}, 1 writer`.padEnd(44)} ${fmt(base.perSec)} inserts/s  ${base.perBatch.toFixed(1).padStart(6)} rows/commit`);
  } finally {
    await store.close();
    await done();
  }
}

console.log(`store insert benchmark: ${count} single-message inserts, ${concurrency} concurrent writers`);

if (backend === 'all' || backend === 'sqlite') {
  for (const [events, delay] of [
    [true, 1],
    [false, 1],
    [true, 0],
  ] as const) {
    await scenario(
      `sqlite events=${events ? 'on ' : 'off'} commitDelayMs=${delay}`,
      async (o) => {
        const dir = await mkdtemp(join(tmpdir(), 'smsc-bench-'));
        const store = new SqliteStore({ path: join(dir, 'bench.db'), ...o });
        await store.init();
        return { store, done: () => rm(dir, { recursive: true, force: true }) };
      },
      { events, commitDelayMs: delay },
      events && delay === 1,
    );
  }
}

if (backend === 'all' || backend === 'sqlite') {
  // The product's default: the store on its worker thread. The worker's CPU per row is what
  // bounds the accept rate (the main thread's is printed too).
  const dir = await mkdtemp(join(tmpdir(), 'smsc-bench-'));
  const store = new ThreadedSqliteStore({ path: join(dir, 'bench.db'), events: false });
  await store.init();
  try {
    await insertRun(store, Math.min(2000, count), concurrency); // warm-up
    const before = threadCpuMs();
    const r = await insertRun(store, count, concurrency);
    const after = threadCpuMs();
    const spent = [...after].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)] as const).sort((a, b) => b[1] - a[1]);
    const main = spent.find(([tid]) => tid === process.pid)?.[1] ?? 0;
    const worker = spent.find(([tid]) => tid !== process.pid)?.[1] ?? 0;
    console.log(
      `${'sqlite events=off, worker thread'.padEnd(44)} ${fmt(r.perSec)} inserts/s  ${r.perBatch.toFixed(1).padStart(6)} rows/commit  | CPU per row: worker ${((worker * 1000) / count).toFixed(1)} µs, main ${((main * 1000) / count).toFixed(1)} µs`,
    );
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (backend === 'all' || backend === 'postgres') {
  for (const [events, delay] of [
    [true, 1],
    [false, 1],
  ] as const) {
    await scenario(
      `postgres events=${events ? 'on ' : 'off'} commitDelayMs=${delay}`,
      async (o) => {
        const db = await startTestPostgres({ durable: true });
        const store = new PostgresStore({ url: db.url, ...o });
        await store.init();
        return { store, done: () => db.stop() };
      },
      { events, commitDelayMs: delay },
      events,
    );
  }
}
