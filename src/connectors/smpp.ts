/**
 * The upstream SMPP connector: a {@link DeliveryTarget} that forwards messages to another
 * SMSC through our own client library, bound as a transceiver.
 *
 * - Connection: connects and binds on `start()`, reconnects with exponential back-off (on the
 *   injected clock) whenever the connection is lost or the bind is refused.
 * - Flow control: at most `window` submits outstanding, at most `tps` per second (token
 *   bucket with `burst`); `capacity()` reports the smaller, and `onCapacity` is called when
 *   tokens come back after being exhausted (so the scheduler can be kicked).
 * - Outcomes: submit_sm_resp ESME_ROK → `forwarded` (with the upstream's id; `delivered` for a
 *   message asking no receipt under requestReceipts asRequested). **That means "accepted by the
 *   upstream", not "on the handset": the final state comes later in the upstream's delivery
 *   receipt, reported through {@link SmppTarget.onUpstreamReceipt}** (the core decides what to
 *   do with it). ESME_RTHROTTLED pauses sending for `throttleBackoffMs` (at least
 *   {@link MIN_THROTTLE_PAUSE_MS}) → `unavailable` (sent again after it, no attempt counted);
 *   then one submit at a time, one more for each accepted, up to the window (slow start).
 *   ESME_RMSGQFUL, ESME_RSYSERR, ESME_RX_T_APPN (and any status in `retryStatuses`), response
 *   timeouts and lost connections → `retry`; every other status → `failed` UNDELIVERABLE with
 *   the status as error code.
 *   After a lost connection the upstream may have taken the message: a retry can duplicate it.
 * - Receipts: upstream message id → our message id is kept in an {@link UpstreamIdMap}
 *   (in memory by default, bounded; pluggable to persist it). Ids are normalised on both sides
 *   ({@link normaliseUpstreamId}: hex/decimal values compared as numbers, case and leading
 *   zeros ignored) because SMSCs differ in how they write the same id in the submit response
 *   and in the receipt. A receipt's id and state come from the receipted_message_id and
 *   message_state TLVs, else from the receipt text (`id:... stat:... err:...`). A receipt that
 *   arrives before its submit response (same socket read) is held until the response is seen.
 *
 * ```yaml
 * connectors:
 *   upstream-a: { type: smpp, host: smsc.example.net, port: 2775, systemId: me, password: secret,
 *                 tps: 50, window: 10, idFormat: { submit: hex, receipt: decimal } }
 * ```
 */

import { readFileSync } from 'node:fs';
import type { Client, ConnectOptions, Delivery } from '../client/client.js';
import { connect as clientConnect } from '../client/client.js';
import { messageBody } from '../delivery/esme-target.js';
import type { DeliveryTarget, Outcome } from '../delivery/target.js';
import { CommandStatusError, PduEncodeError, ResponseTimeoutError, SessionClosedError, WindowFullError } from '../errors.js';
import { CommandStatus, InterfaceVersion, MessageState as WireState } from '../pdu/constants.js';
import type { BodyOf, Tlvs } from '../pdu/types.js';
import { addrString, ConfigKeyError, checkKeys, isObj, mapping, name, num } from '../routing/validate.js';
import type { Clock, TimerHandle } from '../session/clock.js';
import { systemClock } from '../session/clock.js';
import { parseReceipt } from '../sm/dlr.js';
import { decodeText } from '../sm/encoding.js';
import { formatSmppRelative } from '../sm/time.js';
import type { MessageStateName, StoredMessage } from '../store/types.js';
import { Fifo } from '../util/fifo.js';
import { TokenBucket } from './token-bucket.js';

const S = CommandStatus;
const EMPTY = Buffer.alloc(0);
const ESM_TYPE_MASK = 0x3c;
const ESM_RECEIPT = 0x04;
const ESM_INTERMEDIATE = 0x20;

/** How an upstream writes a message id. */
export type IdFormat = 'string' | 'decimal' | 'hex';

/**
 * The canonical form of an upstream message id, so that the id of the submit response and the
 * id of the receipt compare equal. `hex` and `decimal` ids are read as numbers and written in
 * decimal (`"00FF"` hex and `"255"` decimal are the same id); `string` ids (and numeric ones
 * that do not parse) are trimmed, lower-cased and stripped of leading zeros.
 */
export function normaliseUpstreamId(id: string, format: IdFormat = 'string'): string {
  const s = id.trim();
  if (format === 'decimal' && /^\d+$/.test(s)) return BigInt(s).toString();
  if (format === 'hex' && /^[0-9a-fA-F]+$/.test(s)) return BigInt(`0x${s}`).toString();
  const lower = s.toLowerCase();
  const stripped = lower.replace(/^0+/, '');
  return stripped === '' && lower !== '' ? '0' : stripped;
}

/** Where upstream id → our id lives. Methods may be sync or async (e.g. a store table). */
export interface UpstreamIdMap {
  set(upstreamId: string, ourId: string): void | Promise<void>;
  get(upstreamId: string): string | undefined | Promise<string | undefined>;
  delete(upstreamId: string): void | Promise<void>;
}

/** In-memory {@link UpstreamIdMap}; beyond `max` entries the oldest are forgotten. */
export class MemoryIdMap implements UpstreamIdMap {
  readonly #map = new Map<string, string>();
  readonly #max: number;
  constructor(max = 1_000_000) {
    this.#max = Math.max(1, max);
  }
  get size(): number {
    return this.#map.size;
  }
  set(upstreamId: string, ourId: string): void {
    this.#map.delete(upstreamId);
    this.#map.set(upstreamId, ourId);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
  }
  get(upstreamId: string): string | undefined {
    return this.#map.get(upstreamId);
  }
  delete(upstreamId: string): void {
    this.#map.delete(upstreamId);
  }
}

/**
 * An {@link UpstreamIdMap} that remembers in memory and, on a miss, asks `lookup` (the store,
 * where the scheduler keeps each forwarded message's upstream id): receipts for messages
 * forwarded before a restart still find their message.
 */
export class PersistentIdMap implements UpstreamIdMap {
  readonly #memory: MemoryIdMap;
  readonly #lookup: (upstreamId: string) => Promise<string | undefined>;
  constructor(lookup: (upstreamId: string) => Promise<string | undefined>, max?: number) {
    this.#lookup = lookup;
    this.#memory = new MemoryIdMap(max);
  }
  set(upstreamId: string, ourId: string): void {
    this.#memory.set(upstreamId, ourId);
  }
  get(upstreamId: string): string | undefined | Promise<string | undefined> {
    const known = this.#memory.get(upstreamId);
    if (known !== undefined) return known;
    // The submit response may be taken while the store is asked (a receipt read before the
    // response it follows, and the store's answer later than both): look in memory again.
    return this.#lookup(upstreamId).then((found) => found ?? this.#memory.get(upstreamId));
  }
  delete(upstreamId: string): void {
    this.#memory.delete(upstreamId);
  }
}

/** What a receipt PDU says. */
export interface UpstreamReceipt {
  /** The upstream's message id, as written. */
  id: string;
  /** message_state (wire value), when known. */
  messageState: number | undefined;
  /** network_error_code's error, else the `err:` field read as a number, else 0. */
  errorCode: number;
  /**
   * The id came in receipted_message_id, which carries it exactly as the submit_sm_resp did
   * [ref §7.1] (the receipt text's `id:` may be written differently: see idFormat).
   */
  idFromTlv: boolean;
  /** An intermediate notification (esm_class): never a final state. */
  intermediate: boolean;
}

/** True when a deliver_sm/data_sm is a delivery receipt (or an intermediate notification). */
export function isReceipt(d: Delivery): boolean {
  if (d.command === 'alert_notification') return false;
  const type = d.esmClass & ESM_TYPE_MASK;
  return type === ESM_RECEIPT || type === ESM_INTERMEDIATE;
}

/** Reads id, state and error of a receipt: TLVs first, then the receipt text. */
export function parseUpstreamReceipt(d: Delivery): UpstreamReceipt | undefined {
  if (d.command === 'alert_notification') return undefined;
  const tlvs: Tlvs = d.tlvs;
  let id = tlvs.receiptedMessageId;
  const idFromTlv = id !== undefined && id !== '';
  let messageState = tlvs.messageState;
  let errorCode = tlvs.networkErrorCode?.errorCode;
  if (id === undefined || messageState === undefined || errorCode === undefined) {
    const bytes = tlvs.messagePayload ?? (d.command === 'deliver_sm' ? d.shortMessage : EMPTY);
    let text = '';
    try {
      text = decodeText(bytes, d.dataCoding);
    } catch {
      text = Buffer.from(bytes).toString('latin1');
    }
    const parsed = parseReceipt(text);
    if (parsed !== undefined) {
      id ??= parsed.id;
      messageState ??= parsed.messageState;
      if (errorCode === undefined && parsed.err !== undefined) {
        if (/^\d+$/.test(parsed.err)) errorCode = Number(parsed.err);
        else if (/^[0-9a-f]+$/i.test(parsed.err)) errorCode = Number.parseInt(parsed.err, 16);
      }
    }
  }
  if (id === undefined || id === '') return undefined;
  return { id, messageState, errorCode: errorCode ?? 0, idFromTlv, intermediate: (d.esmClass & ESM_TYPE_MASK) === ESM_INTERMEDIATE };
}

const STATE_NAMES = new Map<number, MessageStateName>(Object.entries(WireState).map(([k, v]) => [v, k as MessageStateName]));

/** Store state name of a wire message_state (UNKNOWN for values outside the table). */
export function stateNameOf(messageState: number | undefined): MessageStateName {
  return (messageState === undefined ? undefined : STATE_NAMES.get(messageState)) ?? 'UNKNOWN';
}

/** The submit_sm for a stored message. */
export function submitSmBody(m: StoredMessage, registeredDelivery: number, now: number, tlvsAllowed = true): BodyOf<'submit_sm'> {
  let validityPeriod = '';
  const left = m.expiresAt - now;
  if (left > 0) {
    try {
      validityPeriod = formatSmppRelative(Math.max(left, 60_000));
    } catch {
      validityPeriod = '';
    }
  }
  return messageBody(m, tlvsAllowed, { validityPeriod, registeredDelivery });
}

/** The `smpp` connector config. */
export interface SmppTargetConfig {
  host: string;
  port: number;
  tls?: boolean;
  /**
   * PEM file of the CAs the upstream's certificate is verified against (with `tls`; default the
   * system's). Read at each connection, so a renewed file is picked up on the next one.
   */
  ca?: string;
  systemId: string;
  password: string;
  systemType?: string;
  /** Default 0x34. */
  interfaceVersion?: number;
  addrTon?: number;
  addrNpi?: number;
  addressRange?: string;
  /** Submits per second; absent or 0 = no cap. */
  tps?: number;
  /** Token bucket size. Default max(1, tps). */
  burst?: number;
  /** Submits outstanding at once. Default 10. */
  window?: number;
  /** Wait for a submit_sm_resp, ms. Default 30000. */
  responseTimeoutMs?: number;
  /** Idle time before enquire_link, ms. Default 30000. */
  enquireLinkIntervalMs?: number;
  /** Reconnect back-off. Defaults 1000 ms, doubling, up to 60000 ms. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; factor?: number };
  /** After ESME_RTHROTTLED, send nothing for this long, ms. Default 1000. */
  throttleBackoffMs?: number;
  /** How the upstream writes ids in submit responses and in receipts. Default 'string' for both. */
  idFormat?: { submit?: IdFormat; receipt?: IdFormat };
  /** Ask the upstream for a receipt on every message ('always', default) or only when ours asked. */
  requestReceipts?: 'always' | 'asRequested';
  /** Statuses that mean "try again later". Default ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR. */
  retryStatuses?: number[];
}

export interface SmppTargetOptions extends SmppTargetConfig {
  clock?: Clock;
  /** Overrides {@link normaliseUpstreamId} with `idFormat`. */
  normaliseId?: (id: string, from: 'submit' | 'receipt') => string;
  /** Default: a {@link MemoryIdMap}. */
  idMap?: UpstreamIdMap;
  /** Called when capacity returns after tokens ran out or a throttle pause ended. */
  onCapacity?: () => void;
  /** Told when the link changes: bound, a connection or bind failed (each try), a bound link lost. */
  onLink?: (change: LinkChange) => void;
  /** Injectable connect (tests). */
  connect?: (o: ConnectOptions) => Promise<Client>;
}

/** A change of an {@link SmppTarget}'s link to its upstream. */
export type LinkChange = { kind: 'bound' } | { kind: 'failed'; error: Error } | { kind: 'lost' };

/** A receipt listener: our message id, its state per the upstream, the error code. */
export type UpstreamReceiptListener = (ourId: string, state: MessageStateName, errorCode: number) => void | Promise<void>;
/** An MO listener. Octet fields are views into the frame: copy what you keep. */
export type UpstreamMoListener = (delivery: Delivery) => void | Promise<void>;

/** Counters. */
export interface SmppTargetStats {
  binds: number;
  connectFailures: number;
  submitted: number;
  retried: number;
  failed: number;
  throttled: number;
  receipts: number;
  unmatchedReceipts: number;
  badReceipts: number;
  mo: number;
  /** submit_sm_resp without a message id (its receipt cannot be matched). */
  missingIds: number;
}

const UNAVAILABLE: Outcome = { kind: 'unavailable' };
/** The shortest pause after ESME_RTHROTTLED, whatever throttleBackoffMs says. */
export const MIN_THROTTLE_PAUSE_MS = 100;
// The upstream took it; its receipt (onUpstreamReceipt) gives the final state.
/**
 * The upstream id of a message an upstream accepted without giving one: no receipt can match it
 * (a normalised id is never upper case), but it is marked forwarded all the same, so that a
 * cancel_sm or a failover never takes a message the upstream has (a forwarded message without
 * an id was parked as a retry: cancellable, and moved to a failover connector at its expiry).
 */
export const NO_UPSTREAM_ID = 'NONE';
const FORWARDED_WITHOUT_ID: Outcome = { kind: 'forwarded', remoteId: NO_UPSTREAM_ID };
/** short_message's most (sm_length is one octet; 255 is reserved). */
const MAX_SHORT_MESSAGE_33 = 254;
const TOO_LONG_FOR_33: Outcome = { kind: 'failed', state: 'UNDELIVERABLE', errorCode: CommandStatus.ESME_RINVMSGLEN };
// The upstream took it and will not report on it (see requestReceipts).
const DELIVERED: Outcome = { kind: 'delivered' };
const FINAL = new Set<MessageStateName>(['DELIVERED', 'EXPIRED', 'DELETED', 'UNDELIVERABLE', 'ACCEPTED', 'UNKNOWN', 'REJECTED', 'SKIPPED']);
/** A bind that lasted this long (or maxDelayMs, if shorter) starts the reconnect back-off again. */
const STABLE_BIND_MS = 60_000;

/** Receipts held while submits are in flight (their response may be just behind). */
const MAX_HELD_RECEIPTS = 10_000;

/** An unmatched receipt waiting for a submit response, and the timer that ends its wait. */
interface HeldReceipt {
  run(): void;
  timer: TimerHandle;
}

export class SmppTarget implements DeliveryTarget {
  readonly #o: SmppTargetOptions;
  readonly #clock: Clock;
  readonly #idMap: UpstreamIdMap;
  readonly #normalise: (id: string, from: 'submit' | 'receipt') => string;
  readonly #bucket: TokenBucket | undefined;
  readonly #retryStatuses: ReadonlySet<number>;
  readonly #receiptListeners = new Set<UpstreamReceiptListener>();
  readonly #moListeners = new Set<UpstreamMoListener>();
  /** Unmatched receipts waiting for a submit response, by normalised upstream id. */
  readonly #held = new Map<string, HeldReceipt[]>();
  #heldCount = 0;
  /** The held receipts in arrival order, each with the last submit it may be waiting for. */
  readonly #heldOrder = new Fifo<{ lastSubmit: number; key: string; entry: HeldReceipt }>();
  /** Submits sent, numbered; those not answered yet from the oldest (the done ones leave from the head). */
  #submitNumber = 0;
  readonly #openSubmits = new Fifo<{ n: number; done: boolean }>();
  #client: Client | undefined;
  #started = false;
  #stopped = false;
  #reconnectDelay: number;
  /** When the current bind was made (its length decides whether the back-off starts again). */
  #boundAt = 0;
  #reconnectTimer: TimerHandle | undefined;
  #capacityTimer: TimerHandle | undefined;
  #throttledUntil = 0;
  /**
   * After a throttle pause, submits outstanding at most this many (slow start): 1 when the
   * pause ends, one more for each submit the upstream accepts (so it doubles every round
   * trip), unlimited again once it reaches the window. An upstream that just said it is
   * overloaded does not get a whole window at once the moment the pause ends.
   */
  #ramp = Number.POSITIVE_INFINITY;
  /** Bumped by each throttle: only submits sent since the last one grow the ramp. */
  #throttles = 0;
  #submitsInFlight = 0;
  #readyWaiters: Array<() => void> = [];
  /** The last connect or bind error, until the next bind. */
  lastError: Error | undefined;
  readonly stats: SmppTargetStats = {
    binds: 0,
    connectFailures: 0,
    submitted: 0,
    retried: 0,
    failed: 0,
    throttled: 0,
    receipts: 0,
    unmatchedReceipts: 0,
    badReceipts: 0,
    mo: 0,
    missingIds: 0,
  };

  constructor(options: SmppTargetOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#idMap = options.idMap ?? new MemoryIdMap();
    const formats = options.idFormat ?? {};
    this.#normalise = options.normaliseId ?? ((id, from) => normaliseUpstreamId(id, (from === 'submit' ? formats.submit : formats.receipt) ?? 'string'));
    const tps = options.tps ?? 0;
    this.#bucket = tps > 0 ? new TokenBucket(tps, options.burst ?? Math.max(1, tps), this.#clock) : undefined;
    this.#retryStatuses = new Set(options.retryStatuses ?? [S.ESME_RTHROTTLED, S.ESME_RMSGQFUL, S.ESME_RSYSERR, S.ESME_RX_T_APPN]);
    this.#reconnectDelay = options.reconnect?.initialDelayMs ?? 1000;
  }

  /** Down while not bound: routing prefers failover connectors, queued messages move to them. */
  up(): boolean {
    return this.bound;
  }

  /** True while bound to the upstream. */
  get bound(): boolean {
    return this.#client?.session.isBound === true && !this.#stopped;
  }

  /** Starts connecting (idempotent). Failures are retried; see `lastError` and `onLink`. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    void this.#connect();
  }

  /** Resolves once bound (now, or at the next successful bind). */
  ready(): Promise<void> {
    if (this.bound) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Stops reconnecting, unbinds and closes. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reconnectTimer?.cancel();
    this.#capacityTimer?.cancel();
    const client = this.#client;
    this.#client = undefined;
    this.#releaseHeld();
    if (client !== undefined) await client.close().catch(() => {});
  }

  /** Listens to the upstream's receipts for messages we submitted. Returns an unsubscribe function. */
  onUpstreamReceipt(cb: UpstreamReceiptListener): () => void {
    this.#receiptListeners.add(cb);
    return () => this.#receiptListeners.delete(cb);
  }

  /** Listens to MO messages (non-receipt deliver_sm/data_sm) from the upstream. */
  onUpstreamMo(cb: UpstreamMoListener): () => void {
    this.#moListeners.add(cb);
    return () => this.#moListeners.delete(cb);
  }

  capacity(): number {
    const client = this.#client;
    if (client === undefined || this.#stopped || !client.session.isBound) return 0;
    const s = client.session;
    let free = Math.min(s.windowSize, this.#ramp) - s.outstanding;
    if (free <= 0) return 0;
    const now = this.#clock.now();
    if (now < this.#throttledUntil) {
      this.#armCapacityTimer(this.#throttledUntil - now);
      return 0;
    }
    if (this.#bucket !== undefined) {
      const tokens = this.#bucket.available();
      if (tokens <= 0) {
        this.#armCapacityTimer(this.#bucket.msUntil(1));
        return 0;
      }
      free = Math.min(free, tokens);
    }
    return free;
  }

  async deliver(m: StoredMessage): Promise<Outcome> {
    const client = this.#client;
    if (client === undefined || this.#stopped || !client.session.isBound) return UNAVAILABLE;
    const s = client.session;
    if (s.outstanding >= Math.min(s.windowSize, this.#ramp)) return UNAVAILABLE;
    const now = this.#clock.now();
    if (now < this.#throttledUntil) return UNAVAILABLE;
    if (this.#bucket !== undefined && !this.#bucket.take()) {
      this.#armCapacityTimer(this.#bucket.msUntil(1));
      return UNAVAILABLE;
    }
    // The upstream's receipt is what ends a forwarded message, so it is asked for a final one
    // whatever ours asked (a receipt on failure only would leave a delivered message pending
    // until it expired). With asRequested, a message that asked none asks none upstream either,
    // and counts as delivered once the upstream has taken it (as an HTTP endpoint's 2xx does).
    const wantsReceipt = this.#o.requestReceipts !== 'asRequested' || (m.registeredDelivery & 0x03) !== 0;
    const rd = wantsReceipt ? (m.registeredDelivery & ~0x03 & 0x1f) | 0x01 : m.registeredDelivery & 0x1f;
    // An upstream bound as 3.3 takes no TLVs: the text goes in short_message, SAR parts get a
    // concatenation UDH (messageBody), and what short_message cannot hold fails rather than go
    // out empty (the session drops a message_payload for 3.3).
    const tlvsAllowed = s.interfaceVersion >= InterfaceVersion.V34;
    if (!tlvsAllowed && m.payload.length > MAX_SHORT_MESSAGE_33) {
      this.stats.failed++;
      return TOO_LONG_FOR_33;
    }
    this.#submitsInFlight++;
    const ticket = { n: ++this.#submitNumber, done: false };
    this.#openSubmits.push(ticket);
    const sentAfter = this.#throttles;
    try {
      const resp = await client.submit(submitSmBody(m, rd, now, tlvsAllowed), { wait: false });
      const upstreamId = resp.messageId;
      this.stats.submitted++;
      // Accepted before the throttle (sent in the window it answered) says nothing of now.
      if (this.#ramp !== Number.POSITIVE_INFINITY && sentAfter === this.#throttles) {
        this.#ramp = this.#ramp + 1 >= s.windowSize ? Number.POSITIVE_INFINITY : this.#ramp + 1;
      }
      if (!wantsReceipt) return DELIVERED;
      if (upstreamId.trim() === '') {
        this.stats.missingIds++;
        return FORWARDED_WITHOUT_ID;
      }
      const key = this.#normalise(upstreamId, 'submit');
      await this.#idMap.set(key, m.id);
      this.#wakeHeld(key);
      return { kind: 'forwarded', remoteId: key };
    } catch (err) {
      const outcome = this.#outcomeOf(err);
      if (outcome.kind === 'retry') this.stats.retried++;
      else if (outcome.kind === 'failed') this.stats.failed++;
      return outcome;
    } finally {
      this.#submitsInFlight--;
      ticket.done = true;
      this.#submitAnswered();
    }
  }

  /**
   * A submit was answered: receipts held for it, and for every submit sent before them, are
   * matched now or never. Only a submit already sent when a receipt came can be its message's;
   * under steady traffic, waiting for no submit to be in flight (or for the response timer)
   * held an unknown id's receipt, and the upstream's deliver_sm window, for 30 s.
   */
  #submitAnswered(): void {
    const open = this.#openSubmits;
    while (open.length > 0 && open.peek()!.done) open.shift();
    const oldestOpen = open.peek()?.n ?? Number.POSITIVE_INFINITY;
    const held = this.#heldOrder;
    while (held.length > 0 && held.peek()!.lastSubmit < oldestOpen) {
      const { key, entry } = held.shift()!;
      this.#releaseOne(key, entry);
    }
  }

  #outcomeOf(err: unknown): Outcome {
    if (err instanceof CommandStatusError) {
      const status = err.commandStatus;
      if (status === S.ESME_RTHROTTLED) {
        this.stats.throttled++;
        // A floor: with no pause a throttled message would be claimed and sent again at once.
        const pause = Math.max(this.#o.throttleBackoffMs ?? 1000, MIN_THROTTLE_PAUSE_MS);
        this.#throttledUntil = this.#clock.now() + pause;
        this.#ramp = 1;
        this.#throttles++;
        this.#bucket?.drain();
        this.#armCapacityTimer(pause);
        // Flow control, not a failed attempt: the message goes again once the pause ends,
        // without a retry's back-off (which grows to an hour and could let it expire) and
        // without counting an attempt (a transaction-mode submit keeps waiting).
        return UNAVAILABLE;
      }
      if (this.#retryStatuses.has(status)) return { kind: 'retry', errorCode: status };
      return { kind: 'failed', state: 'UNDELIVERABLE', errorCode: status };
    }
    if (err instanceof WindowFullError) return UNAVAILABLE;
    if (err instanceof ResponseTimeoutError || err instanceof SessionClosedError) return { kind: 'retry', errorCode: 0 };
    // A message our codec cannot encode (e.g. an address too long for SMPP) never will be.
    if (err instanceof PduEncodeError) return { kind: 'failed', state: 'UNDELIVERABLE', errorCode: S.ESME_RSUBMITFAIL };
    return { kind: 'retry', errorCode: S.ESME_RSYSERR };
  }

  #armCapacityTimer(ms: number): void {
    if (this.#capacityTimer !== undefined || this.#o.onCapacity === undefined || this.#stopped) return;
    this.#capacityTimer = this.#clock.setTimer(() => {
      this.#capacityTimer = undefined;
      if (!this.#stopped) this.#o.onCapacity?.();
    }, Math.max(1, ms));
  }

  // ---- connection ------------------------------------------------------------------------

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const o = this.#o;
    let client: Client | undefined;
    try {
      client = await (o.connect ?? clientConnect)({
        host: o.host,
        port: o.port,
        ...(o.tls === true ? { tls: o.ca === undefined ? true : { ca: readFileSync(o.ca) } } : {}),
        clock: this.#clock,
        reconnect: false,
        manualAck: true,
        session: {
          windowSize: o.window ?? 10,
          responseTimeoutMs: o.responseTimeoutMs ?? SMPP_RESPONSE_TIMEOUT_MS,
          enquireLinkIntervalMs: o.enquireLinkIntervalMs ?? 30_000,
        },
      });
      await client.bind({
        type: 'transceiver',
        systemId: o.systemId,
        password: o.password,
        ...(o.systemType !== undefined ? { systemType: o.systemType } : {}),
        ...(o.interfaceVersion !== undefined ? { interfaceVersion: o.interfaceVersion } : {}),
        ...(o.addrTon !== undefined ? { addrTon: o.addrTon } : {}),
        ...(o.addrNpi !== undefined ? { addrNpi: o.addrNpi } : {}),
        ...(o.addressRange !== undefined ? { addressRange: o.addressRange } : {}),
      });
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      this.stats.connectFailures++;
      if (!this.#stopped) this.#o.onLink?.({ kind: 'failed', error: this.lastError });
      client?.session.destroy('bind failed');
      this.#scheduleReconnect();
      return;
    }
    if (this.#stopped) {
      await client.close().catch(() => {});
      return;
    }
    this.#client = client;
    this.stats.binds++;
    this.lastError = undefined;
    this.#boundAt = this.#clock.now();
    this.#o.onLink?.({ kind: 'bound' });
    void client.closed().then(() => this.#onClosed(client));
    void this.#pump(client);
    for (const w of this.#readyWaiters.splice(0)) w();
    this.#o.onCapacity?.();
  }

  #onClosed(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    if (!this.#stopped) this.#o.onLink?.({ kind: 'lost' });
    // The back-off starts again only after a bind that lasted (maxDelayMs, at most a minute):
    // an upstream that takes the bind and drops it at once must not be reconnected to every
    // initialDelayMs for ever.
    const r = this.#o.reconnect ?? {};
    if (this.#clock.now() - this.#boundAt >= Math.min(r.maxDelayMs ?? 60_000, STABLE_BIND_MS)) this.#reconnectDelay = r.initialDelayMs ?? 1000;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const r = this.#o.reconnect ?? {};
    const delay = this.#reconnectDelay;
    this.#reconnectDelay = Math.min(delay * (r.factor ?? 2), r.maxDelayMs ?? 60_000);
    this.#reconnectTimer = this.#clock.setTimer(() => {
      this.#reconnectTimer = undefined;
      void this.#connect();
    }, delay);
  }

  // ---- deliveries from the upstream ------------------------------------------------------

  async #pump(client: Client): Promise<void> {
    for await (const d of client.deliveries()) void this.#onDelivery(client, d).catch(() => this.#ack(client, d, S.ESME_RX_T_APPN));
  }

  #ack(client: Client, d: Delivery, status: number): void {
    try {
      client.ack(d, status);
    } catch {
      // already acknowledged, or the session is gone
    }
  }

  async #onDelivery(client: Client, d: Delivery): Promise<void> {
    if (d.command === 'alert_notification') {
      this.#ack(client, d, S.ESME_ROK);
      return;
    }
    if (!isReceipt(d)) {
      this.stats.mo++;
      if (this.#moListeners.size === 0) {
        this.#ack(client, d, S.ESME_RX_P_APPN);
        return;
      }
      try {
        await Promise.all([...this.#moListeners].map((l) => l(d)));
        this.#ack(client, d, S.ESME_ROK);
      } catch (err) {
        // A listener may say how to answer (a CommandStatusError: ESME_RX_P_APPN when nobody
        // here owns the destination); else it is worth trying again (the store failed).
        this.#ack(client, d, err instanceof CommandStatusError ? err.commandStatus : S.ESME_RX_T_APPN);
      }
      return;
    }
    const r = parseUpstreamReceipt(d);
    if (r === undefined) {
      this.stats.badReceipts++;
      this.#ack(client, d, S.ESME_ROK);
      return;
    }
    await this.#onReceipt(client, d, r, this.#normalise(r.id, r.idFromTlv ? 'submit' : 'receipt'));
  }

  /** `mayHold`: an unmatched receipt may wait for the submit responses in flight (once, and not for ever). */
  async #onReceipt(client: Client, d: Delivery, r: UpstreamReceipt, key: string, mayHold = true): Promise<void> {
    let ourId: string | undefined;
    try {
      ourId = await this.#idMap.get(key);
    } catch {
      this.#ack(client, d, S.ESME_RX_T_APPN);
      return;
    }
    if (ourId === undefined) {
      // Its submit response may be right behind it: hold it until the submits already sent
      // have been answered (at most the response timer).
      if (mayHold && this.#submitsInFlight > 0 && this.#heldCount < MAX_HELD_RECEIPTS && !this.#stopped) {
        const entry: HeldReceipt = {
          run: () => void this.#onReceipt(client, d, r, key, false),
          timer: this.#clock.setTimer(() => this.#releaseOne(key, entry), this.#o.responseTimeoutMs ?? SMPP_RESPONSE_TIMEOUT_MS),
        };
        const list = this.#held.get(key) ?? [];
        list.push(entry);
        this.#held.set(key, list);
        this.#heldCount++;
        this.#heldOrder.push({ lastSubmit: this.#submitNumber, key, entry });
        return;
      }
      this.stats.unmatchedReceipts++;
      this.#ack(client, d, S.ESME_ROK);
      return;
    }
    // An intermediate notification (or a state such as ACKED/BUFFRED) never ends the message.
    const state = r.intermediate ? 'ENROUTE' : stateNameOf(r.messageState);
    this.stats.receipts++;
    try {
      await Promise.all([...this.#receiptListeners].map((l) => l(ourId, state, r.errorCode)));
      // Forgotten only once recorded: a receipt answered ESME_RX_T_APPN comes again, and must match.
      if (FINAL.has(state)) await this.#idMap.delete(key);
      this.#ack(client, d, S.ESME_ROK);
    } catch {
      // Our side failed to record it: ask the upstream to send it again later.
      this.#ack(client, d, S.ESME_RX_T_APPN);
    }
  }

  #wakeHeld(key: string): void {
    const list = this.#held.get(key);
    if (list === undefined) return;
    this.#held.delete(key);
    this.#heldCount -= list.length;
    for (const entry of list) {
      entry.timer.cancel();
      entry.run();
    }
  }

  /** A held receipt whose time ran out: matched now or never. */
  #releaseOne(key: string, entry: HeldReceipt): void {
    const list = this.#held.get(key);
    const i = list?.indexOf(entry) ?? -1;
    if (list === undefined || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#held.delete(key);
    this.#heldCount--;
    entry.timer.cancel(); // released before its time (the submits it waited for answered)
    entry.run();
  }

  /** Stopping: held receipts are matched now or never. */
  #releaseHeld(): void {
    this.#heldOrder.drain();
    if (this.#heldCount === 0) return;
    for (const key of [...this.#held.keys()]) this.#wakeHeld(key);
  }
}

// ---- config ------------------------------------------------------------------------------

const SMPP_KEYS = [
  'type',
  'host',
  'port',
  'tls',
  'ca',
  'systemId',
  'password',
  'systemType',
  'interfaceVersion',
  'addrTon',
  'addrNpi',
  'addressRange',
  'tps',
  'burst',
  'window',
  'responseTimeoutMs',
  'enquireLinkIntervalMs',
  'reconnect',
  'throttleBackoffMs',
  'idFormat',
  'requestReceipts',
  'retryStatuses',
] as const;

function idFormat(v: unknown, key: string): IdFormat {
  if (v !== 'string' && v !== 'decimal' && v !== 'hex') throw new ConfigKeyError(key, 'must be string, decimal or hex');
  return v;
}

/** Default `responseTimeoutMs` of an SMPP connector (its wait for a submit_sm_resp). */
export const SMPP_RESPONSE_TIMEOUT_MS = 30_000;

/**
 * Validates an smpp connector's config (`type` is the caller's). `statusByName` resolves
 * `retryStatuses` given by name. @throws ConfigKeyError
 */
export function parseSmpp(raw: unknown, path: string, statusByName?: (name: string) => number | undefined): SmppTargetConfig {
  const o = mapping(raw, path);
  checkKeys(o, path, SMPP_KEYS);
  const k = (key: string) => `${path}.${key}`;
  const str = (key: string, max: number): string => {
    const v = o[key];
    if (typeof v === 'number') throw new ConfigKeyError(k(key), `must be a string: quote it ("${v}")`);
    if (typeof v !== 'string') throw new ConfigKeyError(k(key), 'is required (a string)');
    if (v.length > max) throw new ConfigKeyError(k(key), `must be at most ${max} characters`);
    return v;
  };
  const cfg: SmppTargetConfig = {
    host: name(o['host'], k('host')),
    port: num(o['port'], k('port'), undefined, 1, 65535, true),
    systemId: str('systemId', 15),
    password: str('password', 8),
  };
  if (o['tls'] !== undefined) {
    if (typeof o['tls'] !== 'boolean') throw new ConfigKeyError(k('tls'), 'must be true or false');
    cfg.tls = o['tls'];
  }
  if (o['ca'] !== undefined) {
    if (typeof o['ca'] !== 'string' || o['ca'] === '') throw new ConfigKeyError(k('ca'), 'must be a file name');
    if (cfg.tls !== true) throw new ConfigKeyError(k('ca'), 'is for an upstream over TLS: set tls: true');
    cfg.ca = o['ca'];
  }
  if (o['systemType'] !== undefined) cfg.systemType = str('systemType', 12);
  if (o['addressRange'] !== undefined) cfg.addressRange = addrString(o['addressRange'], k('addressRange'), true);
  for (const key of ['interfaceVersion', 'addrTon', 'addrNpi'] as const) {
    if (o[key] !== undefined) cfg[key] = num(o[key], k(key), undefined, 0, 255, true);
  }
  if (o['tps'] !== undefined) cfg.tps = num(o['tps'], k('tps'), undefined, 0, 1_000_000, false);
  if (o['burst'] !== undefined) cfg.burst = num(o['burst'], k('burst'), undefined, 1, 1_000_000, true);
  cfg.window = num(o['window'], k('window'), 10, 1, 10_000, true);
  cfg.responseTimeoutMs = num(o['responseTimeoutMs'], k('responseTimeoutMs'), SMPP_RESPONSE_TIMEOUT_MS, 1, 3_600_000, true);
  cfg.enquireLinkIntervalMs = num(o['enquireLinkIntervalMs'], k('enquireLinkIntervalMs'), 30_000, 0, 3_600_000, true);
  cfg.throttleBackoffMs = num(o['throttleBackoffMs'], k('throttleBackoffMs'), 1000, 0, 3_600_000, true);
  if (o['reconnect'] !== undefined) {
    const rk = k('reconnect');
    const r = mapping(o['reconnect'], rk);
    checkKeys(r, rk, ['initialDelayMs', 'maxDelayMs', 'factor']);
    cfg.reconnect = {
      initialDelayMs: num(r['initialDelayMs'], `${rk}.initialDelayMs`, 1000, 1, 3_600_000, true),
      maxDelayMs: num(r['maxDelayMs'], `${rk}.maxDelayMs`, 60_000, 1, 3_600_000, true),
      factor: num(r['factor'], `${rk}.factor`, 2, 1, 10, false),
    };
  }
  if (o['idFormat'] !== undefined) {
    const ik = k('idFormat');
    const f = mapping(o['idFormat'], ik);
    checkKeys(f, ik, ['submit', 'receipt']);
    cfg.idFormat = {};
    if (f['submit'] !== undefined) cfg.idFormat.submit = idFormat(f['submit'], `${ik}.submit`);
    if (f['receipt'] !== undefined) cfg.idFormat.receipt = idFormat(f['receipt'], `${ik}.receipt`);
  }
  const rr = o['requestReceipts'];
  if (rr !== undefined) {
    if (rr !== 'always' && rr !== 'asRequested') throw new ConfigKeyError(k('requestReceipts'), 'must be always or asRequested');
    cfg.requestReceipts = rr;
  }
  const statuses = o['retryStatuses'];
  if (statuses !== undefined) {
    if (!Array.isArray(statuses)) throw new ConfigKeyError(k('retryStatuses'), 'must be a list of command_status names or numbers');
    cfg.retryStatuses = statuses.map((s, i) => {
      const key = `${k('retryStatuses')}[${i}]`;
      if (typeof s === 'string') {
        const v = statusByName?.(s);
        if (v === undefined) throw new ConfigKeyError(key, `unknown command_status name '${s}'`);
        return v;
      }
      return num(s, key, undefined, 1, 0xffffffff, true);
    });
  }
  if (isObj(o['idFormat']) && cfg.idFormat !== undefined && Object.keys(cfg.idFormat).length === 0) delete cfg.idFormat;
  return cfg;
}
