import { commandStatusName } from './constants.js';

/**
 * A PDU that cannot be decoded. Carries the command_status the peer must be answered with
 * ([ref §6.8]); the codec never writes, the session decides how to answer.
 * `fatal` is true when the byte stream is out of sync (bad command_length): answer with
 * generic_nack and close.
 */
export class PduDecodeError extends Error {
  override readonly name = 'PduDecodeError';
  readonly code = 'SMPP_ERR_PDU_DECODE';
  /** Status to answer with, e.g. ESME_RINVCMDLEN. */
  readonly commandStatus: number;
  /** command_id of the offending PDU when the header was readable. */
  readonly commandId: number | undefined;
  /** sequence_number of the offending PDU when the header was readable (else 0). */
  readonly sequenceNumber: number;
  /** Byte offset in the PDU where decoding failed. */
  readonly offset: number;
  /** The stream cannot be resynchronised: close after answering. */
  readonly fatal: boolean;

  constructor(
    commandStatus: number,
    reason: string,
    details: { commandId?: number; sequenceNumber?: number; offset?: number; fatal?: boolean } = {},
  ) {
    super(`${commandStatusName(commandStatus)}: ${reason}`);
    this.commandStatus = commandStatus;
    this.commandId = details.commandId;
    this.sequenceNumber = details.sequenceNumber ?? 0;
    this.offset = details.offset ?? 0;
    this.fatal = details.fatal ?? false;
  }
}

/** A PDU value that cannot be encoded (a field too long, a value out of range). */
export class PduEncodeError extends Error {
  override readonly name = 'PduEncodeError';
  readonly code = 'SMPP_ERR_PDU_ENCODE';
  /** The offending field (camelCase), if one is to blame. */
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
  }
}
