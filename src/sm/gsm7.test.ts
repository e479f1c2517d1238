import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeGsm7, encodeGsm7, gsm7Length, isGsm7, packSeptets, unpackSeptets } from './gsm7.js';

// [ref §8.2] written out independently of the implementation's table: every non-ASCII cell.
const NON_ASCII: ReadonlyArray<readonly [number, number]> = [
  [0x00, 0x40], [0x01, 0xa3], [0x02, 0x24], [0x03, 0xa5], [0x04, 0xe8], [0x05, 0xe9],
  [0x06, 0xf9], [0x07, 0xec], [0x08, 0xf2], [0x09, 0xc7], [0x0a, 0x0a], [0x0b, 0xd8],
  [0x0c, 0xf8], [0x0d, 0x0d], [0x0e, 0xc5], [0x0f, 0xe5], [0x10, 0x394], [0x11, 0x5f],
  [0x12, 0x3a6], [0x13, 0x393], [0x14, 0x39b], [0x15, 0x3a9], [0x16, 0x3a0], [0x17, 0x3a8],
  [0x18, 0x3a3], [0x19, 0x398], [0x1a, 0x39e], [0x1c, 0xc6], [0x1d, 0xe6], [0x1e, 0xdf],
  [0x1f, 0xc9], [0x24, 0xa4], [0x40, 0xa1], [0x5b, 0xc4], [0x5c, 0xd6], [0x5d, 0xd1],
  [0x5e, 0xdc], [0x5f, 0xa7], [0x60, 0xbf], [0x7b, 0xe4], [0x7c, 0xf6], [0x7d, 0xf1],
  [0x7e, 0xfc], [0x7f, 0xe0],
];
// [ref §8.3]
const EXTENSION: ReadonlyArray<readonly [string, number]> = [
  ['\f', 0x0a], ['^', 0x14], ['{', 0x28], ['}', 0x29], ['\\', 0x2f],
  ['[', 0x3c], ['~', 0x3d], [']', 0x3e], ['|', 0x40], ['€', 0x65],
];

/** Septet -> Unicode code point for the whole base table (ESC excluded), from the reference. */
function referenceBaseTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (let s = 0x20; s < 0x80; s++) table.set(s, s); // "all others: GSM code = ASCII code"
  for (const [s, u] of NON_ASCII) table.set(s, u);
  return table;
}

const gsmChars = [...referenceBaseTable().values()].map((u) => String.fromCodePoint(u)).concat(EXTENSION.map(([c]) => c));

describe('GSM 03.38', () => {
  it('encodes and decodes every base-table character as its one septet', () => {
    const table = referenceBaseTable();
    assert.equal(table.size, 127);
    for (const [septet, unicode] of table) {
      const ch = String.fromCodePoint(unicode);
      assert.deepEqual(encodeGsm7(ch), Buffer.from([septet]), `encode U+${unicode.toString(16)}`);
      assert.equal(decodeGsm7(Buffer.from([septet])), ch, `decode 0x${septet.toString(16)}`);
      assert.equal(gsm7Length(ch), 1);
    }
  });

  it('encodes every extension character as ESC + code (2 septets)', () => {
    for (const [ch, code] of EXTENSION) {
      assert.deepEqual(encodeGsm7(ch), Buffer.from([0x1b, code]), ch);
      assert.equal(decodeGsm7(Buffer.from([0x1b, code])), ch);
      assert.equal(gsm7Length(ch), 2);
    }
  });

  it('round-trips €[]{}^\\|~ with 2 septets each', () => {
    const text = 'Price: 5€ [a] {b} ^c\\d|e~';
    const bytes = encodeGsm7(text);
    assert.ok(bytes);
    assert.equal(bytes.length, text.length + 9);
    assert.equal(gsm7Length(text), bytes.length);
    assert.equal(decodeGsm7(bytes), text);
  });

  it('handles the ASCII pitfalls: @ $ _ are not at their ASCII codes', () => {
    assert.deepEqual(encodeGsm7('@$_'), Buffer.from([0x00, 0x02, 0x11]));
    assert.equal(decodeGsm7(Buffer.from([0x40, 0x24, 0x60])), '¡¤¿');
  });

  it('rejects unrepresentable characters', () => {
    for (const s of ['`', 'ç', 'Привет', '😀', '\u001b', '\t', 'a\u0000']) {
      assert.equal(encodeGsm7(s), undefined, JSON.stringify(s));
      assert.equal(gsm7Length(s), undefined);
      assert.equal(isGsm7(s), false);
    }
    assert.equal(isGsm7('Hello, World! @£$¥'), true);
  });

  it('decodes ESC + undefined code as the base character, ESC ESC and a trailing ESC as space', () => {
    assert.equal(decodeGsm7(Buffer.from([0x1b, 0x41])), 'A');
    assert.equal(decodeGsm7(Buffer.from([0x1b, 0x0d])), '\r'); // CR2 is reserved
    assert.equal(decodeGsm7(Buffer.from([0x1b, 0x1b, 0x41])), ' A');
    assert.equal(decodeGsm7(Buffer.from([0x41, 0x1b])), 'A ');
  });

  it('ignores the top bit of unpacked septets', () => {
    assert.equal(decodeGsm7(Buffer.from([0xc1, 0x80])), 'A@');
  });

  it('decodes an empty buffer to the empty string', () => {
    assert.equal(decodeGsm7(Buffer.alloc(0)), '');
    assert.deepEqual(encodeGsm7(''), Buffer.alloc(0));
  });

  it('property: decode(encode(text)) === text for GSM-representable strings', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...gsmChars), { maxLength: 400 }), (chars) => {
        const text = chars.join('');
        const bytes = encodeGsm7(text);
        assert.ok(bytes);
        assert.equal(bytes.length, gsm7Length(text));
        assert.equal(decodeGsm7(bytes), text);
      }),
    );
  });
});

describe('septet packing', () => {
  it('packs "hellohello" to the well-known octets', () => {
    // 3GPP TS 23.038 example: "hellohello" -> E8 32 9B FD 46 97 D9 EC 37
    const septets = encodeGsm7('hellohello')!;
    assert.equal(packSeptets(septets).toString('hex'), 'e8329bfd4697d9ec37');
    assert.deepEqual(unpackSeptets(Buffer.from('e8329bfd4697d9ec37', 'hex'), 10), septets);
  });

  it('160 septets pack into 140 octets', () => {
    assert.equal(packSeptets(Buffer.alloc(160, 0x41)).length, 140);
    assert.equal(packSeptets(Buffer.alloc(8, 0x7f)).toString('hex'), 'ffffffffffffff');
  });

  it('puts fill bits first (1 fill bit after a 6-octet UDH)', () => {
    // 'A' = 0x41 shifted left by 1 bit
    assert.deepEqual(packSeptets(Buffer.from([0x41]), 1), Buffer.from([0x82]));
    assert.deepEqual(unpackSeptets(Buffer.from([0x82]), 1, 1), Buffer.from([0x41]));
  });

  it('rejects bad fill bits and too-short input', () => {
    assert.throws(() => packSeptets(Buffer.from([1]), 7), RangeError);
    assert.throws(() => unpackSeptets(Buffer.from([1]), 2), RangeError);
    assert.throws(() => unpackSeptets(Buffer.alloc(7), 8, 1), RangeError);
    assert.deepEqual(unpackSeptets(Buffer.alloc(0), 0, 3), Buffer.alloc(0));
  });

  it('property: unpack(pack(septets, fill), n, fill) === septets', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a.map((b) => b & 0x7f))),
        fc.integer({ min: 0, max: 6 }),
        (septets, fill) => {
          const packed = packSeptets(septets, fill);
          assert.equal(packed.length, septets.length === 0 ? 0 : Math.ceil((fill + 7 * septets.length) / 8));
          assert.deepEqual(unpackSeptets(packed, septets.length, fill), septets);
        },
      ),
    );
  });
});
