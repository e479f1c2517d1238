/**
 * The worker side of ThreadedSqliteStore: one SqliteStore; each message is a batch of calls,
 * started together so its writes share one transaction and one fsync, answered together.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type PackedMessages, unpackMessages } from './rows.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { INSERT_PACKED, reviveBuffers, type WorkerError } from './threaded-store.js';

const store = new SqliteStore(workerData as SqliteStoreOptions);
const port = parentPort!;

type Method = (...args: unknown[]) => Promise<unknown>;

async function run(method: string, args: unknown[]): Promise<unknown> {
  if (method === 'subscribe') {
    await store.onNotify((target) => port.postMessage({ kind: 'notify', target }));
    return undefined;
  }
  if (method === 'subscribeConfig') {
    await store.onConfigChange((topic) => port.postMessage({ kind: 'config', topic }));
    return undefined;
  }
  // Typed arrays inside: not for reviveBuffers (which would walk every element).
  if (method === INSERT_PACKED) return store.insertRows(unpackMessages(args[0] as PackedMessages));
  const fn = (store as unknown as Record<string, Method>)[method];
  if (typeof fn !== 'function') throw new Error(`unknown store method ${method}`);
  return fn.apply(store, reviveBuffers(args) as unknown[]);
}

port.on('message', async ({ seq, methods, args }: { seq: number; methods: string[]; args: unknown[][] }) => {
  const settled = await Promise.allSettled(methods.map((method, i) => run(method, args[i]!)));
  // Values only, plus the errors when there are any: most batches are inserts answering
  // undefined, and copying one small object per call to the main thread is not free.
  // Filled by push, not preallocated: a holey array is cloned the slow (sparse) way.
  const values: unknown[] = [];
  let errors: Record<number, WorkerError> | null = null;
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') values.push(s.value);
    else {
      values.push(undefined);
      errors ??= {};
      const e = s.reason as (Error & { code?: unknown }) | undefined;
      errors[i] = { name: e?.name ?? 'Error', message: e?.message ?? String(s.reason) };
      if (typeof e?.code === 'string') errors[i]!.code = e.code;
    }
  });
  port.postMessage({ kind: 'results', seq, stats: store.stats(), values, errors });
});
