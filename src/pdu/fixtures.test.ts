/**
 * The 75 captured PDUs of test/fixtures/pdus (INDEX.md there) through decodePdu, FrameDecoder
 * and encodePdu. Every expected value below is transcribed from INDEX.md (tshark's decode of
 * the capture), not from our decoder.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadFixtures, type PduFixture } from '../../test/support/fixtures.js';
import { seededRandom } from '../util/random.js';
import { CommandId, type CommandName, CommandStatus } from './constants.js';
import { decodePdu, encodePdu, FrameDecoder } from './index.js';
import type { Pdu } from './types.js';

// ---- expectation table -------------------------------------------------------------------

/** Expected content of short_message or message_payload. */
interface TextExpect {
  /** Total octets (sm_length, or the TLV length). */
  length: number;
  /** 0x00 (ASCII-compatible GSM text, one octet per char) or 0x08 (UTF-16BE). */
  dc: 0 | 8;
  /** The UDH octets in hex, when esm_class has UDHI. */
  udh?: string;
  /** The whole text after the UDH. */
  text?: string;
  /** The first characters of a text INDEX.md cuts with "…" (then `length` is the full size). */
  prefix?: string;
  /** Exact octets in hex (when the text is not ASCII-compatible). */
  octets?: string;
}

interface Expect {
  command: CommandName;
  seq: number;
  status?: number;
  /** Mandatory fields; each listed key must deep-equal. */
  fields?: Record<string, unknown>;
  /** The complete tlvs object, message_payload excluded (checked through `payload`). */
  tlvs?: Record<string, unknown>;
  sm?: TextExpect;
  payload?: TextExpect;
}

const HEADER_ONLY = new Set<CommandName>([
  'unbind',
  'unbind_resp',
  'enquire_link',
  'enquire_link_resp',
  'generic_nack',
  'cancel_sm_resp',
  'replace_sm_resp',
  'cancel_broadcast_sm_resp',
]);

function bind(systemId: string, password: string, addressRange: string): Record<string, unknown> {
  return {
    systemId,
    password,
    systemType: '',
    interfaceVersion: 0x34,
    addrTon: 0,
    addrNpi: 0,
    addressRange,
  };
}

/** submit_sm / deliver_sm fields, with the defaults INDEX.md states for unlisted ones. */
function sm(f: {
  src: [number, number, string];
  dst: [number, number, string];
  esm: number;
  rd: number;
  dc: number;
  sched?: string;
}): Record<string, unknown> {
  return {
    serviceType: '',
    sourceAddrTon: f.src[0],
    sourceAddrNpi: f.src[1],
    sourceAddr: f.src[2],
    destAddrTon: f.dst[0],
    destAddrNpi: f.dst[1],
    destinationAddr: f.dst[2],
    esmClass: f.esm,
    protocolId: 0,
    priorityFlag: 0,
    scheduleDeliveryTime: f.sched ?? '',
    validityPeriod: '',
    registeredDelivery: f.rd,
    replaceIfPresentFlag: 0,
    dataCoding: f.dc,
    smDefaultMsgId: 0,
  };
}

const HANDSET = '447700900123';
const SHORT = '12345';
const K_SRC: [number, number, string] = [2, 1, SHORT];
const K_DST: [number, number, string] = [2, 1, HANDSET];
const MO_SRC: [number, number, string] = [1, 1, HANDSET];
const MO_DST: [number, number, string] = [0, 1, SHORT];

const EXPECT: Record<string, Expect> = {
  // ---- Kannel 1.4.5 (17) ----
  'kannel-bind_transceiver': { command: 'bind_transceiver', seq: 1, fields: bind('test', 'secret', SHORT), tlvs: {} },
  'kannel-bind_transmitter': { command: 'bind_transmitter', seq: 1, fields: bind('test', 'secret', SHORT), tlvs: {} },
  'kannel-bind_receiver': { command: 'bind_receiver', seq: 1, fields: bind('test', 'secret', SHORT), tlvs: {} },
  'kannel-enquire_link': { command: 'enquire_link', seq: 12 },
  'kannel-enquire_link_resp': { command: 'enquire_link_resp', seq: 1, status: 0 },
  'kannel-submit_sm-gsm-dlr': {
    command: 'submit_sm',
    seq: 2,
    fields: sm({ src: K_SRC, dst: K_DST, esm: 0x03, rd: 0x11, dc: 0 }),
    sm: { length: 25, dc: 0, text: 'Hello from Kannel Ga417c8' },
    tlvs: {},
  },
  'kannel-submit_sm-gsm-plain': {
    command: 'submit_sm',
    seq: 2,
    fields: sm({ src: K_SRC, dst: K_DST, esm: 0x03, rd: 0x00, dc: 0 }),
    sm: { length: 25, dc: 0, text: 'Hello from Kannel Ga4d385' },
    tlvs: {},
  },
  'kannel-submit_sm-gsm-reply': {
    command: 'submit_sm',
    seq: 9,
    fields: sm({ src: K_SRC, dst: [1, 1, HANDSET], esm: 0x03, rd: 0x00, dc: 0 }),
    sm: { length: 14, dc: 0, text: 'ECHO Ta417c8g1' },
    tlvs: {},
  },
  'kannel-submit_sm-gsm-udh-part1': {
    command: 'submit_sm',
    seq: 4,
    fields: sm({ src: K_SRC, dst: K_DST, esm: 0x43, rd: 0x11, dc: 0 }),
    sm: {
      length: 159,
      dc: 0,
      udh: '050003020201',
      prefix: 'La417c8 word01 word02 word03 word04 word05 word06 word07 word08 word09 word10 word11 word1',
    },
    tlvs: { moreMessagesToSend: 1 },
  },
  'kannel-submit_sm-gsm-udh-part2': {
    command: 'submit_sm',
    seq: 5,
    fields: sm({ src: K_SRC, dst: K_DST, esm: 0x43, rd: 0x00, dc: 0 }),
    sm: {
      length: 144,
      dc: 0,
      udh: '050003020202',
      prefix: '1 word22 word23 word24 word25 word26 word27 word28 word29 word30 word31 word32 word33 word',
    },
    tlvs: {},
  },
  'kannel-submit_sm-ucs2': {
    command: 'submit_sm',
    seq: 3,
    fields: sm({ src: K_SRC, dst: K_DST, esm: 0x03, rd: 0x11, dc: 8 }),
    sm: { length: 36, dc: 8, text: 'Привет ☺ € Ua417c8' },
    tlvs: {},
  },
  'kannel-submit_sm-ucs2-udh-part1': {
    command: 'submit_sm',
    seq: 6,
    fields: sm({ src: K_SRC, dst: K_DST, esm: 0x43, rd: 0x11, dc: 8 }),
    sm: {
      length: 140,
      dc: 8,
      udh: '050003030301',
      text: 'Üa417c8 слово01 слово02 слово03 слово04 слово05 слово06 слово07 сло',
    },
    tlvs: { moreMessagesToSend: 1 },
  },
  'kannel-submit_sm-ucs2-udh-part2': {
    command: 'submit_sm',
    seq: 7,
    fields: sm({ src: K_SRC, dst: K_DST, esm: 0x43, rd: 0x00, dc: 8 }),
    sm: {
      length: 140,
      dc: 8,
      udh: '050003030302',
      text: 'во08 слово09 слово10 слово11 слово12 слово13 слово14 слово15 слово1',
    },
    tlvs: { moreMessagesToSend: 1 },
  },
  'kannel-submit_sm-ucs2-udh-part3': {
    command: 'submit_sm',
    seq: 8,
    fields: sm({ src: K_SRC, dst: K_DST, esm: 0x43, rd: 0x00, dc: 8 }),
    sm: { length: 84, dc: 8, udh: '050003030303', text: '6 слово17 слово18 слово19 слово20 конец' },
    tlvs: {},
  },
  'kannel-deliver_sm_resp': { command: 'deliver_sm_resp', seq: 2, status: 0, fields: { messageId: '' }, tlvs: {} },
  'kannel-generic_nack-unknown-command': {
    command: 'generic_nack',
    seq: 0,
    status: CommandStatus.ESME_RINVCMDLEN,
  },
  'kannel-unbind': { command: 'unbind', seq: 16 },

  // ---- Net::SMPP 1.19 (22) ----
  'netsmpp-bind_transceiver': { command: 'bind_transceiver', seq: 1, fields: bind('test', 'secret', ''), tlvs: {} },
  'netsmpp-bind_transmitter': { command: 'bind_transmitter', seq: 1, fields: bind('test', 'secret', ''), tlvs: {} },
  'netsmpp-bind_receiver': { command: 'bind_receiver', seq: 1, fields: bind('test', 'secret', ''), tlvs: {} },
  'netsmpp-enquire_link': { command: 'enquire_link', seq: 3 },
  'netsmpp-enquire_link_resp': { command: 'enquire_link_resp', seq: 2, status: 0 },
  'netsmpp-submit_sm-empty-destination': {
    command: 'submit_sm',
    seq: 19,
    fields: sm({ src: [0, 0, SHORT], dst: [0, 0, ''], esm: 0, rd: 0, dc: 0 }),
    sm: { length: 14, dc: 0, text: 'no destination' },
    tlvs: {},
  },
  'netsmpp-submit_sm-gsm-dlr': {
    command: 'submit_sm',
    seq: 4,
    fields: sm({ src: [0, 1, SHORT], dst: [1, 1, HANDSET], esm: 0, rd: 0x01, dc: 0 }),
    sm: { length: 24, dc: 0, text: 'Net::SMPP interop test 1' },
    tlvs: {},
  },
  'netsmpp-submit_sm-message_payload': {
    command: 'submit_sm',
    seq: 18,
    fields: sm({ src: [0, 0, SHORT], dst: [1, 1, HANDSET], esm: 0, rd: 0, dc: 0 }),
    sm: { length: 0, dc: 0, text: '' },
    payload: {
      length: 320,
      dc: 0,
      prefix: 'payload payload payload payload payload payload payload payload payload payload payload pa',
    },
    tlvs: {},
  },
  'netsmpp-submit_sm-scheduled': {
    command: 'submit_sm',
    seq: 6,
    fields: sm({ src: [0, 1, SHORT], dst: [1, 1, HANDSET], esm: 0, rd: 0, dc: 0, sched: '000000001000000R' }),
    sm: { length: 23, dc: 0, text: 'scheduled in 10 minutes' },
    tlvs: {},
  },
  'netsmpp-submit_sm-ucs2': {
    command: 'submit_sm',
    seq: 4,
    fields: sm({ src: [0, 1, SHORT], dst: [1, 1, HANDSET], esm: 0, rd: 0, dc: 8 }),
    sm: { length: 32, dc: 8, text: 'Привет, мир! ☺ €' },
    tlvs: {},
  },
  'netsmpp-submit_sm-udh-part1': {
    command: 'submit_sm',
    seq: 16,
    fields: sm({ src: [0, 0, SHORT], dst: [1, 1, HANDSET], esm: 0x40, rd: 0, dc: 0 }),
    sm: { length: 159, dc: 0, udh: '0500030a0201', text: 'A'.repeat(153) },
    tlvs: {},
  },
  'netsmpp-submit_sm-udh-part2': {
    command: 'submit_sm',
    seq: 17,
    fields: sm({ src: [0, 0, SHORT], dst: [1, 1, HANDSET], esm: 0x40, rd: 0, dc: 0 }),
    sm: { length: 46, dc: 0, udh: '0500030a0202', text: 'B'.repeat(40) },
    tlvs: {},
  },
  'netsmpp-submit_multi': {
    command: 'submit_multi',
    seq: 14,
    fields: {
      serviceType: '',
      sourceAddrTon: 0,
      sourceAddrNpi: 1,
      sourceAddr: SHORT,
      destAddresses: [
        { destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '447700900123' },
        { destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '447700900124' },
      ],
      esmClass: 0,
      protocolId: 0,
      priorityFlag: 0,
      scheduleDeliveryTime: '',
      validityPeriod: '',
      registeredDelivery: 0,
      replaceIfPresentFlag: 0,
      dataCoding: 0,
      smDefaultMsgId: 0,
    },
    sm: { length: 10, dc: 0, text: 'multi test' },
    tlvs: {},
  },
  'netsmpp-data_sm-message_payload': {
    command: 'data_sm',
    seq: 2,
    fields: {
      serviceType: '',
      sourceAddrTon: 0,
      sourceAddrNpi: 1,
      sourceAddr: SHORT,
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: HANDSET,
      esmClass: 0,
      registeredDelivery: 0x01,
      dataCoding: 0,
    },
    // INDEX.md shows GSM '§' where the octet is ASCII '_' (0x5f): written as '_' here.
    payload: {
      length: 219,
      dc: 0,
      prefix: 'data_sm with the text in a message_payload TLV, longer than one 160-character SMS would al',
    },
    tlvs: {},
  },
  'netsmpp-data_sm-ucs2-payload': {
    command: 'data_sm',
    seq: 3,
    fields: {
      serviceType: '',
      sourceAddrTon: 0,
      sourceAddrNpi: 1,
      sourceAddr: SHORT,
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: HANDSET,
      esmClass: 0,
      registeredDelivery: 0,
      dataCoding: 8,
    },
    payload: { length: 62, dc: 8, text: 'data_sm UCS-2 payload: Привет ☺' },
    tlvs: {},
  },
  'netsmpp-deliver_sm_resp': { command: 'deliver_sm_resp', seq: 1, status: 0, fields: { messageId: '' }, tlvs: {} },
  'netsmpp-query_sm': {
    command: 'query_sm',
    seq: 5,
    fields: { messageId: '13017d58', sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: SHORT },
    tlvs: {},
  },
  'netsmpp-replace_sm': {
    command: 'replace_sm',
    seq: 8,
    fields: {
      messageId: '13017d59',
      sourceAddrTon: 0,
      sourceAddrNpi: 1,
      sourceAddr: SHORT,
      scheduleDeliveryTime: '',
      validityPeriod: '',
      registeredDelivery: 0,
      smDefaultMsgId: 0,
    },
    sm: { length: 13, dc: 0, text: 'replaced text' },
    tlvs: {},
  },
  'netsmpp-cancel_sm': {
    command: 'cancel_sm',
    seq: 9,
    fields: {
      serviceType: '',
      messageId: '13017d59',
      sourceAddrTon: 0,
      sourceAddrNpi: 1,
      sourceAddr: SHORT,
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: HANDSET,
    },
    tlvs: {},
  },
  'netsmpp-generic_nack': { command: 'generic_nack', seq: 2, status: CommandStatus.ESME_RINVCMDID },
  'netsmpp-unbind': { command: 'unbind', seq: 22 },
  'netsmpp-unbind_resp': { command: 'unbind_resp', seq: 2, status: 0 },

  // ---- libsmpp34 (7) ----
  'libsmpp34-bind_transceiver': { command: 'bind_transceiver', seq: 1, fields: bind('test', 'secret', ''), tlvs: {} },
  'libsmpp34-enquire_link': { command: 'enquire_link', seq: 2 },
  'libsmpp34-enquire_link_resp': { command: 'enquire_link_resp', seq: 1, status: 0 },
  'libsmpp34-submit_sm-dlr': {
    command: 'submit_sm',
    seq: 3,
    fields: sm({ src: [0, 1, SHORT], dst: [1, 1, HANDSET], esm: 0, rd: 0x01, dc: 0 }),
    sm: { length: 22, dc: 0, text: 'libsmpp34 interop test' },
    tlvs: {},
  },
  'libsmpp34-deliver_sm_resp': { command: 'deliver_sm_resp', seq: 2, status: 0, fields: { messageId: '' }, tlvs: {} },
  'libsmpp34-query_sm': {
    command: 'query_sm',
    seq: 4,
    fields: { messageId: '1ad3db6c', sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: SHORT },
    tlvs: {},
  },
  'libsmpp34-unbind': { command: 'unbind', seq: 5 },

  // ---- node-smpp 0.5.1 as SMSC (29) ----
  'node-smpp-bind_transceiver_resp': {
    command: 'bind_transceiver_resp',
    seq: 1,
    status: 0,
    fields: { systemId: 'STANDIN' },
    tlvs: {},
  },
  'node-smpp-bind_transceiver_resp-alybnd': {
    command: 'bind_transceiver_resp',
    seq: 2,
    status: CommandStatus.ESME_RALYBND,
    fields: { systemId: '' },
    tlvs: {},
  },
  'node-smpp-bind_transmitter_resp': {
    command: 'bind_transmitter_resp',
    seq: 1,
    status: 0,
    fields: { systemId: 'STANDIN' },
    tlvs: {},
  },
  'node-smpp-bind_transmitter_resp-invpaswd': {
    command: 'bind_transmitter_resp',
    seq: 1,
    status: CommandStatus.ESME_RINVPASWD,
    fields: { systemId: '' },
    tlvs: {},
  },
  'node-smpp-bind_receiver_resp': {
    command: 'bind_receiver_resp',
    seq: 1,
    status: 0,
    fields: { systemId: 'STANDIN' },
    tlvs: {},
  },
  'node-smpp-bind_receiver_resp-invsysid': {
    command: 'bind_receiver_resp',
    seq: 1,
    status: CommandStatus.ESME_RINVSYSID,
    fields: { systemId: '' },
    tlvs: {},
  },
  'node-smpp-enquire_link': { command: 'enquire_link', seq: 2 },
  'node-smpp-enquire_link_resp': { command: 'enquire_link_resp', seq: 3, status: 0 },
  'node-smpp-submit_sm_resp': {
    command: 'submit_sm_resp',
    seq: 4,
    status: 0,
    fields: { messageId: '13017d58' },
    tlvs: {},
  },
  'node-smpp-submit_sm_resp-invbndsts': {
    command: 'submit_sm_resp',
    seq: 2,
    status: CommandStatus.ESME_RINVBNDSTS,
    fields: { messageId: '' },
    tlvs: {},
  },
  'node-smpp-submit_sm_resp-invdstadr': {
    command: 'submit_sm_resp',
    seq: 19,
    status: CommandStatus.ESME_RINVDSTADR,
    fields: { messageId: '' },
    tlvs: {},
  },
  'node-smpp-submit_multi_resp': {
    command: 'submit_multi_resp',
    seq: 14,
    status: 0,
    fields: { messageId: '13017d5a', unsuccessSmes: [] },
    tlvs: {},
  },
  'node-smpp-data_sm_resp': { command: 'data_sm_resp', seq: 2, status: 0, fields: { messageId: '188e07e9' }, tlvs: {} },
  'node-smpp-deliver_sm-mo-gsm': {
    command: 'deliver_sm',
    seq: 6,
    fields: sm({ src: MO_SRC, dst: MO_DST, esm: 0, rd: 0, dc: 0 }),
    sm: { length: 25, dc: 0, text: 'Hello server MO Ta417c8g1' },
    tlvs: {},
  },
  'node-smpp-deliver_sm-mo-gsm-chars': {
    command: 'deliver_sm',
    seq: 7,
    fields: sm({ src: MO_SRC, dst: MO_DST, esm: 0, rd: 0, dc: 0 }),
    sm: { length: 32, dc: 0, octets: '47534d20000102030405115b5c5d5e5f607b7c7d7e7f20546134313763386334' },
    tlvs: {},
  },
  'node-smpp-deliver_sm-mo-ucs2': {
    command: 'deliver_sm',
    seq: 8,
    fields: sm({ src: MO_SRC, dst: MO_DST, esm: 0, rd: 0, dc: 8 }),
    sm: { length: 50, dc: 8, text: 'Привет сервер ☺ Ta417c8u2' },
    tlvs: {},
  },
  'node-smpp-deliver_sm-mo-udh-part1': {
    command: 'deliver_sm',
    seq: 9,
    fields: sm({ src: MO_SRC, dst: MO_DST, esm: 0x40, rd: 0, dc: 0 }),
    sm: {
      length: 159,
      dc: 0,
      udh: '0500035c0201',
      prefix: 'Ta417c8l3 part01 part02 part03 part04 part05 part06 part07 part08 part09 part10 part11 par',
    },
    tlvs: {},
  },
  'node-smpp-deliver_sm-mo-udh-part2': {
    command: 'deliver_sm',
    seq: 10,
    fields: sm({ src: MO_SRC, dst: MO_DST, esm: 0x40, rd: 0, dc: 0 }),
    sm: {
      length: 111,
      dc: 0,
      udh: '0500035c0202',
      prefix: 't21 part22 part23 part24 part25 part26 part27 part28 part29 part30 part31 part32 part33 pa',
    },
    tlvs: {},
  },
  'node-smpp-deliver_sm-receipt': {
    command: 'deliver_sm',
    seq: 1,
    fields: sm({ src: MO_SRC, dst: MO_DST, esm: 0x04, rd: 0, dc: 0 }),
    sm: {
      length: 120,
      dc: 0,
      text:
        'id:13017d58 sub:001 dlvrd:001 submit date:2611212210 done date:2611212210 ' +
        'stat:DELIVRD err:000 text:Net::SMPP interop te',
    },
    tlvs: { receiptedMessageId: '13017d58', messageState: 2 },
  },
  'node-smpp-query_sm_resp-delivered': {
    command: 'query_sm_resp',
    seq: 5,
    status: 0,
    fields: { messageId: '13017d58', finalDate: '261121221055000+', messageState: 2, errorCode: 0 },
    tlvs: {},
  },
  'node-smpp-query_sm_resp-enroute': {
    command: 'query_sm_resp',
    seq: 7,
    status: 0,
    fields: { messageId: '13017d59', finalDate: '', messageState: 1, errorCode: 0 },
    tlvs: {},
  },
  'node-smpp-query_sm_resp-queryfail': {
    command: 'query_sm_resp',
    seq: 13,
    status: CommandStatus.ESME_RQUERYFAIL,
    fields: { messageId: '', finalDate: '', messageState: 0, errorCode: 0 },
    tlvs: {},
  },
  'node-smpp-replace_sm_resp': { command: 'replace_sm_resp', seq: 8, status: 0 },
  'node-smpp-replace_sm_resp-replacefail': {
    command: 'replace_sm_resp',
    seq: 12,
    status: CommandStatus.ESME_RREPLACEFAIL,
  },
  'node-smpp-cancel_sm_resp': { command: 'cancel_sm_resp', seq: 9, status: 0 },
  'node-smpp-cancel_sm_resp-cancelfail': {
    command: 'cancel_sm_resp',
    seq: 11,
    status: CommandStatus.ESME_RCANCELFAIL,
  },
  'node-smpp-generic_nack': { command: 'generic_nack', seq: 20, status: CommandStatus.ESME_RINVCMDID },
  'node-smpp-unbind': { command: 'unbind', seq: 2 },
  'node-smpp-unbind_resp': { command: 'unbind_resp', seq: 22, status: 0 },
};

/** Octet sizes from INDEX.md's "octets" column (a check on the files themselves). */
const OCTETS: Record<string, number> = {
  'kannel-bind_transceiver': 38,
  'kannel-bind_transmitter': 38,
  'kannel-bind_receiver': 38,
  'kannel-enquire_link': 16,
  'kannel-enquire_link_resp': 16,
  'kannel-submit_sm-gsm-dlr': 75,
  'kannel-submit_sm-gsm-plain': 75,
  'kannel-submit_sm-gsm-reply': 64,
  'kannel-submit_sm-gsm-udh-part1': 214,
  'kannel-submit_sm-gsm-udh-part2': 194,
  'kannel-submit_sm-ucs2': 86,
  'kannel-submit_sm-ucs2-udh-part1': 195,
  'kannel-submit_sm-ucs2-udh-part2': 195,
  'kannel-submit_sm-ucs2-udh-part3': 134,
  'kannel-deliver_sm_resp': 17,
  'kannel-generic_nack-unknown-command': 16,
  'kannel-unbind': 16,
  'netsmpp-bind_transceiver': 33,
  'netsmpp-bind_transmitter': 33,
  'netsmpp-bind_receiver': 33,
  'netsmpp-enquire_link': 16,
  'netsmpp-enquire_link_resp': 16,
  'netsmpp-submit_sm-empty-destination': 52,
  'netsmpp-submit_sm-gsm-dlr': 74,
  'netsmpp-submit_sm-message_payload': 374,
  'netsmpp-submit_sm-scheduled': 89,
  'netsmpp-submit_sm-ucs2': 82,
  'netsmpp-submit_sm-udh-part1': 209,
  'netsmpp-submit_sm-udh-part2': 96,
  'netsmpp-submit_multi': 78,
  'netsmpp-data_sm-message_payload': 266,
  'netsmpp-data_sm-ucs2-payload': 109,
  'netsmpp-deliver_sm_resp': 17,
  'netsmpp-query_sm': 33,
  'netsmpp-replace_sm': 51,
  'netsmpp-cancel_sm': 49,
  'netsmpp-generic_nack': 16,
  'netsmpp-unbind': 16,
  'netsmpp-unbind_resp': 16,
  'libsmpp34-bind_transceiver': 33,
  'libsmpp34-enquire_link': 16,
  'libsmpp34-enquire_link_resp': 16,
  'libsmpp34-submit_sm-dlr': 72,
  'libsmpp34-deliver_sm_resp': 17,
  'libsmpp34-query_sm': 33,
  'libsmpp34-unbind': 16,
  'node-smpp-bind_transceiver_resp': 24,
  'node-smpp-bind_transceiver_resp-alybnd': 16,
  'node-smpp-bind_transmitter_resp': 24,
  'node-smpp-bind_transmitter_resp-invpaswd': 16,
  'node-smpp-bind_receiver_resp': 24,
  'node-smpp-bind_receiver_resp-invsysid': 16,
  'node-smpp-enquire_link': 16,
  'node-smpp-enquire_link_resp': 16,
  'node-smpp-submit_sm_resp': 25,
  'node-smpp-submit_sm_resp-invbndsts': 16,
  'node-smpp-submit_sm_resp-invdstadr': 16,
  'node-smpp-submit_multi_resp': 26,
  'node-smpp-data_sm_resp': 25,
  'node-smpp-deliver_sm-mo-gsm': 75,
  'node-smpp-deliver_sm-mo-gsm-chars': 82,
  'node-smpp-deliver_sm-mo-ucs2': 100,
  'node-smpp-deliver_sm-mo-udh-part1': 209,
  'node-smpp-deliver_sm-mo-udh-part2': 161,
  'node-smpp-deliver_sm-receipt': 188,
  'node-smpp-query_sm_resp-delivered': 44,
  'node-smpp-query_sm_resp-enroute': 28,
  'node-smpp-query_sm_resp-queryfail': 16,
  'node-smpp-replace_sm_resp': 16,
  'node-smpp-replace_sm_resp-replacefail': 16,
  'node-smpp-cancel_sm_resp': 16,
  'node-smpp-cancel_sm_resp-cancelfail': 16,
  'node-smpp-generic_nack': 16,
  'node-smpp-unbind': 16,
  'node-smpp-unbind_resp': 16,
};

/**
 * Fixtures whose re-encoding is not byte-identical, with the reason. Every other fixture must
 * re-encode to exactly its captured bytes. None is expected: the captures never interleave
 * repeated TLVs, decoding keeps wire order in the `tlvs` keys and encoding follows key order,
 * and the error responses of node-smpp are header-only, as our encoder writes them [ref §1.1].
 */
const NOT_BYTE_EXACT = new Map<string, string>([]);

// ---- helpers ------------------------------------------------------------------------------

function textOctets(text: string, dc: 0 | 8): Buffer {
  if (dc === 8) return Buffer.from(text, 'utf16le').swap16();
  // Every dc=0 text in the table uses only characters GSM 03.38 and ASCII encode alike.
  assert.match(text, /^[A-Za-z0-9 :,.!?'"\-_()]*$/, `table text not ASCII-compatible: ${text}`);
  return Buffer.from(text, 'latin1');
}

function checkText(actual: unknown, exp: TextExpect, what: string): void {
  assert.ok(Buffer.isBuffer(actual), `${what} is not a Buffer`);
  const buf = actual as Buffer;
  assert.equal(buf.length, exp.length, `${what} length`);
  if (exp.octets !== undefined) {
    assert.equal(buf.toString('hex'), exp.octets, `${what} octets`);
    return;
  }
  let rest = buf;
  if (exp.udh !== undefined) {
    assert.equal(buf.subarray(0, exp.udh.length / 2).toString('hex'), exp.udh, `${what} UDH`);
    rest = buf.subarray(exp.udh.length / 2);
  }
  if (exp.text !== undefined) {
    assert.equal(rest.toString('hex'), textOctets(exp.text, exp.dc).toString('hex'), `${what} text`);
  } else if (exp.prefix !== undefined) {
    const p = textOctets(exp.prefix, exp.dc);
    assert.equal(rest.subarray(0, p.length).toString('hex'), p.toString('hex'), `${what} text prefix`);
  }
}

function checkPdu(name: string, pdu: Pdu): void {
  const exp = EXPECT[name];
  assert.ok(exp, `no expectation for fixture ${name}`);
  assert.equal(pdu.command, exp.command, 'command');
  assert.equal(pdu.sequenceNumber, exp.seq, 'sequence_number');
  assert.equal(pdu.commandStatus, exp.status ?? 0, 'command_status');
  const rec = pdu as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(exp.fields ?? {})) {
    assert.deepStrictEqual(rec[key], value, `field ${key}`);
  }
  if (HEADER_ONLY.has(exp.command)) {
    assert.ok(!('tlvs' in rec), 'a header-only PDU has no tlvs');
  } else {
    const tlvs = rec['tlvs'] as Record<string, unknown> | undefined;
    assert.ok(tlvs !== undefined && typeof tlvs === 'object', 'tlvs object present');
    const { messagePayload, ...others } = tlvs;
    assert.deepStrictEqual(others, exp.tlvs ?? {}, 'tlvs');
    if (exp.payload !== undefined) checkText(messagePayload, exp.payload, 'message_payload');
    else assert.equal(messagePayload, undefined, 'no message_payload');
  }
  if (exp.sm !== undefined) checkText(rec['shortMessage'], exp.sm, 'short_message');
  else assert.ok(!('shortMessage' in rec) || exp.command === 'submit_sm', 'unexpected shortMessage');
}

function frameEquals(a: Buffer | undefined, b: Buffer, msg: string): void {
  assert.ok(a !== undefined, `${msg}: no frame`);
  assert.equal(a.toString('hex'), b.toString('hex'), msg);
}

function drain(fd: FrameDecoder, out: Buffer[]): void {
  for (let f = fd.next(); f !== undefined; f = fd.next()) out.push(f);
}

// ---- tests --------------------------------------------------------------------------------

const fixtures: PduFixture[] = loadFixtures();

describe('fixtures: the capture set', () => {
  it('has the 75 fixtures of INDEX.md, each with an expectation and its INDEX.md size', () => {
    assert.equal(fixtures.length, 75);
    assert.deepStrictEqual(fixtures.map((f) => f.name).sort(), Object.keys(EXPECT).sort());
    assert.deepStrictEqual(Object.keys(OCTETS).sort(), Object.keys(EXPECT).sort());
    for (const f of fixtures) {
      assert.equal(f.bytes.length, OCTETS[f.name], `${f.name} octets`);
      assert.equal(f.bytes.readUInt32BE(0), f.bytes.length, `${f.name} command_length`);
      const exp = EXPECT[f.name]!;
      assert.equal(f.bytes.readUInt32BE(4), CommandId[exp.command], `${f.name} command_id`);
    }
  });

  it('covers every command INDEX.md names', () => {
    const seen = new Set(Object.values(EXPECT).map((e) => e.command));
    assert.equal(seen.size, 25);
  });
});

describe('fixtures: decodePdu on the whole frame', () => {
  for (const f of fixtures) {
    it(f.name, () => {
      checkPdu(f.name, decodePdu(f.bytes));
    });
  }
});

describe('fixtures: decoded octet strings are views, values survive a copy of the frame', () => {
  it('decoding a copy gives the same result as decoding the original', () => {
    for (const f of fixtures) {
      assert.deepStrictEqual(decodePdu(Buffer.from(f.bytes)), decodePdu(f.bytes), f.name);
    }
  });
});

describe('fixtures: FrameDecoder fed one byte at a time', () => {
  for (const f of fixtures) {
    it(f.name, () => {
      const fd = new FrameDecoder();
      for (let i = 0; i < f.bytes.length - 1; i++) {
        fd.push(f.bytes.subarray(i, i + 1));
        assert.equal(fd.next(), undefined, `frame too early after ${i + 1} bytes`);
        assert.equal(fd.buffered, i + 1, 'buffered');
      }
      fd.push(f.bytes.subarray(f.bytes.length - 1));
      const frame = fd.next();
      frameEquals(frame, f.bytes, 'frame');
      assert.equal(fd.next(), undefined, 'exactly one frame');
      assert.equal(fd.buffered, 0, 'nothing left buffered');
      checkPdu(f.name, decodePdu(frame!));
    });
  }
});

describe('fixtures: FrameDecoder with the frame split in two at every offset', () => {
  for (const f of fixtures) {
    it(f.name, () => {
      for (let cut = 0; cut <= f.bytes.length; cut++) {
        const fd = new FrameDecoder();
        const frames: Buffer[] = [];
        fd.push(f.bytes.subarray(0, cut));
        drain(fd, frames);
        if (cut < f.bytes.length) assert.equal(frames.length, 0, `cut ${cut}: frame before the end`);
        fd.push(f.bytes.subarray(cut));
        drain(fd, frames);
        assert.equal(frames.length, 1, `cut ${cut}: one frame`);
        frameEquals(frames[0], f.bytes, `cut ${cut}`);
        assert.equal(fd.buffered, 0, `cut ${cut}: buffered`);
      }
      checkPdu(f.name, decodePdu(f.bytes));
    });
  }
});

describe('fixtures: all 75 concatenated into one stream', () => {
  const stream = Buffer.concat(fixtures.map((f) => f.bytes));

  it('in one push gives the 75 frames in order', () => {
    const fd = new FrameDecoder();
    fd.push(stream);
    const frames: Buffer[] = [];
    drain(fd, frames);
    assert.equal(frames.length, fixtures.length);
    fixtures.forEach((f, i) => {
      frameEquals(frames[i], f.bytes, f.name);
      checkPdu(f.name, decodePdu(frames[i]!));
    });
    assert.equal(fd.buffered, 0);
  });

  for (const seed of [1, 2, 3, 42, 1234, 0xc0ffee, 0xdecade, 7777777]) {
    it(`split at random points (seed ${seed}), decoding each frame as it comes`, () => {
      const rnd = seededRandom(seed);
      const fd = new FrameDecoder();
      let pos = 0;
      let n = 0;
      let pushedTotal = 0;
      let framedTotal = 0;
      while (pos < stream.length) {
        // Mostly small chunks, sometimes large ones spanning several PDUs.
        const max = rnd() < 0.2 ? 600 : 40;
        const len = Math.min(stream.length - pos, 1 + Math.floor(rnd() * max));
        fd.push(stream.subarray(pos, pos + len));
        pos += len;
        pushedTotal += len;
        for (let frame = fd.next(); frame !== undefined; frame = fd.next()) {
          const f = fixtures[n];
          assert.ok(f, 'more frames than fixtures');
          frameEquals(frame, f.bytes, `${f.name} (frame ${n})`);
          checkPdu(f.name, decodePdu(frame));
          framedTotal += frame.length;
          n++;
        }
        assert.equal(fd.buffered, pushedTotal - framedTotal, 'buffered = pushed - framed');
      }
      assert.equal(n, fixtures.length);
      assert.equal(fd.buffered, 0);
    });
  }

  it('frames (and PDUs decoded from them) stay intact while later chunks are pushed', () => {
    // A session may keep a decoded PDU (whose octets are views of the frame) while more bytes
    // arrive; the decoder must not recycle the memory of a frame it already handed out.
    const rnd = seededRandom(99);
    const fd = new FrameDecoder();
    const frames: Buffer[] = [];
    const pdus: Pdu[] = [];
    let pos = 0;
    while (pos < stream.length) {
      const len = Math.min(stream.length - pos, 1 + Math.floor(rnd() * 50));
      fd.push(Buffer.from(stream.subarray(pos, pos + len)));
      pos += len;
      for (let frame = fd.next(); frame !== undefined; frame = fd.next()) {
        frames.push(frame);
        pdus.push(decodePdu(frame));
      }
    }
    assert.equal(frames.length, fixtures.length);
    fixtures.forEach((f, i) => {
      frameEquals(frames[i], f.bytes, `${f.name} after later pushes`);
      checkPdu(f.name, pdus[i]!);
    });
  });
});

describe('fixtures: encodePdu(decodePdu(bytes))', () => {
  for (const f of fixtures) {
    const reason = NOT_BYTE_EXACT.get(f.name);
    if (reason === undefined) {
      it(`${f.name} re-encodes byte for byte`, () => {
        const re = encodePdu(decodePdu(f.bytes));
        assert.equal(re.toString('hex'), f.bytes.toString('hex'));
      });
    } else {
      it(`${f.name} re-encodes to an equivalent PDU (${reason})`, () => {
        const pdu = decodePdu(f.bytes);
        const re = encodePdu(pdu);
        assert.equal(re.readUInt32BE(0), re.length, 'command_length');
        assert.deepStrictEqual(decodePdu(re), pdu);
      });
    }
  }

  it('re-encoding is idempotent for every fixture', () => {
    for (const f of fixtures) {
      const once = encodePdu(decodePdu(f.bytes));
      const twice = encodePdu(decodePdu(once));
      assert.equal(twice.toString('hex'), once.toString('hex'), f.name);
    }
  });
});
