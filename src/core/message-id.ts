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

/** skipPast() calls this far apart are two incidents: the second starts from the first step. */
const SKIP_INCIDENT_MS = 60_000;

export class MessageIdGenerator {
  readonly #node: number;
  readonly #now: () => number;
  #lastMs = 0;
  #seq = 0;
  #lastSec = 0;
  #seq33 = 0;
  /** skipPast(): ids from before these points are already skipped; the next skip of each kind goes this much further. */
  #floorMs = 0;
  #stepMs = 0;
  #floorSec = 0;
  #stepSec = 0;
  #lastSkipAt = Number.NEGATIVE_INFINITY;

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

  /**
   * `id` (one of ours) is already stored: a process before this one ran ahead of the clock
   * (3.3 ids borrow the next seconds beyond 1,024 a second, so a burst of 20,000 runs 18 s
   * ahead; a clock set back does the same to both kinds), and the ids it handed out are being
   * handed out again. Moves the generator past it, twice as far each time an id issued after
   * the last skip is found stored too, so a stored run of any length is left in a few steps,
   * however many calls find it at once (an id from before the last skip moves nothing).
   */
  skipPast(id: string): void {
    // A skip long after the last one is another incident: it starts again from the first step.
    const now = this.#now();
    if (now - this.#lastSkipAt > SKIP_INCIDENT_MS) {
      this.#stepMs = 0;
      this.#stepSec = 0;
    }
    this.#lastSkipAt = now;
    if (/^[0-9]{9,}$/.test(id)) {
      const ms = Math.floor(Number(id) / 4096);
      if (ms < this.#floorMs) return;
      this.#stepMs = Math.min(Math.max(this.#stepMs * 2, 1000), 86_400_000);
      this.#lastMs = Math.max(this.#lastMs, ms) + this.#stepMs;
      this.#seq = 0;
      this.#floorMs = this.#lastMs;
    } else if (/^[0-9A-Z]{1,8}$/.test(id)) {
      const sec = Math.floor(Number.parseInt(id, 36) / 8192);
      if (sec < this.#floorSec) return;
      this.#stepSec = Math.min(Math.max(this.#stepSec * 2, 1), 86_400);
      this.#lastSec = Math.max(this.#lastSec, sec) + this.#stepSec;
      this.#seq33 = 0;
      this.#floorSec = this.#lastSec;
    }
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
