/**
 * Field validation of message submissions, with the statuses of the reference §9.3 cases
 * 37-42 and §5. Returns a command_status (non-zero) or the normalised times.
 */
import { CommandStatus, EsmClass } from '../pdu/constants.js';
import type { Tlvs } from '../pdu/types.js';
import { parseSmppTime, SmppTimeError } from '../sm/time.js';
import { isSingleAttempt, isTransaction } from '../store/receipts.js';

const S = CommandStatus;

/** Data codings we accept ([ref §5.4]): the defined ones and the GSM class/MWI groups. */
export function isSupportedDataCoding(dc: number): boolean {
  return dc <= 0x0e || dc >= 0xc0;
}

/** TON values 0-6 ([ref §5.5]). */
export function isValidTon(ton: number): boolean {
  return ton <= 6;
}

/** NPI values of [ref §5.5]. */
export function isValidNpi(npi: number): boolean {
  return npi === 0 || npi === 1 || npi === 3 || npi === 4 || npi === 6 || npi === 8 || npi === 9 || npi === 10 || npi === 14 || npi === 18;
}

/** The validity/schedule policy of the submitting account. */
export interface TimePolicy {
  defaultValiditySeconds: number;
  maxValiditySeconds: number;
}

export interface SubmitFields {
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  esmClass: number;
  registeredDelivery: number;
  dataCoding: number;
  priorityFlag?: number;
  replaceIfPresentFlag?: number;
  smDefaultMsgId?: number;
  scheduleDeliveryTime?: string;
  validityPeriod?: string;
  shortMessage?: Buffer;
  tlvs: Tlvs;
}

export interface Accepted {
  scheduleAt: number;
  expiresAt: number;
  payload: Buffer;
  payloadInTlv: boolean;
}

/** An international E.164 number: digits, a leading + tolerated (as many ESMEs send it). */
const INTERNATIONAL_NUMBER = /^\+?[0-9]+$/;

const PLUS_NUMBER = /^\+[0-9]+$/;

/**
 * A number an ESME wrote with a leading + (TON unknown or international), as many write
 * international numbers: the address it is stored, routed, owned and matched as (the digits,
 * TON international), or undefined when `addr` is not one. With the +, no route prefix and no
 * account's address matched it.
 */
export function withoutPlus(ton: number, addr: string): { ton: number; addr: string } | undefined {
  if (addr.charCodeAt(0) !== 0x2b || (ton !== 0 && ton !== 1) || !PLUS_NUMBER.test(addr)) return undefined;
  return { ton: 1, addr: addr.slice(1) };
}

/**
 * Destination address checks ([ref §9.3 case 42]). A number said international E.164 (TON 1,
 * NPI 1) must be one: digits only.
 */
export function checkDestination(ton: number, npi: number, addr: string): number {
  if (addr === '') return S.ESME_RINVDSTADR;
  if (!isValidTon(ton)) return S.ESME_RINVDSTTON;
  if (!isValidNpi(npi)) return S.ESME_RINVDSTNPI;
  if (ton === 1 && npi === 1 && !INTERNATIONAL_NUMBER.test(addr)) return S.ESME_RINVDSTADR;
  return S.ESME_ROK;
}

/**
 * Validates the fields common to submit_sm, submit_multi and data_sm.
 * `v5` selects the 5.0 status set (ESME_RINVDCS); 3.4 sessions get ESME_RSUBMITFAIL instead.
 */
export function validateSubmit(f: SubmitFields, now: number, policy: TimePolicy, v5: boolean): number | Accepted {
  if (!isValidTon(f.sourceAddrTon)) return S.ESME_RINVSRCTON;
  if (!isValidNpi(f.sourceAddrNpi)) return S.ESME_RINVSRCNPI;
  if (f.priorityFlag !== undefined && f.priorityFlag > 3) return S.ESME_RINVPRTFLG; // [ref §5.3] 0-3 (4 is broadcast_sm's only)
  if (f.replaceIfPresentFlag !== undefined && f.replaceIfPresentFlag > 1) return S.ESME_RINVREPFLAG;
  // [ref §5.1] message types other than normal, and the 0x04/0x20 types an ESME may not submit.
  const type = f.esmClass & EsmClass.TypeMask;
  if (type !== 0 && type !== EsmClass.TypeDeliveryAck && type !== EsmClass.TypeUserAck && type !== EsmClass.TypeConversationAbort) {
    return S.ESME_RINVESMCLASS;
  }
  if ((f.registeredDelivery & 0xe0) !== 0) return S.ESME_RINVREGDLVFLG; // reserved bits 7-5
  if (!isSupportedDataCoding(f.dataCoding)) return v5 ? S.ESME_RINVDCS : S.ESME_RSUBMITFAIL;
  if (f.smDefaultMsgId !== undefined && f.smDefaultMsgId !== 0) return S.ESME_RINVDFTMSGID;
  // [ref §4.2] sar_total_segments and sar_segment_seqnum are 1-255, a part within its total.
  const { sarTotalSegments: total, sarSegmentSeqnum: seq } = f.tlvs;
  if (total === 0 || seq === 0 || (total !== undefined && seq !== undefined && seq > total)) return S.ESME_RINVTLVVAL;

  const sm = f.shortMessage;
  const payload = f.tlvs.messagePayload;
  // [ref §4.4] either short_message or message_payload, never both (our documented choice).
  if (payload !== undefined && sm !== undefined && sm.length > 0) return S.ESME_RINVMSGLEN;
  // [ref §0] short_message is at most 254 octets before 5.0 (255 there): a 3.4 receiver
  // could refuse the deliver_sm carrying it.
  if (!v5 && sm !== undefined && sm.length > 254) return S.ESME_RINVMSGLEN;

  // [ref §6.6] datagram and transaction modes: one attempt at once, nothing scheduled.
  if (isSingleAttempt(f) && (f.scheduleDeliveryTime ?? '') !== '') return S.ESME_RINVSCHED;
  // A transaction's response reports its own attempt; a replaced message may have had others.
  if (isTransaction(f) && f.replaceIfPresentFlag === 1) return S.ESME_RINVREPFLAG;
  let scheduleAt = now;
  try {
    const sched = parseSmppTime(f.scheduleDeliveryTime ?? '', now);
    if (sched !== null) scheduleAt = Math.max(now, sched.date.getTime());
  } catch (err) {
    if (err instanceof SmppTimeError) return S.ESME_RINVSCHED;
    throw err;
  }
  // Never later than the longest validity from now: no message is parked for a century.
  if (scheduleAt > now + policy.maxValiditySeconds * 1000) return S.ESME_RINVSCHED;
  // The default validity and the cap count from when the message may first go: a message
  // scheduled for later than the default validity is not refused for it.
  let expiresAt = scheduleAt + policy.defaultValiditySeconds * 1000;
  try {
    // Parsed even when qos_time_to_live overrides it [ref §2.3]: a malformed one is refused.
    const validity = parseSmppTime(f.validityPeriod ?? '', now);
    const ttl = f.tlvs.qosTimeToLive;
    if (ttl !== undefined) expiresAt = now + ttl * 1000;
    else if (validity !== null) expiresAt = validity.date.getTime();
  } catch (err) {
    if (err instanceof SmppTimeError) return S.ESME_RINVEXPIRY;
    throw err;
  }
  if (expiresAt <= now) return S.ESME_RINVEXPIRY;
  expiresAt = Math.min(expiresAt, scheduleAt + policy.maxValiditySeconds * 1000);
  if (scheduleAt >= expiresAt) return S.ESME_RINVSCHED;
  return {
    scheduleAt,
    expiresAt,
    payload: payload ?? sm ?? Buffer.alloc(0),
    payloadInTlv: payload !== undefined,
  };
}
