/**
 * A new message as the values of SQLite's insert statement: shared by SqliteStore and the
 * main-thread side of ThreadedSqliteStore (which sends rows, not objects, to its worker, and
 * encodes the body there: the writer thread is the bottleneck, the main thread mostly idle),
 * and kept free of better-sqlite3 so the main thread does not load it.
 */
import { encodeBody } from '../body.js';
import { failoverColumn, initialState } from '../common.js';
import type { NewMessage } from '../types.js';

/**
 * The values of an unleased message, in the order of `insertMessage`. The other columns
 * (attempts, lease, final_at, error_code, remote_id) start at their defaults.
 */
export type UnleasedValues = [
  id: string,
  direction: string,
  account: string,
  target: string,
  state: string,
  priority: number,
  submittedAt: number,
  scheduleAt: number,
  expiresAt: number,
  nextAttemptAt: number,
  dueAt: number,
  srcAddr: string,
  dstAddr: string,
  failover: string | null,
  body: Buffer,
];

/**
 * The values of a message inserted leased (`insertLeased`): lease_owner and lease_until follow,
 * then handed_to (the lease owner again: the row remembers its first attempt after the lease).
 */
export type LeasedValues = [...UnleasedValues, leaseOwner: string, leaseUntil: number, handedTo: string | null];

/** The `messages` values of one new message (see {@link messageRow}). */
export type MessageValues = UnleasedValues | LeasedValues;

/** The length of {@link UnleasedValues}: a longer row is a {@link LeasedValues}. */
export const UNLEASED_VALUES = 15;

/** The index of handed_to in {@link LeasedValues}. */
export const HANDED_TO = 17;

/** The indexes of account, state and dst_addr in {@link MessageValues}. */
export const ACCOUNT = 2;
export const STATE = 4;
export const DST_ADDR = 12;

const DUE_AT = 10;

/**
 * One new message as insert values: next_attempt_at and due_at are the schedule time at
 * first; a message inserted leased is due when its lease ends and carries its lease.
 */
export function messageRow(m: NewMessage): MessageValues {
  const row: UnleasedValues = [
    m.id,
    m.direction,
    m.account,
    m.target,
    initialState(m),
    m.priority,
    m.submittedAt,
    m.scheduleAt,
    m.expiresAt,
    m.scheduleAt,
    m.scheduleAt,
    m.source.addr,
    m.destination.addr,
    failoverColumn(m.failover),
    encodeBody(m),
  ];
  const lease = m.lease;
  if (lease === undefined) return row;
  row[DUE_AT] = Math.max(m.scheduleAt, lease.until);
  return [...row, lease.owner, lease.until, lease.owner];
}
