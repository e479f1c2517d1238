/**
 * The benchmark suite (`npm run bench`, `smsc bench`): the SMSC as its own process (`smsc
 * start`, embedded SQLite with durable commits, or PostgreSQL), load from this process through
 * raw SMPP sessions (bench/support/raw-esme.ts), a matrix of scenarios × windows × connections,
 * each cell on a fresh SMSC and
 * bounded in time (--seconds, then at most --drain-seconds for deliveries on their way) and
 * count (--max). Baselines in the same run: our answer-only SMPP server and the npm `smpp`
 * package's server (bench/answer-server.ts), each as its own process.
 *
 * Scenarios:
 * - accept: transmitters submit to 3000, owned by carol who never binds (nothing delivered,
 *   registered_delivery 0): the store's accept path.
 * - esme: transmitters submit to 2000 (bob's receiver answers every deliver_sm), receipts
 *   requested and taken by alice's receiver.
 * - network: to the simulated network (4470…, latency 0, success 1), receipts requested.
 * - mo: the simulated network originates MO to 2000 as fast as the store takes it
 *   (network.mo); `--connections` receivers of bob take them; the window is bob's account
 *   window (deliver_sm outstanding per session).
 * - accept-pg, esme-pg: accept and esme on PostgreSQL (embedded, durable, started here).
 *
 * Progress on stderr, a table on stdout, JSON in bench-results/suite.json (--out).
 * Usage: npm run bench [-- --quick] [-- --scenarios accept,esme --windows 1,10 --connections 1,4 --seconds 3]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { commandStatusName, EsmClass } from '../src/pdu/constants.js';
import { parseReceipt } from '../src/sm/dlr.js';
import { startTestPostgres, type TestPostgres } from '../test/support/pg.js';
import {
  type AccountSpec,
  killAllSmscProcesses,
  removeDir,
  type SmscProcessOptions,
  tempDir,
} from '../test/support/smsc-process.js';
import { Progress } from './support/progress.js';
import { RawEsme } from './support/raw-esme.js';
import { descendantsCpuMs, type ProcSample, sampleHostCpu, sampleProc, startSmscProcessWith, stealPct } from './support/smsc.js';

const SCENARIOS = ['accept', 'esme', 'network', 'mo', 'accept-pg', 'esme-pg'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** What serves the load: the SMSC, or a baseline (bench/answer-server.ts). */
type Target = 'smsc' | 'answer' | 'npm' | 'npm-receipts';

const HELP = `npm run bench [-- options]     (also: smsc bench [options])

Runs the SMSC (own process, SQLite durable; PostgreSQL for the -pg scenarios) through a matrix of
scenarios × windows × connections, with baselines, and prints a table; JSON goes to --out.

  --scenarios LIST      ${SCENARIOS.join(',')} (default: all)
  --windows LIST        submit window per connection (default 1,10,100; --quick 10,100)
  --connections LIST    transmitter connections (default 1,4; --quick 4)
  --seconds N           submit seconds per cell (default 3; --quick 2)
  --max N               at most N submits per cell (default 100000)
  --drain-seconds N     at most N s more for deliveries/receipts on their way (default 10; --quick 5)
  --mo-rate N           network.mo ratePerSecond of the mo scenario (default 50000)
  --rate N              offer N submit_sm/s in all (paced), instead of as fast as the window allows:
                        the latency at a given load (e.g. --scenarios accept --rate 20000)
  --warmup-seconds N    leave the submits of the first N s out of the latency percentiles (JIT
                        warm-up; they still count in msgs/s) (default 0)
  --destinations N      accept and esme submit to N destination numbers, scattered (default 1:
                        one number; real traffic has many, which costs the store more per message)
  --quick               the smaller default set above (a few minutes)
  --no-baselines        skip the answer-only and npm smpp baselines
  --out FILE            JSON output (default bench-results/suite.json)`;

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string' },
    windows: { type: 'string' },
    connections: { type: 'string' },
    seconds: { type: 'string' },
    max: { type: 'string', default: '100000' },
    'drain-seconds': { type: 'string' },
    'mo-rate': { type: 'string', default: '50000' },
    rate: { type: 'string' },
    'warmup-seconds': { type: 'string', default: '0' },
    destinations: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
    'no-baselines': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/suite.json' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}

function usage(message: string): never {
  console.error(`${message}\n\n${HELP}`);
  process.exit(2);
}

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) usage(`--${name} must be a positive integer (got '${v}')`);
  return n;
}

function list(name: string, v: string | undefined, def: number[]): number[] {
  if (v === undefined) return def;
  return v.split(',').map((x) => positive(name, x.trim()));
}

const QUICK = values.quick;
const WINDOWS = list('windows', values.windows, QUICK ? [10, 100] : [1, 10, 100]);
const CONNECTIONS = list('connections', values.connections, QUICK ? [4] : [1, 4]);
const SECONDS = positive('seconds', values.seconds ?? (QUICK ? '2' : '3'));
const MAX = positive('max', values.max);
const DRAIN_SECONDS = positive('drain-seconds', values['drain-seconds'] ?? (QUICK ? '5' : '10'));
const MO_RATE = positive('mo-rate', values['mo-rate']);
const DESTINATIONS = positive('destinations', values.destinations);
/** Offered submit_sm/s (paced), or undefined for as fast as the windows allow. */
const RATE = values.rate === undefined ? undefined : positive('rate', values.rate);
const WARMUP_MS = (() => {
  const n = Number(values['warmup-seconds']);
  if (!(n >= 0) || n >= SECONDS) usage(`--warmup-seconds must be >= 0 and less than --seconds (got '${values['warmup-seconds']}')`);
  return n * 1000;
})();
const BASELINES = !values['no-baselines'];
const OUT = values.out;
const SELECTED: Scenario[] = (values.scenarios?.split(',').map((s) => s.trim()) ?? [...SCENARIOS]).map((s) => {
  if (!(SCENARIOS as readonly string[]).includes(s)) usage(`unknown scenario '${s}' (${SCENARIOS.join(', ')})`);
  return s as Scenario;
});

const ANSWER_SERVER = fileURLToPath(new URL('./answer-server.js', import.meta.url));
const NETWORK_PREFIX = '4470';
const RANGES = [{ prefix: NETWORK_PREFIX, latencyMs: 0, successRatio: 1 }];

// ---- one cell ------------------------------------------------------------------------------

interface Cell {
  scenario: Scenario;
  target: Target;
  window: number;
  connections: number;
}

interface CellResult extends Cell {
  store: 'sqlite' | 'postgres' | 'none';
  /** submit_sm answered ESME_ROK (mo: 0). */
  accepted: number;
  /** deliver_sm (not receipts) received by bob; network: DELIVRD receipts; mo: MO received. */
  delivered: number;
  receipts: number;
  refused: Record<string, number>;
  lostSubmits: number;
  /** accepted/s over the submit phase; mo: MO received/s over the cell. */
  msgsPerSec: number;
  /** delivered / (first submit → last delivered). */
  deliveredPerSec: number;
  /** receipts / (first submit → last receipt). */
  receiptsPerSec: number;
  /** Submits in the latency percentiles (those after the warm-up). */
  latencySamples: number;
  submitLatencyMs: { p50: number; p99: number; max: number } | null;
  /** submit_sm written → deliver_sm received by bob (from the time in the text), p99. */
  deliveryLatencyP99Ms: number | null;
  /** submit_sm written → receipt received (by message id), p99. */
  receiptLatencyP99Ms: number | null;
  /** Server CPU (utime+stime, ms) per 1000 messages (accepted; mo: delivered), submit and drain. */
  serverCpuMsPer1000: number | null;
  /** PostgreSQL cells: CPU ms of the embedded PostgreSQL (server and backends) per 1000 messages. */
  dbCpuMsPer1000?: number | null;
  /** Server VmHWM, MB. */
  serverPeakRssMb: number | null;
  /** This process's CPU (user+system) over the cell, % of one core. */
  loadCpuPct: number;
  loadCpuMsPer1000: number | null;
  /**
   * The share of the whole machine's CPU time the hypervisor stole during the cell (`/proc/stat`),
   * %: a cell run while it was high ran on less than the machine's cores. null off Linux.
   */
  hostStealPct: number | null;
  submitSeconds: number;
  cellSeconds: number;
  /** Everything expected arrived within the drain bound. */
  complete: boolean;
  /**
   * SMSC msgs/s divided by the baseline's in the same cell (window, connections): `answer`,
   * `npm`; with receipts also receipts/s divided by the baseline's: `npmReceipts`.
   */
  ratios?: Record<string, number>;
  error?: string;
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (n: number, digits = 0) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What {@link drive} does with each submit. */
interface Load {
  /** Write submit n on `esme` (its sequence number is n + 1). */
  submit(esme: RawEsme, n: number): void;
  answered(n: number, status: number, messageId: string): void;
  /** `count` submits will never be answered: their connection closed. */
  lost(count: number): void;
}

/** How long after the submit phase answers may still come before the rest count as lost. */
const ANSWER_GRACE_MS = 30_000;

/**
 * Runs the submits of a cell: every sender keeps at most `window` submits in flight, and none
 * starts after `deadline` or past --max. Without --rate, as fast as answers come (closed loop);
 * with it, submit n is due at start + n / rate: one 1 ms timer releases what is due to senders
 * with a free slot (a timer per submit cost the load generator about twice the CPU, taken from
 * the server on these cores). An answer releases a due submit at once only when the windows held
 * it back: releasing on every answer made about one socket write per submit, and on loopback a
 * write costs its sender the receiver's TCP work too. Resolves when every submit is answered or
 * lost.
 */
function drive(senders: readonly RawEsme[], window: number, start: number, deadline: number, load: Load): Promise<void> {
  return new Promise((resolve) => {
    const flying = new Int32Array(senders.length);
    /** 1 while submit n waits for its answer: anything else answered is not counted. */
    const outstanding = new Uint8Array(MAX);
    const alive = senders.map(() => true);
    let started = 0;
    let rr = 0;
    /** The last release left due submits unsent: every window was full. */
    let held = RATE === undefined;
    let finished = false;
    let tick: NodeJS.Timeout | undefined;
    const due = () => (RATE === undefined ? MAX : Math.floor(((performance.now() - start) * RATE) / 1000) + 1);
    const open = () => started < MAX && performance.now() < deadline;
    const send = (i: number) => {
      flying[i]!++;
      outstanding[started] = 1;
      load.submit(senders[i]!, started++);
    };
    const finish = () => {
      finished = true;
      clearTimeout(tick);
      clearTimeout(grace);
      resolve();
    };
    const check = () => {
      if (finished) return;
      if (alive.some((a, i) => a && flying[i]! > 0)) return;
      if (!open() || !alive.includes(true)) finish();
    };
    const release = () => {
      tick = undefined;
      const d = due();
      for (let tried = 0; started < d && tried < senders.length && open(); ) {
        const i = rr;
        rr = (rr + 1) % senders.length;
        if (alive[i] && flying[i]! < window) {
          send(i);
          tried = 0;
        } else tried++;
      }
      held = started < d;
      if (open()) tick = setTimeout(release, 1);
      else check();
    };
    const grace = setTimeout(() => {
      for (let i = 0; i < senders.length; i++) if (alive[i]) load.lost(flying[i]!);
      finish();
    }, deadline - start + ANSWER_GRACE_MS);
    senders.forEach((esme, i) => {
      esme.onSubmitResp = (seq, status, messageId) => {
        const n = seq - 1;
        // Not ours, answered twice, or after the grace time counted it lost.
        if (finished || n < 0 || n >= started || outstanding[n] !== 1) return;
        outstanding[n] = 0;
        flying[i]!--;
        load.answered(n, status, messageId);
        if (held && alive[i] && open() && started < due()) send(i);
        else check();
      };
      esme.onClose = () => {
        if (finished || !alive[i]) return;
        alive[i] = false;
        load.lost(flying[i]!);
        flying[i] = 0;
        check();
      };
    });
    if (RATE === undefined) {
      for (let i = 0; i < senders.length; i++) for (let w = 0; w < window && open(); w++) send(i);
      check();
    } else release();
  });
}

/** A server process under load: the SMSC or a baseline. */
interface Server {
  port: number;
  pid: number | undefined;
  kill(): Promise<void>;
}

async function startBaseline(target: Exclude<Target, 'smsc'>): Promise<Server> {
  const args = target === 'answer' ? ['--impl', 'ours'] : ['--impl', 'npm', ...(target === 'npm-receipts' ? ['--receipts'] : [])];
  const child: ChildProcess = spawn(process.execPath, [ANSWER_SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${target} baseline not listening within 10 s:\n${out}`)), 10_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /listening on port (\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${target} baseline exited:\n${out}`));
    });
  });
  return {
    port,
    pid: child.pid,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      kill();
      await gone;
    },
  };
}

let pgKeeper: Promise<TestPostgres> | undefined;

async function startSmsc(cell: Cell, dir: string): Promise<{ server: Server; cleanup: () => Promise<void> }> {
  const pg = cell.scenario.endsWith('-pg');
  let db: TestPostgres | undefined;
  if (pg) {
    // One handle held for the whole run keeps the embedded server up between cells.
    pgKeeper ??= startTestPostgres({ durable: true });
    await pgKeeper;
    db = await startTestPostgres({ durable: true });
  }
  const accounts: AccountSpec[] = [
    { systemId: 'alice', password: 'alice-pw', addresses: ['1000'], maxBinds: cell.connections + 2, windowSize: 100 },
    // 2000 and 3000 exactly, and the numbers they begin (--destinations).
    { systemId: 'bob', password: 'bob-pw', addresses: ['2000', '2000*'], maxBinds: cell.connections + 2, windowSize: cell.scenario === 'mo' ? cell.window : 100 },
    { systemId: 'carol', password: 'carol-pw', addresses: ['3000', '3000*'], maxBinds: 2, windowSize: 100 },
  ];
  const o: SmscProcessOptions = {
    dir,
    label: 'bench',
    store: db !== undefined ? { postgres: { url: db.url } } : { sqlite: { path: join(dir, 'smsc.db') } },
    accounts,
  };
  const extra: Record<string, unknown> = {};
  if (cell.scenario === 'network') {
    extra['routes'] = { mt: [{ prefix: NETWORK_PREFIX, connector: 'network' }] };
    extra['network'] = { ranges: RANGES };
  } else if (cell.scenario === 'mo') {
    extra['network'] = {
      ranges: RANGES,
      mo: { ratePerSecond: MO_RATE, from: `${NETWORK_PREFIX}xxxxxxxx`, to: '2000', text: 'MO {n}', maxInFlight: 1000, tickMs: 10 },
    };
  }
  let p: Awaited<ReturnType<typeof startSmscProcessWith>>;
  try {
    p = await startSmscProcessWith(o, extra);
  } catch (err) {
    await db?.stop().catch(() => {});
    throw err;
  }
  return {
    server: {
      port: p.port,
      pid: p.child.pid,
      async kill() {
        // A graceful stop when profiling (SMSC_NODE_ARGS): --cpu-prof writes its file at exit.
        if (process.env['SMSC_NODE_ARGS']) await p.stop();
        else await p.kill();
      },
    },
    cleanup: async () => {
      await db?.stop().catch(() => {});
    },
  };
}

const TEXT_PREFIX = 'bench t=';

/**
 * The destination of submit n: `base`, or with --destinations N one of N numbers beginning
 * with it, scattered (consecutive submits go to distant numbers, as real traffic does, not in
 * index order).
 */
function destinationOf(base: string, n: number): string {
  if (DESTINATIONS === 1) return base;
  return `${base}${String((n * 7919) % DESTINATIONS).padStart(8, '0')}`;
}

async function runCell(cell: Cell): Promise<CellResult> {
  const dir = await tempDir('smsc-bench-suite-');
  const sessions: RawEsme[] = [];
  let server: Server | undefined;
  let cleanup = async () => {};
  try {
    if (cell.target === 'smsc') ({ server, cleanup } = await startSmsc(cell, dir));
    else server = await startBaseline(cell.target);
    const base = cell.scenario.replace(/-pg$/, '') as 'accept' | 'esme' | 'network' | 'mo';
    const smsc = cell.target === 'smsc';

    let delivered = 0;
    let receipts = 0;
    let lastDeliveredAt = 0;
    let lastReceiptAt = 0;
    const deliveryLatencies: number[] = [];
    const receiptLatencies: number[] = [];
    const submittedAt = new Map<string, number>();
    const receiptedIds = new Set<string>();

    const consume = (esme: RawEsme, role: 'bob' | 'alice') => {
      esme.onDeliver = (d) => {
        const now = performance.now();
        const isReceipt = (d.esmClass & EsmClass.TypeMask) === EsmClass.TypeDeliveryReceipt;
        if (role === 'bob' && !isReceipt) {
          delivered++;
          lastDeliveredAt = now;
          const text = d.text.toString('latin1');
          if (text.startsWith(TEXT_PREFIX)) deliveryLatencies.push(now - Number(text.slice(TEXT_PREFIX.length)));
        } else if (role === 'alice' && isReceipt) {
          const parsed = parseReceipt(d.text.toString('latin1'));
          const id = d.receiptedMessageId ?? parsed?.id ?? '';
          if (receiptedIds.has(id)) return; // a duplicate is not a second receipt
          receiptedIds.add(id);
          receipts++;
          lastReceiptAt = now;
          const t = submittedAt.get(id);
          if (t !== undefined) {
            receiptLatencies.push(now - t);
            submittedAt.delete(id);
          }
          if (base === 'network' && parsed?.stat === 'DELIVRD') {
            delivered++;
            lastDeliveredAt = now;
          }
        }
      };
    };

    const bobReceivers = base === 'mo' ? cell.connections : base === 'esme' && smsc ? 1 : 0;
    for (let i = 0; i < bobReceivers; i++) {
      const c = await RawEsme.bind(server.port, 'receiver', 'bob', 'bob-pw');
      sessions.push(c);
      consume(c, 'bob');
    }
    const wantReceipts = base === 'esme' || base === 'network';
    if (wantReceipts) {
      const c = await RawEsme.bind(server.port, 'receiver', 'alice', 'alice-pw');
      sessions.push(c);
      consume(c, 'alice');
    }
    const senders: RawEsme[] = [];
    if (base !== 'mo') {
      for (let i = 0; i < cell.connections; i++) senders.push(await RawEsme.bind(server.port, 'transmitter', 'alice', 'alice-pw'));
    }
    sessions.push(...senders);

    const pgCell = smsc && cell.scenario.endsWith('-pg');
    const db0 = pgCell ? descendantsCpuMs(process.pid, 'postgres') : Number.NaN;
    const before: ProcSample | undefined = sampleProc(server.pid);
    const host0 = sampleHostCpu();
    const cpu0 = process.cpuUsage();
    const latencies = new Float64Array(MAX);
    /** When submit n was written (its sequence number is n + 1). */
    const sentAt = new Float64Array(MAX);
    let measured = 0;
    let accepted = 0;
    let lost = 0;
    const refused = new Map<string, number>();
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    const destination = base === 'accept' ? '3000' : '2000';
    const registeredDelivery = wantReceipts ? 1 : 0;
    if (base === 'mo') {
      while (performance.now() < deadline && delivered < MAX) await sleep(20);
    } else {
      await drive(senders, cell.window, t0, deadline, {
        submit(esme, n) {
          const t = performance.now();
          sentAt[n] = t;
          const to = base === 'network' ? `${NETWORK_PREFIX}${String(n).padStart(8, '0')}` : destinationOf(destination, n);
          esme.submit(n + 1, to, registeredDelivery, `${TEXT_PREFIX}${t.toFixed(3)}`);
        },
        answered(n, status, messageId) {
          const t = sentAt[n]!;
          if (status === 0) {
            accepted++;
            if (t - t0 >= WARMUP_MS) latencies[measured++] = performance.now() - t;
            if (wantReceipts && !receiptedIds.has(messageId)) submittedAt.set(messageId, t);
          } else {
            const name = commandStatusName(status);
            refused.set(name, (refused.get(name) ?? 0) + 1);
          }
        },
        lost(n) {
          lost += n;
        },
      });
    }
    const submitMs = performance.now() - t0;

    // Drain (bounded): what was accepted should arrive.
    const expectDeliveries = base === 'network' || (base === 'esme' && smsc);
    const pending = () => (expectDeliveries && delivered < accepted) || (wantReceipts && receipts < accepted);
    const drainUntil = performance.now() + DRAIN_SECONDS * 1000;
    while (base !== 'mo' && pending() && performance.now() < drainUntil) await sleep(20);
    const cellMs = performance.now() - t0;
    const after = sampleProc(server.pid);
    const host1 = sampleHostCpu();
    const dbCpuMs = pgCell ? descendantsCpuMs(process.pid, 'postgres') - db0 : Number.NaN;
    const cpu = process.cpuUsage(cpu0);

    const messages = base === 'mo' ? delivered : accepted;
    const sorted = latencies.subarray(0, measured).sort();
    const p99 = (xs: number[]) => (xs.length === 0 ? null : round(percentile(Float64Array.from(xs).sort(), 99), 2));
    const loadCpuMs = (cpu.user + cpu.system) / 1000;
    const serverCpuMs = before !== undefined && after !== undefined ? after.cpuMs - before.cpuMs : Number.NaN;
    return {
      ...cell,
      store: !smsc ? 'none' : cell.scenario.endsWith('-pg') ? 'postgres' : 'sqlite',
      accepted,
      delivered,
      receipts,
      refused: Object.fromEntries(refused),
      lostSubmits: lost,
      msgsPerSec: round(messages / (submitMs / 1000)) ?? 0,
      deliveredPerSec: round(delivered / (((lastDeliveredAt || t0) - t0 || 1) / 1000)) ?? 0,
      receiptsPerSec: round(receipts / (((lastReceiptAt || t0) - t0 || 1) / 1000)) ?? 0,
      latencySamples: measured,
      submitLatencyMs:
        measured === 0
          ? null
          : { p50: round(percentile(sorted, 50), 2) ?? 0, p99: round(percentile(sorted, 99), 2) ?? 0, max: round(sorted[sorted.length - 1]!, 2) ?? 0 },
      deliveryLatencyP99Ms: p99(deliveryLatencies),
      receiptLatencyP99Ms: p99(receiptLatencies),
      serverCpuMsPer1000: messages > 0 ? round((serverCpuMs / messages) * 1000, 1) : null,
      ...(pgCell ? { dbCpuMsPer1000: messages > 0 ? round((dbCpuMs / messages) * 1000, 1) : null } : {}),
      serverPeakRssMb: after !== undefined ? round(after.peakRssKb / 1024, 1) : null,
      loadCpuPct: round((loadCpuMs / cellMs) * 100) ?? 0,
      loadCpuMsPer1000: messages > 0 ? round((loadCpuMs / messages) * 1000, 1) : null,
      hostStealPct: round(stealPct(host0, host1) ?? Number.NaN),
      submitSeconds: round(submitMs / 1000, 2) ?? 0,
      cellSeconds: round(cellMs / 1000, 2) ?? 0,
      complete: !pending() && messages > 0 && lost === 0,
    };
  } finally {
    await Promise.all(sessions.map((c) => c.close(500)));
    await server?.kill();
    await cleanup();
    await removeDir(dir);
  }
}

function failed(cell: Cell, err: unknown): CellResult {
  return {
    ...cell,
    store: cell.target !== 'smsc' ? 'none' : cell.scenario.endsWith('-pg') ? 'postgres' : 'sqlite',
    accepted: 0,
    delivered: 0,
    receipts: 0,
    refused: {},
    lostSubmits: 0,
    msgsPerSec: 0,
    deliveredPerSec: 0,
    receiptsPerSec: 0,
    latencySamples: 0,
    submitLatencyMs: null,
    deliveryLatencyP99Ms: null,
    receiptLatencyP99Ms: null,
    serverCpuMsPer1000: null,
    serverPeakRssMb: null,
    loadCpuPct: 0,
    loadCpuMsPer1000: null,
    hostStealPct: null,
    submitSeconds: 0,
    cellSeconds: 0,
    complete: false,
    error: err instanceof Error ? err.message.split('\n')[0]! : String(err),
  };
}

// ---- the matrix and the report ---------------------------------------------------------------

/** The baselines of a scenario's cells, by the name its ratio is printed under. */
function baselinesOf(scenario: Scenario): Partial<Record<'answer' | 'npm', Target>> {
  if (!BASELINES) return {};
  if (scenario === 'accept' || scenario === 'accept-pg') return { answer: 'answer', npm: 'npm' };
  if (scenario === 'esme' || scenario === 'esme-pg') return { npm: 'npm-receipts' };
  return {};
}

function plan(): Cell[] {
  const cells: Cell[] = [];
  const baselineCells = new Map<string, Cell>();
  for (const scenario of SELECTED) {
    for (const connections of CONNECTIONS) {
      for (const window of WINDOWS) {
        cells.push({ scenario, target: 'smsc', window, connections });
        for (const target of Object.values(baselinesOf(scenario))) {
          const s: Scenario = target === 'npm-receipts' ? 'esme' : 'accept';
          baselineCells.set(`${target}/${window}/${connections}`, { scenario: s, target, window, connections });
        }
      }
    }
  }
  return [...cells, ...baselineCells.values()];
}

const TARGET_LABEL: Record<Target, string> = { smsc: 'smsc', answer: 'answer-only', npm: 'npm smpp', 'npm-receipts': 'npm smpp+rcpt' };

function table(results: CellResult[]): string {
  const head = ['scenario', 'server', 'store', 'conns', 'window', 'msgs/s', 'rcpts/s', 'p50 ms', 'p99 ms', 'max ms', 'dlv p99', 'rcpt p99', 'srv cpu/1k', 'db cpu/1k', 'srv MB', 'load cpu', 'steal', 'vs answer', 'vs npm', 'note'];
  const num = (n: number | null | undefined, d = 0) => (n === null || n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const rows = results.map((r) => [
    r.scenario,
    TARGET_LABEL[r.target],
    r.store,
    String(r.connections),
    String(r.window),
    num(r.msgsPerSec),
    r.receipts > 0 ? num(r.receiptsPerSec) : '-',
    num(r.submitLatencyMs?.p50, 2),
    num(r.submitLatencyMs?.p99, 2),
    num(r.submitLatencyMs?.max, 1),
    num(r.deliveryLatencyP99Ms, 0),
    num(r.receiptLatencyP99Ms, 0),
    num(r.serverCpuMsPer1000, 1),
    num(r.dbCpuMsPer1000, 1),
    num(r.serverPeakRssMb, 0),
    `${r.loadCpuPct}%`,
    r.hostStealPct === null ? '-' : `${r.hostStealPct}%`,
    r.ratios?.['answer'] !== undefined ? `${r.ratios['answer'].toFixed(2)}x` : '',
    r.ratios?.['npm'] !== undefined
      ? `${r.ratios['npm'].toFixed(2)}x${r.ratios['npmReceipts'] !== undefined ? ` (rcpt ${r.ratios['npmReceipts'].toFixed(2)}x)` : ''}`
      : '',
    r.error !== undefined ? `ERROR ${r.error}` : r.complete ? '' : 'incomplete',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const left = new Set([0, 1, 2, 19]);
  const line = (cols: string[]) =>
    cols
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const cells = plan();
  const progress = new Progress(cells.length);
  const results: CellResult[] = [];
  const began = performance.now();
  try {
    for (const cell of cells) {
      progress.step(`${cell.scenario} ${TARGET_LABEL[cell.target]} c${cell.connections} w${cell.window}`);
      try {
        results.push(await runCell(cell));
      } catch (err) {
        results.push(failed(cell, err));
      }
      progress.tick();
    }
  } finally {
    progress.end();
    await killAllSmscProcesses();
    if (pgKeeper !== undefined) await (await pgKeeper.catch(() => undefined))?.stop().catch(() => {});
  }
  const find = (target: Target, window: number, connections: number) =>
    results.find((r) => r.target === target && r.window === window && r.connections === connections && r.error === undefined);
  for (const r of results) {
    if (r.target !== 'smsc') continue;
    const ratios: Record<string, number> = {};
    for (const [name, target] of Object.entries(baselinesOf(r.scenario))) {
      const b = find(target, r.window, r.connections);
      if (b !== undefined && b.msgsPerSec > 0) ratios[name] = Number((r.msgsPerSec / b.msgsPerSec).toFixed(3));
      // With receipts, the end-to-end figure is the receipt rate: compare it too.
      if (b !== undefined && b.receiptsPerSec > 0 && r.receipts > 0) ratios[`${name}Receipts`] = Number((r.receiptsPerSec / b.receiptsPerSec).toFixed(3));
    }
    if (Object.keys(ratios).length > 0) r.ratios = ratios;
  }

  console.log(
    `smsc benchmark suite: ${SECONDS} s per cell (at most ${MAX} submits, ${DRAIN_SECONDS} s drain${RATE === undefined ? '' : `, ${RATE} submit_sm/s offered`}${WARMUP_MS > 0 ? `, latency after ${WARMUP_MS / 1000} s warm-up` : ''}${DESTINATIONS > 1 ? `, ${DESTINATIONS} destinations` : ''}), ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  );
  console.log(table(results));
  const report = {
    benchmark: 'smsc suite: the SMSC as its own process (SQLite durable / PostgreSQL durable), load from the bench process',
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    options: {
      scenarios: SELECTED,
      windows: WINDOWS,
      connections: CONNECTIONS,
      seconds: SECONDS,
      warmupSeconds: WARMUP_MS / 1000,
      max: MAX,
      drainSeconds: DRAIN_SECONDS,
      moRate: MO_RATE,
      offeredRate: RATE ?? null,
      destinations: DESTINATIONS,
      baselines: BASELINES,
      quick: QUICK,
    },
    totalSeconds: round((performance.now() - began) / 1000, 1),
    cells: results,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${OUT}`);
  if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
