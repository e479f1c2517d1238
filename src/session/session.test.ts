/**
 * Unit tests of the Session over an in-memory duplex pair with a ManualClock: state machine,
 * spec timers (session_init, enquire_link, inactivity, response), unbind ordering, write
 * batching, read pausing, the window and the drain timeout. The test plays the peer with raw
 * bytes built by PduBuilder, so the session's encoder is not trusted to check itself.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AsyncQueue, deferred, tick, withTimeout } from '../../test/support/async.js';
import { duplexPair, type PairEnd } from '../../test/support/duplex-pair.js';
import { headerOnly, PduBuilder } from '../../test/support/pdu-builder.js';
import { bindFrame, deliverBody, submitBody } from '../../test/support/server.js';
import { CommandStatusError, InvalidStateError, RequestNotSentError, ResponseTimeoutError, SessionClosedError, WindowFullError } from '../errors.js';
import { CommandId, type CommandName, CommandStatus as S } from '../pdu/constants.js';
import { decodePdu } from '../pdu/decode.js';
import { FrameDecoder } from '../pdu/frame-decoder.js';
import type { BodyOf, Pdu } from '../pdu/types.js';
import { ManualClock } from './clock.js';
import { type BindOutcome, type Reply, Session, type SessionDelegate, type SessionOptions } from './session.js';
import { assertTransition, SessionState } from './state.js';

/** The test's end of the pair: decodes what the session writes, counts 'data' chunks. */
class Peer {
  readonly end: PairEnd;
  readonly frames = new AsyncQueue<Pdu>();
  dataChunks = 0;
  ended = false;
  readonly #decoder = new FrameDecoder();

  constructor(end: PairEnd) {
    this.end = end;
    end.on('data', (chunk: Buffer) => {
      this.dataChunks++;
      this.#decoder.push(chunk);
      for (let f = this.#decoder.next(); f !== undefined; f = this.#decoder.next()) this.frames.push(decodePdu(Buffer.from(f)));
    });
    end.on('end', () => {
      this.ended = true;
    });
  }

  send(bytes: Buffer): void {
    this.end.write(bytes);
  }

  async expect(command: CommandName, status = 0, seq?: number): Promise<Pdu> {
    const p = await this.frames.next(2000, `waiting for ${command}`);
    assert.equal(p.command, command, `got ${p.command} 0x${p.commandStatus.toString(16)}`);
    assert.equal(p.commandStatus, status, `${command} status`);
    if (seq !== undefined) assert.equal(p.sequenceNumber, seq, `${command} sequence`);
    return p;
  }

  /** Sends enquire_link and returns what arrived before its response. */
  async roundTrip(seq = 0x5000): Promise<Pdu[]> {
    this.send(headerOnly(CommandId.enquire_link, 0, seq));
    const before: Pdu[] = [];
    for (let i = 0; i < 100; i++) {
      const p = await this.frames.next(2000, 'round trip');
      if (p.command === 'enquire_link_resp' && p.sequenceNumber === seq) return before;
      before.push(p);
    }
    throw new Error('no enquire_link_resp');
  }
}

interface Setup {
  session: Session;
  peer: Peer;
  clock: ManualClock;
  sessionEnd: PairEnd;
  states: SessionState[];
}

function setup(options: Partial<SessionOptions> & { role: 'smsc' | 'esme' }, delegate: SessionDelegate = {}, hwm?: number): Setup {
  const [a, b] = duplexPair(hwm);
  const clock = new ManualClock();
  const session = new Session(a, { enquireLinkIntervalMs: 0, clock, ...options }, delegate);
  const states: SessionState[] = [];
  session.on('state', (s: SessionState) => states.push(s));
  return { session, peer: new Peer(b), clock, sessionEnd: a, states };
}

/** The session's close reason, failing (not hanging) when it stays open. */
const closedWithin = (session: Session) => withTimeout(session.closed(), 2000, 'session closed');

const acceptBind = (): BindOutcome => ({ commandStatus: 0, systemId: 'SMSC' });

/**
 * An SMSC session with `slots` handler slots whose handlers answer only when their gate is
 * opened (gates[i] answers the i-th request handled), and the sequence numbers handled.
 */
async function gatedSmsc(slots: number): Promise<{ s: Setup; gates: Array<(r: Reply) => void>; handled: number[] }> {
  const gates: Array<(r: Reply) => void> = [];
  const handled: number[] = [];
  const s = await boundSmsc(
    { maxInboundInFlight: slots },
    {
      onRequest: (p) => {
        handled.push(p.sequenceNumber);
        return new Promise<Reply>((resolve) => gates.push(resolve));
      },
    },
  );
  return { s, gates, handled };
}

/** An SMSC session bound as transceiver by the peer. */
async function boundSmsc(options: Partial<SessionOptions> = {}, delegate: SessionDelegate = {}, hwm?: number): Promise<Setup> {
  const s = setup({ role: 'smsc', ...options }, { onBind: acceptBind, ...delegate }, hwm);
  s.peer.send(bindFrame('transceiver', { sequenceNumber: 1 }));
  await s.peer.expect('bind_transceiver_resp', 0, 1);
  assert.equal(s.session.state, SessionState.BoundTrx);
  return s;
}

const submit = (seq: number) => submitBody().build(CommandId.submit_sm, 0, seq);

// ---- state machine ------------------------------------------------------------------------

describe('state machine', () => {
  test('assertTransition allows the legal moves and throws on illegal ones', () => {
    const legal: Array<[SessionState, SessionState]> = [
      [SessionState.Open, SessionState.Binding],
      [SessionState.Open, SessionState.Outbound],
      [SessionState.Open, SessionState.Closed],
      [SessionState.Outbound, SessionState.Binding],
      [SessionState.Binding, SessionState.BoundTx],
      [SessionState.Binding, SessionState.BoundRx],
      [SessionState.Binding, SessionState.BoundTrx],
      [SessionState.Binding, SessionState.Open],
      [SessionState.BoundTx, SessionState.Unbinding],
      [SessionState.BoundRx, SessionState.Closed],
      [SessionState.Unbinding, SessionState.Closed],
    ];
    for (const [from, to] of legal) assert.doesNotThrow(() => assertTransition(from, to), `${from} → ${to}`);
    const illegal: Array<[SessionState, SessionState]> = [
      [SessionState.Open, SessionState.BoundTx],
      [SessionState.Open, SessionState.Unbinding],
      [SessionState.BoundTx, SessionState.BoundRx],
      [SessionState.BoundTrx, SessionState.Open],
      [SessionState.BoundTx, SessionState.Binding],
      [SessionState.Unbinding, SessionState.BoundTx],
      [SessionState.Unbinding, SessionState.Open],
      [SessionState.Outbound, SessionState.BoundRx],
      [SessionState.Closed, SessionState.Open],
      [SessionState.Closed, SessionState.Closed],
    ];
    for (const [from, to] of illegal) assert.throws(() => assertTransition(from, to), /illegal session transition/, `${from} → ${to}`);
  });

  test('SMSC: OPEN → BINDING → BOUND_TRX → UNBINDING → CLOSED on bind and peer unbind', async () => {
    const s = await boundSmsc();
    s.peer.send(headerOnly(CommandId.unbind, 0, 2));
    await s.peer.expect('unbind_resp', 0, 2);
    assert.equal(await closedWithin(s.session), undefined);
    assert.deepEqual(s.states, [SessionState.Binding, SessionState.BoundTrx, SessionState.Unbinding, SessionState.Closed]);
  });

  test('SMSC: a refused bind goes back to OPEN, answers header-only and closes', async () => {
    const s = setup({ role: 'smsc' }, { onBind: () => ({ commandStatus: S.ESME_RINVPASWD, systemId: 'SMSC' }) });
    s.peer.send(bindFrame('transmitter', { sequenceNumber: 3 }));
    await s.peer.expect('bind_transmitter_resp', S.ESME_RINVPASWD, 3);
    assert.ok((await closedWithin(s.session)) instanceof SessionClosedError);
    assert.deepEqual(s.states, [SessionState.Binding, SessionState.Open, SessionState.Closed]);
  });

  test('both sides unbind at once: both close cleanly', async () => {
    const [a, b] = duplexPair();
    const clock = new ManualClock();
    const smsc = new Session(a, { role: 'smsc', clock, enquireLinkIntervalMs: 0 }, { onBind: acceptBind });
    const esme = new Session(b, { role: 'esme', clock, enquireLinkIntervalMs: 0 });
    await esme.bind('transceiver', {
      systemId: 'esme1',
      password: 'secret1',
      systemType: '',
      interfaceVersion: 0x34,
      addrTon: 0,
      addrNpi: 0,
      addressRange: '',
    });
    assert.equal(smsc.state, SessionState.BoundTrx);
    await withTimeout(Promise.all([esme.unbind(), smsc.unbind()]), 2000, 'both unbinds');
    assert.equal(await closedWithin(esme), undefined);
    assert.equal(await closedWithin(smsc), undefined);
  });

  test('illegal moves through the API throw: outbind or bind on a bound session', async () => {
    const s = await boundSmsc();
    assert.throws(() => s.session.outbind('SMSC', 'pw'), /illegal session transition/);
    await assert.rejects(
      s.session.bind('transmitter', { systemId: 'a', password: 'b', systemType: '', interfaceVersion: 0x34, addrTon: 0, addrNpi: 0, addressRange: '' }),
      (e) => e instanceof InvalidStateError && /a session binds once/.test(e.message),
    );
    assert.equal(s.session.state, SessionState.BoundTrx);
    s.session.destroy();
  });

  test('ESME: bind, then a deliver_sm is handled; before the bind it gets ESME_RINVBNDSTS', async () => {
    const seen: Pdu[] = [];
    const s = setup({ role: 'esme' }, {
      onRequest: (p) => {
        seen.push(p);
        return { messageId: '' };
      },
    });
    s.peer.send(submitBody().build(CommandId.deliver_sm, 0, 7));
    await s.peer.expect('deliver_sm_resp', S.ESME_RINVBNDSTS, 7);
    const bound = s.session.bind('receiver', {
      systemId: 'esme1',
      password: 'secret1',
      systemType: '',
      interfaceVersion: 0x34,
      addrTon: 0,
      addrNpi: 0,
      addressRange: '',
    });
    const bind = await s.peer.expect('bind_receiver', 0, 1);
    assert.equal((bind as Pdu & { systemId: string }).systemId, 'esme1');
    s.peer.send(new PduBuilder().cstring('SMSC').build(CommandId.bind_receiver_resp, 0, 1));
    await bound;
    assert.equal(s.session.state, SessionState.BoundRx);
    s.peer.send(submitBody().build(CommandId.deliver_sm, 0, 8));
    await s.peer.expect('deliver_sm_resp', 0, 8);
    assert.equal(seen.length, 1);
    // SMSC-side requests an ESME never accepts: generic_nack.
    s.peer.send(submit(9));
    await s.peer.expect('generic_nack', S.ESME_RINVCMDID, 9);
    s.session.destroy();
  });

  test('ESME: a refused bind rejects with CommandStatusError and returns to OPEN', async () => {
    const s = setup({ role: 'esme' });
    const bound = s.session.bind('transceiver', {
      systemId: 'esme1',
      password: 'x',
      systemType: '',
      interfaceVersion: 0x34,
      addrTon: 0,
      addrNpi: 0,
      addressRange: '',
    });
    await s.peer.expect('bind_transceiver', 0, 1);
    s.peer.send(headerOnly(CommandId.bind_transceiver_resp, S.ESME_RINVPASWD, 1));
    await assert.rejects(bound, (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RINVPASWD);
    assert.equal(s.session.state, SessionState.Open);
    s.session.destroy();
  });
});

// ---- timers --------------------------------------------------------------------------------

describe('timers', () => {
  test('session_init_timer closes an unbound SMSC session, not a bound one', async () => {
    const s = setup({ role: 'smsc', sessionInitTimeoutMs: 1000 }, { onBind: acceptBind });
    s.clock.advance(999);
    assert.equal(s.session.state, SessionState.Open);
    s.clock.advance(1);
    const err = await closedWithin(s.session);
    assert.ok(err instanceof SessionClosedError);
    assert.match(err.message, /session_init_timer/);

    const b = await boundSmsc({ sessionInitTimeoutMs: 1000 });
    b.clock.advance(10_000);
    assert.equal(b.session.state, SessionState.BoundTrx);
    b.session.destroy();
  });

  test('the ESME side has no session_init_timer by default', async () => {
    const s = setup({ role: 'esme' });
    s.clock.advance(3_600_000);
    assert.equal(s.session.state, SessionState.Open);
    s.session.destroy();
  });

  test('enquire_link_timer fires only when idle, and only once bound', async () => {
    const s = setup({ role: 'smsc', enquireLinkIntervalMs: 1000, sessionInitTimeoutMs: 0 }, { onBind: acceptBind });
    s.clock.advance(5000);
    assert.deepEqual(await s.peer.roundTrip(1), [], 'no enquire_link in OPEN');
    s.peer.send(bindFrame('transceiver', { sequenceNumber: 2 }));
    await s.peer.expect('bind_transceiver_resp', 0, 2);
    const t0 = s.clock.now();
    s.clock.advance(600);
    assert.deepEqual(await s.peer.roundTrip(3), [], 'traffic at +600');
    s.clock.advance(400); // +1000: only 400 idle
    assert.deepEqual(await s.peer.roundTrip(4), [], 'not idle at +1000 (and the round trip resets it)');
    s.clock.advance(999);
    await tick();
    assert.equal(s.peer.frames.length, 0);
    s.clock.advance(1);
    const el = await s.peer.expect('enquire_link');
    assert.equal(s.clock.now() - t0, 2000);
    s.peer.send(headerOnly(CommandId.enquire_link_resp, 0, el.sequenceNumber));
    await tick();
    assert.equal(s.session.outstanding, 0);
    s.session.destroy();
  });

  test('an unanswered enquire_link drops the session after the response timer', async () => {
    const s = await boundSmsc({ enquireLinkIntervalMs: 1000, responseTimeoutMs: 500 });
    s.clock.advance(1000);
    await s.peer.expect('enquire_link');
    s.clock.advance(499);
    assert.equal(s.session.isBound, true);
    s.clock.advance(1);
    const err = await closedWithin(s.session);
    assert.ok(err instanceof SessionClosedError);
    assert.match(err.message, /enquire_link/);
  });

  test('inactivity_timer: transactions reset it, enquire_link does not; expiry sends unbind', async () => {
    const s = await boundSmsc({ inactivityTimeoutMs: 5000 }, { onRequest: () => ({ messageId: 'x' }) });
    s.clock.advance(3000);
    s.peer.send(submit(2));
    await s.peer.expect('submit_sm_resp', 0, 2);
    s.clock.advance(4999); // 4999 since the submit
    assert.deepEqual(await s.peer.roundTrip(), []);
    s.clock.advance(1);
    const unbind = await s.peer.expect('unbind');
    assert.equal(s.session.state, SessionState.Unbinding);
    s.peer.send(headerOnly(CommandId.unbind_resp, 0, unbind.sequenceNumber));
    assert.equal(await closedWithin(s.session), undefined);
  });

  test('response timer: ResponseTimeoutError, window slot freed, late response dropped', async () => {
    const s = await boundSmsc({ responseTimeoutMs: 1000, windowSize: 1 });
    const r1 = s.session.request('deliver_sm', deliverBody('a'));
    const d1 = await s.peer.expect('deliver_sm');
    const r2 = s.session.request('deliver_sm', deliverBody('b'), { timeoutMs: 5000 });
    s.clock.advance(1000);
    await assert.rejects(r1, (e: unknown) => e instanceof ResponseTimeoutError && e.request.sequenceNumber === d1.sequenceNumber);
    const d2 = await s.peer.expect('deliver_sm');
    assert.notEqual(d2.sequenceNumber, d1.sequenceNumber);
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, d1.sequenceNumber)); // late: dropped
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, d2.sequenceNumber));
    assert.equal((await r2).sequenceNumber, d2.sequenceNumber);
    assert.deepEqual(await s.peer.roundTrip(), []);
    s.session.destroy();
  });
});

// ---- window and responses ----------------------------------------------------------------------

describe('window and responses', () => {
  test('requests beyond the window wait; wait:false rejects with WindowFullError', async () => {
    const s = await boundSmsc({ windowSize: 2 });
    const rs = [1, 2, 3].map((i) => s.session.request('deliver_sm', deliverBody(`${i}`)));
    const a = await s.peer.expect('deliver_sm');
    const b = await s.peer.expect('deliver_sm');
    assert.equal(s.session.outstanding, 2);
    await assert.rejects(s.session.request('deliver_sm', deliverBody('x'), { wait: false }), WindowFullError);
    assert.deepEqual(await s.peer.roundTrip(), [], 'the third waits');
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, b.sequenceNumber)); // out of order
    const c = await s.peer.expect('deliver_sm');
    s.peer.send(Buffer.concat([headerOnly(CommandId.deliver_sm_resp, 0, a.sequenceNumber), headerOnly(CommandId.deliver_sm_resp, 0, c.sequenceNumber)]));
    const resps = await Promise.all(rs);
    assert.deepEqual(
      resps.map((r) => r.sequenceNumber),
      [a.sequenceNumber, b.sequenceNumber, c.sequenceNumber],
    );
    s.session.destroy();
  });

  test("'slotFree' when a response or a timeout frees a slot no waiting request takes", async () => {
    const s = await boundSmsc({ windowSize: 1, responseTimeoutMs: 1000 });
    let freed = 0;
    s.session.on('slotFree', () => freed++);
    const ping = s.session.request('enquire_link', {} as BodyOf<'enquire_link'>, { wait: false });
    const queued = s.session.request('deliver_sm', deliverBody('waits'));
    const link = await s.peer.expect('enquire_link');
    s.peer.send(headerOnly(CommandId.enquire_link_resp, 0, link.sequenceNumber));
    await ping;
    assert.equal(freed, 0, 'the waiting request took the slot');
    const d = await s.peer.expect('deliver_sm');
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, d.sequenceNumber));
    await queued;
    assert.equal(freed, 1, 'a response freed the slot');
    const late = s.session.request('deliver_sm', deliverBody('unanswered'), { wait: false });
    await s.peer.expect('deliver_sm');
    s.clock.advance(1000);
    await assert.rejects(late, ResponseTimeoutError);
    assert.equal(freed, 2, 'the timeout freed the slot');
    s.session.destroy();
  });

  test('when the session closes, a sent request rejects with SessionClosedError, one waiting for a slot with RequestNotSentError', async () => {
    const s = await boundSmsc({ windowSize: 1 });
    const sent = s.session.request('deliver_sm', deliverBody('sent'));
    const waiting = s.session.request('deliver_sm', deliverBody('waiting'));
    await s.peer.expect('deliver_sm');
    assert.equal(s.session.waiting, 1);
    s.session.destroy();
    await assert.rejects(sent, (e: unknown) => e instanceof SessionClosedError && !(e instanceof RequestNotSentError));
    await assert.rejects(waiting, RequestNotSentError);
  });

  test('error status and generic_nack reject with CommandStatusError; a response of the wrong type is dropped', async () => {
    const s = await boundSmsc();
    const r1 = s.session.request('deliver_sm', deliverBody('1'));
    const r2 = s.session.request('deliver_sm', deliverBody('2'));
    const d1 = await s.peer.expect('deliver_sm');
    const d2 = await s.peer.expect('deliver_sm');
    s.peer.send(headerOnly(CommandId.submit_sm_resp, 0, d1.sequenceNumber)); // wrong type: dropped
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, S.ESME_RX_P_APPN, d1.sequenceNumber));
    s.peer.send(headerOnly(CommandId.generic_nack, S.ESME_RINVCMDID, d2.sequenceNumber));
    await assert.rejects(r1, (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RX_P_APPN);
    await assert.rejects(r2, (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RINVCMDID);
    s.session.destroy();
  });

  test('a request woken for a slot that cannot be sent passes the slot on: the next one is sent', async () => {
    const s = await boundSmsc({ windowSize: 1 });
    const first = s.session.request('deliver_sm', deliverBody('first'));
    const bad = s.session.request('deliver_sm', { ...deliverBody('bad'), sourceAddr: 'x'.repeat(40) });
    const good = s.session.request('deliver_sm', deliverBody('good'));
    const d1 = await s.peer.expect('deliver_sm');
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, d1.sequenceNumber));
    await first;
    await assert.rejects(bad);
    const d2 = await s.peer.expect('deliver_sm');
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, d2.sequenceNumber));
    assert.equal((await withTimeout(good, 2000, 'the good request')).sequenceNumber, d2.sequenceNumber);
    s.session.destroy();
  });

  test("a 'slotFree' or 'state' listener that throws does not break the session", async () => {
    const s = await boundSmsc({ windowSize: 1 });
    s.session.on('slotFree', () => {
      throw new Error('a listener with a bug');
    });
    s.session.on('state', () => {
      throw new Error('another');
    });
    const heard: string[] = [];
    s.session.on('state', (state: string) => heard.push(state));
    const r = s.session.request('deliver_sm', deliverBody('1'));
    const d = await s.peer.expect('deliver_sm');
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, d.sequenceNumber));
    assert.equal((await r).sequenceNumber, d.sequenceNumber);
    assert.deepEqual(await s.peer.roundTrip(), [], 'still reading and answering');
    s.session.destroy();
    assert.equal(s.session.state, SessionState.Closed);
    assert.deepEqual(heard, [SessionState.Closed], 'the listener after the throwing one still hears');
  });

  test('a response that does not decode fails its request at once', async () => {
    const s = await boundSmsc({ responseTimeoutMs: 60_000 });
    const r = s.session.request('deliver_sm', deliverBody('1'));
    const d = await s.peer.expect('deliver_sm');
    // deliver_sm_resp, status 0, whose message_id has no NUL.
    const body = Buffer.from('abc');
    const bad = Buffer.concat([headerOnly(CommandId.deliver_sm_resp, 0, d.sequenceNumber), body]);
    bad.writeUInt32BE(bad.length, 0);
    s.peer.send(bad);
    await withTimeout(assert.rejects(r), 2000, 'the request fails before its timer');
    assert.equal(s.session.outstanding, 0);
    assert.deepEqual(await s.peer.roundTrip(), []);
    s.session.destroy();
  });

  test('responseTimeoutMs 0: no response timer', async () => {
    const s = await boundSmsc({ responseTimeoutMs: 0 });
    const r = s.session.request('deliver_sm', deliverBody('1'));
    const d = await s.peer.expect('deliver_sm');
    s.clock.advance(3_600_000);
    s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, d.sequenceNumber));
    assert.equal((await r).sequenceNumber, d.sequenceNumber);
    s.session.destroy();
  });

  test('closing rejects outstanding requests with SessionClosedError carrying the request', async () => {
    const s = await boundSmsc();
    const r = s.session.request('deliver_sm', deliverBody('lost'));
    await s.peer.expect('deliver_sm');
    s.peer.end.destroy();
    await assert.rejects(r, (e: unknown) => e instanceof SessionClosedError && e.request?.command === 'deliver_sm');
    await assert.rejects(s.session.request('deliver_sm', deliverBody('after')), SessionClosedError);
  });

  test('sequence numbers run 1, 2, ... and wrap from 0x7FFFFFFF to 1', () => {
    const [a] = duplexPair();
    const fresh = new Session(a, { role: 'esme', clock: new ManualClock(), enquireLinkIntervalMs: 0 });
    assert.deepEqual([fresh.nextSequence(), fresh.nextSequence()], [1, 2]);
    fresh.destroy();
    const [b] = duplexPair();
    const wrapping = new Session(b, { role: 'esme', clock: new ManualClock(), enquireLinkIntervalMs: 0, initialSequence: 0x7ffffffd });
    assert.deepEqual(
      [wrapping.nextSequence(), wrapping.nextSequence(), wrapping.nextSequence(), wrapping.nextSequence()],
      [0x7ffffffe, 0x7fffffff, 1, 2],
    );
    wrapping.destroy();
  });
});

// ---- handlers, unbind ordering, reads ----------------------------------------------------------

describe('handlers and reads', () => {
  test('unbind waits for in-flight handlers: their responses first, then unbind_resp, then close', async () => {
    const gate = deferred<Reply>();
    const s = await boundSmsc({}, { onRequest: () => gate.promise });
    s.peer.send(Buffer.concat([submit(2), headerOnly(CommandId.unbind, 0, 3)]));
    // enquire_link is still answered while unbinding; unbind_resp is not there yet.
    assert.deepEqual(await s.peer.roundTrip(4), []);
    assert.equal(s.session.state, SessionState.Unbinding);
    gate.resolve({ messageId: 'done' });
    const resp = await s.peer.expect('submit_sm_resp', 0, 2);
    assert.equal((resp as Pdu & { messageId: string }).messageId, 'done');
    await s.peer.expect('unbind_resp', 0, 3);
    assert.equal(await closedWithin(s.session), undefined);
  });

  test("the peer's unbind waits for a handler that never ends at most the response timer", async () => {
    const s = await boundSmsc({ responseTimeoutMs: 5000 }, { onRequest: () => new Promise<Reply>(() => {}) });
    s.peer.send(Buffer.concat([submit(2), headerOnly(CommandId.unbind, 0, 3)]));
    assert.deepEqual(await s.peer.roundTrip(4), []);
    s.clock.advance(4999);
    assert.deepEqual(await s.peer.roundTrip(5), [], 'still waiting for the submit');
    s.clock.advance(1);
    await s.peer.expect('unbind_resp', 0, 3);
    assert.equal(await closedWithin(s.session), undefined);
  });

  test('our own unbind: handlers still running are answered first, then the unbind goes', async () => {
    const gate = deferred<Reply>();
    const s = await boundSmsc({}, { onRequest: () => gate.promise });
    s.peer.send(submit(2));
    assert.deepEqual(await s.peer.roundTrip(4), [], 'the submit is being handled');
    const unbinding = s.session.unbind();
    // A peer may close as soon as it answers an unbind: nothing goes before the submit's answer.
    assert.deepEqual(await s.peer.roundTrip(5), [], 'no unbind while the submit is being handled');
    assert.equal(s.session.state, SessionState.Unbinding);
    gate.resolve({ messageId: 'stored' });
    const resp = await s.peer.expect('submit_sm_resp', 0, 2);
    assert.equal((resp as Pdu & { messageId: string }).messageId, 'stored');
    const u = await s.peer.expect('unbind');
    s.peer.send(headerOnly(CommandId.unbind_resp, 0, u.sequenceNumber));
    await withTimeout(unbinding, 2000, 'unbind');
    assert.equal(await closedWithin(s.session), undefined);
  });

  test('a handler that answers nothing gets ESME_RSYSERR; the session goes on', async () => {
    let n = 0;
    const s = await boundSmsc({}, { onRequest: () => (++n === 1 ? (undefined as unknown as Reply) : Promise.resolve(null as unknown as Reply)) });
    s.peer.send(Buffer.concat([submit(2), submit(3)]));
    await s.peer.expect('submit_sm_resp', S.ESME_RSYSERR, 2);
    await s.peer.expect('submit_sm_resp', S.ESME_RSYSERR, 3);
    assert.deepEqual(await s.peer.roundTrip(), []);
    s.session.destroy();
  });

  test('handlers that throw or reject answer ESME_RSYSERR', async () => {
    let n = 0;
    const s = await boundSmsc(
      {},
      {
        onRequest: () => {
          if (++n === 1) throw new Error('boom');
          return Promise.reject(new Error('async boom'));
        },
      },
    );
    s.peer.send(Buffer.concat([submit(2), submit(3)]));
    await s.peer.expect('submit_sm_resp', S.ESME_RSYSERR, 2);
    await s.peer.expect('submit_sm_resp', S.ESME_RSYSERR, 3);
    assert.deepEqual(await s.peer.roundTrip(), []);
    s.session.destroy();
  });

  test('all PDUs produced in one tick leave in one write', async () => {
    const s = await boundSmsc();
    await tick();
    const calls = s.sessionEnd.writeCalls;
    const chunks = s.peer.dataChunks;
    for (let i = 0; i < 5; i++) s.session.request('deliver_sm', deliverBody(`m${i}`)).catch(() => {});
    for (let i = 0; i < 5; i++) await s.peer.expect('deliver_sm');
    assert.equal(s.sessionEnd.writeCalls - calls, 1, 'one write call for five requests');
    assert.equal(s.peer.dataChunks - chunks, 1, 'one chunk on the other side');
    // Responses to PDUs that arrived together also leave together.
    const calls2 = s.sessionEnd.writeCalls;
    s.peer.send(Buffer.concat([1, 2, 3, 4].map((i) => headerOnly(CommandId.enquire_link, 0, 100 + i))));
    for (let i = 1; i <= 4; i++) await s.peer.expect('enquire_link_resp', 0, 100 + i);
    assert.equal(s.sessionEnd.writeCalls - calls2, 1, 'four responses in one write');
    s.session.destroy();
  });

  test('reads pause while maxInboundInFlight handlers are busy', async () => {
    const { s, gates, handled } = await gatedSmsc(2);
    s.peer.send(Buffer.concat([submit(10), submit(11), submit(12)]));
    await tick();
    s.peer.send(submit(13));
    await tick();
    await tick();
    assert.deepEqual(handled, [10, 11], 'only two handlers at once');
    assert.equal(s.session.inflight, 2);
    assert.equal(s.sessionEnd.isPaused(), true, 'the transport is paused');
    gates[0]!({ messageId: 'a' });
    await s.peer.expect('submit_sm_resp', 0, 10);
    assert.deepEqual(handled, [10, 11, 12]);
    gates[1]!({ messageId: 'b' });
    await s.peer.expect('submit_sm_resp', 0, 11);
    await tick();
    assert.deepEqual(handled, [10, 11, 12, 13]);
    gates[2]!({ messageId: 'c' });
    gates[3]!({ messageId: 'd' });
    await s.peer.expect('submit_sm_resp', 0, 12);
    await s.peer.expect('submit_sm_resp', 0, 13);
    await tick();
    assert.equal(s.sessionEnd.isPaused(), false, 'reading resumes');
    assert.deepEqual(await s.peer.roundTrip(), []);
    s.session.destroy();
  });

  test('with every handler busy, an enquire_link is answered and a response read; requests wait their turn in order', async () => {
    const { s, gates, handled } = await gatedSmsc(2);
    const delivery = s.session.request('deliver_sm', deliverBody('to the peer'));
    const d = await s.peer.expect('deliver_sm');
    // Long transaction-mode submits hold both slots; the next waits; the link check and the
    // peer's answer to our deliver_sm come behind them.
    s.peer.send(
      Buffer.concat([submit(20), submit(21), submit(22), headerOnly(CommandId.enquire_link, 0, 23), headerOnly(CommandId.deliver_sm_resp, 0, d.sequenceNumber)]),
    );
    await s.peer.expect('enquire_link_resp', 0, 23);
    assert.equal((await delivery).sequenceNumber, d.sequenceNumber, 'the deliver_sm_resp was read');
    assert.deepEqual(handled, [20, 21], 'the third submit waits for a slot');
    gates[0]!({ messageId: 'a' });
    await s.peer.expect('submit_sm_resp', 0, 20);
    await tick();
    assert.deepEqual(handled, [20, 21, 22], 'then it runs, in order');
    gates[1]!({ messageId: 'b' });
    gates[2]!({ messageId: 'c' });
    await s.peer.expect('submit_sm_resp', 0, 21);
    await s.peer.expect('submit_sm_resp', 0, 22);
    assert.deepEqual(await s.peer.roundTrip(), []);
    s.session.destroy();
  });

  test('with every handler busy, as many requests as handler slots are held back, then reads pause', async () => {
    const { s, gates } = await gatedSmsc(2);
    s.peer.send(Buffer.concat([30, 31, 32, 33].map((i) => submit(i))));
    await tick();
    await tick();
    assert.equal(s.session.inflight, 2);
    assert.equal(s.sessionEnd.isPaused(), true, 'two running, two held: no more is read');
    s.peer.send(headerOnly(CommandId.enquire_link, 0, 34));
    await tick();
    assert.equal(s.peer.frames.length, 0, 'not even an enquire_link, until a slot frees');
    gates[0]!({ messageId: 'a' });
    await s.peer.expect('submit_sm_resp', 0, 30);
    await s.peer.expect('enquire_link_resp', 0, 34);
    s.session.destroy();
  });
});

// ---- frozen peer ---------------------------------------------------------------------------------

describe('drain timeout', () => {
  const big = () => deliverBody('', { tlvs: { messagePayload: Buffer.alloc(4000, 0x62) } });

  test('a peer that takes no bytes for drainTimeoutMs is dropped', async () => {
    const s = await boundSmsc({ drainTimeoutMs: 3000, windowSize: 100 }, {}, 1024);
    s.peer.end.pause();
    const rs = Array.from({ length: 10 }, () => s.session.request('deliver_sm', big()));
    for (const r of rs) r.catch(() => {});
    await tick();
    assert.equal(s.sessionEnd.writableNeedDrain, true);
    s.clock.advance(2999);
    assert.equal(s.session.isBound, true);
    s.clock.advance(1);
    const err = await closedWithin(s.session);
    assert.ok(err instanceof SessionClosedError);
    assert.match(err.message, /took no data/);
    for (const r of rs) await assert.rejects(r, SessionClosedError);
  });

  test('a slow peer that drains in time is kept, and every PDU arrives', async () => {
    const s = await boundSmsc({ drainTimeoutMs: 3000, windowSize: 100 }, {}, 1024);
    s.peer.end.pause();
    const rs = Array.from({ length: 10 }, () => s.session.request('deliver_sm', big()));
    await tick();
    s.clock.advance(2000);
    s.peer.end.resume();
    for (let i = 0; i < 10; i++) {
      const d = await s.peer.expect('deliver_sm');
      s.peer.send(headerOnly(CommandId.deliver_sm_resp, 0, d.sequenceNumber));
    }
    await Promise.all(rs);
    s.clock.advance(5000);
    assert.equal(s.session.isBound, true);
    s.session.destroy();
  });
});

// ---- version handling ------------------------------------------------------------------------------

describe('interface version', () => {
  test('a 3.3 peer never gets TLVs, from request() or send()', async () => {
    const s = setup({ role: 'smsc' }, { onBind: acceptBind });
    s.peer.send(bindFrame('receiver', { interfaceVersion: 0x33, sequenceNumber: 1 }));
    const resp = await s.peer.expect('bind_receiver_resp', 0, 1);
    assert.deepEqual((resp as Pdu & { tlvs: object }).tlvs, {});
    s.session.request('deliver_sm', deliverBody('x', { tlvs: { userMessageReference: 5 } })).catch(() => {});
    const d = await s.peer.expect('deliver_sm');
    assert.deepEqual((d as Pdu & { tlvs: object }).tlvs, {});
    s.session.send({
      command: 'alert_notification',
      commandStatus: 0,
      sequenceNumber: s.session.nextSequence(),
      sourceAddrTon: 0,
      sourceAddrNpi: 0,
      sourceAddr: '1',
      esmeAddrTon: 0,
      esmeAddrNpi: 0,
      esmeAddr: '2',
      tlvs: { msAvailabilityStatus: 0 },
    });
    const an = await s.peer.expect('alert_notification');
    assert.deepEqual((an as Pdu & { tlvs: object }).tlvs, {});
    s.session.destroy();
  });

  test('a 3.4 peer gets the TLVs', async () => {
    const s = await boundSmsc();
    s.session.request('deliver_sm', deliverBody('x', { tlvs: { userMessageReference: 5 } } as Partial<BodyOf<'deliver_sm'>>)).catch(() => {});
    const d = await s.peer.expect('deliver_sm');
    assert.deepEqual((d as Pdu & { tlvs: object }).tlvs, { userMessageReference: 5 });
    s.session.destroy();
  });
});
