/**
 * End-to-end SMSC benchmark: the SMSC runs as its own process (`smsc start`, SQLite in a temp
 * dir, durable commits: WAL with synchronous=FULL); transmitter sessions of account alice submit
 * with registered_delivery=1 and alice's receiver takes every receipt. Two scenarios:
 *
 * - `--scenario esme` (default): submits to 2000, owned by bob; bob's receiver takes every
 *   deliver_sm (answered at once). Written to bench-results/smsc.json.
 * - `--scenario network`: submits to numbers under 4470 (a different number per message),
 *   routed by `routes.mt: [{ prefix: "4470", connector: network }]` to the built-in simulated
 *   network with `ranges: [{ prefix: "4470", latencyMs: 0, successRatio: 1 }]`. The network
 *   deliveries are counted from the receipts: one with stat DELIVRD and message_state 2
 *   (DELIVERED) per receipted_message_id is the proof of delivery. Written to
 *   bench-results/smsc-network.json.
 *
 * Bounded by --count and --seconds for the submits, then by --drain-seconds (default 120) for
 * the deliveries and receipts still on their way.
 * Rates: accepted = ROK answers / submit phase; delivered and receipts = count / (first submit
 * → last one received), so they include the drain after the submits stopped.
 *
 * Prints accepted msgs/s, delivered msgs/s, receipts/s and the p50/p99 submit latency
 * (submit_sm written → submit_sm_resp), and writes them as JSON (--out overrides the file).
 *
 * Usage: npm run bench:smsc [-- --scenario network --connections 4 --window 100 --count 200000 --seconds 10]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '../src/client/client.js';
import { CommandStatusError } from '../src/errors.js';
import { EsmClass, MessageState } from '../src/pdu/constants.js';
import { parseReceipt } from '../src/sm/dlr.js';
import {
  type AccountSpec,
  bindClient,
  closeQuietly,
  killAllSmscProcesses,
  removeDir,
  type SmscProcess,
  type SmscProcessOptions,
  startSmscProcess,
  tempDir,
} from '../test/support/smsc-process.js';
import { startSmscProcessWith } from './support/smsc.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'esme' },
    connections: { type: 'string', default: '4' },
    window: { type: 'string', default: '100' },
    count: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '10' },
    'drain-seconds': { type: 'string', default: '120' },
    out: { type: 'string' },
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
if (values.scenario !== 'esme' && values.scenario !== 'network') {
  console.error("--scenario must be 'esme' or 'network'");
  process.exit(2);
}
const SCENARIO: 'esme' | 'network' = values.scenario;
const OUT = values.out ?? (SCENARIO === 'network' ? 'bench-results/smsc-network.json' : 'bench-results/smsc.json');

/** The network scenario's extra config: MT to 4470… goes to the built-in simulated network. */
const NETWORK_PREFIX = '4470';
const NETWORK_CONFIG = {
  routes: { mt: [{ prefix: NETWORK_PREFIX, connector: 'network' }] },
  network: { ranges: [{ prefix: NETWORK_PREFIX, latencyMs: 0, successRatio: 1 }] },
};

const ALICE: AccountSpec = { systemId: 'alice', password: 'alice-pw', addresses: ['1000'], maxBinds: CONNECTIONS + 2, windowSize: 100 };
const BOB: AccountSpec = { systemId: 'bob', password: 'bob-pw', addresses: ['2000'], maxBinds: 4, windowSize: 100 };
const TEXT = Buffer.from('Hello from the SMSC benchmark', 'latin1');

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, digits = 0) => Number(n.toFixed(digits));

/** What a receipt says: receipted_message_id and the final state (TLV and `stat` text). */
interface ReceiptInfo {
  id: string;
  /** message_state TLV, if present. */
  state: number | undefined;
  /** `stat:` of the receipt text, if it parses. */
  stat: string | undefined;
}

/** Counts deliveries of one receiver: MT deliver_sm, or receipts (with what they say). */
function countDeliveries(client: Client, onOne: (receipt: ReceiptInfo | undefined) => void): void {
  void (async () => {
    for await (const d of client.deliveries()) {
      if (d.command !== 'deliver_sm') continue;
      if ((d.esmClass & EsmClass.TypeMask) !== EsmClass.TypeDeliveryReceipt) {
        onOne(undefined);
        continue;
      }
      const text = (d.tlvs.messagePayload ?? d.shortMessage).toString('latin1');
      const parsed = parseReceipt(text);
      onOne({ id: d.tlvs.receiptedMessageId ?? parsed?.id ?? '', state: d.tlvs.messageState, stat: parsed?.stat });
    }
  })().catch(() => {});
}

async function main(): Promise<void> {
  const dir = await tempDir('smsc-bench-');
  const clients: Client[] = [];
  let smsc: SmscProcess | undefined;
  try {
    const smscOptions: SmscProcessOptions = {
      dir,
      label: 'bench',
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [ALICE, BOB],
    };
    smsc = SCENARIO === 'network' ? await startSmscProcessWith(smscOptions, NETWORK_CONFIG) : await startSmscProcess(smscOptions);

    let delivered = 0;
    let receipts = 0;
    let wrongKind = 0;
    let lastDeliveredAt = 0;
    let lastReceiptAt = 0;
    // Network scenario: receipts per receipted_message_id (duplicates are not counted twice as
    // deliveries) and the final states other than DELIVRD / 2.
    const receiptedIds = new Set<string>();
    let duplicateReceipts = 0;
    const notDelivered = new Map<string, number>();
    if (SCENARIO === 'esme') {
      const bobRx = await bindClient(smsc.port, 'receiver', BOB);
      clients.push(bobRx);
      countDeliveries(bobRx, (receipt) => {
        if (receipt !== undefined) wrongKind++;
        else {
          delivered++;
          lastDeliveredAt = performance.now();
        }
      });
    }
    const aliceRx = await bindClient(smsc.port, 'receiver', ALICE);
    clients.push(aliceRx);
    countDeliveries(aliceRx, (receipt) => {
      if (receipt === undefined) {
        wrongKind++;
        return;
      }
      receipts++;
      lastReceiptAt = performance.now();
      if (SCENARIO !== 'network') return;
      if (receiptedIds.has(receipt.id)) {
        duplicateReceipts++;
        return;
      }
      receiptedIds.add(receipt.id);
      if (receipt.state === MessageState.DELIVERED && receipt.stat === 'DELIVRD') {
        delivered++;
        lastDeliveredAt = lastReceiptAt;
      } else {
        const key = `${receipt.stat ?? '?'}/${receipt.state ?? '?'}`;
        notDelivered.set(key, (notDelivered.get(key) ?? 0) + 1);
      }
    });

    const senders: Client[] = [];
    for (let i = 0; i < CONNECTIONS; i++) senders.push(await bindClient(smsc.port, 'transmitter', ALICE, WINDOW));
    clients.push(...senders);

    const latencies = new Float64Array(COUNT);
    // Network scenario: the ids of accepted messages, to check every receipt is for one of them.
    const acceptedIds = new Set<string>();
    let started = 0;
    let accepted = 0;
    const refused = new Map<string, number>();
    let lost = 0;
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    const worker = async (client: Client) => {
      while (started < COUNT && performance.now() < deadline) {
        const n = started++;
        const t = performance.now();
        try {
          const r = await client.submit({
            sourceAddr: '1000',
            sourceAddrTon: 1,
            sourceAddrNpi: 1,
            // A different subscriber per message in the network scenario.
            destinationAddr: SCENARIO === 'network' ? `${NETWORK_PREFIX}${String(n).padStart(8, '0')}` : '2000',
            registeredDelivery: 1,
            shortMessage: TEXT,
          });
          latencies[accepted++] = performance.now() - t;
          if (SCENARIO === 'network') acceptedIds.add(r.messageId);
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

    // Drain: everything accepted should be delivered and receipted (bounded). In the network
    // scenario a receipt is the end of a message whatever it says: stop when each has one.
    const drainUntil = performance.now() + DRAIN_SECONDS * 1000;
    const pending = () => (SCENARIO === 'network' ? receiptedIds.size < accepted : delivered < accepted || receipts < accepted);
    while (pending() && performance.now() < drainUntil) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    let unknownReceipts = 0;
    for (const id of receiptedIds) if (!acceptedIds.has(id)) unknownReceipts++;
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
      ...(SCENARIO === 'network'
        ? { notDeliveredReceipts: Object.fromEntries(notDelivered), duplicateReceipts, receiptsForUnknownIds: unknownReceipts }
        : {}),
      submitSeconds: round(submitMs / 1000, 2),
      deliveredSeconds: round(deliveredMs / 1000, 2),
      receiptsSeconds: round(receiptsMs / 1000, 2),
      complete: delivered === accepted && receipts === accepted && unknownReceipts === 0,
    };
    const report = {
      benchmark:
        SCENARIO === 'network'
          ? 'smsc end to end: transmitters → SMSC (own process, SQLite, durable) → simulated network (4470, 0 ms, 100% success), with receipts'
          : 'smsc end to end: transmitters → SMSC (own process, SQLite, durable) → receiver, with receipts',
      date: new Date().toISOString(),
      node: process.version,
      cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
      options: {
        scenario: SCENARIO,
        connections: CONNECTIONS,
        window: WINDOW,
        count: COUNT,
        seconds: SECONDS,
        drainSeconds: DRAIN_SECONDS,
        store: 'sqlite (WAL, synchronous=FULL)',
        commitDelayMs: 2,
        ...(SCENARIO === 'network' ? { config: NETWORK_CONFIG, delivered: 'receipts with stat DELIVRD and message_state 2, one per message id' } : {}),
      },
      results,
    };

    const to = SCENARIO === 'network' ? `simulated network (${NETWORK_PREFIX}…, 0 ms, 100% success)` : 'ESME receiver';
    console.log(`smsc end to end (${SCENARIO}): ${CONNECTIONS} transmitter connection(s) × window ${WINDOW} → ${to}, registered_delivery=1, SQLite durable`);
    console.log(`  accepted   ${String(results.acceptedPerSec).padStart(8)} msgs/s   (${accepted} in ${results.submitSeconds} s)`);
    console.log(
      `  delivered  ${String(results.deliveredPerSec).padStart(8)} msgs/s   (${SCENARIO === 'network' ? 'DELIVRD receipts: ' : ''}${delivered} in ${results.deliveredSeconds} s; ${deliveredWhileSubmitting} while submitting)`,
    );
    console.log(
      `  receipts   ${String(results.receiptsPerSec).padStart(8)} /s       (${receipts} in ${results.receiptsSeconds} s; ${receiptsWhileSubmitting} while submitting)`,
    );
    console.log(`  submit latency  p50 ${results.submitLatencyMs.p50} ms   p99 ${results.submitLatencyMs.p99} ms   max ${results.submitLatencyMs.max} ms`);
    if (refused.size > 0 || lost > 0 || wrongKind > 0) {
      console.log(`  refused ${JSON.stringify(results.refused)}, lost submits ${lost}, misrouted deliveries ${wrongKind}`);
    }
    if (notDelivered.size > 0 || duplicateReceipts > 0 || unknownReceipts > 0) {
      console.log(
        `  receipts not DELIVRD/2 ${JSON.stringify(Object.fromEntries(notDelivered))}, duplicate receipts ${duplicateReceipts}, receipts for unknown ids ${unknownReceipts}`,
      );
    }
    if (!results.complete) console.log(`  INCOMPLETE: ${accepted - delivered} not delivered, ${accepted - receipts} without receipt after ${DRAIN_SECONDS} s`);

    mkdirSync(join(OUT, '..'), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`  written to ${OUT}`);
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
