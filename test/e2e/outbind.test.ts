/**
 * Outbind kept up: an account with `outbind` is connected out to while none of its sessions
 * can take deliveries, again after a refused connection and after its session ends, and not
 * while it is bound. The ESME is a listening test session on 127.0.0.1; the SMSC's timers run
 * on a ManualClock moved along while the test waits.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSmsc } from '../../src/app/smsc.js';
import { type Client, connect, listenForOutbind } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import { CommandId, type DeliverSm, type PduOf } from '../../src/pdu/index.js';
import { ManualClock } from '../../src/session/clock.js';
import { Session } from '../../src/session/session.js';
import { startOutbindEsme } from '../support/outbind-esme.js';
import { PduBuilder } from '../support/pdu-builder.js';
import { testTlsPair } from '../support/tls.js';
import { until } from '../support/until.js';

/** An SMSC "HUB" on a SQLite file in `dir`: alice (1000) submits, bob (2000) is outbound to `port`. */
function startHub(dir: string, port: number, clock?: ManualClock) {
  return startSmsc(
    validateConfig({
      smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], systemId: 'HUB', enquireLinkIntervalMs: 0 },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [
        { systemId: 'alice', password: 'apw', addresses: ['1000'] },
        { systemId: 'bob', password: 'bpw', addresses: ['2000'], outbind: { host: '127.0.0.1', port } },
      ],
    }),
    clock === undefined ? {} : { clock },
  );
}

test('outbind: tried again after a refused connection and after its session ends, never while bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-outbind-'));
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 12, 0, 0));
  // The ESME: its first connection is dropped at once; later ones bind as receiver on outbind.
  const connections: net.Socket[] = [];
  const sessions: Session[] = [];
  const outbinds: PduOf<'outbind'>[] = [];
  const deliveries: string[] = [];
  const esme = net.createServer((socket) => {
    connections.push(socket);
    if (connections.length === 1) {
      socket.destroy();
      return;
    }
    const session = new Session(
      socket,
      { role: 'esme', enquireLinkIntervalMs: 0 },
      {
        onOutbind: (req, s) => {
          outbinds.push(req);
          void s
            .bind('receiver', { systemId: 'bob', password: 'bpw', systemType: '', interfaceVersion: 0x34, addrTon: 0, addrNpi: 0, addressRange: '' })
            .catch(() => {});
        },
        onRequest: (req) => {
          deliveries.push(Buffer.from((req as PduOf<'deliver_sm'>).shortMessage).toString());
          return { messageId: '' };
        },
      },
    );
    sessions.push(session);
  });
  await new Promise<void>((resolve) => esme.listen(0, '127.0.0.1', resolve));
  const port = (esme.address() as net.AddressInfo).port;
  const smsc = await startHub(dir, port, clock);
  const wait = (cond: () => boolean, what: string) => until(cond, what, { clock, stepMs: 250 });
  try {
    await wait(() => smsc.server.receiversOf('bob').length === 1, 'bob bound through the second outbind');
    assert.equal(connections.length, 2, 'the dropped connection was tried again');
    assert.equal(outbinds[0]?.systemId, 'HUB');
    assert.equal(outbinds[0]?.password, 'bpw');

    // Bound: no more outbinds, however long it stays.
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(connections.length, 2);

    // Its session ends: outbind again, and deliveries flow on the new one.
    sessions[0]!.destroy('the ESME went away');
    await wait(() => smsc.server.receiversOf('bob').length === 1 && connections.length === 3, 'bob bound through a third outbind');
    const alice = await connect({ port: smsc.listening[0]!.port });
    await alice.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
    await alice.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('via outbind') });
    await wait(() => deliveries.includes('via outbind'), 'the delivery on the outbound session');
    await alice.close();
  } finally {
    await smsc.stop();
    for (const s of sessions) s.destroy('test end');
    await new Promise<void>((resolve) => esme.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the client library answers an outbind: listenForOutbind binds as receiver and takes the deliveries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-outbind-'));
  const listener = await listenForOutbind({ port: 0, bind: { systemId: 'bob', password: 'bpw' }, smsc: { systemId: 'HUB' } });
  const smsc = await startHub(dir, listener.port);
  const clients = listener.clients();
  try {
    const bob = (await clients.next()).value as Client;
    assert.equal(bob.session.bindType, 'receiver');
    // Closing the listener leaves the clients it handed over alone.
    await listener.close();
    const alice = await connect({ port: smsc.listening[0]!.port });
    await alice.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
    await alice.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('to the listener') });
    const d = (await bob.deliveries().next()).value as DeliverSm;
    assert.equal(Buffer.from(d.shortMessage).toString(), 'to the listener');
    await Promise.all([alice.close(), bob.close()]);
  } finally {
    await listener.close();
    assert.equal((await clients.next()).done, true, 'the clients end with the listener');
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listenForOutbind refuses an outbind from another SMSC, and one that never comes', async () => {
  const clock = new ManualClock(0);
  const listener = await listenForOutbind({ port: 0, bind: { systemId: 'bob', password: 'bpw' }, smsc: { systemId: 'HUB' }, clock, session: { sessionInitTimeoutMs: 5000 } });
  try {
    const intruder = net.connect({ port: listener.port, host: '127.0.0.1' });
    const silent = net.connect({ port: listener.port, host: '127.0.0.1' });
    await Promise.all([intruder, silent].map((s) => new Promise((r) => s.once('connect', r))));
    const closed = (s: net.Socket) => new Promise<void>((r) => s.once('close', () => r()));
    const intruderClosed = closed(intruder);
    const silentClosed = closed(silent);
    // outbind from OTHER: system_id "OTHER", password "x".
    intruder.write(new PduBuilder().cstring('OTHER').cstring('x').build(CommandId.outbind, 0, 1));
    await intruderClosed;
    // The silent one is closed once the wait for its outbind runs out.
    await until(() => silent.destroyed || silent.readableEnded, 'the silent connection closed', { clock, stepMs: 1000 });
    await silentClosed;
  } finally {
    await listener.close();
  }
});

test('listenForOutbind with the session init timer off waits for a late outbind', async () => {
  const listener = await listenForOutbind({ port: 0, bind: { systemId: 'bob', password: 'bpw' }, session: { sessionInitTimeoutMs: 0 } });
  const smsc = net.connect({ port: listener.port, host: '127.0.0.1' });
  try {
    await new Promise((r) => smsc.once('connect', r));
    const got: Buffer[] = [];
    smsc.on('data', (b: Buffer) => got.push(b));
    await new Promise((r) => setTimeout(r, 50));
    smsc.write(new PduBuilder().cstring('HUB').cstring('pw').build(CommandId.outbind, 0, 1));
    await until(() => Buffer.concat(got).length >= 8, 'the bind that answers the outbind');
    assert.equal(Buffer.concat(got).readUInt32BE(4), CommandId.bind_receiver);
  } finally {
    smsc.destroy();
    await listener.close();
  }
});

test('outbind over TLS: the ESME\'s certificate verified against outbind.ca; without it (self-signed) no session starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-outbind-tls-'));
  const pair = testTlsPair();
  const caFile = join(dir, 'esme-ca.pem');
  writeFileSync(caFile, pair.cert);
  // The ESME over TLS: binds as bob's receiver on each outbind.
  const esme = await startOutbindEsme({ systemId: 'bob', password: 'bpw', tls: pair });
  const { port, sessions } = esme;
  const hub = (outbind: Record<string, unknown>, clock: ManualClock) =>
    startSmsc(
      validateConfig({
        smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], systemId: 'HUB', enquireLinkIntervalMs: 0 },
        store: { sqlite: { path: join(dir, `${sessions.length}-smsc.db`) } },
        accounts: [{ systemId: 'bob', password: 'bpw', addresses: ['2000'], outbind: { host: '127.0.0.1', port, ...outbind } }],
      }),
      { clock },
    );
  try {
    // Verified: bob is bound through the TLS outbind.
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 12));
    const trusted = await hub({ tls: true, ca: caFile }, clock);
    try {
      await until(() => trusted.server.receiversOf('bob').length === 1, 'bob bound over TLS', { clock, stepMs: 20, ms: 20_000 });
    } finally {
      await trusted.stop();
    }
    // Not verified (the system's CAs do not know the test certificate): the handshake fails.
    const clock2 = new ManualClock(Date.UTC(2026, 11, 7, 13));
    const untrusted = await hub({ tls: true }, clock2);
    try {
      const before = sessions.filter((s) => s.isBound).length;
      for (let i = 0; i < 20; i++) {
        clock2.advance(1000);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(untrusted.server.receiversOf('bob').length, 0, 'no session over an unverified connection');
      assert.equal(sessions.filter((s) => s.isBound).length, before);
    } finally {
      await untrusted.stop();
    }
  } finally {
    await esme.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
