import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BODY_FORMAT, decodeBody, encodeBody } from './body.js';
import type { MessageBody } from './common.js';

/** A typical MT body; override anything. */
function body(over: Partial<MessageBody> = {}): MessageBody {
  return {
    batchId: null,
    source: { ton: 5, npi: 0 },
    destination: { ton: 1, npi: 1 },
    serviceType: '',
    esmClass: 0,
    protocolId: 0,
    dataCoding: 0,
    registeredDelivery: 1,
    payload: Buffer.from('Hello from the benchmark, a typical short message text'),
    payloadInTlv: false,
    tlvs: null,
    receiptFor: null,
    originNode: 'node-1',
    originSession: 's1',
    ...over,
  };
}

const roundTrip = (b: MessageBody) => decodeBody(encodeBody(b));

describe('message body codec', () => {
  it('round-trips every field, each set to a value of its own', () => {
    const everyByte = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) everyByte[i] = i;
    const full = body({
      batchId: 'batch-1',
      source: { ton: 5, npi: 9 },
      destination: { ton: 2, npi: 18 },
      serviceType: 'CMT',
      esmClass: 0x44,
      protocolId: 0x7f,
      dataCoding: 8,
      registeredDelivery: 0x11,
      payload: everyByte,
      payloadInTlv: true,
      tlvs: Buffer.from([0x14, 0x27, 0x00, 0x01, 0x00, 0xff, 0xfe]),
      receiptFor: 'orig-42',
      originNode: 'node-7',
      originSession: 'sess-9',
    });
    const got = roundTrip(full);
    assert.deepEqual(got, full);
    assert.ok(Buffer.isBuffer(got.payload));
    assert.ok(Buffer.isBuffer(got.tlvs));
  });

  it('keeps null apart from empty: strings and tlvs', () => {
    const nulls = body({ batchId: null, receiptFor: null, originNode: null, originSession: null, tlvs: null });
    const empties = body({ batchId: '', receiptFor: '', originNode: '', originSession: '', tlvs: Buffer.alloc(0) });
    assert.deepEqual(roundTrip(nulls), nulls);
    assert.deepEqual(roundTrip(empties), empties);
    assert.equal(roundTrip(empties).tlvs?.length, 0);
  });

  it('round-trips an empty payload and large payloads (multi-byte lengths)', () => {
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 65_536, 300_000]) {
      const b = body({ payload: Buffer.alloc(size, 0xa5), tlvs: Buffer.alloc(size, 0x5a) });
      const got = roundTrip(b);
      assert.equal(got.payload.length, size);
      assert.deepEqual(got, b, `payload of ${size} bytes`);
    }
  });

  it('round-trips non-ASCII strings, short and long, in every string field', () => {
    const texts = ['Ünïcode', '日本語のテキスト', 'emoji 😀 mix', 'é'.repeat(40), 'a'.repeat(32), 'a'.repeat(33), `${'a'.repeat(31)}ü`];
    for (const t of texts) {
      const b = body({ batchId: t, serviceType: t, receiptFor: t, originNode: t, originSession: t });
      assert.deepEqual(roundTrip(b), b, t);
    }
  });

  it('stores numbers outside 0..255 exactly (the store does not judge SMPP ranges)', () => {
    const b = body({ source: { ton: 256, npi: -1 }, esmClass: 1.5, registeredDelivery: 2 ** 40 });
    assert.deepEqual(roundTrip(b), b);
    const wideSize = encodeBody(b).length;
    assert.equal(wideSize - encodeBody(body()).length, 8 * 7, 'eight numbers take eight bytes each');
  });

  it('is compact: a typical message costs 2 + 8 bytes plus its fields', () => {
    const b = body();
    const fields = 1 + (1 + 6) + (1 + 2) + (1 + b.payload.length); // service_type, origin node and session, payload
    assert.equal(encodeBody(b).length, 2 + 8 + fields);
  });

  it('refuses an unknown format, a body cut short and one with bytes left over', () => {
    const good = encodeBody(body());
    const otherFormat = Buffer.from(good);
    otherFormat[0] = BODY_FORMAT + 1;
    assert.throws(() => decodeBody(otherFormat), /format 2 is not known/);
    assert.throws(() => decodeBody(good.subarray(0, good.length - 1)), /cut short/);
    assert.throws(() => decodeBody(Buffer.alloc(0)), /cut short/);
    assert.throws(() => decodeBody(Buffer.concat([good, Buffer.from([0])])), /too many/);
  });

  it('round-trips any body (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
    // -0 comes back as 0, as it did from an INTEGER column.
    const number = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer(), fc.double({ noNaN: true }).map((x) => (x === 0 ? 0 : x)));
    const arbitrary: fc.Arbitrary<MessageBody> = fc.record({
      batchId: fc.option(text, { nil: null }),
      source: fc.record({ ton: number, npi: number }),
      destination: fc.record({ ton: number, npi: number }),
      serviceType: text,
      esmClass: number,
      protocolId: number,
      dataCoding: number,
      registeredDelivery: number,
      payload: bytes,
      payloadInTlv: fc.boolean(),
      tlvs: fc.option(bytes, { nil: null }),
      receiptFor: fc.option(text, { nil: null }),
      originNode: fc.option(text, { nil: null }),
      originSession: fc.option(text, { nil: null }),
    }).map((b) => ({ ...b, source: { ...b.source }, destination: { ...b.destination } })); // plain objects, as the store's
    fc.assert(fc.property(arbitrary, (b) => assert.deepEqual(roundTrip(b), b)));
  });
});
