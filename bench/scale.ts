/**
 * Scale benchmark: the SMSC as its own process (SQLite, durable), measured from outside.
 *
 * - `sessions`: N ESME sessions bound at once (transceivers, spread over accounts of 100
 *   binds each); prints the SMSC's RSS (current and peak, /proc/<pid>/status) once all are
 *   bound, and after a round of enquire_link on every session.
 * - `queued`: N messages queued for an account that is not bound, written straight into the
 *   SQLite file before the SMSC starts (as a restart with a backlog finds them); prints the
 *   SMSC's RSS with the backlog, the time from process start to listening, and the time from
 *   start (and from bind) to the first deliver_sm once the account binds, and how many arrive
 *   in the following 5 s.
 *
 * Usage: npm run bench:scale [-- --scenario sessions|queued|both --sessions 10000 --queued 1000000]
 * Results are also written to bench-results/scale.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProgressBar } from '../src/cli/progress.js';
import { type Client, connect } from '../src/client/client.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { NewMessage } from '../src/store/types.js';
import {
  type AccountSpec,
  closeQuietly,
  killAllSmscProcesses,
  removeDir,
  type SmscProcess,
  startSmscProcess,
  tempDir,
} from '../test/support/smsc-process.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'both' },
    sessions: { type: 'string', default: '10000' },
    queued: { type: 'string', default: '1000000' },
    out: { type: 'string', default: 'bench-results/scale.json' },
  },
});
const SESSIONS = Number(values.sessions);
const QUEUED = Number(values.queued);
if (!Number.isInteger(SESSIONS) || SESSIONS < 1 || !Number.isInteger(QUEUED) || QUEUED < 1) {
  console.error('--sessions and --queued must be positive integers');
  process.exit(2);
}

/** RSS figures of a process, MB. */
function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakRssMb: Math.round(kb('VmHWM') / 1024) };
}

async function sessionsScenario(): Promise<Record<string, unknown>> {
  const dir = await tempDir('smsc-scale-');
  const perAccount = 100;
  const accounts: AccountSpec[] = Array.from({ length: Math.ceil(SESSIONS / perAccount) }, (_, i) => ({
    systemId: `esme${i}`,
    password: 'pw',
    addresses: [String(100_000 + i)],
    maxBinds: perAccount,
  }));
  let smsc: SmscProcess | undefined;
  const clients: Client[] = [];
  try {
    smsc = await startSmscProcess({
      dir,
      label: 'scale',
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      smpp: { maxConnections: SESSIONS + 100, enquireLinkIntervalMs: 0 },
      accounts,
    });
    const pid = smsc.child.pid!;
    const before = memoryOf(pid);
    const t0 = performance.now();
    const bindBar = new ProgressBar('binding', SESSIONS);
    // Bind in waves of 500 so the listener's accept queue is never the limit.
    for (let i = 0; i < SESSIONS; i += 500) {
      const wave = await Promise.all(
        Array.from({ length: Math.min(500, SESSIONS - i) }, async (_, j) => {
          const n = i + j;
          const c = await connect({ port: smsc!.port, session: { enquireLinkIntervalMs: 0 } });
          await c.bind({ type: 'transceiver', systemId: `esme${Math.floor(n / perAccount)}`, password: 'pw' });
          return c;
        }),
      );
      clients.push(...wave);
      bindBar.update(clients.length);
    }
    bindBar.end();
    const bindSeconds = (performance.now() - t0) / 1000;
    const bound = memoryOf(pid);
    const t1 = performance.now();
    await Promise.all(clients.map((c) => c.session.request('enquire_link', {})));
    const enquireMs = performance.now() - t1;
    const after = memoryOf(pid);
    const result = {
      sessions: clients.length,
      bindSeconds: Number(bindSeconds.toFixed(2)),
      rssBeforeMb: before.rssMb,
      rssBoundMb: bound.rssMb,
      rssAfterEnquireMb: after.rssMb,
      peakRssMb: after.peakRssMb,
      kbPerSession: Math.round(((after.rssMb - before.rssMb) * 1024) / clients.length),
      enquireLinkRoundMs: Math.round(enquireMs),
    };
    console.log(
      `sessions: ${result.sessions} bound in ${result.bindSeconds} s; SMSC RSS ${result.rssBeforeMb} MB idle → ${result.rssBoundMb} MB bound → ${result.rssAfterEnquireMb} MB after one enquire_link each (peak ${result.peakRssMb} MB, ~${result.kbPerSession} kB/session; target: 10,000 sessions under 1 GB)`,
    );
    return result;
  } finally {
    await Promise.all(clients.map((c) => closeQuietly(c, 5000)));
    await smsc?.stop();
    await killAllSmscProcesses();
    await removeDir(dir);
  }
}

async function queuedScenario(): Promise<Record<string, unknown>> {
  const dir = await tempDir('smsc-scale-');
  const path = join(dir, 'smsc.db');
  let smsc: SmscProcess | undefined;
  let bob: Client | undefined;
  try {
    // The backlog, written as a previous run of the SMSC would have left it.
    const store = new SqliteStore({ path, commitDelayMs: 0, events: false });
    await store.init();
    const now = Date.now();
    const payload = Buffer.from('queued while bob was away');
    const tFill = performance.now();
    const fillBar = new ProgressBar('queueing', QUEUED);
    for (let i = 0; i < QUEUED; i += 5000) {
      const batch: NewMessage[] = [];
      for (let j = i; j < Math.min(QUEUED, i + 5000); j++) {
        batch.push({
          id: String(1_000_000_000_000 + j),
          direction: 'mt',
          account: 'alice',
          target: 'esme:bob',
          batchId: null,
          source: { ton: 1, npi: 1, addr: '1000' },
          destination: { ton: 1, npi: 1, addr: '2000' },
          serviceType: '',
          esmClass: 0,
          protocolId: 0,
          priority: 0,
          dataCoding: 0,
          registeredDelivery: 0,
          payload,
          payloadInTlv: false,
          tlvs: null,
          submittedAt: now,
          scheduleAt: now,
          expiresAt: now + 7 * 86_400_000,
          receiptFor: null,
          originNode: 'n1',
          originSession: null,
        });
      }
      await store.insert(batch);
      fillBar.update(Math.min(QUEUED, i + 5000));
    }
    fillBar.end();
    await store.close();
    const fillSeconds = (performance.now() - tFill) / 1000;

    const tStart = performance.now();
    smsc = await startSmscProcess({
      dir,
      label: 'scale',
      store: { sqlite: { path } },
      accounts: [
        { systemId: 'alice', password: 'apw', addresses: ['1000'] },
        { systemId: 'bob', password: 'bpw', addresses: ['2000'], windowSize: 100 },
      ],
    });
    const listeningMs = performance.now() - tStart;
    // Let it settle with the backlog (expiry and due timers run), then read its memory.
    await new Promise((r) => setTimeout(r, 2000));
    const idle = memoryOf(smsc.child.pid!);
    bob = await connect({ port: smsc.port });
    let first = 0;
    let received = 0;
    const tBind = performance.now();
    await bob.bind({ type: 'receiver', systemId: 'bob', password: 'bpw' });
    const done = (async () => {
      for await (const d of bob!.deliveries()) {
        if (d.command !== 'deliver_sm') continue;
        if (received++ === 0) first = performance.now();
        if (first > 0 && performance.now() - first > 5000) break;
      }
    })();
    const deadline = Date.now() + 30_000;
    while ((first === 0 || performance.now() - first < 5000) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const busy = memoryOf(smsc.child.pid!);
    void done;
    const result = {
      queued: QUEUED,
      fillSeconds: Number(fillSeconds.toFixed(1)),
      startToListeningMs: Math.round(listeningMs),
      rssWithBacklogMb: idle.rssMb,
      firstDeliveryAfterBindMs: first === 0 ? null : Math.round(first - tBind),
      firstDeliveryAfterStartMs: first === 0 ? null : Math.round(first - tStart - 2000),
      deliveredInFirst5s: received,
      rssWhileDeliveringMb: busy.rssMb,
      peakRssMb: busy.peakRssMb,
    };
    console.log(
      `queued: ${QUEUED} messages for an unbound ESME; SMSC listening ${result.startToListeningMs} ms after start, RSS ${result.rssWithBacklogMb} MB with the backlog (target < 300 MB); first deliver_sm ${result.firstDeliveryAfterBindMs} ms after bob bound (start → listening → bind: ${result.firstDeliveryAfterStartMs} ms excluding the 2 s settle; target < 5 s); ${received} delivered in the first 5 s; RSS ${result.rssWhileDeliveringMb} MB delivering (peak ${result.peakRssMb} MB)`,
    );
    return result;
  } finally {
    await closeQuietly(bob, 5000);
    await smsc?.stop();
    await killAllSmscProcesses();
    await removeDir(dir);
  }
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
  if (values.scenario === 'sessions' || values.scenario === 'both') results['sessions'] = await sessionsScenario();
  if (values.scenario === 'queued' || values.scenario === 'both') results['queued'] = await queuedScenario();
  mkdirSync(join(values.out!, '..'), { recursive: true });
  writeFileSync(values.out!, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`written to ${values.out}`);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
