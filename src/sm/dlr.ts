/**
 * Delivery receipt text (de facto format from the SMPP 3.4 appendix). [ref §7.2-7.4]
 *
 * `id:{ID} sub:{SSS} dlvrd:{DDD} submit date:{YYMMDDhhmm} done date:{YYMMDDhhmm} stat:{STATUS} err:{EEE} text:{...}`
 */
import { MessageState } from '../pdu/constants.js';

/** The 7-letter `stat` texts, by message_state. [ref §5.7] */
export const StatText = {
  ENROUTE: 'ENROUTE',
  DELIVERED: 'DELIVRD',
  EXPIRED: 'EXPIRED',
  DELETED: 'DELETED',
  UNDELIVERABLE: 'UNDELIV',
  ACCEPTED: 'ACCEPTD',
  UNKNOWN: 'UNKNOWN',
  REJECTED: 'REJECTD',
  SKIPPED: 'SKIPPED',
} as const;
export type StatText = (typeof StatText)[keyof typeof StatText];

// [ref §5.7] SCHEDULED (0) has no text; 3.4 SMSCs report it as ENROUTE.
const statByState: readonly StatText[] = [
  StatText.ENROUTE,
  StatText.ENROUTE,
  StatText.DELIVERED,
  StatText.EXPIRED,
  StatText.DELETED,
  StatText.UNDELIVERABLE,
  StatText.ACCEPTED,
  StatText.UNKNOWN,
  StatText.REJECTED,
  StatText.SKIPPED,
];

// Upper-case stat text -> message_state. Besides ours, spellings seen from other SMSCs
// (Kannel's BUFFRED/BUFFERD/ACKED are intermediate states there). [ref §7.3]
const stateByStat = new Map<string, number>([
  [StatText.ENROUTE, MessageState.ENROUTE],
  [StatText.DELIVERED, MessageState.DELIVERED],
  [StatText.EXPIRED, MessageState.EXPIRED],
  [StatText.DELETED, MessageState.DELETED],
  [StatText.UNDELIVERABLE, MessageState.UNDELIVERABLE],
  [StatText.ACCEPTED, MessageState.ACCEPTED],
  [StatText.UNKNOWN, MessageState.UNKNOWN],
  [StatText.REJECTED, MessageState.REJECTED],
  [StatText.SKIPPED, MessageState.SKIPPED],
  ['SCHEDULED', MessageState.SCHEDULED],
  ['DELIVERED', MessageState.DELIVERED],
  ['UNDELIVERABLE', MessageState.UNDELIVERABLE],
  ['ACCEPTED', MessageState.ACCEPTED],
  ['REJECTED', MessageState.REJECTED],
  ['BUFFRED', MessageState.ENROUTE],
  ['BUFFERD', MessageState.ENROUTE],
  // Kannel's and others' "taken by the next hop": buffered, not final. [ref §7.3]
  ['ACKED', MessageState.ENROUTE],
]);

/** The DLR `stat` text of a message_state; `UNKNOWN` for values outside 0-9. [ref §5.7] */
export function statOf(messageState: number): StatText {
  return statByState[messageState] ?? StatText.UNKNOWN;
}

/** The message_state of a DLR `stat` text (case-insensitive), or undefined if unknown. */
export function messageStateOfStat(stat: string): number | undefined {
  return stateByStat.get(stat.toUpperCase());
}

/** What {@link formatReceipt} writes. */
export interface ReceiptFields {
  /** The message id exactly as returned in submit_sm_resp (no spaces). [ref §7.4] */
  id: string;
  /** Messages submitted, 0-999 (written `%03d`). */
  sub: number;
  /** Messages delivered, 0-999 (written `%03d`). */
  dlvrd: number;
  submitDate: Date;
  doneDate: Date;
  /** 7-letter state, see {@link statOf}. */
  stat: string;
  /** Error code: a number 0-999 (written `%03d`) or up to 3 characters. */
  err: number | string;
  /** The original message text; the first 20 characters are written. */
  text: string;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function counter(name: string, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 999) throw new RangeError(`${name} must be an integer 0..999, got ${n}`);
  return pad(n, 3);
}

/** The minute {@link receiptDate} wrote last, and its text: receipts come many to a minute. */
let lastMinute = Number.NaN;
let lastMinuteText = '';

/** `YYMMDDhhmm` in UTC. */
function receiptDate(name: string, d: Date): string {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new RangeError(`${name} is an invalid date`);
  const minute = Math.floor(t / 60_000);
  if (minute === lastMinute) return lastMinuteText;
  lastMinute = minute;
  lastMinuteText =
    pad(d.getUTCFullYear() % 100, 2) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2);
  return lastMinuteText;
}

/** The first `n` code points of `s` (never half a surrogate pair). */
function firstCodePoints(s: string, n: number): string {
  let i = 0;
  for (let count = 0; count < n && i < s.length; count++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return s.slice(0, i);
}

const WHITESPACE = /\s/;

/**
 * Formats a delivery receipt text exactly as
 * `id:{ID} sub:{SSS} dlvrd:{DDD} submit date:{YYMMDDhhmm} done date:{YYMMDDhhmm} stat:{STAT} err:{EEE} text:{first 20 chars}`.
 * Dates are UTC. `text:` always comes last, so `err:` is space-terminated as Kannel's
 * fallback parser needs. [ref §7.2, §7.3]
 * @throws RangeError for an empty id or one with whitespace, counters outside 0-999, an err
 *   longer than 3 characters, a stat with whitespace, or an invalid date.
 */
export function formatReceipt(r: ReceiptFields): string {
  if (r.id.length === 0 || WHITESPACE.test(r.id)) throw new RangeError('receipt id must be non-empty without whitespace');
  if (r.stat.length === 0 || WHITESPACE.test(r.stat)) throw new RangeError('receipt stat must be non-empty without whitespace');
  const err = typeof r.err === 'number' ? counter('err', r.err) : r.err;
  if (err.length === 0 || err.length > 3 || WHITESPACE.test(err)) throw new RangeError(`receipt err ${JSON.stringify(err)}`);
  return (
    `id:${r.id} sub:${counter('sub', r.sub)} dlvrd:${counter('dlvrd', r.dlvrd)}` +
    ` submit date:${receiptDate('submitDate', r.submitDate)} done date:${receiptDate('doneDate', r.doneDate)}` +
    ` stat:${r.stat} err:${err} text:${firstCodePoints(r.text, 20)}`
  );
}

/** A parsed receipt. Fields other than id and stat are absent when missing or malformed. */
export interface ParsedReceipt {
  /** As written (hex or decimal, leading zeros kept). [ref §7.4] */
  id: string;
  sub?: number;
  dlvrd?: number;
  /** Read as UTC. */
  submitDate?: Date;
  doneDate?: Date;
  /** Upper-cased. */
  stat: string;
  /** message_state for `stat`, when known. */
  messageState?: number;
  err?: string;
  text?: string;
}

type Label = 'id' | 'sub' | 'dlvrd' | 'submitDate' | 'doneDate' | 'stat' | 'err' | 'text';

// A label starts the string or follows whitespace. `submit_date` and `submitdate` are seen too.
const LABEL = /(?<=^|\s)(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:/gi;

function labelOf(raw: string): Label {
  const l = raw.toLowerCase();
  if (l.startsWith('submit')) return 'submitDate';
  if (l.startsWith('done')) return 'doneDate';
  return l as Label;
}

/** `YYMMDDhhmm`, `YYMMDDhhmmss` or `YYYYMMDDhhmmss`, read as UTC; undefined if malformed. */
function parseReceiptDate(s: string): Date | undefined {
  if (!/^(?:\d{10}|\d{12}|\d{14})$/.test(s)) return undefined;
  const long = s.length === 14;
  const year = long ? Number(s.slice(0, 4)) : 2000 + Number(s.slice(0, 2));
  const n = (at: number): number => Number(s.slice(at + (long ? 2 : 0), at + (long ? 4 : 2)));
  const month = n(2);
  const day = n(4);
  const hour = n(6);
  const minute = n(8);
  const second = s.length === 10 ? 0 : n(10);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return d.getUTCDate() === day ? d : undefined;
}

function parseCount(s: string): number | undefined {
  return /^\d+$/.test(s) ? Number(s) : undefined;
}

/**
 * Parses a delivery receipt text, tolerating real-world variants: fields in any order,
 * labels in any case (`text:`/`Text:`), dates of 10, 12 or 14 digits, hex or decimal ids,
 * missing fields. `text:` runs to the end of the string unless a field that has not been
 * seen yet follows it. Returns undefined unless both `id` and `stat` are present (as Jasmin
 * requires). [ref §7.3]
 */
export function parseReceipt(receipt: string): ParsedReceipt | undefined {
  const marks: { label: Label; start: number; end: number }[] = [];
  for (const m of receipt.matchAll(LABEL)) {
    marks.push({ label: labelOf(m[1]!), start: m.index, end: m.index + m[0].length });
  }
  const values = new Map<Label, string>();
  for (let i = 0; i < marks.length; i++) {
    const mark = marks[i]!;
    if (values.has(mark.label)) continue; // the first occurrence wins
    let next = i + 1;
    if (mark.label === 'text') {
      // The text is free-form: skip labels inside it unless they name a field still missing.
      while (next < marks.length && (values.has(marks[next]!.label) || marks[next]!.label === 'text')) next++;
      const text = receipt.slice(mark.end, next < marks.length ? marks[next]!.start : receipt.length);
      // Before a following label, drop the whitespace that separates it; at the end keep all.
      values.set('text', next < marks.length ? text.replace(/\s+$/, '') : text);
      i = next - 1;
    } else {
      const stop = next < marks.length ? marks[next]!.start : receipt.length;
      values.set(mark.label, receipt.slice(mark.end, stop).trim().split(/\s+/, 1)[0] ?? '');
    }
  }
  const id = values.get('id');
  const statRaw = values.get('stat');
  if (id === undefined || id.length === 0 || statRaw === undefined || statRaw.length === 0) return undefined;
  const stat = statRaw.toUpperCase();
  const out: ParsedReceipt = { id, stat };
  const messageState = messageStateOfStat(stat);
  if (messageState !== undefined) out.messageState = messageState;
  const sub = parseCount(values.get('sub') ?? '');
  if (sub !== undefined) out.sub = sub;
  const dlvrd = parseCount(values.get('dlvrd') ?? '');
  if (dlvrd !== undefined) out.dlvrd = dlvrd;
  const submitDate = parseReceiptDate(values.get('submitDate') ?? '');
  if (submitDate !== undefined) out.submitDate = submitDate;
  const doneDate = parseReceiptDate(values.get('doneDate') ?? '');
  if (doneDate !== undefined) out.doneDate = doneDate;
  const err = values.get('err');
  if (err !== undefined && err.length > 0) out.err = err;
  const text = values.get('text');
  if (text !== undefined) out.text = text;
  return out;
}
