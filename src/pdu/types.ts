/**
 * Typed SMPP PDUs: a discriminated union on `command` (spec spelling).
 * Wire field names are camelCase; octet strings are Buffers (raw bytes; text lives in src/sm).
 * Octet fields of decoded PDUs are views into the frame they came from: copy before keeping them.
 */
import type { CommandName } from './constants.js';

/** network_error_code TLV value. [SMPP34 §5.3.2.31] */
export interface NetworkErrorCode {
  /** 1 ANSI-136, 2 IS-95, 3 GSM, 4-8 (5.0) */
  networkType: number;
  errorCode: number;
}

/** A TLV whose tag the codec does not know (vendor or future). Kept raw and re-encoded byte-exact. */
export interface RawTlv {
  tag: number;
  value: Buffer;
}

/**
 * Every TLV of SMPP 3.4 and 5.0, typed. Integers are numbers, C-strings strings (latin1),
 * octet strings Buffers. Tags that may repeat are arrays. Unknown tags go to `unknown` in wire order.
 */
export interface Tlvs {
  destAddrSubunit?: number;
  destNetworkType?: number;
  destBearerType?: number;
  destTelematicsId?: number;
  sourceAddrSubunit?: number;
  sourceNetworkType?: number;
  sourceBearerType?: number;
  /** 1 octet in the 5.0 text, 2 in older decoders: kept raw. [ref §10.8] */
  sourceTelematicsId?: Buffer;
  qosTimeToLive?: number;
  payloadType?: number;
  additionalStatusInfoText?: string;
  receiptedMessageId?: string;
  msMsgWaitFacilities?: number;
  privacyIndicator?: number;
  sourceSubaddress?: Buffer;
  destSubaddress?: Buffer;
  userMessageReference?: number;
  userResponseCode?: number;
  sourcePort?: number;
  destPort?: number;
  sarMsgRefNum?: number;
  languageIndicator?: number;
  sarTotalSegments?: number;
  sarSegmentSeqnum?: number;
  scInterfaceVersion?: number;
  callbackNumPresInd?: number[];
  callbackNumAtag?: Buffer[];
  numberOfMessages?: number;
  callbackNum?: Buffer[];
  dpfResult?: number;
  setDpf?: number;
  msAvailabilityStatus?: number;
  networkErrorCode?: NetworkErrorCode;
  messagePayload?: Buffer;
  deliveryFailureReason?: number;
  moreMessagesToSend?: number;
  messageState?: number;
  congestionState?: number;
  ussdServiceOp?: number;
  broadcastChannelIndicator?: number;
  broadcastContentType?: Buffer;
  broadcastContentTypeInfo?: Buffer;
  broadcastMessageClass?: number;
  broadcastRepNum?: number;
  broadcastFrequencyInterval?: Buffer;
  broadcastAreaIdentifier?: Buffer[];
  broadcastErrorStatus?: number[];
  broadcastAreaSuccess?: number[];
  broadcastEndTime?: string;
  broadcastServiceGroup?: Buffer;
  billingIdentification?: Buffer;
  sourceNetworkId?: string;
  destNetworkId?: string;
  sourceNodeId?: Buffer;
  destNodeId?: Buffer;
  destAddrNpResolution?: number;
  destAddrNpInformation?: Buffer;
  /** integer of 1-5 octets on the wire: kept raw. [ref §10.11] */
  destAddrNpCountry?: Buffer;
  displayTime?: number;
  smsSignal?: number;
  /** 1 octet (3.4) or 4 (5.0): kept raw. */
  msValidity?: Buffer;
  /** 0 octets (3.4) or 1 (5.0): presence means "alert". */
  alertOnMessageDelivery?: Buffer;
  itsReplyType?: number;
  itsSessionInfo?: Buffer;
  /** Unknown / vendor TLVs in wire order. */
  unknown?: RawTlv[];
}

interface Header<C extends CommandName> {
  command: C;
  commandStatus: number;
  sequenceNumber: number;
}

interface WithTlvs {
  tlvs: Tlvs;
}

// ---- session management ----------------------------------------------------------------

export interface BindBody {
  systemId: string;
  password: string;
  systemType: string;
  interfaceVersion: number;
  addrTon: number;
  addrNpi: number;
  addressRange: string;
}
export interface BindTransmitter extends Header<'bind_transmitter'>, BindBody, WithTlvs {}
export interface BindReceiver extends Header<'bind_receiver'>, BindBody, WithTlvs {}
export interface BindTransceiver extends Header<'bind_transceiver'>, BindBody, WithTlvs {}

export interface BindRespBody {
  systemId: string;
}
export interface BindTransmitterResp extends Header<'bind_transmitter_resp'>, BindRespBody, WithTlvs {}
export interface BindReceiverResp extends Header<'bind_receiver_resp'>, BindRespBody, WithTlvs {}
export interface BindTransceiverResp extends Header<'bind_transceiver_resp'>, BindRespBody, WithTlvs {}

export interface Outbind extends Header<'outbind'>, WithTlvs {
  systemId: string;
  password: string;
}

export interface Unbind extends Header<'unbind'> {}
export interface UnbindResp extends Header<'unbind_resp'> {}
export interface EnquireLink extends Header<'enquire_link'> {}
export interface EnquireLinkResp extends Header<'enquire_link_resp'> {}
export interface GenericNack extends Header<'generic_nack'> {}

export interface AlertNotification extends Header<'alert_notification'>, WithTlvs {
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  esmeAddrTon: number;
  esmeAddrNpi: number;
  esmeAddr: string;
}

// ---- message submission and delivery ---------------------------------------------------

/** Mandatory body of submit_sm and deliver_sm. [SMPP34 §4.4.1, §4.6.1] */
export interface ShortMessageBody {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
  /** sm_length is derived from this on encode. */
  shortMessage: Buffer;
}
export interface SubmitSm extends Header<'submit_sm'>, ShortMessageBody, WithTlvs {}
export interface DeliverSm extends Header<'deliver_sm'>, ShortMessageBody, WithTlvs {}

export interface MessageIdBody {
  messageId: string;
}
export interface SubmitSmResp extends Header<'submit_sm_resp'>, MessageIdBody, WithTlvs {}
export interface DeliverSmResp extends Header<'deliver_sm_resp'>, MessageIdBody, WithTlvs {}
export interface DataSmResp extends Header<'data_sm_resp'>, MessageIdBody, WithTlvs {}

/** One dest_address of submit_multi. [SMPP34 §4.5.1.1] */
export type DestAddress =
  | { destFlag: 1; destAddrTon: number; destAddrNpi: number; destinationAddr: string }
  | { destFlag: 2; dlName: string };

export interface SubmitMulti extends Header<'submit_multi'>, WithTlvs {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  /** number_of_dests is derived from this on encode. */
  destAddresses: DestAddress[];
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
}

/** One unsuccess_sme of submit_multi_resp. [SMPP34 §4.5.2.1] */
export interface UnsuccessSme {
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  errorStatusCode: number;
}
export interface SubmitMultiResp extends Header<'submit_multi_resp'>, MessageIdBody, WithTlvs {
  /** no_unsuccess is derived from this on encode. */
  unsuccessSmes: UnsuccessSme[];
}

export interface DataSm extends Header<'data_sm'>, WithTlvs {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  registeredDelivery: number;
  dataCoding: number;
}

// ---- ancillary ---------------------------------------------------------------------------

export interface QuerySm extends Header<'query_sm'>, MessageIdBody, WithTlvs {
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
}
export interface QuerySmResp extends Header<'query_sm_resp'>, MessageIdBody, WithTlvs {
  finalDate: string;
  messageState: number;
  errorCode: number;
}
export interface CancelSm extends Header<'cancel_sm'>, MessageIdBody, WithTlvs {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
}
export interface CancelSmResp extends Header<'cancel_sm_resp'> {}
export interface ReplaceSm extends Header<'replace_sm'>, MessageIdBody, WithTlvs {
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
}
export interface ReplaceSmResp extends Header<'replace_sm_resp'> {}

// ---- broadcast (5.0) ----------------------------------------------------------------------

export interface BroadcastSm extends Header<'broadcast_sm'>, MessageIdBody, WithTlvs {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
}
export interface BroadcastSmResp extends Header<'broadcast_sm_resp'>, MessageIdBody, WithTlvs {}
export interface QueryBroadcastSm extends Header<'query_broadcast_sm'>, MessageIdBody, WithTlvs {
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
}
export interface QueryBroadcastSmResp extends Header<'query_broadcast_sm_resp'>, MessageIdBody, WithTlvs {}
export interface CancelBroadcastSm extends Header<'cancel_broadcast_sm'>, MessageIdBody, WithTlvs {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
}
export interface CancelBroadcastSmResp extends Header<'cancel_broadcast_sm_resp'> {}

/** Every SMPP PDU. */
export type Pdu =
  | GenericNack
  | BindReceiver
  | BindReceiverResp
  | BindTransmitter
  | BindTransmitterResp
  | BindTransceiver
  | BindTransceiverResp
  | QuerySm
  | QuerySmResp
  | SubmitSm
  | SubmitSmResp
  | DeliverSm
  | DeliverSmResp
  | Unbind
  | UnbindResp
  | ReplaceSm
  | ReplaceSmResp
  | CancelSm
  | CancelSmResp
  | Outbind
  | EnquireLink
  | EnquireLinkResp
  | SubmitMulti
  | SubmitMultiResp
  | AlertNotification
  | DataSm
  | DataSmResp
  | BroadcastSm
  | BroadcastSmResp
  | QueryBroadcastSm
  | QueryBroadcastSmResp
  | CancelBroadcastSm
  | CancelBroadcastSmResp;

/** The PDU type of one command. */
export type PduOf<C extends CommandName> = Extract<Pdu, { command: C }>;

/** A PDU without its header fields: what a caller provides to build a request. */
export type BodyOf<C extends CommandName> = Omit<PduOf<C>, 'command' | 'commandStatus' | 'sequenceNumber'>;

/** Names of request commands that are answered with a response. */
export type RequestName =
  | 'bind_receiver'
  | 'bind_transmitter'
  | 'bind_transceiver'
  | 'query_sm'
  | 'submit_sm'
  | 'deliver_sm'
  | 'unbind'
  | 'replace_sm'
  | 'cancel_sm'
  | 'enquire_link'
  | 'submit_multi'
  | 'data_sm'
  | 'broadcast_sm'
  | 'query_broadcast_sm'
  | 'cancel_broadcast_sm';

/** Response command for each request command. */
export type ResponseNameOf<R extends RequestName> = `${R}_resp` & CommandName;
