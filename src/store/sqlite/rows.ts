/**
 * A new message as the values of SQLite's insert statement: shared by SqliteStore and the
 * main-thread side of ThreadedSqliteStore, which packs new messages as columns for its worker
 * ({@link packMessages}, bodies encoded on the main thread: the writer thread is the
 * bottleneck), and kept free of better-sqlite3 so the main thread does not load it.
 */
import { bodySize, encodeBody, writeBody } from '../body.js';
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

/** The indexes of direction, account, target, state and dst_addr in {@link MessageValues}. */
export const DIRECTION = 1;
export const ACCOUNT = 2;
export const TARGET = 3;
export const STATE = 4;
export const DST_ADDR = 12;

const SCHEDULE_AT = 7;
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
  return withLease(row, m.lease?.owner ?? null, m.lease?.until ?? 0);
}

/**
 * `row`, or for a message inserted leased (`owner` set): due when its lease ends, with
 * lease_owner, lease_until and handed_to (the owner) after it.
 */
function withLease(row: UnleasedValues, owner: string | null, until: number): MessageValues {
  if (owner === null) return row;
  row[DUE_AT] = Math.max(row[SCHEDULE_AT], until);
  return [...row, owner, until, owner];
}

/**
 * New messages as ThreadedSqliteStore posts them to its worker: what {@link messageRow} makes
 * of each, as columns. A structured clone copies a typed array in one piece and each string
 * once, where an array of rows costs it every value of every row, and the bodies share one
 * buffer instead of a Buffer each (docs/performance.md: 2.6-3.2 → 1.9-2.6 µs of main-thread CPU
 * per message in a microbenchmark).
 */
export interface PackedMessages {
  ids: string[];
  /** The other strings, each once: `refs` index them. */
  strings: string[];
  /** Per message, {@link REFS} of them: direction, account, target, state, source, destination, failover, lease owner (-1: null). */
  refs: Int32Array;
  /** Per message, {@link NUMS} of them: priority, submitted_at, schedule_at, expires_at, lease_until. */
  nums: Float64Array;
  /** The encoded bodies, one after the other; `ends[i]` is where message i's ends. */
  bodies: Uint8Array;
  ends: Int32Array;
}

const REFS = 8;
const NUMS = 5;

/** {@link PackedMessages} of `msgs`. */
export function packMessages(msgs: readonly NewMessage[]): PackedMessages {
  const count = msgs.length;
  const ids: string[] = [];
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (s: string | null): number => {
    if (s === null) return -1;
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const refs = new Int32Array(count * REFS);
  const nums = new Float64Array(count * NUMS);
  const ends = new Int32Array(count);
  let size = 0;
  for (let i = 0; i < count; i++) {
    size += bodySize(msgs[i]!);
    ends[i] = size;
  }
  const bodies = Buffer.allocUnsafeSlow(size);
  for (let i = 0; i < count; i++) {
    const m = msgs[i]!;
    ids.push(m.id);
    const r = i * REFS;
    refs[r] = ref(m.direction);
    refs[r + 1] = ref(m.account);
    refs[r + 2] = ref(m.target);
    refs[r + 3] = ref(initialState(m));
    refs[r + 4] = ref(m.source.addr);
    refs[r + 5] = ref(m.destination.addr);
    refs[r + 6] = ref(failoverColumn(m.failover));
    refs[r + 7] = ref(m.lease?.owner ?? null);
    const n = i * NUMS;
    nums[n] = m.priority;
    nums[n + 1] = m.submittedAt;
    nums[n + 2] = m.scheduleAt;
    nums[n + 3] = m.expiresAt;
    nums[n + 4] = m.lease?.until ?? 0;
    const at = i === 0 ? 0 : ends[i - 1]!;
    writeBody(m, bodies, at, ends[i]! - at);
  }
  return { ids, strings, refs, nums, bodies, ends };
}

/** The rows {@link messageRow} makes of the messages `p` was packed from (bodies are views of `p.bodies`). */
export function unpackMessages(p: PackedMessages): MessageValues[] {
  const { ids, strings, refs, nums, ends } = p;
  const bodies = Buffer.from(p.bodies.buffer, p.bodies.byteOffset, p.bodies.byteLength);
  const str = (i: number): string | null => (i < 0 ? null : strings[i]!);
  const rows: MessageValues[] = [];
  for (let i = 0; i < ids.length; i++) {
    const r = i * REFS;
    const n = i * NUMS;
    const at = i === 0 ? 0 : ends[i - 1]!;
    const scheduleAt = nums[n + 2]!;
    const row: UnleasedValues = [
      ids[i]!,
      strings[refs[r]!]!,
      strings[refs[r + 1]!]!,
      strings[refs[r + 2]!]!,
      strings[refs[r + 3]!]!,
      nums[n]!,
      nums[n + 1]!,
      scheduleAt,
      nums[n + 3]!,
      scheduleAt,
      scheduleAt,
      strings[refs[r + 4]!]!,
      strings[refs[r + 5]!]!,
      str(refs[r + 6]!),
      bodies.subarray(at, ends[i]!),
    ];
    rows.push(withLease(row, str(refs[r + 7]!), nums[n + 4]!));
  }
  return rows;
}
