/**
 * GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table.
 *
 * SMPP carries data_coding 0x00 text **unpacked**: one septet (0x00-0x7F) per octet, so
 * `sm_length` equals the number of septets and an extension character costs two octets
 * (ESC + code). [ref §8.4] Packing to the air-interface form is offered separately by
 * {@link packSeptets} / {@link unpackSeptets}.
 *
 * National language shift tables (UDH IE 0x24/0x25) are out of scope. [ref §8.3]
 */

/** The escape septet that introduces an extension-table character. [ref §8.3] */
export const GSM7_ESCAPE = 0x1b;

// [ref §8.1] Base table indexed by septet. Index 0x1B (ESC) holds a placeholder that is never
// produced by the decoder and never accepted by the encoder.
const BASE_TABLE =
  '@£$¥èéùìòÇ\nØø\rÅå' +
  'Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ' +
  ' !"#¤%&\'()*+,-./' +
  '0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNO' +
  'PQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmno' +
  'pqrstuvwxyzäöñüà';

// [ref §8.3] Extension table: septet after ESC -> character. 0x0D (CR2) and 0x1B are reserved.
const EXTENSION_TABLE: ReadonlyArray<readonly [number, string]> = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
];

/** Marker bit in the encode tables: the value is an extension code, sent as ESC + code. */
const EXT_FLAG = 0x100;
/** Encode-table value for a character that has no GSM representation. */
const NONE = -1;

// Why tables: encoding and length counting run once per character of every submitted message,
// so each character costs one typed-array read (Latin-1 range) or one Map lookup (the eleven
// Greek letters and the euro sign) instead of a string search.
const encodeLow = new Int16Array(256).fill(NONE);
const encodeHigh = new Map<number, number>();
// Decode tables hold UTF-16 code units; every GSM character is in the BMP.
const decodeBase = new Uint16Array(128);
const decodeExt = new Uint16Array(128); // 0 = undefined extension code

function setEncode(codeUnit: number, value: number): void {
  if (codeUnit < 256) encodeLow[codeUnit] = value;
  else encodeHigh.set(codeUnit, value);
}

for (let septet = 0; septet < 128; septet++) {
  const unit = BASE_TABLE.charCodeAt(septet);
  decodeBase[septet] = unit;
  if (septet !== GSM7_ESCAPE) setEncode(unit, septet);
}
// [ref §8.3] ESC followed by ESC is reserved for a further extension table; 23.038 says to
// show a space until one is defined. We also show a space for a dangling ESC at the end.
decodeBase[GSM7_ESCAPE] = 0x20;
for (const [code, char] of EXTENSION_TABLE) {
  const unit = char.charCodeAt(0);
  decodeExt[code] = unit;
  setEncode(unit, EXT_FLAG | code);
}

function lookup(codeUnit: number): number {
  return codeUnit < 256 ? encodeLow[codeUnit]! : (encodeHigh.get(codeUnit) ?? NONE);
}

/**
 * Number of septets `text` needs in the GSM 7-bit default alphabet (extension characters
 * count 2), or undefined if a character is not representable.
 */
export function gsm7Length(text: string): number | undefined {
  let septets = 0;
  for (let i = 0; i < text.length; i++) {
    const v = lookup(text.charCodeAt(i));
    if (v === NONE) return undefined;
    septets += v & EXT_FLAG ? 2 : 1;
  }
  return septets;
}

/** True when every character of `text` exists in the GSM default alphabet or its extension. */
export function isGsm7(text: string): boolean {
  return gsm7Length(text) !== undefined;
}

/**
 * Encodes `text` as unpacked GSM 7-bit septets, one per octet, as SMPP data_coding 0x00
 * carries them. [ref §8.4] Returns undefined if a character is not representable (no lossy
 * substitutions: `ç` is not folded to `Ç`, the backtick is not replaced).
 */
export function encodeGsm7(text: string): Buffer | undefined {
  const length = gsm7Length(text);
  if (length === undefined) return undefined;
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const v = lookup(text.charCodeAt(i));
    if (v & EXT_FLAG) {
      out[o++] = GSM7_ESCAPE;
      out[o++] = v & 0x7f;
    } else {
      out[o++] = v;
    }
  }
  return out;
}

/**
 * Decodes unpacked GSM 7-bit septets (one per octet). The top bit of each octet is ignored.
 * ESC followed by an undefined extension code yields the base-table character for that code;
 * ESC ESC and a trailing ESC yield a space. [ref §8.3]
 */
export function decodeGsm7(septets: Uint8Array): string {
  // Why a byte buffer: collecting UTF-16LE code units and decoding once avoids building the
  // string one character at a time; writing the bytes explicitly keeps it endian-independent.
  const out = Buffer.allocUnsafe(septets.length * 2);
  let o = 0;
  for (let i = 0; i < septets.length; i++) {
    let s = septets[i]! & 0x7f;
    let unit: number;
    if (s === GSM7_ESCAPE && i + 1 < septets.length) {
      s = septets[++i]! & 0x7f;
      unit = decodeExt[s] || decodeBase[s]!;
    } else {
      unit = decodeBase[s]!;
    }
    out[o++] = unit & 0xff;
    out[o++] = unit >>> 8;
  }
  return out.toString('utf16le', 0, o);
}

function checkFillBits(fillBits: number): void {
  if (!Number.isInteger(fillBits) || fillBits < 0 || fillBits > 6) {
    throw new RangeError(`fillBits must be an integer 0..6, got ${fillBits}`);
  }
}

/**
 * Packs septets (one per octet, top bit ignored) into the GSM air-interface form: septet i
 * occupies bits `fillBits + 7i ...` of the octet stream, least-significant bit first.
 * `fillBits` (0-6) zero bits come first so that text after a UDH starts on a septet
 * boundary (see `udhFillBits`). [ref §8.4]
 */
export function packSeptets(septets: Uint8Array, fillBits = 0): Buffer {
  checkFillBits(fillBits);
  if (septets.length === 0) return Buffer.alloc(0);
  const out = Buffer.alloc(Math.ceil((fillBits + septets.length * 7) / 8));
  let acc = 0; // pending bits, LSB first; never holds more than 14 bits
  let bits = fillBits;
  let o = 0;
  for (let i = 0; i < septets.length; i++) {
    acc |= (septets[i]! & 0x7f) << bits;
    bits += 7;
    if (bits >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out[o] = acc & 0xff;
  return out;
}

/**
 * Unpacks `count` septets from packed GSM 7-bit data, skipping `fillBits` leading bits.
 * Returns one septet per octet. Throws a RangeError if `packed` is too short for `count`.
 * [ref §8.4]
 */
export function unpackSeptets(packed: Uint8Array, count: number, fillBits = 0): Buffer {
  checkFillBits(fillBits);
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`septet count must be a non-negative integer, got ${count}`);
  }
  if (count === 0) return Buffer.alloc(0);
  if (fillBits + count * 7 > packed.length * 8) {
    throw new RangeError(`cannot unpack ${count} septets from ${packed.length} octets`);
  }
  const out = Buffer.allocUnsafe(count);
  let acc = 0;
  let bits = 0;
  let p = 0;
  if (fillBits > 0) {
    acc = packed[p++]! >>> fillBits;
    bits = 8 - fillBits;
  }
  for (let i = 0; i < count; i++) {
    if (bits < 7) {
      acc |= packed[p++]! << bits;
      bits += 8;
    }
    out[i] = acc & 0x7f;
    acc >>>= 7;
    bits -= 7;
  }
  return out;
}
