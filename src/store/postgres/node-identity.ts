/**
 * One live node per `nodeId`, and per node number, on a PostgreSQL database: two nodes started
 * with one config's `nodeId` would release each other's leases and apply each other's
 * outcomes, and two with one node number (4 bits of every message id) would make the same
 * message ids in the same millisecond. A node holds two session advisory locks, on a
 * connection of its own, for as long as it runs; a second node asking for either is refused.
 * (Active/standby takes them once active: a standby may share its active node's id.)
 *
 * The same connection holds a shared lock on the node's cluster mode, so that nodes of both
 * modes never serve one database at once: the active node of active-standby takes every
 * node's parked MO parts as its own, and would take those of an active-active node.
 */
import type pg from 'pg';
import { type ActiveLeaseOptions, keepingProcessAlive, lockClient, lockScope, openLockConnection, sleep, watchLockConnection } from './active-lease.js';
import { hash32 } from './postgres-store.js';

/** Lock classes (first key): the node id's, and the node number's. */
export const NODE_ID_CLASS = 0x534d534e; // 'SMSN'
const NODE_NUMBER_CLASS = 0x534d5355; // 'SMSU'
const MODE_CLASS = 0x534d534d; // 'SMSM'

/** The cluster modes (config `cluster.mode`). */
export type ClusterMode = 'active-active' | 'active-standby';

export interface NodeIdentity {
  /**
   * Resolves when the locks are lost for good: their connection ended (a database restart
   * frees every session lock), they were taken again, and another node had them first. The
   * node must stop: it shares its identity with a live node, which may be releasing its leases.
   */
  readonly lost: Promise<Error>;
  /** Gives the locks up (ends their connection). */
  release(): Promise<void>;
}

/** Between tries to take the locks again after their connection ended. */
const RECLAIM_RETRY_MS = 1000;

/** How a node that just became active (active-standby) waits for the one it replaces. */
export interface IdentityWait {
  retryMs: number;
  clock: ActiveLeaseOptions['clock'];
  signal?: AbortSignal;
  /** Told once that it waits, with why. */
  onWait?(why: string): void;
}

/**
 * Takes the locks of `nodeId`, `nodeNumber` and `mode`; rejects, naming the clash, when another
 * live node holds one of the first two or runs in the other mode.
 *
 * With `wait` (a node of active-standby that has just taken the active lock), a clash is waited
 * out instead: the node it replaces may still be stopping (its last deliveries finishing, its
 * ESMEs unbinding), holding the same nodeId, or another one and the mode's lock. Only once it
 * has stopped does this node start, so that it never releases and sends again messages the
 * old one still has on the wire.
 */
export async function claimNodeIdentity(
  o: { url: string; schema?: string; nodeId: string; nodeNumber: number; mode: ClusterMode },
  wait?: IdentityWait,
): Promise<NodeIdentity> {
  if (wait === undefined) return held(o, await tryClaim(o, false));
  return keepingProcessAlive(async () => {
    let told = false;
    for (;;) {
      if (wait.signal?.aborted === true) throw new Error('stopped while waiting for the previous active node to stop');
      try {
        return held(o, await tryClaim(o, true));
      } catch (err) {
        if (!(err instanceof IdentityTaken)) throw err;
        if (!told) wait.onWait?.(err.message);
        told = true;
      }
      await sleep(wait.clock, wait.retryMs, wait.signal);
    }
  });
}

/** A lock another live node holds (the clash named). */
class IdentityTaken extends Error {}

/** Another live node runs the other cluster mode. */
class ModeTaken extends Error {}

type IdentityOptions = { url: string; schema?: string; nodeId: string; nodeNumber: number; mode: ClusterMode };

/**
 * The locks held on `client`, watched: when their connection ends (a restart of the database
 * frees them all; a silent cut is found by a heartbeat) they are taken again, tried every
 * RECLAIM_RETRY_MS while the database cannot be reached. Before, they were simply gone, and a
 * node started later with the same nodeId (or the other mode) was let in beside this one,
 * released its leases and sent its messages again.
 */
function held(o: IdentityOptions, first: Claimed): NodeIdentity {
  let released = false;
  let { client, pid } = first;
  let resolveLost!: (e: Error) => void;
  const lost = new Promise<Error>((resolve) => {
    resolveLost = resolve;
  });
  const reclaim = async (why: string): Promise<void> => {
    await client.end().catch(() => {});
    while (!released) {
      try {
        // After a silent cut the server may not have noticed yet that our old connection is
        // gone (up to about 11 s): its backend, pid, still holds our locks, and is ended first.
        const next = await tryClaim(o, false, pid);
        if (released) {
          await next.client.end().catch(() => {});
          return;
        }
        ({ client, pid } = next);
        watchLockConnection(client, 'the node identity locks', () => released, (w) => void reclaim(w));
        return;
      } catch (err) {
        if (err instanceof IdentityTaken || err instanceof ModeTaken) {
          released = true;
          resolveLost(new Error(`${why}, and once it was back ${err.message}`));
          return;
        }
        // The database cannot be reached yet: tried again.
      }
      await new Promise((r) => setTimeout(r, RECLAIM_RETRY_MS).unref());
    }
  };
  watchLockConnection(client, 'the node identity locks', () => released, (why) => void reclaim(why));
  return {
    lost,
    async release() {
      released = true;
      await client.end().catch(() => {});
    },
  };
}

/** The locks' connection, and its backend's pid. */
interface Claimed {
  client: pg.Client;
  pid: number;
}

/** How long a node waits for its own stale backend (see held()) to end. */
const STALE_BACKEND_WAIT_MS = 5000;

/** Takes the locks (exported for tests: `stalePid` is what held() passes after a cut). */
export async function tryClaim(o: IdentityOptions, alone: boolean, stalePid?: number): Promise<Claimed> {
  const client = lockClient(o.url);
  try {
    await openLockConnection(client);
    const scope = await lockScope(client, o.schema);
    if (stalePid !== undefined) await endStaleBackend(client, stalePid, hash32(`${scope}\u0000${o.nodeId}`));
    const { rows } = await client.query<{ id: boolean; num: boolean }>(
      'SELECT pg_try_advisory_lock($1, $2) AS id, pg_try_advisory_lock($3, $4) AS num',
      [NODE_ID_CLASS, hash32(`${scope}\u0000${o.nodeId}`), NODE_NUMBER_CLASS, hash32(`${scope}\u0000${o.nodeNumber}`)],
    );
    if (rows[0]?.id !== true) throw new IdentityTaken(`another live node uses nodeId '${o.nodeId}' on this database: each node needs its own`);
    if (rows[0]?.num !== true) {
      throw new IdentityTaken(
        `another live node has node number ${o.nodeNumber} (nodeId '${o.nodeId}'; the number is the id's trailing digits mod 16, or its hash): message ids would collide; choose nodeIds ending in different numbers`,
      );
    }
    await claimMode(client, scope, o.mode, alone);
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return { client, pid };
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

/**
 * Ends the backend `pid` if it still holds this node's nodeId lock (`key`): this node's own
 * connection of before, which the server has not yet found dead. Only a backend holding that
 * very lock is ended (a pid reused by another connection is left alone). Waits for it to go.
 */
async function endStaleBackend(client: pg.Client, pid: number, key: number): Promise<void> {
  const holds = async (): Promise<boolean> =>
    (
      await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
           AND pid = $1 AND classid = $2::bigint::oid AND objid = $3::bigint::oid`,
        [pid, NODE_ID_CLASS, key >>> 0],
      )
    ).rows[0]!.n > 0;
  if (!(await holds())) return;
  // A role may end its own backends; refused (another role), the clash is reported as it stands.
  if (!(await client.query('SELECT pg_terminate_backend($1)', [pid]).then(() => true, () => false))) return;
  const until = Date.now() + STALE_BACKEND_WAIT_MS;
  while ((await holds()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
}

/**
 * A shared lock on `mode`, then a look for the other mode's among the locks held (pg_locks,
 * not a lock taken to test it: a test lock of one node would make another of the same mode
 * see it taken). Two nodes of different modes starting at once may both be refused, never
 * both let in: each takes its own before it looks.
 */
async function claimMode(client: pg.Client, scope: string, mode: ClusterMode, alone: boolean): Promise<void> {
  const other: ClusterMode = mode === 'active-active' ? 'active-standby' : 'active-active';
  const key = (m: ClusterMode) => hash32(`${scope}\u0000${m}`);
  await client.query('SELECT pg_advisory_lock_shared($1, $2)', [MODE_CLASS, key(mode)]);
  // A two-key advisory lock shows as classid, objid (unsigned) and objsubid 2. `mine`: held by
  // another connection in this node's own mode (for a node that must be the only one).
  const { rows } = await client.query<{ held: boolean; mine: boolean }>(
    `WITH l AS (SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = $1::bigint::oid)
     SELECT EXISTS (SELECT 1 FROM l WHERE objid = $2::bigint::oid) AS held,
       EXISTS (SELECT 1 FROM l WHERE objid = $3::bigint::oid AND pid <> pg_backend_pid()) AS mine`,
    [MODE_CLASS, key(other) >>> 0, key(mode) >>> 0],
  );
  if (rows[0]?.held === true) {
    throw new ModeTaken(`another live node on this database runs cluster.mode '${other}' (this one: '${mode}'): the nodes of a cluster need the same mode`);
  }
  if (alone && rows[0]?.mine === true) throw new IdentityTaken('the node that was active has not stopped yet');
}
