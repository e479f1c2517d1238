/**
 * Logging of the daemon (style §7): one pino logger per process bound to the node id, child
 * loggers bound to `{ nodeId, systemId, sessionId, remote }`, secrets redacted, and a PDU trace
 * that can be switched on for single accounts at run time. The library layers never log; the
 * trace listens on their `smsc:pdu:in` / `smsc:pdu:out` diagnostics channels, and only while
 * at least one account is traced (sessions skip publishing when nobody listens).
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { type DestinationStream, type Level, type LevelWithSilentOrString, type Logger, pino } from 'pino';
import { describePdu, pduToJson } from '../pdu/describe.js';
import type { Pdu } from '../pdu/types.js';

/** Paths pino censors in every record (bind passwords, account hashes, admin tokens). */
export const REDACT_PATHS: readonly string[] = [
  'password',
  'passwordHash',
  'token',
  '*.password',
  '*.passwordHash',
  '*.token',
  'req.headers.authorization',
  'headers.authorization',
];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** This node's id, bound to every record. */
  nodeId: string;
  /** Default 'info'. */
  level?: LevelWithSilentOrString;
  /** Where records go. Default: stdout. */
  destination?: DestinationStream;
  /** Paths censored besides {@link REDACT_PATHS}. */
  redact?: readonly string[];
}

/** The daemon's root logger: JSON lines with ISO times, level names and `nodeId`. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { nodeId: options.nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS, ...(options.redact ?? [])], censor: '***' },
    },
    options.destination,
  );
}

/** What a session looks like to logging: the listener's and the client's `Session` fit. */
export interface LoggableSession {
  readonly id: string;
  /** 'smsc' for the listener's sessions, 'esme' where this process bound out. */
  readonly role?: string;
  /** Peer's system_id once bound. */
  readonly systemId: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** The listener's `SessionContext` (`systemId`) once bound. */
  readonly context: unknown;
}

/** The fields that identify a session in logs. */
export interface SessionBindings {
  sessionId: string;
  systemId?: string;
  remote?: string;
}

/** `{ sessionId, systemId, remote }` of a session (systemId only once known). */
export function sessionBindings(session: LoggableSession): SessionBindings {
  const b: SessionBindings = { sessionId: session.id };
  const systemId = systemIdOf(session);
  if (systemId !== undefined) b.systemId = systemId;
  if (session.remoteAddress !== undefined) {
    b.remote = session.remotePort === undefined ? session.remoteAddress : `${session.remoteAddress}:${session.remotePort}`;
  }
  return b;
}

/** A child logger bound to a session (`nodeId` comes from the root). */
export function sessionLogger(logger: Logger, session: LoggableSession): Logger {
  return logger.child(sessionBindings(session));
}

/** A child logger bound to an account. */
export function accountLogger(logger: Logger, systemId: string): Logger {
  return logger.child({ systemId });
}

function systemIdOf(session: LoggableSession): string | undefined {
  const ctx = session.context as { systemId?: unknown } | undefined;
  if (typeof ctx?.systemId === 'string') return ctx.systemId;
  return session.systemId === '' ? undefined : session.systemId;
}

/** Options of {@link createPduTrace}. */
export interface PduTraceOptions {
  /** Level of trace records. Default 'info' (a trace is asked for, so it shows at the default level). */
  level?: Level;
  /** Octet strings (short_message, message_payload, ...) are cut after this many octets. Default 64. */
  maxBytes?: number;
}

/** Run-time PDU tracing for chosen accounts. */
export interface PduTrace {
  /** Logs every PDU of this account's sessions from now on. */
  enable(systemId: string): void;
  /** Stops tracing this account. */
  disable(systemId: string): void;
  /** True while the account is traced. */
  isEnabled(systemId: string): boolean;
  /** The traced accounts, sorted. */
  readonly accounts: string[];
  /** Stops every trace. */
  close(): void;
}

interface PduMessage {
  session: LoggableSession;
  pdu: Pdu;
}

/**
 * Creates a PDU trace writing to `logger`: one record per PDU of a traced account, with the
 * session bindings, the direction, a one-line summary as the message and the PDU as JSON
 * (passwords redacted, octet strings truncated).
 */
export function createPduTrace(logger: Logger, options: PduTraceOptions = {}): PduTrace {
  const traced = new Set<string>();
  const level = options.level ?? 'info';
  const maxBytes = options.maxBytes ?? 64;

  const write = (dir: 'in' | 'out', message: unknown): void => {
    const { session, pdu } = message as PduMessage;
    let systemId = systemIdOf(session);
    // A bind arrives before the session knows its account: trace it by the system_id it names.
    if (systemId === undefined && 'systemId' in pdu && typeof pdu.systemId === 'string') systemId = pdu.systemId;
    if (systemId === undefined || !traced.has(systemId)) return;
    logger[level](
      { ...sessionBindings(session), systemId, role: session.role, dir, pdu: pduToJson(pdu, { redact: true, maxBytes }) },
      `pdu ${dir} ${describePdu(pdu)}`,
    );
  };
  const onIn = (message: unknown): void => write('in', message);
  const onOut = (message: unknown): void => write('out', message);

  const subscribe = (): void => {
    diagnostics_channel.subscribe('smsc:pdu:in', onIn);
    diagnostics_channel.subscribe('smsc:pdu:out', onOut);
  };
  const unsubscribe = (): void => {
    diagnostics_channel.unsubscribe('smsc:pdu:in', onIn);
    diagnostics_channel.unsubscribe('smsc:pdu:out', onOut);
  };

  return {
    enable(systemId) {
      if (traced.has(systemId)) return;
      if (traced.size === 0) subscribe();
      traced.add(systemId);
      logger.info({ systemId }, 'pdu trace on');
    },
    disable(systemId) {
      if (!traced.delete(systemId)) return;
      if (traced.size === 0) unsubscribe();
      logger.info({ systemId }, 'pdu trace off');
    },
    isEnabled(systemId) {
      return traced.has(systemId);
    },
    get accounts() {
      return [...traced].sort();
    },
    close() {
      if (traced.size > 0) unsubscribe();
      traced.clear();
    },
  };
}
