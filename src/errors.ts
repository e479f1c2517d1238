/**
 * Errors of the library layers. Each has a `name`, a stable `code` and an optional `cause`.
 */
import { commandStatusName } from './pdu/constants.js';
import type { Pdu } from './pdu/types.js';

export { PduDecodeError, PduEncodeError } from './pdu/errors.js';

/** Base class of every smsc error. */
export class SmppError extends Error {
  override name = 'SmppError';
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The peer answered a request with a non-zero command_status. */
export class CommandStatusError extends SmppError {
  override name = 'CommandStatusError';
  readonly commandStatus: number;
  readonly statusName: string;
  /** The response (or generic_nack) that carried the status. */
  readonly response: Pdu | undefined;
  constructor(commandStatus: number, context: string, response?: Pdu) {
    const statusName = commandStatusName(commandStatus);
    super(`${context} failed: ${statusName}`, 'SMPP_ERR_COMMAND_STATUS');
    this.commandStatus = commandStatus;
    this.statusName = statusName;
    this.response = response;
  }
}

/** No response arrived within the response timer. */
export class ResponseTimeoutError extends SmppError {
  override name = 'ResponseTimeoutError';
  readonly request: Pdu;
  constructor(request: Pdu, timeoutMs: number) {
    super(`no response to ${request.command}#${request.sequenceNumber} within ${timeoutMs} ms`, 'SMPP_ERR_RESPONSE_TIMEOUT');
    this.request = request;
  }
}

/** The window of outstanding requests is full and the caller asked not to wait. */
export class WindowFullError extends SmppError {
  override name = 'WindowFullError';
  constructor(size: number) {
    super(`window of ${size} outstanding requests is full`, 'SMPP_ERR_WINDOW_FULL');
  }
}

/** The session closed before the request was answered (or before it could be sent). */
export class SessionClosedError extends SmppError {
  override name = 'SessionClosedError';
  /** The unanswered request, so callers can re-queue it. */
  readonly request: Pdu | undefined;
  constructor(reason: string, request?: Pdu, options?: ErrorOptions) {
    super(`session closed: ${reason}`, 'SMPP_ERR_SESSION_CLOSED', options);
    this.request = request;
  }
}

/** The session closed while a request waited for a window slot: it was never sent. */
export class RequestNotSentError extends SessionClosedError {
  override name = 'RequestNotSentError';
}

/** The SMSC refused a bind. */
export class BindRejectedError extends CommandStatusError {
  override name = 'BindRejectedError';
}

/** The request is not allowed in the session's current state (e.g. deliver_sm on a transmitter bind). */
export class InvalidStateError extends SmppError {
  override name = 'InvalidStateError';
  constructor(message: string) {
    super(message, 'SMPP_ERR_INVALID_STATE');
  }
}

/** A caller passed a value that cannot work. */
export class InvalidArgumentError extends SmppError {
  override name = 'InvalidArgumentError';
  constructor(message: string) {
    super(message, 'SMPP_ERR_INVALID_ARGUMENT');
  }
  /** `name: message` for one argument. */
  static format(arg: string, message: string): InvalidArgumentError {
    return new InvalidArgumentError(`'${arg}' ${message}`);
  }
}

/**
 * A text of several parts (Client#sendText) of which a part after the first failed: the parts
 * before it were accepted, and their ids are here (to cancel them, or to know what went).
 */
export class PartialSendError extends SmppError {
  override name = 'PartialSendError';
  /** The message ids of the parts the SMSC accepted, in order (parts 1 to n). */
  readonly messageIds: string[];
  /** How many parts the text had. */
  readonly parts: number;
  constructor(messageIds: string[], parts: number, cause: Error) {
    super(
      `part ${messageIds.length + 1} of ${parts} failed (${cause.message}); parts 1-${messageIds.length} were accepted`,
      'SMPP_ERR_PARTIAL_SEND',
      { cause },
    );
    this.messageIds = messageIds;
    this.parts = parts;
  }
}

/** Every error class, as one map. */
export const errors = {
  SmppError,
  CommandStatusError,
  ResponseTimeoutError,
  WindowFullError,
  SessionClosedError,
  BindRejectedError,
  InvalidStateError,
  InvalidArgumentError,
  PartialSendError,
} as const;

/**
 * An error as one line for an operator. A connection refused on every address of a name (an
 * AggregateError, e.g. `localhost` as ::1 and 127.0.0.1) has an empty message: its parts say it.
 * Anything thrown that is not an Error is said as it is.
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message !== '') return err.message;
  const parts = err instanceof AggregateError ? err.errors.map(errorText) : [];
  const code = (err as { code?: unknown }).code;
  return parts.length > 0 ? parts.join('; ') : typeof code === 'string' ? code : err.name;
}
