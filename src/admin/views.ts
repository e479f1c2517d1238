/**
 * JSON views of sessions and stored messages for the admin API (Buffers as hex, text decoded).
 */
import type { SessionContext } from '../server/server.js';
import type { Session } from '../session/session.js';
import { decodeText } from '../sm/encoding.js';
import { parseUdh } from '../sm/udh.js';
import type { MessageEvent, StoredMessage } from '../store/types.js';

/** esm_class UDHI: the user data starts with a UDH. [SMPP34 §5.2.12] */
const UDHI = 0x40;

/** A session as GET /api/sessions shows it. */
export interface SessionView {
  id: string;
  state: string;
  systemId: string | null;
  bindType: string | null;
  interfaceVersion: number;
  remoteAddress: string | null;
  remotePort: number | null;
  windowSize: number;
  outstanding: number;
  windowUse: number;
  inflight: number;
  /** Requests received / sent since the session opened. */
  requestsIn: number;
  requestsOut: number;
  /** Requests per second, in and out, between the two latest views of this session (0 at first). */
  inPerSec: number;
  outPerSec: number;
}

/** The previous view of each session, for its throughput. */
const samples = new WeakMap<Session, { at: number; in: number; out: number; inPerSec: number; outPerSec: number }>();

/** Requests per second since the last sample taken at least a second ago. */
function throughput(s: Session, now: number): { inPerSec: number; outPerSec: number } {
  const prev = samples.get(s);
  if (prev === undefined) {
    samples.set(s, { at: now, in: s.requestsIn, out: s.requestsOut, inPerSec: 0, outPerSec: 0 });
    return { inPerSec: 0, outPerSec: 0 };
  }
  const secs = (now - prev.at) / 1000;
  if (secs < 1) return { inPerSec: prev.inPerSec, outPerSec: prev.outPerSec };
  const next = {
    at: now,
    in: s.requestsIn,
    out: s.requestsOut,
    inPerSec: Math.round((s.requestsIn - prev.in) / secs),
    outPerSec: Math.round((s.requestsOut - prev.out) / secs),
  };
  samples.set(s, next);
  return { inPerSec: next.inPerSec, outPerSec: next.outPerSec };
}

/** The view of one listener session; `now` (ms) times its throughput. */
export function sessionView(s: Session, now: number = Date.now()): SessionView {
  const ctx = s.context as SessionContext | undefined;
  return {
    id: s.id,
    state: s.state,
    systemId: ctx?.systemId ?? null,
    bindType: ctx?.bindType ?? null,
    interfaceVersion: s.interfaceVersion,
    remoteAddress: s.remoteAddress ?? null,
    remotePort: s.remotePort ?? null,
    windowSize: s.windowSize,
    outstanding: s.outstanding,
    windowUse: s.windowSize > 0 ? Math.min(1, s.outstanding / s.windowSize) : 0,
    inflight: s.inflight,
    requestsIn: s.requestsIn,
    requestsOut: s.requestsOut,
    ...throughput(s, now),
  };
}

/** A stored message as the API shows it. */
export type MessageView = Omit<StoredMessage, 'payload' | 'tlvs'> & {
  payloadLength: number;
  payload?: string;
  text?: string;
  tlvs?: string | null;
};

/** The characters of text a search result carries (a message may be 64 kB). */
export const BRIEF_TEXT_CHARS = 160;

/** The text of a message's user data: the UDH (when esm_class says there is one) skipped. */
export function messageText(m: Pick<StoredMessage, 'payload' | 'esmClass' | 'dataCoding'>): string {
  let bytes = m.payload;
  if ((m.esmClass & UDHI) !== 0) {
    const udh = parseUdh(bytes);
    if (udh !== undefined) bytes = bytes.subarray(udh.length);
  }
  return decodeText(bytes, m.dataCoding);
}

/**
 * The view of a stored message; `hideContent` leaves the user data out. `brief` (a search
 * result) leaves out the payload and the TLVs and cuts the text to {@link BRIEF_TEXT_CHARS}: a
 * page of a thousand messages of 64 kB each would be hundreds of MB, made on the main thread.
 */
export function messageView(m: StoredMessage, hideContent: boolean, brief = false): MessageView {
  const { payload, tlvs, ...rest } = m;
  const view: MessageView = { ...rest, payloadLength: payload.length };
  if (!brief) view.tlvs = tlvs === null ? null : tlvs.toString('hex');
  if (!hideContent) {
    if (!brief) view.payload = payload.toString('hex');
    const text = brief ? messageText({ ...m, payload: payload.subarray(0, BRIEF_TEXT_CHARS * 4 + 256) }) : messageText(m);
    view.text = brief && text.length > BRIEF_TEXT_CHARS ? `${text.slice(0, BRIEF_TEXT_CHARS)}…` : text;
  }
  return view;
}

/** A lifecycle event without the message id (the message is the context). */
export function eventView(e: MessageEvent): { at: number; kind: string; detail: string } {
  return { at: e.at, kind: e.kind, detail: e.detail };
}
