/**
 * The message store model and the {@link Store} interface shared by every backend.
 *
 * The store knows rows, not PDUs: payloads are opaque `Buffer`s, addresses are plain
 * TON/NPI/string triples, and every time is an epoch-millisecond number passed in by the
 * caller (the store never reads the clock, so tests drive time explicitly).
 * This module imports nothing.
 */

/**
 * Message states. Names follow SMPP `message_state` [SMPP34 §5.2.28]; `SCHEDULED` and
 * `SKIPPED` are the SMPP 5.0 additions [SMPP50 §4.7.15].
 * A message is *pending* while `SCHEDULED` or `ENROUTE`; every other state is final.
 */
export const MessageState = {
  SCHEDULED: 'SCHEDULED',
  ENROUTE: 'ENROUTE',
  DELIVERED: 'DELIVERED',
  EXPIRED: 'EXPIRED',
  DELETED: 'DELETED',
  UNDELIVERABLE: 'UNDELIVERABLE',
  ACCEPTED: 'ACCEPTED',
  UNKNOWN: 'UNKNOWN',
  REJECTED: 'REJECTED',
  SKIPPED: 'SKIPPED',
} as const;
/** One of the {@link MessageState} values. */
export type MessageStateName = (typeof MessageState)[keyof typeof MessageState];
/** States in which a message still waits for delivery. */
export type PendingState = typeof MessageState.SCHEDULED | typeof MessageState.ENROUTE;
/** Final states that {@link Store.markFailed} may set (everything final except `DELIVERED`). */
export type FailedState = Exclude<MessageStateName, PendingState | typeof MessageState.DELIVERED>;

/**
 * Why {@link Store.finalize} ended a message, the first word of its lifecycle event:
 * `upstream`, a next hop's verdict (its receipt); `transaction-wait`, a transaction-mode
 * message with no attempt when its submit's wait ran out; `reassembled`, an MO part delivered
 * within its joined message.
 */
export type FinalizeCause = 'upstream' | 'transaction-wait' | 'reassembled';

/** The pending states, in a fixed order (used to build SQL `IN` lists). */
export const PENDING_STATES: readonly PendingState[] = [MessageState.SCHEDULED, MessageState.ENROUTE];

/** True when `state` is `SCHEDULED` or `ENROUTE`. */
export function isPendingState(state: string): state is PendingState {
  return state === MessageState.SCHEDULED || state === MessageState.ENROUTE;
}

/** True when `state` is a final state other than `DELIVERED` (a valid {@link Store.markFailed} state). */
export function isFailedState(state: string): state is FailedState {
  return (
    state !== MessageState.DELIVERED &&
    !isPendingState(state) &&
    Object.hasOwn(MessageState, state)
  );
}

/** Traffic direction of a stored message. */
export const Direction = { MT: 'mt', MO: 'mo', RECEIPT: 'receipt' } as const;
/** One of the {@link Direction} values. */
export type DirectionName = (typeof Direction)[keyof typeof Direction];

/** An SMPP address: type of number, numbering plan indicator and the digits/alphanumerics. */
export interface Address {
  /** type_of_number [SMPP34 §5.2.5]. */
  ton: number;
  /** numbering_plan_indicator [SMPP34 §5.2.6]. */
  npi: number;
  /** The address itself. */
  addr: string;
}

/** A message as handed to {@link Store.insert}. */
export interface NewMessage {
  /** The message_id given to the ESME, assigned by the caller; unique across the store. */
  id: string;
  /** `mt` (submitted by an ESME), `mo` (from the network) or `receipt` (a delivery receipt). */
  direction: DirectionName;
  /** Owner: submitting account for MT; the receiving account for MO and receipts. */
  account: string;
  /** Delivery target key chosen by routing, e.g. `esme:bob`, `network`, `upstream-a`. */
  target: string;
  /** submit_multi: shared by the records of one submit; otherwise null. */
  batchId: string | null;
  /** Originator. */
  source: Address;
  /** Recipient. */
  destination: Address;
  /** service_type [SMPP34 §5.2.11]. */
  serviceType: string;
  /** esm_class [SMPP34 §5.2.12]. */
  esmClass: number;
  /** protocol_id [SMPP34 §5.2.13]. */
  protocolId: number;
  /** priority_flag [SMPP34 §5.2.14]; higher is more urgent. */
  priority: number;
  /** data_coding [SMPP34 §5.2.19]. */
  dataCoding: number;
  /** registered_delivery [SMPP34 §5.2.17]. */
  registeredDelivery: number;
  /** User data bytes (short_message or message_payload). */
  payload: Buffer;
  /** True when the payload came as the message_payload TLV. */
  payloadInTlv: boolean;
  /** Pass-through TLVs, opaque encoded bytes, or null. */
  tlvs: Buffer | null;
  /** Epoch ms when the message was accepted. */
  submittedAt: number;
  /** Epoch ms of the first allowed delivery attempt; equals `submittedAt` when immediate. */
  scheduleAt: number;
  /** Epoch ms after which the message is no longer delivered (validity period end). */
  expiresAt: number;
  /** For receipts: id of the message this receipt reports on; otherwise null. */
  receiptFor: string | null;
  /** Cluster node that accepted the message (diagnostics). */
  originNode: string | null;
  /** Session that submitted the message (diagnostics). */
  originSession: string | null;
  /**
   * Connectors to try, in order, when `target` cannot take the message (routing failover).
   * Absent or empty: none.
   */
  failover?: readonly string[] | undefined;
  /**
   * Stored already leased to `owner` until `until` (epoch ms): the inserting node hands the
   * message to its target at once, without a claim. It is stored `ENROUTE`, nobody else can
   * claim it before `until`, outcomes follow the usual lease rules, and no notification is sent
   * (nothing became claimable). Absent: claimable from `scheduleAt`.
   */
  lease?: { owner: string; until: number } | undefined;
}

/** A message as stored: the submitted fields plus delivery state. */
export interface StoredMessage extends NewMessage {
  /** Current state; `SCHEDULED`/`ENROUTE` while pending. */
  state: MessageStateName;
  /** Delivery attempts that reached an outcome (delivered, failed or retry). */
  attempts: number;
  /** Epoch ms of the earliest next attempt (also bounded below by `scheduleAt`). */
  nextAttemptAt: number;
  /** Who holds the delivery lease, or null. */
  leaseOwner: string | null;
  /** Epoch ms when the lease lapses; 0 when not leased. */
  leaseUntil: number;
  /** Epoch ms when the message reached a final state, or null while pending. */
  finalAt: number | null;
  /** Last error code reported for the message (0 when none). */
  errorCode: number;
  /** Failover connectors still to try (empty when none). */
  failover: readonly string[];
  /** The next hop's id for a forwarded message (an upstream SMSC's message_id), or null. */
  remoteId: string | null;
}

/** Kinds of lifecycle events written by the stores. Other kinds may appear in future versions. */
export const EventKind = {
  ACCEPTED: 'accepted',
  ATTEMPT: 'attempt',
  RETRY: 'retry',
  RELEASED: 'released',
  REROUTED: 'rerouted',
  FORWARDED: 'forwarded',
  DELIVERED: 'delivered',
  FAILED: 'failed',
  EXPIRED: 'expired',
  CANCELLED: 'cancelled',
  REPLACED: 'replaced',
} as const;

/** One entry of a message's lifecycle log. */
export interface MessageEvent {
  /** The message the event belongs to. */
  messageId: string;
  /** Epoch ms of the event (the `at`/`now` passed to the store operation). */
  at: number;
  /** What happened, e.g. `accepted`, `attempt`, `retry`, `delivered` (see {@link EventKind}). */
  kind: string;
  /** Short free-form detail, e.g. `owner=node-1 attempt=2` or `state=UNDELIVERABLE error=69`. */
  detail: string;
}

/** Arguments of {@link Store.claimDue}. */
export interface ClaimRequest {
  /** Targets to claim for; each gets a fair share of `limit`. */
  targets: readonly string[];
  /** The current time (epoch ms). */
  now: number;
  /** Maximum number of messages returned (≥ 1). */
  limit: number;
  /** Lease length in ms (> 0); the message becomes claimable again at `now + leaseMs`. */
  leaseMs: number;
  /** Lease owner recorded on the claimed messages; outcomes must pass the same owner. */
  owner: string;
}

/** Arguments of {@link Store.findPending} (cancel_sm by address, replace_if_present). */
export interface PendingQuery {
  /** Owning account. */
  account: string;
  /** Source address digits (TON/NPI are not compared). */
  sourceAddr: string;
  /** Destination address digits (TON/NPI are not compared). */
  destinationAddr: string;
  /** When given, the service_type must match too. */
  serviceType?: string;
}

/** Fields {@link Store.replace} may change. Absent fields are kept. */
export interface ReplaceChanges {
  payload?: Buffer;
  payloadInTlv?: boolean;
  registeredDelivery?: number;
  scheduleAt?: number;
  expiresAt?: number;
  dataCoding?: number;
  esmClass?: number;
  /** The pass-through TLVs (null: none), as {@link NewMessage.tlvs}. */
  tlvs?: Buffer | null;
  protocolId?: number;
}

/** Arguments of {@link Store.find} (admin search). All filters are optional and combine with AND. */
export interface FindQuery {
  /** Owning account. */
  account?: string;
  /** Matches either the source or the destination address digits. */
  addr?: string;
  /** Current state. */
  state?: MessageStateName;
  /** `submittedAt >= from`. */
  from?: number;
  /** `submittedAt < to`. */
  to?: number;
  /** Current delivery target. */
  target?: string;
  /** Maximum number of results (newest first). */
  limit: number;
}

/** Counters for metrics. Monotonic since the store was created. */
export interface StoreStats {
  /**
   * Write transactions committed by the group committers (SQLite: all writes; PostgreSQL:
   * inserts and final outcomes, the other writes being single statements).
   */
  commitBatches: number;
  /** Operations that went through the group committer. */
  commitCalls: number;
  /** Batches that failed as a whole (their operations were then retried one by one). */
  commitFailures: number;
  /** Successful {@link Store.insert} calls. */
  insertCalls: number;
  /** Messages inserted: by successful {@link Store.insert} calls, and the receipts stored with their message's outcome. */
  insertRows: number;
}

/** Options common to every backend. */
export interface StoreOptions {
  /**
   * How long (ms) the group committer waits for more writes before committing a batch.
   * 0 gathers only the writes of the current event-loop turn. Default 1.
   */
  commitDelayMs?: number;
  /** A batch is committed at once when it holds this many rows. Default 1000. */
  maxBatch?: number;
  /** Write the lifecycle event log (`events()`). Default true. */
  events?: boolean;
}

/**
 * The durable message store. One interface, implemented by SQLite (embedded default) and
 * PostgreSQL (clusters); `test/contract/store-contract.ts` holds the behaviour both must show.
 *
 * Lease rules: {@link claimDue} leases messages to an owner. {@link markDelivered},
 * {@link markFailed} and {@link retryLater} apply only while the message is pending and its
 * lease is still recorded for that owner (even past `leaseUntil`, as long as nobody else has
 * claimed it since), so a stale lease holder can never overwrite a newer attempt's outcome.
 */
export interface Store {
  /** Opens the database and runs pending migrations (idempotent; safe from several processes). */
  init(): Promise<void>;
  /** Commits queued writes, then closes connections. */
  close(): Promise<void>;

  /**
   * Inserts messages; resolves only once they are committed (durable). Concurrent calls
   * share one transaction (group commit); the rows of one call always commit together.
   * Rejects (for this call only) when an id already exists.
   */
  insert(msgs: readonly NewMessage[]): Promise<void>;
  /**
   * Leases up to `limit` due messages of `targets` to `owner`: pending, `scheduleAt <= now`,
   * `nextAttemptAt <= now`, `expiresAt > now` and not leased (`leaseUntil <= now`).
   * Each target gets a fair share of `limit`; within a target the order is due time, then
   * priority (higher first). Claimed messages become `ENROUTE`. Two claimers never get the
   * same message while a lease is live.
   */
  claimDue(req: ClaimRequest): Promise<StoredMessage[]>;
  /**
   * Marks a leased message `DELIVERED` (attempts + 1). Returns whether it applied. A `receipt`
   * (the delivery receipt the message owes) is inserted in the same transaction when, and only
   * when, the outcome applied: a crash can never leave the message final and its receipt unmade.
   * A receipt that cannot be stored (a duplicate id) fails the outcome with it. The other ways a
   * message ends ({@link expireDue}, {@link finalize}, {@link failPendingTo}) make the receipts
   * themselves, in their own transaction, when given `receiptsBy` (docs/decisions.md).
   */
  markDelivered(id: string, at: number, owner: string, receipt?: NewMessage): Promise<boolean>;
  /**
   * Marks a leased message failed with a final `state` (attempts + 1). Returns whether it
   * applied. A `receipt` is inserted with it, as for {@link markDelivered}.
   */
  markFailed(id: string, state: FailedState, at: number, errorCode: number, owner: string, receipt?: NewMessage): Promise<boolean>;
  /**
   * Ends an attempt with a temporary error: attempts + 1, lease cleared, due again at
   * `nextAttemptAt`. `at` is the current time (recorded in the event). Returns whether it applied.
   * A `receipt` (an intermediate notification) is inserted with it, as for {@link markDelivered}.
   */
  retryLater(id: string, nextAttemptAt: number, errorCode: number, owner: string, at: number, receipt?: NewMessage): Promise<boolean>;
  /**
   * Gives leased messages back without an attempt (attempts unchanged; due again at once).
   * Only messages still leased to `owner` are released. `at` is the time recorded in the event.
   * Returns how many were released.
   */
  release(ids: readonly string[], owner: string, at: number): Promise<number>;

  /** The message with this id, or undefined. */
  get(id: string): Promise<StoredMessage | undefined>;
  /** The messages of `ids` that exist, in no particular order. */
  getMany(ids: readonly string[]): Promise<StoredMessage[]>;
  /** The lifecycle events of a message, oldest first. */
  events(id: string): Promise<MessageEvent[]>;
  /** Pending MT messages an account submitted, by source/destination address (and service_type). */
  findPending(query: PendingQuery): Promise<StoredMessage[]>;
  /**
   * Cancels a pending message (state `DELETED`) that no attempt may be delivering: not handed
   * to a next hop (no remote id), and not leased at `at` or leased to `heldBy` (a node that
   * holds it unsent and gives it up). A message leased otherwise may be on its way to its
   * destination, and one an upstream SMSC has is its to deliver: neither is cancelled. Returns the
   * updated message, or undefined when the message does not exist, is final, or is leased.
   * With `receiptsBy`, the receipt it owes is inserted in the same transaction
   * ({@link expireDue}).
   */
  cancel(id: string, at: number, receiptsBy?: string, heldBy?: string | null): Promise<StoredMessage | undefined>;
  /**
   * Changes a pending message that no attempt may be delivering (leased as for {@link cancel});
   * its lease is cleared, so it is claimed afresh with its new content. A new `scheduleAt` also
   * resets the state to `SCHEDULED` (future) or `ENROUTE`. Returns the updated message, or
   * undefined when it does not exist, is final, or is leased.
   */
  replace(id: string, changes: ReplaceChanges, at: number, heldBy?: string | null): Promise<StoredMessage | undefined>;
  /**
   * Moves up to `limit` pending, unleased messages with `expiresAt <= now` to `EXPIRED`
   * (`finalAt = now`) and returns them. With `receiptsBy` (the node id that makes them), the
   * receipts they owe (store/receipts.ts `finalReceipts`) are inserted in the same transaction.
   */
  expireDue(now: number, limit: number, receiptsBy?: string): Promise<StoredMessage[]>;
  /**
   * Earliest time a pending message of `targets` becomes claimable (max of scheduleAt,
   * nextAttemptAt and a live lease's end), or undefined when none is pending. May be in the
   * past: expired-but-not-yet-expired messages count too, so schedulers should run expireDue.
   */
  nextDueAt(targets: readonly string[]): Promise<number | undefined>;
  /** Number of messages per state (every state present, zero when none). */
  countByState(): Promise<Record<MessageStateName, number>>;
  /** Pending messages per target (targets with none are absent). */
  queueDepth(): Promise<Record<string, number>>;
  /**
   * Pending MT messages per submitting account (accounts with none are absent): what an
   * account's queue limit counts. MO and receipts waiting for an account are not its submits.
   */
  queueDepthByAccount(): Promise<Record<string, number>>;
  /** Pending MT messages `account` submitted (for queue limits; callers should cache it). */
  pendingCount(account: string): Promise<number>;
  /**
   * Ends every queued MT message of `target` to `destinationAddr` with a final failure (the
   * destination refused permanently, e.g. ESME_RX_P_APPN) and returns them, for receipts:
   * those not leased at `at`, and those of `heldIds` (held unsent by the caller). A message
   * leased otherwise may be on its way and keeps its own outcome; MO and receipts queued to
   * that address are not ended (a short code many write to). With `receiptsBy`, the receipts
   * they owe are inserted in the same transaction ({@link expireDue}).
   */
  failPendingTo(
    target: string,
    destinationAddr: string,
    state: FailedState,
    errorCode: number,
    at: number,
    receiptsBy?: string,
    heldIds?: readonly string[],
  ): Promise<StoredMessage[]>;
  /**
   * Gives a pending message its final state from outside a delivery attempt (an upstream
   * SMSC's receipt for a forwarded message, by default: see {@link FinalizeCause}). Returns the
   * updated message, or undefined when it is unknown or already final. With `receiptsBy`, the
   * receipt it owes is inserted in the same transaction ({@link expireDue}).
   */
  finalize(
    id: string,
    state: Exclude<MessageStateName, PendingState>,
    at: number,
    errorCode: number,
    receiptsBy?: string,
    cause?: FinalizeCause,
  ): Promise<StoredMessage | undefined>;
  /**
   * Moves a pending message to another target (failover, or a parked message released):
   * `target` and `failover` are replaced, the lease is cleared and the message is due again
   * at once (its schedule and retry time still apply). With `owner`, only while leased to it.
   * Returns whether it applied; the new target is notified.
   */
  reroute(id: string, target: string, failover: readonly string[], at: number, owner: string | null): Promise<boolean>;
  /**
   * Moves every pending, unleased message of `target` that has failover connectors to the
   * first of them (the rest stay its failover list). Returns how many moved, by new target.
   */
  failoverAll(target: string, at: number): Promise<Record<string, number>>;
  /**
   * Ends a leased attempt by handing the message to the next hop (an upstream SMSC) under
   * `remoteId`: attempts + 1, lease cleared, pending but not due again before `until` (its
   * validity end), so only `finalize()` or expiry ends it. Returns whether it applied.
   */
  markForwarded(id: string, remoteId: string, until: number, owner: string, at: number): Promise<boolean>;
  /** The pending message forwarded through `target` under `remoteId`, or undefined. */
  findForwarded(target: string, remoteId: string): Promise<StoredMessage | undefined>;
  /** Ids of pending messages whose lease is recorded for `owner` (a restarted node releases its own). */
  leasedTo(owner: string): Promise<string[]>;
  /**
   * The owners of the leases recorded on pending messages, live or lapsed, each once. A node
   * that becomes the only active one (cluster.mode active-standby) gives back the others'.
   */
  leaseHolders(): Promise<string[]>;
  /** Deletes final messages with `finalAt < before`, and their events. Returns the number of messages. */
  purgeFinished(before: number): Promise<number>;
  /** Admin search, newest first (by submittedAt, then id). */
  find(query: FindQuery): Promise<StoredMessage[]>;
  /**
   * Calls `listener(target)` when messages of `target` were inserted, retried or released.
   * PostgreSQL: via LISTEN/NOTIFY, so it also hears other processes (and the target `*`
   * after the listening connection was re-established). SQLite: stores of this process on
   * the same file only. Resolves once listening; the result unsubscribes.
   */
  onNotify(listener: (target: string) => void): Promise<() => void>;
  /**
   * Calls `listener(version, known)` once when another process migrated the shared database
   * to schema `version`, past the `known` migrations of this code; from then on every write
   * and claim rejects, naming both versions, and the process should stop (its code must be
   * upgraded). Resolves once listening; the result unsubscribes. PostgreSQL only: a SQLite
   * file has one process, which refuses a newer schema when it opens.
   */
  onSchemaNewer?(listener: (version: number, known: number) => void): Promise<() => void>;
  /** Counters for metrics. */
  stats(): StoreStats;
}
