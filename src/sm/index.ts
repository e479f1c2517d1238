/**
 * Short-message text layer: GSM 03.38, Latin-1, UCS2, data_coding choice, splitting,
 * UDH, reassembly, SMPP time strings and delivery receipt text. Imports only
 * `pdu/constants`.
 */
export * from './dlr.js';
export * from './encoding.js';
export * from './gsm7.js';
export * from './latin1.js';
export * from './reassembly.js';
export * from './split.js';
export * from './time.js';
export * from './ucs2.js';
export * from './udh.js';
