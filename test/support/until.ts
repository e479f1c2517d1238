/** Waiting for I/O-driven conditions in end-to-end tests, optionally moving a ManualClock along. */
import type { ManualClock } from '../../src/session/clock.js';

export interface UntilOptions {
  /** Real time allowed, ms. Default 5000. */
  ms?: number;
  /** Moved forward `stepMs` per poll, so retries and due timers armed asynchronously come round. */
  clock?: ManualClock;
  /** Default 250 ms. */
  stepMs?: number;
}

/** Polls `cond` every 5 ms of real time; fails naming `what` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, options: UntilOptions = {}): Promise<void> {
  const end = Date.now() + (options.ms ?? 5000);
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
    options.clock?.advance(options.stepMs ?? 250);
  }
}
