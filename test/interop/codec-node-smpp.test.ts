/**
 * Cross-check of our codec against the npm `smpp` package (node-smpp 0.5.1, CommonJS):
 *   A. bytes node-smpp encodes decode correctly with decodePdu, field by field;
 *   B. bytes encodePdu writes decode correctly with node-smpp's PDU.fromBuffer;
 *   C. the 75 captured fixtures decode to the same values in both.
 * for every one of the 33 commands (node-smpp knows them all), with TLVs.
 *
 * node-smpp deviations, handled explicitly where they occur (see NODE_TLV and fromNode):
 *  - short_message / message_payload: node-smpp turns a JS string into octets by data_coding
 *    (GSM 03.38 table for 0x00, UCS-2 for 0x08, latin1 for 0x03...) and decodes octets back into
 *    `{ message: string, udh? }`; a Buffer passes through as-is on encode and stays a Buffer on
 *    decode only for data_coding values it has no text codec for (we use 0x04, binary). We keep
 *    raw octets always. With esm_class UDHI it splits the UDH off.
 *  - time fields (schedule_delivery_time, validity_period, final_date, broadcast_end_time) are
 *    decoded to a Date (absolute) or now+offset (relative): compared as instants here.
 *  - C-strings are read with Node's 'ascii' decoding, which clears the high bit of 0x80-0xFF
 *    (we read latin1): our cases use ASCII text, and one test pins the difference.
 *  - source_telematics_id is an I2 in node-smpp (we keep 1 or 2 raw octets) [ref §10.8].
 *  - dest_addr_np_country is an I4 in node-smpp (we keep 1-5 raw octets) [ref §10.11].
 *  - broadcast_area_success is not repeatable in node-smpp (we keep an array).
 *  - broadcast_end_time: node-smpp writes 16 octets without NUL; it reads our 17-octet value
 *    with the NUL included, which makes it ignore the UTC offset [ref §10.12].
 *  - alert_on_message_delivery is an I1 in node-smpp (we keep the 0 or 1 raw octets).
 *  - Several octet TLVs are ASCII strings in node-smpp (source_node_id, dest_node_id,
 *    dest_addr_np_information, broadcast_service_group, broadcast_content_type_info) and others
 *    are parsed into objects (callback_num, callback_num_atag, broadcast_content_type,
 *    broadcast_frequency_interval, broadcast_area_identifier, billing_identification).
 *  - network_error_code is a raw 3-octet Buffer in node-smpp (we parse it).
 *  - node-smpp cannot write unknown TLVs; it reads them as `pdu[tag] = Buffer`.
 *  - node-smpp gives a PDU built with command_status != 0 no body at all, and leaves the fields
 *    of such a PDU it reads undefined (we give defaults).
 *  - node-smpp stores query_sm_resp's message_state field and a message_state TLV in the same
 *    property: that TLV is not compared for query_sm_resp.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { CommandId, type CommandName, decodePdu, encodePdu, type Pdu } from '../../src/pdu/index.js';
import { loadFixtures } from '../support/fixtures.js';
import { ALL_COMMANDS, BODY, HEADER_ONLY_COMMANDS, samplePdu, TLV_SPECS, type TlvSpec } from '../support/pdu-builder.js';

// ---- node-smpp, typed minimally ---------------------------------------------------------------

interface NodePdu {
  [key: string]: unknown;
  command: string;
  command_status: number;
  sequence_number: number;
  toBuffer(): Buffer;
}
interface NodeSmpp {
  PDU: {
    new (command: string, options?: Record<string, unknown>): NodePdu;
    fromBuffer(buf: Buffer): NodePdu | false;
  };
  commands: Record<string, { id: number; params?: Record<string, unknown> }>;
  tlvs: Record<string, { id: number }>;
}
const smpp = createRequire(import.meta.url)('smpp') as NodeSmpp;

function nodeDecode(buf: Buffer): NodePdu {
  const p = smpp.PDU.fromBuffer(buf);
  assert.ok(p, 'node-smpp could not read the buffer');
  return p;
}

// ---- value conversions ----------------------------------------------------------------------------

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Absolute SMPP time → epoch ms, the way node-smpp's time filter computes it (20YY). */
function absoluteTimeMs(s: string): number {
  const [yy, mo, dd, hh, mi, ss, t, nn] = [0, 2, 4, 6, 8, 10, 12, 13].map((i, k) =>
    Number(s.slice(i, k === 6 ? i + 1 : i + 2)),
  ) as [number, number, number, number, number, number, number, number];
  const local = Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss, t * 100);
  return s[15] === '+' ? local - nn * 15 * 60_000 : local + nn * 15 * 60_000;
}

type Conv = { toNode: (v: unknown) => unknown; fromNode: (v: unknown) => unknown };
const buf = (v: unknown): Buffer => Buffer.from(v as Uint8Array);
const asciiStringTlv: Conv = {
  // node-smpp types these octet TLVs as ASCII strings.
  toNode: (v) => buf(v),
  fromNode: (v) => Buffer.from(v as string, 'latin1'),
};
const formatDataTlv: Conv = {
  // node-smpp parses these into { format, data } (data an ASCII string for area format 0).
  toNode: (v) => buf(v),
  fromNode: (v) => {
    const o = v as { format: number; data: Buffer | string };
    const data = typeof o.data === 'string' ? Buffer.from(o.data, 'latin1') : o.data;
    return Buffer.concat([Buffer.from([o.format]), data]);
  },
};

/** Per-TLV conversions between our `Tlvs` values and node-smpp's (one element for repeatable tags). */
const NODE_TLV: Partial<Record<string, Conv>> = {
  sourceTelematicsId: {
    // node-smpp: I2. We keep raw octets, so only a 2-octet value is interoperable.
    toNode: (v) => buf(v).readUInt16BE(0),
    fromNode: (v) => {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(v as number);
      return b;
    },
  },
  destAddrNpCountry: {
    // node-smpp: I4. Only a 4-octet value is interoperable.
    toNode: (v) => buf(v).readUInt32BE(0),
    fromNode: (v) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v as number);
      return b;
    },
  },
  alertOnMessageDelivery: {
    // node-smpp: I1. Only the 5.0 one-octet form is interoperable.
    toNode: (v) => buf(v)[0],
    fromNode: (v) => Buffer.from([v as number]),
  },
  networkErrorCode: {
    toNode: (v) => {
      const n = v as { networkType: number; errorCode: number };
      return Buffer.from([n.networkType, n.errorCode >> 8, n.errorCode & 0xff]);
    },
    fromNode: (v) => ({ networkType: (v as Buffer)[0], errorCode: (v as Buffer).readUInt16BE(1) }),
  },
  messagePayload: {
    // Buffers pass node-smpp's message filter unchanged; decoding gives { message } (binary dc),
    // or the raw Buffer in a PDU without data_coding (replace_sm, broadcast_sm_resp...).
    toNode: (v) => buf(v),
    fromNode: (v) => (Buffer.isBuffer(v) ? v : (v as { message: Buffer }).message),
  },
  callbackNum: {
    toNode: (v) => buf(v),
    fromNode: (v) => {
      const o = v as { digit_mode: number; ton: number; npi: number; number: string };
      return Buffer.concat([Buffer.from([o.digit_mode, o.ton, o.npi]), Buffer.from(o.number, 'latin1')]);
    },
  },
  callbackNumAtag: {
    toNode: (v) => buf(v),
    fromNode: (v) => {
      const o = v as { encoding: number; display: Buffer };
      return Buffer.concat([Buffer.from([o.encoding]), o.display]);
    },
  },
  broadcastContentType: {
    toNode: (v) => buf(v),
    fromNode: (v) => {
      const o = v as { network: number; content_type: number };
      return Buffer.from([o.network, o.content_type >> 8, o.content_type & 0xff]);
    },
  },
  broadcastFrequencyInterval: {
    toNode: (v) => buf(v),
    fromNode: (v) => {
      const o = v as { unit: number; interval: number };
      return Buffer.from([o.unit, o.interval >> 8, o.interval & 0xff]);
    },
  },
  broadcastAreaIdentifier: formatDataTlv,
  billingIdentification: formatDataTlv,
  broadcastServiceGroup: asciiStringTlv,
  broadcastContentTypeInfo: asciiStringTlv,
  sourceNodeId: asciiStringTlv,
  destNodeId: asciiStringTlv,
  destAddrNpInformation: asciiStringTlv,
};

/** node-smpp does not repeat broadcast_area_success. */
const NODE_SINGLE = new Set(['broadcastAreaSuccess']);
/** Time-valued TLVs: node-smpp gives Dates. */
const TIME_TLVS = new Set(['broadcastEndTime']);
const TIME_FIELDS = new Set(['scheduleDeliveryTime', 'validityPeriod', 'finalDate']);

/** node-smpp constructor options for our PDU (message octets as Buffers, TLVs converted). */
function toNode(p: Pdu): Record<string, unknown> {
  const rec = p as unknown as Record<string, unknown>;
  const o: Record<string, unknown> = { command_status: p.commandStatus, sequence_number: p.sequenceNumber };
  for (const f of BODY[p.command]) {
    const v = rec[f.key];
    if (f.kind === 'dests') {
      o['dest_address'] = (v as Record<string, unknown>[]).map((d) =>
        d['destFlag'] === 1
          ? { dest_addr_ton: d['destAddrTon'], dest_addr_npi: d['destAddrNpi'], destination_addr: d['destinationAddr'] }
          : { dl_name: d['dlName'] },
      );
    } else if (f.kind === 'unsucc') {
      o['unsuccess_sme'] = (v as Record<string, unknown>[]).map((u) => ({
        dest_addr_ton: u['destAddrTon'],
        dest_addr_npi: u['destAddrNpi'],
        destination_addr: u['destinationAddr'],
        error_status_code: u['errorStatusCode'],
      }));
    } else if (f.kind === 'sm') {
      o['short_message'] = buf(v);
    } else {
      o[snake(f.key)] = v;
    }
  }
  const tlvs = (rec['tlvs'] ?? {}) as Record<string, unknown>;
  for (const spec of TLV_SPECS) {
    const v = tlvs[spec.key];
    if (v === undefined) continue;
    const conv = NODE_TLV[spec.key];
    const one = (x: unknown): unknown => (conv ? conv.toNode(x) : Buffer.isBuffer(x) ? buf(x) : x);
    let nv: unknown = spec.repeatable ? (v as unknown[]).map(one) : one(v);
    if (NODE_SINGLE.has(spec.key)) nv = (nv as unknown[])[0];
    o[p.command === 'broadcast_sm_resp' && spec.name === 'broadcast_area_identifier' ? 'failed_broadcast_area_identifier' : spec.name] = nv;
  }
  return o;
}

/**
 * node-smpp's decoded object in our shape. Time values become `{ ms }` (see `timeOf`);
 * short_message / message_payload come back as octets only for a binary data_coding.
 */
function fromNode(n: NodePdu, command: CommandName): Record<string, unknown> {
  const out: Record<string, unknown> = {
    command: n.command,
    commandStatus: n.command_status,
    sequenceNumber: n.sequence_number,
  };
  for (const f of BODY[command]) {
    if (f.kind === 'dests') {
      out['destAddresses'] = ((n['dest_address'] ?? []) as Record<string, unknown>[]).map((d) =>
        'dl_name' in d
          ? { destFlag: 2, dlName: d['dl_name'] }
          : { destFlag: 1, destAddrTon: d['dest_addr_ton'], destAddrNpi: d['dest_addr_npi'], destinationAddr: d['destination_addr'] },
      );
    } else if (f.kind === 'unsucc') {
      out['unsuccessSmes'] = ((n['unsuccess_sme'] ?? []) as Record<string, unknown>[]).map((u) => ({
        destAddrTon: u['dest_addr_ton'],
        destAddrNpi: u['dest_addr_npi'],
        destinationAddr: u['destination_addr'],
        errorStatusCode: u['error_status_code'],
      }));
    } else if (f.kind === 'sm') {
      const m = n['short_message'] as { message: unknown; udh?: Buffer[] } | undefined;
      out['shortMessage'] = m === undefined ? undefined : Buffer.isBuffer(m.message) ? m.message : m;
    } else {
      const v = n[snake(f.key)];
      out[f.key] = TIME_FIELDS.has(f.key) ? timeOf(v) : v;
    }
    // node-smpp leaves the fields of a header-only error response undefined; we give defaults.
    if (n.command_status !== 0 && out[f.key] === undefined) {
      out[f.key] = f.kind === 'u8' || f.kind === 'u32' ? 0 : f.kind === 'unsucc' || f.kind === 'dests' ? [] : '';
    }
  }
  if (!HEADER_ONLY_COMMANDS.includes(command)) {
    const tlvs: Record<string, unknown> = {};
    for (const spec of TLV_SPECS) {
      const key = command === 'broadcast_sm_resp' && spec.name === 'broadcast_area_identifier' ? 'failed_broadcast_area_identifier' : spec.name;
      // query_sm_resp has a message_state field: node-smpp keeps it and the message_state TLV
      // in the same property, so the TLV cannot be told apart there.
      if (smpp.commands[command]?.params?.[key] !== undefined) continue;
      let v = n[key];
      if (v === undefined) continue;
      if (NODE_SINGLE.has(spec.key)) v = [v];
      const conv = NODE_TLV[spec.key];
      const one = (x: unknown): unknown => (conv ? conv.fromNode(x) : x);
      tlvs[spec.key] = TIME_TLVS.has(spec.key) ? timeOf(v) : spec.repeatable ? (v as unknown[]).map(one) : one(v);
    }
    const unknown = Object.keys(n)
      .filter((k) => /^\d+$/.test(k))
      .map((k) => ({ tag: Number(k), value: n[k] as Buffer }));
    if (unknown.length > 0) tlvs['unknown'] = unknown;
    out['tlvs'] = tlvs;
  }
  return out;
}

/** Times compared as instants: '' stays '', a Date becomes { ms }. */
function timeOf(v: unknown): unknown {
  if (v instanceof Date) return { ms: v.getTime() };
  return v;
}

/** Our PDU with time fields as instants, to compare with fromNode(). */
function withInstants(p: Pdu): Record<string, unknown> {
  const rec = { ...(p as unknown as Record<string, unknown>) };
  for (const k of TIME_FIELDS) {
    const v = rec[k];
    if (typeof v === 'string' && v !== '') rec[k] = { ms: absoluteTimeMs(v) };
  }
  const tlvs = rec['tlvs'] as Record<string, unknown> | undefined;
  if (tlvs?.['broadcastEndTime'] !== undefined) {
    rec['tlvs'] = { ...tlvs, broadcastEndTime: { ms: absoluteTimeMs(tlvs['broadcastEndTime'] as string) } };
  }
  return rec;
}

/** Buffers → hex, so deepStrictEqual compares views and copies alike and diffs read well. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<${Buffer.from(v).toString('hex')}>`;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

// ---- interop cases: one per command, ASCII text, absolute times, TLVs -----------------------------

const TIME = '261121221055004+'; // 2026-11-21 22:10:55.0 local at UTC+01:00

/** Every TLV with a value node-smpp can carry (see the deviations above). */
function allTlvs(): Record<string, unknown> {
  const v: Record<string, unknown> = {
    destAddrSubunit: 1,
    destNetworkType: 2,
    destBearerType: 3,
    destTelematicsId: 0x0102,
    sourceAddrSubunit: 4,
    sourceNetworkType: 5,
    sourceBearerType: 6,
    sourceTelematicsId: Buffer.from([0x01, 0x02]),
    qosTimeToLive: 0xfedcba98,
    payloadType: 1,
    additionalStatusInfoText: 'all good',
    receiptedMessageId: '13017d58',
    msMsgWaitFacilities: 0x81,
    privacyIndicator: 2,
    sourceSubaddress: Buffer.from([0xa0, 1, 2, 3]),
    destSubaddress: Buffer.from([0x80, 9, 9]),
    userMessageReference: 0xbeef,
    userResponseCode: 7,
    sourcePort: 9200,
    destPort: 2948,
    sarMsgRefNum: 0x1234,
    languageIndicator: 1,
    sarTotalSegments: 3,
    sarSegmentSeqnum: 2,
    scInterfaceVersion: 0x34,
    callbackNumPresInd: [0x05, 0x01],
    callbackNumAtag: [Buffer.concat([Buffer.from([0]), Buffer.from('Call me', 'latin1')])],
    numberOfMessages: 9,
    callbackNum: [Buffer.concat([Buffer.from([1, 1, 1]), Buffer.from('447700900123', 'latin1')])],
    dpfResult: 1,
    setDpf: 1,
    msAvailabilityStatus: 2,
    networkErrorCode: { networkType: 3, errorCode: 0x0022 },
    messagePayload: Buffer.from([0, 1, 2, 0xfe, 0xff]),
    deliveryFailureReason: 3,
    moreMessagesToSend: 1,
    messageState: 2,
    congestionState: 50,
    ussdServiceOp: 2,
    broadcastChannelIndicator: 1,
    broadcastContentType: Buffer.from([1, 0x00, 0x10]),
    broadcastContentTypeInfo: Buffer.from('info', 'latin1'),
    broadcastMessageClass: 2,
    broadcastRepNum: 0x0102,
    broadcastFrequencyInterval: Buffer.from([0x09, 0x00, 0x05]),
    broadcastAreaIdentifier: [Buffer.from('\x00Area51', 'latin1'), Buffer.from([1, 0xaa, 0xbb])],
    broadcastErrorStatus: [0x0109, 8],
    broadcastAreaSuccess: [100],
    broadcastEndTime: '261121221055000+',
    broadcastServiceGroup: Buffer.from('grp', 'latin1'),
    billingIdentification: Buffer.from([0x81, 0xde, 0xad]),
    sourceNetworkId: '1234567',
    destNetworkId: '12345678',
    sourceNodeId: Buffer.from('123456', 'latin1'),
    destNodeId: Buffer.from('654321', 'latin1'),
    destAddrNpResolution: 2,
    destAddrNpInformation: Buffer.from('0123456789', 'latin1'),
    destAddrNpCountry: Buffer.from([0, 0, 0, 44]),
    displayTime: 1,
    smsSignal: 0x0304,
    msValidity: Buffer.from([4, 1, 0, 30]),
    alertOnMessageDelivery: Buffer.from([3]),
    itsReplyType: 8,
    itsSessionInfo: Buffer.from([5, 3]),
  };
  assert.deepStrictEqual(Object.keys(v).sort(), TLV_SPECS.map((s) => s.key).sort(), 'allTlvs covers every TLV');
  return v;
}

/** A few TLVs that belong to each command (ref §4.2, §4.3), all of them for data_sm. */
function tlvsFor(command: CommandName): Record<string, unknown> {
  const all = allTlvs();
  const pick = (...keys: string[]): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, all[k]]));
  switch (command) {
    case 'data_sm':
      return all;
    case 'submit_sm':
    case 'submit_multi':
      return pick('userMessageReference', 'sarMsgRefNum', 'sarTotalSegments', 'sarSegmentSeqnum', 'sourcePort', 'destPort', 'callbackNum', 'qosTimeToLive');
    case 'deliver_sm':
      return pick('receiptedMessageId', 'messageState', 'networkErrorCode', 'userMessageReference', 'sourceTelematicsId');
    case 'submit_sm_resp':
    case 'data_sm_resp':
    case 'deliver_sm_resp':
    case 'submit_multi_resp':
      return pick('additionalStatusInfoText', 'deliveryFailureReason', 'networkErrorCode', 'dpfResult', 'congestionState');
    case 'bind_receiver_resp':
    case 'bind_transmitter_resp':
    case 'bind_transceiver_resp':
      return pick('scInterfaceVersion');
    case 'alert_notification':
      return pick('msAvailabilityStatus');
    case 'replace_sm':
      return pick('messagePayload');
    case 'broadcast_sm':
      return pick('broadcastAreaIdentifier', 'broadcastContentType', 'broadcastRepNum', 'broadcastFrequencyInterval', 'messagePayload', 'broadcastMessageClass', 'broadcastServiceGroup');
    case 'broadcast_sm_resp':
      return pick('broadcastErrorStatus', 'broadcastAreaIdentifier');
    case 'query_broadcast_sm':
    case 'cancel_broadcast_sm':
      return pick('userMessageReference', 'broadcastContentType');
    case 'query_broadcast_sm_resp':
      return pick('messageState', 'broadcastAreaIdentifier', 'broadcastAreaSuccess', 'broadcastEndTime', 'userMessageReference');
    default:
      return {};
  }
}

function interopCase(command: CommandName): Pdu {
  const p = samplePdu(command, 0x01020304);
  for (const f of BODY[command]) {
    if (f.kind === 'time') p[f.key] = TIME;
  }
  // Binary data_coding and no UDHI, so node-smpp leaves the octets alone (see the header).
  if ('dataCoding' in p) p['dataCoding'] = 0x04;
  if ('esmClass' in p) p['esmClass'] = 0x03;
  if ('tlvs' in p) p['tlvs'] = tlvsFor(command);
  return p as unknown as Pdu;
}

// ---- tests --------------------------------------------------------------------------------------------

describe('node-smpp interop: both know every command', () => {
  it('node-smpp has the same 33 command ids', () => {
    for (const c of ALL_COMMANDS) assert.equal(smpp.commands[c]?.id, CommandId[c], c);
    assert.equal(Object.keys(smpp.commands).length, ALL_COMMANDS.length);
  });

  it('node-smpp has the same TLV tags (under the 5.0 names)', () => {
    for (const s of TLV_SPECS) assert.equal(smpp.tlvs[s.name]?.id, s.tag, s.name);
  });
});

describe('A. node-smpp encodes, we decode', () => {
  for (const command of ALL_COMMANDS) {
    it(command, () => {
      const ours = interopCase(command);
      const bytes = new smpp.PDU(command, toNode(ours)).toBuffer();
      assert.deepStrictEqual(plain(decodePdu(bytes)), plain(ours));
    });
  }

  it('an error response built by node-smpp is header-only and decodes with defaults', () => {
    const bytes = new smpp.PDU('submit_sm_resp', { command_status: 0x0b, sequence_number: 9, message_id: 'ignored' }).toBuffer();
    assert.equal(bytes.length, 16);
    const p = decodePdu(bytes);
    assert.deepStrictEqual(plain(p), plain({ command: 'submit_sm_resp', commandStatus: 0x0b, sequenceNumber: 9, messageId: '', tlvs: {} }));
  });

  it('deviation: node-smpp encodes a short_message string by data_coding; we see the octets', () => {
    // data_coding 0x00: node-smpp's GSM 03.38 table, '@' → 0x00, '£' → 0x01, '_' → 0x11.
    const gsm = new smpp.PDU('submit_sm', { destination_addr: '4477', data_coding: 0, short_message: 'Hi @£_' }).toBuffer();
    const a = decodePdu(gsm);
    if (a.command !== 'submit_sm') return assert.fail(a.command);
    assert.equal(Buffer.from(a.shortMessage).toString('hex'), Buffer.from([0x48, 0x69, 0x20, 0x00, 0x01, 0x11]).toString('hex'));
    // data_coding 0x08: UCS-2 big-endian.
    const ucs2 = new smpp.PDU('submit_sm', { destination_addr: '4477', data_coding: 8, short_message: 'Привет ☺' }).toBuffer();
    const b = decodePdu(ucs2);
    if (b.command !== 'submit_sm') return assert.fail(b.command);
    assert.equal(Buffer.from(b.shortMessage).toString('hex'), Buffer.from('Привет ☺', 'utf16le').swap16().toString('hex'));
    // No data_coding given: node-smpp detects "ASCII" (its GSM table) and labels it 0x01 (IA5).
    const detected = decodePdu(new smpp.PDU('submit_sm', { destination_addr: '4477', short_message: 'plain' }).toBuffer());
    if (detected.command !== 'submit_sm') return assert.fail(detected.command);
    assert.equal(detected.dataCoding, 0x01);
    assert.equal(Buffer.from(detected.shortMessage).toString('latin1'), 'plain');
  });

  it('deviation: node-smpp prepends a { udh } to the message and sets UDHI in esm_class', () => {
    const udh = Buffer.from('050003cc0201', 'hex');
    const bytes = new smpp.PDU('submit_sm', {
      destination_addr: '4477',
      esm_class: 0x03,
      data_coding: 0x04,
      short_message: { udh, message: Buffer.from('part one') },
    }).toBuffer();
    const p = decodePdu(bytes);
    if (p.command !== 'submit_sm') return assert.fail(p.command);
    assert.equal(p.esmClass, 0x43);
    assert.equal(Buffer.from(p.shortMessage).toString('hex'), Buffer.concat([udh, Buffer.from('part one')]).toString('hex'));
  });

  it('deviation: node-smpp writes broadcast_end_time as 16 octets without NUL; we accept it', () => {
    const bytes = new smpp.PDU('query_broadcast_sm_resp', { message_id: 'b1', broadcast_end_time: '261121221055000+' }).toBuffer();
    assert.ok(bytes.toString('hex').endsWith(`06090010${Buffer.from('261121221055000+').toString('hex')}`));
    const p = decodePdu(bytes);
    if (p.command !== 'query_broadcast_sm_resp') return assert.fail(p.command);
    assert.equal(p.tlvs.broadcastEndTime, '261121221055000+');
  });

  it('deviation: node-smpp writes source_telematics_id as I2 (2 octets); we keep them raw', () => {
    const bytes = new smpp.PDU('data_sm', { destination_addr: '1', source_telematics_id: 0x0203, message_payload: Buffer.from('x') }).toBuffer();
    const p = decodePdu(bytes);
    if (p.command !== 'data_sm') return assert.fail(p.command);
    assert.deepStrictEqual([...(p.tlvs.sourceTelematicsId ?? [])], [0x02, 0x03]);
  });

  it('a relative validity_period written by node-smpp from a short string ("10m" style) is 16 chars ending in R', () => {
    // node-smpp turns a string of up to 12 digits into a relative time.
    const bytes = new smpp.PDU('submit_sm', { destination_addr: '1', validity_period: '1000' }).toBuffer();
    const p = decodePdu(bytes);
    if (p.command !== 'submit_sm') return assert.fail(p.command);
    assert.equal(p.validityPeriod, '000000001000000R');
  });
});

describe('B. we encode, node-smpp decodes', () => {
  for (const command of ALL_COMMANDS) {
    it(command, () => {
      const ours = interopCase(command);
      const n = nodeDecode(encodePdu(ours));
      assert.deepStrictEqual(plain(fromNode(n, command)), plain(withInstants(ours)));
    });
  }

  it('unknown TLVs we write are read by node-smpp as raw Buffers under their tag', () => {
    const p = interopCase('submit_sm') as Pdu & { tlvs: Record<string, unknown> };
    p.tlvs = { unknown: [{ tag: 0x1401, value: Buffer.from([1, 2, 3]) }, { tag: 0x7777, value: Buffer.alloc(0) }] };
    const n = nodeDecode(encodePdu(p));
    assert.equal(Buffer.from(n[String(0x1401)] as Buffer).toString('hex'), '010203');
    assert.equal((n[String(0x7777)] as Buffer).length, 0);
  });

  it('an error response we write header-only is read by node-smpp with no body', () => {
    const p = { command: 'submit_sm_resp', commandStatus: 0x45, sequenceNumber: 3, messageId: '', tlvs: {} } as Pdu;
    const n = nodeDecode(encodePdu(p));
    assert.equal(n.command_length, 16);
    assert.equal(n.command_status, 0x45);
    assert.equal(n['message_id'], undefined);
  });

  it('text short messages: node-smpp decodes our octets by data_coding', () => {
    const ucs2 = interopCase('deliver_sm') as unknown as Record<string, unknown>;
    ucs2['dataCoding'] = 0x08;
    ucs2['shortMessage'] = Buffer.from('Привет ☺', 'utf16le').swap16();
    const a = nodeDecode(encodePdu(ucs2 as unknown as Pdu));
    assert.deepStrictEqual(a['short_message'], { message: 'Привет ☺' });
    const gsm = interopCase('deliver_sm') as unknown as Record<string, unknown>;
    gsm['dataCoding'] = 0x00;
    gsm['shortMessage'] = Buffer.from([0x48, 0x69, 0x20, 0x00, 0x11]);
    const b = nodeDecode(encodePdu(gsm as unknown as Pdu));
    assert.deepStrictEqual(b['short_message'], { message: 'Hi @_' });
  });

  it('UDH: node-smpp splits our short_message at the UDH when esm_class has UDHI', () => {
    const p = interopCase('deliver_sm') as unknown as Record<string, unknown>;
    p['esmClass'] = 0x40;
    p['shortMessage'] = Buffer.concat([Buffer.from('050003cc0202', 'hex'), Buffer.from('tail')]);
    const n = nodeDecode(encodePdu(p as unknown as Pdu));
    const sm = n['short_message'] as { udh: Buffer[]; message: Buffer };
    assert.equal(Buffer.concat(sm.udh).toString('hex'), '0003cc0202');
    assert.equal(Buffer.from(sm.message).toString(), 'tail');
  });

  it('deviation: node-smpp reads C-strings as ASCII, clearing the high bit of latin1 octets', () => {
    const p = interopCase('bind_transceiver_resp') as unknown as Record<string, unknown>;
    p['systemId'] = 'Zürich';
    p['tlvs'] = {};
    const n = nodeDecode(encodePdu(p as unknown as Pdu));
    // 'ü' is 0xfc on the wire (latin1); Node's 'ascii' decoding turns it into 0x7c '|'.
    assert.equal(n['system_id'], 'Z|rich');
  });

  it('deviation: our 17-octet broadcast_end_time is read by node-smpp with the NUL, dropping the UTC offset', () => {
    const p = interopCase('query_broadcast_sm_resp') as unknown as Record<string, unknown>;
    p['tlvs'] = { broadcastEndTime: '261121221055004+' };
    const n = nodeDecode(encodePdu(p as unknown as Pdu));
    const d = n['broadcast_end_time'] as Date;
    // Local time taken as UTC: one hour (4 quarter hours) off the true instant.
    assert.equal(d.getTime(), absoluteTimeMs('261121221055004+') + 60 * 60_000);
  });

  it('deviation: a 1-octet source_telematics_id (5.0) is misread by node-smpp as I2 over the next octet', () => {
    const p = interopCase('data_sm') as unknown as Record<string, unknown>;
    p['tlvs'] = { sourceTelematicsId: Buffer.from([0x07]), userMessageReference: 0x0102 };
    const n = nodeDecode(encodePdu(p as unknown as Pdu));
    // node-smpp reads 0x07 and the first octet of the next TLV's tag (0x02 of 0x0204).
    assert.equal(n['source_telematics_id'], 0x0702);
    assert.equal(n['user_message_reference'], 0x0102);
  });
});

describe('C. the 75 fixtures decode to the same values in node-smpp and in our codec', () => {
  for (const f of loadFixtures()) {
    it(f.name, () => {
      const ours = decodePdu(f.bytes);
      const theirs = fromNode(nodeDecode(f.bytes), ours.command);
      const mine = withInstants(ours);
      // node-smpp decodes relative times to "now + offset": compare those as strings instead.
      for (const k of TIME_FIELDS) {
        const v = (ours as unknown as Record<string, unknown>)[k];
        if (typeof v === 'string' && v.endsWith('R')) {
          assert.ok((theirs[k] as { ms: number }).ms > Date.now() - 60_000, `${k} is in the future`);
          theirs[k] = v;
          mine[k] = v;
        }
      }
      // Text: node-smpp decodes octets into strings (deviation). Compare its string with our
      // octets read the same way: UCS-2 exactly; GSM where the octets mean the same in ASCII.
      if ('shortMessage' in mine) {
        const sm = theirs['shortMessage'] as { message: unknown; udh?: Buffer[] } | Buffer | undefined;
        if (sm !== undefined && !Buffer.isBuffer(sm)) {
          const rec = ours as unknown as { shortMessage: Buffer; dataCoding: number; esmClass: number };
          let octets = Buffer.from(rec.shortMessage);
          if ((rec.esmClass & 0x40) !== 0 && octets.length > 0) {
            const udhl = octets[0]!;
            assert.equal(Buffer.concat(sm.udh ?? []).toString('hex'), octets.subarray(1, 1 + udhl).toString('hex'), 'UDH');
            octets = octets.subarray(1 + udhl);
          }
          const text = sm.message as string;
          if (rec.dataCoding === 0x08) assert.equal(text, Buffer.from(octets).swap16().toString('utf16le'), 'UCS-2 text');
          else if (/^[A-Za-z0-9 .,:!?'()-]*$/.test(octets.toString('latin1'))) {
            assert.equal(text, octets.toString('latin1'), 'GSM text');
          }
          theirs['shortMessage'] = 'text';
          mine['shortMessage'] = 'text';
        }
      }
      const tl = mine['tlvs'] as Record<string, unknown> | undefined;
      if (tl?.['messagePayload'] !== undefined) {
        const tt = theirs['tlvs'] as Record<string, unknown>;
        assert.ok(tt['messagePayload'] !== undefined, 'node-smpp sees message_payload');
        mine['tlvs'] = { ...tl, messagePayload: 'text' };
        theirs['tlvs'] = { ...tt, messagePayload: 'text' };
      }
      assert.deepStrictEqual(plain(theirs), plain(mine));
    });
  }
});

/** Every TLV the cases carry, to prove the interop tables cover them all. */
describe('coverage of the interop cases', () => {
  it('data_sm carries every one of the 64 TLVs', () => {
    const p = interopCase('data_sm') as unknown as { tlvs: Record<string, unknown> };
    const keys = new Set(Object.keys(p.tlvs));
    const missing = TLV_SPECS.filter((s: TlvSpec) => !keys.has(s.key)).map((s) => s.name);
    assert.deepStrictEqual(missing, []);
  });
});
