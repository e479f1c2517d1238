/**
 * End-to-end SMSC benchmark: the SMSC runs as its own process (`smsc start`, SQLite in a temp
 * dir, durable commits: WAL with synchronous=FULL); transmitter sessions of account alice submit
 * to 2000 with registered_delivery=1; bob's receiver takes every deliver_sm (answered at once)
 * and alice's receiver every receipt. Bounded by --count and --seconds for the submits, then
 * by --drain-seconds (default 120) for the deliveries and receipts still on their way.
 * Rates: accepted = ROK answers / submit phase; delivered and receipts = count / (first submit
 * → last one received), so they include the drain after the submits stopped.
 *
 * Prints accepted msgs/s, delivered msgs/s, receipts/s and the p50/p99 submit latency
 * (submit_sm written → submit_sm_resp), and writes them as JSON to bench-results/smsc.json.
 *
 * Usage: npm run bench:smsc [-- --connections 4 --window 100 --count 200000 --seconds 10]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '../src/client/client.js';
import { CommandStatusError } from '../src/errors.js';
import { EsmClass } from '../src/pdu/constants.js';
import {
  type AccountSpec,
  bindClient,
  closeQuietly,
  killAllSmscProcesses,
  removeDir,
  type SmscProcess,
  startSmscProcess,
  tempDir,
} from '../test/support/smsc-process.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '4' },
    window: { type: 'string', default: '100' },
    count: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '10' },
    'drain-seconds': { type: 'string', default: '120' },
    out: { type: 'string', default: 'bench-results/smsc.json' },
  },
});

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
  return n;
}

const CONNECTIONS = positive('connections', values.connections);
const WINDOW = positive('window', values.window);
const COUNT = positive('count', values.count);
const SECONDS = positive('seconds', values.seconds);
const DRAIN_SECONDS = positive('drain-seconds', values['drain-seconds']);

const ALICE: AccountSpec = { systemId: 'alice', password: 'alice-pw', addresses: ['1000'], maxBinds: CONNECTIONS + 2, windowSize: 100 };
const BOB: AccountSpec = { systemId: 'bob', password: 'bob-pw', addresses: ['2000'], maxBinds: 4, windowSize: 100 };
const TEXT = Buffer.from('Hello from the SMSC benchmark', 'latin1');

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, digits = 0) => Number(n.toFixed(digits));

/** Counts deliveries of one receiver: MT deliver_sm or receipts. */
function countDeliveries(client: Client, onOne: (receipt: boolean) => void): void {
  void (async () => {
    for await (const d of client.deliveries()) {
      if (d.command !== 'deliver_sm') continue;
      onOne((d.esmClass & EsmClass.TypeMask) === EsmClass.TypeDeliveryReceipt);
    }
  })().catch(() => {});
}

async function main(): Promise<void> {
  const dir = await tempDir('smsc-bench-');
  const clients: Client[] = [];
  let smsc: SmscProcess | undefined;
  try {
    smsc = await startSmscProcess({
      dir,
      label: 'bench',
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [ALICE, BOB],
    });

    let delivered = 0;
    let receipts = 0;
    let wrongKind = 0;
    let lastDeliveredAt = 0;
    let lastReceiptAt = 0;
    const bobRx = await bindClient(smsc.port, 'receiver', BOB);
    const aliceRx = await bindClient(smsc.port, 'receiver', ALICE);
    clients.push(bobRx, aliceRx);
    countDeliveries(bobRx, (receipt) => {
      if (receipt) wrongKind++;
      else {
        delivered++;
        lastDeliveredAt = performance.now();
      }
    });
    countDeliveries(aliceRx, (receipt) => {
      if (!receipt) wrongKind++;
      else {
        receipts++;
        lastReceiptAt = performance.now();
      }
    });

    const senders: Client[] = [];
    for (let i = 0; i < CONNECTIONS; i++) senders.push(await bindClient(smsc.port, 'transmitter', ALICE, WINDOW));
    clients.push(...senders);

    const latencies = new Float64Array(COUNT);
    let started = 0;
    let accepted = 0;
    const refused = new Map<string, number>();
    let lost = 0;
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    const worker = async (client: Client) => {
      while (started < COUNT && performance.now() < deadline) {
        started++;
        const t = performance.now();
        try {
          await client.submit({
            sourceAddr: '1000',
            sourceAddrTon: 1,
            sourceAddrNpi: 1,
            destinationAddr: '2000',
            registeredDelivery: 1,
            shortMessage: TEXT,
          });
          latencies[accepted++] = performance.now() - t;
        } catch (err) {
          if (err instanceof CommandStatusError) refused.set(err.statusName, (refused.get(err.statusName) ?? 0) + 1);
          else lost++;
          if (!(err instanceof CommandStatusError)) return; // the connection is gone
        }
      }
    };
    await Promise.all(senders.flatMap((c) => Array.from({ length: WINDOW }, () => worker(c))));
    const submitMs = performance.now() - t0;
    const deliveredWhileSubmitting = delivered;
    const receiptsWhileSubmitting = receipts;

    // Drain: everything accepted should be delivered and receipted (bounded).
    const drainUntil = performance.now() + DRAIN_SECONDS * 1000;
    while ((delivered < accepted || receipts < accepted) && performance.now() < drainUntil) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const deliveredMs = (lastDeliveredAt || performance.now()) - t0;
    const receiptsMs = (lastReceiptAt || performance.now()) - t0;

    const sorted = latencies.subarray(0, accepted).sort();
    const results = {
      acceptedPerSec: round(accepted / (submitMs / 1000)),
      deliveredPerSec: round(delivered / (deliveredMs / 1000)),
      receiptsPerSec: round(receipts / (receiptsMs / 1000)),
      submitLatencyMs: { p50: round(percentile(sorted, 50), 2), p99: round(percentile(sorted, 99), 2), max: round(sorted[sorted.length - 1] ?? Number.NaN, 2) },
      accepted,
      delivered,
      receipts,
      deliveredWhileSubmitting,
      receiptsWhileSubmitting,
      refused: Object.fromEntries(refused),
      lostSubmits: lost,
      wrongKindDeliveries: wrongKind,
      submitSeconds: round(submitMs / 1000, 2),
      deliveredSeconds: round(deliveredMs / 1000, 2),
      receiptsSeconds: round(receiptsMs / 1000, 2),
      complete: delivered === accepted && receipts === accepted,
    };
    const report = {
      benchmark: 'smsc end to end: transmitters → SMSC (own process, SQLite, durable) → receiver, with receipts',
      date: new Date().toISOString(),
      node: process.version,
      cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
      options: { connections: CONNECTIONS, window: WINDOW, count: COUNT, seconds: SECONDS, drainSeconds: DRAIN_SECONDS, store: 'sqlite (WAL, synchronous=FULL)', commitDelayMs: 2 },
      results,
    };

    console.log(`smsc end to end: ${CONNECTIONS} transmitter connection(s) × window ${WINDOW}, registered_delivery=1, SQLite durable`);
    console.log(`  accepted   ${String(results.acceptedPerSec).padStart(8)} msgs/s   (${accepted} in ${results.submitSeconds} s)`);
    console.log(
      `  delivered  ${String(results.deliveredPerSec).padStart(8)} msgs/s   (${delivered} in ${results.deliveredSeconds} s; ${deliveredWhileSubmitting} while submitting)`,
    );
    console.log(
      `  receipts   ${String(results.receiptsPerSec).padStart(8)} /s       (${receipts} in ${results.receiptsSeconds} s; ${receiptsWhileSubmitting} while submitting)`,
    );
    console.log(`  submit latency  p50 ${results.submitLatencyMs.p50} ms   p99 ${results.submitLatencyMs.p99} ms   max ${results.submitLatencyMs.max} ms`);
    if (refused.size > 0 || lost > 0 || wrongKind > 0) {
      console.log(`  refused ${JSON.stringify(results.refused)}, lost submits ${lost}, misrouted deliveries ${wrongKind}`);
    }
    if (!results.complete) console.log(`  INCOMPLETE: ${accepted - delivered} not delivered, ${accepted - receipts} without receipt after ${DRAIN_SECONDS} s`);

    mkdirSync(join(values.out!, '..'), { recursive: true });
    writeFileSync(values.out!, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`  written to ${values.out}`);
    if (!results.complete) process.exitCode = 1;
  } finally {
    await Promise.all(clients.map((c) => closeQuietly(c)));
    await smsc?.stop();
    await killAllSmscProcesses();
    await removeDir(dir);
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
