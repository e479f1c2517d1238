/**
 * Malformed frames and bodies: the codec-level cases of ref §9.3 (24, 25, 28-36, 41) and the
 * decoding-error policy of ref §6.8, every input built with the independent PduBuilder. Each
 * error is checked for its exact command_status, command_id and sequence_number.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALL_COMMANDS,
  appendField,
  BODY,
  buildPdu,
  type FieldSpec,
  HEADER_ONLY_COMMANDS,
  PduBuilder,
  samplePdu,
  TLV_SPECS,
  type TlvSpec,
  tv,
} from '../../test/support/pdu-builder.js';
import { CommandId, type CommandName, CommandStatus, commandStatusName, TlvTag } from './constants.js';
import { PduDecodeError } from './errors.js';
import { decodePdu, FrameDecoder } from './index.js';
import type { Pdu } from './types.js';

const S = CommandStatus;
const SEQ = 0x7654321f;

interface Want {
  status: number;
  commandId?: number | undefined;
  seq?: number;
  fatal?: boolean;
}

function checkError(e: unknown, want: Want, ctx: string, frameLength?: number): true {
  assert.ok(e instanceof PduDecodeError, `${ctx}: expected PduDecodeError, got ${String(e)}`);
  assert.equal(
    commandStatusName(e.commandStatus),
    commandStatusName(want.status),
    `${ctx}: command_status (${e.message})`,
  );
  if ('commandId' in want) assert.equal(e.commandId, want.commandId, `${ctx}: commandId`);
  if (want.seq !== undefined) assert.equal(e.sequenceNumber, want.seq, `${ctx}: sequenceNumber`);
  if (want.fatal !== undefined) assert.equal(e.fatal, want.fatal, `${ctx}: fatal`);
  if (frameLength !== undefined) {
    assert.ok(e.offset >= 0 && e.offset <= frameLength, `${ctx}: offset ${e.offset} outside the frame`);
  }
  return true;
}

/** decodePdu(frame) must throw exactly `want`. */
function rejects(frame: Buffer, want: Want, ctx: string): void {
  let result: Pdu | undefined;
  try {
    result = decodePdu(frame);
  } catch (e) {
    checkError(e, want, ctx, frame.length);
    return;
  }
  assert.fail(`${ctx}: decoded without error (${commandStatusName(want.status)} expected): ${JSON.stringify(result)}`);
}

/** decodePdu must reject `frame` without reading past it: same result as a copy in a larger buffer. */
function rejectsInsideLargerBuffer(frame: Buffer, tail: Buffer, want: Want, ctx: string): void {
  rejects(frame, want, ctx);
  const big = Buffer.concat([frame, tail]);
  rejects(big.subarray(0, frame.length), want, `${ctx} (view of a larger buffer)`);
}

/** The first complete frame from a FrameDecoder fed `chunks`, or the error it throws. */
function frameDecoderError(chunks: Buffer[], opts?: { maxPduBytes?: number }): unknown {
  const fd = new FrameDecoder(opts);
  try {
    for (const c of chunks) {
      fd.push(c);
      for (let f = fd.next(); f !== undefined; f = fd.next()) {
        /* drain */
      }
    }
  } catch (e) {
    return e;
  }
  return undefined;
}

function bodyCommands(): CommandName[] {
  return ALL_COMMANDS.filter((c) => !HEADER_ONLY_COMMANDS.includes(c));
}

/** Byte ranges of each mandatory field of a sample PDU body. */
function fieldLayout(pdu: Record<string, unknown>, command: CommandName): { f: FieldSpec; start: number; end: number }[] {
  const out: { f: FieldSpec; start: number; end: number }[] = [];
  const b = new PduBuilder();
  for (const f of BODY[command]) {
    const start = b.length;
    appendField(b, f, pdu);
    out.push({ f, start, end: b.length });
  }
  return out;
}

function bodyOf(pdu: Record<string, unknown>, command: CommandName): Buffer {
  const b = new PduBuilder();
  for (const f of BODY[command]) appendField(b, f, pdu);
  return b.body();
}

const DATA_SM_HEAD = (src = '12345', dst = '447700900123'): PduBuilder =>
  new PduBuilder().cstring('').u8(0).u8(1).cstring(src).u8(1).u8(1).cstring(dst).u8(0).u8(0).u8(0);

// ---- case 24: command_length below 16 -------------------------------------------------------

describe('§9.3 case 24: command_length < 16', () => {
  for (const len of [0, 1, 4, 8, 15]) {
    it(`command_length ${len}: decodePdu rejects with ESME_RINVCMDLEN`, () => {
      const frame = new PduBuilder().buildWithLength(len, CommandId.enquire_link, 0, SEQ);
      rejects(frame, { status: S.ESME_RINVCMDLEN, seq: SEQ }, `len ${len}`);
    });

    it(`command_length ${len}: FrameDecoder throws fatal ESME_RINVCMDLEN with the header's sequence`, () => {
      const frame = new PduBuilder().buildWithLength(len, CommandId.submit_sm, 0, SEQ);
      const e = frameDecoderError([frame]);
      checkError(e, { status: S.ESME_RINVCMDLEN, commandId: CommandId.submit_sm, seq: SEQ, fatal: true }, `len ${len}`);
    });

    it(`command_length ${len}: FrameDecoder throws as soon as the 4 length octets are in`, () => {
      const frame = new PduBuilder().buildWithLength(len, CommandId.enquire_link, 0, SEQ);
      const fd = new FrameDecoder();
      fd.push(frame.subarray(0, 2));
      assert.equal(fd.next(), undefined);
      fd.push(frame.subarray(2, 4));
      assert.throws(
        () => fd.next(),
        (e) => checkError(e, { status: S.ESME_RINVCMDLEN, seq: 0, fatal: true }, `len ${len}`),
      );
    });
  }

  it('command_length 8 after a valid PDU in the same chunk: the valid one comes out first', () => {
    const good = new PduBuilder().build(CommandId.enquire_link, 0, 1);
    const bad = new PduBuilder().buildWithLength(8, CommandId.enquire_link, 0, 2);
    const fd = new FrameDecoder();
    fd.push(Buffer.concat([good, bad]));
    const first = fd.next();
    assert.equal(first?.toString('hex'), good.toString('hex'));
    assert.throws(
      () => fd.next(),
      (e) => checkError(e, { status: S.ESME_RINVCMDLEN, seq: 2, fatal: true }, 'second'),
    );
  });

  it('command_length 16 (header only) is accepted', () => {
    const frame = new PduBuilder().build(CommandId.enquire_link, 0, SEQ);
    const fd = new FrameDecoder();
    fd.push(frame);
    assert.equal(fd.next()?.toString('hex'), frame.toString('hex'));
    const pdu = decodePdu(frame);
    assert.equal(pdu.command, 'enquire_link');
    assert.equal(pdu.sequenceNumber, SEQ);
  });

  it('decodePdu rejects a buffer shorter than the 16-octet header', () => {
    for (let n = 0; n < 16; n++) {
      const full = new PduBuilder().build(CommandId.enquire_link, 0, SEQ);
      rejects(full.subarray(0, n), { status: S.ESME_RINVCMDLEN }, `${n} octets`);
    }
  });

  it('decodePdu rejects a frame shorter than its command_length', () => {
    const full = buildPdu(samplePdu('submit_sm', SEQ));
    for (const cut of [16, 20, full.length - 1]) {
      rejects(
        full.subarray(0, cut),
        { status: S.ESME_RINVCMDLEN, commandId: CommandId.submit_sm, seq: SEQ },
        `cut at ${cut} of ${full.length}`,
      );
    }
  });
});

// ---- case 25: command_length huge -----------------------------------------------------------

/** Runs fn while recording the size of every Buffer allocation request. */
function largestAllocation(fn: () => void): number {
  const B = Buffer as unknown as Record<string, (...a: unknown[]) => Buffer>;
  const names = ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const;
  const saved = names.map((n) => B[n]!);
  let largest = 0;
  names.forEach((n, i) => {
    const orig = saved[i]!;
    B[n] = function (this: unknown, size: unknown, ...rest: unknown[]) {
      if (typeof size === 'number' && size > largest) largest = size;
      return orig.call(this, size, ...rest);
    };
  });
  try {
    fn();
  } finally {
    names.forEach((n, i) => {
      B[n] = saved[i]!;
    });
  }
  return largest;
}

describe('§9.3 case 25: command_length 0xFFFFFFFF / 0x7FFFFFFF / above the maximum', () => {
  for (const len of [0xffffffff, 0x7fffffff, 0x80000000, 70_001, 1_000_000]) {
    it(`command_length 0x${len.toString(16)}: fatal ESME_RINVCMDLEN, nothing large allocated`, () => {
      const header = new PduBuilder().buildWithLength(len, CommandId.submit_sm, 0, SEQ);
      const before = process.memoryUsage().arrayBuffers;
      let err: unknown;
      const largest = largestAllocation(() => {
        err = frameDecoderError([header, Buffer.alloc(64, 0x41)]);
      });
      checkError(err, { status: S.ESME_RINVCMDLEN, commandId: CommandId.submit_sm, seq: SEQ, fatal: true }, 'header');
      assert.ok(largest <= 65536, `allocated ${largest} octets`);
      assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, 'no large ArrayBuffer');
    });

    it(`command_length 0x${len.toString(16)}: rejected from the 4 length octets alone`, () => {
      const header = new PduBuilder().buildWithLength(len, CommandId.submit_sm, 0, SEQ);
      let err: unknown;
      const largest = largestAllocation(() => {
        err = frameDecoderError([header.subarray(0, 4)]);
      });
      checkError(err, { status: S.ESME_RINVCMDLEN, fatal: true }, 'length only');
      assert.ok(largest <= 65536, `allocated ${largest} octets`);
    });

    it(`command_length 0x${len.toString(16)}: decodePdu rejects with ESME_RINVCMDLEN`, () => {
      const frame = new PduBuilder().cstring('x').buildWithLength(len, CommandId.submit_sm_resp, 0, SEQ);
      rejects(frame, { status: S.ESME_RINVCMDLEN, seq: SEQ }, 'decodePdu');
    });
  }

  it('a frame is assembled only once all of it has arrived: its length alone allocates nothing', () => {
    const fd = new FrameDecoder();
    const header = new PduBuilder().buildWithLength(60_000, CommandId.data_sm, 0, 3);
    const largest = largestAllocation(() => {
      fd.push(header.subarray(0, 4));
      assert.equal(fd.next(), undefined);
      fd.push(header.subarray(4, 16));
      assert.equal(fd.next(), undefined);
    });
    assert.ok(largest < 1024, `allocated ${largest} octets for 16`);
  });

  it('the default maximum is 70000 [ref §6.8]: a 65535-octet message_payload fits, 70001 is refused', () => {
    const payload = Buffer.alloc(65535, 0x61);
    const ok = DATA_SM_HEAD().tlv(TlvTag.message_payload, payload).build(CommandId.data_sm, 0, 1);
    assert.ok(ok.length > 65536 && ok.length <= 70_000, `${ok.length}`);
    const fd = new FrameDecoder();
    fd.push(ok);
    assert.equal(fd.next()?.length, ok.length);
    const pdu = decodePdu(ok);
    assert.equal(pdu.command, 'data_sm');
    if (pdu.command === 'data_sm') assert.equal(pdu.tlvs.messagePayload?.length, payload.length);

    const bad = new PduBuilder().buildWithLength(70_001, CommandId.data_sm, 0, 2);
    checkError(frameDecoderError([bad]), { status: S.ESME_RINVCMDLEN, seq: 2, fatal: true }, '70001');
  });

  it('maxPduBytes is honoured at its boundary', () => {
    const at = new PduBuilder().octets(Buffer.alloc(1000 - 16)).build(CommandId.enquire_link, 0, 3);
    assert.equal(at.length, 1000);
    const fd = new FrameDecoder({ maxPduBytes: 1000 });
    fd.push(at);
    assert.equal(fd.next()?.length, 1000);
    const over = new PduBuilder().buildWithLength(1001, CommandId.enquire_link, 0, 4);
    checkError(
      frameDecoderError([over], { maxPduBytes: 1000 }),
      { status: S.ESME_RINVCMDLEN, seq: 4, fatal: true },
      '1001 > 1000',
    );
  });

  it('a valid but incomplete frame is waited for, and counted in `buffered`', () => {
    const frame = buildPdu(samplePdu('submit_sm', 9));
    const fd = new FrameDecoder();
    fd.push(frame.subarray(0, 20));
    assert.equal(fd.next(), undefined);
    assert.equal(fd.buffered, 20);
    fd.push(frame.subarray(20));
    assert.equal(fd.next()?.toString('hex'), frame.toString('hex'));
    assert.equal(fd.buffered, 0);
    assert.equal(fd.next(), undefined);
  });

  it('empty chunks are harmless', () => {
    const frame = buildPdu(samplePdu('query_sm', 9));
    const fd = new FrameDecoder();
    fd.push(Buffer.alloc(0));
    assert.equal(fd.next(), undefined);
    fd.push(frame.subarray(0, 3));
    fd.push(Buffer.alloc(0));
    fd.push(frame.subarray(3));
    assert.equal(fd.next()?.toString('hex'), frame.toString('hex'));
    assert.equal(fd.buffered, 0);
  });
});

// ---- case 28: unknown command_id ---------------------------------------------------------------

describe('§9.3 case 28: unknown command_id', () => {
  const unknownIds = [0x00000099, 0x0000000a, 0x00000000, 0x80000099, 0x8000000b, 0x80000102, 0x00010200, 0x01000001];
  for (const id of unknownIds) {
    it(`0x${id.toString(16).padStart(8, '0')} with a body: ESME_RINVCMDID, same sequence, not fatal`, () => {
      const frame = new PduBuilder().cstring('whatever').u32(7).build(id, 0, SEQ);
      rejects(frame, { status: S.ESME_RINVCMDID, commandId: id, seq: SEQ, fatal: false }, 'unknown id');
      rejects(
        new PduBuilder().build(id, 0, SEQ),
        { status: S.ESME_RINVCMDID, commandId: id, seq: SEQ },
        'unknown id, header only',
      );
    });
  }

  it('FrameDecoder frames it normally and the next PDU is processed', () => {
    const unknown = new PduBuilder().cstring('body').u8(1).u8(2).build(0x00000099, 0, 20);
    const next = buildPdu(samplePdu('enquire_link', 21));
    const fd = new FrameDecoder();
    fd.push(Buffer.concat([unknown, next]));
    const f1 = fd.next();
    assert.equal(f1?.toString('hex'), unknown.toString('hex'));
    assert.throws(
      () => decodePdu(f1!),
      (e) => checkError(e, { status: S.ESME_RINVCMDID, seq: 20, commandId: 0x99 }, 'f1'),
    );
    const f2 = fd.next();
    assert.equal(f2?.toString('hex'), next.toString('hex'));
    assert.equal(decodePdu(f2!).sequenceNumber, 21);
  });
});

// ---- case 29: truncated mandatory body -------------------------------------------------------

describe('§9.3 case 29: body ends before all mandatory fields', () => {
  it('submit_sm whose command_length covers only up to source_addr: ESME_RINVCMDLEN', () => {
    const frame = new PduBuilder().cstring('').u8(1).u8(1).cstring('12345').build(CommandId.submit_sm, 0, SEQ);
    rejects(frame, { status: S.ESME_RINVCMDLEN, commandId: CommandId.submit_sm, seq: SEQ }, 'submit_sm');
  });

  for (const command of bodyCommands()) {
    it(`${command}: cut at every octet of the mandatory body`, () => {
      const pdu = samplePdu(command, SEQ);
      const body = bodyOf(pdu, command);
      const layout = fieldLayout(pdu, command);
      const sm = layout.find((l) => l.f.kind === 'sm');
      const isResponse = (CommandId[command] & 0x80000000) !== 0;
      // cut 0 of a response: an empty body is tolerated (checked in the case 41 block).
      for (let cut = isResponse ? 1 : 0; cut < body.length; cut++) {
        const frame = new PduBuilder().octets(body.subarray(0, cut)).build(CommandId[command], 0, SEQ);
        // Once sm_length is in, a shorter short_message is an sm_length overflow [ref §6.8].
        const status = sm !== undefined && cut > sm.start ? S.ESME_RINVMSGLEN : S.ESME_RINVCMDLEN;
        rejectsInsideLargerBuffer(
          frame,
          Buffer.alloc(300, 0),
          { status, commandId: CommandId[command], seq: SEQ },
          `${command} cut at ${cut}/${body.length}`,
        );
      }
    });
  }
});

// ---- case 30: C-string without NUL -------------------------------------------------------------

describe('§9.3 case 30: C-string not terminated before the end of the PDU', () => {
  it('submit_sm whose destination_addr runs to the end: ESME_RINVCMDLEN, no read past the frame', () => {
    const frame = new PduBuilder()
      .cstring('')
      .u8(1)
      .u8(1)
      .cstring('12345')
      .u8(1)
      .u8(1)
      .octets(Buffer.from('4477', 'latin1'))
      .build(CommandId.submit_sm, 0, SEQ);
    rejectsInsideLargerBuffer(
      frame,
      Buffer.from('00000000000000000000', 'hex'),
      { status: S.ESME_RINVCMDLEN, commandId: CommandId.submit_sm, seq: SEQ },
      'destination_addr',
    );
  });

  for (const command of bodyCommands()) {
    it(`${command}: every C-string field left unterminated at the end of the PDU`, () => {
      const pdu = samplePdu(command, SEQ);
      const body = bodyOf(pdu, command);
      for (const { f, start } of fieldLayout(pdu, command)) {
        if (f.kind !== 'cstr' && f.kind !== 'time') continue;
        const frame = new PduBuilder()
          .octets(body.subarray(0, start))
          .octets(Buffer.from('AB', 'latin1'))
          .build(CommandId[command], 0, SEQ);
        rejectsInsideLargerBuffer(
          frame,
          Buffer.alloc(100, 0),
          { status: S.ESME_RINVCMDLEN, commandId: CommandId[command], seq: SEQ },
          `${command}.${f.key}`,
        );
      }
    });
  }

  it('submit_multi: destination_addr and dl_name inside dest_address unterminated', () => {
    const head = new PduBuilder().cstring('').u8(0).u8(0).cstring('1234');
    const a = new PduBuilder().append(head).u8(1).u8(1).u8(1).u8(1).octets(Buffer.from('447', 'latin1'));
    rejects(a.build(CommandId.submit_multi, 0, SEQ), { status: S.ESME_RINVCMDLEN, seq: SEQ }, 'destination_addr');
    const b = new PduBuilder().append(head).u8(1).u8(2).octets(Buffer.from('lst', 'latin1'));
    rejects(b.build(CommandId.submit_multi, 0, SEQ), { status: S.ESME_RINVCMDLEN, seq: SEQ }, 'dl_name');
  });

  it('submit_multi_resp: unsuccess_sme destination_addr unterminated', () => {
    const frame = new PduBuilder().cstring('id').u8(1).u8(1).u8(1).octets(Buffer.from('447', 'latin1'));
    rejects(frame.build(CommandId.submit_multi_resp, 0, SEQ), { status: S.ESME_RINVCMDLEN, seq: SEQ }, 'unsuccess');
  });
});

// ---- case 31: over-long C-strings --------------------------------------------------------------

function withField(command: CommandName, key: string, value: unknown): Buffer {
  const pdu = samplePdu(command, SEQ);
  pdu[key] = value;
  return buildPdu(pdu);
}

describe('§9.3 case 31: C-string longer than its maximum', () => {
  for (const command of bodyCommands()) {
    for (const f of BODY[command]) {
      if (f.kind !== 'cstr' && f.kind !== 'time') continue;
      const max = f.kind === 'cstr' ? f.max : 17;
      it(`${command}.${f.key}: ${max - 1} chars accepted, ${max} → ${commandStatusName(f.tooLong)}`, () => {
        const fit = f.kind === 'time' ? '260101120000000+' : 'x'.repeat(max - 1);
        const pdu = decodePdu(withField(command, f.key, fit)) as unknown as Record<string, unknown>;
        assert.equal(pdu[f.key], fit, 'longest legal value decoded');
        for (const n of [max, max + 1, 200]) {
          rejects(
            withField(command, f.key, 'x'.repeat(n)),
            { status: f.tooLong, commandId: CommandId[command], seq: SEQ },
            `${command}.${f.key} with ${n} chars`,
          );
        }
      });
    }
  }

  it('source_addr of 21 chars in submit_sm: ESME_RINVSRCADR; destination_addr: ESME_RINVDSTADR', () => {
    rejects(withField('submit_sm', 'sourceAddr', '1'.repeat(21)), { status: S.ESME_RINVSRCADR, seq: SEQ }, 'src');
    rejects(withField('submit_sm', 'destinationAddr', '1'.repeat(21)), { status: S.ESME_RINVDSTADR, seq: SEQ }, 'dst');
    rejects(withField('submit_sm', 'serviceType', 'ABCDEF'), { status: S.ESME_RINVSERTYP, seq: SEQ }, 'service_type');
    rejects(withField('query_sm', 'messageId', 'f'.repeat(65)), { status: S.ESME_RINVMSGID, seq: SEQ }, 'message_id');
  });

  it('data_sm: source_addr and destination_addr of 64 chars accepted (C(65)), 65 refused', () => {
    const a64 = '1'.repeat(64);
    const pdu = decodePdu(DATA_SM_HEAD(a64, a64).build(CommandId.data_sm, 0, 5));
    assert.equal(pdu.command, 'data_sm');
    if (pdu.command === 'data_sm') {
      assert.equal(pdu.sourceAddr, a64);
      assert.equal(pdu.destinationAddr, a64);
    }
    const a65 = '1'.repeat(65);
    rejects(DATA_SM_HEAD(a65, '1').build(CommandId.data_sm, 0, 5), { status: S.ESME_RINVSRCADR, seq: 5 }, 'src 65');
    rejects(DATA_SM_HEAD('1', a65).build(CommandId.data_sm, 0, 5), { status: S.ESME_RINVDSTADR, seq: 5 }, 'dst 65');
  });

  it('submit_multi: destination_addr 21 chars → ESME_RINVDSTADR, dl_name 21 chars → ESME_RINVDLNAME', () => {
    const dests = (d: unknown[]) => withField('submit_multi', 'destAddresses', d);
    const ok = decodePdu(
      dests([
        { destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '2'.repeat(20) },
        { destFlag: 2, dlName: 'd'.repeat(20) },
      ]),
    );
    assert.equal(ok.command, 'submit_multi');
    rejects(
      dests([{ destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '2'.repeat(21) }]),
      { status: S.ESME_RINVDSTADR, commandId: CommandId.submit_multi, seq: SEQ },
      'destination_addr',
    );
    rejects(
      dests([{ destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '2' }, { destFlag: 2, dlName: 'd'.repeat(21) }]),
      { status: S.ESME_RINVDLNAME, commandId: CommandId.submit_multi, seq: SEQ },
      'dl_name',
    );
  });

  it('submit_multi_resp: unsuccess_sme destination_addr 21 chars → ESME_RINVDSTADR', () => {
    rejects(
      withField('submit_multi_resp', 'unsuccessSmes', [
        { destAddrTon: 1, destAddrNpi: 1, destinationAddr: '3'.repeat(21), errorStatusCode: 1 },
      ]),
      { status: S.ESME_RINVDSTADR, commandId: CommandId.submit_multi_resp, seq: SEQ },
      'unsuccess destination_addr',
    );
  });
});

// ---- case 32: sm_length past the end -------------------------------------------------------------

describe('§9.3 case 32: sm_length greater than the remaining body → ESME_RINVMSGLEN', () => {
  for (const command of ['submit_sm', 'deliver_sm', 'submit_multi', 'replace_sm'] as const) {
    it(command, () => {
      const pdu = samplePdu(command, SEQ);
      const layout = fieldLayout(pdu, command);
      const sm = layout.find((l) => l.f.kind === 'sm')!;
      const body = bodyOf(pdu, command);
      const msgLen = body[sm.start]!;
      for (const claimed of [msgLen + 1, msgLen + 10, 255]) {
        const patched = Buffer.from(body);
        patched[sm.start] = claimed;
        const frame = new PduBuilder().octets(patched).build(CommandId[command], 0, SEQ);
        rejectsInsideLargerBuffer(
          frame,
          Buffer.alloc(300, 0x41),
          { status: S.ESME_RINVMSGLEN, commandId: CommandId[command], seq: SEQ },
          `${command} sm_length ${claimed} with ${msgLen} octets`,
        );
      }
    });
  }

  it('sm_length 0 with no octets, and the maximum 255, are accepted', () => {
    for (const len of [0, 254, 255]) {
      const pdu = decodePdu(withField('submit_sm', 'shortMessage', Buffer.alloc(len, 0x42)));
      assert.equal(pdu.command, 'submit_sm');
      if (pdu.command === 'submit_sm') assert.equal(pdu.shortMessage.length, len);
    }
  });
});

// ---- cases 33 and 34: TLV stream ------------------------------------------------------------------

describe('§9.3 case 33: TLV length runs past the end of the PDU → ESME_RINVTLVSTREAM', () => {
  it('submit_sm with a message_payload claiming more octets than there are', () => {
    const body = bodyOf(samplePdu('submit_sm'), 'submit_sm');
    for (const [claimed, present] of [
      [10, 3],
      [1, 0],
      [65535, 100],
    ] as const) {
      const frame = new PduBuilder()
        .octets(body)
        .tlvWithLength(TlvTag.message_payload, claimed, Buffer.alloc(present, 0x41))
        .build(CommandId.submit_sm, 0, SEQ);
      rejectsInsideLargerBuffer(
        frame,
        Buffer.alloc(70000, 0),
        { status: S.ESME_RINVTLVSTREAM, commandId: CommandId.submit_sm, seq: SEQ },
        `claimed ${claimed}, present ${present}`,
      );
    }
  });

  it('the overrunning TLV after valid TLVs, for known and unknown tags', () => {
    for (const tag of [TlvTag.receipted_message_id, TlvTag.sar_msg_ref_num, 0x1401, 0x7777]) {
      const frame = new PduBuilder()
        .octets(bodyOf(samplePdu('deliver_sm'), 'deliver_sm'))
        .tlv(TlvTag.message_state, tv.u8(2))
        .tlvWithLength(tag, 5, Buffer.from([0x31, 0x32]))
        .build(CommandId.deliver_sm, 0, SEQ);
      rejectsInsideLargerBuffer(
        frame,
        Buffer.alloc(10, 0),
        { status: S.ESME_RINVTLVSTREAM, commandId: CommandId.deliver_sm, seq: SEQ },
        `tag 0x${tag.toString(16)}`,
      );
    }
  });

  for (const command of bodyCommands()) {
    it(`${command}: TLV overrun after the mandatory body`, () => {
      const frame = new PduBuilder()
        .octets(bodyOf(samplePdu(command), command))
        .tlvWithLength(0x1400, 2, [1])
        .build(CommandId[command], 0, SEQ);
      rejects(frame, { status: S.ESME_RINVTLVSTREAM, commandId: CommandId[command], seq: SEQ }, command);
    });
  }
});

describe('§9.3 case 34: 1-3 stray octets after the last TLV → ESME_RINVTLVSTREAM', () => {
  for (const command of bodyCommands()) {
    it(command, () => {
      const body = bodyOf(samplePdu(command), command);
      for (const stray of [1, 2, 3]) {
        const junk = Buffer.from([0x02, 0x04, 0x00].slice(0, stray));
        const noTlv = new PduBuilder().octets(body).octets(junk).build(CommandId[command], 0, SEQ);
        rejects(noTlv, { status: S.ESME_RINVTLVSTREAM, commandId: CommandId[command], seq: SEQ }, `${stray} after body`);
        const afterTlv = new PduBuilder()
          .octets(body)
          .tlv(0x1401, [9, 9])
          .octets(junk)
          .build(CommandId[command], 0, SEQ);
        rejects(afterTlv, { status: S.ESME_RINVTLVSTREAM, commandId: CommandId[command], seq: SEQ }, `${stray} after TLV`);
      }
    });
  }
});

// ---- case 35: known TLV with an impossible length -------------------------------------------------

/** A PDU the TLV belongs in (ref §4.2), so "unexpected TLV" leniency cannot hide a length check. */
function hostFor(spec: TlvSpec): CommandName {
  const byName: Partial<Record<string, CommandName>> = {
    sc_interface_version: 'bind_transceiver_resp',
    ms_availability_status: 'alert_notification',
    additional_status_info_text: 'data_sm_resp',
    delivery_failure_reason: 'data_sm_resp',
    dpf_result: 'data_sm_resp',
    congestion_state: 'submit_sm_resp',
    message_state: 'deliver_sm',
    receipted_message_id: 'deliver_sm',
    network_error_code: 'deliver_sm',
    broadcast_error_status: 'broadcast_sm_resp',
    broadcast_area_success: 'query_broadcast_sm_resp',
    broadcast_end_time: 'query_broadcast_sm_resp',
  };
  const named = byName[spec.name];
  if (named !== undefined) return named;
  if (spec.name.startsWith('broadcast_')) return 'broadcast_sm';
  return 'submit_sm';
}

/** Lengths the ref's TLV table makes impossible for a tag. */
function badLengths(spec: TlvSpec): number[] {
  const t = spec.type;
  switch (t.kind) {
    case 'u8':
      return [0, 2];
    case 'u16':
      return [0, 1, 3];
    case 'u32':
      return [0, 3, 5];
    case 'nec':
      return [0, 2, 4];
    case 'time':
      return [0, 15, 18];
    case 'cstr':
      return [t.min - 1, t.max + 1].filter((n) => n >= 0);
    case 'octets': {
      const out = [t.min - 1, t.max + 1].filter((n) => n >= 0 && n <= 65535);
      if (t.only !== undefined) {
        for (let n = t.min; n <= t.max; n++) if (!t.only.includes(n)) out.push(n);
      }
      return out.sort((a, b) => a - b);
    }
  }
}

describe('a PDU of thousands of TLVs → ESME_RINVTLVSTREAM (256 at most)', () => {
  it('256 empty unknown TLVs are read; 257 are refused, cheaply', () => {
    const body = bodyOf(samplePdu('submit_sm'), 'submit_sm');
    const many = (n: number) => {
      const b = new PduBuilder().octets(body);
      for (let i = 0; i < n; i++) b.tlv(0x7777, []);
      return b.build(CommandId.submit_sm, 0, SEQ);
    };
    const ok = decodePdu(many(256));
    assert.equal(ok.command, 'submit_sm');
    rejects(many(257), { status: S.ESME_RINVTLVSTREAM, commandId: CommandId.submit_sm, seq: SEQ }, '257 TLVs');
    rejects(many(16_000), { status: S.ESME_RINVTLVSTREAM, commandId: CommandId.submit_sm, seq: SEQ }, '16000 TLVs');
  });
});

describe('§9.3 case 35: known TLV with a length impossible for its type → ESME_RINVTLVLEN', () => {
  it('the two examples of ref §9.3: sar_msg_ref_num length 1, message_state length 2', () => {
    const sar = new PduBuilder()
      .octets(bodyOf(samplePdu('submit_sm'), 'submit_sm'))
      .tlv(TlvTag.sar_msg_ref_num, [1])
      .build(CommandId.submit_sm, 0, SEQ);
    rejects(sar, { status: S.ESME_RINVTLVLEN, commandId: CommandId.submit_sm, seq: SEQ }, 'sar_msg_ref_num');
    const state = new PduBuilder()
      .octets(bodyOf(samplePdu('deliver_sm'), 'deliver_sm'))
      .tlv(TlvTag.message_state, [0, 2])
      .build(CommandId.deliver_sm, 0, SEQ);
    rejects(state, { status: S.ESME_RINVTLVLEN, commandId: CommandId.deliver_sm, seq: SEQ }, 'message_state');
  });

  for (const spec of TLV_SPECS) {
    const host = hostFor(spec);
    it(`${spec.name} (0x${spec.tag.toString(16).padStart(4, '0')}) in ${host}: lengths ${badLengths(spec).join(', ')}`, () => {
      const body = bodyOf(samplePdu(host), host);
      for (const len of badLengths(spec)) {
        // A NUL-terminated value so that C-string TLVs fail on length, not on a missing NUL.
        const value = Buffer.alloc(len, 0x31);
        if (len > 0 && (spec.type.kind === 'cstr' || spec.type.kind === 'time')) value[len - 1] = 0;
        const frame = new PduBuilder()
          .octets(body)
          .tlv(TlvTag.more_messages_to_send === spec.tag ? 0x1401 : TlvTag.more_messages_to_send, [1])
          .tlv(spec.tag, value)
          .build(CommandId[host], 0, SEQ);
        rejects(frame, { status: S.ESME_RINVTLVLEN, commandId: CommandId[host], seq: SEQ }, `${spec.name} length ${len}`);
      }
    });
  }
});

// ---- case 36: unknown and unexpected TLVs -------------------------------------------------------

describe('§9.3 case 36: unknown TLV tags are kept, unexpected known TLVs do not fail', () => {
  it('unknown tags (vendor 0x1401, 0x7777, 0x0000, 0xffff, length 0) land in tlvs.unknown in wire order', () => {
    const frame = new PduBuilder()
      .octets(bodyOf(samplePdu('submit_sm'), 'submit_sm'))
      .tlv(0x7777, [1, 2, 3])
      .tlv(TlvTag.sar_msg_ref_num, tv.u16(0xbeef))
      .tlv(0x1401, [])
      .tlv(0xffff, Buffer.from('vendor', 'latin1'))
      .tlv(0x0000, [0])
      .tlv(TlvTag.sar_total_segments, [3])
      .build(CommandId.submit_sm, 0, SEQ);
    const pdu = decodePdu(frame);
    assert.equal(pdu.command, 'submit_sm');
    if (pdu.command !== 'submit_sm') return;
    assert.equal(pdu.tlvs.sarMsgRefNum, 0xbeef);
    assert.equal(pdu.tlvs.sarTotalSegments, 3);
    const unknown = (pdu.tlvs.unknown ?? []).map((u) => ({ tag: u.tag, hex: Buffer.from(u.value).toString('hex') }));
    assert.deepStrictEqual(unknown, [
      { tag: 0x7777, hex: '010203' },
      { tag: 0x1401, hex: '' },
      { tag: 0xffff, hex: Buffer.from('vendor').toString('hex') },
      { tag: 0x0000, hex: '00' },
    ]);
  });

  it('known TLVs not defined for the PDU (sc_interface_version in submit_sm, message_state in bind_transceiver_resp) decode without error', () => {
    const a = new PduBuilder()
      .octets(bodyOf(samplePdu('submit_sm'), 'submit_sm'))
      .tlv(TlvTag.sc_interface_version, [0x34])
      .tlv(TlvTag.broadcast_rep_num, tv.u16(2))
      .build(CommandId.submit_sm, 0, SEQ);
    assert.equal(decodePdu(a).command, 'submit_sm');
    const b = new PduBuilder().cstring('SMSC').tlv(TlvTag.message_state, [2]).build(CommandId.bind_transceiver_resp, 0, 1);
    assert.equal(decodePdu(b).command, 'bind_transceiver_resp');
  });

  it('repeatable TLVs (callback_num, broadcast_area_identifier...) are arrays in wire order', () => {
    const frame = new PduBuilder()
      .octets(bodyOf(samplePdu('submit_sm'), 'submit_sm'))
      .tlv(TlvTag.callback_num, Buffer.from('\x01\x01\x011234', 'latin1'))
      .tlv(TlvTag.callback_num_pres_ind, [0x01])
      .tlv(TlvTag.callback_num, Buffer.from('\x01\x01\x015678', 'latin1'))
      .tlv(TlvTag.callback_num_pres_ind, [0x05])
      .build(CommandId.submit_sm, 0, 1);
    const pdu = decodePdu(frame);
    if (pdu.command !== 'submit_sm') return assert.fail(pdu.command);
    assert.deepStrictEqual(
      pdu.tlvs.callbackNum?.map((b) => Buffer.from(b).toString('latin1')),
      ['\x01\x01\x011234', '\x01\x01\x015678'],
    );
    assert.deepStrictEqual(pdu.tlvs.callbackNumPresInd, [1, 5]);
  });
});

// ---- submit_multi dest_flag / number_of_dests ----------------------------------------------------

describe('submit_multi dest_flag and number_of_dests [ref §5.8]', () => {
  const head = (): PduBuilder => new PduBuilder().cstring('').u8(1).u8(1).cstring('12345');
  const tail = (b: PduBuilder): PduBuilder =>
    b.u8(0).u8(0).u8(0).cstring('').cstring('').u8(0).u8(0).u8(0).u8(0).u8(2).octets(Buffer.from('hi'));

  for (const flag of [0, 3, 0xff]) {
    it(`dest_flag ${flag} → ESME_RINVDESTFLAG`, () => {
      const frame = tail(head().u8(1).u8(flag).u8(1).u8(1).cstring('447700900123')).build(CommandId.submit_multi, 0, SEQ);
      rejects(frame, { status: S.ESME_RINVDESTFLAG, commandId: CommandId.submit_multi, seq: SEQ }, `flag ${flag}`);
    });
  }

  it('dest_flag 3 in the second of two entries → ESME_RINVDESTFLAG', () => {
    const frame = tail(head().u8(2).u8(1).u8(1).u8(1).cstring('4477').u8(3).cstring('list')).build(
      CommandId.submit_multi,
      0,
      SEQ,
    );
    rejects(frame, { status: S.ESME_RINVDESTFLAG, commandId: CommandId.submit_multi, seq: SEQ }, 'second entry');
  });

  it('number_of_dests 0 → ESME_RINVNUMDESTS', () => {
    const frame = tail(head().u8(0)).build(CommandId.submit_multi, 0, SEQ);
    rejects(frame, { status: S.ESME_RINVNUMDESTS, commandId: CommandId.submit_multi, seq: SEQ }, 'zero dests');
  });

  it('number_of_dests larger than the entries present → ESME_RINVCMDLEN', () => {
    const frame = head().u8(3).u8(1).u8(1).u8(1).cstring('4477').build(CommandId.submit_multi, 0, SEQ);
    rejects(frame, { status: S.ESME_RINVCMDLEN, commandId: CommandId.submit_multi, seq: SEQ }, 'missing dests');
  });

  it('a mix of SME addresses and distribution lists decodes in order', () => {
    const frame = tail(head().u8(3).u8(2).cstring('friends').u8(1).u8(1).u8(1).cstring('4477').u8(2).cstring('x')).build(
      CommandId.submit_multi,
      0,
      SEQ,
    );
    const pdu = decodePdu(frame);
    if (pdu.command !== 'submit_multi') return assert.fail(pdu.command);
    assert.deepStrictEqual(pdu.destAddresses, [
      { destFlag: 2, dlName: 'friends' },
      { destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '4477' },
      { destFlag: 2, dlName: 'x' },
    ]);
    assert.equal(Buffer.from(pdu.shortMessage).toString(), 'hi');
  });

  it('submit_multi_resp no_unsuccess larger than the entries present → ESME_RINVCMDLEN', () => {
    const frame = new PduBuilder().cstring('id').u8(2).u8(1).u8(1).cstring('4477').u32(0x0b).build(
      CommandId.submit_multi_resp,
      0,
      SEQ,
    );
    rejects(frame, { status: S.ESME_RINVCMDLEN, commandId: CommandId.submit_multi_resp, seq: SEQ }, 'missing sme');
  });
});

// ---- case 41 and response bodies -----------------------------------------------------------------

describe('§9.3 case 41: command_status in requests, bodies of error responses [ref §1.1, §6.8]', () => {
  for (const command of bodyCommands().filter((c) => (CommandId[c] & 0x80000000) === 0)) {
    it(`${command} with command_status 0x45 is decoded normally`, () => {
      const pdu = samplePdu(command, SEQ, 0x45);
      const decoded = decodePdu(buildPdu(pdu)) as unknown as Record<string, unknown>;
      assert.equal(decoded['commandStatus'], 0x45);
      for (const f of BODY[command]) assert.deepStrictEqual(decoded[f.key], pdu[f.key], f.key);
    });

    it(`${command} with command_status 0x45 and no body is still truncated (ESME_RINVCMDLEN)`, () => {
      rejects(
        new PduBuilder().build(CommandId[command], 0x45, SEQ),
        { status: S.ESME_RINVCMDLEN, commandId: CommandId[command], seq: SEQ },
        command,
      );
    });
  }

  const respDefaults: Partial<Record<CommandName, Record<string, unknown>>> = {
    bind_receiver_resp: { systemId: '' },
    bind_transmitter_resp: { systemId: '' },
    bind_transceiver_resp: { systemId: '' },
    submit_sm_resp: { messageId: '' },
    deliver_sm_resp: { messageId: '' },
    data_sm_resp: { messageId: '' },
    submit_multi_resp: { messageId: '', unsuccessSmes: [] },
    query_sm_resp: { messageId: '', finalDate: '', messageState: 0, errorCode: 0 },
    broadcast_sm_resp: { messageId: '' },
    query_broadcast_sm_resp: { messageId: '' },
  };
  for (const [command, defaults] of Object.entries(respDefaults) as [CommandName, Record<string, unknown>][]) {
    it(`${command} with an error status and no body decodes with default fields`, () => {
      const pdu = decodePdu(new PduBuilder().build(CommandId[command], S.ESME_RSYSERR, SEQ)) as unknown as Record<
        string,
        unknown
      >;
      assert.equal(pdu['command'], command);
      assert.equal(pdu['commandStatus'], S.ESME_RSYSERR);
      assert.equal(pdu['sequenceNumber'], SEQ);
      for (const [k, v] of Object.entries(defaults)) assert.deepStrictEqual(pdu[k], v, k);
      assert.deepStrictEqual(pdu['tlvs'], {});
    });

    it(`${command} with status 0 and no body is tolerated too (header-only OK responses occur in the wild)`, () => {
      const pdu = decodePdu(new PduBuilder().build(CommandId[command], 0, SEQ)) as unknown as Record<string, unknown>;
      assert.equal(pdu['command'], command);
      assert.equal(pdu['commandStatus'], 0);
      for (const [k, v] of Object.entries(defaults)) assert.deepStrictEqual(pdu[k], v, k);
      assert.deepStrictEqual(pdu['tlvs'], {});
    });
  }

  it('a transaction-mode failure (submit_sm_resp ESME_RDELIVERYFAILURE) keeps its diagnostic TLVs', () => {
    const frame = new PduBuilder()
      .cstring('')
      .tlv(TlvTag.network_error_code, [3, 0x00, 0x22])
      .tlv(TlvTag.delivery_failure_reason, [2])
      .build(CommandId.submit_sm_resp, S.ESME_RDELIVERYFAILURE, SEQ);
    const pdu = decodePdu(frame);
    if (pdu.command !== 'submit_sm_resp') return assert.fail(pdu.command);
    assert.equal(pdu.commandStatus, S.ESME_RDELIVERYFAILURE);
    assert.equal(pdu.messageId, '');
    assert.deepStrictEqual(pdu.tlvs, { networkErrorCode: { networkType: 3, errorCode: 0x22 }, deliveryFailureReason: 2 });
  });

  it('an error response that carries a body anyway (message_id) is tolerated', () => {
    const frame = new PduBuilder().cstring('abc').build(CommandId.submit_sm_resp, S.ESME_RINVDSTADR, SEQ);
    const pdu = decodePdu(frame);
    assert.equal(pdu.command, 'submit_sm_resp');
    assert.equal(pdu.commandStatus, S.ESME_RINVDSTADR);
  });
});

// ---- header fields and value semantics -----------------------------------------------------------

describe('header fields and value semantics', () => {
  it('sequence_number and command_status are read unsigned over the full 32 bits', () => {
    for (const seq of [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
      const pdu = decodePdu(new PduBuilder().build(CommandId.generic_nack, 0xffffffff, seq));
      assert.equal(pdu.sequenceNumber, seq);
      assert.equal(pdu.commandStatus, 0xffffffff);
    }
  });

  it('C-strings are latin1: octets 0x80-0xff map to U+0080-U+00FF', () => {
    const all = Buffer.from(Array.from({ length: 15 }, (_v, i) => 0xf1 + i - 0x70 * (i % 2)));
    const frame = new PduBuilder().octets(all).u8(0).build(CommandId.bind_transmitter_resp, 0, 1);
    const pdu = decodePdu(frame);
    if (pdu.command !== 'bind_transmitter_resp') return assert.fail(pdu.command);
    assert.equal(pdu.systemId, all.toString('latin1'));
  });

  it('an empty C-string is the single octet 0x00', () => {
    const pdu = decodePdu(new PduBuilder().cstring('').build(CommandId.submit_sm_resp, 0, 1));
    if (pdu.command !== 'submit_sm_resp') return assert.fail(pdu.command);
    assert.equal(pdu.messageId, '');
  });

  it('short_message keeps NUL octets and any byte value', () => {
    const msg = Buffer.from([0, 1, 0, 0xff, 0x1b, 0]);
    const pdu = decodePdu(withField('deliver_sm', 'shortMessage', msg));
    if (pdu.command !== 'deliver_sm') return assert.fail(pdu.command);
    assert.equal(Buffer.from(pdu.shortMessage).toString('hex'), msg.toString('hex'));
  });

  it('receipted_message_id TLV is a C-string: the NUL is not part of the value', () => {
    const frame = new PduBuilder()
      .octets(bodyOf(samplePdu('deliver_sm'), 'deliver_sm'))
      .tlv(TlvTag.receipted_message_id, tv.cstr('13017d58'))
      .build(CommandId.deliver_sm, 0, 1);
    const pdu = decodePdu(frame);
    if (pdu.command !== 'deliver_sm') return assert.fail(pdu.command);
    assert.equal(pdu.tlvs.receiptedMessageId, '13017d58');
  });

  it('source_telematics_id accepts 1 or 2 octets, kept raw [ref §10.8]', () => {
    for (const v of [[0x01], [0x01, 0x02]]) {
      const frame = DATA_SM_HEAD().tlv(TlvTag.source_telematics_id, v).build(CommandId.data_sm, 0, 1);
      const pdu = decodePdu(frame);
      if (pdu.command !== 'data_sm') return assert.fail(pdu.command);
      assert.deepStrictEqual([...(pdu.tlvs.sourceTelematicsId ?? [])], v);
    }
  });

  it('broadcast_end_time accepts 16 octets without NUL and 17 with [ref §10.12]', () => {
    for (const raw of ['260101120000000+', '260101120000000+\0']) {
      const frame = new PduBuilder()
        .cstring('id')
        .tlv(TlvTag.broadcast_end_time, Buffer.from(raw, 'latin1'))
        .build(CommandId.query_broadcast_sm_resp, 0, 1);
      const pdu = decodePdu(frame);
      if (pdu.command !== 'query_broadcast_sm_resp') return assert.fail(pdu.command);
      assert.equal(pdu.tlvs.broadcastEndTime, '260101120000000+');
    }
  });

  it('every command decodes from the independent builder with its sample values', () => {
    for (const command of ALL_COMMANDS) {
      const pdu = samplePdu(command, SEQ);
      assert.deepStrictEqual(decodePdu(buildPdu(pdu)), pdu, command);
    }
  });
});
