/**
 * A delivery target: where the scheduler hands a due message. The ESME target is built here;
 * upstream SMSCs, HTTP endpoints and the simulated network implement the same interface.
 */
import type { AttemptKind } from '../core/core.js';
import type { FailedState, StoredMessage } from '../store/types.js';

/** What one delivery attempt came to. */
export type Outcome =
  | { kind: 'delivered' }
  /** Temporary failure: try again later (until validity ends). */
  | { kind: 'retry'; errorCode: number }
  /** Permanent failure: final state, no more attempts. */
  | { kind: 'failed'; state: FailedState; errorCode: number; allToDestination?: boolean }
  /**
   * Handed to the next hop (an upstream SMSC), whose own receipt will tell the final state:
   * the message stays pending (not claimed again) until `finalize()` or its validity ends.
   * `remoteId` (the next hop's id, normalised) is stored, so its receipt matches after a restart.
   */
  | { kind: 'forwarded'; remoteId?: string }
  /** The target could not even try (no bind, window full): no attempt is counted. */
  | { kind: 'unavailable' };

// The core names these kinds too (a transaction-mode submit's wait reports them): a kind added
// or renamed on one side only fails to compile here.
const sameKinds: [Outcome['kind']] extends [AttemptKind] ? ([AttemptKind] extends [Outcome['kind']] ? true : never) : never = true;
void sameKinds;

export interface DeliveryTarget {
  /** Messages it could take right now (0 when nothing is bound or every window is full). */
  capacity(): number;
  /**
   * Most attempts that may be under way at once, counting those whose outcome is not yet
   * recorded (bounds the duplicates a crash can cause). Default: no limit beyond capacity().
   */
  maxInFlight?(): number;
  /**
   * False while the target cannot deliver at all (an upstream SMSC not bound): routing then
   * prefers a failover connector, and queued messages that have one move to it. Default true.
   */
  up?(): boolean;
  /** One delivery attempt. Never rejects: failures are outcomes. */
  deliver(message: StoredMessage): Promise<Outcome>;
}
