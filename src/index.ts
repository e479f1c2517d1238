/**
 * The package's entry points: `smsc/client` is the ESME client library; this module gathers it
 * with the errors its calls reject with and the SMPP constants a caller needs.
 */
export * from './client/index.js';
export * from './errors.js';
export { CommandStatus, DataCoding, EsmClass, InterfaceVersion } from './pdu/constants.js';
