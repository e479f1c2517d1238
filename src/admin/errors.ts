/**
 * Errors of the admin API, as a fastify-style code registry (style §5): each code has an
 * HTTP status and a default message. Handlers and {@link AccountRegistry} implementations
 * throw {@link AdminError}; the app's error handler turns it into `{ error, code, message, field }`.
 */
import { STATUS_CODES } from 'node:http';

/** Every admin error code with its HTTP status and default message. */
export const AdminErrorCodes = {
  SMSC_ADMIN_UNAUTHORIZED: { status: 401, message: 'missing or wrong bearer token' },
  SMSC_ADMIN_VALIDATION: { status: 400, message: 'invalid request' },
  SMSC_ADMIN_NOT_FOUND: { status: 404, message: 'no such route' },
  SMSC_ADMIN_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this path' },
  SMSC_ADMIN_SESSION_NOT_FOUND: { status: 404, message: 'no such session' },
  SMSC_ADMIN_MESSAGE_NOT_FOUND: { status: 404, message: 'no such message' },
  SMSC_ADMIN_ACCOUNT_NOT_FOUND: { status: 404, message: 'no such account' },
  SMSC_ADMIN_ACCOUNT_EXISTS: { status: 409, message: 'an account with this system_id exists' },
  SMSC_ADMIN_ACCOUNT_INVALID: { status: 400, message: 'invalid account' },
  SMSC_ADMIN_READ_ONLY: { status: 501, message: 'accounts cannot be changed at run time yet' },
  SMSC_ADMIN_ACCOUNT_READ_ONLY: { status: 409, message: 'the account is defined in the config file; change it there' },
  SMSC_ADMIN_ACCOUNT_IN_USE: { status: 409, message: 'the account is named by a route' },
  SMSC_ADMIN_ADDRESS_TAKEN: { status: 409, message: 'another account owns this address' },
  SMSC_ADMIN_ROUTES_INVALID: { status: 400, message: 'invalid routes' },
  SMSC_ADMIN_ROUTE_NOT_FOUND: { status: 404, message: 'no such route' },
  SMSC_ADMIN_CONNECTOR_NOT_FOUND: { status: 404, message: 'no such connector' },
  SMSC_ADMIN_UI_MISSING: { status: 503, message: 'dashboard files not found' },
  SMSC_ADMIN_NO_NETWORK: { status: 409, message: 'no simulated network is configured' },
  SMSC_ADMIN_MO_REFUSED: { status: 422, message: 'the MO message was refused' },
  SMSC_ADMIN_INTERNAL: { status: 500, message: 'internal error' },
  SMSC_ADMIN_STANDBY: { status: 503, message: 'this node stands by (cluster.mode active-standby): ask the active node' },
} as const;

/** One of the {@link AdminErrorCodes} keys. */
export type AdminErrorCode = keyof typeof AdminErrorCodes;

/** The JSON body of every error response. */
export interface ErrorBody {
  /** The HTTP reason phrase, e.g. `Bad Request`. */
  error: string;
  /** Stable machine-readable code, e.g. `SMSC_ADMIN_VALIDATION`. */
  code: string;
  /** Human-readable explanation. */
  message: string;
  /** For validation errors: the offending field, e.g. `limit` or `addresses[1]`. */
  field?: string;
}

/** An error the admin API answers with a known status and code. */
export class AdminError extends Error {
  override name = 'AdminError';
  readonly code: AdminErrorCode;
  readonly statusCode: number;
  /** The request field at fault, when there is one. */
  readonly field: string | undefined;

  constructor(code: AdminErrorCode, message?: string, field?: string) {
    super(message ?? AdminErrorCodes[code].message);
    this.code = code;
    this.statusCode = AdminErrorCodes[code].status;
    this.field = field;
  }

  /** The response body for this error. */
  toBody(): ErrorBody {
    return errorBody(this.statusCode, this.code, this.message, this.field);
  }
}

/** Builds an error body; `field` is left out when undefined. */
export function errorBody(status: number, code: string, message: string, field?: string): ErrorBody {
  const body: ErrorBody = { error: STATUS_CODES[status] ?? 'Error', code, message };
  if (field !== undefined) body.field = field;
  return body;
}
