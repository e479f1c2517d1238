/**
 * A node killed holding messages, with two SMSC processes on one PostgreSQL database: alice
 * submits to bob on n1 while bob is bound to n1 as a receiver that never answers, so every
 * message is in flight to him or held in n1's memory for him (stored leased to n1) when n1 is
 * SIGKILLed mid-stream. bob, bound to n2 then, must get every message whose submit was
 * answered ESME_ROK: none lost.
 *
 * - Active/standby: n2 stands by without listening until n1 is gone, and, the only active node,
 *   gives back the dead one's leases when it takes over: everything comes well within the
 *   delivery lease (60 s by default). Its admin address answers health checks all along: 503
 *   (standby) while n1 is active, 200 (active) once it has taken over.
 * - Active/active: n2 cannot know n1 is dead, so the messages come once their leases lapse
 *   (delivery.leaseMs, short here).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '../../src/client/client.js';
import { freePort, startTestPostgres, type TestPostgres } from '../support/pg.js';
import {
  type AccountSpec,
  bindClient,
  bindStuckReceiver,
  closeQuietly,
  DeliveryCollector,
  killAllSmscProcesses,
  removeDir,
  type SmscProcess,
  type SmscProcessOptions,
  startLoad,
  startSmscProcess,
  tempDir,
  waitFor,
} from '../support/smsc-process.js';

const ALICE: AccountSpec = { systemId: 'alice', password: 'alice-pw', addresses: ['1000'] };
const BOB: AccountSpec = { systemId: 'bob', password: 'bob-pw', addresses: ['2000'], windowSize: 50 };
/** Load bounds: transmitters × window workers, at most this many submits or this long. */
const SENDERS = 2;
const WINDOW = 20;
const MAX_MESSAGES = 5_000;
const KILL_AFTER_ACKED = 1_500;
const KILL_AFTER_MS = 3_000;
/** The delivery lease of active/standby: the test must not pass by waiting it out. */
const LEASE_MS = 60_000;
/** Active/active's, short; the responses must come within nine tenths of it. */
const SHORT_LEASE_MS = 3_000;
/** How long n2 may take to listen after the kill, and bob to get everything from it (after the lease). */
const TAKEOVER_WAIT_MS = 15_000;
const DELIVERY_WAIT_MS = 15_000;

let pg: TestPostgres;
let dir: string;
before(async () => {
  pg = await startTestPostgres();
  dir = await tempDir('smsc-node-killed-');
});
after(async () => {
  await killAllSmscProcesses();
  await pg?.stop();
  await removeDir(dir);
});

const token = (n: number) => `m-${n}`;

/** The options the nodes of one test share: alice and bob, on the test's database in `schema`. */
function nodesOf(schema: string, leaseMs: number, more: Partial<SmscProcessOptions>): Omit<SmscProcessOptions, 'label'> {
  return { dir, store: { postgres: { url: pg.url, schema } }, accounts: [ALICE, BOB], delivery: { leaseMs }, ...more };
}
const ADMIN_TOKEN = 'as-kill-admin-token';

/** The admin address a process printed last, once `line` matches its output (bounded wait). */
async function adminAddress(process: () => SmscProcess | undefined, line: RegExp): Promise<string> {
  const end = Date.now() + 10_000;
  for (;;) {
    const output = process()?.output() ?? '';
    const matches = [...output.matchAll(new RegExp(line.source, 'g'))];
    if (matches.length > 0) return matches.at(-1)![1]!;
    if (Date.now() > end) throw new Error(`no line matching ${line}:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Binds bob (never answering) and alice's transmitters to `n1`, submits until enough are
 * acknowledged, then SIGKILLs n1. Returns the numbers acknowledged and unanswered.
 */
async function holdThenKill(n1: SmscProcess, clients: Client[]): Promise<{ acked: Set<number>; unanswered: Set<number>; killedAt: number }> {
  // bob's deliveries on n1 stay unanswered: n1 leases them all, in flight or held for him.
  clients.push(await bindStuckReceiver(n1.port, BOB));
  const senders: Client[] = [];
  for (let i = 0; i < SENDERS; i++) senders.push(await bindClient(n1.port, 'transmitter', ALICE, WINDOW));
  clients.push(...senders);
  const load = startLoad(senders, { window: WINDOW, max: MAX_MESSAGES, from: '1000', to: '2000', text: token });
  await waitFor(() => load.acked.size >= KILL_AFTER_ACKED, KILL_AFTER_MS);
  // No new submits from here (they would fail on the dead node); those in flight settle.
  const stopped = load.stop();
  const exit = await n1.kill();
  assert.equal(exit.signal, 'SIGKILL', `n1 exited by itself before the kill:\n${n1.output()}`);
  const killedAt = Date.now();
  await stopped;
  assert.ok(load.acked.size > 0, 'nothing was acknowledged before the kill');
  return { acked: load.acked, unanswered: load.unanswered, killedAt };
}

/** Binds two receivers of bob to `port` for `collector`; what of `acked` was not delivered within `ms`. */
async function lostAfter(port: number, clients: Client[], collector: DeliveryCollector, acked: Set<number>, ms: number): Promise<string[]> {
  for (let i = 0; i < 2; i++) {
    const rx = await bindClient(port, 'receiver', BOB, 50);
    clients.push(rx);
    collector.add(rx);
  }
  const ackedTexts = [...acked].map(token);
  await collector.until(() => ackedTexts.every((text) => collector.texts.has(text)), ms);
  return ackedTexts.filter((text) => !collector.texts.has(text));
}

test('active/standby: the standby process takes over from a killed active one and delivers every acknowledged message', { timeout: 90_000 }, async (t) => {
  const common = nodesOf('smsc_as_kill', LEASE_MS, {
    sections: { cluster: { mode: 'active-standby', standbyRetryMs: 100 }, admin: { listen: '127.0.0.1:0', token: ADMIN_TOKEN } },
  });
  const clients: Client[] = [];
  const collector = new DeliveryCollector();
  try {
    const n1 = await startSmscProcess({ ...common, nodeId: 'n1', label: 'n1' });
    // n2 stands by: it prints its listening line only once it holds the lock.
    let n2: SmscProcess | undefined;
    let n2Standby: SmscProcess | undefined;
    const n2AdminPort = await freePort();
    const n2Started = startSmscProcess({
      ...common,
      nodeId: 'n2',
      label: 'n2',
      // A fixed admin port: the full admin app must get the address the standby listener had.
      sections: { ...common.sections, admin: { listen: `127.0.0.1:${n2AdminPort}`, token: ADMIN_TOKEN } },
      startTimeoutMs: 60_000,
      onSpawn: (p) => {
        n2Standby = p;
      },
    }).then((p) => {
      n2 = p;
      return p;
    });
    n2Started.catch(() => {});
    // Until it is active, n2's admin address answers its health check with 503, standby.
    const waiting = await adminAddress(() => n2Standby, /admin API standing by on http:\/\/([^/\s]+)\//);
    const health = await fetch(`http://${waiting}/health`);
    assert.equal(health.status, 503);
    assert.equal(((await health.json()) as { status: string }).status, 'standby');

    const { acked, unanswered, killedAt } = await holdThenKill(n1, clients);
    assert.equal(n2, undefined, 'n2 stood by while n1 was active');
    const taken = await Promise.race([n2Started, new Promise<undefined>((r) => setTimeout(() => r(undefined), TAKEOVER_WAIT_MS))]);
    assert.ok(taken !== undefined, `n2 did not take over within ${TAKEOVER_WAIT_MS} ms`);
    const takeoverMs = Date.now() - killedAt;
    const active = await adminAddress(() => taken, /admin API and dashboard on http:\/\/([^/\s]+)\//);
    assert.equal(active, waiting, 'the admin app took the standby listener\'s address');
    const healthNow = await fetch(`http://${active}/health`);
    assert.equal(healthNow.status, 200);
    assert.deepEqual(await healthNow.json(), { status: 'active', nodeId: 'n2', mode: 'active-standby' });
    const lost = await lostAfter(taken.port, clients, collector, acked, DELIVERY_WAIT_MS);
    t.diagnostic(
      `acked ${acked.size}, unanswered ${unanswered.size}; n2 listening ${takeoverMs} ms after the kill, ` +
        `the rest ${lost.length === 0 ? `${Date.now() - killedAt - takeoverMs} ms later` : 'not all'}; lost ${lost.length}`,
    );
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged messages not delivered by n2 (first 20 shown)`);
  } finally {
    await Promise.all(clients.map((c) => closeQuietly(c)));
    await killAllSmscProcesses();
  }
});

test('active/active: a node killed holding messages, the other delivers every acknowledged one once their leases lapse', { timeout: 90_000 }, async (t) => {
  const common = nodesOf('smsc_aa_kill', SHORT_LEASE_MS, { smpp: { responseTimeoutMs: 2_000 } });
  const clients: Client[] = [];
  const collector = new DeliveryCollector();
  try {
    const [n1, n2] = await Promise.all([
      startSmscProcess({ ...common, nodeId: 'n1', label: 'aa-n1' }),
      startSmscProcess({ ...common, nodeId: 'n2', label: 'aa-n2' }),
    ]);
    const { acked, unanswered, killedAt } = await holdThenKill(n1, clients);
    const lost = await lostAfter(n2.port, clients, collector, acked, SHORT_LEASE_MS + DELIVERY_WAIT_MS);
    t.diagnostic(
      `acked ${acked.size}, unanswered ${unanswered.size}; n2 had them all ${lost.length === 0 ? `${Date.now() - killedAt} ms after the kill` : 'not'} (lease ${SHORT_LEASE_MS} ms); lost ${lost.length}`,
    );
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged messages not delivered by n2 (first 20 shown)`);
  } finally {
    await Promise.all(clients.map((c) => closeQuietly(c)));
    await killAllSmscProcesses();
  }
});
