/**
 * A token bucket on an injectable clock: `ratePerSecond` tokens accrue continuously up to
 * `burst`; a send takes one. Used for TPS caps towards upstream SMSCs.
 */
import type { Clock } from '../session/clock.js';

export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #at: number;

  /** Starts full. @throws RangeError unless rate > 0 and burst ≥ 1. */
  constructor(ratePerSecond: number, burst: number, clock: Clock) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError('ratePerSecond must be > 0');
    if (!(burst >= 1)) throw new RangeError('burst must be at least 1');
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#at = clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
      this.#at = now;
    }
  }

  /** Whole tokens available now. */
  available(): number {
    this.#refill();
    return Math.floor(this.#tokens + 1e-9);
  }

  /**
   * Takes `n` tokens if available; returns whether it did. More than the burst (a submit_multi
   * to more destinations than the rate) is taken from a full bucket, leaving it in debt, so it
   * is never refused forever and the rate still holds on average.
   */
  take(n = 1): boolean {
    this.#refill();
    if (this.#tokens + 1e-9 < Math.min(n, this.#burst)) return false;
    this.#tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are available (0 when they are now). */
  msUntil(n = 1): number {
    this.#refill();
    const missing = n - this.#tokens;
    return missing <= 1e-9 ? 0 : Math.ceil((missing * 1000) / this.#rate);
  }

  /** Empties the bucket (e.g. after the upstream said ESME_RTHROTTLED). */
  drain(): void {
    this.#refill();
    this.#tokens = 0;
  }
}
