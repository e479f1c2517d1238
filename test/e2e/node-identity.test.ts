/**
 * One live node per nodeId and per node number on a PostgreSQL database: a second node started
 * with a nodeId (or a node number) a live node holds is refused, naming the clash; once that
 * node has stopped, it starts. So is a node of the other cluster mode. Both nodes in this process, real PostgreSQL (embedded).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pgLib from 'pg';
import { startSmsc } from '../../src/app/smsc.js';
import { type Config, validateConfig } from '../../src/config/config.js';
import { lockScope } from '../../src/store/postgres/active-lease.js';
import { claimNodeIdentity, NODE_ID_CLASS, tryClaim } from '../../src/store/postgres/node-identity.js';
import { hash32 } from '../../src/store/postgres/postgres-store.js';
import { deferred, withTimeout } from '../support/async.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';

let pg: TestPostgres;
before(async () => {
  pg = await startTestPostgres();
});
after(() => pg.stop());

const node = (nodeId: string, schema = 'smsc_ids', mode = 'active-active'): Config =>
  validateConfig({
    nodeId,
    cluster: { mode },
    smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
    store: { postgres: { url: pg.url, schema } },
    accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
  });

test('a second live node with the same nodeId, or the same node number, is refused; after the first stops it starts', { timeout: 60_000 }, async () => {
  const first = await startSmsc(node('n1'));
  try {
    await assert.rejects(startSmsc(node('n1')), /another live node uses nodeId 'n1'/);
    // n17: 17 mod 16 = 1, n1's number: the two would make the same message ids.
    await assert.rejects(startSmsc(node('n17')), /another live node has node number 1 .*message ids would collide/);
    // Another schema is another cluster.
    const elsewhere = await startSmsc(node('n1', 'smsc_ids_other'));
    await elsewhere.stop();
    const second = await startSmsc(node('n2'));
    await second.stop();
  } finally {
    await first.stop();
  }
  const again = await startSmsc(node('n1'));
  await again.stop();
});

test('a node of the other cluster mode is refused while a node of one mode runs, either way round', { timeout: 60_000 }, async () => {
  const schema = 'smsc_modes';
  const activeActive = await startSmsc(node('n1', schema));
  try {
    await assert.rejects(startSmsc(node('n2', schema, 'active-standby')), /another live node on this database runs cluster.mode 'active-active' \(this one: 'active-standby'\)/);
    // (Refused once active: it gave the active lock back, or the next active-standby start would stand by for good.)
    // Nodes of one mode share the lock.
    const peer = await startSmsc(node('n3', schema));
    await peer.stop();
  } finally {
    await activeActive.stop();
  }
  const active = await startSmsc(node('n2', schema, 'active-standby'));
  try {
    await assert.rejects(startSmsc(node('n1', schema)), /runs cluster.mode 'active-standby' \(this one: 'active-active'\)/);
  } finally {
    await active.stop();
  }
  // The stopped active node gave its mode's lock back.
  const again = await startSmsc(node('n1', schema));
  await again.stop();
});

test('nodes of one mode starting at the same moment are all let in', { timeout: 60_000 }, async () => {
  const url = pg.url;
  for (let round = 0; round < 10; round++) {
    const nodes = await Promise.all(
      [1, 2, 3, 4].map((n) => claimNodeIdentity({ url, schema: 'smsc_same_mode', nodeId: `r${round}n${n}`, nodeNumber: n, mode: 'active-active' })),
    );
    await Promise.all(nodes.map((n) => n.release()));
  }
});

/**
 * What a restart of the database does to a node's identity locks, played on one node: its
 * locks' connection is ended by the server. With `takeOver`, another connection is already
 * waiting for the nodeId's lock, so it has it before the node can take it again (a node
 * started while the database was coming back). Returns that connection.
 */
async function endIdentityConnection(nodeId: string, schema: string, takeOver: boolean): Promise<pgLib.Client | undefined> {
  const holder = new pgLib.Client({ connectionString: pg.url });
  await holder.connect();
  const key = hash32(`${await lockScope(holder, schema)}\u0000${nodeId}`);
  const { rows } = await holder.query<{ pid: number }>(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 2",
    [NODE_ID_CLASS, key >>> 0],
  );
  const pid = rows[0]?.pid;
  assert.ok(pid !== undefined, `the lock of ${nodeId} is held`);
  const waiting = takeOver ? holder.query('SELECT pg_advisory_lock($1, $2)', [NODE_ID_CLASS, key]) : undefined;
  const killer = new pgLib.Client({ connectionString: pg.url });
  await killer.connect();
  await killer.query('SELECT pg_terminate_backend($1)', [pid]);
  await killer.end();
  if (waiting === undefined) {
    await holder.end();
    return undefined;
  }
  await waiting;
  return holder;
}

/** The pid holding nodeId's lock in `schema`, if any. */
async function holderOf(nodeId: string, schema: string): Promise<number | undefined> {
  const c = new pgLib.Client({ connectionString: pg.url });
  await c.connect();
  try {
    const key = hash32(`${await lockScope(c, schema)}\u0000${nodeId}`);
    const { rows } = await c.query<{ pid: number }>(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 2",
      [NODE_ID_CLASS, key >>> 0],
    );
    return rows[0]?.pid;
  } finally {
    await c.end();
  }
}

test('identity locks whose connection the database ended are taken again: a node started afterwards with the same nodeId is still refused', { timeout: 60_000 }, async () => {
  const schema = 'smsc_reclaim';
  const first = await startSmsc(node('n1', schema));
  try {
    const before = await holderOf('n1', schema);
    await endIdentityConnection('n1', schema, false);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = await holderOf('n1', schema);
      if (now !== undefined && now !== before) break;
      assert.ok(Date.now() < deadline, 'the locks taken again on a new connection within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await assert.rejects(startSmsc(node('n1', schema)), /another live node uses nodeId 'n1'/);
  } finally {
    await first.stop();
  }
});

test('identity locks another node took while their connection was down: the node stops (onFatal), naming why', { timeout: 60_000 }, async () => {
  const schema = 'smsc_taken';
  const fatal = deferred<Error>();
  const first = await startSmsc(node('n1', schema), { onFatal: (e) => fatal.resolve(e) });
  let other: pgLib.Client | undefined;
  try {
    other = await endIdentityConnection('n1', schema, true);
    const error = await withTimeout(fatal.promise, 10_000, 'the node told to stop');
    assert.match(error.message, /lost the connection holding the node identity locks.*another live node uses nodeId 'n1'/);
  } finally {
    await first.stop();
    await other?.end();
  }
});

test("after a silent cut a node ends its own stale backend (still holding its locks) to take them again, never another node's", { timeout: 60_000 }, async () => {
  const o = { url: pg.url, schema: 'smsc_stale', nodeId: 's1', nodeNumber: 1, mode: 'active-active' as const };
  const first = await claimNodeIdentity(o);
  const stale = await holderOf('s1', 'smsc_stale');
  assert.ok(stale !== undefined);
  // As held() does once its heartbeat went unanswered: the server still has the old backend.
  const again = await tryClaim(o, false, stale);
  assert.notEqual(await holderOf('s1', 'smsc_stale'), stale, 'the stale backend ended, the locks on the new connection');
  await first.release();
  // A live node's backend is another pid: never ended; the clash is reported.
  await assert.rejects(tryClaim(o, false, stale), /another live node uses nodeId 's1'/);
  await again.client.end();
});
