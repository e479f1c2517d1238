/**
 * Two SMSC nodes (child processes, nodeId n1 and n2, each on its own port) sharing ONE
 * PostgreSQL database: a message submitted on one node reaches a receiver bound on the other
 * (the other node hears the insert through LISTEN/NOTIFY and claims it), receipts travel back
 * the same way, and with receivers bound on both nodes every message is delivered exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pgLib from 'pg';
import type { Client } from '../../src/client/client.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';
import {
  type AccountSpec,
  bindClient,
  closeQuietly,
  DeliveryCollector,
  killAllSmscProcesses,
  removeDir,
  type SmscProcess,
  startSmscProcess,
  tempDir,
} from '../support/smsc-process.js';

const ALICE: AccountSpec = { systemId: 'alice', password: 'alice-pw', addresses: ['1000'], maxBinds: 8, windowSize: 50 };
const BOB: AccountSpec = { systemId: 'bob', password: 'bob-pw', addresses: ['2000'], maxBinds: 8, windowSize: 50 };
const WAIT_MS = 15_000;

/** Submits `texts` through `client` with `concurrency` outstanding; returns the message ids in order. */
async function submitAll(
  client: Client,
  from: string,
  to: string,
  texts: string[],
  concurrency: number,
  registeredDelivery = 0,
): Promise<string[]> {
  const ids: string[] = new Array(texts.length);
  let next = 0;
  const worker = async () => {
    while (next < texts.length) {
      const i = next++;
      const resp = await client.submit({
        sourceAddr: from,
        sourceAddrTon: 1,
        sourceAddrNpi: 1,
        destinationAddr: to,
        registeredDelivery,
        shortMessage: Buffer.from(texts[i]!, 'latin1'),
      });
      ids[i] = resp.messageId;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

const SCHEMA = 'smsc_two';

describe('two SMSC nodes on one PostgreSQL database', { timeout: 120_000 }, () => {
  let pg: TestPostgres | undefined;
  let dir: string | undefined;
  let n1: SmscProcess;
  let n2: SmscProcess;

  before(async () => {
    pg = await startTestPostgres();
    dir = await tempDir('smsc-two-nodes-');
    // In a schema of their own (store.postgres.schema), created by whichever node starts first.
    const common = { dir, store: { postgres: { url: pg.url, schema: SCHEMA } }, accounts: [ALICE, BOB], delivery: { retryDelayMs: 500 } };
    // Started together: both run the migrations on the fresh database at the same time.
    [n1, n2] = await Promise.all([
      startSmscProcess({ ...common, nodeId: 'n1', label: 'n1' }),
      startSmscProcess({ ...common, nodeId: 'n2', label: 'n2' }),
    ]);
    assert.notEqual(n1.port, n2.port);
  });

  after(async () => {
    await Promise.all([n1?.stop(), n2?.stop()]);
    await killAllSmscProcesses();
    await pg?.stop();
    await removeDir(dir);
  });

  test('the nodes keep their tables in store.postgres.schema', async () => {
    const client = new pgLib.Client({ connectionString: pg!.url });
    await client.connect();
    try {
      const r = await client.query<{ ours: boolean; unqualified: boolean }>(
        `SELECT to_regclass($1) IS NOT NULL AS ours, to_regclass('messages') IS NOT NULL AS unqualified`,
        [`${SCHEMA}.messages`],
      );
      assert.deepEqual(r.rows[0], { ours: true, unqualified: false }, 'in the schema, not on the search_path');
    } finally {
      await client.end();
    }
  });

  test('a submit on node 1 reaches a receiver on node 2; its receipt comes back to node 1', async (t) => {
    const clients: Client[] = [];
    try {
      const alice = await bindClient(n1.port, 'transceiver', ALICE, 20);
      clients.push(alice);
      const bob = await bindClient(n2.port, 'receiver', BOB);
      clients.push(bob);
      const atAlice = new DeliveryCollector();
      atAlice.add(alice);
      const atBob = new DeliveryCollector();
      atBob.add(bob);

      const texts = range(50, (i) => `n1-to-n2-${i}`);
      const ids = await submitAll(alice, '1000', '2000', texts, 20, 1);
      assert.equal(new Set(ids).size, texts.length, 'message ids are unique');

      const delivered = await atBob.until(() => texts.every((x) => atBob.texts.has(x)), WAIT_MS);
      const missing = texts.filter((x) => !atBob.texts.has(x));
      assert.ok(delivered, `not delivered on node 2 within ${WAIT_MS} ms: ${missing.slice(0, 10).join(', ')}`);
      const receipted = await atAlice.until(() => ids.every((id) => atAlice.receipts.has(id)), WAIT_MS);
      assert.ok(receipted, `receipts missing on node 1: ${ids.filter((id) => !atAlice.receipts.has(id)).length}`);
      await atBob.quiet(300, 2_000);
      assert.equal(atBob.messages, texts.length, 'each delivered once');
      assert.equal(atAlice.receiptCount, ids.length, 'one receipt each');
      assert.equal(atAlice.messages, 0, 'alice got no MT');
      t.diagnostic(`node1 → node2: ${atBob.messages} delivered, ${atAlice.receiptCount} receipts back on node 1`);
    } finally {
      await Promise.all(clients.map((c) => closeQuietly(c)));
    }
  });

  test('a submit on node 2 reaches a receiver on node 1; its receipt comes back to node 2', async (t) => {
    const clients: Client[] = [];
    try {
      const bob = await bindClient(n2.port, 'transceiver', BOB, 20);
      clients.push(bob);
      const alice = await bindClient(n1.port, 'receiver', ALICE);
      clients.push(alice);
      const atBob = new DeliveryCollector();
      atBob.add(bob);
      const atAlice = new DeliveryCollector();
      atAlice.add(alice);

      const texts = range(50, (i) => `n2-to-n1-${i}`);
      const ids = await submitAll(bob, '2000', '1000', texts, 20, 1);

      const delivered = await atAlice.until(() => texts.every((x) => atAlice.texts.has(x)), WAIT_MS);
      assert.ok(delivered, `not delivered on node 1: ${texts.filter((x) => !atAlice.texts.has(x)).length} missing`);
      const receipted = await atBob.until(() => ids.every((id) => atBob.receipts.has(id)), WAIT_MS);
      assert.ok(receipted, `receipts missing on node 2: ${ids.filter((id) => !atBob.receipts.has(id)).length}`);
      await atAlice.quiet(300, 2_000);
      assert.equal(atAlice.messages, texts.length, 'each delivered once');
      assert.equal(atBob.receiptCount, ids.length, 'one receipt each');
      t.diagnostic(`node2 → node1: ${atAlice.messages} delivered, ${atBob.receiptCount} receipts back on node 2`);
    } finally {
      await Promise.all(clients.map((c) => closeQuietly(c)));
    }
  });

  test('with bob bound on both nodes, every message is delivered exactly once in total', async (t) => {
    const N = 4_000;
    const clients: Client[] = [];
    try {
      const atBob = new DeliveryCollector();
      for (const node of [n1, n2]) {
        const rx = await bindClient(node.port, 'receiver', BOB);
        clients.push(rx);
        atBob.add(rx);
      }
      const tx1 = await bindClient(n1.port, 'transmitter', ALICE, 50);
      const tx2 = await bindClient(n2.port, 'transmitter', ALICE, 50);
      clients.push(tx1, tx2);

      const texts1 = range(N / 2, (i) => `once-n1-${i}`);
      const texts2 = range(N / 2, (i) => `once-n2-${i}`);
      const [ids1, ids2] = await Promise.all([
        submitAll(tx1, '1000', '2000', texts1, 50),
        submitAll(tx2, '1000', '2000', texts2, 50),
      ]);
      assert.equal(new Set([...ids1, ...ids2]).size, N, 'message ids are unique across the nodes');

      const all = [...texts1, ...texts2];
      const arrived = await atBob.until(() => atBob.texts.size >= N, WAIT_MS);
      // Give a second claim of the same message every chance to show up.
      await atBob.quiet(1_000, 5_000);
      const missing = all.filter((x) => !atBob.texts.has(x));
      const [onN1, onN2] = atBob.perClient;
      t.diagnostic(
        `${N} submitted (half on each node): ${atBob.messages} delivered (${atBob.texts.size} distinct), ` +
          `${onN1} by node 1, ${onN2} by node 2, duplicates ${atBob.duplicateTexts()}`,
      );
      assert.ok(arrived, `only ${atBob.texts.size} of ${N} delivered within ${WAIT_MS} ms`);
      assert.deepEqual(missing, [], 'every message delivered');
      assert.equal(atBob.duplicateTexts(), 0, 'no message delivered twice');
      assert.equal(atBob.messages, N, 'exactly N deliveries');
      assert.equal(atBob.texts.size, N, 'nothing else delivered');
      // Both nodes took part (otherwise "exactly once" would prove nothing about two nodes).
      assert.ok((onN1 ?? 0) > 0 && (onN2 ?? 0) > 0, `deliveries split ${onN1}/${onN2}: one node did nothing`);
    } finally {
      await Promise.all(clients.map((c) => closeQuietly(c)));
    }
  });
});
