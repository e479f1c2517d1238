/**
 * ISO-8859-1 (Latin-1) text, SMPP data_coding 0x03: one octet per character. [ref §8.5]
 */

/** True when every UTF-16 code unit of `text` is at most U+00FF. */
export function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) return false;
  }
  return true;
}

/** Encodes `text` as Latin-1, or undefined if a character is above U+00FF. */
export function encodeLatin1(text: string): Buffer | undefined {
  return isLatin1(text) ? Buffer.from(text, 'latin1') : undefined;
}

/**
 * Decodes Latin-1 octets. Every octet maps to the code point of the same value (true
 * ISO-8859-1, not windows-1252), so any octet string decodes and re-encodes losslessly.
 */
export function decodeLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
