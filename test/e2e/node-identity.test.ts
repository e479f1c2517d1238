/**
 * One live node per nodeId and per node number on a PostgreSQL database: a second node started
 * with a nodeId (or a node number) a live node holds is refused, naming the clash; once that
 * node has stopped, it starts. So is a node of the other cluster mode. Both nodes in this process, real PostgreSQL (embedded).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSmsc } from '../../src/app/smsc.js';
import { type Config, validateConfig } from '../../src/config/config.js';
import { claimNodeIdentity } from '../../src/store/postgres/node-identity.js';
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
