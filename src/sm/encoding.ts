import { DataCoding } from '../pdu/constants.js';
import { decodeGsm7, encodeGsm7, isGsm7 } from './gsm7.js';
import { decodeLatin1, encodeLatin1 } from './latin1.js';
import { decodeUcs2, encodeUcs2 } from './ucs2.js';

/** How the octets of a short message carry text, derived from data_coding. */
export const TextCoding = {
  /** GSM 03.38 septets, one per octet (unpacked). */
  Gsm7: 'gsm7',
  /** ISO-8859-1, one octet per character. */
  Latin1: 'latin1',
  /** UTF-16BE, two octets per code unit. */
  Ucs2: 'ucs2',
  /** 8-bit data; shown as Latin-1 (one character per octet, lossless). */
  Binary: 'binary',
} as const;
export type TextCoding = (typeof TextCoding)[keyof typeof TextCoding];

/**
 * Classifies a data_coding value, or undefined for codings this layer does not transcode
 * (JIS, Cyrillic, Hebrew, pictogram, Kanji, KS C 5601, reserved values). [ref §5.4]
 */
export function textCodingOf(dataCoding: number): TextCoding | undefined {
  switch (dataCoding) {
    case DataCoding.Default:
    case DataCoding.Ia5: // [ref §5.4] IA5 is usually treated as GSM 7-bit
      return TextCoding.Gsm7;
    case DataCoding.Latin1:
      return TextCoding.Latin1;
    case DataCoding.Ucs2:
      return TextCoding.Ucs2;
    case DataCoding.Binary2:
    case DataCoding.Binary:
      return TextCoding.Binary;
  }
  // [ref §5.4] 0xC0-0xDF: GSM message waiting indication groups, 7-bit.
  if (dataCoding >= 0xc0 && dataCoding <= 0xdf) return TextCoding.Gsm7;
  // 0xE0-0xEF: reserved in SMPP; GSM uses it for MWI "store message" with UCS2 text.
  if (dataCoding >= 0xe0 && dataCoding <= 0xef) return TextCoding.Ucs2;
  // [ref §5.4] 0xF0-0xFF: message class control, bit 2 = 0 GSM 7-bit, 1 8-bit data.
  if (dataCoding >= 0xf0 && dataCoding <= 0xff) {
    return dataCoding & 0x04 ? TextCoding.Binary : TextCoding.Gsm7;
  }
  return undefined;
}

/** Options of {@link chooseCoding} and {@link encodeText}. */
export interface ChooseCodingOptions {
  /**
   * Allow Latin-1 (0x03) for text that is not GSM-representable but fits in Latin-1.
   * Off by default: many SMSCs and handsets handle 0x03 poorly, and UCS2 always works.
   */
  allowLatin1?: boolean;
}

/** The data_coding values {@link chooseCoding} picks from. */
export type ChosenCoding = typeof DataCoding.Default | typeof DataCoding.Latin1 | typeof DataCoding.Ucs2;

/**
 * The most compact data_coding for `text`: GSM 7-bit (0x00) when every character is in the
 * default alphabet or its extension, else Latin-1 (0x03) when allowed and possible, else
 * UCS2 (0x08). [ref §8.6]
 */
export function chooseCoding(text: string, opts: ChooseCodingOptions = {}): ChosenCoding {
  if (isGsm7(text)) return DataCoding.Default;
  if (opts.allowLatin1 === true && encodeLatin1(text) !== undefined) return DataCoding.Latin1;
  return DataCoding.Ucs2;
}

/** Why {@link encodeText} could not encode. */
export type TextEncodeFailure = 'unrepresentable' | 'unsupported-coding';

/** Text cannot be encoded with the requested data_coding. */
export class TextEncodeError extends Error {
  override readonly name = 'TextEncodeError';
  readonly code = 'SMPP_ERR_TEXT_ENCODE';
  /** The requested data_coding. */
  readonly dataCoding: number;
  /** `unrepresentable`: a character does not exist in the coding; `unsupported-coding`: we do not transcode it. */
  readonly reason: TextEncodeFailure;
  constructor(dataCoding: number, reason: TextEncodeFailure) {
    const hex = `0x${dataCoding.toString(16).padStart(2, '0')}`;
    super(
      reason === 'unrepresentable'
        ? `text is not representable with data_coding ${hex}`
        : `data_coding ${hex} is not supported for text`,
    );
    this.dataCoding = dataCoding;
    this.reason = reason;
  }
}

/** Encoded text with the data_coding that describes it. */
export interface EncodedText {
  dataCoding: number;
  /** short_message / message_payload octets (GSM 7-bit unpacked, one septet per octet). */
  bytes: Buffer;
}

/** Encodes `text` with a known {@link TextCoding}; undefined if a character does not fit. */
export function encodeWith(text: string, coding: TextCoding): Buffer | undefined {
  switch (coding) {
    case TextCoding.Gsm7:
      return encodeGsm7(text);
    case TextCoding.Ucs2:
      return encodeUcs2(text);
    case TextCoding.Latin1:
    case TextCoding.Binary:
      return encodeLatin1(text);
  }
}

/**
 * Encodes `text`. Without `dataCoding` the coding comes from {@link chooseCoding} (with
 * `opts`). With one, the text must be representable in it: binary codings (0x02, 0x04, 8-bit
 * class control) take the text as Latin-1, one octet per character.
 * @throws TextEncodeError when the coding is unsupported or a character does not fit.
 */
export function encodeText(text: string, dataCoding?: number, opts: ChooseCodingOptions = {}): EncodedText {
  const dc = dataCoding ?? chooseCoding(text, opts);
  const coding = textCodingOf(dc);
  if (coding === undefined) throw new TextEncodeError(dc, 'unsupported-coding');
  const bytes = encodeWith(text, coding);
  if (bytes === undefined) throw new TextEncodeError(dc, 'unrepresentable');
  return { dataCoding: dc, bytes };
}

/**
 * Decodes short-message octets to a string. GSM codings are read as unpacked septets; UCS2
 * as UTF-16BE. Binary data and codings we do not transcode (see {@link textCodingOf}) are
 * shown as Latin-1, which maps each octet to one character and so loses nothing.
 */
export function decodeText(bytes: Uint8Array, dataCoding: number): string {
  switch (textCodingOf(dataCoding)) {
    case TextCoding.Gsm7:
      return decodeGsm7(bytes);
    case TextCoding.Ucs2:
      return decodeUcs2(bytes);
    default:
      return decodeLatin1(bytes);
  }
}
