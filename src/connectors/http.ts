/**
 * The HTTP (webhook) connector: a {@link DeliveryTarget} that POSTs one JSON document per
 * message to a URL.
 *
 * Outcomes: 2xx → delivered; 408 and 429 → retry (the server asks to come back later); 401,
 * 403, 404, 405 and 407 → retry too: they say the connector is wrong (a token rotated, a path
 * moved), not the message, so it waits for the fix or goes to the route's failover connectors;
 * other 4xx (400, 413, 422: this message) → failed UNDELIVERABLE; 5xx, any other status, a
 * timeout or a connection error → retry. The error code recorded is the HTTP status (0 for
 * timeouts and connection errors). A 429 or 503 with Retry-After pauses the connector that long
 * (at most 5 minutes). Why requests are retried is logged (`onFailure`): a new
 * reason at once, the same one at most once a minute.
 * Redirects are not followed (fetch would turn the POST into a GET without its body, or carry
 * the headers to another host): a 3xx is retried, and the config should name the final URL.
 * Of a response's body at most 64 kB is read.
 *
 * ```yaml
 * connectors:
 *   hook: { type: http, url: "https://example.com/sms", timeoutMs: 10000, concurrency: 16,
 *           headers: { authorization: "Bearer ..." } }
 * ```
 *
 * The body ({@link HttpMessageBody}):
 * `{ id, account, direction, from: {addr, ton, npi}, to: {addr, ton, npi}, serviceType,
 *    esmClass, protocolId, priority, dataCoding, text, payload (hex), udh (hex, when esm_class
 *    has UDHI), concat ({ref, total, seq}: a part of a long message, from its UDH or SAR TLVs),
 *    tlvs (the message's TLVs by name, octets as hex), registeredDelivery, submittedAt and
 *    expiresAt (ISO 8601), attempt }`.
 */

import type { DeliveryTarget, Outcome } from '../delivery/target.js';
import { decodeTlvs } from '../pdu/decode.js';
import type { Tlvs } from '../pdu/types.js';
import { ConfigKeyError, checkKeys, isObj, mapping, num } from '../routing/validate.js';
import type { Clock } from '../session/clock.js';
import { systemClock } from '../session/clock.js';
import { decodeText } from '../sm/encoding.js';
import { concatInfoOfUdh, parseUdh } from '../sm/udh.js';
import type { Address, StoredMessage } from '../store/types.js';

const UDHI = 0x40;

/** The JSON document POSTed per message. */
export interface HttpMessageBody {
  id: string;
  account: string;
  direction: string;
  from: Address;
  to: Address;
  serviceType: string;
  esmClass: number;
  protocolId: number;
  priority: number;
  dataCoding: number;
  /** The user data decoded with data_coding (without the UDH); binary codings read as Latin-1. */
  text: string;
  /** The whole user data (UDH included), hex. */
  payload: string;
  /** The UDH, hex, when esm_class has the UDHI bit. */
  udh?: string;
  /** A part of a long message: its concatenation reference, parts and place (from the UDH or the SAR TLVs). */
  concat?: { ref: number; total: number; seq: number };
  /** The message's TLVs (as submitted), by name; octet values hex; unknown tags under `unknown` as `{ tag, value }`. */
  tlvs?: Record<string, unknown>;
  registeredDelivery: number;
  /** ISO 8601 (UTC). */
  submittedAt: string;
  /** The end of the validity period, ISO 8601 (UTC). */
  expiresAt: string;
  /** 1 for the first attempt. */
  attempt: number;
}

/** The JSON body for a message. */
export function httpBody(m: StoredMessage): HttpMessageBody {
  let userData = m.payload;
  let udh: Buffer | undefined;
  if ((m.esmClass & UDHI) !== 0 && m.payload.length > 0 && m.payload[0]! + 1 <= m.payload.length) {
    udh = m.payload.subarray(0, m.payload[0]! + 1);
    userData = m.payload.subarray(udh.length);
  }
  let text: string;
  try {
    text = decodeText(userData, m.dataCoding);
  } catch {
    text = userData.toString('latin1');
  }
  const tlvs = tlvsOf(m);
  const udhConcat = udh === undefined ? undefined : concatOf(udh);
  const concat = udhConcat ?? sarOf(tlvs);
  return {
    id: m.id,
    account: m.account,
    direction: m.direction,
    from: { addr: m.source.addr, ton: m.source.ton, npi: m.source.npi },
    to: { addr: m.destination.addr, ton: m.destination.ton, npi: m.destination.npi },
    serviceType: m.serviceType,
    esmClass: m.esmClass,
    protocolId: m.protocolId,
    priority: m.priority,
    dataCoding: m.dataCoding,
    text,
    payload: m.payload.toString('hex'),
    ...(udh !== undefined ? { udh: udh.toString('hex') } : {}),
    ...(concat !== undefined ? { concat } : {}),
    ...(tlvs !== undefined ? { tlvs: jsonOf(tlvs) as Record<string, unknown> } : {}),
    registeredDelivery: m.registeredDelivery,
    submittedAt: new Date(m.submittedAt).toISOString(),
    expiresAt: new Date(m.expiresAt).toISOString(),
    attempt: m.attempts + 1,
  };
}

/** The message's stored TLVs, decoded; undefined when it has none (or they do not decode). */
function tlvsOf(m: StoredMessage): Tlvs | undefined {
  if (m.tlvs === null || m.tlvs.length === 0) return undefined;
  try {
    return decodeTlvs(m.tlvs);
  } catch {
    return undefined;
  }
}

/** The concatenation of a UDH (IE 0x00 or 0x08), if it has one. */
function concatOf(udh: Buffer): HttpMessageBody['concat'] {
  const parsed = parseUdh(udh);
  const info = parsed === undefined ? undefined : concatInfoOfUdh(parsed);
  return info === undefined ? undefined : { ref: info.ref, total: info.total, seq: info.seq };
}

/** The concatenation the SAR TLVs describe, if they are all there. */
function sarOf(tlvs: Tlvs | undefined): HttpMessageBody['concat'] {
  const ref = tlvs?.sarMsgRefNum;
  const total = tlvs?.sarTotalSegments;
  const seq = tlvs?.sarSegmentSeqnum;
  return ref === undefined || total === undefined || seq === undefined ? undefined : { ref, total, seq };
}

/** A decoded value as JSON: octets as hex, raw TLVs as `{ tag, value }`, the rest as it is. */
function jsonOf(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (Array.isArray(v)) return v.map(jsonOf);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = k === 'tag' && typeof x === 'number' ? `0x${x.toString(16).padStart(4, '0')}` : jsonOf(x);
    return out;
  }
  return v;
}

/** 4xx statuses that say the connector (its credentials, its URL) is wrong, not the message. */
const CONNECTOR_FAULTS: ReadonlySet<number> = new Set([401, 403, 404, 405, 407]);

/** Outcome of an HTTP response status. */
export function outcomeOfStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 408 || status === 429 || CONNECTOR_FAULTS.has(status)) return { kind: 'retry', errorCode: status };
  if (status >= 400 && status < 500) return { kind: 'failed', state: 'UNDELIVERABLE', errorCode: status };
  return { kind: 'retry', errorCode: status };
}

/** Options of the HTTP connector. */
export interface HttpTargetConfig {
  url: string;
  /** Whole request (connect, send, response and body), ms. Default 10000. */
  timeoutMs?: number;
  /** Requests in flight at once. Default 16. */
  concurrency?: number;
  /** Extra request headers (content-type defaults to application/json). */
  headers?: Record<string, string>;
}

export interface HttpTargetOptions extends HttpTargetConfig {
  clock?: Clock;
  /**
   * Told why a request will be retried (a status asking for it, a timeout, a connection
   * error): a new reason at once, the same one again at most once a minute.
   */
  onFailure?: (why: string) => void;
  /** Called when a pause asked by Retry-After ends (the scheduler looks for work again). */
  onCapacity?: () => void;
  /** Injectable fetch (default the global one). */
  fetch?: typeof fetch;
}

/** Counters. */
export interface HttpTargetStats {
  requests: number;
  delivered: number;
  retried: number;
  failed: number;
  timeouts: number;
  errors: number;
  inflight: number;
}

export class HttpTarget implements DeliveryTarget {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #headers: Record<string, string>;
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  readonly #onFailure: ((why: string) => void) | undefined;
  #lastFailure: string | undefined;
  #lastFailureAt = 0;
  readonly #onCapacity: (() => void) | undefined;
  /** Nothing is sent before this (a 429 or 503 asked so with Retry-After). */
  #pausedUntil = 0;
  #resumeTimer: { cancel(): void } | undefined;
  readonly stats: HttpTargetStats = { requests: 0, delivered: 0, retried: 0, failed: 0, timeouts: 0, errors: 0, inflight: 0 };

  constructor(options: HttpTargetOptions) {
    const url = new URL(options.url); // throws on a malformed URL
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`url must be http or https, got ${url.protocol}`);
    this.#url = url.href;
    this.#timeoutMs = options.timeoutMs ?? HTTP_TIMEOUT_MS;
    this.#concurrency = options.concurrency ?? 16;
    const headers = options.headers ?? {};
    const ownType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    this.#headers = ownType ? { ...headers } : { 'content-type': 'application/json', ...headers };
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? fetch;
    this.#onFailure = options.onFailure;
    this.#onCapacity = options.onCapacity;
  }

  /**
   * A 429 or 503 with Retry-After (seconds, or an HTTP date): nothing more is sent until then
   * (at most MAX_RETRY_AFTER_MS), as an SMPP upstream's ESME_RTHROTTLED pauses its connector.
   */
  #pauseFor(res: Response): void {
    const header = res.headers.get('retry-after');
    if (header === null || (res.status !== 429 && res.status !== 503)) return;
    const now = this.#clock.now();
    const value = header.trim();
    const until = /^\d+$/.test(value) ? now + Number(value) * 1000 : Date.parse(value);
    if (!Number.isFinite(until) || until <= now) return;
    const pause = Math.min(until - now, MAX_RETRY_AFTER_MS);
    if (now + pause <= this.#pausedUntil) return;
    this.#pausedUntil = now + pause;
    this.#resumeTimer?.cancel();
    this.#resumeTimer = this.#clock.setTimer(() => {
      this.#resumeTimer = undefined;
      this.#onCapacity?.();
    }, pause);
  }

  /** Tells onFailure why a request did not deliver: a new reason at once, the same one again at most once a minute. */
  #failure(why: string): void {
    const now = this.#clock.now();
    if (why === this.#lastFailure && now - this.#lastFailureAt < FAILURE_REPEAT_MS) return;
    this.#lastFailure = why;
    this.#lastFailureAt = now;
    try {
      this.#onFailure?.(why);
    } catch {
      // The listener's bug; the delivery goes on.
    }
  }

  capacity(): number {
    if (this.#clock.now() < this.#pausedUntil) return 0;
    return Math.max(0, this.#concurrency - this.stats.inflight);
  }

  async deliver(m: StoredMessage): Promise<Outcome> {
    if (this.stats.inflight >= this.#concurrency || this.#clock.now() < this.#pausedUntil) return { kind: 'unavailable' };
    this.stats.inflight++;
    this.stats.requests++;
    const abort = new AbortController();
    let timedOut = false;
    const timer = this.#clock.setTimer(() => {
      timedOut = true;
      abort.abort();
    }, this.#timeoutMs);
    let outcome: Outcome;
    try {
      const res = await this.#fetch(this.#url, {
        method: 'POST',
        headers: this.#headers,
        body: JSON.stringify(httpBody(m)),
        redirect: 'manual',
        signal: abort.signal,
      });
      // The status decides (a 2xx is delivered, whatever its body does next). The body is then
      // read, so the connection can be reused; a body that stalls past the timeout is cut, and
      // costs nothing but its connection (a 2xx counted as a failure would be sent again).
      outcome = outcomeOfStatus(res.status);
      // A message the endpoint refuses (400, 422) is the message's failure, in its state.
      if (outcome.kind === 'retry') {
        this.#pauseFor(res);
        const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
        this.#failure(`HTTP ${res.status}${location !== null ? ` (to ${location}: redirects are not followed, give the final URL)` : ''}`);
      }
      await discardBody(res, MAX_RESPONSE_BYTES).catch(() => {});
    } catch (err) {
      if (timedOut) this.stats.timeouts++;
      else this.stats.errors++;
      this.#failure(timedOut ? `no answer within ${this.#timeoutMs} ms` : requestError(err));
      outcome = { kind: 'retry', errorCode: 0 };
    } finally {
      timer.cancel();
      this.stats.inflight--;
    }
    if (outcome.kind === 'delivered') this.stats.delivered++;
    else if (outcome.kind === 'retry') this.stats.retried++;
    else this.stats.failed++;
    return outcome;
  }
}

/** Why fetch failed, in one line (its own message is only 'fetch failed'; the reason is its cause). */
function requestError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return cause !== undefined ? `${cause.message}${typeof code === 'string' && !cause.message.includes(code) ? ` (${code})` : ''}` : err.message;
}

/** Of a response's body, at most this much is read; a longer one is cut (its connection closed). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Reads and drops a response's body, cancelling it past `limit` bytes. */
async function discardBody(res: Response, limit: number): Promise<void> {
  const reader = res.body?.getReader();
  if (reader === undefined) return;
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    read += value.byteLength;
    if (read > limit) {
      await reader.cancel();
      return;
    }
  }
}

/** The longest pause a Retry-After header gets (a day's would strand the queue). */
const MAX_RETRY_AFTER_MS = 300_000;

/** A failure said again (the same reason) at most this often. */
const FAILURE_REPEAT_MS = 60_000;

/** Headers fetch sets itself: given, it refuses every request (expect, upgrade, ...) or replaces them. */
const CLIENT_HEADERS: ReadonlySet<string> = new Set(['connection', 'content-length', 'expect', 'host', 'keep-alive', 'transfer-encoding', 'upgrade']);

/** Ports the Fetch standard blocks (https://fetch.spec.whatwg.org/#port-blocking), as Node's fetch does. */
const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115,
  117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587,
  601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669,
  6679, 6697, 10080,
]);

/** Default `timeoutMs` of an HTTP connector's request. */
export const HTTP_TIMEOUT_MS = 10_000;

/** Validates an http connector's config (`type` is the caller's). @throws ConfigKeyError */
export function parseHttp(raw: unknown, path: string): HttpTargetConfig {
  const o = mapping(raw, path);
  checkKeys(o, path, ['type', 'url', 'timeoutMs', 'concurrency', 'headers']);
  const url = o['url'];
  if (typeof url !== 'string') throw new ConfigKeyError(`${path}.url`, 'is required (a string)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigKeyError(`${path}.url`, 'is not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigKeyError(`${path}.url`, 'must be an http or https URL');
  // fetch refuses these ports on every request ('bad port'): each message would be retried until it expired.
  const port = parsed.port === '' ? undefined : Number(parsed.port);
  if (port !== undefined && FETCH_BAD_PORTS.has(port)) {
    throw new ConfigKeyError(`${path}.url`, `port ${port} is one HTTP clients refuse (the Fetch standard's bad ports): use another`);
  }
  // fetch refuses them on every request: each message would be retried until it expires.
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ConfigKeyError(`${path}.url`, 'must not carry credentials (give them as a header, e.g. headers.authorization)');
  }
  const cfg: HttpTargetConfig = {
    url,
    timeoutMs: num(o['timeoutMs'], `${path}.timeoutMs`, HTTP_TIMEOUT_MS, 1, 3_600_000, true),
    concurrency: num(o['concurrency'], `${path}.concurrency`, 16, 1, 100_000, true),
  };
  const headers = o['headers'];
  if (headers !== undefined) {
    if (!isObj(headers)) throw new ConfigKeyError(`${path}.headers`, 'must be a mapping of header names to strings');
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigKeyError(`${path}.headers.${k}`, 'must be a string');
      if (CLIENT_HEADERS.has(k.toLowerCase())) {
        throw new ConfigKeyError(`${path}.headers.${k}`, 'is set by the HTTP client itself (fetch refuses or replaces it on every request): leave it out');
      }
      try {
        new Headers({ [k]: String(v) });
      } catch {
        throw new ConfigKeyError(`${path}.headers.${k}`, 'is not a valid HTTP header (a name of token characters, a value without line breaks)');
      }
      h[k] = String(v);
    }
    cfg.headers = h;
  }
  return cfg;
}
