/**
 * Message ids: unique across restarts and cluster nodes, short, one representation everywhere
 * (submit_sm_resp, receipt `id:` and receipted_message_id) as the reference §7.4 asks.
 *
 * SMPP 3.4+ sessions get decimal ids of at most 16 digits, zero-padded to at least 10: a
 * Snowflake-style number `(ms since 2026-01-01) · 2^12 + node · 2^8 + sequence` (4 node bits,
 * 256 ids per millisecond per node; a burst beyond that borrows the next millisecond). They fit
 * a signed 64-bit integer, so clients that convert ids to numbers keep working.
 * SMPP 3.3 sessions must get at most 8 characters ([ref §5.11]): base-36 (upper case) of
 * `(s since 2026-01-01) · 2^13 + node · 2^10 + sequence`, 1024 per second per node.
 */

const EPOCH_MS = Date.UTC(2026, 0, 1);

export class MessageIdGenerator {
  readonly #node: number;
  readonly #now: () => number;
  #lastMs = 0;
  #seq = 0;
  #lastSec = 0;
  #seq33 = 0;

  /** `node` 0..15 distinguishes cluster nodes. */
  constructor(node = 0, now: () => number = Date.now) {
    if (!Number.isInteger(node) || node < 0 || node > 15) throw new RangeError('node must be 0..15');
    this.#node = node;
    this.#now = now;
  }

  /** A decimal id for SMPP 3.4/5.0 sessions. */
  next(): string {
    let ms = Math.max(this.#now() - EPOCH_MS, this.#lastMs);
    if (ms === this.#lastMs) {
      if (++this.#seq > 0xff) {
        ms++;
        this.#seq = 0;
      }
    } else {
      this.#seq = 0;
    }
    this.#lastMs = ms;
    const n = ms * 4096 + this.#node * 256 + this.#seq;
    return n.toString().padStart(10, '0');
  }

  /** An id of at most 8 characters for SMPP 3.3 sessions. */
  next33(): string {
    let sec = Math.max(Math.floor((this.#now() - EPOCH_MS) / 1000), this.#lastSec);
    if (sec === this.#lastSec) {
      if (++this.#seq33 > 0x3ff) {
        sec++;
        this.#seq33 = 0;
      }
    } else {
      this.#seq33 = 0;
    }
    this.#lastSec = sec;
    const n = sec * 8192 + this.#node * 1024 + this.#seq33;
    return n.toString(36).toUpperCase().padStart(8, '0');
  }
}
