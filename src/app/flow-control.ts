/**
 * Per-account flow control: a token bucket of `tps` submits per second (burst of one second)
 * and a queue limit of `maxQueued` pending messages. Limits are read from the live account
 * table at every submit, so an account created or changed at run time is limited at once.
 * The pending count is read from the store once a second and counted up locally in between,
 * so a submit never waits for a COUNT query.
 */
import { TokenBucket } from '../connectors/token-bucket.js';
import { CommandStatus } from '../pdu/constants.js';
import type { Clock, TimerHandle } from '../session/clock.js';
import type { Store } from '../store/types.js';

/** The limits of one account (0 = no limit). */
export interface FlowLimits {
  tps: number;
  maxQueued: number;
}

export interface FlowControl {
  /** ESME_ROK to accept `n` more messages of `account` now, else the refusing status. */
  admit(account: string, n: number): number;
  stop(): void;
}

export function flowControl(
  limits: { of(account: string): FlowLimits | undefined; all(): Iterable<[string, FlowLimits]> },
  store: Pick<Store, 'pendingCount'>,
  clock: Clock,
): FlowControl {
  const buckets = new Map<string, { tps: number; bucket: TokenBucket }>();
  const queued = new Map<string, number>();
  let stopped = false;
  let timer: TimerHandle | undefined;
  const refresh = async () => {
    for (const [id, l] of limits.all()) {
      if (l.maxQueued > 0) queued.set(id, await store.pendingCount(id).catch(() => queued.get(id) ?? 0));
    }
    if (!stopped) timer = clock.setTimer(() => void refresh(), 1000);
  };
  void refresh();
  return {
    admit(account, n) {
      const l = limits.of(account);
      if (l === undefined) return CommandStatus.ESME_ROK;
      if (l.maxQueued > 0 && (queued.get(account) ?? 0) + n > l.maxQueued) return CommandStatus.ESME_RMSGQFUL;
      if (l.tps > 0) {
        let b = buckets.get(account);
        // A changed rate starts a fresh bucket (full: one second's burst).
        if (b === undefined || b.tps !== l.tps) buckets.set(account, (b = { tps: l.tps, bucket: new TokenBucket(l.tps, l.tps, clock) }));
        if (!b.bucket.take(n)) return CommandStatus.ESME_RTHROTTLED;
      } else {
        buckets.delete(account);
      }
      if (l.maxQueued > 0) queued.set(account, (queued.get(account) ?? 0) + n);
      return CommandStatus.ESME_ROK;
    },
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
