/**
 * A new message as the values of SQLite's insert statement: shared by SqliteStore and the
 * main-thread side of ThreadedSqliteStore (which sends rows, not objects, to its worker), and
 * kept free of better-sqlite3 so the main thread does not load it.
 */
import { messageColumns, PAYLOAD_IN_TLV_COLUMN } from '../common.js';
import type { NewMessage } from '../types.js';

/** The `messages` columns of one new message, in insert order (see `insertMessage`). */
export type MessageValues = [id: string, direction: string, account: string, target: string, ...rest: unknown[]];

/** The index of submitted_at in a {@link messageRow}. */
export const SUBMITTED_AT_VALUE = 20;

/** The index of lease_owner in a {@link messageRow} (null unless inserted leased). */
export const LEASE_OWNER_VALUE = 30;

/**
 * One new message as the insert statement's values: the shared columns, payload_in_tlv as
 * 0/1, then next_attempt_at (the schedule time at first), due_at, lease_owner and lease_until.
 */
export function messageRow(m: NewMessage): MessageValues {
  const row = messageColumns(m);
  row[PAYLOAD_IN_TLV_COLUMN] = m.payloadInTlv ? 1 : 0;
  const lease = m.lease;
  if (lease === undefined) row.push(m.scheduleAt, m.scheduleAt, null, 0);
  else row.push(m.scheduleAt, Math.max(m.scheduleAt, lease.until), lease.owner, lease.until);
  return row as MessageValues;
}
