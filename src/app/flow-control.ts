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
  store: Pick<Store, 'queueDepthByAccount'>,
  clock: Clock,
): FlowControl {
  const buckets = new Map<string, { tps: number; bucket: TokenBucket }>();
  const queued = new Map<string, number>();
  let stopped = false;
  let timer: TimerHandle | undefined;
  /** Admitted since the running refresh began: its result does not include them yet. */
  let sinceRead = new Map<string, number>();
  const refresh = async () => {
    const limited = [...limits.all()].filter(([, l]) => l.maxQueued > 0);
    if (limited.length > 0) {
      sinceRead = new Map();
      // One GROUP BY for every account (not a COUNT per account).
      const depth = await store.queueDepthByAccount().catch(() => undefined);
      if (depth !== undefined) {
        for (const [id] of limited) queued.set(id, (depth[id] ?? 0) + (sinceRead.get(id) ?? 0));
      }
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
        // A changed rate starts a fresh bucket (full: one second's burst). A submit_multi to more
        // destinations than that is admitted from a full bucket (see TokenBucket.take).
        if (b === undefined || b.tps !== l.tps) buckets.set(account, (b = { tps: l.tps, bucket: new TokenBucket(l.tps, l.tps, clock) }));
        if (!b.bucket.take(n)) return CommandStatus.ESME_RTHROTTLED;
      } else {
        buckets.delete(account);
      }
      if (l.maxQueued > 0) {
        queued.set(account, (queued.get(account) ?? 0) + n);
        sinceRead.set(account, (sinceRead.get(account) ?? 0) + n);
      }
      return CommandStatus.ESME_ROK;
    },
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
