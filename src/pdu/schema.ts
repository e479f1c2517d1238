/**
 * The declarative PDU schema: the single source of truth for every PDU's mandatory body and
 * every TLV. decode.ts and encode.ts interpret these tables; nothing else knows field order.
 * [SMPP34 §4], [SMPP50 §4] as restated in the shared reference §2 and §4.
 */
import { CommandId, type CommandName, CommandStatus, type TlvName, TlvTag } from './constants.js';
import type { PduOf } from './types.js';

/** Field kinds, as small integers so the decode loop is one switch. */
export const FieldKind = {
  /** unsigned 8-bit integer */
  U8: 0,
  /** unsigned 32-bit integer */
  U32: 2,
  /** C-Octet String, latin1, max length includes the NUL */
  CString: 3,
  /** sm_length (u8) + short_message octets */
  ShortMessage: 4,
  /** submit_multi: number_of_dests (u8) + dest_address list */
  DestAddresses: 5,
  /** submit_multi_resp: no_unsuccess (u8) + unsuccess_sme list */
  UnsuccessSmes: 6,
} as const;
export type FieldKind = (typeof FieldKind)[keyof typeof FieldKind];

/** One mandatory field of a PDU body. */
export interface FieldSpec {
  readonly kind: FieldKind;
  /** camelCase property name on the PDU object */
  readonly key: string;
  /** spec name, for dumps and docs */
  readonly specName: string;
  /** C-string: max octets including the NUL */
  readonly max: number;
  /** command_status for a C-string that exceeds `max` */
  readonly status: number;
}

/** The schema of one command. `body === null` marks a header-only PDU. */
export interface PduSpec {
  readonly command: CommandName;
  readonly id: number;
  readonly isResponse: boolean;
  readonly body: readonly FieldSpec[] | null;
}

type BodyKey<C extends CommandName> = Exclude<keyof PduOf<C>, 'command' | 'commandStatus' | 'sequenceNumber' | 'tlvs'> &
  string;

const S = CommandStatus;

function u8<K extends string>(key: K, specName: string): FieldSpec & { key: K } {
  return { kind: FieldKind.U8, key, specName, max: 1, status: S.ESME_RINVCMDLEN };
}
function cstr<K extends string>(
  key: K,
  specName: string,
  max: number,
  status: number = S.ESME_RINVCMDLEN,
): FieldSpec & { key: K } {
  return { kind: FieldKind.CString, key, specName, max, status };
}
function special<K extends string>(kind: FieldKind, key: K, specName: string): FieldSpec & { key: K } {
  return { kind, key, specName, max: 0, status: S.ESME_RINVCMDLEN };
}

/**
 * Declares a PDU; `body` keys are checked against the PDU interface at compile time.
 * Every body key of the interface must appear (see `AssertAllKeys` below).
 */
function pdu<C extends CommandName>(command: C, body: ReadonlyArray<FieldSpec & { key: BodyKey<C> }> | null): PduSpec {
  const id = CommandId[command];
  return { command, id, isResponse: (id & 0x80000000) !== 0, body };
}

// Reusable field groups -------------------------------------------------------------------

const serviceType = cstr('serviceType', 'service_type', 6, S.ESME_RINVSERTYP);
const sourceAddrTon = u8('sourceAddrTon', 'source_addr_ton');
const sourceAddrNpi = u8('sourceAddrNpi', 'source_addr_npi');
const sourceAddr21 = cstr('sourceAddr', 'source_addr', 21, S.ESME_RINVSRCADR);
const sourceAddr65 = cstr('sourceAddr', 'source_addr', 65, S.ESME_RINVSRCADR);
const destAddrTon = u8('destAddrTon', 'dest_addr_ton');
const destAddrNpi = u8('destAddrNpi', 'dest_addr_npi');
const destinationAddr21 = cstr('destinationAddr', 'destination_addr', 21, S.ESME_RINVDSTADR);
const destinationAddr65 = cstr('destinationAddr', 'destination_addr', 65, S.ESME_RINVDSTADR);
const messageId = cstr('messageId', 'message_id', 65, S.ESME_RINVMSGID);
const scheduleDeliveryTime = cstr('scheduleDeliveryTime', 'schedule_delivery_time', 17, S.ESME_RINVSCHED);
const validityPeriod = cstr('validityPeriod', 'validity_period', 17, S.ESME_RINVEXPIRY);
const esmClass = u8('esmClass', 'esm_class');
const protocolId = u8('protocolId', 'protocol_id');
const priorityFlag = u8('priorityFlag', 'priority_flag');
const registeredDelivery = u8('registeredDelivery', 'registered_delivery');
const replaceIfPresentFlag = u8('replaceIfPresentFlag', 'replace_if_present_flag');
const dataCoding = u8('dataCoding', 'data_coding');
const smDefaultMsgId = u8('smDefaultMsgId', 'sm_default_msg_id');
const shortMessage = special(FieldKind.ShortMessage, 'shortMessage', 'short_message');

const bindBody = [
  cstr('systemId', 'system_id', 16, S.ESME_RINVSYSID),
  cstr('password', 'password', 9, S.ESME_RINVPASWD),
  cstr('systemType', 'system_type', 13, S.ESME_RINVSYSTYP),
  u8('interfaceVersion', 'interface_version'),
  u8('addrTon', 'addr_ton'),
  u8('addrNpi', 'addr_npi'),
  cstr('addressRange', 'address_range', 41),
] as const;
const bindRespBody = [cstr('systemId', 'system_id', 16, S.ESME_RINVSYSID)] as const;

// [SMPP34 §4.4.1] submit_sm and [§4.6.1] deliver_sm share one layout.
const shortMessageBody = [
  serviceType,
  sourceAddrTon,
  sourceAddrNpi,
  sourceAddr21,
  destAddrTon,
  destAddrNpi,
  destinationAddr21,
  esmClass,
  protocolId,
  priorityFlag,
  scheduleDeliveryTime,
  validityPeriod,
  registeredDelivery,
  replaceIfPresentFlag,
  dataCoding,
  smDefaultMsgId,
  shortMessage,
] as const;

/** Every PDU of SMPP 3.4 and 5.0. */
export const PDU_SPECS: readonly PduSpec[] = [
  pdu('generic_nack', null),
  pdu('bind_receiver', bindBody),
  pdu('bind_receiver_resp', bindRespBody),
  pdu('bind_transmitter', bindBody),
  pdu('bind_transmitter_resp', bindRespBody),
  pdu('bind_transceiver', bindBody),
  pdu('bind_transceiver_resp', bindRespBody),
  pdu('outbind', [cstr('systemId', 'system_id', 16, S.ESME_RINVSYSID), cstr('password', 'password', 9, S.ESME_RINVPASWD)]),
  pdu('unbind', null),
  pdu('unbind_resp', null),
  pdu('enquire_link', null),
  pdu('enquire_link_resp', null),
  pdu('alert_notification', [
    sourceAddrTon,
    sourceAddrNpi,
    cstr('sourceAddr', 'source_addr', 65, S.ESME_RINVSRCADR),
    u8('esmeAddrTon', 'esme_addr_ton'),
    u8('esmeAddrNpi', 'esme_addr_npi'),
    cstr('esmeAddr', 'esme_addr', 65),
  ]),
  pdu('submit_sm', shortMessageBody),
  pdu('submit_sm_resp', [messageId]),
  pdu('deliver_sm', shortMessageBody),
  pdu('deliver_sm_resp', [messageId]),
  // [SMPP34 §4.5.1]
  pdu('submit_multi', [
    serviceType,
    sourceAddrTon,
    sourceAddrNpi,
    sourceAddr21,
    special(FieldKind.DestAddresses, 'destAddresses', 'dest_address'),
    esmClass,
    protocolId,
    priorityFlag,
    scheduleDeliveryTime,
    validityPeriod,
    registeredDelivery,
    replaceIfPresentFlag,
    dataCoding,
    smDefaultMsgId,
    shortMessage,
  ]),
  pdu('submit_multi_resp', [messageId, special(FieldKind.UnsuccessSmes, 'unsuccessSmes', 'unsuccess_sme')]),
  // [SMPP34 §4.7.1] addresses are C(65) in data_sm
  pdu('data_sm', [
    serviceType,
    sourceAddrTon,
    sourceAddrNpi,
    sourceAddr65,
    destAddrTon,
    destAddrNpi,
    destinationAddr65,
    esmClass,
    registeredDelivery,
    dataCoding,
  ]),
  pdu('data_sm_resp', [messageId]),
  pdu('query_sm', [messageId, sourceAddrTon, sourceAddrNpi, sourceAddr21]),
  pdu('query_sm_resp', [
    messageId,
    cstr('finalDate', 'final_date', 17, S.ESME_RINVCMDLEN),
    u8('messageState', 'message_state'),
    u8('errorCode', 'error_code'),
  ]),
  pdu('cancel_sm', [
    serviceType,
    messageId,
    sourceAddrTon,
    sourceAddrNpi,
    sourceAddr21,
    destAddrTon,
    destAddrNpi,
    destinationAddr21,
  ]),
  pdu('cancel_sm_resp', null),
  pdu('replace_sm', [
    messageId,
    sourceAddrTon,
    sourceAddrNpi,
    sourceAddr21,
    scheduleDeliveryTime,
    validityPeriod,
    registeredDelivery,
    smDefaultMsgId,
    shortMessage,
  ]),
  pdu('replace_sm_resp', null),
  // [SMPP50 §4.6.1] broadcast operations
  pdu('broadcast_sm', [
    serviceType,
    sourceAddrTon,
    sourceAddrNpi,
    sourceAddr21,
    messageId,
    priorityFlag,
    scheduleDeliveryTime,
    validityPeriod,
    replaceIfPresentFlag,
    dataCoding,
    smDefaultMsgId,
  ]),
  pdu('broadcast_sm_resp', [messageId]),
  pdu('query_broadcast_sm', [messageId, sourceAddrTon, sourceAddrNpi, sourceAddr21]),
  pdu('query_broadcast_sm_resp', [messageId]),
  pdu('cancel_broadcast_sm', [serviceType, messageId, sourceAddrTon, sourceAddrNpi, sourceAddr21]),
  pdu('cancel_broadcast_sm_resp', null),
];

const specById = new Map<number, PduSpec>(PDU_SPECS.map((s) => [s.id, s]));
const specByName = new Map<string, PduSpec>(PDU_SPECS.map((s) => [s.command, s]));

/** The schema for a command_id, or undefined when the id is unknown. */
export function specForId(id: number): PduSpec | undefined {
  return specById.get(id);
}
/** The schema for a command name. */
export function specForCommand(command: CommandName): PduSpec {
  return specByName.get(command)!;
}

// ---- TLVs ---------------------------------------------------------------------------------

/** TLV value kinds. */
export const TlvKind = {
  U8: 0,
  U16: 1,
  U32: 2,
  /** C-string: the value includes the NUL; a value without one is accepted (read whole) */
  CString: 3,
  Octets: 4,
  /** network_error_code: 3 octets, type + u16 code */
  NetworkError: 5,
} as const;
export type TlvKind = (typeof TlvKind)[keyof typeof TlvKind];

/** One known TLV. */
export interface TlvSpec {
  readonly tag: number;
  readonly name: TlvName;
  /** camelCase key in `Tlvs` */
  readonly key: string;
  readonly kind: TlvKind;
  /** allowed value length range in octets (C-strings: including the NUL) */
  readonly min: number;
  readonly max: number;
  /** the tag may appear several times: the value is an array */
  readonly repeat: boolean;
  /** when set, only these lengths are valid (within min..max) */
  readonly lengths?: readonly number[];
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function tlv(name: TlvName, kind: TlvKind, min?: number, max?: number, repeat = false): TlvSpec {
  const fixed = kind === TlvKind.U8 ? 1 : kind === TlvKind.U16 ? 2 : kind === TlvKind.U32 ? 4 : 3;
  return {
    tag: TlvTag[name],
    name,
    key: camel(name),
    kind,
    min: min ?? fixed,
    max: max ?? fixed,
    repeat,
  };
}

const { U8, U16, U32, CString, Octets, NetworkError } = TlvKind;

/** Every TLV of SMPP 3.4 and 5.0 with its length rules ([ref §4.2]). */
export const TLV_SPECS: readonly TlvSpec[] = [
  tlv('dest_addr_subunit', U8),
  tlv('dest_network_type', U8),
  tlv('dest_bearer_type', U8),
  tlv('dest_telematics_id', U16),
  tlv('source_addr_subunit', U8),
  tlv('source_network_type', U8),
  tlv('source_bearer_type', U8),
  // 1 octet in the 5.0 text, 2 in older decoders: accept both, keep raw. [ref §10.8]
  tlv('source_telematics_id', Octets, 1, 2),
  tlv('qos_time_to_live', U32),
  tlv('payload_type', U8),
  tlv('additional_status_info_text', CString, 1, 256),
  tlv('receipted_message_id', CString, 1, 65),
  tlv('ms_msg_wait_facilities', U8),
  tlv('privacy_indicator', U8),
  tlv('source_subaddress', Octets, 2, 23),
  tlv('dest_subaddress', Octets, 2, 23),
  tlv('user_message_reference', U16),
  tlv('user_response_code', U8),
  tlv('source_port', U16),
  tlv('dest_port', U16),
  tlv('sar_msg_ref_num', U16),
  tlv('language_indicator', U8),
  tlv('sar_total_segments', U8),
  tlv('sar_segment_seqnum', U8),
  tlv('sc_interface_version', U8),
  tlv('callback_num_pres_ind', U8, 1, 1, true),
  tlv('callback_num_atag', Octets, 1, 65, true),
  tlv('number_of_messages', U8),
  tlv('callback_num', Octets, 4, 19, true),
  tlv('dpf_result', U8),
  tlv('set_dpf', U8),
  tlv('ms_availability_status', U8),
  tlv('network_error_code', NetworkError),
  tlv('message_payload', Octets, 0, 65535),
  tlv('delivery_failure_reason', U8),
  tlv('more_messages_to_send', U8),
  tlv('message_state', U8),
  tlv('congestion_state', U8),
  tlv('ussd_service_op', U8),
  tlv('broadcast_channel_indicator', U8),
  tlv('broadcast_content_type', Octets, 3, 3),
  tlv('broadcast_content_type_info', Octets, 1, 255),
  tlv('broadcast_message_class', U8),
  tlv('broadcast_rep_num', U16),
  tlv('broadcast_frequency_interval', Octets, 3, 3),
  tlv('broadcast_area_identifier', Octets, 1, 101, true),
  tlv('broadcast_error_status', U32, 4, 4, true),
  tlv('broadcast_area_success', U8, 1, 1, true),
  // 16 characters, NUL inclusion unclear: accept 16 or 17, send 17. [ref §10.12]
  tlv('broadcast_end_time', CString, 16, 17),
  tlv('broadcast_service_group', Octets, 1, 255),
  tlv('billing_identification', Octets, 1, 1024),
  tlv('source_network_id', CString, 7, 65),
  tlv('dest_network_id', CString, 7, 65),
  tlv('source_node_id', Octets, 6, 6),
  tlv('dest_node_id', Octets, 6, 6),
  tlv('dest_addr_np_resolution', U8),
  tlv('dest_addr_np_information', Octets, 10, 10),
  tlv('dest_addr_np_country', Octets, 1, 5),
  tlv('display_time', U8),
  tlv('sms_signal', U16),
  { ...tlv('ms_validity', Octets, 1, 4), lengths: [1, 4] }, // 1 (3.4) or 4 (5.0) octets
  tlv('alert_on_message_delivery', Octets, 0, 1),
  tlv('its_reply_type', U8),
  tlv('its_session_info', Octets, 2, 2),
];

const tlvByTag = new Map<number, TlvSpec>(TLV_SPECS.map((t) => [t.tag, t]));
const tlvByKey = new Map<string, TlvSpec>(TLV_SPECS.map((t) => [t.key, t]));

/** The spec of a known TLV tag. */
export function tlvSpecForTag(tag: number): TlvSpec | undefined {
  return tlvByTag.get(tag);
}
/** The spec of a `Tlvs` key. */
export function tlvSpecForKey(key: string): TlvSpec | undefined {
  return tlvByKey.get(key);
}
