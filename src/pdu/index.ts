/**
 * The SMPP codec: a dependency-free leaf (no sockets, timers or logging).
 * Bytes in, typed PDUs out, and back.
 */
export * from './constants.js';
export { decodePdu } from './decode.js';
export { type DescribeOptions, describePdu, pduToJson } from './describe.js';
export { commandIdOf, encodeHeaderOnly, encodePdu } from './encode.js';
export { PduDecodeError, PduEncodeError } from './errors.js';
export { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.js';
export { PDU_SPECS, type PduSpec, TLV_SPECS, type TlvSpec } from './schema.js';
export type * from './types.js';
