/**
 * MT through an `smpp` connector to a second instance of our SMSC and back with receipts: the
 * upstream's receipt (its own message id) becomes a receipt for our ESME with our message id.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkSections } from '../../src/app/check-config.js';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { type Client, connect, type Delivery } from '../../src/client/client.js';
import { ConfigError, validateConfig } from '../../src/config/config.js';
import { CommandStatusError } from '../../src/errors.js';
import { CommandStatus } from '../../src/pdu/constants.js';
import type { DeliverSm } from '../../src/pdu/types.js';
import { parseReceipt } from '../../src/sm/dlr.js';
import { startServer } from '../support/server.js';
import { testTlsPair } from '../support/tls.js';
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
      // Our SMSC binds as 'downstream'; MO to the short codes it owns upstream comes to us.
      accounts: [
        { systemId: 'downstream', password: 'dpw', addresses: ['1000', '9999'] },
        { systemId: 'handsets', password: 'hpw', addresses: ['447900000001'] },
      ],
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
  try {
    await until(() => receiptFor(r.messageId) !== undefined, 'the receipt', { ms: 20_000 });
  } catch (err) {
    // Say where it stopped: our message, the upstream's copy, and the receipts on both sides.
    const show = (ms: { id: string; direction: string; target: string; state: string; leaseOwner: string | null; attempts: number }[]) =>
      ms.map((m) => `${m.id} ${m.direction} ${m.target} ${m.state} lease=${m.leaseOwner} attempts=${m.attempts}`).join('; ');
    const ours = show(await smsc.store.find({ limit: 10 }));
    const theirs = show(await upstream.store.find({ limit: 10 }));
    throw new Error(`${(err as Error).message}; ours: ${ours}; upstream: ${theirs}; inbox: ${inbox.length}`);
  }
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

test('transaction mode through the upstream: answered with our id once the upstream has it; no receipt', async () => {
  const r = await alice.submit({ sourceAddr: '1000', destinationAddr: '447000000002', esmClass: 0x02, shortMessage: Buffer.from('tx upstream'), registeredDelivery: 1 });
  const ours = await smsc.store.get(r.messageId);
  assert.ok(ours !== undefined && ours.attempts === 1, 'answered after its one attempt');
  // The upstream's receipt ends it; our ESME gets none (the response carried the outcome).
  await until(async () => (await smsc.store.get(r.messageId))?.state === 'DELIVERED', 'DELIVERED by the upstream receipt', { ms: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(receiptFor(r.messageId), undefined);
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
    await until(() => got.some((d) => d.tlvs.receiptedMessageId === r.messageId), 'our receipt', { ms: 15_000 });
    assert.equal(got.find((d) => d.tlvs.receiptedMessageId === r.messageId)!.tlvs.messageState, 2);
    assert.equal((await node.store.get(r.messageId))?.state, 'DELIVERED');
  } finally {
    await c.close().catch(() => {});
    await node.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

/** A minimal upstream SMSC from the npm smpp package that answers submits and sends receipts when told. */
async function npmUpstream() {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  // biome-ignore lint/suspicious/noExplicitAny: the npm smpp package ships no types
  const smpp = require('smpp') as any;
  let n = 0x5a00;
  // biome-ignore lint/suspicious/noExplicitAny: untyped package
  const sessions: any[] = [];
  const submitted: { id: string; from: string; to: string }[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: untyped package
  const server = smpp.createServer((session: any) => {
    session.on('error', () => {});
    sessions.push(session);
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('bind_transceiver', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('enquire_link', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('unbind', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('submit_sm', (pdu: any) => {
      const id = (n++).toString(16);
      submitted.push({ id, from: pdu.source_addr, to: pdu.destination_addr });
      session.send(pdu.response({ message_id: id }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: server.address().port as number,
    submitted,
    /** Sends the receipt for `id` on the newest session. */
    receipt(s: { id: string; from: string; to: string }) {
      sessions.at(-1).deliver_sm({
        source_addr: s.to,
        destination_addr: s.from,
        esm_class: 4,
        short_message: `id:${s.id} sub:001 dlvrd:001 submit date:2611220000 done date:2611220000 stat:DELIVRD err:000 text:`,
        receipted_message_id: s.id,
        message_state: 2,
      });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('a receipt for a message forwarded before a restart still finds it (upstream ids are stored)', async () => {
  const up = await npmUpstream();
  const config = validateConfig({
    nodeId: 'n3',
    smpp: { listeners: [{ port: 0 }] },
    store: { sqlite: { path: join(dir, 'smsc-restart.db') } },
    accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
    connectors: { up: { type: 'smpp', host: '127.0.0.1', port: up.port, systemId: 'x', password: 'y' } },
    routes: { mt: [{ prefix: '44', connector: 'up' }] },
  });
  let node = await startSmsc(config);
  let c = await connect({ port: node.listening[0]!.port });
  try {
    await c.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
    const r = await c.submit({ sourceAddr: '1000', destinationAddr: '447700900777', shortMessage: Buffer.from('before restart'), registeredDelivery: 1 });
    await until(async () => (await node.store.get(r.messageId))?.remoteId !== null, 'forwarded with its upstream id');
    const forwarded = await node.store.get(r.messageId);
    assert.equal(forwarded?.remoteId, up.submitted[0]!.id);
    assert.equal(forwarded?.state, 'ENROUTE');
    await c.close();
    await node.stop();

    // A new process on the same database: nothing in memory knows the upstream id.
    node = await startSmsc(config);
    c = await connect({ port: node.listening[0]!.port });
    await until(() => up.submitted.length === 1 && node.server !== undefined, 'restarted');
    await until(async () => {
      up.receipt(up.submitted[0]!);
      await new Promise((res) => setTimeout(res, 50));
      return (await node.store.get(r.messageId))?.state === 'DELIVERED';
    }, 'the receipt matched after the restart', { ms: 10_000 });
    const receipts = await node.store.find({ account: 'alice', limit: 10 });
    assert.ok(receipts.some((m) => m.direction === 'receipt' && m.receiptFor === r.messageId), 'our receipt for alice was made');
  } finally {
    await c.close().catch(() => {});
    await node.stop();
    await up.close();
  }
});

test('failover routing: while the upstream is down, a route with failover uses the next connector', async () => {
  // A port nobody listens on: the upstream connector never binds.
  const probe = await npmUpstream();
  const deadPort = probe.port;
  await probe.close();
  const node = await startSmsc(
    validateConfig({
      nodeId: 'n4',
      smpp: { listeners: [{ port: 0 }] },
      store: { sqlite: { path: join(dir, 'smsc-failover.db') } },
      accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
      connectors: { down: { type: 'smpp', host: '127.0.0.1', port: deadPort, systemId: 'x', password: 'y' } },
      routes: {
        mt: [
          { prefix: '4479', connector: 'down', failover: ['network'] },
          { prefix: '4478', connector: 'down' },
        ],
      },
      network: { ranges: [{ prefix: '447', successRatio: 1 }] },
    }),
  );
  const c = await connect({ port: node.listening[0]!.port });
  try {
    await c.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
    const viaFailover = await c.submit({ sourceAddr: '1000', destinationAddr: '447900000001', shortMessage: Buffer.from('f') });
    const waits = await c.submit({ sourceAddr: '1000', destinationAddr: '447800000001', shortMessage: Buffer.from('w') });
    await until(async () => (await node.store.get(viaFailover.messageId))?.state === 'DELIVERED', 'delivered by the network');
    assert.equal((await node.store.get(viaFailover.messageId))?.target, 'network');
    const waiting = await node.store.get(waits.messageId);
    assert.deepEqual([waiting?.target, waiting?.state], ['down', 'ENROUTE'], 'no failover: queued for its connector');
  } finally {
    await c.close().catch(() => {});
    await node.stop();
  }
});

test('an upstream over TLS: verified against connectors.<name>.ca (relative to the config file); unverified, no bind and the reason shown', async () => {
  const pair = testTlsPair();
  const tlsDir = mkdtempSync(join(tmpdir(), 'smsc-up-tls-'));
  writeFileSync(join(tlsDir, 'up-cert.pem'), pair.cert);
  writeFileSync(join(tlsDir, 'up-key.pem'), pair.key);
  writeFileSync(join(tlsDir, 'up-ca.pem'), pair.cert);
  const secure = await startSmsc(
    validateConfig(
      {
        nodeId: 'up2',
        smpp: { listeners: [{ port: 0, tls: { cert: 'up-cert.pem', key: 'up-key.pem' } }] },
        store: { sqlite: { path: 'upstream.db' } },
        accounts: [{ systemId: 'downstream', password: 'dpw' }],
        routes: { mt: [{ prefix: '447', connector: 'network' }] },
        network: { ranges: [{ prefix: '4470', successRatio: 1 }] },
      },
      tlsDir,
    ),
  );
  const downstream = (label: string, tls: Record<string, unknown>) =>
    startSmsc(
      validateConfig(
        {
          nodeId: 'n3',
          smpp: { listeners: [{ port: 0 }] },
          store: { sqlite: { path: `${label}.db` } },
          accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
          connectors: {
            up: { type: 'smpp', host: '127.0.0.1', port: secure.listening[0]!.port, systemId: 'downstream', password: 'dpw', ...tls },
          },
          routes: { mt: [{ prefix: '447', connector: 'up' }] },
        },
        tlsDir,
      ),
    );
  try {
    const trusting = await downstream('trusting', { tls: true, ca: 'up-ca.pem' });
    const c = await connect({ port: trusting.listening[0]!.port });
    try {
      await c.bind({ type: 'transceiver', systemId: 'alice', password: 'apw' });
      const r = await c.submit({ sourceAddr: '1000', destinationAddr: '447000000009', shortMessage: Buffer.from('over tls') });
      await until(async () => (await trusting.store.get(r.messageId))?.state === 'DELIVERED', 'delivered through the TLS upstream', { ms: 15_000 });
      assert.deepEqual(trusting.connectors(), [{ name: 'up', type: 'smpp', state: 'bound' }]);
    } finally {
      await c.close().catch(() => {});
      await trusting.stop();
    }
    // The test certificate is self-signed: the system's CAs do not vouch for it.
    const unverified = await downstream('unverified', { tls: true });
    try {
      await until(() => unverified.connectors()[0]?.lastError !== undefined, 'the failed handshake', { ms: 15_000 });
      const [info] = unverified.connectors();
      assert.equal(info?.state, 'connecting');
      assert.match(info?.lastError ?? '', /self[- ]signed|certificate/i);
    } finally {
      await unverified.stop();
    }
  } finally {
    await secure.stop();
    rmSync(tlsDir, { recursive: true, force: true });
  }
});

test('connectors.<name>.ca: needs tls, must be readable; a relative name is read from the config file\'s folder', () => {
  const base = { type: 'smpp', host: 'h', port: 1, systemId: 's', password: 'p' };
  const check = (up: Record<string, unknown>) => checkSections(validateConfig({ connectors: { up: { ...base, ...up } } }, '/nowhere'));
  assert.throws(() => check({ ca: 'ca.pem' }), (e: Error) => e instanceof ConfigError && e.key === 'connectors.up.ca' && /tls: true/.test(e.message));
  assert.throws(() => check({ tls: true, ca: 'ca.pem' }), (e: Error) => e instanceof ConfigError && e.key === 'connectors.up.ca' && e.message.includes('/nowhere/ca.pem'));
  assert.throws(() => check({ tls: true, ca: 7 }), (e: Error) => e instanceof ConfigError && e.key === 'connectors.up.ca');
  // Not certificates (a key given by mistake): said at start, not at the first handshake.
  const keyDir = mkdtempSync(join(tmpdir(), 'smsc-up-ca-'));
  try {
    writeFileSync(join(keyDir, 'key.pem'), testTlsPair().key);
    assert.throws(
      () => checkSections(validateConfig({ connectors: { up: { ...base, tls: true, ca: 'key.pem' } } }, keyDir)),
      (e: Error) => e instanceof ConfigError && e.key === 'connectors.up.ca' && /PRIVATE KEY, not a CERTIFICATE/.test(e.message),
    );
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
});

test('MO from the upstream keeps its TLVs (SAR, ports) and protocol_id on the way to our ESME', async () => {
  const handsets = await connect({ port: upstream.listening[0]!.port });
  try {
    await handsets.bind({ type: 'transmitter', systemId: 'handsets', password: 'hpw' });
    await handsets.submit({
      sourceAddr: '447900000001',
      destinationAddr: '1000',
      protocolId: 0x40,
      shortMessage: Buffer.from('sar part one'),
      tlvs: { sarMsgRefNum: 0x0102, sarTotalSegments: 2, sarSegmentSeqnum: 1, sourcePort: 16000, destPort: 2948 },
    });
  } finally {
    await handsets.close();
  }
  await until(() => inbox.some((d) => d.shortMessage.toString() === 'sar part one'), 'the MO part at alice', { ms: 20_000 });
  const mo = inbox.find((d) => d.shortMessage.toString() === 'sar part one')!;
  assert.deepEqual(
    [mo.tlvs.sarMsgRefNum, mo.tlvs.sarTotalSegments, mo.tlvs.sarSegmentSeqnum, mo.tlvs.sourcePort, mo.tlvs.destPort, mo.protocolId],
    [0x0102, 2, 1, 16000, 2948, 0x40],
  );
});

test('MO from the upstream goes to the account owning its short code; one nobody owns here is refused for good', async () => {
  const net = upstream.network!;
  await net.originateMo({ from: '447000000042', to: '1000', text: 'hello from a handset upstream' });
  const text = (d: DeliverSm) => d.shortMessage.toString();
  await until(() => inbox.some((d) => text(d) === 'hello from a handset upstream'), 'the MO at alice', { ms: 20_000 });
  const mo = inbox.find((d) => text(d) === 'hello from a handset upstream')!;
  assert.equal(mo.sourceAddr, '447000000042');
  assert.equal(mo.destinationAddr, '1000');
  assert.equal(mo.esmClass & 0x3c, 0, 'an MO, not a receipt');
  const unowned = await net.originateMo({ from: '447000000043', to: '9999', text: 'nobody here' });
  await until(async () => (await upstream.store.get(unowned))?.state === 'UNDELIVERABLE', 'refused for good upstream (ESME_RX_P_APPN)', { ms: 20_000 });
});

test('an upstream that accepts without a message id: the message counts as forwarded, so a cancel_sm is refused', async () => {
  const bare = await startServer({ accounts: [{ systemId: 'downstream', password: 'dpw' }], handlers: { onSubmitSm: () => ({ messageId: '' }) } });
  const local = await startSmsc(
    validateConfig({
      nodeId: 'n2',
      smpp: { listeners: [{ port: 0 }] },
      store: { sqlite: { path: join(dir, 'noid.db') } },
      accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
      connectors: { bare: { type: 'smpp', host: '127.0.0.1', port: bare.port, systemId: 'downstream', password: 'dpw' } },
      routes: { mt: [{ prefix: '447', connector: 'bare' }] },
    }),
  );
  const c = await connect({ port: local.listening[0]!.port });
  try {
    await c.bind({ type: 'transceiver', systemId: 'alice', password: 'apw' });
    const { messageId } = await c.submit({ sourceAddr: '1000', destinationAddr: '447000000009', shortMessage: Buffer.from('no id'), registeredDelivery: 1 });
    await until(async () => (await local.store.get(messageId))?.remoteId != null, 'forwarded', { ms: 10_000 });
    const m = await local.store.get(messageId);
    assert.equal(m?.state, 'ENROUTE');
    // The upstream has it and will deliver it: a cancel that said ESME_ROK (and a DELETED receipt) would be false.
    await assert.rejects(c.cancel({ messageId, sourceAddr: '1000' }), (e: unknown) => e instanceof CommandStatusError && e.commandStatus === CommandStatus.ESME_RCANCELFAIL);
  } finally {
    await c.close();
    await local.stop();
    await bare.close();
  }
});
