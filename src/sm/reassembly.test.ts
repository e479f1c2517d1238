import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatInfoOf, type DroppedGroup, Reassembler } from './reassembly.js';

const part = (seq: number, data: string, over: { key?: string; ref?: number; total?: number } = {}) => ({
  key: over.key ?? 'src|dst|acct',
  ref: over.ref ?? 9,
  total: over.total ?? 3,
  seq,
  data: Buffer.from(data),
});

describe('Reassembler', () => {
  it('joins parts received in order', () => {
    const r = new Reassembler();
    assert.equal(r.add(part(1, 'Hel'), 0), undefined);
    assert.equal(r.add(part(2, 'lo '), 1), undefined);
    assert.deepEqual(r.add(part(3, 'you'), 2), Buffer.from('Hello you'));
    assert.equal(r.pendingGroups, 0);
    assert.equal(r.pendingBytes, 0);
  });

  it('joins parts received out of order, ignoring duplicates', () => {
    const r = new Reassembler();
    assert.equal(r.add(part(3, 'you'), 0), undefined);
    assert.equal(r.add(part(1, 'Hel'), 0), undefined);
    assert.equal(r.add(part(3, 'XXX'), 0), undefined); // duplicate: the first copy stays
    assert.equal(r.add(part(1, 'YYY'), 0), undefined);
    assert.equal(r.pendingBytes, 6);
    assert.deepEqual(r.add(part(2, 'lo '), 0), Buffer.from('Hello you'));
    // a late duplicate after completion starts a new group and completes nothing
    assert.equal(r.add(part(2, 'lo '), 0), undefined);
    assert.equal(r.pendingGroups, 1);
  });

  it('keeps groups apart by key, reference and total', () => {
    const r = new Reassembler();
    r.add(part(1, 'a'), 0);
    r.add(part(1, 'b', { key: 'other' }), 0);
    r.add(part(1, 'c', { ref: 10 }), 0);
    r.add(part(1, 'd', { total: 2 }), 0);
    assert.equal(r.pendingGroups, 4);
    assert.deepEqual(r.add(part(2, 'D', { total: 2 }), 0), Buffer.from('dD'));
  });

  it('returns a single-part message at once', () => {
    const r = new Reassembler();
    assert.deepEqual(r.add(part(1, 'solo', { total: 1 }), 0), Buffer.from('solo'));
    assert.equal(r.pendingGroups, 0);
  });

  it('copies part data so callers may reuse their buffers', () => {
    const r = new Reassembler();
    const buf = Buffer.from('ab');
    r.add({ key: 'k', ref: 1, total: 2, seq: 1, data: buf }, 0);
    buf.write('zz');
    assert.deepEqual(r.add({ key: 'k', ref: 1, total: 2, seq: 2, data: Buffer.from('c') }, 0), Buffer.from('abc'));
  });

  it('expires incomplete groups after the timeout', () => {
    const dropped: DroppedGroup[] = [];
    const r = new Reassembler({ timeoutMs: 1000, onDrop: (g) => dropped.push(g) });
    r.add(part(1, 'old'), 0);
    r.add(part(1, 'new', { ref: 2 }), 600);
    assert.equal(r.expire(999), 0);
    assert.equal(r.expire(1000), 1);
    assert.equal(r.pendingGroups, 1);
    assert.equal(dropped.length, 1);
    assert.equal(dropped[0]!.reason, 'expired');
    assert.equal(dropped[0]!.ref, 9);
    assert.deepEqual(dropped[0]!.parts, [Buffer.from('old'), undefined, undefined]);
    // the expired group's remaining parts do not complete anything
    assert.equal(r.add(part(2, 'x'), 1001), undefined);
    assert.equal(r.add(part(3, 'y'), 1002), undefined);
    assert.equal(r.expire(1600), 1);
  });

  it('drops an expired group lazily when a late part arrives', () => {
    const r = new Reassembler({ timeoutMs: 100 });
    r.add(part(1, 'a', { total: 2 }), 0);
    assert.equal(r.add(part(2, 'b', { total: 2 }), 500), undefined);
    assert.equal(r.pendingGroups, 1);
    assert.deepEqual(r.add(part(1, 'A', { total: 2 }), 550), Buffer.from('Ab'));
  });

  it('evicts the oldest group beyond maxPendingGroups', () => {
    const dropped: DroppedGroup[] = [];
    const r = new Reassembler({ maxPendingGroups: 2, onDrop: (g) => dropped.push(g) });
    r.add(part(1, 'a', { ref: 1 }), 0);
    r.add(part(1, 'b', { ref: 2 }), 0);
    r.add(part(1, 'c', { ref: 3 }), 0);
    assert.equal(r.pendingGroups, 2);
    assert.deepEqual(dropped.map((g) => [g.ref, g.reason]), [[1, 'evicted']]);
    assert.equal(r.add(part(2, 'x', { ref: 1, total: 2 }), 0), undefined);
  });

  it('evicts the oldest groups beyond maxPendingBytes', () => {
    const r = new Reassembler({ maxPendingBytes: 10 });
    r.add(part(1, '123456', { ref: 1 }), 0);
    r.add(part(1, '123456', { ref: 2 }), 0);
    assert.equal(r.pendingGroups, 1);
    assert.equal(r.pendingBytes, 6);
  });

  it('rejects invalid seq/total', () => {
    const r = new Reassembler();
    assert.throws(() => r.add(part(0, 'a'), 0), RangeError);
    assert.throws(() => r.add(part(4, 'a'), 0), RangeError);
    assert.throws(() => r.add(part(1, 'a', { total: 256 }), 0), RangeError);
  });
});

describe('concatInfoOf', () => {
  it('reads an 8-bit and a 16-bit UDH when UDHI is set and strips the UDH', () => {
    assert.deepEqual(concatInfoOf({ esmClass: 0x40, shortMessage: Buffer.from('0500030a0201414243', 'hex') }), {
      kind: 'udh8',
      ref: 10,
      total: 2,
      seq: 1,
      data: Buffer.from('ABC'),
    });
    assert.deepEqual(concatInfoOf({ esmClass: 0x43, shortMessage: Buffer.from('0608040a0b020241', 'hex') }), {
      kind: 'udh16',
      ref: 0x0a0b,
      total: 2,
      seq: 2,
      data: Buffer.from('A'),
    });
  });

  it('ignores a UDH when UDHI is clear', () => {
    assert.equal(concatInfoOf({ esmClass: 0, shortMessage: Buffer.from('0500030a0201414243', 'hex') }), undefined);
  });

  it('reads message_payload when short_message is empty', () => {
    const info = concatInfoOf({
      esmClass: 0x40,
      shortMessage: Buffer.alloc(0),
      messagePayload: Buffer.from('0500030a020241', 'hex'),
    });
    assert.equal(info?.seq, 2);
    assert.deepEqual(info?.data, Buffer.from('A'));
  });

  it('reads SAR TLVs only when all three are present and valid', () => {
    const shortMessage = Buffer.from('part');
    assert.deepEqual(
      concatInfoOf({ esmClass: 0, shortMessage, sarMsgRefNum: 0x1234, sarTotalSegments: 3, sarSegmentSeqnum: 2 }),
      { kind: 'sar', ref: 0x1234, total: 3, seq: 2, data: shortMessage },
    );
    assert.equal(concatInfoOf({ esmClass: 0, shortMessage, sarMsgRefNum: 1, sarTotalSegments: 3 }), undefined);
    assert.equal(concatInfoOf({ esmClass: 0, shortMessage, sarMsgRefNum: 1, sarTotalSegments: 3, sarSegmentSeqnum: 0 }), undefined);
    assert.equal(concatInfoOf({ esmClass: 0, shortMessage, sarMsgRefNum: 1, sarTotalSegments: 2, sarSegmentSeqnum: 3 }), undefined);
    assert.equal(concatInfoOf({ esmClass: 0, shortMessage }), undefined);
  });

  it('prefers a UDH to SAR TLVs', () => {
    const info = concatInfoOf({
      esmClass: 0x40,
      shortMessage: Buffer.from('0500030a020141', 'hex'),
      sarMsgRefNum: 99,
      sarTotalSegments: 5,
      sarSegmentSeqnum: 5,
    });
    assert.equal(info?.kind, 'udh8');
    assert.equal(info?.ref, 10);
  });

  it('strips a non-concatenation UDH from SAR parts', () => {
    const info = concatInfoOf({
      esmClass: 0x40,
      shortMessage: Buffer.from('0404020b8441', 'hex'),
      sarMsgRefNum: 1,
      sarTotalSegments: 2,
      sarSegmentSeqnum: 1,
    });
    assert.equal(info?.kind, 'sar');
    assert.deepEqual(info?.data, Buffer.from('A'));
  });
});
