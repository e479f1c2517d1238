/**
 * User Data Header (3GPP TS 23.040 §9.2.3.24) at the start of short_message or
 * message_payload when esm_class has UDHI (0x40) set. [ref §8.6]
 */

/** Information Element Identifiers used here. [ref §8.6] */
export const Iei = {
  /** Concatenated short message, 8-bit reference (IEDL 3). */
  Concat8: 0x00,
  /** Application port addressing, 8-bit ports (IEDL 2). */
  Port8: 0x04,
  /** Application port addressing, 16-bit ports (IEDL 4). */
  Port16: 0x05,
  /** Concatenated short message, 16-bit reference (IEDL 4). */
  Concat16: 0x08,
  /** National language single shift (IEDL 1). */
  NationalSingleShift: 0x24,
  /** National language locking shift (IEDL 1). */
  NationalLockingShift: 0x25,
} as const;

/** One information element of a UDH. */
export interface UdhElement {
  iei: number;
  /** IE data (without IEI and IEDL). A view into the parsed buffer. */
  data: Buffer;
}

/** A parsed UDH. */
export interface Udh {
  /** Total UDH octets including the UDHL octet itself: the user data starts at this offset. */
  length: number;
  elements: UdhElement[];
}

/**
 * Parses the UDH at the start of `buf`. Returns undefined if `buf` is empty, UDHL runs past
 * the end of `buf`, or an element runs past UDHL.
 */
export function parseUdh(buf: Buffer): Udh | undefined {
  if (buf.length === 0) return undefined;
  const length = buf[0]! + 1;
  if (length > buf.length) return undefined;
  const elements: UdhElement[] = [];
  let p = 1;
  while (p < length) {
    if (p + 2 > length) return undefined;
    const iei = buf[p]!;
    const iedl = buf[p + 1]!;
    const start = p + 2;
    p = start + iedl;
    if (p > length) return undefined;
    elements.push({ iei, data: buf.subarray(start, p) });
  }
  return { length, elements };
}

/** Builds a UDH (with its UDHL octet) from elements. Throws RangeError above 255 octets. */
export function buildUdh(elements: readonly UdhElement[]): Buffer {
  let udhl = 0;
  for (const e of elements) {
    if (e.data.length > 255) throw new RangeError('UDH element data longer than 255 octets');
    udhl += 2 + e.data.length;
  }
  if (udhl > 255) throw new RangeError('UDH longer than 255 octets');
  const out = Buffer.allocUnsafe(udhl + 1);
  out[0] = udhl;
  let p = 1;
  for (const e of elements) {
    out[p++] = e.iei;
    out[p++] = e.data.length;
    e.data.copy(out, p);
    p += e.data.length;
  }
  return out;
}

/** Concatenation information: reference, total parts (TT) and this part's number (NN). */
export interface ConcatInfo {
  ref: number;
  total: number;
  seq: number;
}

/** Concatenation info from a UDH, with the width of its reference. */
export interface UdhConcatInfo extends ConcatInfo {
  refBits: 8 | 16;
}

/**
 * True when TT and NN describe a usable part: 1 <= NN <= TT <= 255.
 * [ref §8.6] "NN = 0 or NN > TT ⇒ ignore the IE."
 */
export function isValidConcat(total: number, seq: number): boolean {
  return Number.isInteger(total) && Number.isInteger(seq) && seq >= 1 && seq <= total && total <= 255;
}

/**
 * The concatenation info of a parsed UDH (IE 0x00 or 0x08), or undefined when it has none or
 * it is invalid. When several are present the last valid one wins, as 23.040 says for repeated
 * non-repeatable IEs.
 */
export function concatInfoOfUdh(udh: Udh): UdhConcatInfo | undefined {
  let found: UdhConcatInfo | undefined;
  for (const { iei, data } of udh.elements) {
    let info: UdhConcatInfo | undefined;
    if (iei === Iei.Concat8 && data.length === 3) {
      info = { ref: data[0]!, total: data[1]!, seq: data[2]!, refBits: 8 };
    } else if (iei === Iei.Concat16 && data.length === 4) {
      info = { ref: data.readUInt16BE(0), total: data[2]!, seq: data[3]!, refBits: 16 };
    }
    if (info !== undefined && isValidConcat(info.total, info.seq)) found = info;
  }
  return found;
}

/** Octets of the concatenation UDH (UDHL included): 6 with an 8-bit, 7 with a 16-bit reference. */
export function concatUdhLength(refBits: 8 | 16): number {
  return refBits === 8 ? 6 : 7;
}

/**
 * Builds a concatenation UDH. [ref §8.6]
 * `05 00 03 RR TT NN` (8-bit reference) or `06 08 04 RH RL TT NN` (16-bit reference).
 * Throws RangeError if the reference does not fit or TT/NN are invalid.
 */
export function buildConcatUdh(info: ConcatInfo, refBits: 8 | 16 = 8): Buffer {
  const maxRef = refBits === 8 ? 0xff : 0xffff;
  if (!Number.isInteger(info.ref) || info.ref < 0 || info.ref > maxRef) {
    throw new RangeError(`concatenation reference ${info.ref} does not fit in ${refBits} bits`);
  }
  if (!isValidConcat(info.total, info.seq)) {
    throw new RangeError(`invalid concatenation part ${info.seq}/${info.total}`);
  }
  if (refBits === 8) return Buffer.from([5, Iei.Concat8, 3, info.ref, info.total, info.seq]);
  return Buffer.from([6, Iei.Concat16, 4, info.ref >>> 8, info.ref & 0xff, info.total, info.seq]);
}

/**
 * Fill bits needed after a UDH of `udhOctets` octets (UDHL included) so that packed 7-bit
 * text starts on a septet boundary: `(7 - (udhOctets·8 mod 7)) mod 7`. [ref §8.4]
 */
export function udhFillBits(udhOctets: number): number {
  return (7 - ((udhOctets * 8) % 7)) % 7;
}
