/**
 * encodePdu: a typed PDU in, one Buffer out, in one allocation: a sizing pass over the
 * schema, then a writing pass into `Buffer.allocUnsafe(size)`. Header-only PDUs take a
 * 16-octet fast path.
 */
import { CommandId, type CommandName, HEADER_BYTES } from './constants.js';
import { PduEncodeError } from './errors.js';
import { FieldKind, type FieldSpec, specForCommand, TlvKind, type TlvSpec, tlvSpecForKey } from './schema.js';
import type { DestAddress, NetworkErrorCode, Pdu, RawTlv, Tlvs, UnsuccessSme } from './types.js';

/** Builds a header-only PDU (enquire_link, unbind, generic_nack, error responses...). */
export function encodeHeaderOnly(commandId: number, commandStatus: number, sequenceNumber: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES);
  out.writeUInt32BE(HEADER_BYTES, 0);
  out.writeUInt32BE(commandId >>> 0, 4);
  out.writeUInt32BE(commandStatus >>> 0, 8);
  out.writeUInt32BE(sequenceNumber >>> 0, 12);
  return out;
}

function bad(field: string, message: string): never {
  throw new PduEncodeError(`${field}: ${message}`, field);
}

function checkU8(v: unknown, field: string): number {
  if (typeof v !== 'number' || (v & 0xff) !== v) bad(field, `must be an integer 0..255, got ${String(v)}`);
  return v;
}
function checkU16(v: unknown, field: string): number {
  if (typeof v !== 'number' || (v & 0xffff) !== v) bad(field, `must be an integer 0..65535, got ${String(v)}`);
  return v;
}
function checkU32(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    bad(field, `must be an integer 0..4294967295, got ${String(v)}`);
  }
  return v;
}
/** C-strings carry octets 0x01-0xFF: a NUL would end the field early, wider characters do not fit. */
const NOT_LATIN1_OR_NUL = /[^\u0001-\u00ff]/;

function checkString(v: unknown, max: number, field: string): string {
  if (typeof v !== 'string') bad(field, 'must be a string');
  if (v.length >= max) bad(field, `longer than ${max - 1} characters`);
  if (NOT_LATIN1_OR_NUL.test(v)) bad(field, 'may only hold characters U+0001..U+00FF');
  return v;
}
function checkBuffer(v: unknown, min: number, max: number, field: string, lengths?: readonly number[]): Buffer {
  if (!Buffer.isBuffer(v)) bad(field, 'must be a Buffer');
  if (v.length < min || v.length > max || (lengths !== undefined && !lengths.includes(v.length))) {
    bad(field, `length ${v.length} outside ${lengths?.join(' or ') ?? `${min}..${max}`}`);
  }
  return v;
}

// ---- sizing pass ------------------------------------------------------------------------

function bodySize(body: readonly FieldSpec[], pdu: Record<string, unknown>): number {
  let size = 0;
  for (let i = 0; i < body.length; i++) {
    const f = body[i]!;
    const v = pdu[f.key];
    if (v === undefined) {
      // A missing field encodes as its NULL value (0, empty string, empty list).
      size += f.kind === FieldKind.U32 ? 4 : f.kind === FieldKind.DestAddresses ? bad(f.key, 'is required') : 1;
      continue;
    }
    switch (f.kind) {
      case FieldKind.U8:
        checkU8(v, f.key);
        size += 1;
        break;
      case FieldKind.U32:
        checkU32(v, f.key);
        size += 4;
        break;
      case FieldKind.CString:
        size += checkString(v, f.max, f.key).length + 1;
        break;
      case FieldKind.ShortMessage:
        size += 1 + checkBuffer(v, 0, 255, f.key).length;
        break;
      case FieldKind.DestAddresses: {
        const list = v as DestAddress[];
        if (!Array.isArray(list) || list.length < 1 || list.length > 255) bad(f.key, 'must list 1..255 destinations');
        size += 1;
        for (const d of list) {
          if (typeof d !== 'object' || d === null) bad(f.key, 'entries must be objects');
          if (d.destFlag === 1) {
            checkU8(d.destAddrTon, 'destAddrTon');
            checkU8(d.destAddrNpi, 'destAddrNpi');
            size += 4 + checkString(d.destinationAddr, 21, 'destinationAddr').length;
          } else if (d.destFlag === 2) {
            size += 2 + checkString(d.dlName, 21, 'dlName').length;
          } else {
            bad('destFlag', 'must be 1 or 2');
          }
        }
        break;
      }
      case FieldKind.UnsuccessSmes: {
        const list = v as UnsuccessSme[];
        if (!Array.isArray(list) || list.length > 255) bad(f.key, 'must list 0..255 entries');
        size += 1;
        for (const u of list) {
          if (typeof u !== 'object' || u === null) bad(f.key, 'entries must be objects');
          checkU8(u.destAddrTon, 'destAddrTon');
          checkU8(u.destAddrNpi, 'destAddrNpi');
          checkU32(u.errorStatusCode, 'errorStatusCode');
          size += 7 + checkString(u.destinationAddr, 21, 'destinationAddr').length;
        }
        break;
      }
    }
  }
  return size;
}

function tlvValueSize(spec: TlvSpec, v: unknown): number {
  switch (spec.kind) {
    case TlvKind.U8:
      checkU8(v, spec.key);
      return 1;
    case TlvKind.U16:
      checkU16(v, spec.key);
      return 2;
    case TlvKind.U32:
      checkU32(v, spec.key);
      return 4;
    case TlvKind.CString: {
      if (typeof v !== 'string') bad(spec.key, 'must be a string');
      if (NOT_LATIN1_OR_NUL.test(v)) bad(spec.key, 'may only hold characters U+0001..U+00FF');
      const n = v.length + 1;
      if (n < spec.min || n > spec.max) bad(spec.key, `length ${v.length} outside ${spec.min - 1}..${spec.max - 1}`);
      return n;
    }
    case TlvKind.Octets:
      return checkBuffer(v, spec.min, spec.max, spec.key, spec.lengths).length;
    case TlvKind.NetworkError: {
      const e = v as NetworkErrorCode;
      checkU8(e?.networkType, 'networkErrorCode.networkType');
      checkU16(e.errorCode, 'networkErrorCode.errorCode');
      return 3;
    }
  }
}

function tlvsSize(tlvs: Record<string, unknown>): number {
  let size = 0;
  for (const key in tlvs) {
    const v = tlvs[key];
    if (v === undefined) continue;
    if (key === 'unknown') {
      if (!Array.isArray(v)) bad('unknown', 'must be a list of { tag, value }');
      for (const raw of v as RawTlv[]) {
        if (typeof raw !== 'object' || raw === null) bad('unknown', 'entries must be { tag, value }');
        checkU16(raw.tag, 'unknown.tag');
        size += 4 + checkBuffer(raw.value, 0, 65535, 'unknown.value').length;
      }
      continue;
    }
    const spec = tlvSpecForKey(key);
    if (spec === undefined) bad(key, 'is not a known TLV (use tlvs.unknown for raw tags)');
    if (spec.repeat) {
      if (!Array.isArray(v)) bad(key, 'must be an array (the tag may repeat)');
      for (const item of v) size += 4 + tlvValueSize(spec, item);
    } else {
      size += 4 + tlvValueSize(spec, v);
    }
  }
  return size;
}

// ---- writing pass -----------------------------------------------------------------------

/** Writes a latin1 string and its NUL; short strings in JS, long ones natively. */
function writeCString(out: Buffer, pos: number, s: string): number {
  const n = s.length;
  if (n > 24) out.write(s, pos, n, 'latin1');
  else for (let i = 0; i < n; i++) out[pos + i] = s.charCodeAt(i);
  out[pos + n] = 0;
  return pos + n + 1;
}

function writeBody(out: Buffer, pos: number, body: readonly FieldSpec[], pdu: Record<string, unknown>): number {
  for (let i = 0; i < body.length; i++) {
    const f = body[i]!;
    const v = pdu[f.key];
    if (v === undefined) {
      if (f.kind === FieldKind.U32) {
        out.writeUInt32BE(0, pos);
        pos += 4;
      } else out[pos++] = 0;
      continue;
    }
    switch (f.kind) {
      case FieldKind.U8:
        out[pos++] = v as number;
        break;
      case FieldKind.U32:
        out.writeUInt32BE(v as number, pos);
        pos += 4;
        break;
      case FieldKind.CString:
        pos = writeCString(out, pos, v as string);
        break;
      case FieldKind.ShortMessage: {
        const b = v as Buffer;
        out[pos++] = b.length;
        b.copy(out, pos);
        pos += b.length;
        break;
      }
      case FieldKind.DestAddresses: {
        const list = v as DestAddress[];
        out[pos++] = list.length;
        for (const d of list) {
          out[pos++] = d.destFlag;
          if (d.destFlag === 1) {
            out[pos++] = d.destAddrTon;
            out[pos++] = d.destAddrNpi;
            pos = writeCString(out, pos, d.destinationAddr);
          } else {
            pos = writeCString(out, pos, d.dlName);
          }
        }
        break;
      }
      case FieldKind.UnsuccessSmes: {
        const list = v as UnsuccessSme[];
        out[pos++] = list.length;
        for (const u of list) {
          out[pos++] = u.destAddrTon;
          out[pos++] = u.destAddrNpi;
          pos = writeCString(out, pos, u.destinationAddr);
          out.writeUInt32BE(u.errorStatusCode, pos);
          pos += 4;
        }
        break;
      }
    }
  }
  return pos;
}

function writeTlvValue(out: Buffer, pos: number, spec: TlvSpec, v: unknown): number {
  const start = pos + 4;
  let len = 0;
  switch (spec.kind) {
    case TlvKind.U8:
      out[start] = v as number;
      len = 1;
      break;
    case TlvKind.U16:
      out.writeUInt16BE(v as number, start);
      len = 2;
      break;
    case TlvKind.U32:
      out.writeUInt32BE(v as number, start);
      len = 4;
      break;
    case TlvKind.CString:
      len = writeCString(out, start, v as string) - start;
      break;
    case TlvKind.Octets:
      len = (v as Buffer).copy(out, start);
      break;
    case TlvKind.NetworkError: {
      const e = v as NetworkErrorCode;
      out[start] = e.networkType;
      out.writeUInt16BE(e.errorCode, start + 1);
      len = 3;
      break;
    }
  }
  out.writeUInt16BE(spec.tag, pos);
  out.writeUInt16BE(len, pos + 2);
  return start + len;
}

function writeTlvs(out: Buffer, pos: number, tlvs: Record<string, unknown>): number {
  // Insertion order: a decoded PDU re-encodes its TLVs in wire order.
  for (const key in tlvs) {
    const v = tlvs[key];
    if (v === undefined) continue;
    if (key === 'unknown') {
      for (const raw of v as RawTlv[]) {
        out.writeUInt16BE(raw.tag, pos);
        out.writeUInt16BE(raw.value.length, pos + 2);
        pos += 4 + raw.value.copy(out, pos + 4);
      }
      continue;
    }
    const spec = tlvSpecForKey(key)!;
    if (spec.repeat) for (const item of v as unknown[]) pos = writeTlvValue(out, pos, spec, item);
    else pos = writeTlvValue(out, pos, spec, v);
  }
  return pos;
}

function isEmptyBody(
  body: readonly FieldSpec[],
  fields: Record<string, unknown>,
  tlvs: Record<string, unknown> | undefined,
): boolean {
  if (tlvs !== undefined) for (const key in tlvs) if (tlvs[key] !== undefined) return false;
  for (const f of body) {
    const v = fields[f.key];
    if (v === undefined || v === 0 || v === '') continue;
    if ((Buffer.isBuffer(v) || Array.isArray(v)) && v.length === 0) continue;
    return false;
  }
  return true;
}

/**
 * Encodes a PDU. A response with a non-zero command_status and nothing but default fields is
 * sent header-only. Derived fields (command_length, sm_length, number_of_dests, no_unsuccess)
 * are computed, never taken from the caller.
 * @throws PduEncodeError naming the field that cannot be encoded.
 */
export function encodePdu(pdu: Pdu): Buffer {
  return encodeParts(pdu.command, pdu.commandStatus, pdu.sequenceNumber, pdu as unknown as Record<string, unknown>);
}

/**
 * Encodes a PDU from its header values and a body object, without building a PDU object first
 * (the session's hot path). Missing body fields encode as NULL; `withTlvs: false` drops TLVs
 * (for 3.3 peers).
 */
export function encodeParts(
  command: CommandName,
  commandStatus: number,
  sequenceNumber: number,
  fields: Record<string, unknown>,
  withTlvs = true,
): Buffer {
  const spec = specForCommand(command);
  if (spec === undefined) throw new PduEncodeError(`unknown command ${String(command)}`, 'command');
  checkU32(commandStatus, 'commandStatus');
  checkU32(sequenceNumber, 'sequenceNumber');
  const body = spec.body;
  if (body === null) return encodeHeaderOnly(spec.id, commandStatus, sequenceNumber);
  const tlvs = withTlvs ? (fields['tlvs'] as Record<string, unknown> | undefined) : undefined;
  // [ref §1.1] a failed response omits its body unless it has something to say.
  if (spec.isResponse && commandStatus !== 0 && isEmptyBody(body, fields, tlvs)) {
    return encodeHeaderOnly(spec.id, commandStatus, sequenceNumber);
  }
  const size = HEADER_BYTES + bodySize(body, fields) + (tlvs === undefined ? 0 : tlvsSize(tlvs));
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(size, 0);
  out.writeUInt32BE(spec.id, 4);
  out.writeUInt32BE(commandStatus, 8);
  out.writeUInt32BE(sequenceNumber, 12);
  let pos = writeBody(out, HEADER_BYTES, body, fields);
  if (tlvs !== undefined) pos = writeTlvs(out, pos, tlvs);
  return out;
}

/** command_id for a command name (re-exported convenience). */
export function commandIdOf(command: Pdu['command']): number {
  return CommandId[command];
}

/** Encodes a TLV set alone (the stored pass-through TLVs of a message). */
export function encodeTlvs(tlvs: Tlvs): Buffer {
  const fields = tlvs as Record<string, unknown>;
  const out = Buffer.allocUnsafe(tlvsSize(fields));
  writeTlvs(out, 0, fields);
  return out;
}
