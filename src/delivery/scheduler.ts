/**
 * The store-and-forward scheduler: claims due messages with a lease for the targets this node
 * can serve, hands them to their target, records the outcome (delivered, retry with back-off,
 * final failure), makes the receipts that are owed, expires what outlived its validity and
 * purges finished messages after the retention.
 */

import type { TransactionWait } from '../core/core.js';
import type { MessageIdGenerator } from '../core/message-id.js';
import { RegisteredDelivery } from '../pdu/constants.js';
import type { Clock, TimerHandle } from '../session/clock.js';
import { leasedMessage } from '../store/common.js';
import { finalReceiptId, finalReceiptOwed, isSingleAttempt, isTransaction, makeReceipt, receiptTarget, transactionOutcome } from '../store/receipts.js';
import { isPendingState, type MessageStateName, type NewMessage, type Store, type StoredMessage } from '../store/types.js';
import { Fifo } from '../util/fifo.js';
import type { DeliveryTarget, Outcome } from './target.js';

/** Most one due-time query per this many ms (see #armDueTimerSoon). */
const DUE_CHECK_MS = 100;
const NO_TIMER: TimerHandle = { cancel() {} };
/** The outcome of a target that threw. */
const RETRY: Outcome = Object.freeze({ kind: 'retry', errorCode: 0 });
/** A held message is leased for this many leaseMs: it may wait until a whole lease is left. */
const HOLD_LEASE_FACTOR = 1.5;

export interface SchedulerOptions {
  store: Store;
  clock: Clock;
  ids: MessageIdGenerator;
  nodeId: string;
  /**
   * This node is the only one that delivers (cluster.mode active-standby, the database's lock
   * held): at start it gives back every lease, not only its own, so what a dead active node
   * held is due at once instead of after its leases lapse.
   */
  soleNode?: boolean;
  /** The targets this node can serve now, by key (e.g. `esme:bob` while bob has a receiver bound here). */
  targets(): ReadonlyMap<string, DeliveryTarget>;
  /** One of {@link targets} (cheaper, asked on every submit). Default: `targets().get(key)`. */
  target?(key: string): DeliveryTarget | undefined;
  /** Lease of a claimed message, ms. */
  leaseMs: number;
  /** First retry delay, ms; doubles per attempt up to maxRetryDelayMs. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** How often expiry runs, ms. Default 1000. */
  expiryIntervalMs?: number;
  /** Finished messages are purged after this long, ms (0 keeps them). */
  retentionMs?: number;
  /** Called for every message recorded as delivered (metrics). */
  onDelivered?(message: StoredMessage, at: number): void;
  /** A target counts as down (for failover of its queue) after `up()` was false this long, ms. Default 10000. */
  failoverGraceMs?: number;
  /** Targets switched off by the operator (left out of `targets()`): down at once for failover. */
  disabled?(): Iterable<string>;
  /** Most messages claimed per target in one go. Default 500. */
  maxClaim?: number;
  /**
   * Most new messages per target held in memory, stored leased to this node, until the target
   * has room (see {@link DeliveryScheduler.storeNew}); beyond it they queue in the store.
   * A target holds up to a fifth of it whatever the others hold, and more only while all
   * targets together hold fewer than `holdTotal`. Default 10,000.
   */
  holdLimit?: number;
  /** Most messages held in memory across all targets (see `holdLimit`). Default 20,000. */
  holdTotal?: number;
}

/** Observable counters. */
export interface SchedulerStats {
  delivered: number;
  retried: number;
  failed: number;
  expired: number;
  receipts: number;
  inflight: number;
  /** Messages moved to a failover connector. */
  rerouted: number;
}

export class DeliveryScheduler {
  readonly #o: SchedulerOptions;
  readonly #owner: string;
  #running = false;
  #again = false;
  #kickScheduled = false;
  #stopped = false;
  /** Targets known to have nothing due until notified or the due timer fires. */
  #idle = new Set<string>();
  /** Bumped on every notify, so a claim that raced with an insert does not mark its target idle. */
  #epoch = new Map<string, number>();
  #globalEpoch = 0;
  #dueTimer: TimerHandle | undefined;
  #dueAt = Number.POSITIVE_INFINITY;
  /** Set while a due-time check ran less than DUE_CHECK_MS ago. */
  #dueCheck: TimerHandle | undefined;
  /** A check was asked for meanwhile: run it when the interval is over. */
  #dueCheckAgain = false;
  #expiryTimer: TimerHandle | undefined;
  #purgeTimer: TimerHandle | undefined;
  #unsubscribe: (() => void) | undefined;
  /** stop() calls waiting for the attempts under way (stats.inflight) to end. */
  #attemptsDone: (() => void)[] = [];
  /** Set while failoverNow runs: the targets #release gave messages back to meanwhile. */
  #releasedInFailover: Set<string> | undefined;
  /** Callers of stop() waiting for the claim pass under way to end. */
  #passDone: (() => void)[] = [];
  /** Per target: dispatched attempts whose outcome is not yet recorded. */
  #unrecorded = new Map<string, number>();
  /** Per target: hand-overs promised by #reserve whose insert has not committed yet. */
  #reserved = new Map<string, number>();
  /** Per target: messages stored leased to this node, waiting for room (oldest first). */
  #held = new Map<string, Fifo<NewMessage>>();
  /** Targets whose held line overflowed into the store: nothing is held until their queue is empty. */
  #spilled = new Set<string>();
  readonly #holdLimit: number;
  readonly #holdShare: number;
  readonly #holdTotal: number;
  readonly stats: SchedulerStats = { delivered: 0, retried: 0, failed: 0, expired: 0, receipts: 0, inflight: 0, rerouted: 0 };
  /** Submits in transaction mode waiting for their message's outcome, by message id (awaitOutcome), told the attempt's outcome. */
  readonly #waiting = new Map<string, Set<(attempt: Outcome['kind'] | undefined) => void>>();
  /** Transaction-mode messages whose attempt is under way here (abandon() must not end them under it). */
  readonly #attemptingTransactions = new Set<string>();
  /**
   * Transaction-mode messages given up by abandon(), until when: one a claim of this node
   * leased just before (its result not yet dispatched) is then not sent.
   */
  readonly #abandoned = new Map<string, number>();
  /** Set by endWaits(): waiting submits stop waiting. */
  #waitsEnded = false;
  /** A claim pass or a due-time query failed on the store: the expiry timer kicks another pass. */
  #storeFailed = false;
  /** Targets seen down at the last check (failover of their queued messages). */
  #down = new Set<string>();
  /** When each target was first seen with `up()` false, in the current outage. */
  #downSince = new Map<string, number>();

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#owner = options.nodeId;
    this.#holdLimit = options.holdLimit ?? 10_000;
    this.#holdShare = Math.floor(this.#holdLimit / 5);
    this.#holdTotal = options.holdTotal ?? 20_000;
  }

  async start(): Promise<void> {
    // Leases this node held before a restart (and, the only node delivering, every other
    // node's): give them back now instead of waiting leaseMs. (Node ids must be unique among
    // live nodes.)
    const holders = this.#o.soleNode === true ? await this.#o.store.leaseHolders() : [this.#owner];
    for (const holder of holders) {
      const ids = await this.#o.store.leasedTo(holder);
      if (ids.length > 0) await this.#o.store.release(ids, holder, this.#o.clock.now());
    }
    this.#unsubscribe = await this.#o.store.onNotify((target) => this.notify(target));
    this.#scheduleExpiry();
    if ((this.#o.retentionMs ?? 0) > 0) this.#schedulePurge();
    this.kick();
  }

  /** Stops claiming; waits for attempts in flight to record their outcome. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.endWaits();
    // Held messages go back to the store now, for whichever node the ESME binds to next.
    const releases = [...this.#held.keys()].map((key) => this.#giveBackAll(key));
    this.#unsubscribe?.();
    this.#dueTimer?.cancel();
    this.#dueCheck?.cancel();
    this.#expiryTimer?.cancel();
    this.#purgeTimer?.cancel();
    await Promise.all(releases);
    // A pass under way ends at its next step; what it claims meanwhile goes back (see #run).
    while (this.#running) await new Promise<void>((resolve) => this.#passDone.push(resolve));
    while (this.stats.inflight > 0) await new Promise<void>((resolve) => this.#attemptsDone.push(resolve));
  }

  /** Messages for `target` were stored or became due (`*`: anything). */
  notify(target: string): void {
    if (target === '*') {
      this.#idle.clear();
      this.#globalEpoch++;
    } else {
      this.#idle.delete(target);
      this.#epoch.set(target, (this.#epoch.get(target) ?? 0) + 1);
    }
    this.kick();
  }

  /**
   * Stores new messages (resolving once they are durable). Those due now whose target is
   * served here are stored leased to this node and held for it (see #reserve), so this node
   * delivers them without a claim; the others wake the claim loop for their target.
   */
  async storeNew(msgs: NewMessage[], now: number): Promise<void> {
    try {
      // Inside the try: a target's callback throwing half-way leaves no reservation behind.
      this.#reserveAll(msgs, now);
      await this.#o.store.insert(msgs);
    } catch (err) {
      this.#unreserveAll(msgs);
      throw err;
    }
    this.#stored(msgs);
  }

  /** The first half of storeNew: a lease from #reserve for each message due now. */
  #reserveAll(msgs: readonly NewMessage[], now: number): void {
    for (const m of msgs) if (m.scheduleAt <= now) m.lease = this.#reserve(m.target, now);
  }

  /**
   * The second half of storeNew, once the messages committed: the held ones are handed over,
   * the others wake the claims of their target (each target once).
   */
  #stored(msgs: readonly NewMessage[]): void {
    this.#handOver(msgs);
    let last: string | undefined;
    for (const m of msgs) {
      if (m.lease !== undefined || m.target === last) continue;
      last = m.target;
      this.notify(m.target);
    }
  }

  /**
   * The lease for a new message to `key` when this node will deliver it itself, without a
   * claim: the target is served here and up, and its line of held messages has room. The
   * message is stored with this lease, then handed over (or unreserved when the insert
   * failed). Saves a claim (the store writer's largest cost per delivery) and its round trip.
   */
  #reserve(key: string, now: number): { owner: string; until: number } | undefined {
    if (this.#stopped || this.#spilled.has(key)) return undefined;
    const target = this.#target(key);
    if (target === undefined || target.up?.() === false) return undefined;
    const reserved = this.#reserved.get(key) ?? 0;
    const holds = reserved + (this.#held.get(key)?.length ?? 0);
    if (holds >= this.#holdLimit || (holds >= this.#holdShare && this.#heldInAll() >= this.#holdTotal)) {
      // Full: this message goes to the store queue, so the held ones (older) must go there
      // too, or it would overtake them.
      this.#spill(key);
      return undefined;
    }
    this.#reserved.set(key, reserved + 1);
    // Half a lease to wait in the held line, then a whole lease left for the attempt, as a
    // claimed message has.
    // Whole milliseconds: the stores keep times as integers (PostgreSQL's bigint refuses 0.5).
    return { owner: this.#owner, until: now + Math.ceil(this.#o.leaseMs * HOLD_LEASE_FACTOR) };
  }

  /** Messages held or reserved for every target: counted only for a target past its share. */
  #heldInAll(): number {
    let n = 0;
    for (const line of this.#held.values()) n += line.length;
    for (const r of this.#reserved.values()) n += r;
    return n;
  }

  /**
   * Messages stored with a lease from #reserve, committed: they join their target's line
   * of held messages, which goes out as the target has room and nothing older waits for it in
   * the store (so a held message never overtakes an older one). Messages without such a lease
   * are ignored. Once stopped, they go back to the store at once.
   */
  #handOver(msgs: readonly NewMessage[]): void {
    // Almost every call has one message (a submit_sm) or one target (a submit_multi to one
    // account): a Set of the touched targets only when there are more.
    let first: string | undefined;
    let more: Set<string> | undefined;
    for (const m of msgs) {
      if (m.lease?.owner !== this.#owner || !this.#unreserve(m.target)) continue;
      let line = this.#held.get(m.target);
      if (line === undefined) this.#held.set(m.target, (line = new Fifo()));
      line.push(m);
      if (first === undefined) first = m.target;
      else if (m.target !== first) (more ??= new Set()).add(m.target);
    }
    if (first !== undefined) this.#afterHandOver(first);
    if (more !== undefined) for (const key of more) this.#afterHandOver(key);
  }

  #afterHandOver(key: string): void {
    if (this.#spilled.has(key) || this.#stopped) this.#giveBackAll(key);
    else this.#pump(key);
  }

  /**
   * Takes message `id` out of its held line unsent, for a cancel or a replace to apply to it
   * (its lease, this node's, goes with the change): a function that puts it back, released to
   * the store to be claimed again, should the change not apply. Undefined when it is not held
   * here: being sent, on its way from the store, or not this node's.
   */
  takeOut(id: string): (() => void) | undefined {
    const key = this.#unhold(id);
    if (key === undefined) return undefined;
    return () => void this.#release(key, [id]);
  }

  /** Takes message `id` out of its held line, if it is held: its target's key. */
  #unhold(id: string): string | undefined {
    for (const [key, line] of this.#held) {
      if (line.remove((m) => m.id === id) === undefined) continue;
      if (line.length === 0) this.#held.delete(key);
      return key;
    }
    return undefined;
  }

  /** The insert of messages leased by #reserve failed: their room is free again. */
  #unreserveAll(msgs: readonly NewMessage[]): void {
    for (const m of msgs) if (m.lease?.owner === this.#owner) this.#unreserve(m.target);
  }

  #unreserve(key: string): boolean {
    const n = this.#reserved.get(key) ?? 0;
    if (n <= 0) return false;
    if (n === 1) this.#reserved.delete(key);
    else this.#reserved.set(key, n - 1);
    return true;
  }

  /**
   * Held messages of `key` go out while the target has room and its store queue is known to be
   * empty (else the claims go first). When the oldest has less than a whole lease left, the
   * whole line goes back to the store instead (so none overtakes it, and none is sent on a
   * lease that could run out during the attempt); so it does when the target is gone. A held
   * message past its validity goes back too, for the expiry run to end.
   */
  #pump(key: string): void {
    const line = this.#held.get(key);
    if (line === undefined || this.#stopped) return;
    const target = this.#target(key);
    const now = this.#o.clock.now();
    // A target that is down cannot take them: in the store they can fail over (leased, not).
    if (target === undefined || target.up?.() === false || line.peek()!.lease!.until - now < this.#o.leaseMs) {
      this.#giveBackAll(key);
      return;
    }
    if (!this.#idle.has(key)) return;
    const cap = target.maxInFlight?.() ?? Number.POSITIVE_INFINITY;
    let free = Math.min(target.capacity(), cap - (this.#unrecorded.get(key) ?? 0));
    const expired: string[] = [];
    while (free > 0 && line.length > 0) {
      const m = line.shift()!;
      if (m.expiresAt <= now) {
        expired.push(m.id);
        continue;
      }
      this.#dispatch(leasedMessage(m), target, key);
      free--;
    }
    if (line.length === 0) this.#held.delete(key);
    if (expired.length > 0) this.#release(key, expired);
  }

  /** Gives every held message of `key` back to the store (due again at once, in their order). */
  #giveBackAll(key: string): Promise<void> {
    const line = this.#held.get(key);
    if (line === undefined) return Promise.resolve();
    this.#held.delete(key);
    return this.#release(
      key,
      line.drain().map((m) => m.id),
    );
  }

  /**
   * Releases held messages of `key` to the store. Until that is known, `key` is not idle, and a
   * claim already under way cannot make it so (the epoch moves now, not when the release
   * commits): messages held later must not overtake the released ones.
   */
  #release(key: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    this.#idle.delete(key);
    this.#epoch.set(key, (this.#epoch.get(key) ?? 0) + 1);
    return this.#o.store
      .release(ids, this.#owner, this.#o.clock.now())
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        // Failover looks at a target once when it goes down: these came back after that look.
        this.#down.delete(key);
        this.#releasedInFailover?.add(key);
        this.notify(key);
      });
  }

  /** The held line of `key` is full: it goes back to the store, and nothing is held until its queue is empty again. */
  #spill(key: string): void {
    this.#spilled.add(key);
    this.#giveBackAll(key);
  }

  /** Takes the MT messages of `key` held here for `addr` out of their line: their ids. */
  #unholdTo(key: string, addr: string): string[] {
    const line = this.#held.get(key);
    if (line === undefined) return [];
    const ids: string[] = [];
    for (const m of line.drain()) {
      if (m.direction === 'mt' && m.destination.addr === addr) ids.push(m.id);
      else line.push(m);
    }
    if (line.length === 0) this.#held.delete(key);
    return ids;
  }

  #target(key: string): DeliveryTarget | undefined {
    return this.#o.target !== undefined ? this.#o.target(key) : this.#o.targets().get(key);
  }

  #epochOf(target: string): number {
    return (this.#epoch.get(target) ?? 0) + this.#globalEpoch;
  }

  /** Something changed (a bind, a freed window slot): look for work soon. */
  kick(): void {
    if (this.#kickScheduled || this.#stopped) return;
    this.#kickScheduled = true;
    setImmediate(() => {
      this.#kickScheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#again = false;
        if (this.#stopped) return;
        const targets = this.#o.targets();
        // Held lines of targets no longer served here go back to the store.
        for (const key of this.#held.keys()) if (!targets.has(key)) this.#pump(key);
        for (const [key, target] of targets) {
          this.#pump(key);
          if (this.#idle.has(key)) continue;
          // Attempts whose outcome is not yet recorded still count: a slow store must not let
          // unrecorded deliveries pile up beyond the windows (they are what a crash repeats).
          const cap = target.maxInFlight?.() ?? Number.POSITIVE_INFINITY;
          const unrecorded = this.#unrecorded.get(key) ?? 0;
          const free = Math.min(target.capacity(), cap - unrecorded, this.#o.maxClaim ?? 500);
          if (free <= 0) continue;
          // While attempts are under way, wait until a quarter of the window is free: one claim
          // of 25 costs the store about what one claim of 1 does (measured: claims of one or two
          // messages, one per deliver_sm_resp, were the writer's largest cost end to end).
          if (unrecorded > 0 && Number.isFinite(cap) && free < Math.min(Math.ceil(cap / 4), this.#o.maxClaim ?? 500)) continue;
          const epoch = this.#epochOf(key);
          // The lease starts now, not when the pass began: earlier targets' claims do not eat into it.
          const msgs = await this.#o.store.claimDue({ targets: [key], now: this.#o.clock.now(), limit: free, leaseMs: this.#o.leaseMs, owner: this.#owner });
          if (this.#stopped) {
            // Stopped while the claim was on its way: nothing more goes out from this node.
            await this.#o.store.release(
              msgs.map((m) => m.id),
              this.#owner,
              this.#o.clock.now(),
            );
            return;
          }
          for (const m of msgs) this.#dispatch(m, target, key);
          if (msgs.length < free && this.#epochOf(key) === epoch) {
            // Fewer than asked for: its store queue is empty now (nothing was stored for it
            // since the claim began), so held messages may go, and new ones be held again.
            this.#idle.add(key);
            this.#spilled.delete(key);
            this.#pump(key);
          }
          if (msgs.length === free) this.#again = true;
        }
      } while (this.#again);
    } catch {
      // A store error: tried again on the next kick, or by the expiry timer within a second
      // (nothing else may come: no submit, no bind, no due timer armed).
      this.#storeFailed = true;
    } finally {
      this.#running = false;
      for (const done of this.#passDone.splice(0)) done();
    }
    this.#armDueTimerSoon();
  }

  /**
   * Runs {@link #armDueTimer} at most every DUE_CHECK_MS, the last request of a burst
   * included: every pass ends with one, and asking the store after each delivery (hundreds of
   * passes a second) cost the database more than the deliveries themselves. A wake-up may come
   * up to DUE_CHECK_MS late.
   */
  #armDueTimerSoon(): void {
    if (this.#dueCheck !== undefined || this.#stopped) {
      if (this.#dueCheck !== undefined) this.#dueCheckAgain = true;
      return;
    }
    const check = () => {
      this.#dueCheckAgain = false;
      void this.#armDueTimer().finally(() => {
        if (this.#stopped) return;
        this.#dueCheck = this.#o.clock.setTimer(() => {
          this.#dueCheck = undefined;
          if (this.#dueCheckAgain) this.#armDueTimerSoon();
        }, DUE_CHECK_MS);
      });
    };
    this.#dueCheck = NO_TIMER;
    check();
  }

  /** Sleeps until the earliest pending message of an idle target becomes due. */
  async #armDueTimer(): Promise<void> {
    if (this.#stopped) return;
    const keys = [...this.#o.targets().keys()];
    if (keys.length === 0) return;
    let at: number | undefined;
    try {
      at = await this.#o.store.nextDueAt(keys);
    } catch {
      // No due timer without its answer: the expiry timer kicks a pass within a second.
      this.#storeFailed = true;
      return;
    }
    if (at === undefined) return;
    const now = this.#o.clock.now();
    // Due now but nothing claimable means expired messages the expiry run will end: wait for it.
    // Never sleep longer than a minute.
    const when = at <= now ? now + (this.#o.expiryIntervalMs ?? 1000) : Math.min(at, now + 60_000);
    if (when >= this.#dueAt && this.#dueTimer !== undefined) return;
    this.#dueTimer?.cancel();
    this.#dueAt = when;
    this.#dueTimer = this.#o.clock.setTimer(() => {
      this.#dueTimer = undefined;
      this.#dueAt = Number.POSITIVE_INFINITY;
      this.#idle.clear();
      this.kick();
    }, when - now);
  }

  #dispatch(m: StoredMessage, target: DeliveryTarget, key: string): void {
    if (this.#abandoned.size !== 0 && this.#abandoned.delete(m.id)) return;
    this.stats.inflight++;
    if (isTransaction(m)) this.#attemptingTransactions.add(m.id);
    this.#unrecorded.set(key, (this.#unrecorded.get(key) ?? 0) + 1);
    void this.#attempt(m, target, key);
  }

  /** One attempt and its recorded outcome (never rejects). */
  async #attempt(m: StoredMessage, target: DeliveryTarget, key: string): Promise<void> {
    let outcome: Outcome | undefined;
    try {
      try {
        outcome = await target.deliver(m);
      } catch {
        outcome = RETRY;
      }
      await this.#record(m, outcome);
    } catch {
      // A store error: the lease runs out and the message is claimed again.
    } finally {
      if (this.#attemptingTransactions.size !== 0) this.#attemptingTransactions.delete(m.id);
      if (this.#waiting.size !== 0) this.#wakeWaiting(m.id, outcome?.kind);
      this.#unrecorded.set(key, (this.#unrecorded.get(key) ?? 1) - 1);
      if (--this.stats.inflight === 0) for (const done of this.#attemptsDone.splice(0)) done();
      this.kick();
    }
  }

  #record(m: StoredMessage, outcome: Outcome): Promise<void> {
    return outcome.kind === 'delivered' ? this.#recordDelivered(m) : this.#recordOther(m, outcome);
  }

  /**
   * The happy path, without an async function of its own: each async layer is one more
   * suspended function per message while its commit is waited for, and those are what the
   * main thread's scavenges copy end to end.
   */
  #recordDelivered(m: StoredMessage): Promise<void> {
    const now = this.#o.clock.now();
    const receipt = this.#owedReceipt(m, 'DELIVERED', now, 0);
    return this.#o.store.markDelivered(m.id, now, this.#owner, receipt).then(
      (applied) => {
        this.#settleReceipt(receipt, applied);
        if (applied) this.#delivered(m, now);
      },
      (err: unknown) => {
        this.#settleReceipt(receipt, false);
        throw err;
      },
    );
  }

  /**
   * Counts a message whose delivered outcome applied and tells the observer. An observer that
   * throws is not the delivery's concern: its error goes no further, so nothing owed after
   * this (a receipt) is ever skipped because of it.
   */
  #delivered(m: StoredMessage, at: number): void {
    this.stats.delivered++;
    try {
      this.#o.onDelivered?.(m, at);
    } catch {
      // An observer's bug (metrics): the outcome is recorded either way.
    }
  }

  /**
   * The receipt an MT message owes for its final `state`, if any, reserved for delivery from
   * memory like any new message: the store inserts it with the outcome, in one transaction,
   * so no crash can leave the message final and its receipt never made.
   */
  #owedReceipt(m: StoredMessage, state: MessageStateName, at: number, errorCode: number): NewMessage | undefined {
    const receipt = this.#receiptOf(m, state, at, errorCode);
    if (receipt !== undefined) this.#reserveAll([receipt], at);
    return receipt;
  }

  /** The receipt an MT message owes for its final `state`, if its submitter asked for one. */
  #receiptOf(m: StoredMessage, state: MessageStateName, at: number, errorCode: number): NewMessage | undefined {
    if (!finalReceiptOwed(m, state)) return undefined;
    return makeReceipt(m, state, at, errorCode, finalReceiptId(m.id), this.#o.nodeId);
  }

  /**
   * Messages the store ended outside an attempt (expired, refused at their destination, given
   * a verdict upstream), with the receipts they owe made in the same transaction (their
   * `receiptsBy`): the receipts counted and their targets woken.
   */
  #receiptsMadeFor(ended: readonly StoredMessage[], state: MessageStateName): void {
    let last: string | undefined;
    for (const m of ended) {
      if (!finalReceiptOwed(m, state)) continue;
      this.stats.receipts++;
      if (m.account === last) continue;
      last = m.account;
      this.notify(receiptTarget(m.account));
    }
  }

  /**
   * A receipt from #owedReceipt once its message's outcome is known: stored with it when the
   * outcome applied (then handed over like any new message), its reservation given back when
   * the outcome did not apply or its write failed.
   */
  #settleReceipt(receipt: NewMessage | undefined, stored: boolean): void {
    if (receipt === undefined) return;
    if (!stored) {
      this.#unreserveAll([receipt]);
      return;
    }
    this.#stored([receipt]);
    this.stats.receipts++;
  }

  async #recordOther(m: StoredMessage, attempt: Exclude<Outcome, { kind: 'delivered' }>): Promise<void> {
    const { store, clock } = this.#o;
    // [ref §6.6] a datagram or a transaction gets one attempt: a temporary failure is its end
    // (no retry, no failover).
    const outcome: Exclude<Outcome, { kind: 'delivered' }> =
      attempt.kind === 'retry' && isSingleAttempt(m) ? { kind: 'failed', state: 'UNDELIVERABLE', errorCode: attempt.errorCode } : attempt;
    const now = clock.now();
    switch (outcome.kind) {
      case 'failed': {
        const receipt = this.#owedReceipt(m, outcome.state, now, outcome.errorCode);
        let applied = false;
        try {
          applied = await store.markFailed(m.id, outcome.state, now, outcome.errorCode, this.#owner, receipt);
          if (applied) this.stats.failed++;
        } finally {
          this.#settleReceipt(receipt, applied);
        }
        // Not for MO: its destination is a short code many subscribers write to, and one of them
        // refused must not end the others' messages.
        if (outcome.allToDestination === true && m.direction === 'mt') {
          // [ref §9.4 case 50] RX_P_APPN: this message and every MT queued to that destination
          // end, the ones held here unsent included; not those on their way (each keeps its own
          // outcome). Their receipts in the same transaction.
          const held = this.#unholdTo(m.target, m.destination.addr);
          let others: StoredMessage[] = [];
          try {
            others = await store.failPendingTo(m.target, m.destination.addr, outcome.state, outcome.errorCode, now, this.#o.nodeId, held);
          } finally {
            // Held ones the store did not end (or all, when it failed) are queued again.
            const ended = new Set(others.map((o) => o.id));
            void this.#release(
              m.target,
              held.filter((id) => !ended.has(id)),
            );
          }
          // None of them is held here any more: the held ones were taken out above, and the
          // store ends no other leased one.
          this.stats.failed += others.length;
          this.#receiptsMadeFor(others, outcome.state);
        }
        return;
      }
      case 'retry': {
        // A failover connector takes over at once, rather than waiting for this one: the first
        // of the list that is up (else the first).
        const up = m.failover.findIndex((k) => !this.#isDown(k));
        const at = up < 0 ? 0 : up;
        const next = m.failover[at];
        const rest = m.failover.slice(at + 1);
        if (next !== undefined && (await store.reroute(m.id, next, rest, now, this.#owner))) {
          this.stats.rerouted++;
          this.notify(next);
          return;
        }
        // Back-off doubles per attempt; past the validity the expiry run ends it.
        const delay = Math.min(this.#o.retryDelayMs * 2 ** Math.min(m.attempts, 20), this.#o.maxRetryDelayMs);
        // [ref §7.5] registered_delivery bit 4: an intermediate notification after the first
        // failed attempt, stored with the retry in one transaction.
        const notice =
          m.direction === 'mt' && m.attempts === 0 && (m.registeredDelivery & RegisteredDelivery.Intermediate) !== 0
            ? makeReceipt(m, 'ENROUTE', now, outcome.errorCode, this.#o.ids.next(), this.#o.nodeId, true)
            : undefined;
        if (notice !== undefined) this.#reserveAll([notice], now);
        let applied = false;
        try {
          applied = await store.retryLater(m.id, now + delay, outcome.errorCode, this.#owner, now, notice);
          if (applied) this.stats.retried++;
        } finally {
          this.#settleReceipt(notice, applied);
        }
        return;
      }
      case 'unavailable':
        // As any message given back: the target is not idle until the release is known, so a
        // held message does not overtake this one.
        await this.#release(m.target, [m.id]);
        return;
      case 'forwarded':
        // The next hop has it: park it (pending, never due again before its validity ends)
        // until finalize() brings the upstream's verdict, or expiry ends it. The next hop's id
        // is kept with it, so its receipt still matches after a restart.
        if (outcome.remoteId !== undefined) await store.markForwarded(m.id, outcome.remoteId, m.expiresAt, this.#owner, now);
        else await store.retryLater(m.id, m.expiresAt, 0, this.#owner, now);
        return;
    }
  }

  /**
   * The final state of a forwarded message, reported by the next hop (an upstream SMSC's
   * receipt): recorded, and the receipt owed to our ESME made. Non-final states are ignored.
   */
  async finalize(id: string, state: MessageStateName, errorCode: number): Promise<boolean> {
    if (isPendingState(state)) return false;
    const now = this.#o.clock.now();
    // The receipt owed is made in the same transaction: a failure leaves the message pending,
    // for the upstream's resent receipt to finalize.
    const m = await this.#o.store.finalize(id, state, now, errorCode, this.#o.nodeId);
    if (m === undefined) return false;
    this.#wakeWaiting(id, undefined);
    if (state === 'DELIVERED') this.#delivered(m, now);
    else this.stats.failed++;
    this.#receiptsMadeFor([m], state);
    return true;
  }

  /**
   * For a submit in transaction mode: the message once its one attempt has settled it (see
   * transactionOutcome), or as it is when `waitMs` has passed or endWaits() was called
   * (`ended`: the node is stopping, and may no longer be the one to decide). The store is read
   * again whenever this node records an attempt of it, and at least every second (another node
   * may deliver it). `message` is undefined when the message is not in the store.
   */
  async awaitOutcome(id: string, waitMs: number): Promise<TransactionWait> {
    const { store, clock } = this.#o;
    const until = clock.now() + waitMs;
    // Registered before the first read, so an outcome recorded during a read is not missed.
    let recorded = false;
    let attempt: Outcome['kind'] | undefined;
    let wake: (() => void) | undefined;
    const onRecorded = (kind: Outcome['kind'] | undefined) => {
      recorded = true;
      attempt = kind ?? attempt;
      wake?.();
    };
    let waiters = this.#waiting.get(id);
    if (waiters === undefined) this.#waiting.set(id, (waiters = new Set()));
    waiters.add(onRecorded);
    try {
      for (;;) {
        recorded = false;
        const message = await store.get(id);
        if (message === undefined || transactionOutcome(message) !== 'waiting') return attempt === undefined ? { message, ended: false } : { message, ended: false, attempt };
        const left = until - clock.now();
        if (this.#waitsEnded) return { message, ended: true };
        if (left <= 0) return { message, ended: false };
        if (recorded) continue;
        await new Promise<void>((resolve) => {
          const timer = clock.setTimer(() => {
            wake = undefined;
            resolve();
          }, Math.min(left, 1000));
          wake = () => {
            wake = undefined;
            timer.cancel();
            resolve();
          };
        });
      }
    } finally {
      waiters.delete(onRecorded);
      if (waiters.size === 0 && this.#waiting.get(id) === waiters) this.#waiting.delete(id);
    }
  }

  /** Ends every awaitOutcome() now and later (the node stops; called by stop() too). */
  endWaits(): void {
    this.#waitsEnded = true;
    for (const waiters of this.#waiting.values()) for (const wake of waiters) wake(undefined);
  }

  #wakeWaiting(id: string, attempt: Outcome['kind'] | undefined): void {
    const waiters = this.#waiting.get(id);
    if (waiters !== undefined) for (const wake of waiters) wake(attempt);
  }

  /**
   * A transaction-mode message whose wait ran out, about to be ended by its submitter's node:
   * true when no attempt of it is under way here (one held here for its target is taken out of
   * its line unsent, so none starts), false while one is (its outcome comes within its lease).
   */
  abandon(id: string): boolean {
    if (this.#attemptingTransactions.has(id)) return false;
    if (this.#unhold(id) !== undefined) return true;
    // Not held: a claim of it may be on its way back from the store; if so it is not sent.
    this.#abandoned.set(id, this.#o.clock.now() + this.#o.leaseMs);
    return true;
  }

  #scheduleExpiry(): void {
    if (this.#stopped) return;
    this.#expiryTimer = this.#o.clock.setTimer(() => {
      // Held lines age and their targets may have gone with nothing in flight to wake us; a
      // pass that failed on the store is tried again.
      if (this.#held.size > 0 || this.#storeFailed) {
        this.#storeFailed = false;
        this.kick();
      }
      if (this.#abandoned.size > 0) {
        const now = this.#o.clock.now();
        for (const [id, until] of this.#abandoned) if (until <= now) this.#abandoned.delete(id);
      }
      // A failed expiry run (the store failing) does not keep failover from running.
      void this.expireNow()
        .catch(() => 0)
        .then(() => this.failoverNow())
        .catch(() => {})
        .finally(() => this.#scheduleExpiry());
    }, this.#o.expiryIntervalMs ?? 1000);
  }

  /**
   * Failover of queued messages: when a target goes down (its `up()` turns false), its queued
   * messages that have failover connectors move to the first of them; so do those of a target
   * still down when another target comes up. A target is down once `up()` has been false for
   * `failoverGraceMs` (a reconnect is not an outage). Runs with the expiry timer. Returns how
   * many moved.
   */
  async failoverNow(): Promise<number> {
    const targets = this.#o.targets();
    const now = this.#o.clock.now();
    const grace = this.#o.failoverGraceMs ?? 10_000;
    const down = new Set<string>();
    // A target that left (disabled, removed) starts its grace again when it is back.
    for (const key of this.#downSince.keys()) if (!targets.has(key)) this.#downSince.delete(key);
    for (const [key, t] of targets) {
      if (t.up?.() !== false) {
        this.#downSince.delete(key);
        continue;
      }
      const since = this.#downSince.get(key) ?? now;
      this.#downSince.set(key, since);
      if (now - since >= grace) down.add(key);
    }
    for (const key of this.#o.disabled?.() ?? []) down.add(key);
    const cameUp = [...this.#down].some((k) => !down.has(k) && targets.has(k));
    const check = [...down].filter((k) => cameUp || !this.#down.has(k));
    // Recorded as handled only once its queue moved: a store error leaves it to the next tick.
    const handled = new Set([...this.#down].filter((k) => down.has(k) && !check.includes(k)));
    // Targets whose messages come back to the store while this pass runs are looked at again next time.
    const released = new Set<string>();
    this.#releasedInFailover = released;
    let moved = 0;
    try {
      // Messages moved onto a connector that is down too move on again in this pass (each
      // connector once: a failover cycle cannot loop).
      const queue = [...check];
      const seen = new Set(queue);
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        const byTarget = await this.#o.store.failoverAll(key, this.#o.clock.now());
        handled.add(key);
        for (const [to, n] of Object.entries(byTarget)) {
          moved += n;
          this.notify(to);
          if (down.has(to) && !seen.has(to)) {
            seen.add(to);
            queue.push(to);
          }
        }
      }
    } finally {
      for (const key of released) handled.delete(key);
      this.#releasedInFailover = undefined;
      this.#down = handled;
      this.stats.rerouted += moved;
    }
    return moved;
  }

  /** A connector known to be down now (not up, or disabled by the operator). */
  #isDown(key: string): boolean {
    if (this.#down.has(key)) return true;
    for (const d of this.#o.disabled?.() ?? []) if (d === key) return true;
    return this.#o.targets().get(key)?.up?.() === false;
  }

  /** Moves every pending message past its validity to EXPIRED, with the receipts owed. */
  async expireNow(): Promise<number> {
    let total = 0;
    for (;;) {
      // Read the time once this run actually executes (a timer callback may run mid-advance).
      await Promise.resolve();
      const now = this.#o.clock.now();
      const expired = await this.#o.store.expireDue(now, 1000, this.#o.nodeId);
      total += expired.length;
      this.stats.expired += expired.length;
      this.#receiptsMadeFor(expired, 'EXPIRED');
      if (expired.length < 1000) return total;
    }
  }

  #schedulePurge(): void {
    if (this.#stopped) return;
    this.#purgeTimer = this.#o.clock.setTimer(() => {
      const before = this.#o.clock.now() - (this.#o.retentionMs ?? 0);
      void this.#o.store
        .purgeFinished(before)
        .catch(() => 0)
        .finally(() => this.#schedulePurge());
    }, 3_600_000);
  }
}
