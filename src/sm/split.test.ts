import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeText } from './encoding.js';
import { concatInfoOf, Reassembler } from './reassembly.js';
import { countSegments, type Segment, type SplitMethod, splitEncoded, splitText, userDataCapacity } from './split.js';

/** User data of a part without its UDH, read independently of udh.ts. */
function body(seg: Segment): Buffer {
  return seg.esmClassUdhi ? seg.shortMessage.subarray(seg.shortMessage[0]! + 1) : seg.shortMessage;
}

function bodies(text: string, method: SplitMethod, dataCoding?: number): Buffer[] {
  const opts = dataCoding === undefined ? { method, reference: 7 } : { method, reference: 7, dataCoding };
  return splitText(text, opts).segments.map(body);
}

function lengths(text: string, method: SplitMethod, dataCoding?: number): number[] {
  return bodies(text, method, dataCoding).map((b) => b.length);
}

const a = (n: number): string => 'a'.repeat(n);

describe('capacities', () => {
  it('match the reference table', () => {
    assert.deepEqual([0, 6, 7].map((u) => userDataCapacity('gsm7', u)), [160, 153, 152]);
    assert.deepEqual([0, 6, 7].map((u) => userDataCapacity('ucs2', u) / 2), [70, 67, 66]);
    assert.deepEqual([0, 6, 7].map((u) => userDataCapacity('binary', u)), [140, 134, 133]);
  });
});

describe('splitText GSM 7-bit', () => {
  it('160 septets fit one SMS without UDH; 161 need two parts of 153 + 8', () => {
    const one = splitText(a(160), { method: 'udh8' });
    assert.equal(one.dataCoding, 0x00);
    assert.equal(one.segments.length, 1);
    assert.equal(one.segments[0]!.esmClassUdhi, false);
    assert.deepEqual(one.segments[0]!.shortMessage, Buffer.alloc(160, 0x61));
    assert.deepEqual(lengths(a(161), 'udh8'), [153, 8]);
  });

  it('puts 153 septets in each 8-bit-reference part and 152 in each 16-bit one', () => {
    assert.deepEqual(lengths(a(306), 'udh8'), [153, 153]);
    assert.deepEqual(lengths(a(307), 'udh8'), [153, 153, 1]);
    assert.deepEqual(lengths(a(304), 'udh16'), [152, 152]);
    assert.deepEqual(lengths(a(305), 'udh16'), [152, 152, 1]);
  });

  it('writes the concatenation UDH of the reference (05 00 03 RR TT NN / 06 08 04 RH RL TT NN)', () => {
    const u8 = splitText(a(161), { method: 'udh8', reference: 0xab }).segments;
    assert.deepEqual(u8.map((s) => s.shortMessage.subarray(0, 6).toString('hex')), ['050003ab0201', '050003ab0202']);
    assert.ok(u8.every((s) => s.esmClassUdhi));
    assert.equal(u8[0]!.shortMessage.length, 159); // [ref §8.6] 6 + 153
    const u16 = splitText(a(161), { method: 'udh16', reference: 0x1234 }).segments;
    assert.deepEqual(u16.map((s) => s.shortMessage.subarray(0, 7).toString('hex')), ['06080412340201', '06080412340202']);
  });

  it('80 escape characters fill exactly one SMS; 81 need two parts', () => {
    const ext = '€[]{}^\\|~€';
    const eighty = ext.repeat(8);
    assert.equal(eighty.length, 80);
    assert.equal(countSegments(eighty), 1);
    const one = splitText(eighty, { method: 'udh8' });
    assert.equal(one.segments.length, 1);
    assert.equal(one.segments[0]!.shortMessage.length, 160);
    assert.equal(decodeText(one.segments[0]!.shortMessage, 0), eighty);
    const parts = bodies(`${eighty}€`, 'udh8');
    // 76 pairs = 152 septets; a 77th would need septets 153 and 154
    assert.deepEqual(parts.map((p) => p.length), [152, 10]);
    assert.equal(parts.map((p) => decodeText(p, 0)).join(''), `${eighty}€`);
  });

  it('never splits an escape pair at the 153 boundary', () => {
    const text = `${a(152)}€${'b'.repeat(10)}`;
    const parts = bodies(text, 'udh8');
    assert.deepEqual(parts.map((p) => p.length), [152, 12]);
    assert.deepEqual(parts[1]!.subarray(0, 2), Buffer.from([0x1b, 0x65]));
    assert.deepEqual(parts.map((p) => decodeText(p, 0)), [a(152), `€${'b'.repeat(10)}`]);
  });

  it('never splits an escape pair at the 152 (16-bit) and SAR boundaries', () => {
    assert.deepEqual(lengths(`${a(151)}[${'b'.repeat(10)}`, 'udh16'), [151, 12]);
    assert.deepEqual(lengths(`${a(152)}]${'b'.repeat(10)}`, 'sar'), [152, 12]);
  });

  it('an escape pair just before the boundary stays whole in the first part', () => {
    assert.deepEqual(lengths(`${a(151)}€${'b'.repeat(10)}`, 'udh8'), [153, 10]);
  });
});

describe('splitText UCS2', () => {
  const u = (n: number): string => 'я'.repeat(n);

  it('70 code units fit one SMS; 71 need two parts of 67 + 4', () => {
    const one = splitText(u(70), { method: 'udh8' });
    assert.equal(one.dataCoding, 0x08);
    assert.equal(one.segments.length, 1);
    assert.equal(one.segments[0]!.shortMessage.length, 140);
    assert.deepEqual(lengths(u(71), 'udh8'), [134, 8]);
  });

  it('puts 67 code units in each 8-bit-reference part and 66 in each 16-bit one', () => {
    assert.deepEqual(lengths(u(134), 'udh8'), [134, 134]);
    assert.deepEqual(lengths(u(135), 'udh8'), [134, 134, 2]);
    assert.deepEqual(lengths(u(132), 'udh16'), [132, 132]);
    assert.deepEqual(lengths(u(133), 'udh16'), [132, 132, 2]);
  });

  it('never splits a surrogate pair', () => {
    const text = `${u(66)}😀${u(10)}`;
    const parts = bodies(text, 'udh8');
    assert.deepEqual(parts.map((p) => p.length), [132, 24]);
    assert.deepEqual(parts.map((p) => decodeText(p, 8)), [u(66), `😀${u(10)}`]);
    assert.deepEqual(lengths(`${u(65)}😀${u(10)}`, 'udh16'), [130, 24]);
    // a pair ending exactly on the boundary stays in the first part
    assert.deepEqual(lengths(`${u(65)}😀${u(10)}`, 'udh8'), [134, 20]);
  });

  it('an emoji costs 2 code units: 35 emoji fit one SMS, 36 do not', () => {
    assert.equal(countSegments('😀'.repeat(35)), 1);
    assert.equal(countSegments('😀'.repeat(36)), 2);
  });
});

describe('splitText 8-bit and Latin-1', () => {
  it('140 octets fit one SMS; then 134 per part', () => {
    assert.deepEqual(lengths(a(140), 'udh8', 0x04), [140]);
    assert.deepEqual(lengths(a(141), 'udh8', 0x04), [134, 7]);
    assert.deepEqual(lengths(a(141), 'udh16', 0x03), [133, 8]);
    assert.equal(splitText('ça', { method: 'udh8', allowLatin1: true }).dataCoding, 0x03);
  });
});

describe('splitText SAR and payload', () => {
  it('SAR parts carry no UDH, the udh8 part size and the three SAR values', () => {
    const { segments } = splitText(a(161), { method: 'sar', reference: 0xbeef });
    assert.equal(segments.length, 2);
    assert.deepEqual(
      segments.map((s) => [s.esmClassUdhi, s.shortMessage.length, s.sar]),
      [
        [false, 153, { msgRefNum: 0xbeef, totalSegments: 2, segmentSeqnum: 1 }],
        [false, 8, { msgRefNum: 0xbeef, totalSegments: 2, segmentSeqnum: 2 }],
      ],
    );
  });

  it('a short SAR message is one plain part without SAR values', () => {
    const { segments } = splitText('hi', { method: 'sar' });
    assert.deepEqual(segments, [{ shortMessage: Buffer.from('hi'), esmClassUdhi: false }]);
  });

  it('payload gives one part with message_payload and an empty short_message', () => {
    const { dataCoding, segments } = splitText(a(500), { method: 'payload' });
    assert.equal(dataCoding, 0);
    assert.equal(segments.length, 1);
    assert.equal(segments[0]!.shortMessage.length, 0);
    assert.equal(segments[0]!.esmClassUdhi, false);
    assert.deepEqual(segments[0]!.messagePayload, Buffer.alloc(500, 0x61));
    assert.equal(countSegments(a(500), { method: 'payload' }), 1);
    assert.throws(() => splitEncoded(Buffer.alloc(65536), 4, { method: 'payload' }), RangeError);
  });

  it('an empty text is one empty part', () => {
    assert.deepEqual(splitText('', { method: 'udh8' }).segments, [{ shortMessage: Buffer.alloc(0), esmClassUdhi: false }]);
  });
});

describe('limits and errors', () => {
  it('allows 255 parts and refuses 256', () => {
    assert.equal(splitText(a(153 * 255), { method: 'udh8' }).segments.length, 255);
    assert.equal(countSegments(a(153 * 255 + 1)), 256);
    assert.throws(() => splitText(a(153 * 255 + 1), { method: 'udh8' }), RangeError);
  });

  it('checks the reference range per method', () => {
    assert.throws(() => splitText(a(161), { method: 'udh8', reference: 256 }), RangeError);
    assert.throws(() => splitText(a(161), { method: 'udh16', reference: 65536 }), RangeError);
    assert.throws(() => splitText(a(161), { method: 'sar', reference: -1 }), RangeError);
    assert.equal(splitText(a(161), { method: 'udh16', reference: 65535 }).segments.length, 2);
  });

  it('picks a reference when none is given, in range', () => {
    for (let i = 0; i < 300; i++) {
      const ref = splitText(a(161), { method: 'udh8' }).segments[0]!.shortMessage[3]!;
      assert.ok(ref >= 0 && ref <= 255);
    }
  });

  it('countSegments agrees with splitText', () => {
    for (const [text, method] of [
      [a(161), 'udh8'],
      [a(305), 'udh16'],
      ['я'.repeat(135), 'sar'],
      [`${a(152)}€${a(10)}`, 'udh8'],
    ] as const) {
      assert.equal(countSegments(text, { method }), splitText(text, { method }).segments.length);
    }
  });
});

describe('properties', () => {
  const pieces = fc.constantFrom('a', 'Z', ' ', '€', '[', '^', 'é', 'ç', 'я', '😀', '@', '\n');
  const texts = fc.array(pieces, { maxLength: 700 }).map((p) => p.join(''));
  const methods = fc.constantFrom<SplitMethod>('udh8', 'udh16', 'sar');

  it('split + reassemble gives back the text, parts fit and pairs stay whole', () => {
    fc.assert(
      fc.property(texts, methods, fc.boolean(), (text, method, allowLatin1) => {
        const { dataCoding, segments } = splitText(text, { method, allowLatin1 });
        const reassembler = new Reassembler();
        let whole: Buffer | undefined;
        for (const seg of segments) {
          const ud = body(seg);
          const coding = dataCoding === 0 ? 'gsm7' : dataCoding === 8 ? 'ucs2' : 'latin1';
          assert.ok(ud.length <= userDataCapacity(coding, segments.length === 1 ? 0 : 6), 'part too long');
          if (dataCoding === 0) assert.notEqual(ud.at(-1), 0x1b, 'part ends with ESC');
          if (dataCoding === 8 && ud.length > 0) {
            const first = ud.readUInt16BE(0);
            assert.ok(first < 0xdc00 || first > 0xdfff, 'part starts with a low surrogate');
          }
          if (segments.length === 1) {
            whole = ud;
            break;
          }
          const info = concatInfoOf({
            esmClass: seg.esmClassUdhi ? 0x40 : 0,
            shortMessage: seg.shortMessage,
            sarMsgRefNum: seg.sar?.msgRefNum,
            sarTotalSegments: seg.sar?.totalSegments,
            sarSegmentSeqnum: seg.sar?.segmentSeqnum,
          });
          assert.ok(info);
          whole = reassembler.add({ key: 'k', ref: info.ref, total: info.total, seq: info.seq, data: info.data }, 0);
        }
        assert.ok(whole);
        assert.equal(decodeText(whole, dataCoding), text);
        assert.equal(countSegments(text, { method, allowLatin1 }), segments.length);
      }),
    );
  });
});
