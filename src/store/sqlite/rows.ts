/**
 * A new message as the values of SQLite's insert statement: shared by SqliteStore and the
 * main-thread side of ThreadedSqliteStore (which sends rows, not objects, to its worker), and
 * kept free of better-sqlite3 so the main thread does not load it.
 */
import { messageColumns, PAYLOAD_IN_TLV_COLUMN } from '../common.js';
import type { NewMessage } from '../types.js';

/** The `messages` columns of one new message, in insert order (see `insertMessage`). */
export type MessageValues = [id: string, direction: string, account: string, target: string, ...rest: unknown[]];

/**
 * One new message as the insert statement's values: the shared columns, payload_in_tlv as
 * 0/1, then next_attempt_at and due_at (both the schedule time at first).
 */
export function messageRow(m: NewMessage): MessageValues {
  const row = messageColumns(m);
  row[PAYLOAD_IN_TLV_COLUMN] = m.payloadInTlv ? 1 : 0;
  row.push(m.scheduleAt, m.scheduleAt);
  return row as MessageValues;
}
