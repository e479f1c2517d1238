/**
 * Active/standby failover across processes: two SMSC processes on one PostgreSQL database
 * (cluster.mode active-standby). n1 is active; n2 stands by without listening. alice submits to
 * bob while bob is bound to n1 as a receiver that never answers, so every message is in flight
 * to him or held in n1's memory for him (stored leased to n1) when n1 is SIGKILLed mid-stream. n2 must take over, and bob, bound to n2,
 * must get every message whose submit was answered ESME_ROK — well within the delivery lease
 * (60 s by default): n2, the only active node, gives back the leases of the dead one when it
 * takes over instead of waiting for them to lapse. Its admin address answers health checks
 * all along: 503 (standby) while n1 is active, 200 (active) once it has taken over.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Client, connect } from '../../src/client/client.js';
import { CommandStatusError } from '../../src/errors.js';
import { freePort, startTestPostgres, type TestPostgres } from '../support/pg.js';
import {
  type AccountSpec,
  bindClient,
  closeQuietly,
  DeliveryCollector,
  killAllSmscProcesses,
  removeDir,
  type SmscProcess,
  type SmscProcessOptions,
  startSmscProcess,
  tempDir,
} from '../support/smsc-process.js';

const ALICE: AccountSpec = { systemId: 'alice', password: 'alice-pw', addresses: ['1000'] };
const BOB: AccountSpec = { systemId: 'bob', password: 'bob-pw', addresses: ['2000'], windowSize: 50 };
/** Load bounds: transmitters × window workers, at most this many submits or this long. */
const SENDERS = 2;
const WINDOW = 20;
const MAX_MESSAGES = 5_000;
const KILL_AFTER_ACKED = 1_500;
const KILL_AFTER_MS = 3_000;
/** The delivery lease: the test must not pass by waiting it out. */
const LEASE_MS = 60_000;
/** How long n2 may take to listen after the kill, and bob to get everything from it. */
const TAKEOVER_WAIT_MS = 15_000;
const DELIVERY_WAIT_MS = 15_000;

let pg: TestPostgres;
let dir: string;
before(async () => {
  pg = await startTestPostgres();
  dir = await tempDir('smsc-as-kill-');
});
after(async () => {
  await killAllSmscProcesses();
  await pg?.stop();
  await removeDir(dir);
});

const token = (n: number) => `as-${n}`;
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

test('the standby process takes over from a killed active one and delivers every acknowledged message', { timeout: 90_000 }, async (t) => {
  const common: Omit<SmscProcessOptions, 'label'> = {
    dir,
    store: { postgres: { url: pg.url, schema: 'smsc_as_kill' } },
    accounts: [ALICE, BOB],
    delivery: { leaseMs: LEASE_MS },
    sections: { cluster: { mode: 'active-standby', standbyRetryMs: 100 }, admin: { listen: '127.0.0.1:0', token: ADMIN_TOKEN } },
  };
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

    // bob's deliveries on n1 stay unanswered: n1 leases them all, in flight or held for him.
    const stuck = await connect({ host: '127.0.0.1', port: n1.port, manualAck: true, session: { enquireLinkIntervalMs: 0 } });
    clients.push(stuck);
    await stuck.bind({ type: 'receiver', systemId: BOB.systemId, password: BOB.password });
    const senders: Client[] = [];
    for (let i = 0; i < SENDERS; i++) senders.push(await bindClient(n1.port, 'transmitter', ALICE, WINDOW));
    clients.push(...senders);

    const acked = new Set<number>();
    const unanswered = new Set<number>();
    let next = 0;
    let stop = false;
    const started = Date.now();
    const worker = async (client: Client) => {
      while (!stop && next < MAX_MESSAGES) {
        const n = next++;
        try {
          await client.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from(token(n), 'latin1') });
          acked.add(n);
        } catch (err) {
          if (err instanceof CommandStatusError) throw err;
          unanswered.add(n);
        }
      }
    };
    const loops = senders.flatMap((c) => Array.from({ length: WINDOW }, () => worker(c)));
    while (acked.size < KILL_AFTER_ACKED && Date.now() - started < KILL_AFTER_MS) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(n2, undefined, 'n2 stood by while n1 was active');
    stop = true;
    const exit = await n1.kill();
    assert.equal(exit.signal, 'SIGKILL', `n1 exited by itself before the kill:\n${n1.output()}`);
    await Promise.all(loops);

    const killedAt = Date.now();
    const taken = await Promise.race([n2Started, new Promise<undefined>((r) => setTimeout(() => r(undefined), TAKEOVER_WAIT_MS))]);
    assert.ok(taken !== undefined, `n2 did not take over within ${TAKEOVER_WAIT_MS} ms`);
    const takeoverMs = Date.now() - killedAt;
    const active = await adminAddress(() => taken, /admin API and dashboard on http:\/\/([^/\s]+)\//);
    assert.equal(active, waiting, 'the admin app took the standby listener\'s address');
    const healthNow = await fetch(`http://${active}/health`);
    assert.equal(healthNow.status, 200);
    assert.deepEqual(await healthNow.json(), { status: 'active', nodeId: 'n2', mode: 'active-standby' });
    for (let i = 0; i < 2; i++) {
      const rx = await bindClient(taken.port, 'receiver', BOB, 50);
      clients.push(rx);
      collector.add(rx);
    }
    const ackedTexts = [...acked].map(token);
    const all = await collector.until(() => ackedTexts.every((text) => collector.texts.has(text)), DELIVERY_WAIT_MS);
    const drainMs = Date.now() - killedAt - takeoverMs;
    const lost = ackedTexts.filter((text) => !collector.texts.has(text));
    t.diagnostic(
      `acked ${acked.size}, unanswered ${unanswered.size}; n2 listening ${takeoverMs} ms after the kill, ` +
        `the rest ${all ? `in ${drainMs} ms` : 'not all'}; lost ${lost.length}`,
    );
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged messages not delivered by n2 (first 20 shown)`);
  } finally {
    await Promise.all(clients.map((c) => closeQuietly(c)));
    await killAllSmscProcesses();
  }
});
