/**
 * SMPP 3.4 / 5.0 constants as `as const` maps with derived types.
 * Values restate the specification (see docs/smpp-reference.md in shared/ §1-5).
 * This module is a leaf: it imports nothing.
 */

/** command_id values. [SMPP50 §4.7.5] Response = request | 0x80000000. */
export const CommandId = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  query_sm: 0x00000003,
  query_sm_resp: 0x80000003,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  replace_sm: 0x00000007,
  replace_sm_resp: 0x80000007,
  cancel_sm: 0x00000008,
  cancel_sm_resp: 0x80000008,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  outbind: 0x0000000b,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
  submit_multi: 0x00000021,
  submit_multi_resp: 0x80000021,
  alert_notification: 0x00000102,
  data_sm: 0x00000103,
  data_sm_resp: 0x80000103,
  broadcast_sm: 0x00000111,
  broadcast_sm_resp: 0x80000111,
  query_broadcast_sm: 0x00000112,
  query_broadcast_sm_resp: 0x80000112,
  cancel_broadcast_sm: 0x00000113,
  cancel_broadcast_sm_resp: 0x80000113,
} as const;
export type CommandName = keyof typeof CommandId;
export type CommandIdValue = (typeof CommandId)[CommandName];

/** Bit 31 of command_id marks a response. [SMPP34 §3.2] */
export const RESPONSE_BIT = 0x80000000;

const commandNameById = new Map<number, CommandName>(
  (Object.keys(CommandId) as CommandName[]).map((name) => [CommandId[name], name]),
);

/** The command name for a command_id, or undefined for an unknown id. */
export function commandNameOf(id: number): CommandName | undefined {
  return commandNameById.get(id >>> 0);
}

/** True when the command_id has the response bit set. */
export function isResponseId(id: number): boolean {
  return (id & RESPONSE_BIT) !== 0;
}

/** command_status values, with the SMPP 5.0 spelling. [SMPP50 §4.7.6] */
export const CommandStatus = {
  ESME_ROK: 0x00000000,
  ESME_RINVMSGLEN: 0x00000001,
  ESME_RINVCMDLEN: 0x00000002,
  ESME_RINVCMDID: 0x00000003,
  ESME_RINVBNDSTS: 0x00000004,
  ESME_RALYBND: 0x00000005,
  ESME_RINVPRTFLG: 0x00000006,
  ESME_RINVREGDLVFLG: 0x00000007,
  ESME_RSYSERR: 0x00000008,
  ESME_RINVSRCADR: 0x0000000a,
  ESME_RINVDSTADR: 0x0000000b,
  ESME_RINVMSGID: 0x0000000c,
  ESME_RBINDFAIL: 0x0000000d,
  ESME_RINVPASWD: 0x0000000e,
  ESME_RINVSYSID: 0x0000000f,
  ESME_RCANCELFAIL: 0x00000011,
  ESME_RREPLACEFAIL: 0x00000013,
  ESME_RMSGQFUL: 0x00000014,
  ESME_RINVSERTYP: 0x00000015,
  ESME_RINVNUMDESTS: 0x00000033,
  ESME_RINVDLNAME: 0x00000034,
  ESME_RINVDESTFLAG: 0x00000040,
  ESME_RINVSUBREP: 0x00000042,
  ESME_RINVESMCLASS: 0x00000043,
  ESME_RCNTSUBDL: 0x00000044,
  ESME_RSUBMITFAIL: 0x00000045,
  ESME_RINVSRCTON: 0x00000048,
  ESME_RINVSRCNPI: 0x00000049,
  ESME_RINVDSTTON: 0x00000050,
  ESME_RINVDSTNPI: 0x00000051,
  ESME_RINVSYSTYP: 0x00000053,
  ESME_RINVREPFLAG: 0x00000054,
  ESME_RINVNUMMSGS: 0x00000055,
  ESME_RTHROTTLED: 0x00000058,
  ESME_RINVSCHED: 0x00000061,
  ESME_RINVEXPIRY: 0x00000062,
  ESME_RINVDFTMSGID: 0x00000063,
  ESME_RX_T_APPN: 0x00000064,
  ESME_RX_P_APPN: 0x00000065,
  ESME_RX_R_APPN: 0x00000066,
  ESME_RQUERYFAIL: 0x00000067,
  ESME_RINVTLVSTREAM: 0x000000c0,
  ESME_RTLVNOTALLWD: 0x000000c1,
  ESME_RINVTLVLEN: 0x000000c2,
  ESME_RMISSINGTLV: 0x000000c3,
  ESME_RINVTLVVAL: 0x000000c4,
  ESME_RDELIVERYFAILURE: 0x000000fe,
  ESME_RUNKNOWNERR: 0x000000ff,
  ESME_RSERTYPUNAUTH: 0x00000100,
  ESME_RPROHIBITED: 0x00000101,
  ESME_RSERTYPUNAVAIL: 0x00000102,
  ESME_RSERTYPDENIED: 0x00000103,
  ESME_RINVDCS: 0x00000104,
  ESME_RINVSRCADDRSUBUNIT: 0x00000105,
  ESME_RINVDSTADDRSUBUNIT: 0x00000106,
  ESME_RINVBCASTFREQINT: 0x00000107,
  ESME_RINVBCASTALIAS_NAME: 0x00000108,
  ESME_RINVBCASTAREAFMT: 0x00000109,
  ESME_RINVNUMBCAST_AREAS: 0x0000010a,
  ESME_RINVBCASTCNTTYPE: 0x0000010b,
  ESME_RINVBCASTMSGCLASS: 0x0000010c,
  ESME_RBCASTFAIL: 0x0000010d,
  ESME_RBCASTQUERYFAIL: 0x0000010e,
  ESME_RBCASTCANCELFAIL: 0x0000010f,
  ESME_RINVBCAST_REP: 0x00000110,
  ESME_RINVBCASTSRVGRP: 0x00000111,
  ESME_RINVBCASTCHANIND: 0x00000112,
} as const;
export type CommandStatusName = keyof typeof CommandStatus;
export type CommandStatusCode = (typeof CommandStatus)[CommandStatusName];

/** SMPP 3.4 names of 0xC0-0xC4 (same values as the 5.0 names). [SMPP34 §5.1.3] */
export const CommandStatus34Alias = {
  ESME_RINVOPTPARSTREAM: 0x000000c0,
  ESME_ROPTPARNOTALLWD: 0x000000c1,
  ESME_RINVPARLEN: 0x000000c2,
  ESME_RMISSINGOPTPARAM: 0x000000c3,
  ESME_RINVOPTPARAMVAL: 0x000000c4,
} as const;

const statusNameByCode = new Map<number, string>(
  (Object.keys(CommandStatus) as CommandStatusName[]).map((n) => [CommandStatus[n], n]),
);

/** The spec name of a command_status (e.g. `ESME_RTHROTTLED`), or `0x...` for reserved values. */
export function commandStatusName(code: number): string {
  return statusNameByCode.get(code >>> 0) ?? `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/** Looks a status up by its 5.0 or 3.4 name; undefined when unknown. */
export function commandStatusByName(name: string): number | undefined {
  const upper = name.toUpperCase();
  return (
    (CommandStatus as Record<string, number>)[upper] ??
    (CommandStatus34Alias as Record<string, number>)[upper]
  );
}

/** interface_version values. [SMPP34 §5.2.4] */
export const InterfaceVersion = { V33: 0x33, V34: 0x34, V50: 0x50 } as const;

/** Type of number. [SMPP34 §5.2.5] */
export const Ton = {
  Unknown: 0,
  International: 1,
  National: 2,
  NetworkSpecific: 3,
  SubscriberNumber: 4,
  Alphanumeric: 5,
  Abbreviated: 6,
} as const;

/** Numbering plan indicator. [SMPP34 §5.2.6] */
export const Npi = {
  Unknown: 0,
  Isdn: 1,
  Data: 3,
  Telex: 4,
  LandMobile: 6,
  National: 8,
  Private: 9,
  Ermes: 10,
  Internet: 14,
  WapClientId: 18,
} as const;

/** data_coding values. [SMPP34 §5.2.19] */
export const DataCoding = {
  Default: 0x00,
  Ia5: 0x01,
  Binary2: 0x02,
  Latin1: 0x03,
  Binary: 0x04,
  Jis: 0x05,
  Cyrillic: 0x06,
  LatinHebrew: 0x07,
  Ucs2: 0x08,
  Pictogram: 0x09,
  Iso2022Jp: 0x0a,
  ExtendedKanji: 0x0d,
  KsC5601: 0x0e,
} as const;

/** esm_class bits. [SMPP34 §5.2.12] */
export const EsmClass = {
  ModeMask: 0x03,
  ModeDefault: 0x00,
  ModeDatagram: 0x01,
  ModeForward: 0x02,
  ModeStoreAndForward: 0x03,
  TypeMask: 0x3c,
  TypeDeliveryReceipt: 0x04,
  TypeDeliveryAck: 0x08,
  TypeUserAck: 0x10,
  TypeConversationAbort: 0x18,
  TypeIntermediateNotification: 0x20,
  Udhi: 0x40,
  ReplyPath: 0x80,
} as const;

/** registered_delivery bits. [SMPP34 §5.2.17] */
export const RegisteredDelivery = {
  ReceiptMask: 0x03,
  ReceiptNone: 0x00,
  ReceiptAlways: 0x01,
  ReceiptOnFailure: 0x02,
  ReceiptOnSuccess: 0x03,
  SmeAckMask: 0x0c,
  Intermediate: 0x10,
} as const;

/** message_state values. [SMPP50 §4.7.15] */
export const MessageState = {
  SCHEDULED: 0,
  ENROUTE: 1,
  DELIVERED: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIVERABLE: 5,
  ACCEPTED: 6,
  UNKNOWN: 7,
  REJECTED: 8,
  SKIPPED: 9,
} as const;
export type MessageStateName = keyof typeof MessageState;
export type MessageStateValue = (typeof MessageState)[MessageStateName];

/** dest_flag of submit_multi dest_address entries. [SMPP34 §5.2.25] */
export const DestFlag = { SmeAddress: 1, DistributionList: 2 } as const;

/** TLV tags. [SMPP50 §4.8.4]; 0x020B is `destination_port` in 3.4 and `dest_port` in 5.0. */
export const TlvTag = {
  dest_addr_subunit: 0x0005,
  dest_network_type: 0x0006,
  dest_bearer_type: 0x0007,
  dest_telematics_id: 0x0008,
  source_addr_subunit: 0x000d,
  source_network_type: 0x000e,
  source_bearer_type: 0x000f,
  source_telematics_id: 0x0010,
  qos_time_to_live: 0x0017,
  payload_type: 0x0019,
  additional_status_info_text: 0x001d,
  receipted_message_id: 0x001e,
  ms_msg_wait_facilities: 0x0030,
  privacy_indicator: 0x0201,
  source_subaddress: 0x0202,
  dest_subaddress: 0x0203,
  user_message_reference: 0x0204,
  user_response_code: 0x0205,
  source_port: 0x020a,
  dest_port: 0x020b,
  sar_msg_ref_num: 0x020c,
  language_indicator: 0x020d,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  sc_interface_version: 0x0210,
  callback_num_pres_ind: 0x0302,
  callback_num_atag: 0x0303,
  number_of_messages: 0x0304,
  callback_num: 0x0381,
  dpf_result: 0x0420,
  set_dpf: 0x0421,
  ms_availability_status: 0x0422,
  network_error_code: 0x0423,
  message_payload: 0x0424,
  delivery_failure_reason: 0x0425,
  more_messages_to_send: 0x0426,
  message_state: 0x0427,
  congestion_state: 0x0428,
  ussd_service_op: 0x0501,
  broadcast_channel_indicator: 0x0600,
  broadcast_content_type: 0x0601,
  broadcast_content_type_info: 0x0602,
  broadcast_message_class: 0x0603,
  broadcast_rep_num: 0x0604,
  broadcast_frequency_interval: 0x0605,
  broadcast_area_identifier: 0x0606,
  broadcast_error_status: 0x0607,
  broadcast_area_success: 0x0608,
  broadcast_end_time: 0x0609,
  broadcast_service_group: 0x060a,
  billing_identification: 0x060b,
  source_network_id: 0x060d,
  dest_network_id: 0x060e,
  source_node_id: 0x060f,
  dest_node_id: 0x0610,
  dest_addr_np_resolution: 0x0611,
  dest_addr_np_information: 0x0612,
  dest_addr_np_country: 0x0613,
  display_time: 0x1201,
  sms_signal: 0x1203,
  ms_validity: 0x1204,
  alert_on_message_delivery: 0x130c,
  its_reply_type: 0x1380,
  its_session_info: 0x1383,
} as const;
export type TlvName = keyof typeof TlvTag;

/** [ref §6.8] room for a 64 kB message_payload with its submit_sm around it. */
export const DEFAULT_MAX_PDU_BYTES = 70_000;
/** Size of the PDU header. [SMPP34 §3.2] */
export const HEADER_BYTES = 16;
