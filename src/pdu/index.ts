/**
 * The SMPP codec: a dependency-free leaf (no sockets, timers or logging).
 * Bytes in, typed PDUs out, and back.
 */
export * from './constants.js';
export { decodePdu, decodeTlvs } from './decode.js';
export { type DescribeOptions, describePdu, pduToJson } from './describe.js';
export { commandIdOf, encodeHeaderOnly, encodeParts, encodePdu, encodeTlvs } from './encode.js';
export { PduDecodeError, PduEncodeError } from './errors.js';
export { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.js';
export { pduFromJson } from './json.js';
export { PDU_SPECS, type PduSpec, TLV_SPECS, type TlvSpec } from './schema.js';
export type * from './types.js';
