/**
 * The upstream SMPP connector against our own SmscServer on 127.0.0.1 (real TCP), timers on a
 * ManualClock; real time only guards against hangs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { storedMessage, T0 } from '../../test/connectors/fixtures.js';
import { type Deferred, deferred, waitFor, withTimeout } from '../../test/support/async.js';
import { deliverBody, type Harness, startServer } from '../../test/support/server.js';
import type { Delivery } from '../client/client.js';
import { CommandStatusError } from '../errors.js';
import { CommandStatus as S } from '../pdu/constants.js';
import { encodeTlvs } from '../pdu/encode.js';
import type { PduOf, Tlvs } from '../pdu/types.js';
import { ConfigKeyError } from '../routing/validate.js';
import { ManualClock } from '../session/clock.js';
import type { Reply, Session } from '../session/session.js';
import { decodeText } from '../sm/encoding.js';
import type { MessageStateName } from '../store/types.js';
import {
  type LinkChange,
  MemoryIdMap,
  NO_UPSTREAM_ID,
  normaliseUpstreamId,
  PersistentIdMap,
  parseSmpp,
  parseUpstreamReceipt,
  SmppTarget,
  type SmppTargetOptions,
  stateNameOf,
  submitSmBody,
} from './smpp.js';

type SubmitBehaviour = (req: PduOf<'submit_sm'>, session: Session) => Reply | Promise<Reply>;

interface Rig {
  h: Harness;
  clock: ManualClock;
  target: SmppTarget;
  /** The SMSC side of the target's bind. */
  upstream: Session;
  submits: PduOf<'submit_sm'>[];
  receipts: { ourId: string; state: MessageStateName; errorCode: number }[];
  capacityCalls: () => number;
  setBehaviour(fn: SubmitBehaviour): void;
  close(): Promise<void>;
}

async function rig(options: Partial<SmppTargetOptions> = {}): Promise<Rig> {
  const clock = new ManualClock(T0);
  const submits: PduOf<'submit_sm'>[] = [];
  let ids = 0;
  let behaviour: SubmitBehaviour = () => ({ messageId: `U${++ids}` });
  const h = await startServer({
    clock,
    handlers: {
      onSubmitSm: (req, ctx) => {
        submits.push(req);
        return behaviour(req, ctx.session);
      },
    },
  });
  let capacityCalls = 0;
  const target = new SmppTarget({
    host: '127.0.0.1',
    port: h.port,
    systemId: 'esme1',
    password: 'secret1',
    clock,
    enquireLinkIntervalMs: 0,
    responseTimeoutMs: 5000,
    onCapacity: () => {
      capacityCalls++;
    },
    ...options,
  });
  const receipts: Rig['receipts'] = [];
  target.onUpstreamReceipt((ourId, state, errorCode) => {
    receipts.push({ ourId, state, errorCode });
  });
  const bound = h.nextBound('esme1');
  target.start();
  await withTimeout(target.ready(), 5000, 'bound');
  const upstream = await withTimeout(bound, 5000, 'server saw the bind');
  return {
    h,
    clock,
    target,
    upstream,
    submits,
    receipts,
    capacityCalls: () => capacityCalls,
    setBehaviour: (fn) => {
      behaviour = fn;
    },
    async close() {
      await target.stop();
      await h.close();
    },
  };
}

function receiptPdu(over: { text?: string; tlvs?: Tlvs; esmClass?: number } = {}) {
  return deliverBody(over.text ?? '', { esmClass: over.esmClass ?? 0x04, tlvs: over.tlvs ?? {} });
}

describe('SmppTarget', () => {
  test('binds as a transceiver, submits, and maps the upstream receipt (TLVs) back to our id', async () => {
    const r = await rig();
    try {
      assert.equal(r.upstream.bindType, 'transceiver');
      assert.equal(r.target.capacity(), 10, 'the window');
      const m = storedMessage({ id: 'our-1', registeredDelivery: 0, dataCoding: 8, payload: Buffer.from('00480069', 'hex'), esmClass: 0x03 });
      assert.deepEqual(await r.target.deliver(m), { kind: 'forwarded', remoteId: 'u1' });
      const sub = r.submits[0]!;
      assert.equal(sub.sourceAddr, '1000');
      assert.equal(sub.sourceAddrTon, 5);
      assert.equal(sub.destinationAddr, '447012345678');
      assert.equal(sub.dataCoding, 8);
      assert.equal(decodeText(sub.shortMessage, 8), 'Hi');
      assert.equal(sub.registeredDelivery, 1, 'receipts always requested from the upstream');
      assert.equal(sub.esmClass, 0, 'our store-and-forward mode bits are not forwarded');
      assert.match(sub.validityPeriod, /^\d{12}000R$/, 'the remaining validity, relative');
      const resp = await withTimeout(
        r.upstream.request('deliver_sm', receiptPdu({ tlvs: { receiptedMessageId: 'U1', messageState: 2 } })),
        5000,
        'receipt acknowledged',
      );
      assert.equal(resp.commandStatus, 0);
      assert.deepEqual(r.receipts, [{ ourId: 'our-1', state: 'DELIVERED', errorCode: 0 }]);
      assert.equal(r.target.stats.receipts, 1);
    } finally {
      await r.close();
    }
  });

  test('requestReceipts asRequested: a message asking a receipt of any kind (on failure only too) asks a final one upstream; one asking none is delivered once accepted', async () => {
    const r = await rig({ requestReceipts: 'asRequested' });
    try {
      assert.deepEqual(await r.target.deliver(storedMessage({ id: 'our-f', registeredDelivery: 0x02 })), { kind: 'forwarded', remoteId: 'u1' });
      assert.equal(r.submits[0]!.registeredDelivery, 0x01, 'failure-only here, final upstream: else a success never ends it');
      assert.deepEqual(await r.target.deliver(storedMessage({ id: 'our-n', registeredDelivery: 0x10 })), { kind: 'delivered' });
      assert.equal(r.submits[1]!.registeredDelivery, 0x10, 'none asked upstream (the intermediate bit kept)');
    } finally {
      await r.close();
    }
  });

  test('a receipt by text only, with another case and leading zeros, and the error code', async () => {
    const r = await rig();
    r.setBehaviour(() => ({ messageId: '00AB12' }));
    try {
      await r.target.deliver(storedMessage({ id: 'our-2' }));
      const text = 'id:ab12 sub:001 dlvrd:000 submit date:2601010000 done date:2601010001 stat:UNDELIV err:001 text:Hello';
      await withTimeout(r.upstream.request('deliver_sm', receiptPdu({ text })), 5000, 'ack');
      assert.deepEqual(r.receipts, [{ ourId: 'our-2', state: 'UNDELIVERABLE', errorCode: 1 }]);
      // A final state forgets the mapping: a second receipt for the same id is unmatched.
      await withTimeout(r.upstream.request('deliver_sm', receiptPdu({ text })), 5000, 'ack');
      assert.equal(r.receipts.length, 1);
      assert.equal(r.target.stats.unmatchedReceipts, 1);
    } finally {
      await r.close();
    }
  });

  test('intermediate states keep the mapping; network_error_code is reported', async () => {
    const r = await rig();
    try {
      await r.target.deliver(storedMessage({ id: 'our-3' }));
      await r.upstream.request('deliver_sm', receiptPdu({ esmClass: 0x20, tlvs: { receiptedMessageId: 'U1', messageState: 1 } }));
      await r.upstream.request(
        'deliver_sm',
        receiptPdu({ tlvs: { receiptedMessageId: 'U1', messageState: 5, networkErrorCode: { networkType: 3, errorCode: 27 } } }),
      );
      assert.deepEqual(r.receipts, [
        { ourId: 'our-3', state: 'ENROUTE', errorCode: 0 },
        { ourId: 'our-3', state: 'UNDELIVERABLE', errorCode: 27 },
      ]);
    } finally {
      await r.close();
    }
  });

  test('hex ids in responses, decimal in receipts (idFormat)', async () => {
    const r = await rig({ idFormat: { submit: 'hex', receipt: 'decimal' } });
    r.setBehaviour(() => ({ messageId: '00FF' }));
    try {
      await r.target.deliver(storedMessage({ id: 'our-4' }));
      await r.upstream.request('deliver_sm', receiptPdu({ text: 'id:255 stat:DELIVRD err:000' }));
      assert.deepEqual(r.receipts, [{ ourId: 'our-4', state: 'DELIVERED', errorCode: 0 }]);
    } finally {
      await r.close();
    }
  });

  test('receipted_message_id is read as the submit response wrote it, the text id: per idFormat', async () => {
    const r = await rig({ idFormat: { submit: 'hex', receipt: 'decimal' } });
    let next = 0;
    const ids = ['1234', '4D2'];
    r.setBehaviour(() => ({ messageId: ids[next++]! }));
    try {
      await r.target.deliver(storedMessage({ id: 'our-a' })); // upstream 0x1234
      await r.target.deliver(storedMessage({ id: 'our-b' })); // upstream 0x4D2 = 1234
      await r.upstream.request('deliver_sm', receiptPdu({ tlvs: { receiptedMessageId: '1234', messageState: 2 } }));
      assert.deepEqual(r.receipts, [{ ourId: 'our-a', state: 'DELIVERED', errorCode: 0 }]);
      await r.upstream.request('deliver_sm', receiptPdu({ text: 'id:1234 stat:DELIVRD err:000' }));
      assert.deepEqual(r.receipts.at(-1), { ourId: 'our-b', state: 'DELIVERED', errorCode: 0 });
    } finally {
      await r.close();
    }
  });

  test('ACKED, and any state in an intermediate notification, do not end the message', async () => {
    const r = await rig();
    try {
      await r.target.deliver(storedMessage({ id: 'our-7' }));
      await r.upstream.request('deliver_sm', receiptPdu({ text: 'id:U1 stat:ACKED err:000' }));
      await r.upstream.request('deliver_sm', receiptPdu({ esmClass: 0x20, tlvs: { receiptedMessageId: 'U1', messageState: 6 } }));
      await r.upstream.request('deliver_sm', receiptPdu({ text: 'id:U1 stat:DELIVRD err:000' }));
      assert.deepEqual(
        r.receipts.map((x) => x.state),
        ['ENROUTE', 'ENROUTE', 'DELIVERED'],
      );
      assert.equal(r.target.stats.unmatchedReceipts, 0);
    } finally {
      await r.close();
    }
  });

  test('an unmatched receipt is answered within the response timer while submits keep coming', async () => {
    const r = await rig();
    const never = deferred<Reply>();
    r.setBehaviour(() => never.promise); // a submit in flight, unanswered
    try {
      const inFlight = r.target.deliver(storedMessage({ id: 'our-8' }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const ack = r.upstream.request('deliver_sm', receiptPdu({ tlvs: { receiptedMessageId: 'nobody', messageState: 2 } }), { timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(r.target.stats.unmatchedReceipts, 0, 'held while a submit is in flight');
      r.clock.advance(4000);
      // Another submit goes out: under steady traffic one is always in flight.
      const next = r.target.deliver(storedMessage({ id: 'our-9' }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      r.clock.advance(1000);
      assert.equal((await withTimeout(ack, 5000, 'the receipt answered')).commandStatus, 0);
      assert.equal(r.target.stats.unmatchedReceipts, 1);
      never.resolve({ messageId: 'late' });
      await inFlight;
      r.clock.advance(5000);
      await next;
    } finally {
      await r.close();
    }
  });

  test('an unmatched receipt waits only for the submits sent before it, not for those sent after', async () => {
    const r = await rig();
    const first = deferred<Reply>();
    const third = deferred<Reply>();
    let n = 0;
    r.setBehaviour(() => (++n === 1 ? first.promise : n === 3 ? third.promise : { messageId: `U${n}` }));
    try {
      const a = r.target.deliver(storedMessage({ id: 'our-a' }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const ack = r.upstream.request('deliver_sm', receiptPdu({ tlvs: { receiptedMessageId: 'nobody', messageState: 2 } }), { timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(await r.target.deliver(storedMessage({ id: 'our-b' })), { kind: 'forwarded', remoteId: 'u2' }, 'sent after the receipt');
      const c = r.target.deliver(storedMessage({ id: 'our-c' })); // sent after it too, and left in flight (steady traffic)
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(r.target.stats.unmatchedReceipts, 0, 'still held: our-a, sent before it, may be its message');
      first.resolve({ messageId: 'U1' });
      await a;
      // No clock moved, and our-c is still in flight: answered once our-a was, not at the response timer.
      assert.equal((await withTimeout(ack, 5000, 'the receipt answered')).commandStatus, 0);
      assert.equal(r.target.stats.unmatchedReceipts, 1);
      third.resolve({ messageId: 'U3' });
      await c;
    } finally {
      await r.close();
    }
  });

  test('an upstream bound as 3.3 gets the text in short_message, SAR parts with a UDH; a text too long for it fails', async () => {
    const r = await rig({ interfaceVersion: 0x33 });
    try {
      assert.equal((await r.target.deliver(storedMessage({ id: 'p1', payload: Buffer.from('in a TLV'), payloadInTlv: true }))).kind, 'forwarded');
      assert.equal(r.submits[0]!.shortMessage.toString(), 'in a TLV', 'not dropped with the TLVs');
      const sar = encodeTlvs({ sarMsgRefNum: 0x0102, sarTotalSegments: 2, sarSegmentSeqnum: 1 });
      assert.equal((await r.target.deliver(storedMessage({ id: 'p2', payload: Buffer.from('part'), tlvs: sar }))).kind, 'forwarded');
      const part = r.submits[1]!;
      assert.equal(part.esmClass & 0x40, 0x40);
      assert.deepEqual([...part.shortMessage.subarray(0, 7)], [6, 0x08, 4, 0x01, 0x02, 2, 1]);
      assert.deepEqual(part.tlvs, {});
      assert.deepEqual(await r.target.deliver(storedMessage({ id: 'p3', payload: Buffer.alloc(300, 0x41), payloadInTlv: true })), {
        kind: 'failed',
        state: 'UNDELIVERABLE',
        errorCode: 0x01,
      });
      assert.equal(r.submits.length, 2, 'never sent empty');
    } finally {
      await r.close();
    }
  });

  test('a receipt that arrives before its submit_sm_resp is held and then matched', async () => {
    const r = await rig();
    const ack: Deferred<number> = deferred();
    r.setBehaviour((_req, session) => {
      // The upstream writes the receipt before the response: the client reads it first.
      session.request('deliver_sm', receiptPdu({ tlvs: { receiptedMessageId: 'FAST', messageState: 2 } })).then(
        (p) => ack.resolve(p.commandStatus),
        (e: unknown) => ack.resolve(e instanceof CommandStatusError ? e.commandStatus : -1),
      );
      return { messageId: 'FAST' };
    });
    try {
      assert.deepEqual(await r.target.deliver(storedMessage({ id: 'our-5' })), { kind: 'forwarded', remoteId: 'fast' });
      assert.equal(await withTimeout(ack.promise, 5000, 'receipt acked'), 0);
      assert.deepEqual(r.receipts, [{ ourId: 'our-5', state: 'DELIVERED', errorCode: 0 }]);
      assert.equal(r.target.stats.unmatchedReceipts, 0);
    } finally {
      await r.close();
    }
  });

  test('an upstream that accepts without an id: forwarded all the same (not cancellable, not failed over), under an id no receipt matches', async () => {
    const r = await rig();
    r.setBehaviour(() => ({ messageId: '' }));
    try {
      assert.deepEqual(await r.target.deliver(storedMessage({ id: 'our-noid' })), { kind: 'forwarded', remoteId: NO_UPSTREAM_ID });
      assert.equal(r.target.stats.missingIds, 1);
      assert.notEqual(normaliseUpstreamId(NO_UPSTREAM_ID), NO_UPSTREAM_ID, 'no upstream id normalises to it');
      assert.notEqual(normaliseUpstreamId(NO_UPSTREAM_ID, 'hex'), NO_UPSTREAM_ID);
    } finally {
      await r.close();
    }
  });

  test('a receipt for an id we never submitted is acknowledged and counted', async () => {
    const r = await rig();
    try {
      const resp = await r.upstream.request('deliver_sm', receiptPdu({ tlvs: { receiptedMessageId: 'nobody', messageState: 2 } }));
      assert.equal(resp.commandStatus, 0);
      assert.equal(r.target.stats.unmatchedReceipts, 1);
      assert.equal(r.receipts.length, 0);
    } finally {
      await r.close();
    }
  });

  test('a receipt listener that fails gets ESME_RX_T_APPN back to the upstream (it will resend)', async () => {
    const r = await rig();
    const off = r.target.onUpstreamReceipt(async () => {
      throw new Error('store down');
    });
    try {
      await r.target.deliver(storedMessage({ id: 'our-6' }));
      await assert.rejects(
        r.upstream.request('deliver_sm', receiptPdu({ tlvs: { receiptedMessageId: 'U1', messageState: 2 } })),
        (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RX_T_APPN,
      );
      off();
      // The upstream sends it again: it still matches, and is recorded this time.
      const again = await r.upstream.request('deliver_sm', receiptPdu({ tlvs: { receiptedMessageId: 'U1', messageState: 2 } }));
      assert.equal(again.commandStatus, 0);
      assert.deepEqual(r.receipts.at(-1), { ourId: 'our-6', state: 'DELIVERED', errorCode: 0 });
      assert.equal(r.target.stats.unmatchedReceipts, 0);
    } finally {
      await r.close();
    }
  });

  test('MO from the upstream reaches onUpstreamMo; without a listener it is refused (RX_P_APPN)', async () => {
    const r = await rig();
    try {
      await assert.rejects(
        r.upstream.request('deliver_sm', deliverBody('no one listens')),
        (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RX_P_APPN,
      );
      const got: Delivery[] = [];
      r.target.onUpstreamMo((d) => {
        got.push(d);
      });
      const resp = await r.upstream.request('deliver_sm', deliverBody('MO hello'));
      assert.equal(resp.commandStatus, 0);
      assert.equal(got.length, 1);
      assert.equal(got[0]!.command, 'deliver_sm');
      assert.equal(r.target.stats.mo, 2);
    } finally {
      await r.close();
    }
  });

  test('status mapping: RMSGQFUL retries, RINVDSTADR fails; RTHROTTLED pauses sending and counts no attempt', async () => {
    const r = await rig({ throttleBackoffMs: 2000 });
    try {
      r.setBehaviour(() => S.ESME_RMSGQFUL);
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'retry', errorCode: S.ESME_RMSGQFUL });
      r.setBehaviour(() => S.ESME_RSYSERR);
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'retry', errorCode: S.ESME_RSYSERR });
      r.setBehaviour(() => S.ESME_RX_T_APPN); // some upstreams answer submits with it: temporary
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'retry', errorCode: S.ESME_RX_T_APPN });
      r.setBehaviour(() => S.ESME_RINVDSTADR);
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'failed', state: 'UNDELIVERABLE', errorCode: S.ESME_RINVDSTADR });
      r.setBehaviour(() => S.ESME_RTHROTTLED);
      const before = r.capacityCalls();
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'unavailable' }, 'sent again after the pause, no back-off');
      assert.equal(r.target.capacity(), 0, 'paused after RTHROTTLED');
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'unavailable' });
      assert.equal(r.submits.length, 5, 'nothing sent while paused');
      r.clock.advance(1999);
      assert.equal(r.target.capacity(), 0);
      r.clock.advance(1);
      assert.equal(r.capacityCalls(), before + 1, 'onCapacity when the pause ends');
      // Slow start: one submit outstanding at first, one more for each the upstream accepts.
      assert.equal(r.target.capacity(), 1, 'one submit at a time right after the pause');
      const answer = deferred<Reply>();
      r.setBehaviour(() => answer.promise);
      const first = r.target.deliver(storedMessage());
      await waitFor(() => r.submits.length === 6, 'the first submit after the pause');
      assert.equal(r.target.capacity(), 0);
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'unavailable' }, 'a second waits for the first');
      answer.resolve({ messageId: 'ok' });
      assert.deepEqual(await first, { kind: 'forwarded', remoteId: 'ok' });
      assert.equal(r.target.capacity(), 2);
      r.setBehaviour(() => ({ messageId: 'ok' }));
      const caps: number[] = [];
      for (let i = 0; i < 9; i++) {
        await r.target.deliver(storedMessage());
        caps.push(r.target.capacity());
      }
      assert.deepEqual(caps, [3, 4, 5, 6, 7, 8, 9, 10, 10], 'back to the whole window');
    } finally {
      await r.close();
    }
  });

  test('slow start counts only submits sent after the throttle: those of the window it answered do not open it again', async () => {
    const r = await rig({ throttleBackoffMs: 1000 });
    try {
      const answers: Deferred<Reply>[] = [];
      r.setBehaviour(() => {
        const d = deferred<Reply>();
        answers.push(d);
        return d.promise;
      });
      const outcomes = [0, 1, 2, 3].map(() => r.target.deliver(storedMessage()));
      await waitFor(() => answers.length === 4, 'four submits in flight');
      answers[0]!.resolve(S.ESME_RTHROTTLED);
      assert.deepEqual(await outcomes[0], { kind: 'unavailable' });
      for (const a of answers.slice(1)) a.resolve({ messageId: 'x' });
      await Promise.all(outcomes);
      r.clock.advance(1000);
      assert.equal(r.target.capacity(), 1, 'the pause over, one at a time still');
    } finally {
      await r.close();
    }
  });

  test('a submit the upstream never answers → retry after the response timeout', async () => {
    const r = await rig({ responseTimeoutMs: 3000 });
    const arrived = deferred();
    r.setBehaviour(() => {
      arrived.resolve();
      return new Promise<Reply>(() => {});
    });
    try {
      const p = r.target.deliver(storedMessage());
      await withTimeout(arrived.promise, 5000, 'submit arrived');
      r.clock.advance(3000);
      assert.deepEqual(await withTimeout(p, 5000, 'timed out'), { kind: 'retry', errorCode: 0 });
    } finally {
      r.target.stop().catch(() => {});
      r.upstream.destroy();
      await r.h.close();
    }
  });

  test('TPS cap: capacity is the tokens left; they come back with (manual) time', async () => {
    const r = await rig({ tps: 4, burst: 2 });
    try {
      assert.equal(r.target.capacity(), 2);
      assert.equal((await r.target.deliver(storedMessage())).kind, 'forwarded');
      assert.equal((await r.target.deliver(storedMessage())).kind, 'forwarded');
      const calls = r.capacityCalls();
      assert.equal(r.target.capacity(), 0);
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'unavailable' });
      r.clock.advance(249);
      assert.equal(r.target.capacity(), 0);
      r.clock.advance(1);
      assert.equal(r.capacityCalls(), calls + 1, 'onCapacity when a token is back');
      assert.equal(r.target.capacity(), 1);
      r.clock.advance(10_000);
      assert.equal(r.target.capacity(), 2, 'never above the burst');
      assert.equal(r.submits.length, 2);
    } finally {
      await r.close();
    }
  });

  test('the window bounds submits outstanding', async () => {
    const r = await rig({ window: 2 });
    const held: Deferred<Reply>[] = [];
    r.setBehaviour(() => {
      const d = deferred<Reply>();
      held.push(d);
      return d.promise;
    });
    try {
      const a = r.target.deliver(storedMessage());
      const b = r.target.deliver(storedMessage());
      assert.equal(r.target.capacity(), 0);
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'unavailable' });
      await waitFor(() => held.length === 2, 'both submits reached the upstream');
      for (const d of held) d.resolve({ messageId: 'x' });
      assert.deepEqual(await Promise.all([a, b]), [{ kind: 'forwarded', remoteId: 'x' }, { kind: 'forwarded', remoteId: 'x' }]);
      assert.equal(r.target.capacity(), 2);
    } finally {
      await r.close();
    }
  });

  test('reconnects and rebinds after the upstream drops the connection', async () => {
    const r = await rig({ reconnect: { initialDelayMs: 1000 } });
    try {
      const rebound = r.h.nextBound('esme1');
      r.upstream.destroy('test drop');
      await waitFor(() => !r.target.bound, 'noticed the drop');
      assert.equal(r.target.capacity(), 0);
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'unavailable' });
      const calls = r.capacityCalls();
      r.clock.advance(1000);
      await withTimeout(r.target.ready(), 5000, 'rebound');
      await withTimeout(rebound, 5000, 'server saw the rebind');
      assert.equal(r.target.stats.binds, 2);
      assert.ok(r.capacityCalls() > calls, 'onCapacity after the rebind');
      assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'forwarded', remoteId: 'u1' });
    } finally {
      await r.close();
    }
  });

  test('a refused bind is retried with back-off', async () => {
    const clock = new ManualClock(T0);
    let allow = false;
    const h = await startServer({
      clock,
      accounts: (id) => (id === 'esme1' ? { systemId: 'esme1', password: allow ? 'secret1' : 'other' } : undefined),
    });
    const links: string[] = [];
    const onLink = (change: LinkChange) => links.push(change.kind === 'failed' ? `failed: ${change.error.constructor.name}` : change.kind);
    const target = new SmppTarget({ host: '127.0.0.1', port: h.port, systemId: 'esme1', password: 'secret1', clock, reconnect: { initialDelayMs: 500 }, onLink });
    try {
      target.start();
      await waitFor(() => target.stats.connectFailures === 1, 'first bind refused');
      assert.ok(target.lastError instanceof CommandStatusError);
      assert.deepEqual(links, ['failed: BindRejectedError']);
      assert.equal(target.capacity(), 0);
      clock.advance(500);
      await waitFor(() => target.stats.connectFailures === 2, 'second bind refused');
      allow = true;
      clock.advance(999);
      assert.equal(target.stats.binds, 0, 'back-off doubled to 1000 ms');
      clock.advance(1);
      await withTimeout(target.ready(), 5000, 'bound at last');
      assert.equal(target.stats.binds, 1);
      assert.equal(target.lastError, undefined, 'the error is gone once bound');
      assert.deepEqual(links, ['failed: BindRejectedError', 'failed: BindRejectedError', 'bound']);
    } finally {
      await target.stop();
      await h.close();
    }
  });

  test('an upstream that drops every bind at once is reconnected to with a growing back-off', async () => {
    const links: string[] = [];
    const r = await rig({ reconnect: { initialDelayMs: 500, maxDelayMs: 60_000 }, onLink: (change) => links.push(change.kind) });
    try {
      assert.equal(r.target.stats.binds, 1);
      let bound = r.h.nextBound('esme1');
      r.upstream.destroy();
      await waitFor(() => r.target.capacity() === 0, 'the connection lost');
      await waitFor(() => links.at(-1) === 'lost', 'told of the loss');
      assert.deepEqual(links, ['bound', 'lost']);
      r.clock.advance(500);
      const second = await withTimeout(bound, 5000, 'rebound after 500 ms');
      await waitFor(() => r.target.stats.binds === 2, 'the connector bound');
      bound = r.h.nextBound('esme1');
      second.destroy(); // dropped again at once: the back-off does not start over
      await waitFor(() => r.target.capacity() === 0, 'lost again');
      r.clock.advance(500);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(r.target.stats.binds, 2, 'not yet: the delay doubled');
      r.clock.advance(500);
      await withTimeout(bound, 5000, 'rebound after 1000 ms');
    } finally {
      await r.close();
    }
  });

  test('stop() unbinds; no reconnect afterwards', async () => {
    const r = await rig();
    await r.target.stop();
    assert.equal(r.target.bound, false);
    assert.equal(r.target.capacity(), 0);
    assert.deepEqual(await r.target.deliver(storedMessage()), { kind: 'unavailable' });
    r.clock.advance(120_000);
    assert.equal(r.target.stats.binds, 1);
    await r.h.close();
  });
});

describe('SMPP connector helpers', () => {
  test('normaliseUpstreamId', () => {
    assert.equal(normaliseUpstreamId(' 00AbC '), 'abc');
    assert.equal(normaliseUpstreamId('000'), '0');
    assert.equal(normaliseUpstreamId('00ff', 'hex'), '255');
    assert.equal(normaliseUpstreamId('0255', 'decimal'), '255');
    assert.equal(normaliseUpstreamId('FFFFFFFFFFFFFFFFFF', 'hex'), '4722366482869645213695', 'beyond 2^53');
    assert.equal(normaliseUpstreamId('x-1', 'hex'), 'x-1', 'not hex: kept as a string');
  });

  test('PersistentIdMap: an id set while the store is asked is the answer (not a miss)', async () => {
    const lookup = deferred<string | undefined>();
    const m = new PersistentIdMap(() => lookup.promise);
    const answer = m.get('77');
    m.set('77', 'ours-1'); // the submit response, taken while the store lookup runs
    lookup.resolve(undefined); // the store has not recorded the forward yet
    assert.equal(await answer, 'ours-1');
    assert.equal(await new PersistentIdMap(async () => 'stored').get('78'), 'stored');
    assert.equal(await new PersistentIdMap(async () => undefined).get('79'), undefined);
  });

  test('MemoryIdMap forgets the oldest beyond its bound', () => {
    const m = new MemoryIdMap(2);
    m.set('a', '1');
    m.set('b', '2');
    m.set('c', '3');
    assert.equal(m.get('a'), undefined);
    assert.equal(m.get('c'), '3');
    assert.equal(m.size, 2);
  });

  test('parseUpstreamReceipt prefers TLVs, falls back to text; hex err codes', () => {
    const d = (text: string, tlvs: Tlvs = {}) => ({ ...deliverBody(text, { esmClass: 4, tlvs }), command: 'deliver_sm', commandStatus: 0, sequenceNumber: 1 }) as Delivery;
    assert.deepEqual(parseUpstreamReceipt(d('id:1 stat:DELIVRD err:000', { receiptedMessageId: '9', messageState: 5 })), {
      id: '9',
      messageState: 5,
      errorCode: 0,
      idFromTlv: true,
      intermediate: false,
    });
    assert.deepEqual(parseUpstreamReceipt(d('id:7 sub:001 stat:EXPIRED err:00B')), {
      id: '7',
      messageState: 3,
      errorCode: 11,
      idFromTlv: false,
      intermediate: false,
    });
    assert.equal(parseUpstreamReceipt(d('not a receipt')), undefined);
    assert.equal(stateNameOf(42), 'UNKNOWN');
    assert.equal(stateNameOf(8), 'REJECTED');
  });

  test('submitSmBody: long payloads go in message_payload, TLVs pass through', () => {
    const long = storedMessage({ payload: Buffer.alloc(300, 0x41) });
    const b = submitSmBody(long, 1, T0);
    assert.equal(b.shortMessage.length, 0);
    assert.equal(b.tlvs.messagePayload?.length, 300);
    const inTlv = submitSmBody(storedMessage({ payloadInTlv: true }), 0, T0);
    assert.equal(inTlv.tlvs.messagePayload?.toString(), 'Hello');
    assert.equal(submitSmBody(storedMessage({ expiresAt: T0 - 1 }), 0, T0).validityPeriod, '');
  });

  test('parseSmpp: defaults and errors naming the key', () => {
    const cfg = parseSmpp({ type: 'smpp', host: 'h', port: 2775, systemId: 'me', password: 'pw', tps: 50, idFormat: { submit: 'hex' }, retryStatuses: ['ESME_RTHROTTLED', 8] }, 'connectors.up', (n) =>
      n === 'ESME_RTHROTTLED' ? 0x58 : undefined,
    );
    assert.deepEqual(cfg, {
      host: 'h',
      port: 2775,
      systemId: 'me',
      password: 'pw',
      tps: 50,
      window: 10,
      responseTimeoutMs: 30000,
      enquireLinkIntervalMs: 30000,
      throttleBackoffMs: 1000,
      idFormat: { submit: 'hex' },
      retryStatuses: [0x58, 8],
    });
    const fails = (raw: Record<string, unknown>, key: string) =>
      assert.throws(
        () => parseSmpp({ host: 'h', port: 1, systemId: 's', password: 'p', ...raw }, 'connectors.up'),
        (e: unknown) => e instanceof ConfigKeyError && e.key === key,
        key,
      );
    fails({ port: 0 }, 'connectors.up.port');
    fails({ password: 'muchtoolong' }, 'connectors.up.password');
    fails({ systemId: undefined }, 'connectors.up.systemId');
    fails({ window: 0 }, 'connectors.up.window');
    fails({ idFormat: { submit: 'octal' } }, 'connectors.up.idFormat.submit');
    fails({ reconnect: { factor: 0 } }, 'connectors.up.reconnect.factor');
    fails({ retryStatuses: ['ESME_RNOPE'] }, 'connectors.up.retryStatuses[0]');
    fails({ requestReceipts: 'never' }, 'connectors.up.requestReceipts');
    fails({ tls: 'yes' }, 'connectors.up.tls');
    fails({ tpss: 1 }, 'connectors.up.tpss');
  });
});
