/**
 * Prometheus metrics of a running SMSC, on a registry of its own (never prom-client's global
 * one, so two SMSCs in one process, as in tests, do not mix).
 *
 * - PDUs received and sent, by session role, command and command_status, counted from the
 *   `smsc:pdu:in` / `smsc:pdu:out` diagnostics channels. Those channels are process-wide, so
 *   sessions where this process is the ESME (upstream binds, in-process clients) are counted
 *   apart, as role="esme"; role="smsc" is the listener's traffic. Sessions publish only while
 *   someone subscribes, so these counters are the one per-PDU cost of metrics: a Map lookup
 *   and an increment.
 * - Messages by state and queue depth per target, read from the store at scrape time and
 *   cached (the queries scan the messages table).
 * - Binds per account and bind type, from the listener's sessions at scrape time.
 * - Submit-to-response and submit-to-delivery latency histograms, fed by the core and the
 *   scheduler through {@link Metrics.observeSubmitLatency} / {@link Metrics.observeDeliveryLatency}.
 * - Store group-commit and scheduler counters, from their `stats` at scrape time.
 *   Mean commit batch size: `rate(smsc_store_commit_operations_total[1m]) / rate(smsc_store_commit_batches_total[1m])`.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SchedulerStats } from '../delivery/scheduler.js';
import { CommandId, type CommandName, commandStatusName } from '../pdu/constants.js';
import type { MessageStateName, Store } from '../store/types.js';

/** What a session looks like to metrics: the listener's `Session` fits. */
export interface MetricsSession {
  readonly isBound: boolean;
  /** The listener's `SessionContext` once bound (`systemId`, `bindType`). */
  readonly context: unknown;
}

/** The parts of a running SMSC metrics read (an `Smsc` from src/app/smsc.ts fits). */
export interface MetricsSource {
  config: { readonly nodeId: string; readonly accounts: readonly { readonly systemId: string }[] };
  store: Pick<Store, 'countByState' | 'queueDepth' | 'queueDepthByAccount' | 'stats'>;
  server: { readonly sessions: Iterable<MetricsSession> };
  scheduler: { readonly stats: SchedulerStats };
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /**
   * How long store counts (by state, queue depth) are reused, ms: at least this, and at least
   * {@link READ_COST_FACTOR} times as long as their last read took (a count by state walks the
   * whole table). Default 5000; 0 = every scrape.
   */
  storeCacheMs?: number;
  /** The time, ms, for the cache (tests). Default performance.now. */
  now?: () => number;
  /** Also collect prom-client's process and Node.js metrics (CPU, memory, event-loop lag). Default true. */
  defaultMetrics?: boolean;
  /** Buckets of the submit-to-response histogram, seconds. */
  submitBuckets?: number[];
  /** Buckets of the submit-to-delivery histogram, seconds. */
  deliveryBuckets?: number[];
}

/** Counts of one direction: per command, total and non-ESME_ROK PDUs. */
export type PduCountsSnapshot = Record<string, { total: number; errors: number }>;

/** Plain numbers for the admin API and the dashboard: the listener's (role "smsc") PDUs. */
export interface MetricsSnapshot {
  pdus: { in: PduCountsSnapshot; out: PduCountsSnapshot };
  /** Non-ESME_ROK command_status seen, in and out, by spec name. */
  errorsByStatus: Record<string, number>;
}

/** Store counts as read (and cached) for a scrape. */
export interface StoreCounts {
  byState: Record<MessageStateName, number>;
  queueDepth: Record<string, number>;
  /** Pending messages by owning account. */
  queueDepthByAccount: Record<string, number>;
}

/** The metrics of one SMSC. */
export interface Metrics {
  /** The registry to serve: `await registry.metrics()` with `registry.contentType`. */
  readonly registry: Registry;
  /** Records one submit's time from request received to response ready, seconds. */
  observeSubmitLatency(seconds: number): void;
  /** Records one message's time from accepted to delivered, seconds. */
  observeDeliveryLatency(seconds: number): void;
  /** Store counts, cached like the scrape's (shared with the admin API's stats). */
  storeCounts(): Promise<StoreCounts>;
  /** PDU counts as plain numbers. */
  snapshot(): MetricsSnapshot;
  /** Stops counting PDUs and empties the registry. */
  close(): void;
}

const DEFAULT_SUBMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const DEFAULT_DELIVERY_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600];

/** The header fields of a session's PduEvent: all the counters read (not its `pdu`, built on demand). */
interface PduMessage {
  session: { readonly role?: string };
  command: string;
  commandStatus: number;
}

/** Which side of SMPP the session plays: "smsc" (an ESME bound to us) or "esme" (we bound out). */
type Role = 'smsc' | 'esme';

/** Counts of one command: ESME_ROK in a plain field, other statuses in a Map made on first use. */
interface Slot {
  readonly command: string;
  /** Label set of the ESME_ROK series, made once (scrapes allocate nothing for it). */
  readonly okLabels: { role: Role; command: string; status: string };
  ok: number;
  errors: Map<number, number> | undefined;
}

/**
 * Per-command counters for one direction. prom-client's `counter.inc(labels)` (and a
 * `labels()` child) hashes and validates the label set on every call; here the hot path is one
 * Map lookup of a slot made in advance for every command and one increment, and prom-client
 * sees the totals only at scrape time.
 */
class PduCounts {
  readonly #role: Role;
  readonly #slots = new Map<string, Slot>();

  constructor(role: Role) {
    this.#role = role;
    for (const command of Object.keys(CommandId) as CommandName[]) this.#slot(command);
  }

  #slot(command: string): Slot {
    let slot = this.#slots.get(command);
    if (slot === undefined) {
      slot = { command, okLabels: { role: this.#role, command, status: 'ESME_ROK' }, ok: 0, errors: undefined };
      this.#slots.set(command, slot);
    }
    return slot;
  }

  count(command: string, status: number): void {
    const slot = this.#slots.get(command) ?? this.#slot(command);
    if (status === 0) {
      slot.ok++;
      return;
    }
    const errors = (slot.errors ??= new Map());
    // The peer writes command_status, before any bind too: past a few distinct ones a command's
    // statuses share one series, or a peer could make the metrics grow without end.
    const key = errors.has(status) || errors.size < MAX_STATUSES_PER_COMMAND ? status : OTHER_STATUS;
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }

  /** Adds these totals to a counter just reset by its collect (right before a scrape reads it). */
  writeTo(counter: Counter<'role' | 'command' | 'status'>): void {
    for (const slot of this.#slots.values()) {
      if (slot.ok > 0) counter.inc(slot.okLabels, slot.ok);
      if (slot.errors === undefined) continue;
      for (const [status, n] of slot.errors) {
        counter.inc({ role: this.#role, command: slot.command, status: statusLabel(status) }, n);
      }
    }
  }

  snapshot(errorsByStatus: Record<string, number>): PduCountsSnapshot {
    const out: PduCountsSnapshot = {};
    for (const slot of this.#slots.values()) {
      let errors = 0;
      if (slot.errors !== undefined) {
        for (const [status, n] of slot.errors) {
          errors += n;
          const name = statusLabel(status);
          errorsByStatus[name] = (errorsByStatus[name] ?? 0) + n;
        }
      }
      if (slot.ok + errors > 0) out[slot.command] = { total: slot.ok + errors, errors };
    }
    return out;
  }
}

/** Distinct error statuses counted apart per command; the rest are `other`. */
const MAX_STATUSES_PER_COMMAND = 32;
/** The key of the statuses past MAX_STATUSES_PER_COMMAND (no command_status is negative). */
const OTHER_STATUS = -1;

function statusLabel(status: number): string {
  return status === OTHER_STATUS ? 'other' : commandStatusName(status);
}

/** A counter whose value is copied from a monotonic number at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (v > 0) this.inc(v);
    },
  });
}

/** Store counts are kept at least this many times as long as their read took (see storeCacheMs). */
export const READ_COST_FACTOR = 20;

/** Creates the metrics of an SMSC and starts counting PDUs. */
/** The gauge saying whether a node serves: 1 in these metrics, 0 on a standby's admin listener. */
export const NODE_ACTIVE = { name: 'smsc_node_active', help: 'Whether this node serves (1), or stands by (0)' } as const;

export function createMetrics(smsc: MetricsSource, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: smsc.config.nodeId });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const cacheMs = options.storeCacheMs ?? 5000;
  const clock = options.now ?? (() => performance.now());

  // ---- PDUs ----------------------------------------------------------------------------
  const pdusIn = new PduCounts('smsc');
  const pdusOut = new PduCounts('smsc');
  const esmeIn = new PduCounts('esme');
  const esmeOut = new PduCounts('esme');
  const onIn = (message: unknown): void => {
    const { session, command, commandStatus } = message as PduMessage;
    (session.role === 'esme' ? esmeIn : pdusIn).count(command, commandStatus);
  };
  const onOut = (message: unknown): void => {
    const { session, command, commandStatus } = message as PduMessage;
    (session.role === 'esme' ? esmeOut : pdusOut).count(command, commandStatus);
  };
  diagnostics_channel.subscribe('smsc:pdu:in', onIn);
  diagnostics_channel.subscribe('smsc:pdu:out', onOut);
  new Counter({
    name: 'smsc_pdus_received_total',
    help: 'SMPP PDUs received, by session role (smsc: ESMEs bound to us, esme: our binds out), command and command_status',
    labelNames: ['role', 'command', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      pdusIn.writeTo(this);
      esmeIn.writeTo(this);
    },
  });
  new Counter({
    name: 'smsc_pdus_sent_total',
    help: 'SMPP PDUs sent, by session role (smsc: ESMEs bound to us, esme: our binds out), command and command_status',
    labelNames: ['role', 'command', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      pdusOut.writeTo(this);
      esmeOut.writeTo(this);
    },
  });

  // ---- store counts (cached) -----------------------------------------------------------
  // One read serves every gauge of a scrape (a read in flight is always shared) and later
  // scrapes for `cacheMs`. A failed read is not kept: the next scrape asks again.
  // A read that took long is kept longer: with millions of stored rows the count by state takes
  // seconds, and a scrape every few seconds would keep the store reading for good.
  let cache: { at: number; value: Promise<StoreCounts>; settled: boolean; keepMs: number } | undefined;
  let storeErrors = 0;
  const storeCounts = (): Promise<StoreCounts> => {
    const now = clock();
    if (cache !== undefined && (!cache.settled || now - cache.at < cache.keepMs)) return cache.value;
    const value = Promise.all([smsc.store.countByState(), smsc.store.queueDepth(), smsc.store.queueDepthByAccount()]).then(
      ([byState, queueDepth, queueDepthByAccount]) => ({ byState, queueDepth, queueDepthByAccount }),
    );
    const entry = { at: now, value, settled: false, keepMs: cacheMs };
    cache = entry;
    // Attached first, so it runs before any collect awaiting the same read resumes.
    value.then(
      () => {
        entry.settled = true;
        if (cacheMs > 0) entry.keepMs = Math.max(cacheMs, READ_COST_FACTOR * (clock() - now));
      },
      () => {
        entry.settled = true;
        storeErrors++;
        if (cache === entry) cache = undefined;
      },
    );
    return value;
  };
  new Counter({
    name: 'smsc_metrics_collect_errors_total',
    help: 'Scrapes where the store could not be read (the store gauges kept their last values)',
    registers: [registry],
    async collect() {
      await storeCounts().catch(() => {});
      this.reset();
      if (storeErrors > 0) this.inc(storeErrors);
    },
  });
  /** A gauge of one store count by one label; a failed read keeps the last values (counted above). */
  const storeGauge = (name: string, help: string, label: string, pick: (c: StoreCounts) => Record<string, number>) =>
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      async collect() {
        let counts: StoreCounts;
        try {
          counts = await storeCounts();
        } catch {
          return;
        }
        this.reset();
        for (const [value, n] of Object.entries(pick(counts))) this.set({ [label]: value }, n);
      },
    });
  storeGauge('smsc_messages', 'Stored messages by state', 'state', (c) => c.byState);
  storeGauge('smsc_queue_depth', 'Pending messages (SCHEDULED or ENROUTE) by delivery target', 'target', (c) => c.queueDepth);
  storeGauge('smsc_account_queue_depth', 'Pending MT messages (SCHEDULED or ENROUTE) by submitting account', 'account', (c) => c.queueDepthByAccount);

  // A standby node's admin listener answers 0 (src/admin/standby.ts).
  new Gauge({ ...NODE_ACTIVE, registers: [registry] }).set(1);

  // ---- sessions --------------------------------------------------------------------------
  new Gauge({
    name: 'smsc_binds',
    help: 'Bound SMPP sessions by account and bind type (configured accounts show 0 when unbound)',
    labelNames: ['account', 'bind_type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of smsc.config.accounts) {
        for (const t of ['transmitter', 'receiver', 'transceiver']) this.set({ account: a.systemId, bind_type: t }, 0);
      }
      for (const s of smsc.server.sessions) {
        if (!s.isBound) continue;
        const ctx = s.context as { systemId?: string; bindType?: string } | undefined;
        if (ctx?.systemId === undefined || ctx.bindType === undefined) continue;
        this.inc({ account: ctx.systemId, bind_type: ctx.bindType });
      }
    },
  });
  new Gauge({
    name: 'smsc_connections',
    help: 'Open SMPP connections, bound or not',
    registers: [registry],
    collect() {
      let n = 0;
      for (const _ of smsc.server.sessions) n++;
      this.set(n);
    },
  });

  // ---- latencies -------------------------------------------------------------------------
  const submitLatency = new Histogram({
    name: 'smsc_submit_latency_seconds',
    help: 'Time from a submit request received to its response ready (includes the durable store commit)',
    buckets: options.submitBuckets ?? DEFAULT_SUBMIT_BUCKETS,
    registers: [registry],
  });
  const deliveryLatency = new Histogram({
    name: 'smsc_delivery_latency_seconds',
    help: 'Time from a message accepted to delivered',
    buckets: options.deliveryBuckets ?? DEFAULT_DELIVERY_BUCKETS,
    registers: [registry],
  });

  // ---- store and scheduler counters ------------------------------------------------------
  const st = () => smsc.store.stats();
  mirroredCounter(registry, 'smsc_store_commit_batches_total', 'Write transactions committed by the group committer', () => st().commitBatches);
  mirroredCounter(registry, 'smsc_store_commit_operations_total', 'Operations committed through the group committer', () => st().commitCalls);
  mirroredCounter(registry, 'smsc_store_commit_failures_total', 'Group commits that failed as a whole and were retried one by one', () => st().commitFailures);
  mirroredCounter(registry, 'smsc_store_inserted_messages_total', 'Messages inserted (submits, receipts)', () => st().insertRows);
  const sched = smsc.scheduler.stats;
  new Counter({
    name: 'smsc_delivery_outcomes_total',
    help: 'Delivery attempts by outcome',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const outcome of ['delivered', 'retried', 'failed', 'expired'] as const) {
        if (sched[outcome] > 0) this.inc({ outcome }, sched[outcome]);
      }
    },
  });
  mirroredCounter(registry, 'smsc_receipts_total', 'Delivery receipts generated', () => sched.receipts);
  new Gauge({
    name: 'smsc_deliveries_inflight',
    help: 'Delivery attempts waiting for their outcome',
    registers: [registry],
    collect() {
      this.set(sched.inflight);
    },
  });

  let closed = false;
  return {
    registry,
    observeSubmitLatency(seconds) {
      submitLatency.observe(seconds);
    },
    observeDeliveryLatency(seconds) {
      deliveryLatency.observe(seconds);
    },
    storeCounts,
    snapshot() {
      const errorsByStatus: Record<string, number> = {};
      const pdus = { in: pdusIn.snapshot(errorsByStatus), out: pdusOut.snapshot(errorsByStatus) };
      return { pdus, errorsByStatus };
    },
    close() {
      if (closed) return;
      closed = true;
      diagnostics_channel.unsubscribe('smsc:pdu:in', onIn);
      diagnostics_channel.unsubscribe('smsc:pdu:out', onOut);
      registry.clear();
    },
  };
}
