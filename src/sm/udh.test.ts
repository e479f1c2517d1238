import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildConcatUdh, buildUdh, concatInfoOfUdh, Iei, parseUdh, udhFillBits } from './udh.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

describe('UDH', () => {
  it('parses an 8-bit-reference concatenation UDH', () => {
    const udh = parseUdh(hex('05 00 03 2a 03 02 48 49'));
    assert.ok(udh);
    assert.equal(udh.length, 6);
    assert.deepEqual(udh.elements, [{ iei: 0x00, data: hex('2a0302') }]);
    assert.deepEqual(concatInfoOfUdh(udh), { ref: 0x2a, total: 3, seq: 2, refBits: 8 });
  });

  it('parses a 16-bit-reference concatenation UDH', () => {
    const udh = parseUdh(hex('06 08 04 12 34 05 05 41'));
    assert.ok(udh);
    assert.equal(udh.length, 7);
    assert.deepEqual(concatInfoOfUdh(udh), { ref: 0x1234, total: 5, seq: 5, refBits: 16 });
  });

  it('finds the concatenation IE among others (port addressing first)', () => {
    const udh = parseUdh(hex('0b 05 04 0b 84 23 f0 00 03 07 02 01 ff'));
    assert.ok(udh);
    assert.equal(udh.length, 12);
    assert.deepEqual(udh.elements.map((e) => e.iei), [Iei.Port16, Iei.Concat8]);
    assert.deepEqual(concatInfoOfUdh(udh), { ref: 7, total: 2, seq: 1, refBits: 8 });
  });

  it('ignores concatenation IEs with NN = 0, NN > TT, TT = 0 or a wrong IEDL', () => {
    for (const s of ['05 00 03 01 03 00', '05 00 03 01 03 04', '05 00 03 01 00 00', '06 00 04 01 02 01 01', '05 08 03 01 02 01']) {
      const udh = parseUdh(hex(s));
      assert.ok(udh, s);
      assert.equal(concatInfoOfUdh(udh), undefined, s);
    }
    assert.equal(concatInfoOfUdh({ length: 1, elements: [] }), undefined);
  });

  it('rejects truncated UDHs', () => {
    assert.equal(parseUdh(Buffer.alloc(0)), undefined);
    assert.equal(parseUdh(hex('05 00 03 01 02')), undefined); // UDHL past the end
    assert.equal(parseUdh(hex('03 00 03 01')), undefined); // element past UDHL
    assert.equal(parseUdh(hex('01 00')), undefined); // IEI without IEDL
    assert.deepEqual(parseUdh(hex('00 41')), { length: 1, elements: [] });
  });

  it('builds concatenation UDHs', () => {
    assert.deepEqual(buildConcatUdh({ ref: 0x2a, total: 3, seq: 1 }), hex('0500032a0301'));
    assert.deepEqual(buildConcatUdh({ ref: 0xbeef, total: 3, seq: 3 }, 16), hex('060804beef0303'));
    assert.throws(() => buildConcatUdh({ ref: 256, total: 2, seq: 1 }), RangeError);
    assert.throws(() => buildConcatUdh({ ref: 1, total: 2, seq: 3 }), RangeError);
    assert.throws(() => buildConcatUdh({ ref: 1, total: 2, seq: 0 }, 16), RangeError);
  });

  it('builds and re-parses arbitrary UDHs', () => {
    const elements = [
      { iei: Iei.Port8, data: hex('1010') },
      { iei: Iei.Concat16, data: hex('00010201') },
    ];
    const built = buildUdh(elements);
    assert.deepEqual(built, hex('0a 04 02 1010 08 04 00010201'));
    assert.deepEqual(parseUdh(built)?.elements, elements);
  });

  it('computes fill bits for packed 7-bit text after a UDH', () => {
    assert.equal(udhFillBits(6), 1); // [ref §8.4] the 6-octet concatenation UDH
    assert.equal(udhFillBits(7), 0);
    assert.equal(udhFillBits(12), 2);
  });
});
