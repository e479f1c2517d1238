/**
 * The benchmark's raw load generator speaks SMPP as our server decodes it: bind, submit_sm
 * (fields and sequence numbers as given, more than one slab of them in one tick), the
 * submit_sm_resp message ids, deliver_sm fields and its answer, enquire_link, unbind.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { type RawDeliver, RawEsme } from '../../bench/support/raw-esme.js';
import { CommandStatus } from '../../src/pdu/constants.js';
import type { PduOf } from '../../src/pdu/types.js';
import { withTimeout } from '../support/async.js';
import { deliverBody, startServer } from '../support/server.js';

test('bind: a refused password rejects with its command_status', async () => {
  const h = await startServer();
  try {
    await assert.rejects(RawEsme.bind(h.port, 'transmitter', 'esme1', 'wrong'), new RegExp(`command_status ${CommandStatus.ESME_RINVPASWD}\\b`));
  } finally {
    await h.close();
  }
});

test('submit_sm: every field as written, every response with its sequence number and message id', async () => {
  const h = await startServer();
  try {
    const esme = await RawEsme.bind(h.port, 'transmitter', 'esme1', 'secret1');
    const answers = new Map<number, { status: number; messageId: string }>();
    const N = 2000; // about 100 kB in one tick: more than one 64 kB slab
    const all = new Promise<void>((resolve) => {
      esme.onSubmitResp = (seq, status, messageId) => {
        answers.set(seq, { status, messageId });
        if (answers.size === N) resolve();
      };
    });
    for (let i = 1; i <= N; i++) esme.submit(i, `2000${i}`, i % 2, `text ${i} ${'x'.repeat(i % 100)}`);
    await withTimeout(all, 10_000, 'submit_sm_resp');
    const seen = h.seen as PduOf<'submit_sm'>[];
    assert.equal(seen.length, N);
    for (const [i, pdu] of seen.entries()) {
      const n = i + 1;
      assert.equal(pdu.command, 'submit_sm');
      assert.equal(pdu.sequenceNumber, n);
      assert.equal(pdu.sourceAddr, '1000');
      assert.equal(pdu.sourceAddrTon, 1);
      assert.equal(pdu.destAddrNpi, 1);
      assert.equal(pdu.destinationAddr, `2000${n}`);
      assert.equal(pdu.registeredDelivery, n % 2);
      assert.equal(pdu.shortMessage.toString('latin1'), `text ${n} ${'x'.repeat(n % 100)}`);
    }
    const ids = new Set([...answers.values()].map((a) => a.messageId));
    assert.equal(ids.size, N, 'each answer carries its own message id');
    assert.ok([...answers.values()].every((a) => a.status === 0 && /^m\d+$/.test(a.messageId)));
    await esme.close();
    assert.equal(esme.closed, true);
  } finally {
    await h.close();
  }
});

test('a refused submit_sm is answered with its status and no message id', async () => {
  const h = await startServer({ handlers: { onSubmitSm: () => CommandStatus.ESME_RTHROTTLED } });
  try {
    const esme = await RawEsme.bind(h.port, 'transmitter', 'esme1', 'secret1');
    const answer = new Promise<[number, number, string]>((resolve) => {
      esme.onSubmitResp = (...a) => resolve(a);
    });
    esme.submit(7, '2000', 0, 'x');
    assert.deepEqual(await withTimeout(answer, 5000, 'submit_sm_resp'), [7, CommandStatus.ESME_RTHROTTLED, '']);
    await esme.close();
  } finally {
    await h.close();
  }
});

test('receiver: deliver_sm fields read and answered, enquire_link answered, unbind closes', async () => {
  const h = await startServer();
  try {
    const bound = h.nextBound();
    const esme = await RawEsme.bind(h.port, 'receiver', 'esme1', 'secret1');
    const session = await bound;
    const got: { esmClass: number; text: string; receiptedMessageId: string | undefined }[] = [];
    esme.onDeliver = (d: RawDeliver) => got.push({ esmClass: d.esmClass, text: d.text.toString('latin1'), receiptedMessageId: d.receiptedMessageId });
    const r1 = await session.request('deliver_sm', deliverBody('plain MO'));
    const r2 = await session.request(
      'deliver_sm',
      deliverBody('id:abc sub:001 dlvrd:001 stat:DELIVRD', { esmClass: 0x04, tlvs: { receiptedMessageId: 'abc', messageState: 2 } }),
    );
    const r3 = await session.request('deliver_sm', deliverBody('', { tlvs: { messagePayload: Buffer.from('from the payload', 'latin1') } }));
    assert.deepEqual([r1.commandStatus, r2.commandStatus, r3.commandStatus], [0, 0, 0]);
    assert.deepEqual(got, [
      { esmClass: 0, text: 'plain MO', receiptedMessageId: undefined },
      { esmClass: 0x04, text: 'id:abc sub:001 dlvrd:001 stat:DELIVRD', receiptedMessageId: 'abc' },
      { esmClass: 0, text: 'from the payload', receiptedMessageId: undefined },
    ]);
    assert.equal((await session.request('enquire_link', {})).commandStatus, 0);
    const closed = new Promise<void>((resolve) => {
      esme.onClose = resolve;
    });
    const unbound = await session.request('unbind', {});
    assert.equal(unbound.commandStatus, 0);
    await withTimeout(closed, 5000, 'the socket closes after the SMSC unbinds');
  } finally {
    await h.close();
  }
});

/** A TCP server on 127.0.0.1 that hands each connection to `onSocket` and answers nothing itself. */
async function silentServer(onSocket: (s: Socket) => void = () => {}): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test('a bind never answered fails after its timeout instead of hanging', async () => {
  const server = await silentServer();
  try {
    await assert.rejects(RawEsme.bind(server.port, 'transmitter', 'esme1', 'secret1', 200), /not answered within 200 ms/);
  } finally {
    await server.close();
  }
});

test('a command_length over 64 kB closes the session; a submit over the SMPP sizes is refused before it is written', async () => {
  const h = await startServer();
  try {
    const esme = await RawEsme.bind(h.port, 'transmitter', 'esme1', 'secret1');
    assert.throws(() => esme.submit(1, '2'.repeat(21), 0, 'x'), RangeError);
    assert.throws(() => esme.submit(1, '2000', 0, 'x'.repeat(255)), RangeError);
    esme.submit(1, '2'.repeat(20), 0, 'x'.repeat(254)); // the largest: still answered
    const answer = new Promise<number>((resolve) => {
      esme.onSubmitResp = (_seq, status) => resolve(status);
    });
    assert.equal(await withTimeout(answer, 5000, 'submit_sm_resp'), 0);
    await esme.close();
  } finally {
    await h.close();
  }
  // A server whose bind answer is fine but whose next PDU claims 1 MB.
  const bogus = await silentServer((s) =>
    s.once('data', (bind) => {
      const resp = Buffer.alloc(17);
      resp.writeUInt32BE(17, 0);
      resp.writeUInt32BE(0x80000002, 4);
      resp.writeUInt32BE(bind.readUInt32BE(12), 12);
      const huge = Buffer.alloc(16);
      huge.writeUInt32BE(1 << 20, 0);
      s.write(Buffer.concat([resp, huge]));
    }),
  );
  try {
    const esme = await RawEsme.bind(bogus.port, 'transmitter', 'esme1', 'secret1');
    const closed = new Promise<void>((resolve) => {
      esme.onClose = resolve;
    });
    if (!esme.closed) await withTimeout(closed, 5000, 'the session closes on a command_length over 64 kB');
    assert.equal(esme.closed, true);
  } finally {
    await bogus.close();
  }
});
