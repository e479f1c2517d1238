/**
 * Crash safety, end to end: the SMSC runs as a child process; several transmitter sessions of
 * account alice submit to 2000 (bob) at full speed, each message text carrying a unique token;
 * the SMSC is SIGKILLed mid-stream and restarted on the same database; bob binds as a receiver
 * and must get every message whose submit was answered ESME_ROK (the store commits before the
 * response), at most a few more (submits in flight at the kill may have been committed without
 * their response reaching us) and no duplicates beyond what was in flight.
 *
 * A second variant has bob receiving during the load as well, so the kill also interrupts
 * deliveries: those are redelivered after the restart (at least once), duplicates bounded by
 * the deliveries in flight. The restarted node has the same nodeId: it gives its dead leases
 * back when it starts instead of waiting for them to lapse.
 *
 * Run on SQLite and on PostgreSQL (embedded, see test/support/pg.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Client } from '../../src/client/client.js';
import { UNRECORDED_WINDOWS } from '../../src/delivery/esme-target.js';
import { CommandStatusError } from '../../src/errors.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';
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

/** Transmitter sessions of alice. */
const SESSIONS = 4;
/** Outstanding submits per session (the client's window; one worker per slot). */
const WINDOW = 50;
/** Load bounds: at most this many submits, for at most this long. */
const MAX_MESSAGES = 20_000;
const MAX_LOAD_MS = 5_000;
/** Kill once this many submits were acknowledged, or after this long, whichever comes first. */
const KILL_AFTER_ACKED = 6_000;
const KILL_AFTER_MS = 2_000;
/** How long bob may take to receive everything after the restart. */
const DELIVERY_WAIT_MS = 20_000;
/** bob's receiver sessions (each with bob's window of 100 deliver_sm). */
const RECEIVERS = 2;

const ALICE: AccountSpec = { systemId: 'alice', password: 'alice-pw', addresses: ['1000'], maxBinds: 8 };
const BOB: AccountSpec = { systemId: 'bob', password: 'bob-pw', addresses: ['2000'], maxBinds: 8, windowSize: 100 };

const token = (n: number) => `crash-${n}`;

interface LoadResult {
  /** Submits handed to a session (tokens 0..sent-1). */
  sent: number;
  /** Tokens answered ESME_ROK. */
  acked: Set<number>;
  /** Tokens whose submit got no answer (connection lost at the kill). */
  unknown: Set<number>;
  /** Tokens refused with a command_status, with the status name. */
  rejected: Map<number, string>;
  /** Submits sent and not yet answered when SIGKILL was sent. */
  inflightAtKill: number;
  /** Acknowledged when SIGKILL was sent. */
  ackedAtKill: number;
  /** Load start to SIGKILL, ms. */
  killAtMs: number;
}

/** Runs the submit load against `smsc` and SIGKILLs it mid-stream. */
async function loadAndKill(smsc: SmscProcess, senders: Client[]): Promise<LoadResult> {
  const acked = new Set<number>();
  const unknown = new Set<number>();
  const rejected = new Map<number, string>();
  let next = 0;
  let inflight = 0;
  let stop = false;
  const started = Date.now();

  const worker = async (client: Client) => {
    while (!stop && next < MAX_MESSAGES && Date.now() - started < MAX_LOAD_MS) {
      const n = next++;
      inflight++;
      try {
        await client.submit({
          sourceAddr: '1000',
          sourceAddrTon: 1,
          sourceAddrNpi: 1,
          destinationAddr: '2000',
          shortMessage: Buffer.from(token(n), 'latin1'),
        });
        acked.add(n);
      } catch (err) {
        if (err instanceof CommandStatusError) rejected.set(n, err.statusName);
        else unknown.add(n);
      } finally {
        inflight--;
      }
    }
  };
  const loops = senders.flatMap((c) => Array.from({ length: WINDOW }, () => worker(c)));

  // Bounded: the load itself stops at MAX_MESSAGES / MAX_LOAD_MS.
  while (acked.size < KILL_AFTER_ACKED && Date.now() - started < KILL_AFTER_MS && inflight > 0) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // Synchronous from here to the kill: no response is processed in between.
  const inflightAtKill = inflight;
  const ackedAtKill = acked.size;
  const killAtMs = Date.now() - started;
  stop = true;
  const killed = smsc.kill();
  const exit = await killed;
  assert.equal(exit.signal, 'SIGKILL', `the SMSC exited by itself before the kill:\n${smsc.output()}`);
  // Every submit settles: answered before the socket closed, or rejected as lost.
  await Promise.all(loops);
  return { sent: next, acked, unknown, rejected, inflightAtKill, ackedAtKill, killAtMs };
}

async function crashScenario(
  diagnostic: (msg: string) => void,
  dir: string,
  store: SmscProcessOptions['store'],
  label: string,
  bobDuringLoad: boolean,
): Promise<void> {
  const options: SmscProcessOptions = { dir, store, accounts: [ALICE, BOB], label, delivery: { leaseMs: 10_000 }, smpp: { responseTimeoutMs: 5000 } };
  const clients: Client[] = [];
  const collector = new DeliveryCollector();
  let first: SmscProcess | undefined;
  let second: SmscProcess | undefined;
  try {
    first = await startSmscProcess(options);
    if (bobDuringLoad) {
      for (let i = 0; i < RECEIVERS; i++) {
        const rx = await bindClient(first.port, 'receiver', BOB);
        clients.push(rx);
        collector.add(rx);
      }
    }
    const senders: Client[] = [];
    for (let i = 0; i < SESSIONS; i++) senders.push(await bindClient(first.port, 'transmitter', ALICE, WINDOW));
    clients.push(...senders);
    const load = await loadAndKill(first, senders);
    const deliveredAtKill = collector.messages;
    const duplicatesAtKill = collector.duplicateTexts();

    assert.ok(load.inflightAtKill > 0, `the kill did not hit mid-stream (nothing in flight; sent ${load.sent})`);
    assert.ok(load.inflightAtKill <= SESSIONS * WINDOW, `in flight ${load.inflightAtKill} > sessions × window`);
    assert.ok(load.ackedAtKill > 0, 'nothing was acknowledged before the kill');
    assert.equal(load.rejected.size, 0, `submits refused: ${[...new Set(load.rejected.values())].join(', ')}`);
    assert.equal(load.acked.size + load.unknown.size + load.rejected.size, load.sent, 'every submit settled');

    // Restart on the same database and drain bob's queue.
    second = await startSmscProcess({ ...options, label: `${label}-restarted` });
    for (let i = 0; i < RECEIVERS; i++) {
      const rx = await bindClient(second.port, 'receiver', BOB);
      clients.push(rx);
      collector.add(rx);
    }
    const startedDrain = Date.now();
    const ackedTexts = [...load.acked].map(token);
    await collector.until(() => ackedTexts.every((t) => collector.texts.has(t)), DELIVERY_WAIT_MS);
    const drainMs = Date.now() - startedDrain;
    // Late duplicates or committed-but-unanswered submits may still come: wait for quiet.
    await collector.quiet(500, 3_000);

    const lost = ackedTexts.filter((t) => !collector.texts.has(t));
    const known = new Set(Array.from({ length: load.sent }, (_, n) => token(n)));
    const phantom = [...collector.texts.keys()].filter((t) => !known.has(t));
    const unknownDelivered = [...load.unknown].filter((n) => collector.texts.has(token(n))).length;
    const rejectedDelivered = [...load.rejected.keys()].filter((n) => collector.texts.has(token(n))).length;
    const duplicates = collector.duplicateTexts();

    diagnostic(
      `${label}: sent ${load.sent}, acked ${load.acked.size} (${load.ackedAtKill} at the kill, ${load.killAtMs} ms in), ` +
        `in flight at the kill ${load.inflightAtKill}, unanswered ${load.unknown.size} of which delivered ${unknownDelivered}; ` +
        `bob got ${deliveredAtKill} before the kill (${duplicatesAtKill} duplicates), ${collector.messages} in total (${collector.texts.size} distinct) in ${drainMs} ms, ` +
        `lost ${lost.length}, duplicates ${duplicates}`,
    );

    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged messages lost (first 20 shown)`);
    assert.deepEqual(phantom.slice(0, 20), [], 'deliveries of texts that were never submitted');
    assert.equal(rejectedDelivered, 0, 'a refused submit was delivered');
    assert.ok(unknownDelivered <= load.inflightAtKill, `${unknownDelivered} unanswered submits delivered > ${load.inflightAtKill} in flight`);
    // Duplicates come only from work in flight at the kill: submits (their token may be stored
    // without our knowing, but we never resubmit, so they cannot duplicate) and, when bob was
    // receiving, deliver_sm he answered whose DELIVERED state was not yet committed: at most
    // the deliveries whose outcome may be unrecorded at once (UNRECORDED_WINDOWS per session).
    const deliveryInFlight = bobDuringLoad ? UNRECORDED_WINDOWS * RECEIVERS * BOB.windowSize! : 0;
    assert.ok(
      duplicates <= load.inflightAtKill + deliveryInFlight,
      `${duplicates} duplicates > ${load.inflightAtKill} submits + ${deliveryInFlight} deliveries in flight at the kill`,
    );
  } finally {
    await Promise.all(clients.map((c) => closeQuietly(c)));
    await first?.kill();
    await second?.stop();
  }
}

const backends: { name: string; store(dir: string, pg: () => Promise<TestPostgres>): Promise<SmscProcessOptions['store']> }[] = [
  { name: 'SQLite', store: async (dir) => ({ sqlite: { path: join(dir, 'smsc.db') } }) },
  { name: 'PostgreSQL', store: async (_dir, pg) => ({ postgres: { url: (await pg()).url } }) },
];

for (const backend of backends) {
  describe(`crash safety on ${backend.name}: SIGKILL mid-stream, restart, nothing acknowledged is lost`, () => {
    after(killAllSmscProcesses);

    for (const bobDuringLoad of [false, true]) {
      const name = bobDuringLoad ? 'bob receiving during the load and after the restart' : 'bob binds after the restart';
      test(name, { timeout: 60_000 }, async (t) => {
        const dir = await tempDir('smsc-crash-');
        let pg: TestPostgres | undefined;
        try {
          const store = await backend.store(dir, async () => (pg = await startTestPostgres()));
          const label = `${backend.name.toLowerCase()}${bobDuringLoad ? '-receiving' : ''}`;
          await crashScenario((m) => t.diagnostic(m), dir, store, label, bobDuringLoad);
        } finally {
          await killAllSmscProcesses();
          await pg?.stop();
          await removeDir(dir);
        }
      });
    }
  });
}
