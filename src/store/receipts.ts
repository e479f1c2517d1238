/**
 * Delivery receipts ([ref §7]): when one is owed, and the stored receipt message itself.
 * A receipt is a stored message like any other (direction 'receipt'): it waits for the origin
 * account to bind a receiver or transceiver, until its own validity ends.
 */
import { EsmClass, RegisteredDelivery, MessageState as WireState } from '../pdu/constants.js';
import { encodeTlvs } from '../pdu/encode.js';
import { formatReceipt, statOf } from '../sm/dlr.js';
import { decodeText } from '../sm/encoding.js';
import { isPendingState, type MessageStateName, type NewMessage, type StoredMessage } from './types.js';

/** Wire message_state of a store state. */
export function wireStateOf(state: MessageStateName): number {
  return WireState[state];
}

/** True when registered_delivery asks for a receipt on this final state ([ref §7.5]). */
export function receiptWanted(registeredDelivery: number, state: MessageStateName): boolean {
  const mode = registeredDelivery & RegisteredDelivery.ReceiptMask;
  if (mode === RegisteredDelivery.ReceiptNone) return false;
  const delivered = state === 'DELIVERED';
  if (mode === RegisteredDelivery.ReceiptAlways) return true;
  if (mode === RegisteredDelivery.ReceiptOnFailure) return !delivered;
  return delivered; // 0b11: success only (5.0; we apply it to 3.4 too)
}

/** Receipts live this long when nobody binds to take them. */
export const RECEIPT_VALIDITY_MS = 72 * 3600 * 1000;

/**
 * The id of the final receipt of message `messageId`. A message ends once, so it owes at most
 * one final receipt, and an id made from its own (unique) id needs no generator: the store can
 * make the receipt inside the transaction that ends the message (expiry, a destination refused,
 * an upstream's verdict), and an insert tried twice cannot make two.
 */
export function finalReceiptId(messageId: string): string {
  return `${messageId}.dlr`;
}

/**
 * The final receipts owed by `ended`, messages that all reached `state` at `at` (expired,
 * refused at their destination, given a verdict upstream), made by node `nodeId`. An expired
 * message's receipt carries its own last error (why its attempts failed), not `errorCode`.
 */
export function finalReceipts(
  ended: readonly StoredMessage[],
  state: MessageStateName,
  at: number,
  errorCode: number,
  nodeId: string,
): NewMessage[] {
  const out: NewMessage[] = [];
  for (const m of ended) {
    if (!finalReceiptOwed(m, state)) continue;
    out.push(makeReceipt(m, state, at, state === 'EXPIRED' ? m.errorCode : errorCode, finalReceiptId(m.id), nodeId));
  }
  return out;
}

/**
 * True when `m` owes a final receipt for ending in `state`: an MT message that asked for one,
 * not sent in datagram mode ([ref §6.6]: no receipts) nor in transaction mode (its submit's
 * response carries the outcome; a failed one has no message id a receipt could name).
 */
export function finalReceiptOwed(m: StoredMessage, state: MessageStateName): boolean {
  return m.direction === 'mt' && !isSingleAttempt(m) && receiptWanted(m.registeredDelivery, state);
}

/**
 * True for a message submitted in datagram mode (esm_class bits 1-0 = 01) or transaction mode
 * (10): one attempt, no retry, no schedule, no receipts. [ref §6.6]
 */
export function isSingleAttempt(m: Pick<StoredMessage, 'esmClass'>): boolean {
  return isDatagram(m) || isTransaction(m);
}

/** True for a message submitted in datagram mode: it waits for its destination only briefly. */
export function isDatagram(m: Pick<StoredMessage, 'esmClass'>): boolean {
  return (m.esmClass & EsmClass.ModeMask) === EsmClass.ModeDatagram;
}

/** True for a message submitted in transaction mode: its submit is answered once its one attempt has an outcome. */
export function isTransaction(m: Pick<StoredMessage, 'esmClass'>): boolean {
  return (m.esmClass & EsmClass.ModeMask) === EsmClass.ModeForward;
}

/**
 * Where a single-attempt message stands for a submit waiting in transaction mode: `accepted`
 * once delivered, or once its attempt left it pending, which for such a message means a next
 * hop took it (an upstream SMSC, with or without giving its id; a temporary failure ends it);
 * `failed` once it ended otherwise; `waiting` until its attempt (a destination not bound is
 * not an attempt).
 */
export function transactionOutcome(m: Pick<StoredMessage, 'state' | 'attempts' | 'remoteId'>): 'accepted' | 'failed' | 'waiting' {
  if (m.state === 'DELIVERED') return 'accepted';
  if (!isPendingState(m.state)) return 'failed';
  return m.attempts > 0 || m.remoteId !== null ? 'accepted' : 'waiting';
}

/** The target of the receipts owed to `account` (its ESME sessions). */
export function receiptTarget(account: string): string {
  return `esme:${account}`;
}

/** The first 20 characters of the original text, ASCII only (receipts travel as data_coding 0). */
function excerpt(m: StoredMessage): string {
  let text: string;
  try {
    // A user data header (esm_class UDHI) is not text: the excerpt starts after it.
    const udh = (m.esmClass & EsmClass.Udhi) !== 0 && m.payload.length > 0 ? m.payload[0]! + 1 : 0;
    text = decodeText(m.payload.subarray(Math.min(udh, m.payload.length)), m.dataCoding);
  } catch {
    text = '';
  }
  return text.slice(0, 20).replace(/[^\x20-\x7e]/g, '?');
}

/**
 * The receipt for `m`, which reached final state `state` at `at`. The id reported is the one
 * the ESME got in its submit response (the batch id for submit_multi).
 */
export function makeReceipt(
  m: StoredMessage,
  state: MessageStateName,
  at: number,
  errorCode: number,
  receiptId: string,
  nodeId: string,
  intermediate = false,
): NewMessage {
  const reportedId = m.batchId ?? m.id;
  const text = formatReceipt({
    id: reportedId,
    sub: 1,
    dlvrd: state === 'DELIVERED' ? 1 : 0,
    submitDate: new Date(m.submittedAt),
    doneDate: new Date(at),
    stat: statOf(wireStateOf(state)),
    err: Math.min(errorCode, 999),
    text: excerpt(m),
  });
  const tlvs = encodeTlvs({
    receiptedMessageId: reportedId,
    messageState: wireStateOf(state),
    ...(errorCode !== 0 ? { networkErrorCode: { networkType: 3, errorCode: errorCode & 0xffff } } : {}),
  });
  return {
    id: receiptId,
    direction: 'receipt',
    account: m.account,
    target: receiptTarget(m.account),
    batchId: null,
    source: m.destination,
    destination: m.source,
    serviceType: '',
    // [ref §5.1] 0x20 intermediate delivery notification, 0x04 final receipt.
    esmClass: intermediate ? EsmClass.TypeIntermediateNotification : EsmClass.TypeDeliveryReceipt,
    protocolId: 0,
    priority: 0,
    dataCoding: 0,
    registeredDelivery: 0,
    payload: Buffer.from(text, 'latin1'),
    payloadInTlv: false,
    tlvs,
    submittedAt: at,
    scheduleAt: at,
    expiresAt: at + RECEIPT_VALIDITY_MS,
    receiptFor: m.id,
    originNode: nodeId,
    originSession: null,
    lease: undefined,
  };
}
