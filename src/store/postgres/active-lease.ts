/**
 * Active/standby on one PostgreSQL database: the active node is the one holding a session
 * advisory lock, on a connection of its own kept for as long as it runs. A standby tries to
 * take the lock every `retryMs`; PostgreSQL releases it when the active node's connection
 * ends (the node stopped, crashed, or lost the database), and a standby takes over. Losing the
 * connection is losing the lock: the node must stop serving at once (`lost`), as another may
 * be active a moment later.
 */
import pg from 'pg';
import { hash32 } from './postgres-store.js';

/** The lock's class (first key); the second is the schema's hash, so schemas are apart. */
const ACTIVE_LOCK_CLASS = 0x534d5341; // 'SMSA'

export interface ActiveLeaseOptions {
  url: string;
  schema?: string;
  /** Between tries while another node is active. */
  retryMs: number;
  /** Timers (the SMSC's clock). */
  clock: { setTimer(fn: () => void, ms: number): unknown };
  /** Told once, when the first try finds another node active. */
  onStandby?: () => void;
}

export interface ActiveLease {
  /** Resolves with the reason when the lock is lost (its connection ended). */
  readonly lost: Promise<Error>;
  /** Gives the lock up (ends its connection). */
  release(): Promise<void>;
}

/** Resolves once this node holds the lock, however long that takes; rejects once `signal` aborts. */
export async function acquireActiveLease(options: ActiveLeaseOptions, signal?: AbortSignal): Promise<ActiveLease> {
  const key = hash32(options.schema ?? '');
  let told = false;
  for (;;) {
    if (signal?.aborted === true) throw new Error('stopped while standing by');
    const client = new pg.Client({ connectionString: options.url });
    // Errors of an idle connection surface through 'end' below; never unhandled.
    client.on('error', () => {});
    try {
      await client.connect();
      const res = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [ACTIVE_LOCK_CLASS, key]);
      if (res.rows[0]?.ok === true) return holding(client);
    } catch {
      // The database is unreachable: try again, as when another node is active.
    }
    await client.end().catch(() => {});
    if (!told) {
      told = true;
      options.onStandby?.();
    }
    await new Promise<void>((resolve) => options.clock.setTimer(resolve, options.retryMs));
  }
}

function holding(client: pg.Client): ActiveLease {
  let released = false;
  const lost = new Promise<Error>((resolve) => {
    client.once('end', () => {
      if (!released) resolve(new Error('lost the connection holding the active lock: another node may be active now'));
    });
  });
  return {
    lost,
    async release() {
      released = true;
      await client.end().catch(() => {});
    },
  };
}

