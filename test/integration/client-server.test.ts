/**
 * Our ESME client against our SMSC listener over real TCP (and TLS): binds, enquire_link and
 * unbind in both directions, wrong-state requests, the window, response timeouts, a frozen
 * peer, reconnect with back-off, deliveries with automatic and manual acknowledgement,
 * sequence numbers, and outbind. Timers run on ManualClocks (one for the server, one for the
 * client); real time is only a guard against hangs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import net from 'node:net';
import { describe, test } from 'node:test';
import { type Client, connect, type Delivery } from '../../src/client/client.js';
import {
  CommandStatusError,
  InvalidArgumentError,
  InvalidStateError,
  PartialSendError,
  ResponseTimeoutError,
  SessionClosedError,
  WindowFullError,
} from '../../src/errors.js';
import { CommandStatus as S } from '../../src/pdu/constants.js';
import { encodePdu } from '../../src/pdu/encode.js';
import type { Pdu, PduOf } from '../../src/pdu/types.js';
import { type AccountPolicy, hashPassword } from '../../src/server/accounts.js';
import type { SessionContext } from '../../src/server/server.js';
import { ManualClock } from '../../src/session/clock.js';
import { type Reply, Session } from '../../src/session/session.js';
import { SessionState } from '../../src/session/state.js';
import { decodeText } from '../../src/sm/encoding.js';
import { concatInfoOfUdh, parseUdh } from '../../src/sm/udh.js';
import { AsyncQueue, type Deferred, deferred, tick, waitFor, withTimeout } from '../support/async.js';
import { RawPeer } from '../support/raw-peer.js';
import { ACCOUNTS, deliverBody, type Harness, SMSC_ID, startServer } from '../support/server.js';
import { testTlsPair } from '../support/tls.js';

type StartOptions = Parameters<typeof startServer>[0];

async function withServer(options: StartOptions, fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startServer(options);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** Records every PDU a session of `role` receives (diagnostics channel smsc:pdu:in) until stopped. */
function tapIn(role: 'smsc' | 'esme'): { pdus: Pdu[]; stop(): void } {
  const pdus: Pdu[] = [];
  const ch = diagnostics_channel.channel('smsc:pdu:in');
  const fn = (msg: unknown) => {
    const { session, pdu } = msg as { session: Session; pdu: Pdu };
    if (session.role === role) pdus.push(pdu);
  };
  ch.subscribe(fn);
  return { pdus, stop: () => ch.unsubscribe(fn) };
}

/** A listener on 127.0.0.1 whose connections a test drives by hand (raw PDUs). */
async function fakeSmsc(): Promise<{ port: number; peers: RawPeer[]; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const peers: RawPeer[] = [];
  server.on('connection', (socket) => peers.push(RawPeer.wrap(socket)));
  return {
    port: (server.address() as net.AddressInfo).port,
    peers,
    async close() {
      for (const p of peers) p.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Ends a reconnecting client at the end of a test (or it would wait to reconnect, keeping the process alive). */
async function endClient(c: Client): Promise<void> {
  c.session.destroy('test end');
  await c.close();
}

const NO_TIMERS = { enquireLinkIntervalMs: 0 };
const BIND = { systemId: 'esme1', password: 'secret1' } as const;

/** A submit handler that holds every request until the test answers it; counts concurrency. */
function holdingHandler(): {
  arrivals: AsyncQueue<{ req: PduOf<'submit_sm'>; reply: Deferred<Reply> }>;
  maxConcurrent: () => number;
  handler: (req: PduOf<'submit_sm'>) => Promise<Reply>;
} {
  const arrivals = new AsyncQueue<{ req: PduOf<'submit_sm'>; reply: Deferred<Reply> }>();
  let current = 0;
  let max = 0;
  return {
    arrivals,
    maxConcurrent: () => max,
    handler: (req) => {
      current++;
      max = Math.max(max, current);
      const reply = deferred<Reply>();
      // Copy: octet fields are views into a frame.
      arrivals.push({ req: { ...req, shortMessage: Buffer.from(req.shortMessage) }, reply });
      return reply.promise.finally(() => {
        current--;
      });
    },
  };
}

// ---- binds, TCP and TLS -------------------------------------------------------------------

describe('binds over TCP and TLS', () => {
  for (const transport of ['TCP', 'TLS'] as const) {
    for (const type of ['transmitter', 'receiver', 'transceiver'] as const) {
      const tlsPair = transport === 'TLS' ? testTlsPair() : undefined;
      test(`bind ${type} over ${transport}`, () =>
        withServer(tlsPair ? { listen: { tls: { cert: tlsPair.cert, key: tlsPair.key } } } : {}, async (h) => {
          const bound = new Promise<SessionContext>((resolve) => h.server.once('bound', (_s: Session, ctx: SessionContext) => resolve(ctx)));
          const c = await connect({
            port: h.port,
            session: NO_TIMERS,
            ...(tlsPair ? { tls: { ca: tlsPair.cert, servername: 'localhost' } } : {}),
          });
          const resp = await c.bind({ type, ...BIND });
          assert.equal(resp.systemId, SMSC_ID);
          assert.equal(resp.tlvs.scInterfaceVersion, 0x34);
          const ctx = await bound;
          assert.equal(ctx.bindType, type);
          assert.equal(ctx.systemId, 'esme1');
          assert.equal(c.session.bindType, type);
          assert.equal(
            c.session.state,
            { transmitter: SessionState.BoundTx, receiver: SessionState.BoundRx, transceiver: SessionState.BoundTrx }[type],
          );
          if (type !== 'receiver') {
            const r = await c.submit({ destinationAddr: '4670000002', shortMessage: Buffer.from('hi') });
            assert.equal(r.messageId, 'm1');
          }
          assert.equal(h.server.receiversOf('esme1').length, type === 'transmitter' ? 0 : 1);
          await c.close();
        }));
    }
  }

  test('a refused bind rejects with CommandStatusError(ESME_RINVPASWD)', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await assert.rejects(c.bind({ type: 'transceiver', systemId: 'esme1', password: 'nope' }), (e: unknown) => {
        assert.ok(e instanceof CommandStatusError);
        assert.equal(e.commandStatus, S.ESME_RINVPASWD);
        assert.equal(e.statusName, 'ESME_RINVPASWD');
        return true;
      });
      await withTimeout(c.closed(), 2000, 'client closed after the refusal');
    }));

  test('account policy: windowSize applies after bind; passwordHash; disabled accounts', () =>
    withServer(
      {
        accounts: [
          { systemId: 'esme1', passwordHash: hashPassword('hashpw1'), windowSize: 3 },
          { systemId: 'esme2', password: 'secret2', disabled: true },
        ],
      },
      async (h) => {
        const c = await connect({ port: h.port, session: NO_TIMERS });
        const bound = h.nextBound();
        await c.bind({ type: 'transceiver', systemId: 'esme1', password: 'hashpw1' });
        assert.equal((await bound).windowSize, 3);
        await c.close();
        const wrong = await connect({ port: h.port, session: NO_TIMERS });
        await assert.rejects(wrong.bind({ type: 'transceiver', systemId: 'esme1', password: 'hashpw2' }), (e: unknown) => {
          return e instanceof CommandStatusError && e.commandStatus === S.ESME_RINVPASWD;
        });
        const disabled = await connect({ port: h.port, session: NO_TIMERS });
        await assert.rejects(disabled.bind({ type: 'transceiver', systemId: 'esme2', password: 'secret2' }), (e: unknown) => {
          return e instanceof CommandStatusError && e.commandStatus === S.ESME_RBINDFAIL;
        });
      },
    ));

  test('connect() to a closed port rejects', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(connect({ port }), (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED');
  });

  test('TLS: bind, submit, deliver and close', async () => {
    const { cert, key } = testTlsPair();
    await withServer({ listen: { tls: { cert, key } } }, async (h) => {
      const c = await connect({ port: h.port, tls: { ca: cert, servername: 'localhost' }, session: NO_TIMERS });
      const bound = h.nextBound();
      await c.bind({ type: 'transceiver', ...BIND });
      const serverSession = await bound;
      const r = await c.submit({ destinationAddr: '123', shortMessage: Buffer.from('over tls') });
      assert.equal(r.messageId, 'm1');
      assert.equal((h.seen[0] as PduOf<'submit_sm'>).shortMessage.toString(), 'over tls');
      const it = c.deliveries();
      const delivered = serverSession.request('deliver_sm', deliverBody('tls mo'));
      const d = await withTimeout(it.next(), 2000, 'delivery');
      assert.equal((d.value as PduOf<'deliver_sm'>).shortMessage.toString(), 'tls mo');
      assert.equal((await delivered).commandStatus, 0);
      await c.close();
    });
  });

  test('TLS: a client that does not trust the certificate cannot connect', async () => {
    const { cert, key } = testTlsPair();
    await withServer({ listen: { tls: { cert, key } } }, async (h) => {
      await assert.rejects(connect({ port: h.port, tls: { servername: 'localhost' } }));
    });
  });
});

// ---- enquire_link and unbind --------------------------------------------------------------

describe('enquire_link and unbind', () => {
  test('client enquire_link round trip', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await c.bind({ type: 'transmitter', ...BIND });
      const r = await c.enquireLink();
      assert.equal(r.command, 'enquire_link_resp');
      assert.equal(r.commandStatus, 0);
      await c.close();
    }));

  test('the server sends enquire_link when idle and the client answers it', () =>
    withServer({ session: { enquireLinkIntervalMs: 30_000, responseTimeoutMs: 10_000 } }, async (h) => {
      const esmeIn = tapIn('esme');
      const smscIn = tapIn('smsc');
      try {
        const c = await connect({ port: h.port, session: NO_TIMERS });
        const bound = h.nextBound();
        await c.bind({ type: 'transceiver', ...BIND });
        const serverSession = await bound;
        h.clock.advance(29_999);
        await c.enquireLink(); // a round trip: nothing arrived before it
        assert.equal(esmeIn.pdus.filter((p) => p.command === 'enquire_link').length, 0);
        // The client's own enquire_link reset the idle timer at 29 999; idle again 30 000 later.
        h.clock.advance(30_000);
        await waitFor(() => smscIn.pdus.some((p) => p.command === 'enquire_link_resp'), 'enquire_link_resp at the SMSC');
        assert.equal(esmeIn.pdus.filter((p) => p.command === 'enquire_link').length, 1);
        h.clock.advance(10_000);
        await tick();
        assert.equal(serverSession.isBound, true, 'answered: the session stays');
        await c.close();
      } finally {
        esmeIn.stop();
        smscIn.stop();
      }
    }));

  test('client close(): unbind, server session closes cleanly, unbound event', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      const bound = h.nextBound();
      await c.bind({ type: 'transceiver', ...BIND });
      const serverSession = await bound;
      const unbound = new Promise<Session>((resolve) => h.server.once('unbound', (s: Session) => resolve(s)));
      await c.close();
      assert.equal(await serverSession.closed(), undefined);
      assert.equal(await unbound, serverSession);
      await withTimeout(c.closed(), 2000, 'client closed');
      assert.equal(c.session.state, SessionState.Closed);
      await assert.rejects(c.submit({ destinationAddr: '1' }), SessionClosedError);
    }));

  test('server close(): the client receives unbind, answers, and is closed', () =>
    withServer({}, async (h) => {
      const esmeIn = tapIn('esme');
      try {
        const c = await connect({ port: h.port, session: NO_TIMERS });
        await c.bind({ type: 'transceiver', ...BIND });
        await withTimeout(h.server.close(), 2000, 'server close with a live client');
        await withTimeout(c.closed(), 2000, 'client closed');
        assert.ok(esmeIn.pdus.some((p) => p.command === 'unbind'));
        assert.equal(c.session.state, SessionState.Closed);
      } finally {
        esmeIn.stop();
      }
    }));
});

// ---- requests, window, timeouts -----------------------------------------------------------

describe('requests, window and timeouts', () => {
  test('submit on a receiver bind: CommandStatusError ESME_RINVBNDSTS', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await c.bind({ type: 'receiver', ...BIND });
      await assert.rejects(c.submit({ destinationAddr: '4670000002' }), (e: unknown) => {
        assert.ok(e instanceof CommandStatusError);
        assert.equal(e.commandStatus, S.ESME_RINVBNDSTS);
        return true;
      });
      assert.equal(h.seen.length, 0);
      await c.close();
    }));

  test('query, cancel, replace, submit_multi and data_sm reach their handlers', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await c.bind({ type: 'transceiver', ...BIND });
      const q = await c.query('abc', { sourceAddr: '123' });
      assert.equal(q.messageId, 'abc');
      assert.equal(q.messageState, 1);
      await c.cancel({ messageId: 'abc' });
      await c.replace({ messageId: 'abc', shortMessage: Buffer.from('new') });
      const m = await c.submitMulti({
        serviceType: '',
        sourceAddrTon: 0,
        sourceAddrNpi: 0,
        sourceAddr: '1',
        destAddresses: [
          { destFlag: 1, destAddrTon: 1, destAddrNpi: 1, destinationAddr: '2' },
          { destFlag: 2, dlName: 'list' },
        ],
        esmClass: 0,
        protocolId: 0,
        priorityFlag: 0,
        scheduleDeliveryTime: '',
        validityPeriod: '',
        registeredDelivery: 0,
        replaceIfPresentFlag: 0,
        dataCoding: 0,
        smDefaultMsgId: 0,
        shortMessage: Buffer.from('multi'),
        tlvs: {},
      });
      assert.deepEqual(m.unsuccessSmes, []);
      await c.dataSm({
        serviceType: '',
        sourceAddrTon: 0,
        sourceAddrNpi: 0,
        sourceAddr: '1',
        destAddrTon: 0,
        destAddrNpi: 0,
        destinationAddr: '2',
        esmClass: 0,
        registeredDelivery: 0,
        dataCoding: 0,
        tlvs: { messagePayload: Buffer.from('payload') },
      });
      assert.deepEqual(
        h.seen.map((p) => p.command),
        ['query_sm', 'cancel_sm', 'replace_sm', 'submit_multi', 'data_sm'],
      );
      await c.close();
    }));

  test('sendText: a short GSM text in one submit; a long UCS-2 one in concatenated parts (UDH, or SAR TLVs); a bad split names the field', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await c.bind({ type: 'transceiver', ...BIND });
      assert.deepEqual(await c.sendText({ sourceAddr: 'Shop', destinationAddr: '4670', text: 'Hello @ you', registeredDelivery: 1 }), ['m1']);
      const one = h.seen[0] as PduOf<'submit_sm'>;
      assert.equal(one.dataCoding, 0);
      assert.equal(one.esmClass, 0);
      assert.equal(one.registeredDelivery, 1);
      assert.equal(decodeText(one.shortMessage, 0), 'Hello @ you');

      const long = 'Привет, мир! '.repeat(10); // 130 UCS-2 characters: two parts of at most 67
      const ids = await c.sendText({ destinationAddr: '4670', text: long });
      assert.deepEqual(ids, ['m2', 'm3']);
      const parts = h.seen.slice(1) as PduOf<'submit_sm'>[];
      assert.deepEqual(
        parts.map((p) => [p.dataCoding, p.esmClass & 0x40]),
        [
          [8, 0x40],
          [8, 0x40],
        ],
      );
      const udhs = parts.map((p) => parseUdh(p.shortMessage)!);
      const concat = udhs.map((u) => concatInfoOfUdh(u));
      assert.deepEqual(
        concat.map((u) => [u?.total, u?.seq]),
        [
          [2, 1],
          [2, 2],
        ],
      );
      assert.equal(concat[0]?.ref, concat[1]?.ref, 'one reference for the parts of one message');
      assert.equal(parts.map((p, i) => decodeText(p.shortMessage.subarray(udhs[i]!.length), 8)).join(''), long);

      h.seen.length = 0;
      await c.sendText({ destinationAddr: '4670', text: 'x'.repeat(200), split: 'sar', esmClass: 0x03 });
      const sar = h.seen as PduOf<'submit_sm'>[];
      assert.deepEqual(
        sar.map((p) => [p.esmClass, p.tlvs.sarTotalSegments, p.tlvs.sarSegmentSeqnum, p.shortMessage.length]),
        [
          [0x03, 2, 1, 153],
          [0x03, 2, 2, 47],
        ],
      );
      await assert.rejects(c.sendText({ destinationAddr: '4670', text: 'x', split: 'bogus' as 'sar' }), (e) => e instanceof InvalidArgumentError && /split/.test(e.message));
      assert.equal(h.seen.length, 2, 'nothing sent for a bad split');
      await c.close();
    }));

  test('sendText: a part after the first refused stops the rest, PartialSendError carries the accepted ids; sar and payload refused on a 3.3 bind', () => {
    let n = 0;
    return withServer({ handlers: { onSubmitSm: () => (++n === 2 ? S.ESME_RTHROTTLED : { messageId: `p${n}` }) } }, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await c.bind({ type: 'transceiver', ...BIND });
      const err = await c.sendText({ destinationAddr: '4670', text: 'y'.repeat(400) }).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof PartialSendError, String(err));
      assert.deepEqual([err.messageIds, err.parts], [['p1'], 3]);
      assert.ok(err.cause instanceof CommandStatusError && err.cause.commandStatus === S.ESME_RTHROTTLED);
      assert.equal(n, 2, 'the third part was not sent');
      await c.close();
      const old = await connect({ port: h.port, session: NO_TIMERS });
      await old.bind({ type: 'transceiver', ...BIND, interfaceVersion: 0x33 });
      for (const split of ['sar', 'payload'] as const) {
        await assert.rejects(old.sendText({ destinationAddr: '4670', text: 'x'.repeat(200), split }), (e) => e instanceof InvalidArgumentError && /3\.3/.test(e.message));
      }
      assert.equal(n, 2, 'nothing sent');
      await old.close();
    });
  });

  test('window of 5: the 6th submit waits, wait:false throws WindowFullError, never more than 5 outstanding', async () => {
    const hold = holdingHandler();
    await withServer({ handlers: { onSubmitSm: hold.handler } }, async (h) => {
      const c = await connect({ port: h.port, session: { ...NO_TIMERS, windowSize: 5 } });
      const bound = h.nextBound();
      await c.bind({ type: 'transceiver', ...BIND });
      const serverSession = await bound;
      const results = Array.from({ length: 6 }, (_, i) => c.submit({ destinationAddr: `${i}` }));
      const held = [];
      for (let i = 0; i < 5; i++) held.push(await hold.arrivals.next(2000, `submit ${i}`));
      assert.equal(c.session.outstanding, 5);
      await assert.rejects(c.submit({ destinationAddr: 'x' }, { wait: false }), WindowFullError);
      // A server-to-client round trip: the 6th submit has still not been sent.
      await serverSession.request('enquire_link', {} as never);
      assert.equal(hold.arrivals.length, 0, 'the 6th submit waited for a slot');
      held[0]!.reply.resolve({ messageId: 'r0' });
      assert.equal((await results[0]!).messageId, 'r0');
      const sixth = await hold.arrivals.next(2000, 'the 6th submit after a slot freed');
      assert.equal(sixth.req.destinationAddr, '5');
      for (const [i, x] of [...held.slice(1), sixth].entries()) x.reply.resolve({ messageId: `r${i + 1}` });
      const all = await Promise.all(results);
      assert.deepEqual(
        all.map((r) => r.messageId),
        ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'],
      );
      assert.equal(hold.maxConcurrent(), 5, 'the server never saw more than 5 at once');
      assert.equal(c.session.outstanding, 0);
      await c.close();
    });
  });

  test('response timeout: ResponseTimeoutError after the response timer, the slot is freed', async () => {
    const hold = holdingHandler();
    await withServer({ handlers: { onSubmitSm: hold.handler } }, async (h) => {
      const cc = new ManualClock();
      const c = await connect({ port: h.port, clock: cc, session: { ...NO_TIMERS, windowSize: 1, responseTimeoutMs: 5000 } });
      await c.bind({ type: 'transceiver', ...BIND });
      let settled = false;
      const first = c.submit({ destinationAddr: 'slow' });
      first.then(
        () => (settled = true),
        () => (settled = true),
      );
      const held = await hold.arrivals.next(2000, 'first submit');
      cc.advance(4999);
      await tick();
      assert.equal(settled, false);
      cc.advance(1);
      await assert.rejects(first, (e: unknown) => {
        assert.ok(e instanceof ResponseTimeoutError);
        assert.equal(e.request.command, 'submit_sm');
        return true;
      });
      assert.equal(c.session.outstanding, 0, 'the window slot is free again');
      const second = c.submit({ destinationAddr: 'fast' });
      const next = await hold.arrivals.next(2000, 'second submit');
      next.reply.resolve({ messageId: 'ok2' });
      assert.equal((await second).messageId, 'ok2');
      // The late answer to the first submit is dropped without harm.
      held.reply.resolve({ messageId: 'late' });
      await c.enquireLink();
      assert.equal(c.session.isBound, true);
      await c.close();
    });
  });
});

// ---- frozen peer --------------------------------------------------------------------------

describe('a peer that stops reading', () => {
  const accounts: AccountPolicy[] = [{ systemId: 'esme1', password: 'secret1', windowSize: 1000 }];
  const payload = Buffer.alloc(60_000, 0x61);
  const big = () => deliverBody('', { tlvs: { messagePayload: payload } });

  test('the SMSC drops it after drainTimeoutMs', () =>
    withServer({ accounts, session: { drainTimeoutMs: 5000, responseTimeoutMs: 600_000 } }, async (h) => {
      const { peer, session } = await h.boundPeer('receiver');
      peer.pauseReading();
      const pending = Array.from({ length: 300 }, () => session.request('deliver_sm', big()));
      for (const p of pending) p.catch(() => {});
      // Wait until the SMSC is blocked on the peer: its drain timer stays armed (response timer + drain timer).
      await waitFor(() => h.clock.pending === 2, 'the SMSC waits for drain', 5000);
      h.clock.advance(4999);
      await tick();
      assert.equal(session.isBound, true);
      h.clock.advance(1);
      const err = await withTimeout(session.closed(), 2000, 'session closed');
      assert.ok(err instanceof SessionClosedError);
      assert.match(err.message, /took no data/);
      const outcomes = await Promise.allSettled(pending);
      assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof SessionClosedError));
      peer.destroy();
    }));

  test('a peer that reads is not dropped under the same load', () =>
    withServer({ accounts, session: { drainTimeoutMs: 5000, responseTimeoutMs: 600_000 } }, async (h) => {
      const { peer, session } = await h.boundPeer('receiver');
      const pending = Array.from({ length: 100 }, () => session.request('deliver_sm', big()));
      for (let i = 0; i < 100; i++) {
        const d = await peer.expect('deliver_sm', 5000);
        peer.sendHeader('deliver_sm_resp', d.sequenceNumber);
      }
      await Promise.all(pending);
      h.clock.advance(5000);
      await tick();
      assert.equal(session.isBound, true);
      peer.destroy();
    }));
});

// ---- an SMSC that sends at once -----------------------------------------------------------

test('a deliver_sm right behind the bind_resp, in the same read, is taken (not refused as unbound)', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<RawPeer>((resolve) => server.once('connection', (socket) => resolve(RawPeer.wrap(socket))));
  const c = await connect({ port: (server.address() as net.AddressInfo).port, session: NO_TIMERS });
  try {
    const binding = c.bind({ type: 'receiver', ...BIND });
    const smsc = await accepted;
    const bind = await smsc.nextPdu();
    const resp = encodePdu({ command: 'bind_receiver_resp', commandStatus: 0, sequenceNumber: bind.sequenceNumber, systemId: 'FAKE', tlvs: {} });
    const queued = encodePdu({ command: 'deliver_sm', commandStatus: 0, sequenceNumber: 77, ...deliverBody('queued receipt') });
    smsc.write(Buffer.concat([resp, queued]));
    await withTimeout(binding, 2000, 'bound');
    const answer = await smsc.nextPdu();
    assert.equal(answer.command, 'deliver_sm_resp');
    assert.equal(answer.sequenceNumber, 77);
    assert.equal(answer.commandStatus, 0, 'taken, not ESME_RINVBNDSTS');
    const got = await withTimeout(c.deliveries()[Symbol.asyncIterator]().next(), 2000, 'the delivery');
    assert.equal((got.value as PduOf<'deliver_sm'>).shortMessage.toString(), 'queued receipt');
  } finally {
    await c.close().catch(() => {});
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('bind(): on a connection the SMSC closed, SessionClosedError; not answered in time, the connection is closed too', async () => {
  const fake = await fakeSmsc();
  const { port, peers } = fake;
  try {
    const closed = await connect({ port, session: NO_TIMERS });
    await waitFor(() => peers.length === 1, 'the first connection');
    peers[0]!.destroy();
    await withTimeout(closed.session.closed(), 2000, 'closed by the SMSC');
    await assert.rejects(closed.bind({ type: 'transceiver', ...BIND }), SessionClosedError);

    const cc = new ManualClock();
    const silent = await connect({ port, clock: cc, session: { ...NO_TIMERS, responseTimeoutMs: 5000 } });
    await waitFor(() => peers.length === 2, 'the second connection');
    const binding = silent.bind({ type: 'transceiver', ...BIND });
    await peers[1]!.nextPdu();
    cc.advance(5000);
    await assert.rejects(binding, ResponseTimeoutError);
    assert.equal(silent.session.state, SessionState.Closed, 'not left half open (the SMSC may have bound it)');
  } finally {
    await fake.close();
  }
});

test('lastReconnectError: why reconnecting fails (a bind refused), until a reconnect succeeds', async () => {
  const fake = await fakeSmsc();
  const { peers } = fake;
  const answerBind = async (peer: RawPeer, status: number) => {
    const bind = await peer.nextPdu();
    peer.sendPdu({ command: 'bind_transceiver_resp', commandStatus: status, sequenceNumber: bind.sequenceNumber, systemId: 'FAKE', tlvs: {} });
  };
  const cc = new ManualClock();
  const c = await connect({ port: fake.port, clock: cc, session: NO_TIMERS, reconnect: { initialDelayMs: 1000, jitter: 0 } });
  try {
    await waitFor(() => peers.length === 1, 'the first connection');
    await Promise.all([c.bind({ type: 'transceiver', ...BIND }), answerBind(peers[0]!, 0)]);
    const last = () => c.lastReconnectError;
    assert.equal(last(), undefined);
    peers[0]!.destroy();
    await waitFor(() => c.reconnectAt !== undefined, 'reconnect timer armed');
    cc.advance(c.reconnectAt! - cc.now());
    await waitFor(() => peers.length === 2, 'the second connection');
    await answerBind(peers[1]!, S.ESME_RINVPASWD);
    await waitFor(() => last() !== undefined, 'the refusal recorded');
    assert.ok(last() instanceof CommandStatusError);
    assert.equal((last() as CommandStatusError).commandStatus, S.ESME_RINVPASWD);
    await waitFor(() => c.reconnectAt !== undefined, 'the next reconnect armed');
    cc.advance(c.reconnectAt! - cc.now());
    await waitFor(() => peers.length === 3, 'the third connection');
    await answerBind(peers[2]!, 0);
    await waitFor(() => last() === undefined, 'cleared by the bind');
  } finally {
    await endClient(c);
    await fake.close();
  }
});

// ---- reconnect ----------------------------------------------------------------------------

describe('reconnect', () => {
  /** Binds a reconnecting client; returns it with its clock and the server-side session. */
  async function reconnecting(h: Harness, onDisconnect: 'retry' | 'reject'): Promise<{ c: Client; cc: ManualClock; first: Session }> {
    const cc = new ManualClock();
    const c = await connect({
      port: h.port,
      clock: cc,
      session: NO_TIMERS,
      reconnect: { initialDelayMs: 1000, factor: 2, maxDelayMs: 8000, jitter: 0 },
      onDisconnect,
    });
    const bound = h.nextBound();
    await c.bind({ type: 'transceiver', ...BIND });
    return { c, cc, first: await bound };
  }

  test("retry: after the server drops the connection the client reconnects with back-off, rebinds, and the outstanding submit completes", async () => {
    const hold = holdingHandler();
    await withServer({ handlers: { onSubmitSm: hold.handler } }, async (h) => {
      const { c, cc, first } = await reconnecting(h, 'retry');
      const oldSession = c.session;
      const result = c.submit({ destinationAddr: 'retry-me' });
      await hold.arrivals.next(2000, 'submit on the first session');
      first.destroy('test drops the ESME');
      await withTimeout(oldSession.closed(), 2000, 'client session closed');
      await waitFor(() => cc.pending === 1, 'reconnect timer armed');
      const rebound = h.nextBound();
      cc.advance(999);
      assert.equal(cc.pending, 1, 'the reconnect timer has not fired before the back-off delay');
      await tick();
      assert.equal(c.session, oldSession, 'no reconnect before the back-off delay');
      cc.advance(1);
      const second = await withTimeout(rebound, 2000, 'rebind');
      assert.notEqual(second, first);
      const retried = await hold.arrivals.next(2000, 'the submit retried on the new session');
      assert.equal(retried.req.destinationAddr, 'retry-me');
      retried.reply.resolve({ messageId: 'after-rebind' });
      assert.equal((await withTimeout(result, 2000, 'retried submit')).messageId, 'after-rebind');
      assert.notEqual(c.session, oldSession);
      await c.close();
    });
  });

  test('retry: a submit made while the SMSC unbinds (our answer to its deliver_sm still owed) goes on the next session, the event loop free meanwhile', async () => {
    const hold = holdingHandler();
    await withServer({ handlers: { onSubmitSm: hold.handler } }, async (h) => {
      const cc = new ManualClock();
      const c = await connect({ port: h.port, clock: cc, session: NO_TIMERS, reconnect: { initialDelayMs: 1000, jitter: 0 }, onDisconnect: 'retry', manualAck: true });
      const bound = h.nextBound();
      await c.bind({ type: 'transceiver', ...BIND });
      const first = await bound;
      const inbox = c.deliveries()[Symbol.asyncIterator]();
      first.request('deliver_sm', deliverBody('mo')).catch(() => {});
      const mo = (await withTimeout(inbox.next(), 2000, 'the deliver_sm')).value as Delivery;
      first.unbind().catch(() => {});
      await waitFor(() => c.session.state === SessionState.Unbinding, 'the client session unbinding');
      const result = c.submit({ destinationAddr: 'during-unbind' });
      // Refused by the ending session, the submit must not be tried again at once, forever.
      await new Promise((resolve) => setTimeout(resolve, 20));
      c.ack(mo, 0);
      await waitFor(() => cc.pending === 1, 'reconnect timer armed');
      const rebound = h.nextBound();
      cc.advance(1000);
      await withTimeout(rebound, 2000, 'rebind');
      const retried = await hold.arrivals.next(2000, 'the submit on the new session');
      assert.equal(retried.req.destinationAddr, 'during-unbind');
      retried.reply.resolve({ messageId: 'next-session' });
      assert.equal((await withTimeout(result, 2000, 'the submit')).messageId, 'next-session');
      await c.close();
    });
  });

  test('reject: the outstanding submit rejects with SessionClosedError; later submits work after rebind', async () => {
    const hold = holdingHandler();
    await withServer({ handlers: { onSubmitSm: hold.handler } }, async (h) => {
      const { c, cc, first } = await reconnecting(h, 'reject');
      const result = c.submit({ destinationAddr: 'lost' });
      await hold.arrivals.next(2000, 'submit');
      first.destroy('test drops the ESME');
      await assert.rejects(result, SessionClosedError);
      await waitFor(() => cc.pending === 1, 'reconnect timer armed');
      const rebound = h.nextBound();
      cc.advance(1000);
      await withTimeout(rebound, 2000, 'rebind');
      await waitFor(() => c.session.isBound, 'client bound again');
      const again = c.submit({ destinationAddr: 'later' });
      (await hold.arrivals.next(2000, 'later submit')).reply.resolve({ messageId: 'ok' });
      assert.equal((await again).messageId, 'ok');
      await c.close();
    });
  });

  test('jitter: each wait is the back-off delay lengthened by up to `jitter` of it, at random', () =>
    withServer({}, async (h) => {
      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        const cc = new ManualClock();
        const c = await connect({ port: h.port, clock: cc, session: NO_TIMERS, reconnect: { initialDelayMs: 1000, jitter: 0.5 } });
        const bound = h.nextBound();
        await c.bind({ type: 'transceiver', ...BIND });
        const s1 = c.session;
        (await bound).destroy('drop');
        await withTimeout(s1.closed(), 2000, 'session closed');
        await waitFor(() => c.reconnectAt !== undefined, 'reconnect scheduled');
        waits.push(c.reconnectAt! - cc.now());
        await c.close();
      }
      for (const w of waits) assert.ok(w >= 1000 && w <= 1500, `wait ${w} ms within 1000-1500`);
      assert.ok(new Set(waits).size > 1, `clients dropped together wait different times: ${waits.join(', ')}`);
    }));

  test('without reconnect: a dropped connection closes the client', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      const bound = h.nextBound();
      await c.bind({ type: 'transceiver', ...BIND });
      (await bound).destroy('drop');
      await withTimeout(c.closed(), 2000, 'client closed');
      await assert.rejects(c.submit({ destinationAddr: '1' }), SessionClosedError);
    }));

  test('with reconnect: a refused first bind closes the client; it never rebinds with those credentials', () =>
    withServer({}, async (h) => {
      const cc = new ManualClock();
      const c = await connect({ port: h.port, clock: cc, session: NO_TIMERS, reconnect: { initialDelayMs: 100, jitter: 0 } });
      await assert.rejects(c.bind({ type: 'transceiver', ...BIND, password: 'wrong' }), CommandStatusError);
      await withTimeout(c.closed(), 2000, 'client closed');
      assert.equal(c.reconnectAt, undefined, 'no reconnect scheduled');
      cc.advance(10_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(h.server.sessions.size, 0, 'no new connection');
    }));

  /** A server whose accounts can be switched off, to refuse rebinds. */
  function refusingServer(): { options: StartOptions; refuse: { on: boolean } } {
    const refuse = { on: false };
    return {
      refuse,
      options: { accounts: (id: string) => (refuse.on ? undefined : ACCOUNTS.find((a) => a.systemId === id)) },
    };
  }

  test('a refused rebind schedules exactly one further attempt, with the delay doubled', async () => {
    const { options, refuse } = refusingServer();
    await withServer(options, async (h) => {
      const { c, cc, first } = await reconnecting(h, 'reject');
      const s1 = c.session;
      refuse.on = true;
      first.destroy('drop');
      await withTimeout(s1.closed(), 2000, 'first session closed');
      await waitFor(() => cc.pending === 1, 'first reconnect timer');
      // The refused connection never becomes the client's session: watch it on the server.
      const refusedSession = new Promise<Session>((resolve) => h.server.once('session', resolve));
      cc.advance(1000);
      const refused = await withTimeout(refusedSession, 2000, 'second connection');
      await withTimeout(refused.closed(), 2000, 'refused session closed');
      assert.equal(c.session, s1, 'a session that never bound does not replace the current one');
      // The client learns of the refusal from its own side of the connection.
      await waitFor(() => c.reconnectAt !== undefined, 'the next attempt scheduled');
      await tick();
      assert.equal(cc.pending, 1, 'one reconnect timer after a refused rebind');
      assert.equal(c.reconnectAt, cc.now() + 2000, 'the delay doubled');
      refuse.on = false;
      const rebound = h.nextBound();
      cc.advance(1999);
      await tick();
      assert.equal(h.server.sessionsOf('esme1').length, 0, 'not before the doubled delay');
      cc.advance(1);
      await withTimeout(rebound, 2000, 'rebind after the doubled delay');
      await waitFor(() => c.session !== s1 && c.session.isBound, 'the client sees its rebind');
      cc.advance(60_000);
      await c.enquireLink();
      assert.equal(h.server.sessionsOf('esme1').length, 1, 'exactly one session after recovering');
      await c.close();
    });
  });

  test('retry: an outstanding submit survives a refused rebind and completes after the next one', async () => {
    const { options, refuse } = refusingServer();
    const hold = holdingHandler();
    await withServer({ ...options, handlers: { onSubmitSm: hold.handler } }, async (h) => {
      const { c, cc, first } = await reconnecting(h, 'retry');
      const s1 = c.session;
      const result = c.submit({ destinationAddr: 'survivor' });
      result.catch(() => {});
      await hold.arrivals.next(2000, 'submit');
      refuse.on = true;
      first.destroy('drop');
      await withTimeout(s1.closed(), 2000, 'first session closed');
      await waitFor(() => cc.pending >= 1, 'first reconnect timer');
      // The refused connection never becomes the client's session: watch it on the server.
      const refusedSession = new Promise<Session>((resolve) => h.server.once('session', resolve));
      cc.advance(1000);
      const refused = await withTimeout(refusedSession, 2000, 'second connection');
      await withTimeout(refused.closed(), 2000, 'refused session closed');
      assert.equal(c.session, s1, 'a session that never bound does not replace the current one');
      await waitFor(() => c.reconnectAt !== undefined, 'the next attempt scheduled');
      refuse.on = false;
      cc.advance(2000);
      const retried = await hold.arrivals.next(2000, 'the submit retried after the successful rebind');
      retried.reply.resolve({ messageId: 'finally' });
      assert.equal((await withTimeout(result, 2000, 'retried submit')).messageId, 'finally');
      await c.close();
    });
  });
});

// ---- deliveries -----------------------------------------------------------------------------

describe('deliveries', () => {
  test('auto ack: deliveries() yields each deliver_sm, the SMSC gets ROK', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      const bound = h.nextBound();
      await c.bind({ type: 'receiver', ...BIND });
      const s = await bound;
      const r1 = s.request('deliver_sm', deliverBody('one'));
      const r2 = s.request('deliver_sm', deliverBody('two', { sourceAddr: '999' }));
      assert.equal((await r1).commandStatus, 0);
      assert.equal((await r2).commandStatus, 0);
      const got: string[] = [];
      for await (const d of c.deliveries()) {
        const dsm = d as PduOf<'deliver_sm'>;
        got.push(`${dsm.sourceAddr}:${dsm.shortMessage.toString()}`);
        if (got.length === 2) break;
      }
      assert.deepEqual(got, ['4670000009:one', '999:two']);
      await c.close();
    }));

  test('beyond maxBufferedDeliveries, acknowledgements wait for the consumer', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS, maxBufferedDeliveries: 1 });
      const bound = h.nextBound();
      await c.bind({ type: 'receiver', ...BIND });
      const s = await bound;
      const acked: string[] = [];
      const send = (t: string) => s.request('deliver_sm', deliverBody(t)).then(() => acked.push(t));
      await send('first'); // one buffered item is within the limit: acknowledged at once
      const second = send('second');
      await c.enquireLink();
      await tick();
      assert.deepEqual(acked, ['first'], 'the second waits: two buffered, limit one');
      const it = c.deliveries();
      assert.equal(((await it.next()).value as PduOf<'deliver_sm'>).shortMessage.toString(), 'first');
      await withTimeout(second, 2000, 'second acknowledged once the first was consumed');
      assert.deepEqual(acked, ['first', 'second']);
      assert.equal(((await it.next()).value as PduOf<'deliver_sm'>).shortMessage.toString(), 'second');
      await c.close();
    }));

  test('manual ack: ESME_RX_T_APPN reaches the SMSC as CommandStatusError, ROK resolves', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS, manualAck: true });
      const bound = h.nextBound();
      await c.bind({ type: 'transceiver', ...BIND });
      const s = await bound;
      const it = c.deliveries();
      let settled = false;
      const r1 = s.request('deliver_sm', deliverBody('retry later'));
      r1.then(
        () => (settled = true),
        () => (settled = true),
      );
      const d1 = (await withTimeout(it.next(), 2000, 'first delivery')).value!;
      await c.enquireLink();
      await tick();
      assert.equal(settled, false, 'not acknowledged before ack()');
      c.ack(d1, S.ESME_RX_T_APPN);
      await assert.rejects(r1, (e: unknown) => {
        assert.ok(e instanceof CommandStatusError);
        assert.equal(e.commandStatus, S.ESME_RX_T_APPN);
        return true;
      });
      assert.throws(() => c.ack(d1), InvalidArgumentError);
      const r2 = s.request('deliver_sm', deliverBody('fine'));
      const d2 = (await withTimeout(it.next(), 2000, 'second delivery')).value!;
      c.ack(d2);
      assert.equal((await r2).commandStatus, 0);
      await c.close();
    }));
});

describe('close, reconnect and the deliveries owed', () => {
  test('close() with acknowledgements held back (past maxBufferedDeliveries): answered ESME_RX_T_APPN at once, those deliveries never handed out', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: { ...NO_TIMERS, responseTimeoutMs: 600_000 }, maxBufferedDeliveries: 1 });
      const bound = h.nextBound();
      await c.bind({ type: 'receiver', ...BIND });
      const s = await bound;
      await s.request('deliver_sm', deliverBody('a'));
      const held = s.request('deliver_sm', deliverBody('b'));
      held.catch(() => {});
      await c.enquireLink();
      await withTimeout(c.close(), 2000, 'close() does not wait for the consumer');
      await assert.rejects(held, (e) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RX_T_APPN);
      const got: string[] = [];
      for await (const d of c.deliveries()) got.push((d as PduOf<'deliver_sm'>).shortMessage.toString());
      assert.deepEqual(got, ['a'], 'the one acknowledged is still read; the refused one is not');
    }));

  test('manualAck: deliveries of a lost session are not handed out (the SMSC sends them again); ack() of one handed out returns false', () =>
    withServer({}, async (h) => {
      const cc = new ManualClock();
      const c = await connect({ port: h.port, clock: cc, session: NO_TIMERS, manualAck: true, reconnect: { initialDelayMs: 1000, jitter: 0 } });
      const bound = h.nextBound();
      await c.bind({ type: 'receiver', ...BIND });
      const s = await bound;
      for (const t of ['x', 'y']) s.request('deliver_sm', deliverBody(t)).catch(() => {});
      const it = c.deliveries();
      const x = (await withTimeout(it.next(), 2000, 'x')).value!;
      await waitFor(() => c.session.requestsIn >= 2, 'y arrived');
      const first = c.session;
      s.destroy('drop');
      await withTimeout(first.closed(), 2000, 'lost');
      assert.equal(c.ack(x), false, 'its session is gone');
      const rebound = h.nextBound();
      await waitFor(() => cc.pending === 1, 'reconnect armed');
      cc.advance(1000);
      const s2 = await withTimeout(rebound, 2000, 'rebound');
      await waitFor(() => c.session !== first && c.session.isBound, 'the client adopted it');
      const again = s2.request('deliver_sm', deliverBody('y'));
      const next = (await withTimeout(it.next(), 2000, 'the delivery after the reconnect')).value as PduOf<'deliver_sm'>;
      assert.equal(next.shortMessage.toString(), 'y', 'the y of the lost session was dropped, not handed out twice');
      assert.equal(c.ack(next), true);
      assert.equal((await again).commandStatus, 0);
      await c.close();
    }));

  test('close() waits for the responses to requests already made; requests after it are refused', async () => {
    const hold = holdingHandler();
    await withServer({ handlers: { onSubmitSm: hold.handler } }, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await c.bind({ type: 'transceiver', ...BIND });
      const submitted = c.submit({ destinationAddr: '1' });
      const arrival = await hold.arrivals.next(2000, 'submit');
      let closed = false;
      const closing = c.close().then(() => (closed = true));
      assert.equal(c.close(), c.close(), 'one close');
      await assert.rejects(c.submit({ destinationAddr: '2' }), SessionClosedError);
      await tick();
      assert.equal(closed, false, 'waiting for the answer');
      arrival.reply.resolve({ messageId: 'kept' });
      assert.equal((await submitted).messageId, 'kept');
      await withTimeout(closing, 2000, 'closed after it');
    });
  });

  test('close() while the SMSC unbinds (a delivery handed out, not acknowledged) and a submit waits to retry: no wait for the response timer', () =>
    withServer({}, async (h) => {
      const c = await connect({
        port: h.port,
        manualAck: true,
        onDisconnect: 'retry',
        reconnect: { initialDelayMs: 200, jitter: 0 },
        session: { ...NO_TIMERS, responseTimeoutMs: 600_000 },
      });
      const bound = h.nextBound();
      await c.bind({ type: 'transceiver', ...BIND });
      const s = await bound;
      s.request('deliver_sm', deliverBody('owed')).catch(() => {});
      const d = (await withTimeout(c.deliveries().next(), 2000, 'the delivery')).value!;
      s.unbind().catch(() => {});
      await waitFor(() => c.session.state === SessionState.Unbinding, 'the SMSC unbinds us');
      const submitted = c.submit({ destinationAddr: '1' }).then(
        () => 'sent',
        (e: Error) => e.name,
      );
      await tick();
      await withTimeout(c.close(), 3000, 'close() does not wait for the response timer');
      assert.equal(await submitted, 'SessionClosedError');
      assert.equal(c.ack(d), false, 'answered already (ESME_RX_T_APPN) by close()');
    }));

  test('close() during a sendText of several parts lets the last part go (no message left half sent)', async () => {
    const hold = holdingHandler();
    await withServer({ handlers: { onSubmitSm: hold.handler } }, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await c.bind({ type: 'transceiver', ...BIND });
      const sent = c.sendText({ destinationAddr: '4670', text: 'z'.repeat(400) });
      const first = await hold.arrivals.next(2000, 'part 1');
      const closing = c.close();
      first.reply.resolve({ messageId: 'a' });
      (await hold.arrivals.next(2000, 'part 2, after close() began')).reply.resolve({ messageId: 'b' });
      (await hold.arrivals.next(2000, 'part 3')).reply.resolve({ messageId: 'c' });
      assert.deepEqual(await sent, ['a', 'b', 'c']);
      await withTimeout(closing, 2000, 'closed after the last part');
      await assert.rejects(c.sendText({ destinationAddr: '4670', text: 'late' }), SessionClosedError);
    });
  });

  test('an SMSC that unbinds in the same write as its bind_resp: that session is not adopted, the client tries again', async () => {
    const fake = await fakeSmsc();
    const { peers } = fake;
    const answerBind = async (peer: RawPeer, unbindToo: boolean) => {
      const bind = await peer.nextPdu();
      const resp = encodePdu({ command: 'bind_transceiver_resp', commandStatus: 0, sequenceNumber: bind.sequenceNumber, systemId: 'FAKE', tlvs: {} });
      peer.send(unbindToo ? Buffer.concat([resp, encodePdu({ command: 'unbind', commandStatus: 0, sequenceNumber: 1 } as Pdu)]) : resp);
    };
    const cc = new ManualClock();
    const c = await connect({ port: fake.port, clock: cc, session: NO_TIMERS, reconnect: { initialDelayMs: 1000, jitter: 0 } });
    try {
      await waitFor(() => peers.length === 1, 'the first connection');
      await Promise.all([c.bind({ type: 'transceiver', ...BIND }), answerBind(peers[0]!, false)]);
      peers[0]!.destroy();
      await waitFor(() => c.reconnectAt !== undefined, 'reconnect armed');
      cc.advance(c.reconnectAt! - cc.now());
      await waitFor(() => peers.length === 2, 'the second connection');
      await answerBind(peers[1]!, true);
      await waitFor(() => c.reconnectAt !== undefined, 'another attempt scheduled');
      assert.ok(c.lastReconnectError instanceof SessionClosedError);
      cc.advance(c.reconnectAt! - cc.now());
      await waitFor(() => peers.length === 3, 'the third connection');
      await answerBind(peers[2]!, false);
      await waitFor(() => c.session.isBound && c.lastReconnectError === undefined, 'bound again');
    } finally {
      await endClient(c);
      await fake.close();
    }
  });

  test('a client waiting to reconnect keeps its process alive (its only handle while the connection is down)', () =>
    withServer({}, async (h) => {
      const clientUrl = new URL('../../src/client/client.js', import.meta.url).href;
      const script = `
        const { connect } = await import(${JSON.stringify(clientUrl)});
        const c = await connect({ port: ${h.port}, reconnect: { initialDelayMs: 300, jitter: 0 }, session: { enquireLinkIntervalMs: 0 } });
        await c.bind({ type: 'transceiver', systemId: 'esme1', password: 'secret1' });
        console.log('bound');`;
      const first = h.nextBound();
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const said = new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => b.toString().includes('bound') && resolve()));
      try {
        const session = await withTimeout(first, 5000, 'the first bind');
        await withTimeout(said, 5000, 'the client saw its bind');
        session.destroy('drop');
        const again = h.nextBound();
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        const result = await withTimeout(Promise.race([again.then(() => 'rebound'), exited.then((code) => `exited ${code}`)]), 5000, 'rebind or exit');
        assert.equal(result, 'rebound');
      } finally {
        child.kill();
      }
    }));

  test('bind() on a bound client: InvalidStateError', () =>
    withServer({}, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      await c.bind({ type: 'transceiver', ...BIND });
      await assert.rejects(c.bind({ type: 'transceiver', ...BIND }), InvalidStateError);
      await c.close();
    }));
});

describe('manual ack and close', () => {
  test('alert_notification needs no ack (it has no response); close() answers the deliveries never acknowledged ESME_RX_T_APPN, without waiting', () =>
    withServer({}, async (h) => {
      // No response timer would end a wait: close() must not wait for the consumer.
      const c = await connect({ port: h.port, session: { ...NO_TIMERS, responseTimeoutMs: 600_000 }, manualAck: true });
      const bound = h.nextBound();
      await c.bind({ type: 'transceiver', ...BIND });
      const s = await bound;
      const it = c.deliveries();
      s.send({ command: 'alert_notification', commandStatus: 0, sequenceNumber: s.nextSequence(), sourceAddrTon: 1, sourceAddrNpi: 1, sourceAddr: '447700900001', esmeAddrTon: 0, esmeAddrNpi: 0, esmeAddr: '1234', tlvs: {} });
      const alert = (await withTimeout(it.next(), 2000, 'the alert')).value!;
      assert.equal(alert.command, 'alert_notification');
      c.ack(alert); // accepted, and nothing to answer
      const pending = s.request('deliver_sm', deliverBody('never acknowledged'));
      pending.catch(() => {});
      assert.equal(((await withTimeout(it.next(), 2000, 'the delivery')).value as PduOf<'deliver_sm'>).command, 'deliver_sm');
      await withTimeout(c.close(), 2000, 'close() with a delivery never acknowledged');
      await assert.rejects(pending, (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RX_T_APPN);
    }));
});

// ---- sequence numbers -----------------------------------------------------------------------

describe('sequence numbers', () => {
  test('start at 1 on a new session', () =>
    withServer({}, async (h) => {
      const tap = tapIn('smsc');
      try {
        const c = await connect({ port: h.port, session: NO_TIMERS });
        await c.bind({ type: 'transceiver', ...BIND });
        await c.submit({ destinationAddr: '1' });
        await c.submit({ destinationAddr: '2' });
        assert.deepEqual(
          tap.pdus.map((p) => [p.command, p.sequenceNumber]),
          [
            ['bind_transceiver', 1],
            ['submit_sm', 2],
            ['submit_sm', 3],
          ],
        );
        await c.close();
      } finally {
        tap.stop();
      }
    }));

  test('client numbers wrap from 0x7FFFFFFF to 1', () =>
    withServer({}, async (h) => {
      const tap = tapIn('smsc');
      try {
        const c = await connect({ port: h.port, session: { ...NO_TIMERS, initialSequence: 0x7ffffffe } });
        await c.bind({ type: 'transceiver', ...BIND });
        await c.submit({ destinationAddr: '1' });
        await c.submit({ destinationAddr: '2' });
        assert.deepEqual(
          tap.pdus.map((p) => p.sequenceNumber),
          [0x7fffffff, 1, 2],
        );
        await c.close();
      } finally {
        tap.stop();
      }
    }));

  test('SMSC numbers wrap from 0x7FFFFFFF to 1', () =>
    withServer({ session: { initialSequence: 0x7ffffffe } }, async (h) => {
      const c = await connect({ port: h.port, session: NO_TIMERS });
      const bound = h.nextBound();
      await c.bind({ type: 'receiver', ...BIND });
      const s = await bound;
      await s.request('deliver_sm', deliverBody('a'));
      await s.request('deliver_sm', deliverBody('b'));
      const it = c.deliveries();
      const seqs = [(await it.next()).value!.sequenceNumber, (await it.next()).value!.sequenceNumber];
      assert.deepEqual(seqs, [0x7fffffff, 1]);
      await c.close();
    }));
});

// ---- outbind --------------------------------------------------------------------------------

describe('outbind', () => {
  /** A test ESME listening for the SMSC's outbind; binds as `type` (receiver) with `bind` credentials. */
  async function listeningEsme(bind: { systemId: string; password: string }, type: 'transmitter' | 'receiver' | 'transceiver' = 'receiver') {
    const outbinds = new AsyncQueue<PduOf<'outbind'>>();
    const deliveries = new AsyncQueue<PduOf<'deliver_sm'>>();
    const sessions: Session[] = [];
    const bindResults = new AsyncQueue<string>();
    const listener = net.createServer((socket) => {
      const session = new Session(
        socket,
        { role: 'esme', enquireLinkIntervalMs: 0 },
        {
          onOutbind: (req, s) => {
            outbinds.push(req);
            s.bind(type, { ...bind, systemType: '', interfaceVersion: 0x34, addrTon: 0, addrNpi: 0, addressRange: '' }).then(
              () => bindResults.push('bound'),
              (e: Error) => bindResults.push(e instanceof CommandStatusError ? e.statusName : e.message),
            );
          },
          onRequest: (req) => {
            const dsm = req as PduOf<'deliver_sm'>;
            deliveries.push({ ...dsm, shortMessage: Buffer.from(dsm.shortMessage) });
            return { messageId: '' };
          },
        },
      );
      sessions.push(session);
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    return {
      port,
      outbinds,
      deliveries,
      bindResults,
      sessions,
      close: () => {
        for (const s of sessions) s.destroy('test end');
        return new Promise<void>((resolve) => listener.close(() => resolve()));
      },
    };
  }

  test('the SMSC outbinds, the ESME binds as receiver and gets deliveries', () =>
    withServer({}, async (h) => {
      const esme = await listeningEsme(BIND);
      try {
        const bound = h.nextBound();
        const smscSide = await h.server.outbind({ host: '127.0.0.1', port: esme.port, systemId: 'SMSC', password: 'smscpw' });
        assert.equal(smscSide.state, SessionState.Outbound);
        const ob = await esme.outbinds.next(2000, 'outbind');
        assert.equal(ob.systemId, 'SMSC');
        assert.equal(ob.password, 'smscpw');
        assert.equal(await esme.bindResults.next(2000, 'bind result'), 'bound');
        assert.equal(await withTimeout(bound, 2000, 'bound'), smscSide);
        assert.equal(smscSide.bindType, 'receiver');
        assert.deepEqual(h.server.receiversOf('esme1'), [smscSide]);
        const r = await smscSide.request('deliver_sm', deliverBody('via outbind'));
        assert.equal(r.commandStatus, 0);
        assert.equal((await esme.deliveries.next(2000, 'delivery')).shortMessage.toString(), 'via outbind');
        await withTimeout(h.server.close(), 2000, 'server close unbinds the outbound session');
        assert.equal(await esme.sessions[0]!.closed(), undefined);
      } finally {
        await esme.close();
      }
    }));

  test('an outbound ESME that never binds is closed by session_init_timer', () =>
    withServer({ session: { sessionInitTimeoutMs: 8000 } }, async (h) => {
      const sockets: net.Socket[] = [];
      const silent = net.createServer((sock) => {
        sockets.push(sock);
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const port = (silent.address() as net.AddressInfo).port;
        const smscSide = await h.server.outbind({ host: '127.0.0.1', port, systemId: 'SMSC', password: 'x' });
        h.clock.advance(7999);
        await tick();
        assert.equal(smscSide.state, SessionState.Outbound);
        h.clock.advance(1);
        const err = await withTimeout(smscSide.closed(), 2000, 'closed');
        assert.match(String(err?.message), /session_init_timer/);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    }));

  test('an outbind under way when the server closes starts no session; one asked after fails', () =>
    withServer({}, async (h) => {
      const esme = await listeningEsme(BIND);
      try {
        const connecting = h.server.outbind({ host: '127.0.0.1', port: esme.port, systemId: 'SMSC', password: 'x' });
        await withTimeout(h.server.close(), 2000, 'server close');
        await assert.rejects(connecting, /closing|closed/);
        assert.equal(h.server.sessions.size, 0);
        await assert.rejects(h.server.outbind({ host: '127.0.0.1', port: esme.port, systemId: 'SMSC', password: 'x' }), /closing/);
      } finally {
        await esme.close();
      }
    }));

  for (const [type, account, expected] of [
    ['transmitter', undefined, 'ESME_RBINDFAIL'],
    ['transmitter', 'esme1', 'ESME_RBINDFAIL'],
    ['receiver', 'esme2', 'ESME_RBINDFAIL'],
    ['transceiver', 'esme1', 'bound'],
    ['receiver', 'esme1', 'bound'],
  ] as const) {
    test(`an outbind${account !== undefined ? ` for ${account}` : ''} answered by esme1's bind as ${type}: ${expected}`, () =>
      withServer({}, async (h) => {
        const esme = await listeningEsme(BIND, type);
        try {
          const smscSide = await h.server.outbind({ host: '127.0.0.1', port: esme.port, systemId: 'SMSC', password: 'x', ...(account !== undefined ? { account } : {}) });
          assert.equal(await esme.bindResults.next(2000, 'bind result'), expected);
          if (expected === 'bound') {
            assert.deepEqual(h.server.receiversOf('esme1'), [smscSide]);
          } else {
            assert.ok((await withTimeout(smscSide.closed(), 2000, 'closed')) instanceof Error);
            assert.equal(h.server.sessionsOf('esme1').length, 0);
          }
        } finally {
          await esme.close();
        }
      }));
  }

  test('an outbound ESME with wrong credentials is refused and disconnected', () =>
    withServer({}, async (h) => {
      const esme = await listeningEsme({ systemId: 'esme1', password: 'wrong' });
      try {
        const smscSide = await h.server.outbind({ host: '127.0.0.1', port: esme.port, systemId: 'SMSC', password: 'x' });
        assert.equal(await esme.bindResults.next(2000, 'bind result'), 'ESME_RINVPASWD');
        assert.ok((await withTimeout(smscSide.closed(), 2000, 'closed')) instanceof Error);
        assert.equal(h.server.receiversOf('esme1').length, 0);
      } finally {
        await esme.close();
      }
    }));
});

test('a TLS connection that never finishes its handshake is closed at the session_init_timer', async () => {
  const { cert, key } = testTlsPair();
  await withServer({ listen: { tls: { cert, key } }, session: { sessionInitTimeoutMs: 200 } }, async (h) => {
    const silent = net.connect({ host: '127.0.0.1', port: h.port });
    const halfRecord = net.connect({ host: '127.0.0.1', port: h.port }, () => halfRecord.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8])));
    const closed = (s: net.Socket) => new Promise<void>((resolve) => s.once('close', () => resolve()));
    // Real time: the handshake timer is Node's own.
    await withTimeout(Promise.all([closed(silent), closed(halfRecord)]), 5000, 'both cut (they were kept for ever)');
  });
});

describe('connecting', () => {
  test('a peer that takes the connection and never answers the TLS handshake: connect fails at connectTimeoutMs', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const clock = new ManualClock();
      const port = (silent.address() as net.AddressInfo).port;
      const connecting = connect({ port, tls: { rejectUnauthorized: false }, clock, connectTimeoutMs: 2000 });
      await waitFor(() => sockets.length === 1, 'the TCP connection');
      clock.advance(2000);
      await withTimeout(
        assert.rejects(connecting, /no connection to 127\.0\.0\.1:\d+ within 2000 ms/),
        5000,
        'connect settles',
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
