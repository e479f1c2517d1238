/**
 * One live node per `nodeId`, and per node number, on a PostgreSQL database: two nodes started
 * with one config's `nodeId` would release each other's leases and apply each other's
 * outcomes, and two with one node number (4 bits of every message id) would make the same
 * message ids in the same millisecond. A node holds two session advisory locks, on a
 * connection of its own, for as long as it runs; a second node asking for either is refused.
 * (Active/standby takes them once active: a standby may share its active node's id.)
 */
import { lockClient, lockScope, openLockConnection } from './active-lease.js';
import { hash32 } from './postgres-store.js';

/** Lock classes (first key): the node id's, and the node number's. */
const NODE_ID_CLASS = 0x534d534e; // 'SMSN'
const NODE_NUMBER_CLASS = 0x534d5355; // 'SMSU'

export interface NodeIdentity {
  /** Gives the locks up (ends their connection). */
  release(): Promise<void>;
}

/** Takes the locks of `nodeId` and `nodeNumber`; rejects, naming the clash, when another live node holds one. */
export async function claimNodeIdentity(o: { url: string; schema?: string; nodeId: string; nodeNumber: number }): Promise<NodeIdentity> {
  const client = lockClient(o.url);
  try {
    await openLockConnection(client);
    const scope = await lockScope(client, o.schema);
    const { rows } = await client.query<{ id: boolean; num: boolean }>(
      'SELECT pg_try_advisory_lock($1, $2) AS id, pg_try_advisory_lock($3, $4) AS num',
      [NODE_ID_CLASS, hash32(`${scope}\u0000${o.nodeId}`), NODE_NUMBER_CLASS, hash32(`${scope}\u0000${o.nodeNumber}`)],
    );
    if (rows[0]?.id !== true) throw new Error(`another live node uses nodeId '${o.nodeId}' on this database: each node needs its own`);
    if (rows[0]?.num !== true) {
      throw new Error(
        `another live node has node number ${o.nodeNumber} (nodeId '${o.nodeId}'; the number is the id's trailing digits mod 16, or its hash): message ids would collide; choose nodeIds ending in different numbers`,
      );
    }
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return {
    async release() {
      await client.end().catch(() => {});
    },
  };
}
