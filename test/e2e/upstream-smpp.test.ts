/**
 * MT through an `smpp` connector to a second instance of our SMSC and back with receipts: the
 * upstream's receipt (its own message id) becomes a receipt for our ESME with our message id.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { type Client, connect, type Delivery } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import type { DeliverSm } from '../../src/pdu/types.js';
import { parseReceipt } from '../../src/sm/dlr.js';
import { until } from '../support/until.js';

let dir: string;
let upstream: Smsc;
let smsc: Smsc;
let alice: Client;
const inbox: DeliverSm[] = [];


before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsc-up-'));
  upstream = await startSmsc(
    validateConfig({
      nodeId: 'up1',
      smpp: { listeners: [{ port: 0 }] },
      store: { sqlite: { path: join(dir, 'upstream.db') } },
      accounts: [{ systemId: 'downstream', password: 'dpw' }],
      routes: { mt: [{ prefix: '447', connector: 'network' }] },
      network: {
        ranges: [
          { prefix: '4470', successRatio: 1 },
          { prefix: '4472', successRatio: 0, failure: 'unknown' },
        ],
      },
    }),
  );
  smsc = await startSmsc(
    validateConfig({
      nodeId: 'n1',
      smpp: { listeners: [{ port: 0 }] },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
      connectors: {
        upstream: { type: 'smpp', host: '127.0.0.1', port: upstream.listening[0]!.port, systemId: 'downstream', password: 'dpw' },
      },
      routes: { mt: [{ prefix: '447', connector: 'upstream' }] },
    }),
  );
  alice = await connect({ port: smsc.listening[0]!.port });
  await alice.bind({ type: 'transceiver', systemId: 'alice', password: 'apw' });
  void (async () => {
    for await (const d of alice.deliveries() as AsyncIterable<Delivery>) if (d.command === 'deliver_sm') inbox.push(d);
  })();
});

after(async () => {
  await alice.close().catch(() => {});
  await smsc.stop();
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
});

const receiptFor = (id: string) => inbox.find((d) => d.tlvs.receiptedMessageId === id);

test('delivered upstream: our ESME gets DELIVRD under our own message id', async () => {
  const r = await alice.submit({ sourceAddr: '1000', destinationAddr: '447000000001', shortMessage: Buffer.from('via upstream'), registeredDelivery: 1 });
  await until(() => receiptFor(r.messageId) !== undefined, 'the receipt', { ms: 10_000 });
  const receipt = receiptFor(r.messageId)!;
  assert.equal(receipt.tlvs.messageState, 2);
  assert.equal(parseReceipt(receipt.shortMessage.toString('latin1'))?.id, r.messageId);
  const ours = await smsc.store.get(r.messageId);
  assert.equal(ours?.state, 'DELIVERED');
  // The upstream stored it under its own id and delivered it to its network.
  const theirs = await upstream.store.find({ account: 'downstream', limit: 10 });
  assert.ok(theirs.some((m) => m.state === 'DELIVERED' && m.payload.toString() === 'via upstream'));
});

test('refused upstream (unknown subscriber): our ESME gets UNDELIV', async () => {
  const r = await alice.submit({ sourceAddr: '1000', destinationAddr: '447200000001', shortMessage: Buffer.from('nobody'), registeredDelivery: 1 });
  await until(() => receiptFor(r.messageId) !== undefined, 'the receipt', { ms: 10_000 });
  assert.equal(receiptFor(r.messageId)!.tlvs.messageState, 5);
  assert.equal((await smsc.store.get(r.messageId))?.state, 'UNDELIVERABLE');
});

test('the npm smpp package as the upstream SMSC: its receipt (hex id) comes back as ours', async () => {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  // biome-ignore lint/suspicious/noExplicitAny: the npm smpp package ships no types
  const smpp = require('smpp') as any;
  let n = 0xab00;
  // biome-ignore lint/suspicious/noExplicitAny: untyped package
  const server = smpp.createServer((session: any) => {
    session.on('error', () => {});
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('bind_transceiver', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('enquire_link', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('unbind', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('submit_sm', (pdu: any) => {
      const id = (n++).toString(16);
      session.send(pdu.response({ message_id: id }));
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 4,
        short_message: `id:${id} sub:001 dlvrd:001 submit date:2611220000 done date:2611220000 stat:DELIVRD err:000 text:`,
        receipted_message_id: id,
        message_state: 2,
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const node = await startSmsc(
    validateConfig({
      nodeId: 'n2',
      smpp: { listeners: [{ port: 0 }] },
      store: { sqlite: { path: join(dir, 'smsc-npm.db') } },
      accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
      connectors: { npm: { type: 'smpp', host: '127.0.0.1', port: server.address().port, systemId: 'x', password: 'y' } },
      routes: { mt: [{ prefix: '44', connector: 'npm' }] },
    }),
  );
  const c = await connect({ port: node.listening[0]!.port });
  const got: DeliverSm[] = [];
  try {
    await c.bind({ type: 'transceiver', systemId: 'alice', password: 'apw' });
    void (async () => {
      for await (const d of c.deliveries() as AsyncIterable<Delivery>) if (d.command === 'deliver_sm') got.push(d);
    })();
    const r = await c.submit({ sourceAddr: '1000', destinationAddr: '447700900123', shortMessage: Buffer.from('to npm'), registeredDelivery: 1 });
    await until(() => got.some((d) => d.tlvs.receiptedMessageId === r.messageId), 'our receipt');
    assert.equal(got.find((d) => d.tlvs.receiptedMessageId === r.messageId)!.tlvs.messageState, 2);
    assert.equal((await node.store.get(r.messageId))?.state, 'DELIVERED');
  } finally {
    await c.close().catch(() => {});
    await node.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
