/** Every PDU a session sends is published on smsc:pdu:out, header-only error responses too. */
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import net from 'node:net';
import { test } from 'node:test';
import { PduBuilder } from '../../test/support/pdu-builder.js';
import { deliverBody, startServer } from '../../test/support/server.js';
import { CommandId } from '../pdu/constants.js';
import { encodePdu } from '../pdu/encode.js';
import type { Pdu } from '../pdu/types.js';
import { SmscServer } from '../server/server.js';

test('error responses and generic_nack are traced on smsc:pdu:out', async () => {
  const seen: Pdu[] = [];
  const onOut = (m: unknown) => seen.push((m as { pdu: Pdu }).pdu);
  diagnostics_channel.subscribe('smsc:pdu:out', onOut);
  const server = new SmscServer({ accounts: [{ systemId: 'a', password: 'p' }] });
  const { port } = await server.listen({ port: 0 });
  const sock = net.connect({ port, host: '127.0.0.1' });
  try {
    await new Promise((r) => sock.once('connect', r));
    // submit_sm before bind → submit_sm_resp ESME_RINVBNDSTS; an unknown command → generic_nack.
    sock.write(
      encodePdu({
        command: 'submit_sm', commandStatus: 0, sequenceNumber: 5, serviceType: '', sourceAddrTon: 0, sourceAddrNpi: 0,
        sourceAddr: '', destAddrTon: 0, destAddrNpi: 0, destinationAddr: '1', esmClass: 0, protocolId: 0, priorityFlag: 0,
        scheduleDeliveryTime: '', validityPeriod: '', registeredDelivery: 0, replaceIfPresentFlag: 0, dataCoding: 0,
        smDefaultMsgId: 0, shortMessage: Buffer.alloc(0), tlvs: {},
      }),
    );
    sock.write(Buffer.from('00000010000000990000000000000006', 'hex'));
    const end = Date.now() + 3000;
    while (seen.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(
      seen.map((p) => [p.command, p.commandStatus, p.sequenceNumber]),
      [
        ['submit_sm_resp', 0x04, 5],
        ['generic_nack', 0x03, 6],
      ],
    );
  } finally {
    diagnostics_channel.unsubscribe('smsc:pdu:out', onOut);
    sock.destroy();
    await server.close();
  }
});

test('a request and its response on the channels: the header at once, the whole PDU when read', async () => {
  const events: { command: string; commandStatus: number; sequenceNumber: number; pdu: Pdu }[] = [];
  const onOut = (m: unknown) => events.push(m as (typeof events)[number]);
  const h = await startServer({});
  diagnostics_channel.subscribe('smsc:pdu:out', onOut);
  try {
    const { peer, session } = await h.boundPeer('receiver');
    const done = session.request('deliver_sm', deliverBody('traced text'));
    const dsm = await peer.expect('deliver_sm');
    peer.send(new PduBuilder().cstring('').build(CommandId.deliver_sm_resp, 0, dsm.sequenceNumber));
    await done;
    const out = events.find((e) => e.command === 'deliver_sm');
    assert.ok(out, 'the deliver_sm is published');
    assert.equal(out.commandStatus, 0);
    assert.equal(out.sequenceNumber, dsm.sequenceNumber);
    assert.equal(out.pdu.command, 'deliver_sm');
    assert.equal(out.pdu.sequenceNumber, dsm.sequenceNumber);
    assert.equal((out.pdu as Pdu & { shortMessage: Buffer }).shortMessage.toString('latin1'), 'traced text');
    assert.equal(out.pdu, out.pdu, 'built once');
  } finally {
    diagnostics_channel.unsubscribe('smsc:pdu:out', onOut);
    await h.close();
  }
});
