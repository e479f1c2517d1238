/**
 * Splitting long messages into parts that fit one SMS each. [ref §8.6]
 */
import { type ChooseCodingOptions, encodeText, TextCoding, textCodingOf } from './encoding.js';
import { GSM7_ESCAPE } from './gsm7.js';
import { isHighSurrogate } from './ucs2.js';
import { buildConcatUdh, concatUdhLength } from './udh.js';

/** How the parts of a long message are tied together. [ref §8.6] */
export const SplitMethod = {
  /** UDH IE 0x00 with an 8-bit reference in every part (esm_class UDHI). */
  Udh8: 'udh8',
  /** UDH IE 0x08 with a 16-bit reference in every part (esm_class UDHI). */
  Udh16: 'udh16',
  /** TLVs sar_msg_ref_num / sar_total_segments / sar_segment_seqnum, no UDH. */
  Sar: 'sar',
  /** No split: the whole message in one message_payload TLV. */
  Payload: 'payload',
} as const;
export type SplitMethod = (typeof SplitMethod)[keyof typeof SplitMethod];

/** The SMPP octets of one SMS user data (TP-UD): 140 octets, i.e. 160 packed septets. */
export const USER_DATA_OCTETS = 140;
/** Largest value of a TLV: message_payload cannot carry more. [ref §4.4] */
export const MAX_PAYLOAD_OCTETS = 65535;
/** TT is one octet. [ref §8.6] */
export const MAX_SEGMENTS = 255;

/** SAR TLV values of one part. [ref §8.6] */
export interface SarInfo {
  msgRefNum: number;
  totalSegments: number;
  segmentSeqnum: number;
}

/** One submit_sm / deliver_sm worth of content. */
export interface Segment {
  /** short_message octets, UDH included for the UDH methods; empty for `payload`. */
  shortMessage: Buffer;
  /** Set esm_class UDHI (0x40) for this part. */
  esmClassUdhi: boolean;
  /** SAR TLVs, only for `sar` when the message needed more than one part. */
  sar?: SarInfo;
  /** message_payload TLV, only for `payload`. */
  messagePayload?: Buffer;
}

/** The result of a split. */
export interface SplitResult {
  /** data_coding for every part. */
  dataCoding: number;
  segments: Segment[];
}

/** Options of {@link splitText}. */
export interface SplitOptions extends ChooseCodingOptions {
  /** Force a data_coding; by default the most compact one (see `chooseCoding`). */
  dataCoding?: number;
  method: SplitMethod;
  /** Concatenation reference (0-255 for udh8, 0-65535 otherwise); by default a rolling counter. */
  reference?: number;
}

/** Options of {@link splitEncoded}. */
export interface SplitEncodedOptions {
  method: SplitMethod;
  reference?: number;
}

/**
 * SMPP octets that fit in one SMS after a UDH of `udhOctets` octets (0 = none): 160/153/152
 * septets for GSM 7-bit (unpacked, one per octet), 140/134/133 octets for 8-bit data and
 * 140/134/132 octets (70/67/66 code units) for UCS2. [ref §8.6]
 */
export function userDataCapacity(coding: TextCoding, udhOctets = 0): number {
  const octets = USER_DATA_OCTETS - udhOctets;
  if (coding === TextCoding.Gsm7) return Math.floor((octets * 8) / 7);
  if (coding === TextCoding.Ucs2) return octets & ~1;
  return octets;
}

let lastReference = Math.floor(Math.random() * 0x10000);

function nextReference(refBits: 8 | 16): number {
  lastReference = (lastReference + 1) & 0xffff;
  return refBits === 8 ? lastReference & 0xff : lastReference;
}

/**
 * End offsets of the parts of `bytes` with at most `capacity` octets each. A cut never falls
 * inside a GSM escape pair or a UTF-16 surrogate pair. [ref §8.5]
 */
function cutPoints(bytes: Buffer, coding: TextCoding, capacity: number): number[] {
  const ends: number[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = start + capacity;
    if (end >= bytes.length) {
      end = bytes.length;
    } else if (coding === TextCoding.Gsm7) {
      // Walk from the part start: an ESC always pairs with the next septet, so only a walk
      // knows whether the septet before the cut is an ESC or the second half of a pair.
      let i = start;
      while (i < end) {
        const step = bytes[i] === GSM7_ESCAPE ? 2 : 1;
        if (i + step > end) break;
        i += step;
      }
      end = i;
    } else if (coding === TextCoding.Ucs2) {
      if (isHighSurrogate((bytes[end - 2]! << 8) | bytes[end - 1]!)) end -= 2;
    }
    ends.push(end);
    start = end;
  }
  return ends;
}

function refBitsOf(method: SplitMethod): 8 | 16 {
  return method === SplitMethod.Udh8 ? 8 : 16;
}

function partCapacity(coding: TextCoding, method: SplitMethod): number {
  // [ref §8.6] SAR parts carry no UDH here, but the SMSC may add an 8-bit reference UDH when
  // it delivers them, so they get the udh8 size.
  return userDataCapacity(coding, concatUdhLength(method === SplitMethod.Udh16 ? 16 : 8));
}

/**
 * Splits already-encoded short-message octets. Codings this layer does not know are split as
 * plain octets. Parts are views into `bytes` (SAR) or fresh buffers (UDH).
 * @throws RangeError if more than 255 parts are needed, the payload exceeds 65535 octets or
 *   the reference is out of range.
 */
export function splitEncoded(bytes: Buffer, dataCoding: number, opts: SplitEncodedOptions): SplitResult {
  const { method } = opts;
  if (method === SplitMethod.Payload) {
    if (bytes.length > MAX_PAYLOAD_OCTETS) {
      throw new RangeError(`message_payload of ${bytes.length} octets exceeds ${MAX_PAYLOAD_OCTETS}`);
    }
    return {
      dataCoding,
      segments: [{ shortMessage: Buffer.alloc(0), esmClassUdhi: false, messagePayload: bytes }],
    };
  }
  const coding = textCodingOf(dataCoding) ?? TextCoding.Binary;
  if (bytes.length <= userDataCapacity(coding)) {
    return { dataCoding, segments: [{ shortMessage: bytes, esmClassUdhi: false }] };
  }
  const ends = cutPoints(bytes, coding, partCapacity(coding, method));
  const total = ends.length;
  if (total > MAX_SEGMENTS) throw new RangeError(`message needs ${total} parts, at most ${MAX_SEGMENTS}`);
  const refBits = refBitsOf(method);
  const ref = opts.reference ?? nextReference(refBits);
  const maxRef = refBits === 8 ? 0xff : 0xffff;
  if (!Number.isInteger(ref) || ref < 0 || ref > maxRef) {
    throw new RangeError(`reference ${ref} out of range 0..${maxRef} for ${method}`);
  }
  const segments: Segment[] = [];
  let start = 0;
  for (let i = 0; i < total; i++) {
    const end = ends[i]!;
    const seq = i + 1;
    if (method === SplitMethod.Sar) {
      segments.push({
        shortMessage: bytes.subarray(start, end),
        esmClassUdhi: false,
        sar: { msgRefNum: ref, totalSegments: total, segmentSeqnum: seq },
      });
    } else {
      const udh = buildConcatUdh({ ref, total, seq }, refBits);
      const part = Buffer.allocUnsafe(udh.length + end - start);
      udh.copy(part, 0);
      bytes.copy(part, udh.length, start, end);
      segments.push({ shortMessage: part, esmClassUdhi: true });
    }
    start = end;
  }
  return { dataCoding, segments };
}

/**
 * Encodes `text` (see `encodeText`) and splits it into SMS parts. A text that fits in one SMS
 * gives one part without UDH or SAR; `payload` always gives one part carrying message_payload.
 * @throws TextEncodeError if `dataCoding` cannot carry the text; RangeError as {@link splitEncoded}.
 */
export function splitText(text: string, opts: SplitOptions): SplitResult {
  const { dataCoding, bytes } = encodeText(text, opts.dataCoding, opts);
  const split: SplitEncodedOptions =
    opts.reference === undefined ? { method: opts.method } : { method: opts.method, reference: opts.reference };
  return splitEncoded(bytes, dataCoding, split);
}

/** Options of {@link countSegments}. */
export interface CountOptions extends ChooseCodingOptions {
  dataCoding?: number;
  /** Default `udh8`. */
  method?: SplitMethod;
}

/**
 * The number of parts {@link splitText} would produce for `text` (1 for `payload`), without
 * building them. May exceed 255.
 * @throws TextEncodeError if `dataCoding` cannot carry the text.
 */
export function countSegments(text: string, opts: CountOptions = {}): number {
  const method = opts.method ?? SplitMethod.Udh8;
  if (method === SplitMethod.Payload) return 1;
  const { dataCoding, bytes } = encodeText(text, opts.dataCoding, opts);
  const coding = textCodingOf(dataCoding) ?? TextCoding.Binary;
  if (bytes.length <= userDataCapacity(coding)) return 1;
  return cutPoints(bytes, coding, partCapacity(coding, method)).length;
}
