/**
 * An independent SMPP byte builder for tests. It never touches `encodePdu`: tests derive the
 * bytes they expect (or feed in) from this, so a codec bug cannot hide behind itself.
 *
 * ```ts
 * const frame = new PduBuilder().cstring('test').cstring('secret').u8(0x34).build(0x09, 0, 1);
 * ```
 *
 * Everything is big-endian, as on the wire [ref §2.1]. `build()` prepends the 16-octet header
 * with the right command_length; `buildWithLength()` lets malformed-PDU tests lie about it.
 *
 * The second half restates every PDU body and TLV from docs/smpp-reference.md §2 and §4.2
 * (`BODY`, `TLV_SPECS`) so that `buildPdu()` can encode any PDU-shaped object independently.
 */
import { CommandId, type CommandName, CommandStatus, type TlvName, TlvTag } from '../../src/pdu/constants.js';

export class PduBuilder {
  readonly #parts: Buffer[] = [];
  #size = 0;

  #push(part: Buffer): this {
    this.#parts.push(part);
    this.#size += part.length;
    return this;
  }

  /** One unsigned octet (0..255). */
  u8(value: number): this {
    const b = Buffer.alloc(1);
    b.writeUInt8(value);
    return this.#push(b);
  }

  /** Unsigned 16-bit big-endian integer. */
  u16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    return this.#push(b);
  }

  /** Unsigned 32-bit big-endian integer. */
  u32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value >>> 0);
    return this.#push(b);
  }

  /** A C-octet string: the latin1 bytes of `s` followed by one 0x00. */
  cstring(s: string): this {
    return this.#push(Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]));
  }

  /** Raw octets, copied (no length prefix, no terminator). */
  octets(buf: Uint8Array | readonly number[]): this {
    return this.#push(Buffer.from(buf as Uint8Array));
  }

  /** Raw octets given as a hex string (whitespace ignored). */
  hex(hex: string): this {
    return this.#push(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
  }

  /** A TLV: tag (I2), length (I2) = value.length, value. */
  tlv(tag: number, value: Uint8Array | readonly number[]): this {
    const v = Buffer.from(value as Uint8Array);
    return this.tlvWithLength(tag, v.length, v);
  }

  /** A TLV whose length field is given explicitly (may lie about the value's size). */
  tlvWithLength(tag: number, length: number, value: Uint8Array | readonly number[]): this {
    return this.u16(tag).u16(length).octets(value);
  }

  /** Appends the bytes of another builder's body. */
  append(other: PduBuilder): this {
    return this.#push(other.body());
  }

  /** Number of body octets so far. */
  get length(): number {
    return this.#size;
  }

  /** The body octets so far (a copy). */
  body(): Buffer {
    return Buffer.concat(this.#parts, this.#size);
  }

  /** Header (with command_length = 16 + body) followed by the body. */
  build(commandId: number, commandStatus: number, sequenceNumber: number): Buffer {
    return this.buildWithLength(16 + this.#size, commandId, commandStatus, sequenceNumber);
  }

  /** Header with an arbitrary command_length (for malformed frames) followed by the body. */
  buildWithLength(
    commandLength: number,
    commandId: number,
    commandStatus: number,
    sequenceNumber: number,
  ): Buffer {
    const header = Buffer.alloc(16);
    header.writeUInt32BE(commandLength >>> 0, 0);
    header.writeUInt32BE(commandId >>> 0, 4);
    header.writeUInt32BE(commandStatus >>> 0, 8);
    header.writeUInt32BE(sequenceNumber >>> 0, 12);
    return Buffer.concat([header, ...this.#parts], 16 + this.#size);
  }
}

/** A 16-octet header-only PDU. */
export function headerOnly(commandId: number, commandStatus: number, sequenceNumber: number): Buffer {
  return new PduBuilder().build(commandId, commandStatus, sequenceNumber);
}

/** TLV value helpers (big-endian integers). */
export const tv = {
  u8: (v: number): Buffer => Buffer.from([v & 0xff]),
  u16: (v: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return b;
  },
  u32: (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return b;
  },
  /** latin1 bytes plus NUL (C-string TLVs such as receipted_message_id). */
  cstr: (s: string): Buffer => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]),
};

// ---- an independent schema of every PDU body and TLV (restated from docs/smpp-reference.md) ----


const S = CommandStatus;

/** One mandatory body field. `max` is the C-string size including its NUL [ref §2.1]. */
export type FieldSpec =
  | { key: string; kind: 'u8' }
  | { key: string; kind: 'u32' }
  | { key: string; kind: 'cstr'; max: number; tooLong: number }
  /** schedule_delivery_time, validity_period, final_date: empty or 16 chars [ref §5.6]. */
  | { key: string; kind: 'time'; tooLong: number }
  /** sm_length (I1) + short_message. */
  | { key: 'shortMessage'; kind: 'sm' }
  /** number_of_dests + dest_address list (submit_multi). */
  | { key: 'destAddresses'; kind: 'dests' }
  /** no_unsuccess + unsuccess_sme list (submit_multi_resp). */
  | { key: 'unsuccessSmes'; kind: 'unsucc' };

const u8 = (key: string): FieldSpec => ({ key, kind: 'u8' });
const cs = (key: string, max: number, tooLong: number): FieldSpec => ({ key, kind: 'cstr', max, tooLong });
const time = (key: string, tooLong: number): FieldSpec => ({ key, kind: 'time', tooLong });

const serviceType = cs('serviceType', 6, S.ESME_RINVSERTYP);
const messageId = cs('messageId', 65, S.ESME_RINVMSGID);
const src21 = [u8('sourceAddrTon'), u8('sourceAddrNpi'), cs('sourceAddr', 21, S.ESME_RINVSRCADR)];
const dst21 = [u8('destAddrTon'), u8('destAddrNpi'), cs('destinationAddr', 21, S.ESME_RINVDSTADR)];
const sched = time('scheduleDeliveryTime', S.ESME_RINVSCHED);
const validity = time('validityPeriod', S.ESME_RINVEXPIRY);
const bindBody = [
  cs('systemId', 16, S.ESME_RINVSYSID),
  cs('password', 9, S.ESME_RINVPASWD),
  cs('systemType', 13, S.ESME_RINVSYSTYP),
  u8('interfaceVersion'),
  u8('addrTon'),
  u8('addrNpi'),
  cs('addressRange', 41, S.ESME_RINVCMDLEN),
];
const bindResp = [cs('systemId', 16, S.ESME_RINVSYSID)];
const smTail = (withEsm: boolean): FieldSpec[] => [
  ...(withEsm ? [u8('esmClass'), u8('protocolId'), u8('priorityFlag')] : []),
  sched,
  validity,
  u8('registeredDelivery'),
  u8('replaceIfPresentFlag'),
  u8('dataCoding'),
  u8('smDefaultMsgId'),
  { key: 'shortMessage', kind: 'sm' },
];

/** Mandatory body of every command, in wire order. Header-only commands have `[]`. */
export const BODY: Record<CommandName, FieldSpec[]> = {
  generic_nack: [],
  bind_receiver: bindBody,
  bind_transmitter: bindBody,
  bind_transceiver: bindBody,
  bind_receiver_resp: bindResp,
  bind_transmitter_resp: bindResp,
  bind_transceiver_resp: bindResp,
  outbind: [cs('systemId', 16, S.ESME_RINVSYSID), cs('password', 9, S.ESME_RINVPASWD)],
  unbind: [],
  unbind_resp: [],
  enquire_link: [],
  enquire_link_resp: [],
  alert_notification: [
    u8('sourceAddrTon'),
    u8('sourceAddrNpi'),
    cs('sourceAddr', 65, S.ESME_RINVSRCADR),
    u8('esmeAddrTon'),
    u8('esmeAddrNpi'),
    cs('esmeAddr', 65, S.ESME_RINVCMDLEN),
  ],
  submit_sm: [serviceType, ...src21, ...dst21, ...smTail(true)],
  deliver_sm: [serviceType, ...src21, ...dst21, ...smTail(true)],
  submit_sm_resp: [messageId],
  deliver_sm_resp: [messageId],
  data_sm_resp: [messageId],
  submit_multi: [serviceType, ...src21, { key: 'destAddresses', kind: 'dests' }, ...smTail(true)],
  submit_multi_resp: [messageId, { key: 'unsuccessSmes', kind: 'unsucc' }],
  data_sm: [
    serviceType,
    u8('sourceAddrTon'),
    u8('sourceAddrNpi'),
    cs('sourceAddr', 65, S.ESME_RINVSRCADR),
    u8('destAddrTon'),
    u8('destAddrNpi'),
    cs('destinationAddr', 65, S.ESME_RINVDSTADR),
    u8('esmClass'),
    u8('registeredDelivery'),
    u8('dataCoding'),
  ],
  query_sm: [messageId, ...src21],
  query_sm_resp: [messageId, time('finalDate', S.ESME_RINVCMDLEN), u8('messageState'), u8('errorCode')],
  cancel_sm: [serviceType, messageId, ...src21, ...dst21],
  cancel_sm_resp: [],
  replace_sm: [
    messageId,
    ...src21,
    sched,
    validity,
    u8('registeredDelivery'),
    u8('smDefaultMsgId'),
    { key: 'shortMessage', kind: 'sm' },
  ],
  replace_sm_resp: [],
  broadcast_sm: [
    serviceType,
    ...src21,
    messageId,
    u8('priorityFlag'),
    sched,
    validity,
    u8('replaceIfPresentFlag'),
    u8('dataCoding'),
    u8('smDefaultMsgId'),
  ],
  broadcast_sm_resp: [messageId],
  query_broadcast_sm: [messageId, ...src21],
  query_broadcast_sm_resp: [messageId],
  cancel_broadcast_sm: [serviceType, messageId, ...src21],
  cancel_broadcast_sm_resp: [],
};

/** Commands without a body and without `tlvs`. */
export const HEADER_ONLY_COMMANDS: readonly CommandName[] = [
  'generic_nack',
  'unbind',
  'unbind_resp',
  'enquire_link',
  'enquire_link_resp',
  'cancel_sm_resp',
  'replace_sm_resp',
  'cancel_broadcast_sm_resp',
];

/** Every command name, in CommandId order. */
export const ALL_COMMANDS = Object.keys(CommandId) as CommandName[];

/** How a TLV value is typed in `Tlvs` and which value lengths are legal [ref §4.2, §10]. */
export type TlvKind =
  | { kind: 'u8' | 'u16' | 'u32' }
  /** C-string TLV: `min..max` octets on the wire including the NUL. */
  | { kind: 'cstr'; min: number; max: number }
  /** octet string: legal lengths `min..max`, or only those in `only`. */
  | { kind: 'octets'; min: number; max: number; only?: number[] }
  /** network_error_code: { networkType, errorCode } in 3 octets. */
  | { kind: 'nec' }
  /** broadcast_end_time: 16 characters, sent as 17 octets with NUL, 16 accepted [ref §10.12]. */
  | { kind: 'time' };

export interface TlvSpec {
  name: TlvName;
  /** camelCase key in `Tlvs`. */
  key: string;
  tag: number;
  type: TlvKind;
  /** May repeat: an array in `Tlvs`. */
  repeatable: boolean;
}

const INT: Record<'u8' | 'u16' | 'u32', TlvKind> = {
  u8: { kind: 'u8' },
  u16: { kind: 'u16' },
  u32: { kind: 'u32' },
};
const oct = (min: number, max: number, only?: number[]): TlvKind =>
  only === undefined ? { kind: 'octets', min, max } : { kind: 'octets', min, max, only };

const TLV_TYPES: Record<TlvName, TlvKind> = {
  dest_addr_subunit: INT.u8,
  dest_network_type: INT.u8,
  dest_bearer_type: INT.u8,
  dest_telematics_id: INT.u16,
  source_addr_subunit: INT.u8,
  source_network_type: INT.u8,
  source_bearer_type: INT.u8,
  source_telematics_id: oct(1, 2),
  qos_time_to_live: INT.u32,
  payload_type: INT.u8,
  additional_status_info_text: { kind: 'cstr', min: 1, max: 256 },
  receipted_message_id: { kind: 'cstr', min: 1, max: 65 },
  ms_msg_wait_facilities: INT.u8,
  privacy_indicator: INT.u8,
  source_subaddress: oct(2, 23),
  dest_subaddress: oct(2, 23),
  user_message_reference: INT.u16,
  user_response_code: INT.u8,
  source_port: INT.u16,
  dest_port: INT.u16,
  sar_msg_ref_num: INT.u16,
  language_indicator: INT.u8,
  sar_total_segments: INT.u8,
  sar_segment_seqnum: INT.u8,
  sc_interface_version: INT.u8,
  callback_num_pres_ind: INT.u8,
  callback_num_atag: oct(1, 65),
  number_of_messages: INT.u8,
  callback_num: oct(4, 19),
  dpf_result: INT.u8,
  set_dpf: INT.u8,
  ms_availability_status: INT.u8,
  network_error_code: { kind: 'nec' },
  message_payload: oct(0, 65535),
  delivery_failure_reason: INT.u8,
  more_messages_to_send: INT.u8,
  message_state: INT.u8,
  congestion_state: INT.u8,
  ussd_service_op: INT.u8,
  broadcast_channel_indicator: INT.u8,
  broadcast_content_type: oct(3, 3),
  broadcast_content_type_info: oct(1, 255),
  broadcast_message_class: INT.u8,
  broadcast_rep_num: INT.u16,
  broadcast_frequency_interval: oct(3, 3),
  broadcast_area_identifier: oct(1, 101),
  broadcast_error_status: INT.u32,
  broadcast_area_success: INT.u8,
  broadcast_end_time: { kind: 'time' },
  broadcast_service_group: oct(1, 255),
  billing_identification: oct(1, 1024),
  source_network_id: { kind: 'cstr', min: 7, max: 65 },
  dest_network_id: { kind: 'cstr', min: 7, max: 65 },
  source_node_id: oct(6, 6),
  dest_node_id: oct(6, 6),
  dest_addr_np_resolution: INT.u8,
  dest_addr_np_information: oct(10, 10),
  dest_addr_np_country: oct(1, 5),
  display_time: INT.u8,
  sms_signal: INT.u16,
  ms_validity: oct(1, 4, [1, 4]),
  alert_on_message_delivery: oct(0, 1),
  its_reply_type: INT.u8,
  its_session_info: oct(2, 2),
};

const REPEATABLE = new Set<TlvName>([
  'callback_num_pres_ind',
  'callback_num_atag',
  'callback_num',
  'broadcast_area_identifier',
  'broadcast_error_status',
  'broadcast_area_success',
]);

/** snake_case → camelCase. */
export function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Every known TLV, ascending by tag. */
export const TLV_SPECS: readonly TlvSpec[] = (Object.keys(TlvTag) as TlvName[])
  .map((name) => ({
    name,
    key: camel(name),
    tag: TlvTag[name],
    type: TLV_TYPES[name],
    repeatable: REPEATABLE.has(name),
  }))
  .sort((a, b) => a.tag - b.tag);

/** Known tags. */
export const KNOWN_TAGS: ReadonlySet<number> = new Set(TLV_SPECS.map((s) => s.tag));

/** The wire value of one TLV from its `Tlvs` value. */
export function tlvValue(spec: TlvSpec, v: unknown): Buffer {
  switch (spec.type.kind) {
    case 'u8':
      return tv.u8(v as number);
    case 'u16':
      return tv.u16(v as number);
    case 'u32':
      return tv.u32(v as number);
    case 'cstr':
    case 'time':
      return tv.cstr(v as string);
    case 'nec': {
      const n = v as { networkType: number; errorCode: number };
      return Buffer.concat([tv.u8(n.networkType), tv.u16(n.errorCode)]);
    }
    case 'octets':
      return Buffer.from(v as Uint8Array);
  }
}

/**
 * Appends the TLVs of a `Tlvs` object in canonical order: known tags ascending (a repeatable
 * tag's values in array order), then `unknown` in array order.
 */
export function appendTlvs(b: PduBuilder, tlvs: Record<string, unknown>): PduBuilder {
  for (const spec of TLV_SPECS) {
    const v = tlvs[spec.key];
    if (v === undefined) continue;
    const values = spec.repeatable ? (v as unknown[]) : [v];
    for (const one of values) b.tlv(spec.tag, tlvValue(spec, one));
  }
  const unknown = (tlvs['unknown'] as { tag: number; value: Uint8Array }[] | undefined) ?? [];
  for (const u of unknown) b.tlv(u.tag, u.value);
  return b;
}

/** Appends one mandatory field from a PDU-shaped object. */
export function appendField(b: PduBuilder, f: FieldSpec, pdu: Record<string, unknown>): PduBuilder {
  const v = pdu[f.key];
  switch (f.kind) {
    case 'u8':
      return b.u8(v as number);
    case 'u32':
      return b.u32(v as number);
    case 'cstr':
    case 'time':
      return b.cstring(v as string);
    case 'sm': {
      const m = v as Buffer;
      return b.u8(m.length).octets(m);
    }
    case 'dests': {
      const list = v as Record<string, unknown>[];
      b.u8(list.length);
      for (const d of list) {
        if (d['destFlag'] === 1) {
          b.u8(1).u8(d['destAddrTon'] as number).u8(d['destAddrNpi'] as number);
          b.cstring(d['destinationAddr'] as string);
        } else {
          b.u8(d['destFlag'] as number).cstring(d['dlName'] as string);
        }
      }
      return b;
    }
    case 'unsucc': {
      const list = v as Record<string, unknown>[];
      b.u8(list.length);
      for (const u of list) {
        b.u8(u['destAddrTon'] as number).u8(u['destAddrNpi'] as number);
        b.cstring(u['destinationAddr'] as string).u32(u['errorStatusCode'] as number);
      }
      return b;
    }
  }
}

/** True when every mandatory field holds its NULL value (0, '', empty list) and there are no TLVs. */
export function isDefaultBody(pdu: Record<string, unknown>, command: CommandName): boolean {
  for (const f of BODY[command]) {
    const v = pdu[f.key];
    if (f.kind === 'u8' || f.kind === 'u32') {
      if (v !== 0) return false;
    } else if (f.kind === 'cstr' || f.kind === 'time') {
      if (v !== '') return false;
    } else if ((v as { length: number }).length !== 0) return false;
  }
  const tlvs = pdu['tlvs'] as Record<string, unknown> | undefined;
  return tlvs === undefined || Object.keys(tlvs).length === 0;
}

/**
 * Independent encoding of a PDU-shaped object (see types.ts): mandatory body by `BODY`, then
 * TLVs in canonical order. Header-only commands get a 16-octet frame, and so does a response
 * with command_status != 0 whose body is all defaults: "the body should be omitted" [ref §1.1].
 */
export function buildPdu(pdu: { command: CommandName; commandStatus: number; sequenceNumber: number }): Buffer {
  const rec = pdu as unknown as Record<string, unknown>;
  const id = CommandId[pdu.command];
  if ((id & 0x80000000) !== 0 && pdu.commandStatus !== 0 && isDefaultBody(rec, pdu.command)) {
    return headerOnly(id, pdu.commandStatus, pdu.sequenceNumber);
  }
  const b = new PduBuilder();
  for (const f of BODY[pdu.command]) appendField(b, f, rec);
  const tlvs = rec['tlvs'] as Record<string, unknown> | undefined;
  if (tlvs !== undefined) appendTlvs(b, tlvs);
  return b.build(id, pdu.commandStatus, pdu.sequenceNumber);
}

/** A plausible value for one mandatory field (short strings, small integers). */
export function sampleValue(f: FieldSpec, index: number): unknown {
  switch (f.kind) {
    case 'u8':
      return f.key === 'interfaceVersion' ? 0x34 : (index * 7 + 1) & 0xff;
    case 'u32':
      return 0x01020304;
    case 'cstr':
      return `v${f.key}`.slice(0, Math.min(f.max - 1, 9));
    case 'time':
      return '000000001000000R';
    case 'sm':
      return Buffer.from('hello world', 'latin1');
    case 'dests':
      return [
        { destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '447700900123' },
        { destFlag: 2, dlName: 'friends' },
        { destFlag: 1, destAddrTon: 2, destAddrNpi: 8, destinationAddr: '' },
      ];
    case 'unsucc':
      return [
        { destAddrTon: 1, destAddrNpi: 1, destinationAddr: '447700900124', errorStatusCode: 0x0b },
        { destAddrTon: 0, destAddrNpi: 0, destinationAddr: '', errorStatusCode: 0xfffffffe },
      ];
  }
}

/** A PDU-shaped object for `command` with plausible values and no TLVs. */
export function samplePdu(
  command: CommandName,
  sequenceNumber = 0x01020304,
  commandStatus = 0,
): { command: CommandName; commandStatus: number; sequenceNumber: number } & Record<string, unknown> {
  const pdu: Record<string, unknown> = { command, commandStatus, sequenceNumber };
  BODY[command].forEach((f, i) => {
    pdu[f.key] = sampleValue(f, i);
  });
  if (!HEADER_ONLY_COMMANDS.includes(command)) pdu['tlvs'] = {};
  return pdu as { command: CommandName; commandStatus: number; sequenceNumber: number } & Record<string, unknown>;
}
