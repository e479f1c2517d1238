/**
 * UCS2 text, SMPP data_coding 0x08, treated as UTF-16BE: two octets per code unit, characters
 * outside the BMP as surrogate pairs (two code units). [ref §8.5]
 */

/** Encodes `text` as UTF-16BE. Lone surrogates are kept as they are (one code unit each). */
export function encodeUcs2(text: string): Buffer {
  // Why: Node's native utf16le encoder plus an in-place byte swap is far faster than writing
  // each code unit from JS.
  return Buffer.from(text, 'utf16le').swap16();
}

/**
 * Decodes UTF-16BE octets. A trailing odd octet (malformed input) is ignored. The input is
 * never modified.
 */
export function decodeUcs2(bytes: Uint8Array): string {
  const even = bytes.length & ~1;
  if (even === 0) return '';
  // Copy, because swap16 works in place and the input may be a view into a socket buffer.
  const copy = Buffer.allocUnsafe(even);
  copy.set(bytes.subarray(0, even));
  return copy.swap16().toString('utf16le');
}

/** True when the code unit is a UTF-16 high (leading) surrogate. */
export function isHighSurrogate(codeUnit: number): boolean {
  return codeUnit >= 0xd800 && codeUnit <= 0xdbff;
}
