/**
 * Interop with an independent SMPP implementation: the npm `smpp` package (node-smpp 0.5.1,
 * CommonJS, no types). Its client against our SMSC listener, and its server against our ESME
 * client. Each exchange checks the exact fields seen on the other side.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect } from '../../src/client/client.js';
import type { PduOf } from '../../src/pdu/types.js';
import type { Session } from '../../src/session/session.js';
import { AsyncQueue, withTimeout } from '../support/async.js';
import { call, type NodePdu, type NodeSession, nodeSmpp as smpp } from '../support/node-smpp.js';
import { deliverBody, type Harness, SMSC_ID, startServer } from '../support/server.js';

/** node-smpp decodes short_message into { message } (text) or a Buffer. */
function text(sm: unknown): string {
  if (Buffer.isBuffer(sm)) return sm.toString('latin1');
  const m = (sm as { message?: unknown }).message;
  return Buffer.isBuffer(m) ? m.toString('latin1') : String(m);
}

describe('node-smpp client → our SMSC', () => {
  test('bind_transceiver, submit_sm, enquire_link both ways, deliver_sm, unbind', async () => {
    let h: Harness | undefined;
    let peer: NodeSession | undefined;
    try {
      h = await startServer({ session: { enquireLinkIntervalMs: 30_000 } });
      const harness = h;
      const client = smpp.connect({ host: '127.0.0.1', port: h.port });
      peer = client;
      const errors: unknown[] = [];
      client.on('error', (e: never) => errors.push(e));
      const enquiries = new AsyncQueue<NodePdu>();
      client.on('enquire_link', (pdu: never) => {
        const p = pdu as NodePdu;
        enquiries.push(p);
        client.send(p.response());
      });
      const delivered = new AsyncQueue<NodePdu>();
      client.on('deliver_sm', (pdu: never) => {
        const p = pdu as NodePdu;
        delivered.push(p);
        client.send(p.response());
      });
      await withTimeout(new Promise<void>((resolve) => client.once('connect', () => resolve())), 3000, 'connect');

      const bound = h.nextBound();
      const bindResp = await call((cb) => client.bind_transceiver({ system_id: 'esme1', password: 'secret1' }, cb), 'bind');
      assert.equal(bindResp.command, 'bind_transceiver_resp');
      assert.equal(bindResp.command_status, 0);
      assert.equal(bindResp.system_id, SMSC_ID);
      assert.equal(bindResp.sc_interface_version, 0x50, 'node-smpp binds as 5.0 by default');
      const session: Session = await bound;
      assert.equal(session.bindType, 'transceiver');
      assert.equal(session.interfaceVersion, 0x50);

      const submitResp = await call(
        (cb) =>
          client.submit_sm(
            {
              source_addr_ton: 5,
              source_addr_npi: 0,
              source_addr: 'NodeApp',
              dest_addr_ton: 1,
              dest_addr_npi: 1,
              destination_addr: '46701234567',
              esm_class: 0,
              registered_delivery: 1,
              data_coding: 0,
              short_message: Buffer.from('Hello from node-smpp', 'latin1'),
              user_message_reference: 4242,
            },
            cb,
          ),
        'submit_sm',
      );
      assert.equal(submitResp.command, 'submit_sm_resp');
      assert.equal(submitResp.command_status, 0);
      assert.equal(submitResp.message_id, 'm1');
      const seen = harness.seen[0] as PduOf<'submit_sm'>;
      assert.equal(seen.command, 'submit_sm');
      assert.equal(seen.sourceAddrTon, 5);
      assert.equal(seen.sourceAddr, 'NodeApp');
      assert.equal(seen.destAddrTon, 1);
      assert.equal(seen.destAddrNpi, 1);
      assert.equal(seen.destinationAddr, '46701234567');
      assert.equal(seen.registeredDelivery, 1);
      assert.equal(seen.shortMessage.toString('latin1'), 'Hello from node-smpp');
      assert.equal(seen.tlvs.userMessageReference, 4242);
      assert.equal(seen.sequenceNumber, submitResp.sequence_number);

      const el = await call((cb) => client.enquire_link(cb), 'enquire_link');
      assert.equal(el.command, 'enquire_link_resp');
      assert.equal(el.command_status, 0);

      // The SMSC's own enquire_link after 30 s idle, answered by node-smpp.
      h.clock.advance(30_000);
      const ours = await enquiries.next(3000, 'enquire_link from the SMSC');
      assert.equal(ours.command, 'enquire_link');
      assert.equal(ours.sequence_number, 1);

      const resp = await session.request(
        'deliver_sm',
        deliverBody('MO text', { sourceAddr: '46709876543', destinationAddr: 'NodeApp', tlvs: { receiptedMessageId: 'abc123' } }),
      );
      assert.equal(resp.command, 'deliver_sm_resp');
      assert.equal(resp.commandStatus, 0);
      const dsm = await delivered.next(3000, 'deliver_sm at node-smpp');
      assert.equal(dsm.source_addr, '46709876543');
      assert.equal(dsm.destination_addr, 'NodeApp');
      assert.equal(text(dsm.short_message), 'MO text');
      assert.equal(dsm.receipted_message_id, 'abc123');
      assert.equal(dsm.sequence_number, 2);

      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const unbound = new Promise<void>((resolve) => harness.server.once('unbound', () => resolve()));
      const ub = await call((cb) => client.unbind(cb), 'unbind');
      assert.equal(ub.command, 'unbind_resp');
      assert.equal(ub.command_status, 0);
      await withTimeout(closed, 3000, 'the SMSC closes after unbind_resp');
      await withTimeout(unbound, 3000, 'unbound event');
      assert.equal(await session.closed(), undefined);
      assert.deepEqual(errors, []);
    } finally {
      peer?.destroy();
      await h?.close();
    }
  });

  test('a wrong password is refused with ESME_RINVPASWD and the connection closed', async () => {
    const h = await startServer({});
    const client = smpp.connect({ host: '127.0.0.1', port: h.port });
    client.on('error', () => {});
    try {
      await withTimeout(new Promise<void>((resolve) => client.once('connect', () => resolve())), 3000, 'connect');
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const resp = await call((cb) => client.bind_transceiver({ system_id: 'esme1', password: 'bad' }, cb), 'bind');
      assert.equal(resp.command, 'bind_transceiver_resp');
      assert.equal(resp.command_status, 0x0e);
      await withTimeout(closed, 3000, 'closed after refusal');
    } finally {
      client.destroy();
      await h.close();
    }
  });
});

describe('our ESME client → node-smpp server', () => {
  test('bind, submit, receive deliver_sm, enquire_link, close', async () => {
    const binds = new AsyncQueue<NodePdu>();
    const submits = new AsyncQueue<NodePdu>();
    const unbinds = new AsyncQueue<NodePdu>();
    const sessions = new AsyncQueue<NodeSession>();
    const server = smpp.createServer((s) => {
      s.on('error', () => {});
      s.on('bind_transceiver', (pdu: never) => {
        const p = pdu as NodePdu;
        binds.push(p);
        s.send(p.response({ system_id: 'NODESMSC' }));
        sessions.push(s);
      });
      s.on('submit_sm', (pdu: never) => {
        const p = pdu as NodePdu;
        submits.push(p);
        s.send(p.response({ message_id: `node-${submits.all.length}` }));
      });
      s.on('enquire_link', (pdu: never) => s.send((pdu as NodePdu).response()));
      s.on('unbind', (pdu: never) => {
        const p = pdu as NodePdu;
        unbinds.push(p);
        s.send(p.response());
        s.close();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port;
    const c = await connect({ port, session: { enquireLinkIntervalMs: 0 } });
    try {
      const resp = await c.bind({ type: 'transceiver', systemId: 'esme9', password: 'pw9', systemType: 'VMS' });
      assert.equal(resp.systemId, 'NODESMSC');
      const bind = await binds.next(3000, 'bind at node-smpp');
      assert.equal(bind.system_id, 'esme9');
      assert.equal(bind.password, 'pw9');
      assert.equal(bind.system_type, 'VMS');
      assert.equal(bind.interface_version, 0x34);
      assert.equal(bind.sequence_number, 1);
      const nodeSession = await sessions.next(3000, 'node session');

      const sr = await c.submit({
        sourceAddr: '12345',
        sourceAddrTon: 2,
        destinationAddr: '46700000001',
        registeredDelivery: 1,
        shortMessage: Buffer.from('to node', 'latin1'),
        tlvs: { userMessageReference: 7 },
      });
      assert.equal(sr.messageId, 'node-1');
      const sub = await submits.next(3000, 'submit at node-smpp');
      assert.equal(sub.source_addr, '12345');
      assert.equal(sub.source_addr_ton, 2);
      assert.equal(sub.destination_addr, '46700000001');
      assert.equal(sub.dest_addr_ton, 1);
      assert.equal(sub.registered_delivery, 1);
      assert.equal(text(sub.short_message), 'to node');
      assert.equal(sub.user_message_reference, 7);
      assert.equal(sub.sequence_number, 2);

      const deliveries = c.deliveries();
      const dresp = await call(
        (cb) =>
          nodeSession.deliver_sm(
            { source_addr: '46700000002', destination_addr: '12345', data_coding: 0, short_message: Buffer.from('from node', 'latin1') },
            cb,
          ),
        'deliver_sm',
      );
      assert.equal(dresp.command, 'deliver_sm_resp');
      assert.equal(dresp.command_status, 0);
      const d = (await withTimeout(deliveries.next(), 3000, 'delivery')).value as PduOf<'deliver_sm'>;
      assert.equal(d.command, 'deliver_sm');
      assert.equal(d.sourceAddr, '46700000002');
      assert.equal(d.destinationAddr, '12345');
      assert.equal(d.shortMessage.toString('latin1'), 'from node');

      const el = await c.enquireLink();
      assert.equal(el.commandStatus, 0);

      await withTimeout(c.close(), 3000, 'client close');
      const ub = await unbinds.next(3000, 'unbind at node-smpp');
      assert.equal(ub.command, 'unbind');
    } finally {
      c.session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
