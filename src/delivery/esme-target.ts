/**
 * The ESME delivery target: deliver_sm to the receiver and transceiver binds of one account,
 * round-robin, never beyond a session's window. deliver_sm_resp statuses are honoured as the
 * reference §9.4 case 50 says.
 */
import { CommandStatusError, RequestNotSentError, ResponseTimeoutError, SessionClosedError } from '../errors.js';
import { CommandStatus, EsmClass, InterfaceVersion, TlvTag } from '../pdu/constants.js';
import { decodeTlvs } from '../pdu/decode.js';
import type { BodyOf, ShortMessageBody, Tlvs } from '../pdu/types.js';
import { type Clock, systemClock } from '../session/clock.js';
import type { Session } from '../session/session.js';
import type { StoredMessage } from '../store/types.js';
import { Fifo } from '../util/fifo.js';
import { hash32 } from '../util/random.js';
import type { DeliveryTarget, Outcome } from './target.js';

const S = CommandStatus;
const EMPTY = Buffer.alloc(0);
const DELIVERED: Outcome = Object.freeze({ kind: 'delivered' });
const UNAVAILABLE: Outcome = Object.freeze({ kind: 'unavailable' });

/** How long a session that answered ESME_RTHROTTLED gets nothing. */
export const THROTTLE_PAUSE_MS = 1000;
const NO_WAIT = Object.freeze({ wait: false });

/** What a request carrying a stored message sets that the message does not say. */
export interface RequestFields {
  validityPeriod: string;
  registeredDelivery: number;
}

/** The most short_message carries (sm_length is one octet; 255 is reserved). [ref §4.4] */
const MAX_SHORT_MESSAGE = 254;

/**
 * A stored message as the body of a deliver_sm or submit_sm: addresses, content, pass-through
 * TLVs, plus `extra`. The payload goes in message_payload when it came that way (or does not
 * fit short_message) and `tlvsAllowed`. Built as one literal (a spread of the fields cost more
 * than encoding the PDU).
 */
export function messageBody(m: StoredMessage, tlvsAllowed: boolean, extra: RequestFields): ShortMessageBody & { tlvs: Tlvs } {
  let tlvs: Tlvs = {};
  if (m.tlvs !== null) {
    try {
      tlvs = decodeTlvs(m.tlvs);
    } catch {
      tlvs = {};
    }
  }
  let shortMessage = m.payload;
  let esmClass = m.esmClass & ~EsmClass.ModeMask; // The mode bits are the submitter's request to us, not to the next hop. [ref §5.1]
  if ((m.payloadInTlv || m.payload.length > MAX_SHORT_MESSAGE) && (tlvsAllowed || m.payload.length > MAX_SHORT_MESSAGE)) {
    tlvs = { ...tlvs, messagePayload: m.payload };
    shortMessage = EMPTY;
  } else if (!tlvsAllowed && tlvs.sarMsgRefNum !== undefined && (esmClass & EsmClass.Udhi) === 0) {
    // [ref §8.6] A peer that takes no TLVs (3.3) gets a part's SAR fields as a concatenation UDH
    // (16-bit reference): without them its parts would arrive as unrelated messages.
    const udh = sarUdh(tlvs);
    if (udh !== undefined && udh.length + shortMessage.length <= MAX_SHORT_MESSAGE) {
      shortMessage = Buffer.concat([udh, shortMessage]);
      esmClass |= EsmClass.Udhi;
    }
  }
  return {
    serviceType: m.serviceType,
    sourceAddrTon: m.source.ton,
    sourceAddrNpi: m.source.npi,
    sourceAddr: m.source.addr,
    destAddrTon: m.destination.ton,
    destAddrNpi: m.destination.npi,
    destinationAddr: m.destination.addr,
    esmClass,
    protocolId: m.protocolId,
    priorityFlag: m.priority,
    scheduleDeliveryTime: '', // deliver_sm: always NULL [ref §2.3]; submit_sm: due now
    validityPeriod: extra.validityPeriod,
    registeredDelivery: extra.registeredDelivery,
    replaceIfPresentFlag: 0,
    dataCoding: m.dataCoding,
    smDefaultMsgId: 0,
    shortMessage,
    tlvs,
  };
}

/** The concatenation UDH (IEI 0x08: 16-bit reference, total, sequence) of a part's SAR TLVs; undefined when they are incomplete. */
function sarUdh(tlvs: Tlvs): Buffer | undefined {
  const ref = tlvs.sarMsgRefNum;
  const total = tlvs.sarTotalSegments;
  const seq = tlvs.sarSegmentSeqnum;
  if (ref === undefined || total === undefined || seq === undefined) return undefined;
  return Buffer.from([6, 0x08, 4, ref >> 8, ref & 0xff, total, seq]);
}

/**
 * A deliver_sm's registered_delivery says only whether the recipient is asked for an SME
 * acknowledgement (bits 3-2, as the submitter asked [ref §5.2]); what the submitter asked of us
 * (its receipt, bits 1-0 and 4) is not the recipient's business. One per value of those bits.
 */
const DELIVER_EXTRAS: readonly RequestFields[] = [0, 0x04, 0x08, 0x0c].map((bits) => Object.freeze({ validityPeriod: '', registeredDelivery: bits }));
const SME_ACK_BITS = 0x0c;

const TOO_LONG_FOR_33: Outcome = { kind: 'failed', state: 'UNDELIVERABLE', errorCode: CommandStatus.ESME_RINVMSGLEN };

/** The deliver_sm body for a stored message, shaped for the session's SMPP version (3.3 peers get no TLVs). */
export function deliverSmBody(m: StoredMessage, interfaceVersion: number): BodyOf<'deliver_sm'> {
  const ack = m.direction === 'mt' ? (m.registeredDelivery & SME_ACK_BITS) >> 2 : 0;
  return messageBody(m, interfaceVersion >= InterfaceVersion.V34, DELIVER_EXTRAS[ack]!);
}

/** Maps a failed deliver_sm to an outcome. [ref §9.4 case 50] */
export function outcomeOfError(err: unknown): Outcome {
  if (err instanceof CommandStatusError) {
    if (err.commandStatus === S.ESME_RX_P_APPN) {
      return { kind: 'failed', state: 'UNDELIVERABLE', errorCode: err.commandStatus, allToDestination: true };
    }
    if (err.commandStatus === S.ESME_RX_R_APPN) return { kind: 'failed', state: 'REJECTED', errorCode: err.commandStatus };
    // RX_T_APPN, RMSGQFUL, RTHROTTLED, RSYSERR and anything unexpected: retry until validity ends.
    return { kind: 'retry', errorCode: err.commandStatus };
  }
  // Waited for a window slot and the session closed first: never sent, so not an attempt.
  if (err instanceof RequestNotSentError) return { kind: 'unavailable' };
  if (err instanceof ResponseTimeoutError || err instanceof SessionClosedError) return { kind: 'retry', errorCode: 0 };
  return { kind: 'retry', errorCode: S.ESME_RSYSERR };
}

/** A part of a concatenated message: a UDH (UDHI set) or the SAR TLVs. */
export function isConcatenated(m: StoredMessage): boolean {
  if ((m.esmClass & EsmClass.Udhi) !== 0) return true;
  return m.tlvs !== null && m.tlvs.length > 0 && hasSar(m.tlvs);
}

/** Whether encoded TLVs hold sar_msg_ref_num (tag 0x020C), walking tags without decoding values. */
function hasSar(tlvs: Buffer): boolean {
  for (let p = 0; p + 4 <= tlvs.length; p += 4 + tlvs.readUInt16BE(p + 2)) {
    if (tlvs.readUInt16BE(p) === TlvTag.sar_msg_ref_num) return true;
  }
  return false;
}

/** Deliveries per session that may be on their way: PREFETCH windows (sent, or waiting for a slot). */
const PREFETCH = 3;

/**
 * Deliveries per session whose outcome may be unrecorded at once: UNRECORDED_WINDOWS windows (sent or
 * waiting, plus answered ones whose outcome the store has not committed yet). This bounds what a
 * crash can deliver twice. Three windows (the prefetch alone) capped delivery at about 5,000/s end to
 * end: an answered delivery holds its slot for a writer round trip (tens of ms under load).
 */
export const UNRECORDED_WINDOWS = 10;

/** A delivery waiting for a window slot of its session. */
interface Waiting {
  m: StoredMessage;
  at: number;
  resolve(o: Outcome): void;
}

/** Default longest wait of a delivery for a window slot. */
export const ESME_MAX_WAIT_MS = 20_000;

export class EsmeTarget implements DeliveryTarget {
  readonly #sessions: () => readonly Session[];
  readonly #maxWaitMs: number;
  /** For the messages' validity, and the pauses after ESME_RTHROTTLED. */
  readonly #clock: Clock;
  readonly #onCapacity: (() => void) | undefined;
  /** Sessions that answered ESME_RTHROTTLED: nothing is sent to them before this time. */
  readonly #pausedUntil = new Map<Session, number>();
  /**
   * Deliveries waiting for a slot, per session (never sent yet). Every slot the session frees
   * ('slotFree': a response or timeout of ours or of its own requests, such as enquire_link)
   * pumps its line. A line waits only while the window is full, so a pump comes at the latest
   * one response timeout later: a delivery gives up at most that long after maxWaitMs.
   */
  readonly #waiting = new Map<Session, Fifo<Waiting>>();
  #next = 0;

  /**
   * `sessions` lists the account's bound receiver/transceiver sessions on this node. A delivery
   * waits at most `maxWaitMs` for a slot (then it is given back unsent: its lease must not run
   * out while it waits, or it could be claimed and sent twice). Default 20 s. One whose validity
   * ends while it waits (by `clock`, the clock of its expires_at) is given back too, never sent.
   * A session that answers ESME_RTHROTTLED gets nothing for THROTTLE_PAUSE_MS; `onCapacity` is
   * told when the pause ends.
   */
  constructor(sessions: () => readonly Session[], options: { maxWaitMs?: number; clock?: Clock; onCapacity?: () => void } = {}) {
    this.#sessions = sessions;
    this.#maxWaitMs = options.maxWaitMs ?? ESME_MAX_WAIT_MS;
    this.#clock = options.clock ?? systemClock;
    this.#onCapacity = options.onCapacity;
  }

  #paused(s: Session): boolean {
    const until = this.#pausedUntil.get(s);
    if (until === undefined) return false;
    if (this.#clock.now() < until) return true;
    this.#pausedUntil.delete(s);
    return false;
  }

  /**
   * The ESME asked us to slow down (ESME_RTHROTTLED): as an upstream SMSC's throttle pauses its
   * connector, nothing more goes to this session for a while; what waits in its line goes when
   * the pause ends. Before, each throttled message was retried with its own back-off, doubling
   * to an hour, for a receiver that only wanted a breath.
   */
  #pause(s: Session): void {
    if (this.#paused(s)) return;
    const until = this.#clock.now() + THROTTLE_PAUSE_MS;
    this.#pausedUntil.set(s, until);
    this.#clock.setTimer(() => {
      // A later pause (this one over by the clock before its timer ran) has a timer of its own.
      if (this.#pausedUntil.get(s) !== until) return;
      this.#pausedUntil.delete(s);
      this.#pump(s);
      this.#onCapacity?.();
    }, THROTTLE_PAUSE_MS);
  }

  #waitingOn(s: Session): number {
    return this.#waiting.get(s)?.length ?? 0;
  }

  /**
   * Room for PREFETCH windows per session: beyond the window, deliveries wait here for a slot
   * and go out the moment a response frees one, without a round trip through the store (which,
   * busy with inserts, would otherwise set the pace). Waiting ones were never sent, so a crash
   * cannot duplicate them; what can be duplicated stays bounded by maxInFlight().
   */
  capacity(): number {
    let free = 0;
    for (const s of this.#sessions()) if (s.canDeliver && !this.#paused(s)) free += Math.max(0, PREFETCH * s.windowSize - s.outstanding - this.#waitingOn(s));
    return free;
  }

  maxInFlight(): number {
    let n = 0;
    for (const s of this.#sessions()) if (s.canDeliver) n += UNRECORDED_WINDOWS * s.windowSize;
    return n;
  }

  #hasRoom(s: Session): boolean {
    return s.canDeliver && s.outstanding + this.#waitingOn(s) < PREFETCH * s.windowSize && !this.#paused(s);
  }

  /** Round-robin over the sessions with room (window, or the waiting line behind it). */
  #pick(): Session | undefined {
    const list = this.#sessions();
    for (let i = 0; i < list.length; i++) {
      const s = list[(this.#next + i) % list.length]!;
      if (this.#hasRoom(s)) {
        this.#next = (this.#next + i + 1) % list.length;
        return s;
      }
    }
    return undefined;
  }

  /**
   * The parts of a long message go over one session (chosen by their addresses), so they
   * arrive in the order they were claimed; with TCP under each session, order on one session
   * is order of arrival. Falls back to round-robin when that session is full.
   */
  #pickFor(m: StoredMessage): Session | undefined {
    if (isConcatenated(m)) {
      const list = this.#sessions();
      if (list.length > 0) {
        const s = list[hash32(m.source.addr, hash32(m.destination.addr)) % list.length]!;
        if (this.#hasRoom(s)) return s;
      }
    }
    return this.#pick();
  }

  deliver(m: StoredMessage): Promise<Outcome> {
    const session = this.#pickFor(m);
    if (session === undefined) return Promise.resolve({ kind: 'unavailable' });
    if (session.outstanding < session.windowSize && this.#waitingOn(session) === 0) return this.#send(session, m);
    let line = this.#waiting.get(session);
    if (line === undefined) {
      this.#waiting.set(session, (line = new Fifo<Waiting>()));
      const pump = () => this.#pump(session);
      // A session that stops taking deliveries (unbinding: its unbind may take the next free
      // slot, so no 'slotFree' comes) gives its line back at once, as a closed one does: they
      // were never sent, so no attempt is counted.
      const state = () => {
        if (!session.canDeliver) this.#giveBack(session);
      };
      session.on('slotFree', pump);
      session.on('state', state);
      session.once('close', () => {
        session.off('slotFree', pump);
        session.off('state', state);
        this.#giveBack(session);
      });
    }
    const queue = line;
    return new Promise<Outcome>((resolve) => queue.push({ m, at: performance.now(), resolve }));
  }

  async #send(session: Session, m: StoredMessage): Promise<Outcome> {
    // A 3.3 session has no message_payload: more than short_message's 254 octets cannot go to it
    // (sent, it would arrive empty). Such a message (a joined MO, a long MT) fails, its receipt
    // saying why, rather than be reported delivered.
    if (session.interfaceVersion < InterfaceVersion.V34 && m.payload.length > MAX_SHORT_MESSAGE) return TOO_LONG_FOR_33;
    try {
      await session.request('deliver_sm', deliverSmBody(m, session.interfaceVersion), NO_WAIT);
      return DELIVERED;
    } catch (err) {
      if (err instanceof CommandStatusError && err.commandStatus === S.ESME_RTHROTTLED) {
        // Not the message's failure: it goes again once the pause is over, no attempt counted.
        this.#pause(session);
        return UNAVAILABLE;
      }
      return outcomeOfError(err);
    }
  }

  /** A slot freed: the next waiting deliveries go out (those that waited too long are given back). */
  #pump(session: Session): void {
    const line = this.#waiting.get(session);
    if (line === undefined) return;
    if (!session.canDeliver) {
      this.#giveBack(session);
      return;
    }
    // Those that waited too long go back first, slot or not (the oldest are at the head).
    const now = performance.now();
    while (line.length > 0 && now - line.peek()!.at > this.#maxWaitMs) line.shift()!.resolve({ kind: 'unavailable' });
    // Throttled: the line waits for the pause's end (a pump then), unless it waits too long.
    if (this.#paused(session)) return;
    const wallNow = this.#clock.now();
    while (line.length > 0 && session.outstanding < session.windowSize) {
      const w = line.shift()!;
      // Its validity ended while it waited: given back unsent, for the expiry run to end it
      // EXPIRED (with its receipt), not delivered late and reported DELIVRD.
      if (w.m.expiresAt <= wallNow) w.resolve({ kind: 'unavailable' });
      else void this.#send(session, w.m).then(w.resolve);
    }
  }

  #giveBack(session: Session): void {
    const line = this.#waiting.get(session);
    this.#waiting.delete(session);
    if (line === undefined) return;
    for (const w of line.drain()) w.resolve({ kind: 'unavailable' });
  }
}
