/**
 * The worker side of ThreadedSqliteStore: one SqliteStore; each message is a batch of calls,
 * started together so its writes share one transaction and one fsync, answered together.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { reviveBuffers } from './threaded-store.js';

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
  const fn = (store as unknown as Record<string, Method>)[method];
  if (typeof fn !== 'function') throw new Error(`unknown store method ${method}`);
  return fn.apply(store, reviveBuffers(args) as unknown[]);
}

port.on('message', async (calls: { method: string; args: unknown[] }[]) => {
  const settled = await Promise.allSettled(calls.map((c) => run(c.method, c.args)));
  port.postMessage({
    kind: 'results',
    stats: store.stats(),
    results: settled.map((s) =>
      s.status === 'fulfilled'
        ? { ok: true, value: s.value }
        : { ok: false, error: { name: (s.reason as Error)?.name ?? 'Error', message: (s.reason as Error)?.message ?? String(s.reason) } },
    ),
  });
});
