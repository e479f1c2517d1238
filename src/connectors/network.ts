/**
 * The built-in simulated mobile network: a {@link DeliveryTarget} that "delivers" MT messages
 * to subscriber number ranges with a latency distribution, a success ratio, failure causes
 * with their GSM MAP error codes, and handsets switched off for a while; and a source of MO
 * traffic (one message, or a background generator at a given rate). It is what makes the SMSC
 * usable end to end on one machine.
 *
 * ```yaml
 * network:
 *   concurrency: 10000          # attempts in flight at once (capacity)
 *   seed: 1                     # PRNG seed (omit: random)
 *   ranges:                     # longest prefix wins; numbers outside every range are unknown subscribers
 *     - prefix: "4470"
 *       latencyMs: 200          # base delivery latency
 *       latencyJitterMs: 300    # + uniform [0, 300) (or exponential with mean 300)
 *       latencyDistribution: uniform
 *       successRatio: 0.95      # of attempts to a reachable handset
 *       failure: absent         # cause of the other 5%: a name, or weights { absent: 3, unknown: 1 }
 *       switchedOff: { ratio: 0.1, durationMs: 600000 }   # 10% of handsets off per 10-minute period
 *   mo:                         # background MO generator (the daemon starts it)
 *     ratePerSecond: 5
 *     from: "4470xxxxxxxx"      # every x is a random digit
 *     to: ["2000", "3000"]
 *     text: "MO {n}"
 * ```
 *
 * Failure causes ({@link NETWORK_FAILURES}): `absent` → retry with error 27 (absent
 * subscriber), `unknown` → failed UNDELIVERABLE with error 1 (unknown subscriber), and `busy`,
 * `memoryFull`, `system` (retry), `barred`, `teleservice` (UNDELIVERABLE), `illegal` (REJECTED).
 *
 * Switched-off handsets: with `switchedOff`, time is cut into periods of `durationMs` (shifted
 * per subscriber so they do not all switch on at once) and a subscriber is off for a whole
 * period with probability `ratio`, decided by a hash of (seed, number, period): no state per
 * subscriber, same answer for every attempt. `switchOff(addr, until)` does the same for one
 * number explicitly. While off, attempts end in `retry` with error 27; afterwards the range's
 * normal behaviour applies.
 */

import type { DeliveryTarget, Outcome } from '../delivery/target.js';
import { EsmClass } from '../pdu/constants.js';
import { PrefixTable } from '../routing/prefix-table.js';
import { addrString, ConfigKeyError, checkKeys, isObj, mapping, num, oneOrMany } from '../routing/validate.js';
import type { Clock, TimerHandle } from '../session/clock.js';
import { systemClock } from '../session/clock.js';
import { encodeText } from '../sm/encoding.js';
import { SplitMethod, splitEncoded } from '../sm/split.js';
import type { Address, FailedState, StoredMessage } from '../store/types.js';
import { fillPattern, hash32, type Random, seededRandom } from '../util/random.js';

/** GSM MAP error codes (3GPP TS 29.002) used by the simulated network. */
export const MapError = {
  UnknownSubscriber: 1,
  IllegalSubscriber: 9,
  TeleserviceNotProvisioned: 11,
  CallBarred: 13,
  AbsentSubscriber: 27,
  SubscriberBusyForMtSms: 31,
  SmDeliveryFailure: 32,
  SystemFailure: 34,
} as const;

/** What a failure cause turns into. */
export type FailureOutcome = { kind: 'retry'; errorCode: number } | { kind: 'failed'; state: FailedState; errorCode: number };

/** Failure causes by config name. */
export const NETWORK_FAILURES = {
  absent: { kind: 'retry', errorCode: MapError.AbsentSubscriber },
  unknown: { kind: 'failed', state: 'UNDELIVERABLE', errorCode: MapError.UnknownSubscriber },
  busy: { kind: 'retry', errorCode: MapError.SubscriberBusyForMtSms },
  memoryFull: { kind: 'retry', errorCode: MapError.SmDeliveryFailure },
  system: { kind: 'retry', errorCode: MapError.SystemFailure },
  barred: { kind: 'failed', state: 'UNDELIVERABLE', errorCode: MapError.CallBarred },
  teleservice: { kind: 'failed', state: 'UNDELIVERABLE', errorCode: MapError.TeleserviceNotProvisioned },
  illegal: { kind: 'failed', state: 'REJECTED', errorCode: MapError.IllegalSubscriber },
} as const satisfies Record<string, FailureOutcome>;

export type FailureKind = keyof typeof NETWORK_FAILURES;

/** One subscriber number range. */
export interface NetworkRange {
  /** Number prefix (`""` = every number). */
  prefix: string;
  /** Base latency of an attempt, ms. Default 0. */
  latencyMs?: number;
  /** Random extra latency, ms: uniform in [0, jitter) or exponential with this mean. Default 0. */
  latencyJitterMs?: number;
  /** Distribution of the extra latency. Default 'uniform'. */
  latencyDistribution?: 'uniform' | 'exponential';
  /** Fraction (0..1) of attempts to a reachable handset that succeed. Default 1. */
  successRatio?: number;
  /** Cause of the failures: one kind, or weights per kind. Default 'absent'. */
  failure?: FailureKind | Partial<Record<FailureKind, number>>;
  /** Handsets switched off for whole periods (see the module comment). */
  switchedOff?: { ratio: number; durationMs: number };
}

/** Options of the background MO generator. */
export interface MoGeneratorOptions {
  /** Messages per second (> 0; fractions allowed). */
  ratePerSecond: number;
  /** Source patterns (one picked at random per message); every `x` becomes a random digit. */
  from: string | readonly string[];
  /** Destinations (one picked at random per message); `x` patterns allowed. */
  to: string | readonly string[];
  /** Text; `{n}` is replaced by the message's sequence number. Default `MO {n}`. */
  text?: string;
  /** Stop after this many messages. Default: run until stopped. */
  total?: number;
  /** At most this many sink calls in flight; messages due beyond it are skipped (counted). Default 100. */
  maxInFlight?: number;
  /** Generator tick, ms. Default 100. */
  tickMs?: number;
}

/** The validated `network` section. */
export interface NetworkConfig {
  ranges: NetworkRange[];
  /** Attempts in flight at once. Default 10000. */
  concurrency?: number;
  /** PRNG seed; absent = random. */
  seed?: number;
  /** Background MO generator, for the daemon to start. */
  mo?: MoGeneratorOptions;
}

/** An MO message as handed to the core. */
export interface MoMessage {
  source: Address;
  destination: Address;
  dataCoding: number;
  esmClass: number;
  payload: Buffer;
}

/** Stores an MO message in the core; resolves with its message id. */
export type MoSink = (mo: MoMessage) => Promise<string>;

/** One MO message to originate. Give `text` or `payload`. */
export interface MoInput {
  /** Subscriber number, or a full address. */
  from: string | Address;
  /** Destination (short code, number), or a full address. */
  to: string | Address;
  /** Encoded with `dataCoding`, or the best fitting coding (GSM 7-bit, Latin-1, UCS2). */
  text?: string;
  /** Raw user data, sent as is (data_coding default 0x04, binary). */
  payload?: Buffer;
  dataCoding?: number;
  /** esm_class; default 0 (set 0x40, UDHI, when the payload starts with a UDH). */
  esmClass?: number;
}

export interface SimulatedNetworkOptions extends NetworkConfig {
  clock?: Clock;
  /** Uniform [0, 1) source; default a PRNG seeded with `seed` (or Math.random without a seed). */
  random?: Random;
  /** Where originated MO messages go. */
  moSink?: MoSink;
  /**
   * Longest latency of one attempt (an exponential tail is cut here): the SMSC passes what a
   * lease leaves for an attempt, so no attempt outlives its message's lease. Default no limit.
   */
  maxLatencyMs?: number;
}

/** Counters. */
export interface NetworkStats {
  attempts: number;
  delivered: number;
  retried: number;
  failed: number;
  switchedOff: number;
  inflight: number;
  moOriginated: number;
  moFailed: number;
}

interface Range {
  prefix: string;
  latencyMs: number;
  jitterMs: number;
  exponential: boolean;
  successRatio: number;
  failures: { outcome: FailureOutcome; cumulative: number }[];
  off: { ratio: number; durationMs: number } | undefined;
}

const UNKNOWN: Outcome = NETWORK_FAILURES.unknown;
const ABSENT: Outcome = NETWORK_FAILURES.absent;
const DELIVERED: Outcome = { kind: 'delivered' };
const UNAVAILABLE: Outcome = { kind: 'unavailable' };

function compileRange(r: NetworkRange): Range {
  const failure = r.failure ?? 'absent';
  const weights: [FailureKind, number][] =
    typeof failure === 'string' ? [[failure, 1]] : (Object.entries(failure) as [FailureKind, number][]).filter(([, w]) => w > 0);
  if (weights.length === 0) throw new RangeError(`range '${r.prefix}': failure weights must not all be zero`);
  const sum = weights.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  const failures = weights.map(([kind, w]) => {
    const outcome = NETWORK_FAILURES[kind];
    if (outcome === undefined) throw new RangeError(`range '${r.prefix}': unknown failure '${kind}'`);
    acc += w / sum;
    return { outcome, cumulative: acc };
  });
  failures[failures.length - 1]!.cumulative = 1;
  return {
    prefix: r.prefix,
    latencyMs: r.latencyMs ?? 0,
    jitterMs: r.latencyJitterMs ?? 0,
    exponential: r.latencyDistribution === 'exponential',
    successRatio: r.successRatio ?? 1,
    failures,
    off: r.switchedOff,
  };
}

/** A plain number → an address: international for 7+ digits, unknown TON for short codes, alphanumeric otherwise. */
export function addressOf(a: string | Address): Address {
  if (typeof a !== 'string') return a;
  if (/^\d+$/.test(a)) return a.length >= 7 ? { ton: 1, npi: 1, addr: a } : { ton: 0, npi: 1, addr: a };
  if (/^\+\d+$/.test(a)) return { ton: 1, npi: 1, addr: a.slice(1) };
  return { ton: 5, npi: 0, addr: a };
}

/** The simulated mobile network. */
export class SimulatedNetwork implements DeliveryTarget {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #seed: number;
  readonly #ranges = new PrefixTable<Range>();
  readonly #concurrency: number;
  readonly #maxLatencyMs: number;
  readonly #offUntil = new Map<string, number>();
  readonly #pending = new Set<{ timer: TimerHandle; resolve: (o: Outcome) => void }>();
  readonly #generators = new Set<MoGenerator>();
  #moSink: MoSink | undefined;
  #closed = false;
  readonly stats: NetworkStats = { attempts: 0, delivered: 0, retried: 0, failed: 0, switchedOff: 0, inflight: 0, moOriginated: 0, moFailed: 0 };

  constructor(options: SimulatedNetworkOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
    this.#random = options.random ?? seededRandom(this.#seed);
    this.#concurrency = options.concurrency ?? 10_000;
    this.#maxLatencyMs = options.maxLatencyMs ?? Number.POSITIVE_INFINITY;
    for (const r of options.ranges) this.#ranges.set(r.prefix, compileRange(r));
    this.#moSink = options.moSink;
  }

  /** Sets (or replaces) where originated MO goes. */
  setMoSink(sink: MoSink): void {
    this.#moSink = sink;
  }

  capacity(): number {
    return this.#closed ? 0 : Math.max(0, this.#concurrency - this.stats.inflight);
  }

  async deliver(m: StoredMessage): Promise<Outcome> {
    if (this.#closed || this.stats.inflight >= this.#concurrency) return UNAVAILABLE;
    const addr = m.destination.addr;
    const range = this.#ranges.lookup(addr);
    // Draw everything up front so the sequence of random numbers does not depend on timing.
    const latency = range === undefined ? 0 : this.#latencyOf(range);
    const successRoll = this.#random();
    const failureRoll = this.#random();
    this.stats.inflight++;
    try {
      if (latency > 0 && !(await this.#sleep(latency))) return UNAVAILABLE;
      this.stats.attempts++;
      const outcome = this.#decide(addr, range, successRoll, failureRoll);
      if (outcome.kind === 'delivered') this.stats.delivered++;
      else if (outcome.kind === 'retry') this.stats.retried++;
      else if (outcome.kind === 'failed') this.stats.failed++;
      return outcome;
    } finally {
      this.stats.inflight--;
    }
  }

  #latencyOf(r: Range): number {
    if (r.jitterMs <= 0) return Math.min(r.latencyMs, this.#maxLatencyMs);
    const u = this.#random();
    const extra = r.exponential ? -Math.log(1 - u) * r.jitterMs : u * r.jitterMs;
    return Math.min(Math.round(r.latencyMs + extra), this.#maxLatencyMs);
  }

  /** Resolves true after `ms`, or false when the network is closed first. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const entry = {
        timer: this.#clock.setTimer(() => {
          this.#pending.delete(entry);
          resolve(true);
        }, ms),
        resolve: () => resolve(false),
      };
      this.#pending.add(entry);
    });
  }

  #decide(addr: string, range: Range | undefined, successRoll: number, failureRoll: number): Outcome {
    if (range === undefined) return UNKNOWN;
    if (this.switchedOffUntil(addr) !== undefined) {
      this.stats.switchedOff++;
      return ABSENT;
    }
    if (successRoll < range.successRatio) return DELIVERED;
    for (const f of range.failures) if (failureRoll < f.cumulative) return f.outcome;
    return range.failures[range.failures.length - 1]!.outcome;
  }

  /** When `addr`'s handset is off now: the time it comes back on (epoch ms); otherwise undefined. */
  switchedOffUntil(addr: string): number | undefined {
    const now = this.#clock.now();
    const explicit = this.#offUntil.get(addr);
    if (explicit !== undefined) {
      if (explicit > now) return explicit;
      this.#offUntil.delete(addr);
    }
    const range = this.#ranges.lookup(addr);
    const off = range?.off;
    if (off === undefined || off.ratio <= 0 || off.durationMs <= 0) return undefined;
    const d = off.durationMs;
    const phase = hash32(addr, this.#seed) % d;
    const period = Math.floor((now + phase) / d);
    if (hash32(addr, this.#seed ^ 0x5bd1e995, period) / 4294967296 >= off.ratio) return undefined;
    return (period + 1) * d - phase;
  }

  /** Switches a handset off until `until` (epoch ms): attempts before then end in retry (27). */
  switchOff(addr: string, until: number): void {
    this.#offUntil.set(addr, until);
  }

  /** Undoes {@link switchOff} (the random switched-off model still applies). */
  switchOn(addr: string): void {
    this.#offUntil.delete(addr);
  }

  /**
   * Originates one MO message into the sink (a text longer than one SMS as concatenated parts,
   * as a handset sends it); resolves with the id the core gave it (of the first part).
   */
  async originateMo(input: MoInput): Promise<string> {
    const sink = this.#moSink;
    if (sink === undefined) throw new Error('the simulated network has no MO sink');
    if ((input.text === undefined) === (input.payload === undefined)) throw new RangeError('give either text or payload');
    const source = addressOf(input.from);
    const destination = addressOf(input.to);
    const esmClass = input.esmClass ?? 0;
    // A handset sends a text longer than one SMS as concatenated parts (UDH, 8-bit reference).
    const parts: { payload: Buffer; esmClass: number }[] = [];
    let dataCoding: number;
    if (input.text !== undefined) {
      const enc = encodeText(input.text, input.dataCoding);
      dataCoding = enc.dataCoding;
      for (const seg of splitEncoded(enc.bytes, enc.dataCoding, { method: SplitMethod.Udh8 }).segments) {
        parts.push({ payload: seg.shortMessage, esmClass: seg.esmClassUdhi ? esmClass | EsmClass.Udhi : esmClass });
      }
    } else {
      parts.push({ payload: input.payload!, esmClass });
      dataCoding = input.dataCoding ?? 0x04;
    }
    try {
      let first: string | undefined;
      for (const part of parts) {
        const id = await sink({ source, destination, dataCoding, esmClass: part.esmClass, payload: part.payload });
        first ??= id;
      }
      this.stats.moOriginated++;
      return first!;
    } catch (err) {
      this.stats.moFailed++;
      throw err;
    }
  }

  /** Starts a background MO generator (stop it with `stop()`; `close()` stops all). */
  startMoGenerator(options: MoGeneratorOptions): MoGenerator {
    if (this.#closed) throw new Error('the simulated network is closed');
    const g = new MoGenerator(this, this.#clock, this.#random, options, () => this.#generators.delete(g));
    this.#generators.add(g);
    return g;
  }

  /** Stops generators and ends attempts still waiting for their latency as `unavailable`. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pending) {
      p.timer.cancel();
      p.resolve(UNAVAILABLE);
    }
    this.#pending.clear();
    await Promise.all([...this.#generators].map((g) => g.stop()));
  }
}

/** Counters of a generator. */
export interface MoGeneratorStats {
  /** Messages handed to the sink. */
  sent: number;
  /** The sink accepted (resolved). */
  accepted: number;
  /** The sink rejected. */
  failed: number;
  /** Due but skipped because `maxInFlight` sink calls were pending. */
  skipped: number;
  /** The last sink error. */
  lastError: Error | undefined;
}

/** A background MO generator; created by {@link SimulatedNetwork.startMoGenerator}. */
export class MoGenerator {
  readonly #network: SimulatedNetwork;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #rate: number;
  readonly #from: readonly string[];
  readonly #to: readonly string[];
  readonly #text: string;
  readonly #total: number;
  readonly #maxInFlight: number;
  readonly #tickMs: number;
  readonly #onStop: () => void;
  readonly #inflight = new Set<Promise<unknown>>();
  #timer: TimerHandle | undefined;
  #last: number;
  #credit = 0;
  #n = 0;
  #running = true;
  readonly stats: MoGeneratorStats = { sent: 0, accepted: 0, failed: 0, skipped: 0, lastError: undefined };

  constructor(network: SimulatedNetwork, clock: Clock, random: Random, o: MoGeneratorOptions, onStop: () => void) {
    if (!(o.ratePerSecond > 0) || !Number.isFinite(o.ratePerSecond)) throw new RangeError('ratePerSecond must be > 0');
    this.#network = network;
    this.#clock = clock;
    this.#random = random;
    this.#rate = o.ratePerSecond;
    this.#from = typeof o.from === 'string' ? [o.from] : o.from;
    this.#to = typeof o.to === 'string' ? [o.to] : o.to;
    if (this.#from.length === 0 || this.#to.length === 0) throw new RangeError('from and to must not be empty');
    this.#text = o.text ?? 'MO {n}';
    this.#total = o.total ?? Number.POSITIVE_INFINITY;
    this.#maxInFlight = Math.max(1, o.maxInFlight ?? 100);
    this.#tickMs = Math.max(1, o.tickMs ?? 100);
    this.#onStop = onStop;
    this.#last = clock.now();
    this.#schedule();
  }

  get running(): boolean {
    return this.#running;
  }

  /** Messages due so far (sent + skipped). */
  get generated(): number {
    return this.#n;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimer(() => this.#tick(), this.#tickMs);
  }

  #tick(): void {
    if (!this.#running) return;
    const now = this.#clock.now();
    // Credit for the time that actually passed, at most one second's worth (no catch-up storms).
    this.#credit = Math.min(this.#credit + (this.#rate * (now - this.#last)) / 1000, Math.max(1, this.#rate));
    this.#last = now;
    while (this.#credit >= 1 - 1e-9 && this.#n < this.#total) {
      this.#credit -= 1;
      this.#n++;
      if (this.#inflight.size >= this.#maxInFlight) {
        this.stats.skipped++;
        continue;
      }
      this.#send(this.#n);
    }
    if (this.#n >= this.#total) {
      void this.stop();
      return;
    }
    this.#schedule();
  }

  #pick(list: readonly string[]): string {
    return fillPattern(list[Math.floor(this.#random() * list.length)]!, this.#random);
  }

  #send(n: number): void {
    this.stats.sent++;
    const p = this.#network
      .originateMo({ from: this.#pick(this.#from), to: this.#pick(this.#to), text: this.#text.replaceAll('{n}', String(n)) })
      .then(
        () => {
          this.stats.accepted++;
        },
        (err: unknown) => {
          this.stats.failed++;
          this.stats.lastError = err instanceof Error ? err : new Error(String(err));
        },
      )
      .finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  /** Stops generating and waits for the sink calls in flight. */
  async stop(): Promise<void> {
    if (this.#running) {
      this.#running = false;
      this.#timer?.cancel();
      this.#onStop();
    }
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }
}

// ---- config ------------------------------------------------------------------------------

const RANGE_KEYS = ['prefix', 'latencyMs', 'latencyJitterMs', 'latencyDistribution', 'successRatio', 'failure', 'switchedOff'] as const;
const MO_KEYS = ['ratePerSecond', 'from', 'to', 'text', 'total', 'maxInFlight', 'tickMs'] as const;
const DAY_MS = 86_400_000;

function failureKind(v: unknown, key: string): FailureKind {
  if (typeof v !== 'string' || !Object.hasOwn(NETWORK_FAILURES, v)) {
    throw new ConfigKeyError(key, `must be one of ${Object.keys(NETWORK_FAILURES).join(', ')}`);
  }
  return v as FailureKind;
}

/** Validates the `network` section; errors name the key (`network.ranges[0].successRatio`). @throws ConfigKeyError */
export function parseNetwork(raw: unknown, path = 'network'): NetworkConfig {
  const o = mapping(raw, path);
  checkKeys(o, path, ['ranges', 'concurrency', 'seed', 'mo']);
  const rangesRaw = o['ranges'];
  const rk = `${path}.ranges`;
  if (!Array.isArray(rangesRaw) || rangesRaw.length === 0) throw new ConfigKeyError(rk, 'must be a non-empty list');
  const seen = new Set<string>();
  const ranges = rangesRaw.map((item, i): NetworkRange => {
    const key = `${rk}[${i}]`;
    const r = mapping(item, key);
    checkKeys(r, key, RANGE_KEYS);
    const prefix = addrString(r['prefix'], `${key}.prefix`, true);
    if (seen.has(prefix)) throw new ConfigKeyError(`${key}.prefix`, `'${prefix}' is defined twice`);
    seen.add(prefix);
    const range: NetworkRange = {
      prefix,
      latencyMs: num(r['latencyMs'], `${key}.latencyMs`, 0, 0, DAY_MS, true),
      latencyJitterMs: num(r['latencyJitterMs'], `${key}.latencyJitterMs`, 0, 0, DAY_MS, true),
      successRatio: num(r['successRatio'], `${key}.successRatio`, 1, 0, 1, false),
    };
    const dist = r['latencyDistribution'];
    if (dist !== undefined) {
      if (dist !== 'uniform' && dist !== 'exponential') throw new ConfigKeyError(`${key}.latencyDistribution`, 'must be uniform or exponential');
      range.latencyDistribution = dist;
    }
    const failure = r['failure'];
    const fk = `${key}.failure`;
    if (typeof failure === 'string') range.failure = failureKind(failure, fk);
    else if (isObj(failure)) {
      const weights: Partial<Record<FailureKind, number>> = {};
      for (const [k, w] of Object.entries(failure)) weights[failureKind(k, `${fk}.${k}`)] = num(w, `${fk}.${k}`, undefined, 0, 1e9, false);
      if (!Object.values(weights).some((w) => w > 0)) throw new ConfigKeyError(fk, 'needs at least one weight above 0');
      range.failure = weights;
    } else if (failure !== undefined) throw new ConfigKeyError(fk, `must be a failure name or a mapping of weights`);
    if (r['switchedOff'] !== undefined) {
      const sk = `${key}.switchedOff`;
      const s = mapping(r['switchedOff'], sk);
      checkKeys(s, sk, ['ratio', 'durationMs']);
      range.switchedOff = { ratio: num(s['ratio'], `${sk}.ratio`, undefined, 0, 1, false), durationMs: num(s['durationMs'], `${sk}.durationMs`, undefined, 1, 365 * DAY_MS, true) };
    }
    return range;
  });
  const config: NetworkConfig = { ranges, concurrency: num(o['concurrency'], `${path}.concurrency`, 10_000, 1, 10_000_000, true) };
  if (o['seed'] !== undefined) config.seed = num(o['seed'], `${path}.seed`, undefined, 0, 0xffffffff, true);
  if (o['mo'] !== undefined) {
    const mk = `${path}.mo`;
    const m = mapping(o['mo'], mk);
    checkKeys(m, mk, MO_KEYS);
    const pattern = (v: unknown, k: string) => addrString(v, k);
    const mo: MoGeneratorOptions = {
      ratePerSecond: num(m['ratePerSecond'], `${mk}.ratePerSecond`, undefined, 0.001, 100_000, false),
      from: oneOrMany(m['from'], `${mk}.from`, pattern) ?? failRequired(`${mk}.from`),
      to: oneOrMany(m['to'], `${mk}.to`, pattern) ?? failRequired(`${mk}.to`),
      maxInFlight: num(m['maxInFlight'], `${mk}.maxInFlight`, 100, 1, 1_000_000, true),
      tickMs: num(m['tickMs'], `${mk}.tickMs`, 100, 1, 60_000, true),
    };
    if (m['text'] !== undefined) {
      if (typeof m['text'] !== 'string') throw new ConfigKeyError(`${mk}.text`, 'must be a string');
      mo.text = m['text'];
    }
    if (m['total'] !== undefined) mo.total = num(m['total'], `${mk}.total`, undefined, 1, Number.MAX_SAFE_INTEGER, true);
    config.mo = mo;
  }
  return config;
}

function failRequired(key: string): never {
  throw new ConfigKeyError(key, 'is required');
}
