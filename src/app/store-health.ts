/**
 * Whether the store serves: the read /health makes, and the watch of an active node of
 * active-standby (src/app/smsc.ts), which gives the lock up when its store stops answering.
 */
import { errorText } from '../errors.js';

/** How long a health read waits for the store. */
export const STORE_READ_TIMEOUT_MS = 2000;

/**
 * Why the store cannot serve a read within `ms` (its error, or the wait), or undefined when it
 * can. The read is of a message that never exists: a working store answers it at once.
 */
export async function storeProblem(store: { get(id: string): Promise<unknown> }, ms: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the store did not answer within ${ms} ms`), ms);
  });
  try {
    return await Promise.race([
      store.get('health-check').then(
        () => undefined,
        (err: unknown) => `the store failed: ${errorText(err)}`,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
