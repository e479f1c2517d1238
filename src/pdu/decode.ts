/**
 * decodePdu: one complete frame in, one typed PDU out, by interpreting the schema.
 * Never throws anything but PduDecodeError and never reads outside the frame.
 */
import { CommandStatus, DestFlag, HEADER_BYTES } from './constants.js';
import { PduDecodeError } from './errors.js';
import { FieldKind, type FieldSpec, PDU_SPECS, type PduSpec, specForId, TlvKind, tlvSpecForTag } from './schema.js';
import type { DestAddress, Pdu, RawTlv, Tlvs, UnsuccessSme } from './types.js';

const S = CommandStatus;
const EMPTY = Buffer.alloc(0);

/** Cursor state shared by the field readers (module-level: decoding is synchronous). */
let buf: Buffer = EMPTY;
let pos = 0;
let end = 0;
let cmdId = 0;
let seq = 0;

function fail(status: number, reason: string): never {
  throw new PduDecodeError(status, reason, { commandId: cmdId, sequenceNumber: seq, offset: pos });
}

function readU8(): number {
  if (pos >= end) fail(S.ESME_RINVCMDLEN, 'body ends before a mandatory field');
  return buf[pos++]!;
}

function readU32(): number {
  if (pos + 4 > end) fail(S.ESME_RINVCMDLEN, 'body ends before a mandatory field');
  const v = buf.readUInt32BE(pos);
  pos += 4;
  return v;
}

/** Short latin1 strings are built in JS: cheaper than a native slice call for a few octets. */
function latin1(start: number, stop: number): string {
  const n = stop - start;
  if (n === 0) return '';
  if (n > 24) return buf.toString('latin1', start, stop);
  let s = '';
  for (let i = start; i < stop; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

function readCString(f: FieldSpec): string {
  const start = pos;
  const limit = start + f.max; // the NUL must be within max octets
  for (let i = start; i < end; i++) {
    if (buf[i] === 0) {
      pos = i + 1;
      return latin1(start, i);
    }
    if (i + 1 >= limit) {
      pos = i;
      fail(f.status, `${f.specName} longer than ${f.max - 1} characters`);
    }
  }
  pos = end;
  return fail(S.ESME_RINVCMDLEN, `${f.specName} has no terminating NUL before the end of the PDU`);
}

function readShortMessage(): Buffer {
  const n = readU8();
  if (pos + n > end) fail(S.ESME_RINVMSGLEN, `sm_length ${n} runs past the end of the PDU`);
  const v = buf.subarray(pos, pos + n);
  pos += n;
  return v;
}

const addrSpec: FieldSpec = {
  kind: FieldKind.CString,
  key: 'destinationAddr',
  specName: 'destination_addr',
  max: 21,
  status: S.ESME_RINVDSTADR,
};
const dlNameSpec: FieldSpec = {
  kind: FieldKind.CString,
  key: 'dlName',
  specName: 'dl_name',
  max: 21,
  status: S.ESME_RINVDLNAME,
};

function readDestAddresses(): DestAddress[] {
  const n = readU8();
  if (n === 0) fail(S.ESME_RINVNUMDESTS, 'number_of_dests is 0');
  const out: DestAddress[] = [];
  for (let i = 0; i < n; i++) {
    const flag = readU8();
    if (flag === DestFlag.SmeAddress) {
      const destAddrTon = readU8();
      const destAddrNpi = readU8();
      out.push({ destFlag: 1, destAddrTon, destAddrNpi, destinationAddr: readCString(addrSpec) });
    } else if (flag === DestFlag.DistributionList) {
      out.push({ destFlag: 2, dlName: readCString(dlNameSpec) });
    } else {
      fail(S.ESME_RINVDESTFLAG, `dest_flag ${flag} is neither 1 (SME) nor 2 (distribution list)`);
    }
  }
  return out;
}

function readUnsuccessSmes(): UnsuccessSme[] {
  const n = readU8();
  const out: UnsuccessSme[] = [];
  for (let i = 0; i < n; i++) {
    const destAddrTon = readU8();
    const destAddrNpi = readU8();
    const destinationAddr = readCString(addrSpec);
    out.push({ destAddrTon, destAddrNpi, destinationAddr, errorStatusCode: readU32() });
  }
  return out;
}

/** TLVs accepted in one PDU. */
const MAX_TLVS = 256;

/** Reads the TLV area up to the end of the PDU. [SMPP34 §3.2.3], [ref §4.1] */
function readTlvs(): Tlvs {
  const tlvs: Record<string, unknown> = {};
  let count = 0;
  while (pos < end) {
    if (end - pos < 4) fail(S.ESME_RINVTLVSTREAM, `${end - pos} stray octets after the last TLV`);
    // A 64 kB PDU of empty TLVs would be 16,000 objects to make (milliseconds of CPU, before
    // any bind): far past what any real PDU carries.
    if (++count > MAX_TLVS) fail(S.ESME_RINVTLVSTREAM, `more than ${MAX_TLVS} TLVs`);
    const tag = buf.readUInt16BE(pos);
    const len = buf.readUInt16BE(pos + 2);
    const start = pos + 4;
    if (start + len > end) fail(S.ESME_RINVTLVSTREAM, `TLV 0x${tag.toString(16)} length ${len} runs past the PDU`);
    pos = start + len;
    const spec = tlvSpecForTag(tag);
    if (spec === undefined) {
      // [ref §4.1] unknown tag: keep it raw, never an error.
      const raw: RawTlv = { tag, value: buf.subarray(start, start + len) };
      const list = tlvs['unknown'] as RawTlv[] | undefined;
      if (list === undefined) tlvs['unknown'] = [raw];
      else list.push(raw);
      continue;
    }
    if (len < spec.min || len > spec.max || (spec.lengths !== undefined && !spec.lengths.includes(len))) {
      pos = start - 4;
      fail(S.ESME_RINVTLVLEN, `TLV ${spec.name} has length ${len}, expected ${spec.min}..${spec.max}`);
    }
    let value: unknown;
    switch (spec.kind) {
      case TlvKind.U8:
        value = buf[start]!;
        break;
      case TlvKind.U16:
        value = buf.readUInt16BE(start);
        break;
      case TlvKind.U32:
        value = buf.readUInt32BE(start);
        break;
      case TlvKind.CString: {
        // Value includes the NUL; a value without one is read whole (lenient, [ref §10.12]).
        let stop = start + len;
        const nul = buf.indexOf(0, start);
        if (nul !== -1 && nul < stop) stop = nul;
        value = latin1(start, stop);
        break;
      }
      case TlvKind.Octets:
        value = buf.subarray(start, start + len);
        break;
      case TlvKind.NetworkError:
        value = { networkType: buf[start]!, errorCode: buf.readUInt16BE(start + 1) };
        break;
    }
    if (spec.repeat) {
      const list = tlvs[spec.key] as unknown[] | undefined;
      if (list === undefined) tlvs[spec.key] = [value];
      else list.push(value);
    } else {
      tlvs[spec.key] = value;
    }
  }
  return tlvs as Tlvs;
}

/** The field readers the compiled decoders call. */
const rt = {
  u8: readU8,
  u32: readU32,
  cstr: readCString,
  sm: readShortMessage,
  dests: readDestAddresses,
  unsuccess: readUnsuccessSmes,
  tlvs: (): Tlvs => (pos < end ? readTlvs() : {}),
};
type BodyDecoder = (commandStatus: number, sequenceNumber: number) => Pdu;

/**
 * Compiles a schema into a straight-line decoder that builds one object literal.
 * Why: an interpreter assigning `pdu[key] = value` in a loop makes keyed stores megamorphic
 * and ran at a third of the speed (bench/pdu-codec.ts); a literal with a fixed key order gets
 * one hidden class per command. The source is derived only from the static schema.
 */
function compileDecoder(spec: PduSpec, body: readonly FieldSpec[]): BodyDecoder {
  const reader: Record<FieldKind, string> = {
    [FieldKind.U8]: 'rt.u8()',
    [FieldKind.U32]: 'rt.u32()',
    [FieldKind.CString]: 'rt.cstr(F[#])',
    [FieldKind.ShortMessage]: 'rt.sm()',
    [FieldKind.DestAddresses]: 'rt.dests()',
    [FieldKind.UnsuccessSmes]: 'rt.unsuccess()',
  };
  const props = body.map((f, i) => `${JSON.stringify(f.key)}: ${reader[f.kind].replace('#', String(i))}`);
  const src =
    `return function decode_${spec.command}(st, sq) { return { command: ${JSON.stringify(spec.command)}, ` +
    `commandStatus: st, sequenceNumber: sq, ${props.join(', ')}, tlvs: rt.tlvs() }; };`;
  return new Function('rt', 'F', src)(rt, body) as BodyDecoder;
}

const decoders = new Map<number, BodyDecoder>();
for (const spec of PDU_SPECS) if (spec.body !== null) decoders.set(spec.id, compileDecoder(spec, spec.body));

/** Default values for a response that carries no body (error responses omit it). */
function withDefaults(spec: PduSpec, body: readonly FieldSpec[], commandStatus: number, sequenceNumber: number): Pdu {
  const pdu: Record<string, unknown> = { command: spec.command, commandStatus, sequenceNumber };
  for (const f of body) {
    switch (f.kind) {
      case FieldKind.U8:
      case FieldKind.U32:
        pdu[f.key] = 0;
        break;
      case FieldKind.CString:
        pdu[f.key] = '';
        break;
      case FieldKind.ShortMessage:
        pdu[f.key] = EMPTY;
        break;
      default:
        pdu[f.key] = [];
    }
  }
  pdu['tlvs'] = {};
  return pdu as unknown as Pdu;
}

/**
 * Decodes one complete PDU frame (header included; `frame.length` must equal command_length).
 * Octet-string fields are views into `frame`.
 * @throws PduDecodeError carrying the command_status to answer with.
 */
export function decodePdu(frame: Buffer): Pdu {
  if (frame.length < HEADER_BYTES) {
    throw new PduDecodeError(S.ESME_RINVCMDLEN, `PDU of ${frame.length} octets is shorter than its header`, {
      fatal: true,
    });
  }
  const length = frame.readUInt32BE(0);
  const commandId = frame.readUInt32BE(4);
  const commandStatus = frame.readUInt32BE(8);
  const sequenceNumber = frame.readUInt32BE(12);
  if (length !== frame.length) {
    throw new PduDecodeError(S.ESME_RINVCMDLEN, `command_length ${length} does not match the ${frame.length} octets`, {
      commandId,
      sequenceNumber,
      fatal: true,
    });
  }
  const spec = specForId(commandId);
  if (spec === undefined) {
    throw new PduDecodeError(S.ESME_RINVCMDID, `unknown command_id 0x${commandId.toString(16).padStart(8, '0')}`, {
      commandId,
      sequenceNumber,
    });
  }
  const body = spec.body;
  if (body === null) return { command: spec.command, commandStatus, sequenceNumber } as Pdu; // body ignored
  if (spec.isResponse && length === HEADER_BYTES) {
    // [ref §1.1] error responses omit the body; some peers omit it on success too.
    return withDefaults(spec, body, commandStatus, sequenceNumber);
  }
  buf = frame;
  pos = HEADER_BYTES;
  end = length;
  cmdId = commandId;
  seq = sequenceNumber;
  try {
    return decoders.get(commandId)!(commandStatus, sequenceNumber);
  } catch (err) {
    // [ref §1.1] a failed response's body must be tolerated and ignored.
    if (spec.isResponse && commandStatus !== 0 && err instanceof PduDecodeError) {
      return withDefaults(spec, body, commandStatus, sequenceNumber);
    }
    throw err;
  } finally {
    buf = EMPTY;
  }
}

/**
 * Decodes a TLV area alone (stored pass-through TLVs). Octet values are views into `bytes`.
 * @throws PduDecodeError as for a PDU's TLVs.
 */
export function decodeTlvs(bytes: Buffer): Tlvs {
  buf = bytes;
  pos = 0;
  end = bytes.length;
  cmdId = 0;
  seq = 0;
  try {
    return readTlvs();
  } finally {
    buf = EMPTY;
  }
}
