/**
 * Small promise helpers for socket-level tests: a deferred, an async queue of events, a guard
 * timeout (real time, only to turn a hang into a failure, never to assert timing) and a bounded
 * wait for a condition that depends on I/O.
 */

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Rejects with `label` when `p` does not settle within `ms` real milliseconds. */
export function withTimeout<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** Resolves on the next turn of the event loop (after pending I/O callbacks). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits (bounded) until `cond()` is true, letting I/O run between checks. */
export async function waitFor(cond: () => boolean, label: string, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A FIFO of values pushed by callbacks and awaited by the test. */
export class AsyncQueue<T> {
  readonly #items: T[] = [];
  readonly #waiters: Array<(v: T) => void> = [];
  /** Every value ever pushed, in order. */
  readonly all: T[] = [];

  push(v: T): void {
    this.all.push(v);
    const w = this.#waiters.shift();
    if (w !== undefined) w(v);
    else this.#items.push(v);
  }

  get length(): number {
    return this.#items.length;
  }

  /** The next value; rejects after `ms` real milliseconds. */
  next(ms = 3000, label = 'queue value'): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift() as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = (v: T) => {
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`timed out after ${ms} ms: ${label}`));
      }, ms);
      this.#waiters.push(waiter);
    });
  }
}
