/**
 * Store and forward end to end, in one process over real sockets, with a controllable clock:
 * ESME A submits to an address ESME B owns; B gets the deliver_sm; A gets the receipt; the
 * behaviours of reference §9.4-9.5 (waiting, expiry, query, cancel, replace, submit_multi,
 * scheduled delivery, replace_if_present, deliver_sm_resp statuses).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { type Client, connect, type Delivery } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import { CommandStatusError } from '../../src/errors.js';
import { type BodyOf, CommandId, CommandStatus, type DeliverSm, decodePdu, FrameDecoder, type Pdu, type PduOf } from '../../src/pdu/index.js';
import { ManualClock } from '../../src/session/clock.js';
import { parseReceipt } from '../../src/sm/dlr.js';
import { bindFrame, submitBody } from '../support/server.js';
import { until as waitUntil } from '../support/until.js';

const S = CommandStatus;
let clock: ManualClock;
/** Waits for I/O, moving the controllable clock along (see test/support/until.ts). */
const until = (cond: () => boolean | Promise<boolean>, what: string, ms = 5000) => waitUntil(cond, what, { ms, clock });
const HOUR = 3_600_000;


/** Collects what an ESME receives, acknowledging with a status chosen per delivery. */
class Inbox {
  readonly items: DeliverSm[] = [];
  constructor(client: Client, status: (d: DeliverSm) => number = () => S.ESME_ROK) {
    void (async () => {
      for await (const d of client.deliveries() as AsyncIterable<Delivery>) {
        if (d.command !== 'deliver_sm') continue;
        this.items.push(d);
        client.ack(d, status(d));
      }
    })();
  }
  receipts(): DeliverSm[] {
    return this.items.filter((d) => (d.esmClass & 0x04) !== 0);
  }
  messages(): DeliverSm[] {
    return this.items.filter((d) => (d.esmClass & 0x04) === 0);
  }
}

describe('store and forward', () => {
  let dir: string;
  let smsc: Smsc;
  let port: number;
  const clients: Client[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smsc-e2e-'));
    clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 0, 0));
    const config = validateConfig({
      smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0, responseTimeoutMs: 20_000 },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      delivery: { retryDelayMs: 1000, maxRetryDelayMs: 60_000, leaseMs: 30_000 },
      accounts: [
        { systemId: 'alice', password: 'apw', addresses: ['1000'] },
        { systemId: 'bob', password: 'bpw', addresses: ['2000', '2001', '2002', '30*'] },
        { systemId: 'carol', password: 'cpw', addresses: ['4000'] },
        { systemId: 'dave', password: 'dpw', addresses: ['5000'], windowSize: 1 },
      ],
    });
    smsc = await startSmsc(config, { clock });
    port = smsc.listening[0]!.port;
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function bind(systemId: string, password: string, type: 'transmitter' | 'receiver' | 'transceiver', interfaceVersion = 0x34) {
    const c = await connect({ port, manualAck: true });
    await c.bind({ type, systemId, password, interfaceVersion });
    clients.push(c);
    return c;
  }

  async function submitStatus(c: Client, input: Parameters<Client['submit']>[0]): Promise<number> {
    try {
      await c.submit(input);
      return 0;
    } catch (err) {
      if (err instanceof CommandStatusError) return err.commandStatus;
      throw err;
    }
  }

  /** A submit_multi from alice's 1000 to `dests`. */
  function submitMulti(c: Client, dests: readonly string[], text: string, registeredDelivery = 0, esmClass = 0): Promise<PduOf<'submit_multi_resp'>> {
    return c.submitMulti(multiBody(dests, text, registeredDelivery, esmClass));
  }

  /** The body of a submit_multi from alice's 1000 to `dests`. */
  function multiBody(dests: readonly string[], text: string, registeredDelivery = 0, esmClass = 0): BodyOf<'submit_multi'> {
    return {
      serviceType: '',
      sourceAddrTon: 0,
      sourceAddrNpi: 0,
      sourceAddr: '1000',
      destAddresses: dests.map((d) => ({ destFlag: 1 as const, destAddrTon: 1, destAddrNpi: 1, destinationAddr: d })),
      esmClass,
      protocolId: 0,
      priorityFlag: 0,
      scheduleDeliveryTime: '',
      validityPeriod: '',
      registeredDelivery,
      replaceIfPresentFlag: 0,
      dataCoding: 0,
      smDefaultMsgId: 0,
      shortMessage: Buffer.from(text),
      tlvs: {},
    };
  }

  test('A submits to an address B owns: B gets identical bytes, A gets the receipt, query shows DELIVERED', async () => {
    const aTx = await bind('alice', 'apw', 'transmitter');
    const aRx = await bind('alice', 'apw', 'receiver');
    const bRx = await bind('bob', 'bpw', 'receiver');
    const aInbox = new Inbox(aRx);
    const bInbox = new Inbox(bRx);
    const ucs2 = Buffer.from('00480069d83dde00', 'hex'); // "Hi😀" in UCS2 with a surrogate pair
    // A receipt of us (bit 0), and a delivery acknowledgement of the recipient (0x04).
    const resp = await aTx.submit({ sourceAddr: '1000', destinationAddr: '2000', dataCoding: 8, shortMessage: ucs2, registeredDelivery: 0x05 });
    assert.match(resp.messageId, /^\d{10,16}$/);

    await until(() => bInbox.messages().length === 1, 'the deliver_sm at B');
    const d = bInbox.messages()[0]!;
    assert.deepEqual(Buffer.from(d.shortMessage), ucs2);
    assert.equal(d.dataCoding, 8);
    assert.equal(d.sourceAddr, '1000');
    assert.equal(d.destinationAddr, '2000');
    assert.equal(d.registeredDelivery, 0x04, 'B is asked for the SME acknowledgement, not for our receipt [ref §5.2]');

    await until(() => aInbox.receipts().length === 1, 'the receipt at A');
    const r = aInbox.receipts()[0]!;
    assert.equal(r.esmClass, 0x04);
    assert.equal(r.registeredDelivery, 0);
    assert.equal(r.sourceAddr, '2000'); // swapped addresses [ref §7.1]
    assert.equal(r.destinationAddr, '1000');
    assert.equal(r.tlvs.receiptedMessageId, resp.messageId);
    assert.equal(r.tlvs.messageState, 2);
    const parsed = parseReceipt(r.shortMessage.toString('latin1'));
    assert.equal(parsed?.id, resp.messageId);
    assert.equal(parsed?.stat, 'DELIVRD');
    assert.match(r.shortMessage.toString('latin1'), /^id:\S+ sub:001 dlvrd:001 submit date:\d{10} done date:\d{10} stat:DELIVRD err:000 text:/);

    const q = await aTx.query(resp.messageId, { sourceAddr: '1000' });
    assert.equal(q.messageState, 2);
    assert.equal(q.finalDate.length, 16);
    await Promise.all([aTx, aRx, bRx].map((c) => c.close()));
  });

  test('submit_multi with replace_if_present_flag 1: ESME_RINVSUBREP, nothing stored (not supported, so said)', async () => {
    const aTx = await bind('alice', 'apw', 'transmitter');
    const before = smsc.store.stats().insertRows;
    await assert.rejects(
      aTx.submitMulti({ ...multiBody(['2000', '2001'], 'replace?'), replaceIfPresentFlag: 1 }),
      (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RINVSUBREP,
    );
    assert.equal(smsc.store.stats().insertRows, before);
    await aTx.close();
  });

  test('numbers written with a leading +: routed, owned and matched as the digits, TON international', async () => {
    const aTx = await bind('alice', 'apw', 'transmitter');
    const bRx = await bind('bob', 'bpw', 'receiver');
    const bInbox = new Inbox(bRx);
    const resp = await aTx.submit({ sourceAddrTon: 0, sourceAddr: '+1000', destAddrTon: 1, destinationAddr: '+2002', shortMessage: Buffer.from('plus') });
    await until(() => bInbox.messages().some((d) => d.shortMessage.toString() === 'plus'), 'the deliver_sm at B');
    const d = bInbox.messages().find((m) => m.shortMessage.toString() === 'plus')!;
    assert.deepEqual([d.sourceAddrTon, d.sourceAddr, d.destAddrTon, d.destinationAddr], [1, '1000', 1, '2002']);
    const q = await aTx.query(resp.messageId, { sourceAddr: '+1000' });
    assert.equal(q.messageState, 2, 'the query matches the source with or without its +');
    // Not a number: left as written (an alphanumeric sender, a national format), and refused as before.
    assert.equal(await submitStatus(aTx, { sourceAddr: '1000', destAddrTon: 1, destinationAddr: '+20a2', shortMessage: Buffer.from('x') }), S.ESME_RINVDSTADR);
    await Promise.all([aTx, bRx].map((c) => c.close()));
  });

  test('B not bound: the message waits; B binds an hour later and gets it', async () => {
    const aTx = await bind('alice', 'apw', 'transceiver');
    const resp = await aTx.submit({ sourceAddr: '1000', destinationAddr: '2001', shortMessage: Buffer.from('later') });
    clock.advance(HOUR);
    const q = await aTx.query(resp.messageId, { sourceAddr: '1000' });
    assert.equal(q.messageState, 1); // ENROUTE
    assert.equal(q.finalDate, '');
    const bRx = await bind('bob', 'bpw', 'receiver');
    const inbox = new Inbox(bRx);
    await until(() => inbox.messages().some((d) => d.shortMessage.toString() === 'later'), 'the waiting message');
    await Promise.all([aTx.close(), bRx.close()]);
  });

  test('validity passes before B binds: EXPIRED, receipt stat:EXPIRED, query shows it', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const aInbox = new Inbox(a);
    const resp = await a.submit({
      sourceAddr: '1000',
      destinationAddr: '2002',
      shortMessage: Buffer.from('too late'),
      validityPeriod: '000000000030000R', // 30 s
      registeredDelivery: 1,
    });
    clock.advance(31_000);
    await until(() => aInbox.receipts().some((r) => r.tlvs.receiptedMessageId === resp.messageId), 'the EXPIRED receipt');
    const r = aInbox.receipts().find((x) => x.tlvs.receiptedMessageId === resp.messageId)!;
    assert.equal(r.tlvs.messageState, 3);
    assert.equal(parseReceipt(r.shortMessage.toString('latin1'))?.stat, 'EXPIRED');
    const q = await a.query(resp.messageId, { sourceAddr: '1000' });
    assert.equal(q.messageState, 3);
    assert.equal(q.finalDate.length, 16);
    // B binds afterwards: the expired message is not delivered.
    const b = await bind('bob', 'bpw', 'receiver');
    const bInbox = new Inbox(b);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(bInbox.messages().filter((d) => d.shortMessage.toString() === 'too late').length, 0);
    await Promise.all([a.close(), b.close()]);
  });

  test('query_sm of an unknown id, or with another source address: ESME_RQUERYFAIL', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const resp = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', shortMessage: Buffer.from('q') });
    await assert.rejects(a.query('999999999999', { sourceAddr: '1000' }), (e: CommandStatusError) => e.commandStatus === S.ESME_RQUERYFAIL);
    await assert.rejects(a.query(resp.messageId, { sourceAddr: '1001' }), (e: CommandStatusError) => e.commandStatus === S.ESME_RQUERYFAIL);
    // Another account cannot see it.
    const c = await bind('carol', 'cpw', 'transmitter');
    await assert.rejects(c.query(resp.messageId, { sourceAddr: '1000' }), (e: CommandStatusError) => e.commandStatus === S.ESME_RQUERYFAIL);
    await Promise.all([a.close(), c.close()]);
  });

  test('cancel_sm: pending by id → DELETED with receipt; final → RCANCELFAIL; by addresses cancels every match', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const inbox = new Inbox(a);
    const one = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', shortMessage: Buffer.from('c1'), registeredDelivery: 2 });
    await a.cancel({ messageId: one.messageId, sourceAddr: '1000' });
    const q = await a.query(one.messageId, { sourceAddr: '1000' });
    assert.equal(q.messageState, 4); // DELETED
    await until(() => inbox.receipts().some((r) => r.tlvs.receiptedMessageId === one.messageId), 'the DELETED receipt');
    assert.equal(parseReceipt(inbox.receipts().find((r) => r.tlvs.receiptedMessageId === one.messageId)!.shortMessage.toString())?.stat, 'DELETED');
    await assert.rejects(a.cancel({ messageId: one.messageId, sourceAddr: '1000' }), (e: CommandStatusError) => e.commandStatus === S.ESME_RCANCELFAIL);
    await assert.rejects(a.cancel({ messageId: 'nope', sourceAddr: '1000' }), (e: CommandStatusError) => e.commandStatus === S.ESME_RCANCELFAIL);

    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await a.submit({ sourceAddr: '1000', destinationAddr: '4000', serviceType: 'X', shortMessage: Buffer.from(`m${i}`) })).messageId);
    const other = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', serviceType: 'Y', shortMessage: Buffer.from('keep') });
    await a.cancel({ sourceAddr: '1000', destinationAddr: '4000', serviceType: 'X' });
    for (const id of ids) assert.equal((await a.query(id, { sourceAddr: '1000' })).messageState, 4);
    assert.equal((await a.query(other.messageId, { sourceAddr: '1000' })).messageState, 1);
    await a.close();
  });

  test('replace_sm: pending → new text delivered under the same id; unknown → RREPLACEFAIL', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const resp = await a.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('old text') });
    await a.replace({ messageId: resp.messageId, sourceAddr: '1000', shortMessage: Buffer.from('new text') });
    await assert.rejects(
      a.replace({ messageId: 'unknown', sourceAddr: '1000', shortMessage: Buffer.from('x') }),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RREPLACEFAIL,
    );
    const b = await bind('bob', 'bpw', 'receiver');
    const inbox = new Inbox(b);
    await until(() => inbox.messages().some((d) => d.shortMessage.toString() === 'new text'), 'the replaced text');
    assert.equal(inbox.messages().filter((d) => d.shortMessage.toString() === 'old text').length, 0);
    await until(async () => (await a.query(resp.messageId, { sourceAddr: '1000' })).messageState === 2, 'DELIVERED');
    // A delivered message can no longer be replaced.
    await assert.rejects(
      a.replace({ messageId: resp.messageId, sourceAddr: '1000', shortMessage: Buffer.from('x') }),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RREPLACEFAIL,
    );
    await Promise.all([a.close(), b.close()]);
  });

  test('cancel_sm and replace_sm fail for a message on its way (deliver_sm sent, not answered); one held unsent is cancelled and never sent', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const d = await bind('dave', 'dpw', 'receiver');
    const got: Delivery[] = [];
    void (async () => {
      for await (const x of d.deliveries() as AsyncIterable<Delivery>) got.push(x);
    })();
    const text = (x: Delivery | undefined) => (x?.command === 'deliver_sm' ? x.shortMessage.toString() : '');
    // dave's window is 1: the first goes out, a few queue for the window, the last is held.
    const ids: string[] = [];
    for (let i = 1; i <= 6; i++) ids.push((await a.submit({ sourceAddr: '1000', destinationAddr: '5000', shortMessage: Buffer.from(`m${i}`) })).messageId);
    await until(() => got.length === 1, 'the first deliver_sm');
    assert.equal(text(got[0]), 'm1');
    const status = (p: Promise<unknown>) => p.then(() => S.ESME_ROK, (e: CommandStatusError) => e.commandStatus);
    assert.equal(await status(a.cancel({ messageId: ids[0]!, sourceAddr: '1000' })), S.ESME_RCANCELFAIL);
    assert.equal(await status(a.replace({ messageId: ids[0]!, sourceAddr: '1000', shortMessage: Buffer.from('too late') })), S.ESME_RREPLACEFAIL);
    assert.equal(await status(a.cancel({ messageId: ids[5]!, sourceAddr: '1000' })), S.ESME_ROK);
    // replace_if_present takes the oldest match no attempt carries: m4 (m1 is on the wire, m2
    // and m3 queued for the window), not a new message.
    const again = await a.submit({ sourceAddr: '1000', destinationAddr: '5000', shortMessage: Buffer.from('m4 again'), replaceIfPresentFlag: 1 });
    assert.equal(again.messageId, ids[3]);
    const later = await a.submit({ sourceAddr: '1000', destinationAddr: '5000', shortMessage: Buffer.from('later') });
    for (let n = 1; n <= 6; n++) {
      await until(() => got.length >= n, `deliver_sm ${n}`);
      d.ack(got[n - 1]!);
    }
    assert.deepEqual(got.slice(0, 3).map(text), ['m1', 'm2', 'm3'], 'the first went as it was');
    assert.deepEqual(got.slice(3).map(text).sort(), ['later', 'm4 again', 'm5'], 'the cancelled one never went out, the replaced one with its new text');
    await until(async () => (await a.query(ids[0]!, { sourceAddr: '1000' })).messageState === 2, 'the first DELIVERED');
    assert.equal((await a.query(ids[5]!, { sourceAddr: '1000' })).messageState, 4);
    await until(async () => (await a.query(later.messageId, { sourceAddr: '1000' })).messageState === 2, 'the last DELIVERED');
    await Promise.all([a.close(), d.close()]);
  });

  test('submit_multi: 3 destinations of which 1 invalid → ROK with no_unsuccess=1', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const resp = await submitMulti(a, ['3001', '9999', '3002'], 'multi');
    assert.notEqual(resp.messageId, '');
    assert.equal(resp.unsuccessSmes.length, 1);
    assert.equal(resp.unsuccessSmes[0]!.destinationAddr, '9999');
    assert.equal(resp.unsuccessSmes[0]!.errorStatusCode, S.ESME_RINVDSTADR);
    const b = await bind('bob', 'bpw', 'receiver');
    const inbox = new Inbox(b);
    await until(() => inbox.messages().filter((d) => d.shortMessage.toString() === 'multi').length === 2, 'both destinations');
    assert.deepEqual(inbox.messages().filter((d) => d.shortMessage.toString() === 'multi').map((d) => d.destinationAddr).sort(), ['3001', '3002']);
    await Promise.all([a.close(), b.close()]);
  });

  test('a submit_multi id reaches every destination: replace_sm, cancel_sm (a receipt each) and query_sm', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const inbox = new Inbox(a);
    const multi = (dests: string[], text: string, registeredDelivery: number) => submitMulti(a, dests, text, registeredDelivery);
    // bob is not bound: both batches wait.
    const kept = await multi(['3011', '3012', '3013'], 'batch old', 0);
    await a.replace({ messageId: kept.messageId, sourceAddr: '1000', shortMessage: Buffer.from('batch new') });
    assert.equal((await a.query(kept.messageId, { sourceAddr: '1000' })).messageState, 1, 'ENROUTE');
    const dropped = await multi(['3021', '3022'], 'batch dropped', 2);
    await a.cancel({ messageId: dropped.messageId, sourceAddr: '1000' });
    const q = await a.query(dropped.messageId, { sourceAddr: '1000' });
    assert.equal(q.messageId, dropped.messageId);
    assert.equal(q.messageState, 4, 'DELETED');
    await until(() => inbox.receipts().filter((r) => r.tlvs.receiptedMessageId === dropped.messageId).length === 2, 'a DELETED receipt per destination');
    await assert.rejects(a.cancel({ messageId: dropped.messageId, sourceAddr: '1000' }), (e: CommandStatusError) => e.commandStatus === S.ESME_RCANCELFAIL);

    const b = await bind('bob', 'bpw', 'receiver');
    const bInbox = new Inbox(b);
    const texts = () => bInbox.messages().filter((d) => d.destinationAddr.startsWith('30'));
    await until(() => texts().length === 3, 'the three destinations of the kept batch');
    assert.deepEqual(texts().map((d) => `${d.destinationAddr} ${d.shortMessage.toString()}`).sort(), ['3011 batch new', '3012 batch new', '3013 batch new']);
    await until(async () => (await a.query(kept.messageId, { sourceAddr: '1000' })).messageState === 2, 'the batch DELIVERED');
    await Promise.all([a.close(), b.close()]);
  });

  test("replace_sm on a submit_multi id checks every pending destination's own times", async () => {
    const c = await bind('carol', 'cpw', 'receiver');
    const carol = new Inbox(c);
    const a = await bind('alice', 'apw', 'transmitter');
    // The first destination (carol, bound) is delivered; the second (bob, not bound) waits.
    const batch = await submitMulti(a, ['4000', '3031'], 'times');
    await until(() => carol.messages().some((d) => d.shortMessage.toString() === 'times'), 'the first destination delivered');
    // The waiting one goes in an hour; a validity of half an hour would end it before it goes.
    await a.replace({ messageId: batch.messageId, sourceAddr: '1000', shortMessage: Buffer.from('later'), scheduleDeliveryTime: '000000010000000R' });
    await assert.rejects(
      a.replace({ messageId: batch.messageId, sourceAddr: '1000', shortMessage: Buffer.from('x'), validityPeriod: '000000003000000R' }),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RINVSCHED,
    );
    await Promise.all([a.close(), c.close()]);
  });

  test('scheduled delivery: not before its time; query shows ENROUTE (3.4) / SCHEDULED (5.0)', async () => {
    const b = await bind('bob', 'bpw', 'receiver');
    const inbox = new Inbox(b);
    const a = await bind('alice', 'apw', 'transmitter');
    const a5 = await bind('alice', 'apw', 'transmitter', 0x50);
    const resp = await a.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('scheduled'), scheduleDeliveryTime: '000000000100000R' });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(inbox.messages().filter((d) => d.shortMessage.toString() === 'scheduled').length, 0);
    const q = await a.query(resp.messageId, { sourceAddr: '1000' });
    assert.equal(q.messageState, 1);
    assert.equal(q.finalDate, '');
    assert.equal((await a5.query(resp.messageId, { sourceAddr: '1000' })).messageState, 0);
    clock.advance(61_000);
    await until(() => inbox.messages().some((d) => d.shortMessage.toString() === 'scheduled'), 'the scheduled message');
    await Promise.all([a.close(), a5.close(), b.close()]);
  });

  test('replace_if_present_flag=1 replaces the pending message with the same source, destination and service_type', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const first = await a.submit({
      sourceAddr: '1000',
      destinationAddr: '4000',
      serviceType: 'VMA',
      shortMessage: Buffer.from('v1'),
      tlvs: { sarMsgRefNum: 7, sarTotalSegments: 3, sarSegmentSeqnum: 1 },
    });
    const second = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', serviceType: 'VMA', shortMessage: Buffer.from('v2'), replaceIfPresentFlag: 1 });
    assert.equal(second.messageId, first.messageId);
    const fresh = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', serviceType: 'VMN', shortMessage: Buffer.from('v3'), replaceIfPresentFlag: 1 });
    assert.notEqual(fresh.messageId, first.messageId);
    const c = await bind('carol', 'cpw', 'receiver');
    const inbox = new Inbox(c);
    await until(() => inbox.messages().some((d) => d.shortMessage.toString() === 'v3'), 'carol messages');
    await until(() => inbox.messages().some((d) => d.shortMessage.toString() === 'v2'), 'the replaced message');
    assert.equal(inbox.messages().filter((d) => d.shortMessage.toString() === 'v1').length, 0);
    // All of the new content: the first one's concatenation TLVs did not stay.
    assert.equal(inbox.messages().find((d) => d.shortMessage.toString() === 'v2')!.tlvs.sarMsgRefNum, undefined);
    await Promise.all([a.close(), c.close()]);
  });

  test('cancel_sm by addresses and replace_if_present touch only messages the account submitted, not receipts waiting for it', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const b = await bind('bob', 'bpw', 'receiver');
    const bobInbox = new Inbox(b);
    const sent = await a.submit({ sourceAddr: '1000', destinationAddr: '2001', shortMessage: Buffer.from('dlr wanted'), registeredDelivery: 1 });
    await until(() => bobInbox.messages().some((d) => d.shortMessage.toString() === 'dlr wanted'), 'bob got it');
    // Its receipt now waits for alice (2001 -> 1000); alice has no receiver bound.
    await assert.rejects(a.cancel({ sourceAddr: '2001', destinationAddr: '1000' }), (e: CommandStatusError) => e.commandStatus === S.ESME_RCANCELFAIL);
    const again = await a.submit({ sourceAddr: '2001', destinationAddr: '1000', shortMessage: Buffer.from('x'), replaceIfPresentFlag: 1 }).catch((e: CommandStatusError) => e);
    assert.ok(again instanceof CommandStatusError, 'alice may not send from 2001 at all');
    const r = await bind('alice', 'apw', 'receiver');
    const inbox = new Inbox(r);
    await until(() => inbox.receipts().some((d) => d.tlvs.receiptedMessageId === sent.messageId), 'the receipt, not cancelled');
    await Promise.all([a.close(), b.close(), r.close()]);
  });

  test('validity: a schedule beyond the default validity is accepted; a replace may not end before it goes', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    // Three days ahead, no validity given (the default is 48 h, counted from the schedule).
    const later = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', shortMessage: Buffer.from('later'), scheduleDeliveryTime: '000003000000000R' });
    // But never later than the longest validity (7 days) from now.
    assert.equal(await submitStatus(a, { sourceAddr: '1000', destinationAddr: '4000', shortMessage: Buffer.from('x'), scheduleDeliveryTime: '000010000000000R' }), S.ESME_RINVSCHED);
    await assert.rejects(
      a.replace({ messageId: later.messageId, sourceAddr: '1000', shortMessage: Buffer.from('y'), scheduleDeliveryTime: '990000000000000R' }),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RINVSCHED,
    );
    await assert.rejects(
      a.replace({ messageId: later.messageId, sourceAddr: '1000', shortMessage: Buffer.from('y'), scheduleDeliveryTime: '000002000000000R', validityPeriod: '000000010000000R' }),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RINVSCHED,
    );
    await a.replace({ messageId: later.messageId, sourceAddr: '1000', shortMessage: Buffer.from('z'), validityPeriod: '000004000000000R' });
    await a.close();
  });

  test('a message longer than short_message to a 3.3 receiver fails with a receipt; it never arrives empty', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const inbox = new Inbox(a);
    const b = await bind('bob', 'bpw', 'receiver', 0x33);
    const bobInbox = new Inbox(b);
    const sent = await a.submit({ sourceAddr: '1000', destinationAddr: '2000', tlvs: { messagePayload: Buffer.alloc(300, 0x61) }, registeredDelivery: 1 });
    await until(() => inbox.receipts().some((d) => d.tlvs.receiptedMessageId === sent.messageId), 'the receipt');
    const receipt = parseReceipt(inbox.receipts().find((d) => d.tlvs.receiptedMessageId === sent.messageId)!.shortMessage.toString());
    assert.equal(receipt?.stat, 'UNDELIV');
    assert.equal(bobInbox.messages().length, 0, 'nothing sent to bob, empty or not');
    await Promise.all([a.close(), b.close()]);
  });

  test("a receipt's text: starts after a user data header", async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const inbox = new Inbox(a);
    const b = await bind('bob', 'bpw', 'receiver');
    const bobInbox = new Inbox(b);
    const udh = Buffer.from([0x05, 0x00, 0x03, 0x2a, 0x02, 0x01]);
    const sent = await a.submit({ sourceAddr: '1000', destinationAddr: '2002', esmClass: 0x40, shortMessage: Buffer.concat([udh, Buffer.from('Hello part one')]), registeredDelivery: 1 });
    await until(() => bobInbox.messages().length > 0, 'bob got the part');
    await until(() => inbox.receipts().some((d) => d.tlvs.receiptedMessageId === sent.messageId), 'the receipt');
    const text = inbox.receipts().find((d) => d.tlvs.receiptedMessageId === sent.messageId)!.shortMessage.toString();
    assert.match(text, /text:Hello part one$/);
    await Promise.all([a.close(), b.close()]);
  });

  test("a submission's TLVs are handed on, but not the SMSC's own (a receipt's) nor unknown tags outside the vendor range", async () => {
    const aTx = await bind('alice', 'apw', 'transmitter');
    const bRx = await bind('bob', 'bpw', 'receiver');
    const bInbox = new Inbox(bRx);
    await aTx.submit({
      sourceAddr: '1000',
      destinationAddr: '2001',
      // An SME delivery acknowledgement (legitimate) dressed as the SMSC's receipt for a message of bob's.
      esmClass: 0x08,
      shortMessage: Buffer.from('ack'),
      tlvs: {
        userMessageReference: 7,
        sourcePort: 5000,
        receiptedMessageId: '120602168078592',
        messageState: 2,
        networkErrorCode: { networkType: 3, errorCode: 0 },
        scInterfaceVersion: 0x34,
        unknown: [
          { tag: 0x1500, value: Buffer.from('vendor') },
          { tag: 0x7777, value: Buffer.from('reserved') },
        ],
      },
    });
    await until(() => bInbox.messages().length === 1, 'the deliver_sm at B');
    const d = bInbox.messages()[0]!;
    assert.equal(d.esmClass, 0x08);
    assert.equal(d.tlvs.userMessageReference, 7);
    assert.equal(d.tlvs.sourcePort, 5000);
    for (const dropped of ['receiptedMessageId', 'messageState', 'networkErrorCode', 'scInterfaceVersion'] as const) {
      assert.equal(d.tlvs[dropped], undefined, dropped);
    }
    assert.deepEqual(
      d.tlvs.unknown?.map((t) => [t.tag, t.value.toString()]),
      [[0x1500, 'vendor']],
    );
    await Promise.all([aTx, bRx].map((c) => c.close()));
  });

  test('a TLV read leniently but not fit to send on (no NUL, 65 octets) is answered ESME_RINVTLVVAL, not a system error', async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const frames = new FrameDecoder();
    const got: Pdu[] = [];
    socket.on('data', (chunk: Buffer) => {
      frames.push(chunk);
      for (let f = frames.next(); f !== undefined; f = frames.next()) got.push(decodePdu(Buffer.from(f)));
    });
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(bindFrame('transmitter', { systemId: 'alice', password: 'apw', sequenceNumber: 1 }));
      await until(() => got.length === 1, 'bind_transmitter_resp');
      assert.equal(got[0]!.commandStatus, 0);
      const networkId = Buffer.alloc(65, 0x41); // source_network_id without its NUL
      socket.write(submitBody({ sourceAddr: '1000', destinationAddr: '4000' }).tlv(0x060d, networkId).build(CommandId.submit_sm, 0, 2));
      await until(() => got.length === 2, 'submit_sm_resp');
      assert.equal(got[1]!.command, 'submit_sm_resp');
      assert.equal(got[1]!.commandStatus, S.ESME_RINVTLVVAL);
    } finally {
      socket.destroy();
    }
  });

  test('invalid fields get the statuses of ref §9.3 cases 37-42 and nothing is stored', async () => {
    const a = await bind('alice', 'apw', 'transmitter');
    const base = { sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('x') };
    assert.equal(await submitStatus(a, { ...base, scheduleDeliveryTime: '26131212000000+' }), S.ESME_RINVSCHED); // 15 chars
    assert.equal(await submitStatus(a, { ...base, scheduleDeliveryTime: '261312120000000+' }), S.ESME_RINVSCHED); // month 13
    assert.equal(await submitStatus(a, { ...base, validityPeriod: '261112120000049+' }), S.ESME_RINVEXPIRY); // nn=49
    assert.equal(await submitStatus(a, { ...base, validityPeriod: '26111212000000X' + 'X' }), S.ESME_RINVEXPIRY);
    // Malformed even where qos_time_to_live overrides it.
    assert.equal(await submitStatus(a, { ...base, validityPeriod: '991301000000000+', tlvs: { qosTimeToLive: 60 } }), S.ESME_RINVEXPIRY);
    // 3.4's limits: 254 octets of short_message, 254 destinations.
    assert.equal(await submitStatus(a, { ...base, shortMessage: Buffer.alloc(255, 0x41) }), S.ESME_RINVMSGLEN);
    await assert.rejects(
      submitMulti(a, Array.from({ length: 255 }, (_, i) => `44${String(i).padStart(8, '0')}`), 'many'),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RINVNUMDESTS,
    );
    // SAR parts number from 1, within their total.
    assert.equal(await submitStatus(a, { ...base, tlvs: { sarMsgRefNum: 1, sarTotalSegments: 0, sarSegmentSeqnum: 1 } }), S.ESME_RINVTLVVAL);
    assert.equal(await submitStatus(a, { ...base, tlvs: { sarMsgRefNum: 1, sarTotalSegments: 2, sarSegmentSeqnum: 3 } }), S.ESME_RINVTLVVAL);
    // An international E.164 number (TON 1, NPI 1) is digits.
    assert.equal(await submitStatus(a, { ...base, destinationAddr: '44700<script>' }), S.ESME_RINVDSTADR);
    assert.equal(await submitStatus(a, { ...base, priorityFlag: 9 }), S.ESME_RINVPRTFLG);
    assert.equal(await submitStatus(a, { ...base, priorityFlag: 4 }), S.ESME_RINVPRTFLG); // 4 is broadcast_sm's only
    assert.equal(await submitStatus(a, { ...base, replaceIfPresentFlag: 2 }), S.ESME_RINVREPFLAG);
    assert.equal(await submitStatus(a, { ...base, esmClass: 0x3c }), S.ESME_RINVESMCLASS);
    assert.equal(await submitStatus(a, { ...base, dataCoding: 0x20 }), S.ESME_RSUBMITFAIL); // 3.4 session
    assert.equal(await submitStatus(a, { ...base, registeredDelivery: 0x80 }), S.ESME_RINVREGDLVFLG);
    assert.equal(await submitStatus(a, { ...base, tlvs: { messagePayload: Buffer.from('y') } }), S.ESME_RINVMSGLEN);
    assert.equal(await submitStatus(a, { ...base, destinationAddr: '' }), S.ESME_RINVDSTADR);
    assert.equal(await submitStatus(a, { ...base, destinationAddr: '5555' }), S.ESME_RINVDSTADR); // nobody owns it
    assert.equal(await submitStatus(a, { ...base, sourceAddrTon: 7 }), S.ESME_RINVSRCTON);
    assert.equal(await submitStatus(a, { ...base, destAddrNpi: 2 }), S.ESME_RINVDSTNPI);
    assert.equal(await submitStatus(a, { ...base, smDefaultMsgId: 3 }), S.ESME_RINVDFTMSGID);
    // data_sm to an address longer than any deliver_sm can carry (bob owns 30*)
    await assert.rejects(
      a.dataSm({ serviceType: '', sourceAddrTon: 0, sourceAddrNpi: 0, sourceAddr: '1000', destAddrTon: 1, destAddrNpi: 1, destinationAddr: `30${'1'.repeat(30)}`, esmClass: 0, registeredDelivery: 0, dataCoding: 0, tlvs: { messagePayload: Buffer.from('y') } }),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RINVDSTADR,
    );
    // data_sm without message_payload
    await assert.rejects(
      a.dataSm({ serviceType: '', sourceAddrTon: 0, sourceAddrNpi: 0, sourceAddr: '1000', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '2000', esmClass: 0, registeredDelivery: 0, dataCoding: 0, tlvs: {} }),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RMISSINGTLV,
    );
    await a.close();
  });

  test('datagram mode (esm_class 0x01): one attempt, no receipt, no schedule, a short wait', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const aInbox = new Inbox(a);
    const b = await bind('bob', 'bpw', 'receiver');
    const bInbox = new Inbox(b, (d) => (d.shortMessage.toString() === 'dgram once' ? S.ESME_RX_T_APPN : S.ESME_ROK));
    assert.equal(
      await submitStatus(a, { sourceAddr: '1000', destinationAddr: '2002', esmClass: 0x01, shortMessage: Buffer.from('x'), scheduleDeliveryTime: '000000001000000R' }),
      S.ESME_RINVSCHED,
    );
    // Refused for now (RX_T_APPN): a datagram is not tried again, and its receipt is not made.
    const once = await a.submit({ sourceAddr: '1000', destinationAddr: '2002', esmClass: 0x01, shortMessage: Buffer.from('dgram once'), registeredDelivery: 0x11 });
    await until(async () => (await a.query(once.messageId, { sourceAddr: '1000' })).messageState === 5, 'UNDELIVERABLE after one attempt');
    await assert.rejects(
      a.replace({ messageId: once.messageId, sourceAddr: '1000', shortMessage: Buffer.from('y'), scheduleDeliveryTime: '000000001000000R' }),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RINVSCHED,
      'nor scheduled by a replace',
    );
    // Delivered: no receipt either. A normal message after both does get its receipt.
    const ok = await a.submit({ sourceAddr: '1000', destinationAddr: '2002', esmClass: 0x01, shortMessage: Buffer.from('dgram ok'), registeredDelivery: 1 });
    await until(async () => (await a.query(ok.messageId, { sourceAddr: '1000' })).messageState === 2, 'DELIVERED');
    const normal = await a.submit({ sourceAddr: '1000', destinationAddr: '2002', shortMessage: Buffer.from('normal'), registeredDelivery: 1 });
    await until(() => aInbox.receipts().some((r) => r.tlvs.receiptedMessageId === normal.messageId), "the normal message's receipt");
    // Nobody to take it (carol is not bound): it waits delivery.datagramWaitMs (60 s) at most,
    // not its validity (48 h), then expires.
    const nobody = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', esmClass: 0x01, shortMessage: Buffer.from('dgram nobody'), registeredDelivery: 1 });
    const waitEnds = (await smsc.store.get(nobody.messageId))!.expiresAt;
    assert.equal(waitEnds, clock.now() + 60_000);
    // A replace_sm may not lengthen the wait, nor a replace_if_present datagram skip it.
    clock.advance(30_000);
    await a.replace({ messageId: nobody.messageId, sourceAddr: '1000', shortMessage: Buffer.from('dgram nobody'), validityPeriod: '000001000000000R' });
    assert.equal((await smsc.store.get(nobody.messageId))!.expiresAt, waitEnds, 'the wait runs from the submit');
    const plain = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', serviceType: 'DG', shortMessage: Buffer.from('to replace') });
    const replacedBy = await a.submit({ sourceAddr: '1000', destinationAddr: '4000', serviceType: 'DG', esmClass: 0x01, replaceIfPresentFlag: 1, shortMessage: Buffer.from('dgram now') });
    assert.equal(replacedBy.messageId, plain.messageId);
    assert.equal((await smsc.store.get(plain.messageId))!.expiresAt, clock.now() + 60_000, 'a datagram by replace_if_present waits as one');
    for (let i = 0; i < 20; i++) clock.advance(60_000); // well past any retry, and the datagram's wait
    await until(async () => (await a.query(nobody.messageId, { sourceAddr: '1000' })).messageState === 3, 'EXPIRED after the wait');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(bInbox.messages().filter((d) => d.shortMessage.toString() === 'dgram once').length, 1, 'one attempt');
    assert.deepEqual(
      aInbox.items.filter((d) => [once.messageId, ok.messageId, nobody.messageId].includes(d.tlvs.receiptedMessageId ?? '')),
      [],
      'no receipt, no intermediate notification',
    );
    await Promise.all([a.close(), b.close()]);
  });

  test('transaction mode (esm_class 0x02): the submit is answered with the outcome of its one attempt', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const aInbox = new Inbox(a);
    const b = await bind('bob', 'bpw', 'receiver');
    const bInbox = new Inbox(b, (d) => (d.shortMessage.toString() === 'tx refused' ? S.ESME_RX_T_APPN : S.ESME_ROK));
    const tx = (text: string, destinationAddr = '2002', more: Partial<Parameters<Client['submit']>[0]> = {}) =>
      a.submit({ sourceAddr: '1000', destinationAddr, esmClass: 0x02, shortMessage: Buffer.from(text), registeredDelivery: 1, ...more });
    const failure = (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RDELIVERYFAILURE;

    assert.equal(
      await submitStatus(a, { sourceAddr: '1000', destinationAddr: '2002', esmClass: 0x02, shortMessage: Buffer.from('x'), scheduleDeliveryTime: '000000001000000R' }),
      S.ESME_RINVSCHED,
    );
    await assert.rejects(
      submitMulti(a, ['2002', '2001'], 'tx multi', 0, 0x02),
      (e: CommandStatusError) => e.commandStatus === S.ESME_RINVESMCLASS,
      'submit_multi has no transaction mode',
    );

    // Delivered: the response comes once bob has answered the deliver_sm, with the message id.
    const delivered = await tx('tx delivered');
    assert.ok(bInbox.messages().some((d) => d.shortMessage.toString() === 'tx delivered'), 'delivered before the response');
    assert.equal((await a.query(delivered.messageId, { sourceAddr: '1000' })).messageState, 2);

    // Refused once (a temporary error): no retry, the submit fails.
    await assert.rejects(tx('tx refused'), failure);
    // data_sm too.
    const viaData = await a.dataSm({ serviceType: '', sourceAddrTon: 0, sourceAddrNpi: 0, sourceAddr: '1000', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '2002', esmClass: 0x02, registeredDelivery: 0, dataCoding: 0, tlvs: { messagePayload: Buffer.from('tx data') } });
    assert.ok(viaData.messageId.length > 0);
    assert.equal(bInbox.items.filter((d) => d.tlvs.messagePayload?.toString() === 'tx data' || d.shortMessage.toString() === 'tx data').length, 1, 'delivered before the data_sm_resp');
    // replace_if_present: the replaced message may have had attempts this response cannot report.
    assert.equal(await submitStatus(a, { sourceAddr: '1000', destinationAddr: '2002', esmClass: 0x02, shortMessage: Buffer.from('x'), replaceIfPresentFlag: 1 }), S.ESME_RINVREPFLAG);

    // Nobody to take it (carol is not bound): answered ESME_RDELIVERYFAILURE after
    // delivery.transactionWaitMs, and ended: carol binding later gets nothing.
    let settled = false;
    const waiting = tx('tx nobody', '4000').finally(() => {
      settled = true;
    });
    waiting.catch(() => {});
    const waitingData = a.dataSm({ serviceType: '', sourceAddrTon: 0, sourceAddrNpi: 0, sourceAddr: '1000', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '4000', esmClass: 0x02, registeredDelivery: 0, dataCoding: 0, tlvs: { messagePayload: Buffer.from('tx data nobody') } });
    waitingData.catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, 'waits for an outcome');
    await until(() => settled, 'the wait ends', 15_000);
    // submit_sm_resp to a 3.4 session: header only. data_sm_resp: delivery_failure_reason 0
    // (destination unavailable), after an empty message_id. [ref §1.1, §4.3]
    const reasonOf = (e: unknown) => ((e as CommandStatusError).response as PduOf<'data_sm_resp'> | undefined)?.tlvs.deliveryFailureReason;
    await assert.rejects(waiting, (e: unknown) => failure(e) && reasonOf(e) === undefined);
    await assert.rejects(waitingData, (e: unknown) => failure(e) && reasonOf(e) === 0);
    const c = await bind('carol', 'cpw', 'receiver');
    const cInbox = new Inbox(c);
    for (let i = 0; i < 5; i++) clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(cInbox.items.map((d) => d.shortMessage.toString()), [], 'a message its submitter was told failed is not delivered');

    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(aInbox.receipts(), [], 'no receipts: the responses carry the outcomes');
    assert.equal(bInbox.messages().filter((d) => d.shortMessage.toString() === 'tx refused').length, 1, 'one attempt');
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  test('transaction mode: an attempt under way when the wait runs out is waited for; a temporary failure says so; never taken over, never kept for days', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    // bob answers 'tx sys' ESME_RSYSERR (a retry in store and forward), and 'tx slow' only when told.
    const b = await connect({ port, manualAck: true });
    await b.bind({ type: 'receiver', systemId: 'bob', password: 'bpw' });
    clients.push(b);
    const got: DeliverSm[] = [];
    let ackSlow: (() => void) | undefined;
    void (async () => {
      for await (const d of b.deliveries() as AsyncIterable<Delivery>) {
        if (d.command !== 'deliver_sm') continue;
        got.push(d);
        const text = d.tlvs.messagePayload?.toString() ?? d.shortMessage.toString();
        if (text === 'tx slow') ackSlow = () => b.ack(d, S.ESME_ROK);
        else b.ack(d, text === 'tx sys' ? S.ESME_RSYSERR : S.ESME_ROK);
      }
    })();
    const data = (text: string, destinationAddr = '2002') =>
      a.dataSm({ serviceType: '', sourceAddrTon: 0, sourceAddrNpi: 0, sourceAddr: '1000', destAddrTon: 1, destAddrNpi: 1, destinationAddr, esmClass: 0x02, registeredDelivery: 0, dataCoding: 0, tlvs: { messagePayload: Buffer.from(text) } });
    const reasonOf = (e: unknown) => ((e as CommandStatusError).response as PduOf<'data_sm_resp'> | undefined)?.tlvs.deliveryFailureReason;

    // A temporary failure (ESME_RSYSERR from the receiver): delivery_failure_reason 3, not 2.
    await assert.rejects(data('tx sys'), (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RDELIVERYFAILURE && reasonOf(e) === 3);

    // Its deliver_sm answered only after delivery.transactionWaitMs (10 s): the attempt's outcome
    // is waited for, and the submit answered with the id of a message that reached the handset.
    let settled = false;
    const slow = data('tx slow').finally(() => {
      settled = true;
    });
    slow.catch(() => {});
    await until(() => ackSlow !== undefined, "the slow message's deliver_sm");
    clock.advance(12_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, 'still waiting for the attempt under way');
    ackSlow!();
    const answered = await slow;
    assert.equal((await smsc.store.get(answered.messageId))?.state, 'DELIVERED');

    // A store-and-forward submit with replace_if_present does not take over a transaction's
    // message waiting for its outcome (carol is not bound): it is a message of its own.
    const c = (text: string, more: Partial<Parameters<Client['submit']>[0]> = {}) =>
      a.submit({ sourceAddr: '1000', destinationAddr: '4000', serviceType: 'TX', shortMessage: Buffer.from(text), ...more });
    let waited = false;
    const waiting = c('tx waits', { esmClass: 0x02 }).finally(() => {
      waited = true;
    });
    waiting.catch(() => {});
    const waitingId = await until(async () => (await smsc.store.find({ account: 'alice', limit: 50 })).some((m) => m.payload.toString() === 'tx waits'), 'the waiting message stored').then(
      async () => (await smsc.store.find({ account: 'alice', limit: 50 })).find((m) => m.payload.toString() === 'tx waits')!.id,
    );
    // Its validity: the wait and one lease at most, not the account's 48 hours.
    const stored = (await smsc.store.get(waitingId))!;
    assert.equal(stored.expiresAt, stored.submittedAt + 10_000 + 30_000);
    const other = await c('store and forward', { replaceIfPresentFlag: 1 });
    assert.notEqual(other.messageId, waitingId);
    assert.equal((await smsc.store.get(waitingId))!.payload.toString(), 'tx waits');
    await until(() => waited, 'the wait ends', 15_000);
    await assert.rejects(waiting, (e: unknown) => e instanceof CommandStatusError && e.commandStatus === S.ESME_RDELIVERYFAILURE);
    assert.equal((await smsc.store.get(other.messageId))!.state, 'ENROUTE', 'the other one still waits for carol');
    assert.equal((await a.cancel({ messageId: other.messageId, sourceAddr: '1000', serviceType: 'TX' })).commandStatus, 0);
    await a.close();
    await b.close();
  });

  test('deliver_sm_resp statuses: RX_T_APPN retried later, RX_P_APPN final UNDELIVERABLE with receipt', async () => {
    const a = await bind('alice', 'apw', 'transceiver');
    const aInbox = new Inbox(a);
    let tempFailures = 0;
    const b = await bind('bob', 'bpw', 'receiver');
    const bInbox = new Inbox(b, (d) => {
      const t = d.shortMessage.toString();
      if (t === 'temp' && tempFailures++ === 0) return S.ESME_RX_T_APPN;
      if (t === 'perm') return S.ESME_RX_P_APPN;
      return S.ESME_ROK;
    });
    // 0x11: final receipt and an intermediate notification. [ref §5.2]
    const temp = await a.submit({ sourceAddr: '1000', destinationAddr: '2001', shortMessage: Buffer.from('temp'), registeredDelivery: 0x11 });
    // Queued to the same destination as 'perm', due only later: RX_P_APPN ends it too.
    const queued = await a.submit({
      sourceAddr: '1000',
      destinationAddr: '2000',
      shortMessage: Buffer.from('queued behind perm'),
      scheduleDeliveryTime: '000000001000000R',
      registeredDelivery: 1,
    });
    const perm = await a.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('perm'), registeredDelivery: 1 });
    await until(() => tempFailures === 1, 'the first, refused attempt');
    assert.equal((await a.query(temp.messageId, { sourceAddr: '1000' })).messageState, 1); // still ENROUTE
    await until(() => aInbox.receipts().some((r) => r.tlvs.receiptedMessageId === perm.messageId), 'the UNDELIV receipt');
    assert.equal(aInbox.receipts().find((r) => r.tlvs.receiptedMessageId === perm.messageId)!.tlvs.messageState, 5);
    await until(() => aInbox.receipts().some((r) => r.tlvs.receiptedMessageId === queued.messageId), 'the queued message ended too');
    assert.equal((await a.query(queued.messageId, { sourceAddr: '1000' })).messageState, 5);
    assert.equal(bInbox.messages().filter((d) => d.shortMessage.toString() === 'queued behind perm').length, 0);
    // The intermediate notification after the refused attempt: esm_class 0x20, stat ENROUTE.
    await until(() => aInbox.items.some((d) => d.esmClass === 0x20 && d.tlvs.receiptedMessageId === temp.messageId), 'the intermediate notification');
    const note = aInbox.items.find((d) => d.esmClass === 0x20 && d.tlvs.receiptedMessageId === temp.messageId)!;
    assert.equal(note.tlvs.messageState, 1);
    assert.equal(parseReceipt(note.shortMessage.toString('latin1'))?.stat, 'ENROUTE');
    // until() moves the clock past the retry delay.
    await until(() => bInbox.messages().filter((d) => d.shortMessage.toString() === 'temp').length === 2, 'the retry');
    await until(async () => (await a.query(temp.messageId, { sourceAddr: '1000' })).messageState === 2, 'DELIVERED after retry');
    await until(() => aInbox.receipts().some((r) => r.tlvs.receiptedMessageId === temp.messageId), 'the final receipt');
    await Promise.all([a.close(), b.close()]);
  });
});
