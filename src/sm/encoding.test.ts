import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DataCoding } from '../pdu/constants.js';
import { chooseCoding, decodeText, encodeText, TextCoding, TextEncodeError, textCodingOf } from './encoding.js';
import { decodeLatin1, encodeLatin1, isLatin1 } from './latin1.js';
import { decodeUcs2, encodeUcs2 } from './ucs2.js';

describe('UCS2', () => {
  it('encodes big-endian with surrogate pairs for emoji', () => {
    assert.equal(encodeUcs2('Aé€😀').toString('hex'), '004100e920acd83dde00');
    assert.equal(decodeUcs2(Buffer.from('004100e920acd83dde00', 'hex')), 'Aé€😀');
  });

  it('ignores a trailing odd octet and never modifies its input', () => {
    const input = Buffer.from('0041004200', 'hex');
    assert.equal(decodeUcs2(input), 'AB');
    assert.equal(input.toString('hex'), '0041004200');
    assert.equal(decodeUcs2(Buffer.alloc(1)), '');
  });

  it('property: decode(encode(s)) === s for any string, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 20 }), (s, junk) => {
        assert.equal(decodeUcs2(encodeUcs2(s)), s);
        assert.equal(decodeText(encodeText(s + junk, DataCoding.Ucs2).bytes, DataCoding.Ucs2), s + junk);
      }),
    );
  });
});

describe('Latin-1', () => {
  it('encodes up to U+00FF and refuses above', () => {
    assert.deepEqual(encodeLatin1('ÿçA'), Buffer.from([0xff, 0xe7, 0x41]));
    assert.equal(encodeLatin1('€'), undefined);
    assert.equal(isLatin1('Ā'), false);
  });

  it('decodes every octet to the code point of the same value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const text = decodeLatin1(all);
    assert.equal(text.length, 256);
    for (let i = 0; i < 256; i++) assert.equal(text.charCodeAt(i), i);
    assert.deepEqual(encodeLatin1(text), all);
  });
});

describe('data_coding', () => {
  it('classifies data_coding values', () => {
    assert.equal(textCodingOf(0x00), TextCoding.Gsm7);
    assert.equal(textCodingOf(0x01), TextCoding.Gsm7);
    assert.equal(textCodingOf(0x02), TextCoding.Binary);
    assert.equal(textCodingOf(0x03), TextCoding.Latin1);
    assert.equal(textCodingOf(0x04), TextCoding.Binary);
    assert.equal(textCodingOf(0x08), TextCoding.Ucs2);
    assert.equal(textCodingOf(0xf0), TextCoding.Gsm7); // class control, bit 2 clear
    assert.equal(textCodingOf(0xf3), TextCoding.Gsm7);
    assert.equal(textCodingOf(0xf4), TextCoding.Binary); // bit 2 set: 8-bit
    assert.equal(textCodingOf(0xf7), TextCoding.Binary);
    assert.equal(textCodingOf(0xc0), TextCoding.Gsm7);
    assert.equal(textCodingOf(0x06), undefined);
    assert.equal(textCodingOf(0x20), undefined);
  });

  it('chooses GSM, then Latin-1 only when allowed, then UCS2', () => {
    assert.equal(chooseCoding('Hello {world} €5'), DataCoding.Default);
    assert.equal(chooseCoding('ça va'), DataCoding.Ucs2);
    assert.equal(chooseCoding('ça va', { allowLatin1: true }), DataCoding.Latin1);
    assert.equal(chooseCoding('ça va €', { allowLatin1: true }), DataCoding.Ucs2);
    assert.equal(chooseCoding('Привет'), DataCoding.Ucs2);
    assert.equal(chooseCoding(''), DataCoding.Default);
  });

  it('encodeText picks the coding or honours the given one', () => {
    assert.deepEqual(encodeText('@A'), { dataCoding: 0x00, bytes: Buffer.from([0x00, 0x41]) });
    assert.deepEqual(encodeText('ç'), { dataCoding: 0x08, bytes: Buffer.from([0x00, 0xe7]) });
    assert.deepEqual(encodeText('ç', undefined, { allowLatin1: true }), { dataCoding: 0x03, bytes: Buffer.from([0xe7]) });
    assert.deepEqual(encodeText('@', 0x03), { dataCoding: 0x03, bytes: Buffer.from([0x40]) });
    assert.deepEqual(encodeText('@', 0x04), { dataCoding: 0x04, bytes: Buffer.from([0x40]) });
    assert.deepEqual(encodeText('@', 0xf1), { dataCoding: 0xf1, bytes: Buffer.from([0x00]) });
  });

  it('encodeText throws TextEncodeError for unrepresentable text or unsupported codings', () => {
    assert.throws(
      () => encodeText('ç', 0x00),
      (e: unknown) => e instanceof TextEncodeError && e.reason === 'unrepresentable' && e.code === 'SMPP_ERR_TEXT_ENCODE',
    );
    assert.throws(() => encodeText('€', 0x03), TextEncodeError);
    assert.throws(
      () => encodeText('a', 0x06),
      (e: unknown) => e instanceof TextEncodeError && e.reason === 'unsupported-coding',
    );
  });

  it('decodeText follows the coding; binary and unknown codings read as Latin-1', () => {
    assert.equal(decodeText(Buffer.from([0x00, 0x1b, 0x65]), 0x00), '@€');
    assert.equal(decodeText(Buffer.from([0x00, 0x1b, 0x65]), 0x01), '@€');
    assert.equal(decodeText(Buffer.from([0xe9]), 0x03), 'é');
    assert.equal(decodeText(Buffer.from([0xe9, 0x00]), 0x04), 'é\u0000');
    assert.equal(decodeText(Buffer.from([0xe9]), 0x02), 'é');
    assert.equal(decodeText(Buffer.from([0xe9]), 0xf4), 'é');
    assert.equal(decodeText(Buffer.from([0x00]), 0xf0), '@');
    assert.equal(decodeText(Buffer.from([0xe9]), 0x06), 'é');
    assert.equal(decodeText(Buffer.from('d83dde00', 'hex'), 0x08), '😀');
  });

  it('property: decodeText(encodeText(s)) === s with the chosen coding', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), fc.boolean(), (s, allowLatin1) => {
        const { dataCoding, bytes } = encodeText(s, undefined, { allowLatin1 });
        assert.equal(decodeText(bytes, dataCoding), s);
      }),
    );
  });
});
