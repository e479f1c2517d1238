/**
 * The SMSC with its network side, end to end in one process over real sockets, controllable
 * clock: MT routed to the simulated network (delivered, absent then back, unknown), MO by
 * short code to the owning ESME (queued while it is not bound), MT through the HTTP connector,
 * and source-address ownership.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { type Client, connect, type Delivery } from '../../src/client/client.js';
import { ConfigError, validateConfig } from '../../src/config/config.js';
import type { CommandStatusError } from '../../src/errors.js';
import { CommandStatus, type DeliverSm } from '../../src/pdu/index.js';
import { ManualClock } from '../../src/session/clock.js';
import { parseReceipt } from '../../src/sm/dlr.js';
import { until as waitUntil } from '../support/until.js';

const S = CommandStatus;
let clock: ManualClock;
/** Waits for I/O, moving the controllable clock along (see test/support/until.ts). */
const until = (cond: () => boolean | Promise<boolean>, what: string, ms = 5000) => waitUntil(cond, what, { ms, clock });

function collect(client: Client): DeliverSm[] {
  const items: DeliverSm[] = [];
  void (async () => {
    for await (const d of client.deliveries() as AsyncIterable<Delivery>) if (d.command === 'deliver_sm') items.push(d);
  })();
  return items;
}

const receiptOf = (items: DeliverSm[], id: string) => items.find((d) => (d.esmClass & 0x04) !== 0 && d.tlvs.receiptedMessageId === id);

describe('network side and routing', () => {
  let dir: string;
  let smsc: Smsc;
  let port: number;
  let hook: http.Server;
  const posted: Record<string, unknown>[] = [];
  const clients: Client[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smsc-net-'));
    clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 0, 0));
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        posted.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookPort = (hook.address() as AddressInfo).port;
    smsc = await startSmsc(
      validateConfig({
        smpp: { listeners: [{ port: 0 }], enquireLinkIntervalMs: 0 },
        store: { sqlite: { path: join(dir, 'smsc.db') } },
        delivery: { retryDelayMs: 1000, maxRetryDelayMs: 5000 },
        accounts: [
          { systemId: 'alice', password: 'apw', addresses: ['1000'] },
          { systemId: 'bob', password: 'bpw', addresses: ['12345'] },
        ],
        routes: {
          mt: [
            { prefix: '4470', connector: 'network' },
            { prefix: '4471', connector: 'network' },
            { prefix: '4472', connector: 'network' },
            { prefix: '4490', connector: 'hook' },
          ],
          mo: [{ match: '12345', account: 'bob' }],
        },
        connectors: { hook: { type: 'http', url: `http://127.0.0.1:${hookPort}/sms` } },
        network: {
          ranges: [
            { prefix: '4470', latencyMs: 0, successRatio: 1 },
            { prefix: '4471', latencyMs: 0, successRatio: 1 },
            { prefix: '4472', latencyMs: 0, successRatio: 0, failure: 'unknown' },
          ],
        },
      }),
      { clock },
    );
    port = smsc.listening[0]!.port;
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await smsc.stop();
    await new Promise<void>((r) => hook.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function bind(systemId: string, password: string, type: 'transmitter' | 'receiver' | 'transceiver') {
    const c = await connect({ port });
    await c.bind({ type, systemId, password });
    clients.push(c);
    return c;
  }

  test('MT to a network subscriber is delivered and the sender gets a DELIVRD receipt', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const inbox = collect(a);
    const r = await a.submit({ sourceAddr: '1000', destinationAddr: '447000000001', shortMessage: Buffer.from('to a handset'), registeredDelivery: 1 });
    await until(() => receiptOf(inbox, r.messageId) !== undefined, 'the receipt');
    const receipt = receiptOf(inbox, r.messageId)!;
    assert.equal(receipt.tlvs.messageState, 2);
    assert.equal(parseReceipt(receipt.shortMessage.toString('latin1'))?.stat, 'DELIVRD');
    assert.equal((await a.query(r.messageId, { sourceAddr: '1000' })).messageState, 2);
    await a.close();
  });

  test('an absent subscriber is retried, then delivered when the handset comes back', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const inbox = collect(a);
    smsc.network!.switchOff('447100000001', clock.now() + 20_000);
    const r = await a.submit({ sourceAddr: '1000', destinationAddr: '447100000001', shortMessage: Buffer.from('are you there'), registeredDelivery: 1 });
    await until(async () => ((await smsc.store.get(r.messageId))?.attempts ?? 0) >= 1, 'a failed attempt');
    const m = await smsc.store.get(r.messageId);
    assert.equal(m?.state, 'ENROUTE');
    assert.equal(receiptOf(inbox, r.messageId), undefined, 'no receipt while it is retried');
    await until(() => receiptOf(inbox, r.messageId) !== undefined, 'delivery after the handset returned', 10_000);
    assert.equal(receiptOf(inbox, r.messageId)!.tlvs.messageState, 2);
    assert.ok(clock.now() >= (m?.submittedAt ?? 0) + 20_000, 'not before the handset came back');
    await a.close();
  });

  test('an unknown subscriber is UNDELIVERABLE with an UNDELIV receipt', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const inbox = collect(a);
    const r = await a.submit({ sourceAddr: '1000', destinationAddr: '447200000001', shortMessage: Buffer.from('nobody'), registeredDelivery: 1 });
    await until(() => receiptOf(inbox, r.messageId) !== undefined, 'the receipt');
    assert.equal(receiptOf(inbox, r.messageId)!.tlvs.messageState, 5);
    assert.equal(parseReceipt(receiptOf(inbox, r.messageId)!.shortMessage.toString('latin1'))?.stat, 'UNDELIV');
    await a.close();
  });

  test('MO to short code 12345 reaches bob; while bob is not bound it is queued', async () => {
    const id = await smsc.network!.originateMo({ from: '447700900123', to: '12345', text: 'hello bob' });
    assert.match(id, /^\d+$/);
    clock.advance(60_000);
    assert.equal((await smsc.store.get(id))?.state, 'ENROUTE');
    const b = await bind('bob', 'bpw', 'receiver');
    const inbox = collect(b);
    await until(() => inbox.some((d) => d.shortMessage.toString() === 'hello bob'), 'the MO at bob');
    const mo = inbox.find((d) => d.shortMessage.toString() === 'hello bob')!;
    assert.equal(mo.sourceAddr, '447700900123');
    assert.equal(mo.destinationAddr, '12345');
    await assert.rejects(smsc.network!.originateMo({ from: '447700900123', to: '99999', text: 'x' }));
    await b.close();
  });

  test('MT through the http connector is POSTed as JSON', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const r = await a.submit({ sourceAddr: '1000', destinationAddr: '449000000001', shortMessage: Buffer.from('web hook') });
    await until(() => posted.some((p) => p['id'] === r.messageId), 'the POST');
    await until(async () => (await smsc.store.get(r.messageId))?.state === 'DELIVERED', 'DELIVERED');
    const body = posted.find((p) => p['id'] === r.messageId)!;
    assert.equal(body['text'], 'web hook');
    await a.close();
  });

  test('no route and a source address the account does not own are refused', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const status = (p: Promise<unknown>) =>
      p.then(
        () => 0,
        (e: CommandStatusError) => e.commandStatus,
      );
    assert.equal(await status(a.submit({ sourceAddr: '1000', destinationAddr: '555', shortMessage: Buffer.from('x') })), S.ESME_RINVDSTADR);
    assert.equal(await status(a.submit({ sourceAddr: '2000', destinationAddr: '447000000001', shortMessage: Buffer.from('x') })), S.ESME_RINVSRCADR);
    await a.close();
  });

  test('routes reload without a restart; a bad section is refused and the old routes stay', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const status = (dest: string) =>
      a.submit({ sourceAddr: '1000', destinationAddr: dest, shortMessage: Buffer.from('r') }).then(
        (r) => r.messageId,
        (e: CommandStatusError) => e.commandStatus,
      );
    assert.equal(await status('448800000001'), S.ESME_RINVDSTADR);
    smsc.reloadRoutes({ mt: [{ prefix: '4488', connector: 'network' }], mo: [{ match: '12345', account: 'bob' }] });
    const id = await status('448800000001');
    assert.equal(typeof id, 'string');
    assert.equal((await smsc.store.get(id as string))?.target, 'network');
    assert.equal(await status('447000000001'), S.ESME_RINVDSTADR, 'the old 4470 rule is gone');
    assert.throws(() => smsc.reloadRoutes({ mt: [{ prefix: '44', connector: 'nowhere' }] }), ConfigError);
    assert.equal(typeof (await status('448800000002')), 'string', 'the running routes stayed');
    await a.close();
  });

  test('a bad routes section is a config error naming the key', async () => {
    await assert.rejects(
      startSmsc(validateConfig({ smpp: { listeners: [{ port: 0 }] }, store: { sqlite: { path: ':memory:' } }, routes: { mt: [{ prefix: '44', connector: 'nowhere' }] } })),
      (e: unknown) => e instanceof ConfigError && e.key === 'routes.mt[0].connector',
    );
  });
});

test("a named network connector's own MO generator runs, as the network section's does", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-netmo-'));
  clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 0, 0));
  const smsc = await startSmsc(
    validateConfig({
      smpp: { listeners: [{ port: 0 }], enquireLinkIntervalMs: 0 },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [{ systemId: 'bob', password: 'bpw', addresses: ['2000'] }],
      routes: { mt: [{ prefix: '44', connector: 'handsets' }] },
      connectors: {
        handsets: { type: 'network', ranges: [{ prefix: '44' }], mo: { ratePerSecond: 100, from: '4477xxxxxxx', to: '2000', total: 5, tickMs: 10 } },
      },
    }),
    { clock },
  );
  const bob = await connect({ port: smsc.listening[0]!.port });
  try {
    await bob.bind({ type: 'receiver', systemId: 'bob', password: 'bpw' });
    const got = collect(bob);
    await until(() => got.length === 5, 'the five MO of the generator');
    assert.ok(got.every((d) => d.destinationAddr === '2000' && /^4477\d{7}$/.test(d.sourceAddr)));
  } finally {
    await bob.close();
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
