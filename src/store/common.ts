/**
 * Pieces shared by the SQL backends: row mapping (both schemas have the same columns, the
 * {@link MessageBody} fields packed into one `body`), argument checks, the fair-share claim loop
 * and event detail text.
 */
import { decodeBody, encodeBody } from './body.js';
import {
  type Address,
  type ClaimRequest,
  EventKind,
  type FindQuery,
  isFailedState,
  type MessageEvent,
  MessageState,
  type MessageStateName,
  type NewMessage,
  type ReplaceChanges,
  type StoredMessage,
} from './types.js';

/** Default group-commit window (ms). */
export const DEFAULT_COMMIT_DELAY_MS = 1;
/** Default maximum rows per group-commit batch. */
export const DEFAULT_MAX_BATCH = 1000;
/** Rows deleted per transaction by purgeFinished, so a large purge never blocks writers long. */
export const PURGE_CHUNK = 5000;

/** A database row of `messages` (SQLite returns numbers, pg returns int8 as strings). */
export type MessageRow = Record<string, unknown>;

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function str(v: unknown): string {
  return v as string;
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : (v as string);
}

/**
 * The fields of a message that are written at insert and then only read back whole: no query
 * filters, orders or indexes by them, and only replace() changes some. Both stores pack them into
 * one `body` column (body.ts). A {@link NewMessage} is one.
 */
export type MessageBody = Pick<
  NewMessage,
  | 'batchId'
  | 'serviceType'
  | 'esmClass'
  | 'protocolId'
  | 'dataCoding'
  | 'registeredDelivery'
  | 'payload'
  | 'payloadInTlv'
  | 'tlvs'
  | 'receiptFor'
  | 'originNode'
  | 'originSession'
> & { source: Omit<Address, 'addr'>; destination: Omit<Address, 'addr'> };

/**
 * The columns that the lean row packs into `body` (SQLite migration 5, PostgreSQL migration 6):
 * the ones {@link bodyColumns} reads. Never change: those migrations use it.
 */
export const PACKED_COLUMNS = [
  'batch_id',
  'src_ton',
  'src_npi',
  'dst_ton',
  'dst_npi',
  'service_type',
  'esm_class',
  'protocol_id',
  'data_coding',
  'registered_delivery',
  'payload',
  'payload_in_tlv',
  'tlvs',
  'receipt_for',
  'origin_node',
  'origin_session',
] as const;

/**
 * The {@link MessageBody} of a row that has its fields as columns: the layout before the lean
 * row (SQLite schema v4, PostgreSQL v5), which the migrations to it read.
 */
export function bodyColumns(r: MessageRow): MessageBody {
  return {
    batchId: strOrNull(r.batch_id),
    source: { ton: num(r.src_ton), npi: num(r.src_npi) },
    destination: { ton: num(r.dst_ton), npi: num(r.dst_npi) },
    serviceType: str(r.service_type),
    esmClass: num(r.esm_class),
    protocolId: num(r.protocol_id),
    dataCoding: num(r.data_coding),
    registeredDelivery: num(r.registered_delivery),
    payload: r.payload as Buffer,
    payloadInTlv: r.payload_in_tlv === true || r.payload_in_tlv === 1,
    tlvs: (r.tlvs as Buffer | null) ?? null,
    receiptFor: strOrNull(r.receipt_for),
    originNode: strOrNull(r.origin_node),
    originSession: strOrNull(r.origin_session),
  };
}

/** Maps a `messages` row (the {@link MessageBody} fields packed in `body`) to a {@link StoredMessage}. */
export function rowToMessage(r: MessageRow): StoredMessage {
  const body = decodeBody(r.body as Buffer);
  return {
    id: str(r.id),
    direction: r.direction as StoredMessage['direction'],
    account: str(r.account),
    target: str(r.target),
    batchId: body.batchId,
    source: { ton: body.source.ton, npi: body.source.npi, addr: str(r.src_addr) },
    destination: { ton: body.destination.ton, npi: body.destination.npi, addr: str(r.dst_addr) },
    serviceType: body.serviceType,
    esmClass: body.esmClass,
    protocolId: body.protocolId,
    priority: num(r.priority),
    dataCoding: body.dataCoding,
    registeredDelivery: body.registeredDelivery,
    payload: body.payload,
    payloadInTlv: body.payloadInTlv,
    tlvs: body.tlvs,
    submittedAt: num(r.submitted_at),
    scheduleAt: num(r.schedule_at),
    expiresAt: num(r.expires_at),
    receiptFor: body.receiptFor,
    originNode: body.originNode,
    originSession: body.originSession,
    state: r.state as MessageStateName,
    attempts: num(r.attempts),
    nextAttemptAt: num(r.next_attempt_at),
    leaseOwner: strOrNull(r.lease_owner),
    leaseUntil: num(r.lease_until),
    finalAt: r.final_at === null || r.final_at === undefined ? null : num(r.final_at),
    errorCode: num(r.error_code),
    failover: r.failover === null || r.failover === undefined || r.failover === '' ? [] : String(r.failover).split(','),
    remoteId: strOrNull(r.remote_id),
  };
}

/** The `failover` column of a failover list: the connectors comma-separated, NULL when none. */
export function failoverColumn(failover: readonly string[] | undefined): string | null {
  return failover !== undefined && failover.length > 0 ? failover.join(',') : null;
}

/**
 * A new message inserted with a lease ({@link NewMessage.lease}) as the store holds it: what a
 * claim would have returned, without asking the store.
 */
export function leasedMessage(m: NewMessage): StoredMessage {
  return {
    id: m.id,
    direction: m.direction,
    account: m.account,
    target: m.target,
    batchId: m.batchId,
    source: m.source,
    destination: m.destination,
    serviceType: m.serviceType,
    esmClass: m.esmClass,
    protocolId: m.protocolId,
    priority: m.priority,
    dataCoding: m.dataCoding,
    registeredDelivery: m.registeredDelivery,
    payload: m.payload,
    payloadInTlv: m.payloadInTlv,
    tlvs: m.tlvs,
    submittedAt: m.submittedAt,
    scheduleAt: m.scheduleAt,
    expiresAt: m.expiresAt,
    receiptFor: m.receiptFor,
    originNode: m.originNode,
    originSession: m.originSession,
    state: initialState(m),
    attempts: 0,
    nextAttemptAt: m.scheduleAt,
    leaseOwner: m.lease?.owner ?? null,
    leaseUntil: m.lease?.until ?? 0,
    finalAt: null,
    errorCode: 0,
    failover: m.failover ?? [],
    remoteId: null,
  };
}

/** The state a new message starts in: `SCHEDULED` when its schedule lies ahead of submission. */
export function initialState(m: NewMessage): MessageStateName {
  return m.scheduleAt > m.submittedAt ? MessageState.SCHEDULED : MessageState.ENROUTE;
}

/**
 * True when no delivery attempt can be carrying `m` at `at`: not handed to a next hop (an
 * upstream SMSC has it, waiting for its receipt), and its lease, if any, has run out, or
 * `heldBy` holds it unsent (cancel and replace; the SQL of the stores says the same).
 */
export function unsent(m: Pick<StoredMessage, 'leaseOwner' | 'leaseUntil' | 'remoteId'>, at: number, heldBy: string | null): boolean {
  return m.remoteId === null && (m.leaseUntil <= at || (heldBy !== null && m.leaseOwner === heldBy));
}

/** Orders claimed messages by due time, then priority (higher first), then submission. */
export function compareDue(a: StoredMessage, b: StoredMessage): number {
  const da = Math.max(a.scheduleAt, a.nextAttemptAt);
  const db = Math.max(b.scheduleAt, b.nextAttemptAt);
  // Snowflake ids grow with time: shorter is older, then lexical order is numeric order.
  return da - db || b.priority - a.priority || a.submittedAt - b.submittedAt || a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Throws a RangeError/TypeError for a malformed claim request. */
export function checkClaim(req: ClaimRequest): void {
  if (!Number.isInteger(req.limit) || req.limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${req.limit}`);
  if (!Number.isInteger(req.leaseMs) || req.leaseMs <= 0) throw new RangeError(`leaseMs must be an integer > 0, got ${req.leaseMs}`);
  if (typeof req.owner !== 'string' || req.owner === '') throw new TypeError('owner must be a non-empty string');
}

/** Throws a TypeError unless `state` is a final failure state. */
export function checkFailedState(state: string): void {
  if (!isFailedState(state)) throw new TypeError(`markFailed: ${state} is not a final failure state`);
}

/** Throws a RangeError for a bad find() limit. */
export function checkFind(q: FindQuery): void {
  if (!Number.isInteger(q.limit) || q.limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${q.limit}`);
}

/** A claim unit (a target, or a target and an account: see {@link unitKey}) and its quota for one pass. */
export type Quota = readonly [unit: string, quota: number];

/** The claim unit of one account's messages to one target (SMPP C-strings never hold NUL). */
export function unitKey(target: string, account: string): string {
  return `${target}\u0000${account}`;
}

/** Splits a {@link unitKey}. */
export function unitParts(unit: string): [target: string, account: string] {
  const i = unit.indexOf('\u0000');
  return [unit.slice(0, i), unit.slice(i + 1)];
}

/** The claim unit of a message. */
export function unitOf(m: StoredMessage): string {
  return unitKey(m.target, m.account);
}

/**
 * The fair-share claim plan shared by the backends (a tiny state machine so the synchronous
 * SQLite backend and the async PostgreSQL one can drive it alike):
 * `for (let q = plan.next(); q; q = plan.next()) plan.record(claimPass(q))`.
 *
 * The units are the (target, account) pairs with pending messages, so targets share a claim
 * fairly and so do the accounts sending to one target. Each pass splits what is still wanted
 * evenly over the units that may have more (the remainder rotating with `turn`, so when
 * `limit < units` no unit is always the one left out). A unit that returned less than its
 * share is exhausted and drops out; its unused share goes to the others in the next pass. So
 * an account with a million due messages cannot starve one with three, and nothing is left
 * unclaimed while capacity remains.
 */
export class FairClaimPlan {
  #active: string[];
  #remaining: number;
  readonly #turn: number;
  #asked: Quota[] = [];
  #all: Quota[] = [];
  readonly #out: StoredMessage[] = [];

  constructor(units: readonly string[], limit: number, turn: number) {
    this.#active = [...new Set(units)];
    this.#remaining = limit;
    this.#turn = turn;
  }

  /** The quotas of the next pass (only non-zero ones), or undefined when done. */
  next(): Quota[] | undefined {
    if (this.#remaining <= 0 || this.#active.length === 0) return undefined;
    const n = this.#active.length;
    const base = Math.floor(this.#remaining / n);
    const extra = this.#remaining % n;
    this.#all = this.#active.map((t, i) => {
      const slot = (((i - this.#turn) % n) + n) % n;
      return [t, base + (slot < extra ? 1 : 0)] as const;
    });
    this.#asked = this.#all.filter(([, q]) => q > 0);
    return this.#asked;
  }

  /** Records what the pass returned by {@link next} claimed. */
  record(claimed: readonly StoredMessage[]): void {
    const got = new Map<string, number>();
    for (const m of claimed) {
      const u = unitOf(m);
      got.set(u, (got.get(u) ?? 0) + 1);
    }
    this.#out.push(...claimed);
    this.#remaining -= claimed.length;
    this.#active = this.#all.filter(([t, q]) => q === 0 || got.get(t) === q).map(([t]) => t);
  }

  /** Everything claimed, ordered by due time, priority, then submission. */
  result(): StoredMessage[] {
    return this.#out.sort(compareDue);
  }
}

/**
 * The `accepted` event of a message, made from its row: it is not written to the event log,
 * since the row holds everything it would say (one write less per message).
 */
function acceptedEvent(m: StoredMessage): MessageEvent {
  return { messageId: m.id, at: m.submittedAt, kind: EventKind.ACCEPTED, detail: detail.accepted(m) };
}

/**
 * A message's lifecycle: what its `messages` row tells (accepted; the first attempt when it was
 * handed over at insert, `handed_to`; the outcome when markDelivered/markFailed made it final,
 * `final_by`) around the events logged for it, in order. Both stores log only the rest.
 */
export function lifecycle(row: MessageRow, logged: readonly MessageEvent[]): MessageEvent[] {
  const m = rowToMessage(row);
  const out: MessageEvent[] = [acceptedEvent(m)];
  if (typeof row.handed_to === 'string') out.push({ messageId: m.id, at: m.submittedAt, kind: EventKind.ATTEMPT, detail: detail.attempt(row.handed_to, 1) });
  out.push(...logged);
  if (typeof row.final_by === 'string') out.push(finalEvent(m, row.final_by));
  return out;
}

/**
 * The `delivered` or `failed` event of a message that `owner`'s markDelivered/markFailed made
 * final, made from its row (the same event those calls would have logged).
 */
function finalEvent(m: StoredMessage, owner: string): MessageEvent {
  const at = m.finalAt ?? m.submittedAt;
  return m.state === MessageState.DELIVERED
    ? { messageId: m.id, at, kind: EventKind.DELIVERED, detail: detail.delivered(owner) }
    : { messageId: m.id, at, kind: EventKind.FAILED, detail: detail.failed(m.state, m.errorCode, owner) };
}

/** Event detail helpers: short `key=value` text. */
export const detail = {
  accepted: (m: NewMessage): string => `target=${m.target}`,
  attempt: (owner: string, attempt: number): string => `owner=${owner} attempt=${attempt}`,
  delivered: (owner: string): string => `owner=${owner}`,
  failed: (state: string, errorCode: number, owner: string): string => `state=${state} error=${errorCode} owner=${owner}`,
  retry: (next: number, errorCode: number, owner: string): string => `next=${next} error=${errorCode} owner=${owner}`,
  released: (owner: string): string => `owner=${owner}`,
  rerouted: (target: string, failover: readonly string[]): string =>
    failover.length > 0 ? `target=${target} failover=${failover.join(',')}` : `target=${target}`,
  forwarded: (remoteId: string, owner: string): string => `remote=${remoteId} owner=${owner}`,
  replaced: (fields: readonly string[]): string => `fields=${fields.join(',')}`,
  finalized: (cause: string, state: string, errorCode: number): string => `${cause} state=${state} error=${errorCode}`,
};

/** Names of the changed fields of a replace(), for its event. */
export function changedFields(changes: object): string[] {
  return Object.entries(changes)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
}

/** The new values of a message's mutable columns after a replace(). */
export interface ReplacedValues {
  payload: Buffer;
  payloadInTlv: boolean;
  registeredDelivery: number;
  scheduleAt: number;
  expiresAt: number;
  dataCoding: number;
  esmClass: number;
  tlvs: Buffer | null;
  protocolId: number;
  state: MessageStateName;
  nextAttemptAt: number;
  dueAt: number;
}

/**
 * Applies replace() changes to a pending message. A new schedule resets the state to
 * `SCHEDULED` (future) or `ENROUTE`; before the first attempt the next attempt follows the
 * schedule, after one the retry back-off still applies on top of it. The change clears the
 * lease (a replace applies only to a message no attempt carries: see Store.replace), so the
 * due time is the schedule's or the back-off's.
 */
export function applyReplace(m: StoredMessage, changes: ReplaceChanges, at: number): ReplacedValues {
  const scheduleAt = changes.scheduleAt ?? m.scheduleAt;
  let state = m.state;
  let nextAttemptAt = m.nextAttemptAt;
  if (changes.scheduleAt !== undefined) {
    state = scheduleAt > at ? MessageState.SCHEDULED : MessageState.ENROUTE;
    if (m.attempts === 0) nextAttemptAt = scheduleAt;
  }
  return {
    payload: changes.payload ?? m.payload,
    payloadInTlv: changes.payloadInTlv ?? m.payloadInTlv,
    registeredDelivery: changes.registeredDelivery ?? m.registeredDelivery,
    scheduleAt,
    expiresAt: changes.expiresAt ?? m.expiresAt,
    dataCoding: changes.dataCoding ?? m.dataCoding,
    esmClass: changes.esmClass ?? m.esmClass,
    tlvs: changes.tlvs !== undefined ? changes.tlvs : m.tlvs,
    protocolId: changes.protocolId ?? m.protocolId,
    state,
    nextAttemptAt,
    // The change clears the lease (see Store.replace): due again at once, with its new content.
    dueAt: Math.max(scheduleAt, nextAttemptAt),
  };
}

/** The `body` of a message after a replace(): the changed fields packed again with the unchanged ones. */
export function replacedBody(m: StoredMessage, v: ReplacedValues): Buffer {
  return encodeBody({
    ...m,
    payload: v.payload,
    payloadInTlv: v.payloadInTlv,
    registeredDelivery: v.registeredDelivery,
    dataCoding: v.dataCoding,
    esmClass: v.esmClass,
    tlvs: v.tlvs,
    protocolId: v.protocolId,
  });
}

/**
 * The messages of a findPending() with the service type asked for, if any: service_type lives in
 * the body, so it is compared here (an account rarely has many pending messages for one source
 * and destination).
 */
export function withServiceType(found: StoredMessage[], serviceType: string | undefined): StoredMessage[] {
  return serviceType === undefined ? found : found.filter((m) => m.serviceType === serviceType);
}

/** Throws a RangeError for a bad expireDue() limit. */
export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
}

/**
 * True for a store's refusal of a message whose id is stored already (SQLite's primary key,
 * PostgreSQL's unique_violation: the messages table has no other unique constraint).
 */
export function isDuplicateId(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
