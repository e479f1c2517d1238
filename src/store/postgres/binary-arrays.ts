/**
 * One-dimensional PostgreSQL arrays in the binary wire format (what `array_recv` reads), for
 * the insert's `unnest($n::type[])` parameters. node-postgres sends a Buffer parameter in
 * binary and everything else as text; a JS array becomes an array literal that it quotes and
 * escapes element by element (bytea as hex, escaped again inside the literal) and PostgreSQL
 * parses back. In binary every element is a length and its bytes: cheaper on both sides.
 *
 * Layout: int32 ndim (1), int32 has-nulls flag, int32 element type oid, int32 length, int32
 * lower bound (1), then per element an int32 byte length (-1 for NULL) and the bytes, all
 * big-endian. The element type must be the parameter's (`$1::text[]` takes text only).
 */

const HEADER = 20;
const TEXT_OID = 25;
const INT4_OID = 23;
const INT8_OID = 20;
const BYTEA_OID = 17;
const TWO_32 = 2 ** 32;

/** Strings up to this many UTF-16 units are copied char by char when ASCII (faster than a call into C++). */
const SHORT_TEXT = 32;

function header(buf: Buffer, oid: number, length: number, hasNulls: boolean): void {
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(hasNulls ? 1 : 0, 4);
  buf.writeInt32BE(oid, 8);
  buf.writeInt32BE(length, 12);
  buf.writeInt32BE(1, 16);
}

/** A `text[]`; null elements are NULL. Strings are sent in UTF-8 (node-postgres' client encoding). */
export function textArray(values: readonly (string | null)[]): Buffer {
  // At most 3 bytes of UTF-8 per UTF-16 unit; the unused end is cut off.
  let max = HEADER;
  let hasNulls = false;
  for (const v of values) {
    max += 4;
    if (v === null) hasNulls = true;
    else max += v.length * 3;
  }
  const buf = Buffer.allocUnsafe(max);
  header(buf, TEXT_OID, values.length, hasNulls);
  let pos = HEADER;
  for (const v of values) {
    if (v === null) {
      buf.writeInt32BE(-1, pos);
      pos += 4;
      continue;
    }
    const start = pos + 4;
    let length = v.length;
    let ascii = length <= SHORT_TEXT;
    if (ascii) {
      for (let i = 0; i < length; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        buf[start + i] = c;
      }
    }
    if (!ascii) length = buf.write(v, start, 'utf8');
    buf.writeInt32BE(length, pos);
    pos = start + length;
  }
  return buf.subarray(0, pos);
}

/** An `int4[]` (`integer[]`); a value that is not a 32-bit integer throws a RangeError. */
export function int4Array(values: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + values.length * 8);
  header(buf, INT4_OID, values.length, false);
  let pos = HEADER;
  for (const v of values) {
    if (!Number.isInteger(v)) throw new RangeError(`not an integer: ${v}`);
    buf.writeInt32BE(4, pos);
    buf.writeInt32BE(v, pos + 4);
    pos += 8;
  }
  return buf;
}

/** An `int8[]` (`bigint[]`) of safe integers (epoch ms); any other value throws a RangeError. */
export function int8Array(values: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + values.length * 12);
  header(buf, INT8_OID, values.length, false);
  let pos = HEADER;
  for (const v of values) {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer: ${v}`);
    // Two's complement in two halves: floor keeps the sign in the high one.
    const high = Math.floor(v / TWO_32);
    buf.writeInt32BE(8, pos);
    buf.writeInt32BE(high, pos + 4);
    buf.writeUInt32BE(v - high * TWO_32, pos + 8);
    pos += 12;
  }
  return buf;
}

/** A `bytea[]`. */
export function byteaArray(values: readonly Uint8Array[]): Buffer {
  let size = HEADER;
  for (const v of values) size += 4 + v.length;
  const buf = Buffer.allocUnsafe(size);
  header(buf, BYTEA_OID, values.length, false);
  let pos = HEADER;
  for (const v of values) {
    buf.writeInt32BE(v.length, pos);
    buf.set(v, pos + 4);
    pos += 4 + v.length;
  }
  return buf;
}
