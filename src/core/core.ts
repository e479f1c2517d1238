/**
 * The SMSC core's accept side: submit_sm, submit_multi, data_sm, query_sm, cancel_sm and
 * replace_sm turned into stored messages and store operations. It knows messages, not bytes:
 * the server hands it decoded PDUs and sends back what it returns.
 *
 * Durability contract ([architecture §4]): a submit is answered ESME_ROK only after the store
 * has committed it (the store groups concurrent commits).
 */
import { CommandStatus, InterfaceVersion, MessageState as WireState } from '../pdu/constants.js';
import { encodeTlvs } from '../pdu/encode.js';
import { PduEncodeError } from '../pdu/errors.js';
import type { DataSm, PduOf, RawTlv, SubmitSm, Tlvs, UnsuccessSme } from '../pdu/types.js';
import type { SessionContext, SmscHandlers } from '../server/server.js';
import type { Clock } from '../session/clock.js';
import type { Reply } from '../session/session.js';
import { formatSmppAbsolute, parseSmppTime, SmppTimeError } from '../sm/time.js';
import { isDuplicateId } from '../store/common.js';
import { finalReceiptOwed, isDatagram, isSingleAttempt, isTransaction, receiptTarget, transactionOutcome } from '../store/receipts.js';
import { isPendingState, type NewMessage, type ReplaceChanges, type Store, type StoredMessage } from '../store/types.js';
import type { MessageIdGenerator } from './message-id.js';
import { type MoAssembler, moPartOf } from './mo-reassembly.js';
import { type Accepted, checkDestination, type TimePolicy, validateSubmit, withoutPlus } from './validate.js';

const S = CommandStatus;

/** What the core needs to know about an account. */
export interface CoreAccount extends TimePolicy {
  systemId: string;
  /** MO parts are joined into one message before delivery. */
  reassembleMo?: boolean;
}

/**
 * Where a destination goes: a delivery target key (and failover targets to try in order when
 * it cannot take the message), or a status refusing the submit.
 */
export type RouteFn = (m: { account: string; destination: string; source: string; serviceType: string; dataCoding: number }) =>
  | { target: string; failover?: readonly string[] }
  | { status: number };

/**
 * Stores new messages and hands those it can straight to a target served on this node,
 * skipping the claim (the delivery scheduler; see DeliveryScheduler.storeNew).
 */
export interface DirectHandOver {
  /** Stores new messages (resolving once durable); wakes delivery for the ones not handed over. */
  store(msgs: NewMessage[], now: number): Promise<void>;
  /**
   * Takes a message held on this node (leased, not yet sent) out of its line, for a cancel or a
   * replace: a function putting it back should the change not apply; undefined when it is not
   * held here (see DeliveryScheduler.takeOut).
   */
  takeOut(id: string): (() => void) | undefined;
  /**
   * A transaction-mode message whose wait ran out: true when no attempt of it is under way on
   * this node (one held here is taken out of its line unsent), false while one is.
   */
  abandon?(id: string): boolean;
}

/** What a transaction-mode submit's wait found (the scheduler's awaitOutcome). */
export interface TransactionWait {
  message: StoredMessage | undefined;
  /** The node is stopping: it may no longer be the one to decide. */
  ended: boolean;
  /** The kind of the attempt's outcome, when this node recorded it. */
  attempt?: AttemptKind;
}

/** The kinds of a delivery attempt's outcome (delivery/target.ts `Outcome`, checked to match there). */
export type AttemptKind = 'delivered' | 'retry' | 'failed' | 'forwarded' | 'unavailable';

export interface CoreOptions {
  store: Store;
  clock: Clock;
  ids: MessageIdGenerator;
  nodeId: string;
  /** The account policy for a bound system_id. */
  account(systemId: string): CoreAccount | undefined;
  route: RouteFn;
  /** The account that owns an MO destination (short code), if any. */
  moOwner?(destination: string): string | undefined;
  /**
   * Flow control per account: ESME_ROK to accept `n` more messages now, or the status to refuse
   * them with (ESME_RTHROTTLED over the rate, ESME_RMSGQFUL over the queue limit).
   */
  admit?(account: string, n: number): number;
  /** Seconds from a submit's arrival to its commit (metrics). */
  onSubmitLatency?(seconds: number): void;
  /** Called after messages for `target` were committed (wakes the local scheduler). */
  onStored?(target: string): void;
  /** Joins MO parts for accounts with `reassembleMo`. */
  moAssembler?: MoAssembler;
  /** Hands new messages to their target at once when it can take them. */
  direct?: DirectHandOver;
  /**
   * Transaction mode (esm_class bits 1-0 = 10): the message once its one attempt settled it, or
   * as it is after `waitMs`, or `ended` when the node stops (the scheduler's awaitOutcome).
   * Without it such a submit is answered as soon as the message is stored.
   */
  awaitOutcome?(id: string, waitMs: number): Promise<TransactionWait>;
  /** How long a transaction-mode submit waits for its message's outcome, ms. Default 10,000. */
  transactionWaitMs?: number;
  /**
   * The delivery lease, ms: a transaction-mode message expires once its wait and then a whole
   * lease (an attempt under way when the wait ran out) have passed. Default 60,000.
   */
  leaseMs?: number;
  /** The longest a datagram waits for its destination, ms: its validity is capped to it. Default 60,000. */
  datagramWaitMs?: number;
}

/**
 * TLVs an ESME's submission may not hand on: the SMSC's own reports and answers [ref §4.2, the
 * TLVs of the SMSC-to-ESME direction and of responses]. Passed on, a receipted_message_id and
 * message_state would make the deliver_sm read as the SMSC's receipt for a message of the
 * recipient's. They are dropped, as a known TLV not meant for the PDU is ignored [ref §4.1].
 */
const SMSC_ONLY_TLVS: ReadonlySet<string> = new Set([
  'receiptedMessageId',
  'messageState',
  'networkErrorCode',
  'deliveryFailureReason',
  'additionalStatusInfoText',
  'dpfResult',
  'msAvailabilityStatus',
  'scInterfaceVersion',
  'congestionState',
  'broadcastErrorStatus',
  'broadcastAreaSuccess',
]);

/** Unknown tags handed on: the vendor-specific range only [ref §4.1]; reserved ones are dropped. */
const VENDOR_TAGS = { first: 0x1400, last: 0x3fff } as const;

/**
 * TLVs kept with a message and handed on at delivery (everything but the payload and the
 * SMSC's own, {@link SMSC_ONLY_TLVS}); undefined when one cannot be sent on: the decoder reads
 * C-string TLVs leniently (a missing or early NUL, as some peers write them [ref §10.12]), but
 * a value that does not fit its TLV is not passed on, and the submit is answered
 * ESME_RINVTLVVAL.
 */
function passThroughTlvs(tlvs: Tlvs): Buffer | null | undefined {
  let any = false;
  const keep: Record<string, unknown> = {};
  for (const key in tlvs) {
    if (key === 'messagePayload' || key === 'qosTimeToLive' || SMSC_ONLY_TLVS.has(key)) continue;
    let v = (tlvs as Record<string, unknown>)[key];
    if (key === 'unknown') {
      const vendor = (v as RawTlv[]).filter((t) => t.tag >= VENDOR_TAGS.first && t.tag <= VENDOR_TAGS.last);
      v = vendor.length > 0 ? vendor : undefined;
    }
    if (v === undefined) continue;
    keep[key] = v;
    any = true;
  }
  if (!any) return null;
  try {
    return encodeTlvs(keep as Tlvs);
  } catch (err) {
    if (err instanceof PduEncodeError) return undefined;
    throw err;
  }
}

/** An MO message whose destination no account owns (nor an MO route names). */
export class NoMoOwnerError extends Error {
  override name = 'NoMoOwnerError';
  constructor(destination: string) {
    super(`no account owns MO destination ${destination}`);
  }
}

/** delivery_failure_reason values [SMPP34 §5.3.2.33]. */
const FailureReason = { DestinationUnavailable: 0, PermanentError: 2, TemporaryError: 3 } as const;

/**
 * Statuses of a failed attempt that say "not now" rather than "never" (a retry, in store and
 * forward): how a transaction's failure recorded by another node is told apart.
 */
const TEMPORARY_ERRORS: ReadonlySet<number> = new Set([S.ESME_RX_T_APPN, S.ESME_RTHROTTLED, S.ESME_RMSGQFUL]);

/** Rounds of waiting for an attempt under way when a transaction's wait ran out (each at most a lease). */
const MAX_ATTEMPT_WAITS = 2;

/**
 * The answer to a transaction-mode submit once its message is settled: its id when delivered or
 * handed to a next hop; else ESME_RDELIVERYFAILURE, temporary when the attempt failed for now
 * (a retry in store and forward: busy, absent, timed out, throttled), permanent otherwise.
 */
function transactionAnswer(id: string, m: StoredMessage | undefined, attempt: TransactionWait['attempt'], withTlvs: boolean): Reply {
  if (m !== undefined && transactionOutcome(m) === 'accepted') return { messageId: id };
  const temporary = attempt !== undefined ? attempt === 'retry' : m !== undefined && m.state === 'UNDELIVERABLE' && TEMPORARY_ERRORS.has(m.errorCode);
  return deliveryFailure(temporary ? FailureReason.TemporaryError : FailureReason.PermanentError, withTlvs);
}

/**
 * [ref §1.1, §4.3] A transaction's failure: ESME_RDELIVERYFAILURE with delivery_failure_reason
 * where the response may carry TLVs (data_sm_resp, and submit_sm_resp to 5.0 sessions), which
 * needs a body (an empty message_id); header only elsewhere.
 */
function deliveryFailure(reason: number, withTlvs: boolean): Reply {
  if (!withTlvs) return S.ESME_RDELIVERYFAILURE;
  return { commandStatus: S.ESME_RDELIVERYFAILURE, messageId: '', tlvs: { deliveryFailureReason: reason } };
}

/** The longest address deliver_sm and submit_sm carry (21 octets with the NUL). */
const MAX_DELIVERABLE_ADDR = 20;

/** submit_multi's number_of_dests is one octet: a batch has at most this many destinations. */
const MAX_MULTI_DESTINATIONS = 255;

/** A request's source address without its leading + (see withoutPlus). */
function plainSource(req: { sourceAddrTon: number; sourceAddr: string }): void {
  const plain = withoutPlus(req.sourceAddrTon, req.sourceAddr);
  if (plain === undefined) return;
  req.sourceAddrTon = plain.ton;
  req.sourceAddr = plain.addr;
}

/** A request's destination address without its leading + (see withoutPlus). */
function plainDestination(req: { destAddrTon: number; destinationAddr: string }): void {
  const plain = withoutPlus(req.destAddrTon, req.destinationAddr);
  if (plain === undefined) return;
  req.destAddrTon = plain.ton;
  req.destinationAddr = plain.addr;
}

/** Tries at storing a message under a new id when its id is found stored already (see #store). */
const MAX_ID_TRIES = 24;

/**
 * The id of the `n`th destination (from 2) of the submit_multi whose id (and first
 * destination's) is `batchId`. The ESME never sees it: its responses and receipts carry the
 * batch id, and query_sm, cancel_sm and replace_sm on that id reach every destination by it.
 */
function batchMemberId(batchId: string, n: number): string {
  return `${batchId}.${n}`;
}

/**
 * What query_sm reports for a batch's destinations (one message alone: itself): while any is
 * pending, that one (the batch is still on its way); once all are final, the first that did
 * not reach DELIVERED (each destination's own outcome travels in its receipt), else the last
 * delivered, whose final date is the batch's.
 */
function batchState(members: readonly StoredMessage[]): StoredMessage {
  const pending = members.find((m) => isPendingState(m.state));
  if (pending !== undefined) return pending;
  const failed = members.find((m) => m.state !== 'DELIVERED');
  if (failed !== undefined) return failed;
  return members.reduce((a, b) => ((b.finalAt ?? 0) > (a.finalAt ?? 0) ? b : a));
}

/** message_state for a 3.4 session: no SCHEDULED (0) or SKIPPED (9). [ref §5.7] */
function stateFor(m: StoredMessage, version: number): number {
  const v = WireState[m.state];
  if (version >= InterfaceVersion.V50) return v;
  if (v === WireState.SCHEDULED) return WireState.ENROUTE;
  if (v === WireState.SKIPPED) return WireState.UNDELIVERABLE;
  return v;
}

export class SmscCore {
  readonly #o: CoreOptions;

  constructor(options: CoreOptions) {
    this.#o = options;
  }

  /** The server handlers of the core. */
  handlers(): SmscHandlers {
    return {
      onSubmitSm: (req, ctx) => this.submitSm(req, ctx),
      onDataSm: (req, ctx) => this.submitSm(req, ctx),
      onSubmitMulti: (req, ctx) => this.submitMulti(req, ctx),
      onQuerySm: (req, ctx) => this.querySm(req, ctx),
      onCancelSm: (req, ctx) => this.cancelSm(req, ctx),
      onReplaceSm: (req, ctx) => this.replaceSm(req, ctx),
    };
  }

  #newId(ctx: SessionContext): string {
    return ctx.interfaceVersion < InterfaceVersion.V34 ? this.#o.ids.next33() : this.#o.ids.next();
  }

  /** submit_sm and data_sm. */
  async submitSm(req: SubmitSm | DataSm, ctx: SessionContext): Promise<Reply> {
    const t0 = performance.now();
    const account = this.#o.account(ctx.systemId);
    if (account === undefined) return S.ESME_RSYSERR;
    const now = this.#o.clock.now();
    const isData = req.command === 'data_sm';
    plainSource(req);
    plainDestination(req);
    if (isData && req.tlvs.messagePayload === undefined) return S.ESME_RMISSINGTLV; // [ref §9.3 case 40]
    // data_sm addresses may be 64 characters, but every way on (deliver_sm, submit_sm) carries 20:
    // a longer one could never be delivered.
    if (isData && req.destinationAddr.length > MAX_DELIVERABLE_ADDR) return S.ESME_RINVDSTADR;
    if (isData && req.sourceAddr.length > MAX_DELIVERABLE_ADDR) return S.ESME_RINVSRCADR;
    const dest = checkDestination(req.destAddrTon, req.destAddrNpi, req.destinationAddr);
    if (dest !== S.ESME_ROK) return dest;
    const ok = validateSubmit(req, now, account, ctx.interfaceVersion >= InterfaceVersion.V50);
    if (typeof ok === 'number') return ok;
    const tlvs = passThroughTlvs(req.tlvs);
    if (tlvs === undefined) return S.ESME_RINVTLVVAL;
    const route = this.#o.route({
      account: account.systemId,
      destination: req.destinationAddr,
      source: req.sourceAddr,
      serviceType: req.serviceType,
      dataCoding: req.dataCoding,
    });
    if ('status' in route) return route.status;
    // Each submit (each segment of a long message) counts once.
    const admitted = this.#o.admit?.(account.systemId, 1) ?? S.ESME_ROK;
    if (admitted !== S.ESME_ROK) return admitted;

    if (!isData && req.replaceIfPresentFlag === 1) {
      // [ref §5.11] replace a pending message with the same source, destination and service_type:
      // one this account submitted (findPending finds MT only, not the receipts or MO waiting
      // for it), not a submit_multi's member (its ESME knows the batch id only), and not one
      // submitted for a single attempt (a datagram, or a transaction whose submitter waits for
      // its outcome: taken over, it would be answered as failed while the new submit's content
      // is delivered).
      const candidates = (
        await this.#o.store.findPending({
          account: account.systemId,
          sourceAddr: req.sourceAddr,
          destinationAddr: req.destinationAddr,
          serviceType: req.serviceType,
        })
      ).filter((m) => m.batchId === null && !isSingleAttempt(m));
      // The oldest that no attempt carries (one on its way cannot be replaced): else a new message.
      for (const existing of candidates) {
        const replaced = await this.#unsentChange(existing.id, (heldBy) =>
          this.#o.store.replace(
            existing.id,
            {
              payload: Buffer.from(ok.payload),
              payloadInTlv: ok.payloadInTlv,
              registeredDelivery: req.registeredDelivery,
              scheduleAt: ok.scheduleAt,
              expiresAt: this.#singleAttemptCap(req, ok.expiresAt, now),
              dataCoding: req.dataCoding,
              esmClass: req.esmClass,
              // All of the new submit's content: the old one's TLVs (a concatenation's sar_*) must not stay.
              tlvs,
              protocolId: req.protocolId,
            },
            now,
            heldBy,
          ),
        );
        if (replaced !== undefined) {
          this.#o.onStored?.(replaced.target);
          return { messageId: existing.id };
        }
      }
    }

    const id = this.#newId(ctx);
    const msg = this.#mtRecord(req, ok, ctx, now, {
      id,
      account: account.systemId,
      target: route.target,
      batchId: null,
      destination: { ton: req.destAddrTon, npi: req.destAddrNpi, addr: req.destinationAddr },
      protocolId: isData ? 0 : req.protocolId,
      priority: isData ? 0 : req.priorityFlag,
      payload: Buffer.from(ok.payload), // Copy: the decoded payload is a view into the socket chunk. [style §3 rule 2]
      tlvs,
    }, route.failover);
    await this.#store([msg], now, ctx);
    this.#o.onSubmitLatency?.((performance.now() - t0) / 1000);
    // msg.id: another one when the first was found stored already (see #store).
    return isTransaction(req) ? this.#transactionReply(msg.id, isData || ctx.interfaceVersion >= InterfaceVersion.V50) : { messageId: msg.id };
  }

  /**
   * [ref §6.6] A single-attempt message is not stored to wait. A datagram that finds no way to
   * its destination at once waits at most datagramWaitMs (a receiver reconnecting), then
   * expires, without a receipt. A transaction's message outlives its submitter's wait by a lease
   * at most: a node stopped or gone during the wait (its submitter answered ESME_RSYSERR, or not
   * at all) leaves it pending, and it must not reach the handset days later, after the ESME
   * has given up on it or sent it again. (One handed to an upstream SMSC, its submitter
   * answered, is then ended EXPIRED unless the upstream's receipt came first.)
   */
  #singleAttemptCap(m: { esmClass: number }, expiresAt: number, now: number): number {
    if (isDatagram(m)) return Math.min(expiresAt, now + (this.#o.datagramWaitMs ?? 60_000));
    if (isTransaction(m)) return Math.min(expiresAt, now + (this.#o.transactionWaitMs ?? 10_000) + (this.#o.leaseMs ?? 60_000));
    return expiresAt;
  }

  /**
   * [ref §6.6] Transaction mode: the submit is answered once the message's one attempt settled
   * it: with its id when delivered (or handed to a next hop, which has it now), with
   * ESME_RDELIVERYFAILURE when it failed, or when no outcome came within transactionWaitMs — the
   * message is then ended UNDELIVERABLE, so it is not delivered after its submitter was told it
   * failed (an attempt in flight at that moment may still reach the handset; its outcome then
   * does not apply). A node that stops meanwhile answers ESME_RSYSERR and leaves the message as
   * it is: the outcome is not known, and the node may no longer be the one to end it.
   */
  async #transactionReply(id: string, withTlvs: boolean): Promise<Reply> {
    const wait = this.#o.awaitOutcome;
    if (wait === undefined) return { messageId: id };
    let waitMs = this.#o.transactionWaitMs ?? 10_000;
    for (let round = 0; ; round++) {
      const { message: m, ended, attempt } = await wait(id, waitMs);
      if (m === undefined || transactionOutcome(m) !== 'waiting') return transactionAnswer(id, m, attempt, withTlvs);
      if (ended) return S.ESME_RSYSERR;
      // An attempt under way when the wait ran out may still reach the handset: its outcome is
      // waited for (it comes within the attempt's lease) rather than the message ended under it.
      const leaseLeft = this.#attemptLeaseLeft(m);
      if (leaseLeft > 0 && round < MAX_ATTEMPT_WAITS) {
        waitMs = leaseLeft;
        continue;
      }
      const failed = await this.#o.store.finalize(id, 'UNDELIVERABLE', this.#o.clock.now(), 0, this.#o.nodeId, 'transaction-wait');
      if (failed !== undefined) return deliveryFailure(FailureReason.DestinationUnavailable, withTlvs);
      // It was settled meanwhile.
      return transactionAnswer(id, await this.#o.store.get(id), undefined, withTlvs);
    }
  }

  /**
   * How long an attempt of `m` may still be under way, ms (0: none is): its lease, unless this
   * node holds it without having sent it (then taken out of its line, it never will be).
   */
  #attemptLeaseLeft(m: StoredMessage): number {
    const left = m.leaseOwner === null ? 0 : m.leaseUntil - this.#o.clock.now();
    if (left <= 0) return 0;
    if (m.leaseOwner === this.#o.nodeId && this.#o.direct?.abandon?.(m.id) === true) return 0;
    return left;
  }

  /** submit_multi: one stored message per destination; the resp lists the refused ones. */
  async submitMulti(req: PduOf<'submit_multi'>, ctx: SessionContext): Promise<Reply> {
    const account = this.#o.account(ctx.systemId);
    if (account === undefined) return S.ESME_RSYSERR;
    const now = this.#o.clock.now();
    plainSource(req);
    for (const d of req.destAddresses) if (d.destFlag === 1) plainDestination(d);
    const ok = validateSubmit(req, now, account, ctx.interfaceVersion >= InterfaceVersion.V50);
    if (typeof ok === 'number') return ok;
    // Transaction mode is for one destination: a submit_multi's response cannot wait for each.
    if (isTransaction(req)) return S.ESME_RINVESMCLASS;
    // [ref §5.11] replace_if_present is not supported here: each destination's message would
    // keep its own id, which the response (one batch id) cannot give. Said, not ignored.
    if (req.replaceIfPresentFlag === 1) return S.ESME_RINVSUBREP;
    // [ref §0] at most 254 destinations before 5.0 (255 there).
    if (ctx.interfaceVersion < InterfaceVersion.V50 && req.destAddresses.length > 254) return S.ESME_RINVNUMDESTS;
    const unsuccess: UnsuccessSme[] = [];
    const msgs: NewMessage[] = [];
    const batchId = this.#newId(ctx);
    const tlvs = passThroughTlvs(req.tlvs);
    if (tlvs === undefined) return S.ESME_RINVTLVVAL;
    const payload = Buffer.from(ok.payload);
    for (const d of req.destAddresses) {
      if (d.destFlag === 2) {
        // [ref §9.4 case 49] distribution lists are not supported.
        unsuccess.push({ destAddrTon: 0, destAddrNpi: 0, destinationAddr: d.dlName, errorStatusCode: S.ESME_RCNTSUBDL });
        continue;
      }
      const bad = checkDestination(d.destAddrTon, d.destAddrNpi, d.destinationAddr);
      const route =
        bad === S.ESME_ROK
          ? this.#o.route({
              account: account.systemId,
              destination: d.destinationAddr,
              source: req.sourceAddr,
              serviceType: req.serviceType,
              dataCoding: req.dataCoding,
            })
          : { status: bad };
      if ('status' in route) {
        unsuccess.push({ ...d, errorStatusCode: route.status });
        continue;
      }
      msgs.push(
        this.#mtRecord(req, ok, ctx, now, {
          id: msgs.length === 0 ? batchId : batchMemberId(batchId, msgs.length + 1),
          account: account.systemId,
          target: route.target,
          batchId,
          destination: { ton: d.destAddrTon, npi: d.destAddrNpi, addr: d.destinationAddr },
          protocolId: req.protocolId,
          priority: req.priorityFlag,
          payload,
          tlvs,
        }, route.failover),
      );
    }
    if (msgs.length === 0) {
      // Nothing accepted: the submit fails as a whole with the first destination's status.
      return unsuccess[0]?.errorStatusCode ?? S.ESME_RINVDSTADR;
    }
    const admitted = this.#o.admit?.(account.systemId, msgs.length) ?? S.ESME_ROK;
    if (admitted !== S.ESME_ROK) return admitted;
    await this.#store(msgs, now, ctx);
    return { messageId: msgs[0]!.id, unsuccessSmes: unsuccess };
  }

  /**
   * Stores an MO message from the network for the account that owns its destination; resolves
   * with the message id once committed. Throws when no account owns the destination.
   */
  async acceptMo(mo: {
    source: { ton: number; npi: number; addr: string };
    destination: { ton: number; npi: number; addr: string };
    dataCoding: number;
    esmClass: number;
    payload: Buffer;
    /** protocol_id as it came (an upstream SMSC's deliver_sm). Default 0. */
    protocolId?: number;
    /** TLVs as they came: kept and handed on as a submit's are (SAR, ports, vendor tags). */
    tlvs?: Tlvs;
  }): Promise<string> {
    const owner = this.#o.moOwner?.(mo.destination.addr);
    if (owner === undefined) throw new NoMoOwnerError(mo.destination.addr);
    const account = this.#o.account(owner);
    const now = this.#o.clock.now();
    const id = this.#o.ids.next();
    const target = `esme:${owner}`;
    const record: NewMessage = {
        id,
        direction: 'mo',
        account: owner,
        target,
        batchId: null,
        source: mo.source,
        destination: mo.destination,
        serviceType: '',
        esmClass: mo.esmClass,
        protocolId: mo.protocolId ?? 0,
        priority: 0,
        dataCoding: mo.dataCoding,
        registeredDelivery: 0,
        payload: Buffer.from(mo.payload),
        payloadInTlv: mo.payload.length > 254,
        // One that cannot be handed on is dropped, not the message: the network has sent it.
        tlvs: mo.tlvs === undefined ? null : (passThroughTlvs(mo.tlvs) ?? null),
        submittedAt: now,
        scheduleAt: now,
        // MO waits for its account to bind, until the account's default validity ends.
        expiresAt: now + (account?.defaultValiditySeconds ?? 172_800) * 1000,
        receiptFor: null,
        originNode: this.#o.nodeId,
        originSession: null,
        lease: undefined,
      };
    const part = account?.reassembleMo === true ? moPartOf(record) : undefined;
    if (part !== undefined && this.#o.moAssembler !== undefined) {
      await this.#o.moAssembler.add(record, part);
      return id;
    }
    await this.#store([record], now, undefined);
    return record.id;
  }

  /**
   * Stores new messages (resolving once durable). With a direct hand-over, those whose target
   * can take them are handed to it at once; the others wake the scheduler.
   */
  async #store(msgs: NewMessage[], now: number, ctx: SessionContext | undefined): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        if (this.#o.direct !== undefined) await this.#o.direct.store(msgs, now);
        else {
          await this.#o.store.insert(msgs);
          for (const target of new Set(msgs.map((m) => m.target))) this.#o.onStored?.(target);
        }
        return;
      } catch (err) {
        // Our id is stored already (ids handed out by a process before this one, ahead of the
        // clock): the generator moves past it and the messages are stored under a new one.
        if (!isDuplicateId(err) || tries >= MAX_ID_TRIES) throw err;
        this.#o.ids.skipPast(msgs[0]!.id);
        const id = ctx === undefined ? this.#o.ids.next() : this.#newId(ctx);
        const batched = msgs[0]!.batchId !== null;
        for (let i = 0; i < msgs.length; i++) {
          msgs[i]!.id = i === 0 ? id : batchMemberId(id, i + 1);
          if (batched) msgs[i]!.batchId = id;
        }
      }
    }
  }

  /** The stored record of one MT destination: the submit's common fields plus what differs per call. */
  #mtRecord(
    req: SubmitSm | DataSm | PduOf<'submit_multi'>,
    ok: Accepted,
    ctx: SessionContext,
    now: number,
    own: Pick<NewMessage, 'id' | 'account' | 'target' | 'batchId' | 'destination' | 'protocolId' | 'priority' | 'payload' | 'tlvs'>,
    failover: readonly string[] | undefined,
  ): NewMessage {
    // One literal with every field in a fixed order: one hidden class for every record (a
    // spread here cost more than the rest of the accept path, and slowed the copy to the store).
    return {
      id: own.id,
      direction: 'mt',
      account: own.account,
      target: own.target,
      batchId: own.batchId,
      source: { ton: req.sourceAddrTon, npi: req.sourceAddrNpi, addr: req.sourceAddr },
      destination: own.destination,
      serviceType: req.serviceType,
      esmClass: req.esmClass,
      protocolId: own.protocolId,
      priority: own.priority,
      dataCoding: req.dataCoding,
      registeredDelivery: req.registeredDelivery,
      payload: own.payload,
      payloadInTlv: ok.payloadInTlv,
      tlvs: own.tlvs,
      submittedAt: now,
      scheduleAt: ok.scheduleAt,
      expiresAt: this.#singleAttemptCap(req, ok.expiresAt, now),
      receiptFor: null,
      originNode: this.#o.nodeId,
      originSession: ctx.session.id,
      failover: failover !== undefined && failover.length > 0 ? failover : undefined,
      lease: undefined,
    };
  }

  /**
   * The messages an id the ESME holds stands for: `m` alone, or, when `m` is the first
   * destination of a submit_multi (whose id is the batch's), every destination of the batch,
   * in the order of the submit.
   */
  async #members(m: StoredMessage): Promise<StoredMessage[]> {
    if (m.batchId !== m.id) return [m];
    const ids: string[] = [];
    for (let n = 2; n <= MAX_MULTI_DESTINATIONS; n++) ids.push(batchMemberId(m.id, n));
    const byId = new Map((await this.#o.store.getMany(ids)).map((o) => [o.id, o]));
    const members = [m];
    for (const id of ids) {
      const o = byId.get(id);
      if (o !== undefined && o.batchId === m.id && o.account === m.account) members.push(o);
    }
    return members;
  }

  /** The message an ESME may see: its own, with the original source address. [ref §2.4] */
  async #owned(ctx: SessionContext, messageId: string, sourceAddr: string): Promise<StoredMessage | undefined> {
    if (messageId === '') return undefined;
    const m = await this.#o.store.get(messageId);
    if (m === undefined || m.account !== ctx.systemId || m.direction !== 'mt') return undefined;
    if (m.source.addr !== sourceAddr) return undefined;
    return m;
  }

  async querySm(req: PduOf<'query_sm'>, ctx: SessionContext): Promise<Reply> {
    plainSource(req);
    const found = await this.#owned(ctx, req.messageId, req.sourceAddr);
    if (found === undefined) return S.ESME_RQUERYFAIL; // documented choice [ref §9.5 case 57]
    const m = batchState(await this.#members(found));
    return {
      messageId: found.id,
      finalDate: m.finalAt === null ? '' : formatSmppAbsolute(m.finalAt),
      messageState: stateFor(m, ctx.interfaceVersion),
      errorCode: Math.min(m.errorCode, 255),
    };
  }

  /**
   * A cancel or a replace of message `id` (`change`, given the node to which the store may
   * hand the lease: see Store.cancel), only while no attempt can be delivering it [ref §2.4:
   * a message already on its way cannot be cancelled or replaced]. One held unsent on this
   * node is taken out of its line first, and put back should the change not apply; one leased
   * elsewhere, or being sent here, is left to its attempt and the change fails.
   */
  async #unsentChange<T>(id: string, change: (heldBy: string | null) => Promise<T | undefined>): Promise<T | undefined> {
    const putBack = this.#o.direct?.takeOut(id);
    let done: T | undefined;
    try {
      done = await change(putBack !== undefined ? this.#o.nodeId : null);
    } finally {
      if (done === undefined) putBack?.();
    }
    return done;
  }

  async cancelSm(req: PduOf<'cancel_sm'>, ctx: SessionContext): Promise<Reply> {
    plainSource(req);
    plainDestination(req);
    const now = this.#o.clock.now();
    let targets: StoredMessage[];
    if (req.messageId !== '') {
      const m = await this.#owned(ctx, req.messageId, req.sourceAddr);
      if (m === undefined) return S.ESME_RCANCELFAIL;
      targets = await this.#members(m);
    } else {
      // [ref §2.4] empty id: every pending message with this source and destination (and service_type).
      if (req.destinationAddr === '') return S.ESME_RCANCELFAIL;
      // Messages this account submitted (findPending finds MT only, not receipts or MO waiting for it).
      targets = await this.#o.store.findPending({
        account: ctx.systemId,
        sourceAddr: req.sourceAddr,
        destinationAddr: req.destinationAddr,
        ...(req.serviceType !== '' ? { serviceType: req.serviceType } : {}),
      });
    }
    let cancelled = 0;
    let receipts = 0;
    for (const t of targets) {
      // The receipt owed (registered_delivery asking for one on failure) commits with the cancel.
      const done = await this.#unsentChange(t.id, (heldBy) => this.#o.store.cancel(t.id, now, this.#o.nodeId, heldBy));
      if (done === undefined) continue;
      cancelled++;
      if (finalReceiptOwed(done, 'DELETED')) receipts++;
    }
    if (receipts > 0) this.#o.onStored?.(receiptTarget(ctx.systemId));
    return cancelled > 0 ? S.ESME_ROK : S.ESME_RCANCELFAIL;
  }

  async replaceSm(req: PduOf<'replace_sm'>, ctx: SessionContext): Promise<Reply> {
    plainSource(req);
    const m = await this.#owned(ctx, req.messageId, req.sourceAddr);
    if (m === undefined) return S.ESME_RREPLACEFAIL;
    const now = this.#o.clock.now();
    const payload = req.tlvs.messagePayload;
    if (payload !== undefined && req.shortMessage.length > 0) return S.ESME_RINVMSGLEN;
    if ((req.registeredDelivery & 0xe0) !== 0) return S.ESME_RINVREGDLVFLG;
    if (req.smDefaultMsgId !== 0) return S.ESME_RINVDFTMSGID;
    let scheduleAt: number | undefined;
    let expiresAt: number | undefined;
    try {
      const s = parseSmppTime(req.scheduleDeliveryTime, now);
      if (s !== null) scheduleAt = Math.max(now, s.date.getTime());
    } catch (err) {
      if (err instanceof SmppTimeError) return S.ESME_RINVSCHED;
      throw err;
    }
    try {
      const v = parseSmppTime(req.validityPeriod, now);
      if (v !== null) expiresAt = v.date.getTime();
    } catch (err) {
      if (err instanceof SmppTimeError) return S.ESME_RINVEXPIRY;
      throw err;
    }
    if (expiresAt !== undefined && expiresAt <= now) return S.ESME_RINVEXPIRY;
    // The account's validity policy, as for a submit: capped from when the message may go, and
    // never ending before it may go.
    const account = this.#o.account(ctx.systemId);
    if (scheduleAt !== undefined && account !== undefined && scheduleAt > now + account.maxValiditySeconds * 1000) return S.ESME_RINVSCHED;
    // [ref §6.6] a datagram or a transaction is never scheduled, by its submit or by a replace.
    if (scheduleAt !== undefined && isSingleAttempt(m)) return S.ESME_RINVSCHED;
    // A submit_multi's id: every destination still pending gets the new content, each checked
    // against its own times (earlier replaces may have left them apart from the first's).
    const all = await this.#members(m);
    const members = all.length === 1 ? all : all.filter((x) => isPendingState(x.state));
    const changesOf = new Map<StoredMessage, ReplaceChanges>();
    for (const x of members) {
      const goesAt = scheduleAt ?? x.scheduleAt;
      const capped = expiresAt !== undefined && account !== undefined ? Math.min(expiresAt, goesAt + account.maxValiditySeconds * 1000) : expiresAt;
      // A datagram's wait runs from its submit: a replace may shorten it, never lengthen it.
      const ends = capped === undefined ? undefined : isDatagram(x) ? Math.min(capped, x.expiresAt) : capped;
      if (goesAt >= (ends ?? x.expiresAt)) return S.ESME_RINVSCHED;
      changesOf.set(x, {
        payload: Buffer.from(payload ?? req.shortMessage),
        payloadInTlv: payload !== undefined,
        registeredDelivery: req.registeredDelivery,
        ...(scheduleAt !== undefined ? { scheduleAt } : {}),
        ...(ends !== undefined ? { expiresAt: ends } : {}),
      });
    }
    let replaced = 0;
    for (const [member, changes] of changesOf) {
      const updated = await this.#unsentChange(member.id, (heldBy) => this.#o.store.replace(member.id, changes, now, heldBy));
      if (updated === undefined) continue;
      replaced++;
      this.#o.onStored?.(updated.target);
    }
    return replaced > 0 ? S.ESME_ROK : S.ESME_RREPLACEFAIL;
  }
}

