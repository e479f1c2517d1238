/**
 * Active/standby on one PostgreSQL database: the active node is the one holding a session
 * advisory lock, on a connection of its own kept for as long as it runs. A standby tries to
 * take the lock every `retryMs`; PostgreSQL releases it when the active node's connection
 * ends (the node stopped, crashed, or lost the database), and a standby takes over. Losing the
 * connection is losing the lock: the node must stop serving at once (`lost`), as another may
 * be active a moment later.
 */
import type pg from 'pg';
import { hash32, ownConnection } from './postgres-store.js';

/** The lock's class (first key); the second is the schema's hash, so schemas are apart. */
const ACTIVE_LOCK_CLASS = 0x534d5341; // 'SMSA'
/** A heartbeat query every HEARTBEAT_INTERVAL_MS not answered within HEARTBEAT_TIMEOUT_MS loses the lock (see holding()). */
const HEARTBEAT_INTERVAL_MS = 1000;
const HEARTBEAT_TIMEOUT_MS = 3000;

export interface ActiveLeaseOptions {
  url: string;
  schema?: string;
  /** Between tries while another node is active. */
  retryMs: number;
  /** Timers (the SMSC's clock). */
  clock: { setTimer(fn: () => void, ms: number): unknown };
  /** Told when a try finds another node active, or fails with a reason other than the last one's (`error`). */
  onStandby?: (error?: Error) => void;
}

export interface ActiveLease {
  /** Resolves with the reason when the lock is lost (its connection ended, or lose() gave it up). */
  readonly lost: Promise<Error>;
  /** Gives the lock up now, for `error` (which `lost` resolves with). */
  lose(error: Error): void;
  /** Gives the lock up (ends its connection). */
  release(): Promise<void>;
}

/**
 * A connection to hold session advisory locks on (connect it with {@link openLockConnection}):
 * the store's own kind, probed sooner when idle.
 */
export function lockClient(url: string): pg.Client {
  return ownConnection(url, 5000);
}

/** Connects a {@link lockClient}, set up so the server frees its locks soon after the node is gone. */
export async function openLockConnection(client: pg.Client): Promise<void> {
  await client.connect();
  // The server notices a silent client (a network cut) within about 11 s and frees the
  // locks; the default keepalive of the operating system would take two hours.
  await client.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3');
  // Nor may unacknowledged data (a heartbeat's answer caught by a cut) hold them for the
  // minutes of TCP retransmissions (PostgreSQL 12+).
  await client.query('SET tcp_user_timeout = 11000').catch(() => {});
  // A database-wide idle_session_timeout must not end the idle connection (PostgreSQL 14+).
  await client.query('SET idle_session_timeout = 0').catch(() => {});
}

/**
 * What a lock is scoped by (advisory locks are the database's): the schema the nodes use,
 * store.postgres.schema, else the connection's search_path (two clusters apart only by it
 * must not share a lock). The default schema scopes as '' (as before it was looked up, so
 * nodes of earlier versions still exclude newer ones during an upgrade).
 */
export async function lockScope(client: pg.Client, schema: string | undefined): Promise<string> {
  if (schema !== undefined) return schema;
  const current = (await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s ?? '';
  return current === 'public' ? '' : current;
}

/** Resolves once this node holds the lock, however long that takes; rejects once `signal` aborts. */
export function acquireActiveLease(options: ActiveLeaseOptions, signal?: AbortSignal): Promise<ActiveLease> {
  // Standing by, a node may have nothing else open (no admin API).
  return keepingProcessAlive(() => standBy(options, signal));
}

/**
 * `wait`, with the process held open meanwhile: a node that waits (standing by, or for the
 * active node it replaces to stop) may have nothing else open, and the clock's timers do not
 * hold it.
 */
export async function keepingProcessAlive<T>(wait: () => Promise<T>): Promise<T> {
  const handle = setInterval(() => {}, 1 << 30);
  try {
    return await wait();
  } finally {
    clearInterval(handle);
  }
}

/** Waits `ms` on `clock`; an abort ends the wait at once (the listener goes with the wait). */
export function sleep(clock: ActiveLeaseOptions['clock'], ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      signal?.removeEventListener('abort', done);
      resolve();
    };
    clock.setTimer(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function standBy(options: ActiveLeaseOptions, signal: AbortSignal | undefined): Promise<ActiveLease> {
  let told: string | undefined;
  for (;;) {
    if (signal?.aborted === true) throw new Error('stopped while standing by');
    const client = lockClient(options.url);
    try {
      await openLockConnection(client);
      const res = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [ACTIVE_LOCK_CLASS, hash32(await lockScope(client, options.schema))]);
      if (res.rows[0]?.ok === true) return holding(client);
      if (told !== 'active') options.onStandby?.();
      told = 'active';
    } catch (err) {
      // The database cannot be reached (or refuses us): tried again, and said once a reason.
      const error = err instanceof Error ? err : new Error(String(err));
      if (told !== error.message) options.onStandby?.(error);
      told = error.message;
    }
    await client.end().catch(() => {});
    await sleep(options.clock, options.retryMs, signal);
  }
}

/**
 * The lock held: watched by its connection's end, and by a query every second answered
 * within HEARTBEAT_TIMEOUT_MS. The node learns of a cut in about 3 s, well before the server
 * frees the lock (about 11 s, see above). When only this connection ends the lock is free at
 * once: the next active node waits for this one to stop (claimNodeIdentity with a wait).
 */
function holding(client: pg.Client): ActiveLease {
  let released = false;
  let lose: (e: Error) => void = () => {};
  const lost = new Promise<Error>((resolve) => {
    lose = (e) => {
      if (released) return;
      released = true;
      resolve(e);
      void client.end().catch(() => {});
    };
  });
  watchLockConnection(client, 'the active lock', () => released, (why) => lose(new Error(`${why}: another node may be active now`)));
  return {
    lost,
    lose,
    async release() {
      released = true;
      await client.end().catch(() => {});
    },
  };
}

/**
 * Watches a connection holding session locks: `onLost` (once) when it ends, or when a
 * heartbeat query every HEARTBEAT_INTERVAL_MS is not answered within HEARTBEAT_TIMEOUT_MS (a
 * silent network cut: the server frees the locks by itself soon after). Stops once `done()`.
 */
export function watchLockConnection(client: pg.Client, what: string, done: () => boolean, onLost: (why: string) => void): void {
  let told = false;
  const lost = (why: string): void => {
    if (told || done()) return;
    told = true;
    onLost(why);
  };
  client.once('end', () => lost(`lost the connection holding ${what}`));
  const beat = (): void => {
    if (told || done()) return;
    let answered = false;
    // Real time, not the SMSC's clock: the query is real I/O, and a test's clock moved on
    // faster than it must not count as silence.
    setTimeout(() => {
      if (!answered) lost(`the connection holding ${what} stopped answering`);
    }, HEARTBEAT_TIMEOUT_MS).unref();
    client.query('SELECT 1').then(
      () => {
        answered = true;
        setTimeout(beat, HEARTBEAT_INTERVAL_MS).unref();
      },
      (err: Error) => lost(`lost the connection holding ${what} (${err.message})`),
    );
  };
  beat();
}
