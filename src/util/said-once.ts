/**
 * A condition said once until it changes: a failure that repeats at every retry (a connection
 * refused, a bind refused) is logged when it starts and when its reason changes, not at every
 * attempt, and again after it has cleared.
 */
export class SaidOnce {
  #last: string | undefined;

  /** True when `line` differs from the last line seen since the last clear(): say it then. */
  isNew(line: string): boolean {
    const fresh = line !== this.#last;
    this.#last = line;
    return fresh;
  }

  /** The condition cleared: its next occurrence is said again. */
  clear(): void {
    this.#last = undefined;
  }
}
