/**
 * A new message as the values of SQLite's insert statement: shared by SqliteStore and the
 * main-thread side of ThreadedSqliteStore (which sends rows, not objects, to its worker), and
 * kept free of better-sqlite3 so the main thread does not load it.
 */
import { initialState } from '../common.js';
import type { NewMessage } from '../types.js';

/** The `messages` columns of one new message, in insert order (see `insertMessage`). */
export type MessageValues = [id: string, direction: string, account: string, target: string, ...rest: unknown[]];

/** One new message as the insert statement's values. */
export function messageRow(m: NewMessage): MessageValues {
  return [
    m.id,
    m.direction,
    m.account,
    m.target,
    m.batchId,
    m.source.ton,
    m.source.npi,
    m.source.addr,
    m.destination.ton,
    m.destination.npi,
    m.destination.addr,
    m.serviceType,
    m.esmClass,
    m.protocolId,
    m.priority,
    m.dataCoding,
    m.registeredDelivery,
    m.payload,
    m.payloadInTlv ? 1 : 0,
    m.tlvs,
    m.submittedAt,
    m.scheduleAt,
    m.expiresAt,
    m.receiptFor,
    m.originNode,
    m.originSession,
    initialState(m),
    m.scheduleAt,
    m.scheduleAt,
    m.failover !== undefined && m.failover.length > 0 ? m.failover.join(',') : null,
  ];
}

