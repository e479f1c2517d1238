/**
 * The `body` column of the `messages` table (SQLite schema v5, PostgreSQL schema v6): every
 * field of a message that is written at insert and then only read back whole, packed into one
 * binary value. One column instead of sixteen makes a row much cheaper to insert (see
 * docs/decisions.md). Free of any driver: SQLite's main thread encodes, its worker only binds.
 *
 * Format 1, in this order:
 * - u8 format (1), u8 flags (the `F_*` bits below);
 * - source TON, source NPI, destination TON, destination NPI, esm_class, protocol_id,
 *   data_coding, registered_delivery: one byte each, or each a float64 (little-endian) when
 *   `F_WIDE` is set (some value is not an integer in 0..255: the store does not judge SMPP
 *   ranges, so any number round-trips);
 * - service_type, then batch_id, receipt_for, origin_node, origin_session when their `F_HAS_*`
 *   bit is set (absent means null), then payload, then tlvs when `F_HAS_TLVS` is set: each as
 *   an unsigned LEB128 byte length and the bytes (strings in UTF-8).
 */
import type { MessageBody } from './common.js';

/** The format written by {@link encodeBody}; a later format gets a new number, old ones stay readable. */
export const BODY_FORMAT = 1;

const F_PAYLOAD_IN_TLV = 1;
const F_HAS_TLVS = 2;
const F_HAS_BATCH_ID = 4;
const F_HAS_RECEIPT_FOR = 8;
const F_HAS_ORIGIN_NODE = 16;
const F_HAS_ORIGIN_SESSION = 32;
const F_WIDE = 64;

/** Strings up to this many bytes are read and written char by char (faster than a call into C++). */
const SHORT_TEXT = 32;

function isByte(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 255;
}

/** True when all eight numbers fit a byte each. */
function numbersFitBytes(b: MessageBody): boolean {
  return (
    isByte(b.source.ton) &&
    isByte(b.source.npi) &&
    isByte(b.destination.ton) &&
    isByte(b.destination.npi) &&
    isByte(b.esmClass) &&
    isByte(b.protocolId) &&
    isByte(b.dataCoding) &&
    isByte(b.registeredDelivery)
  );
}

/** Bytes of a length-prefixed field of `length` bytes (unsigned LEB128 prefix). */
function fieldSize(length: number): number {
  let size = length + 1;
  for (let n = length; n >= 0x80; n = Math.floor(n / 0x80)) size++;
  return size;
}

function textSize(s: string | null): number {
  return s === null ? 0 : fieldSize(Buffer.byteLength(s));
}

function flagsOf(b: MessageBody, wide: boolean): number {
  return (
    (b.payloadInTlv ? F_PAYLOAD_IN_TLV : 0) |
    (b.tlvs !== null ? F_HAS_TLVS : 0) |
    (b.batchId !== null ? F_HAS_BATCH_ID : 0) |
    (b.receiptFor !== null ? F_HAS_RECEIPT_FOR : 0) |
    (b.originNode !== null ? F_HAS_ORIGIN_NODE : 0) |
    (b.originSession !== null ? F_HAS_ORIGIN_SESSION : 0) |
    (wide ? F_WIDE : 0)
  );
}

/**
 * Packs the body fields of a message (a {@link NewMessage} or {@link StoredMessage} is one) in
 * one exactly sized Buffer. Runs on the main thread for every insert: no intermediate arrays.
 */
export function encodeBody(b: MessageBody): Buffer {
  const size = bodySize(b);
  const buf = Buffer.allocUnsafe(size);
  writeBody(b, buf, 0, size);
  return buf;
}

/** The bytes {@link encodeBody} makes of `b`. */
export function bodySize(b: MessageBody): number {
  return (
    2 +
    (numbersFitBytes(b) ? 8 : 64) +
    textSize(b.serviceType) +
    textSize(b.batchId) +
    textSize(b.receiptFor) +
    textSize(b.originNode) +
    textSize(b.originSession) +
    fieldSize(b.payload.length) +
    (b.tlvs === null ? 0 : fieldSize(b.tlvs.length))
  );
}

/**
 * Writes the body of `b` ({@link encodeBody}'s bytes, `size` of them: {@link bodySize}) into
 * `buf` at `at`: several bodies can share one buffer.
 */
export function writeBody(b: MessageBody, buf: Buffer, at: number, size: number): void {
  const wide = !numbersFitBytes(b);
  const w = new Writer(buf, wide, at);
  w.u8(BODY_FORMAT);
  w.u8(flagsOf(b, wide));
  w.num(b.source.ton);
  w.num(b.source.npi);
  w.num(b.destination.ton);
  w.num(b.destination.npi);
  w.num(b.esmClass);
  w.num(b.protocolId);
  w.num(b.dataCoding);
  w.num(b.registeredDelivery);
  w.text(b.serviceType);
  w.optText(b.batchId);
  w.optText(b.receiptFor);
  w.optText(b.originNode);
  w.optText(b.originSession);
  w.bytes(b.payload);
  if (b.tlvs !== null) w.bytes(b.tlvs);
  if (w.pos !== at + size) throw new Error(`encodeBody: wrote ${w.pos - at} of ${size} bytes`);
}

/**
 * Unpacks a body written by {@link encodeBody}. `payload` and `tlvs` are views of `buf` (no
 * copy; both drivers give every row its own Buffer). Throws on an unknown format or a
 * body that is cut short or too long.
 */
export function decodeBody(buf: Buffer): MessageBody {
  const r = new Reader(buf);
  const format = r.u8();
  if (format !== BODY_FORMAT) throw new Error(`message body format ${format} is not known (this code reads ${BODY_FORMAT})`);
  const flags = r.u8();
  r.wide = (flags & F_WIDE) !== 0;
  // In stored order.
  const srcTon = r.num();
  const srcNpi = r.num();
  const dstTon = r.num();
  const dstNpi = r.num();
  const esmClass = r.num();
  const protocolId = r.num();
  const dataCoding = r.num();
  const registeredDelivery = r.num();
  const serviceType = r.text();
  const batchId = (flags & F_HAS_BATCH_ID) !== 0 ? r.text() : null;
  const receiptFor = (flags & F_HAS_RECEIPT_FOR) !== 0 ? r.text() : null;
  const originNode = (flags & F_HAS_ORIGIN_NODE) !== 0 ? r.text() : null;
  const originSession = (flags & F_HAS_ORIGIN_SESSION) !== 0 ? r.text() : null;
  const payload = r.bytes();
  const tlvs = (flags & F_HAS_TLVS) !== 0 ? r.bytes() : null;
  if (r.pos !== buf.length) throw new Error(`message body has ${buf.length - r.pos} bytes too many`);
  return {
    batchId,
    source: { ton: srcTon, npi: srcNpi },
    destination: { ton: dstTon, npi: dstNpi },
    serviceType,
    esmClass,
    protocolId,
    dataCoding,
    registeredDelivery,
    payload,
    payloadInTlv: (flags & F_PAYLOAD_IN_TLV) !== 0,
    tlvs,
    receiptFor,
    originNode,
    originSession,
  };
}

class Writer {
  readonly buf: Buffer;
  readonly #wide: boolean;
  pos: number;
  constructor(buf: Buffer, wide: boolean, pos: number) {
    this.buf = buf;
    this.#wide = wide;
    this.pos = pos;
  }

  u8(n: number): void {
    this.buf[this.pos++] = n;
  }

  num(n: number): void {
    if (this.#wide) this.pos = this.buf.writeDoubleLE(n, this.pos);
    else this.u8(n);
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.u8((n & 0x7f) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.u8(n);
  }

  text(s: string): void {
    const length = Buffer.byteLength(s);
    this.varint(length);
    // As many bytes as UTF-16 units: all ASCII.
    if (length === s.length && length <= SHORT_TEXT) {
      for (let i = 0; i < length; i++) this.buf[this.pos + i] = s.charCodeAt(i);
    } else {
      this.buf.write(s, this.pos, 'utf8');
    }
    this.pos += length;
  }

  optText(s: string | null): void {
    if (s !== null) this.text(s);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

class Reader {
  readonly buf: Buffer;
  wide = false;
  pos = 0;
  constructor(buf: Buffer) {
    this.buf = buf;
  }

  #need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('message body is cut short');
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.pos++]!;
  }

  num(): number {
    if (!this.wide) return this.u8();
    this.#need(8);
    const n = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return n;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }

  bytes(): Buffer {
    const length = this.varint();
    this.#need(length);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  text(): string {
    const length = this.varint();
    this.#need(length);
    const start = this.pos;
    this.pos += length;
    if (length <= SHORT_TEXT) {
      let s = '';
      for (let i = start; i < this.pos; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return this.buf.toString('utf8', start, this.pos);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.buf.toString('utf8', start, this.pos);
  }
}
