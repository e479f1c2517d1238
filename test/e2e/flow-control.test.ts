/** Per-account flow control: TPS limit (ESME_RTHROTTLED) and queue limit (ESME_RMSGQFUL), counted. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { type Client, connect } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import type { CommandStatusError } from '../../src/errors.js';
import { CommandStatus as S } from '../../src/pdu/constants.js';
import { ManualClock } from '../../src/session/clock.js';

let dir: string;
let smsc: Smsc;
let clock: ManualClock;
const clients: Client[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsc-flow-'));
  clock = new ManualClock(Date.UTC(2026, 10, 21, 12));
  smsc = await startSmsc(
    validateConfig({
      smpp: { listeners: [{ port: 0 }], enquireLinkIntervalMs: 0 },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [
        { systemId: 'fast', password: 'pw', addresses: ['1000'], tps: 5 },
        { systemId: 'full', password: 'pw', addresses: ['1001'], maxQueued: 3 },
        { systemId: 'rcpt', password: 'pw', addresses: ['1002'], maxQueued: 2 },
        { systemId: 'sink', password: 'pw', addresses: ['2000'] },
      ],
    }),
    { clock },
  );
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await smsc.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function transmitter(systemId: string): Promise<Client> {
  const c = await connect({ port: smsc.listening[0]!.port, session: { windowSize: 20 } });
  await c.bind({ type: 'transmitter', systemId, password: 'pw' });
  clients.push(c);
  return c;
}

async function statuses(c: Client, source: string, n: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, () =>
      c.submit({ sourceAddr: source, destinationAddr: '2000', shortMessage: Buffer.from('x') }).then(
        () => 0,
        (e: CommandStatusError) => e.commandStatus,
      ),
    ),
  );
}

test('an account over its TPS gets ESME_RTHROTTLED for the excess; later submits succeed', async () => {
  const c = await transmitter('fast');
  const first = await statuses(c, '1000', 8);
  assert.equal(first.filter((s) => s === S.ESME_ROK).length, 5);
  assert.equal(first.filter((s) => s === S.ESME_RTHROTTLED).length, 3);
  clock.advance(1000);
  const later = await statuses(c, '1000', 5);
  assert.deepEqual(later, [0, 0, 0, 0, 0]);
});

test('an account at its queue limit gets ESME_RMSGQFUL; other accounts are not affected', async () => {
  const c = await transmitter('full');
  const res = await statuses(c, '1001', 5);
  assert.equal(res.filter((s) => s === S.ESME_ROK).length, 3);
  assert.equal(res.filter((s) => s === S.ESME_RMSGQFUL).length, 2);
  const other = await transmitter('fast');
  clock.advance(1000);
  assert.deepEqual(await statuses(other, '1000', 2), [0, 0]);
  // Once the queue drains (the receiver binds), submits are accepted again.
  const sink = await connect({ port: smsc.listening[0]!.port });
  await sink.bind({ type: 'receiver', systemId: 'sink', password: 'pw' });
  clients.push(sink);
  const end = Date.now() + 5000;
  for (;;) {
    clock.advance(1000); // the queue count is refreshed from the store once a second
    await new Promise((r) => setTimeout(r, 20));
    if ((await smsc.store.pendingCount('full')) === 0 && (await statuses(c, '1001', 1))[0] === 0) break;
    if (Date.now() > end) assert.fail('submits stayed refused after the queue drained');
  }
});

test("receipts waiting for an account are not its submits: they do not fill its queue", async () => {
  const c = await transmitter('rcpt');
  const sink = await connect({ port: smsc.listening[0]!.port });
  await sink.bind({ type: 'receiver', systemId: 'sink', password: 'pw' });
  clients.push(sink);
  // rcpt never binds a receiver: each delivered message leaves its receipt waiting for it.
  for (let i = 1; i <= 4; i++) {
    const status = await c.submit({ sourceAddr: '1002', destinationAddr: '2000', shortMessage: Buffer.from('x'), registeredDelivery: 1 }).then(
      () => 0,
      (e: CommandStatusError) => e.commandStatus,
    );
    assert.equal(status, S.ESME_ROK, `submit ${i}`);
    const end = Date.now() + 5000;
    while (((await smsc.store.queueDepth())['esme:rcpt'] ?? 0) < i) {
      if (Date.now() > end) assert.fail(`receipt ${i} never stored`);
      await new Promise((r) => setTimeout(r, 10));
    }
    clock.advance(1000); // the queue count is read again
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await smsc.store.pendingCount('rcpt'), 0);
});
