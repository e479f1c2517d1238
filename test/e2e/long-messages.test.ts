/**
 * Long messages end to end over real sockets: the parts of a long MT reach the receiving ESME
 * in order, on one session, with a receipt per part; MO parts from the simulated network are
 * joined into one message_payload for an account that asks for it (and passed as they are for
 * one that does not), incomplete ones are delivered as they are after the timeout, and parts
 * parked before a restart are joined after it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { type Client, connect, type Delivery } from '../../src/client/client.js';
import { type Config, validateConfig } from '../../src/config/config.js';
import { EsmClass } from '../../src/pdu/constants.js';
import type { DeliverSm } from '../../src/pdu/types.js';
import { ManualClock } from '../../src/session/clock.js';
import { splitText } from '../../src/sm/split.js';
import { buildConcatUdh, concatInfoOfUdh, parseUdh } from '../../src/sm/udh.js';
import { until as waitUntil } from '../support/until.js';

const LONG = 'The quick brown fox jumps over the lazy dog. '.repeat(9).trim(); // 404 chars: 3 GSM parts

function configFor(dir: string, db: string, bobReassembles = true) {
  return validateConfig({
    smpp: { listeners: [{ port: 0 }], enquireLinkIntervalMs: 0 },
    store: { sqlite: { path: join(dir, db) } },
    delivery: { moReassemblyTimeoutMs: 60_000 },
    accounts: [
      { systemId: 'alice', password: 'apw', addresses: ['1000'] },
      { systemId: 'bob', password: 'bpw', addresses: ['2000'], reassembleMo: bobReassembles },
      { systemId: 'carol', password: 'cpw', addresses: ['3000'] },
    ],
    routes: {
      mt: [{ prefix: '447', connector: 'network' }],
      mo: [
        { match: '2000', account: 'bob' },
        { match: '3000', account: 'carol' },
      ],
    },
    network: { ranges: [{ prefix: '447', successRatio: 1 }] },
  });
}

/** Collects deliver_sm per client. */
function inbox(c: Client): DeliverSm[] {
  const got: DeliverSm[] = [];
  void (async () => {
    for await (const d of c.deliveries() as AsyncIterable<Delivery>) if (d.command === 'deliver_sm') got.push(d);
  })();
  return got;
}

describe('long messages', () => {
  let dir: string;
  let clock: ManualClock;
  let smsc: Smsc;
  const clients: Client[] = [];
  const until = (cond: () => boolean | Promise<boolean>, what: string) => waitUntil(cond, what, { clock, stepMs: 10 });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smsc-long-'));
    clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
    smsc = await startSmsc(configFor(dir, 'smsc.db'), { clock });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function bind(systemId: string, password: string, type: 'transmitter' | 'receiver' | 'transceiver', node = smsc, interfaceVersion = 0x34) {
    const c = await connect({ port: node.listening[0]!.port });
    await c.bind({ type, systemId, password, interfaceVersion });
    clients.push(c);
    return c;
  }

  test('the parts of a long MT arrive in order on one session of the receiving ESME, a receipt per part', async () => {
    const rx1 = await bind('bob', 'bpw', 'receiver');
    const rx2 = await bind('bob', 'bpw', 'receiver');
    const got1 = inbox(rx1);
    const got2 = inbox(rx2);
    const alice = await bind('alice', 'apw', 'transceiver');
    const receipts = inbox(alice);
    const split = splitText('x'.repeat(700), { method: 'udh8', reference: 77 }); // 5 parts
    assert.equal(split.segments.length, 5);
    const ids: string[] = [];
    for (const seg of split.segments) {
      const r = await alice.submit({
        sourceAddr: '1000',
        destinationAddr: '2000',
        esmClass: EsmClass.Udhi,
        dataCoding: split.dataCoding,
        shortMessage: seg.shortMessage,
        registeredDelivery: 1,
      });
      ids.push(r.messageId);
    }
    await until(() => got1.length + got2.length === 5, 'all five parts');
    const on = got1.length === 5 ? got1 : got2;
    assert.equal(on.length, 5, `one session got them all (${got1.length}/${got2.length})`);
    assert.deepEqual(
      on.map((d) => concatInfoOfUdh(parseUdh(d.shortMessage)!)?.seq),
      [1, 2, 3, 4, 5],
    );
    await until(() => ids.every((id) => receipts.some((d) => d.tlvs.receiptedMessageId === id)), 'a receipt per part');
    await rx1.close();
    await rx2.close();
    await alice.close();
  });

  test('parts tied by SAR TLVs reach an SMPP 3.3 receiver (no TLVs) as parts: a 16-bit concatenation UDH instead', async () => {
    const carol = await bind('carol', 'cpw', 'receiver', smsc, 0x33);
    const got = inbox(carol);
    const alice = await bind('alice', 'apw', 'transmitter');
    for (const seq of [1, 2]) {
      await alice.submit({
        sourceAddr: '1000',
        destinationAddr: '3000',
        shortMessage: Buffer.from(`part ${seq}`),
        tlvs: { sarMsgRefNum: 0x1234, sarTotalSegments: 2, sarSegmentSeqnum: seq },
      });
    }
    await until(() => got.length === 2, 'both parts at carol');
    for (const [i, d] of got.entries()) {
      assert.equal(d.esmClass & EsmClass.Udhi, EsmClass.Udhi);
      assert.deepEqual(d.tlvs, {}, 'no TLVs to 3.3');
      const udh = parseUdh(d.shortMessage)!;
      assert.deepEqual(concatInfoOfUdh(udh), { ref: 0x1234, total: 2, seq: i + 1, refBits: 16 });
      assert.equal(d.shortMessage.subarray(7).toString(), `part ${i + 1}`);
    }
    await carol.close();
    await alice.close();
  });

  test('MO parts are joined into one message_payload for bob; carol gets them as they are', async () => {
    const bob = await bind('bob', 'bpw', 'receiver');
    const carol = await bind('carol', 'cpw', 'receiver');
    const toBob = inbox(bob);
    const toCarol = inbox(carol);
    await smsc.network!.originateMo({ from: '447700900001', to: '2000', text: LONG });
    await smsc.network!.originateMo({ from: '447700900001', to: '3000', text: LONG });
    await until(() => toBob.length === 1 && toCarol.length === 3, 'one joined message for bob, three parts for carol');
    const joined = toBob[0]!;
    assert.equal(joined.esmClass & EsmClass.Udhi, 0);
    assert.equal(joined.shortMessage.length, 0);
    assert.equal(joined.tlvs.messagePayload?.toString('latin1'), LONG);
    assert.deepEqual(
      toCarol.map((d) => concatInfoOfUdh(parseUdh(d.shortMessage)!)?.seq),
      [1, 2, 3],
    );
    // The parts bob never saw are final, so they do not wait in any queue.
    const parked = await smsc.store.find({ target: 'hold:bob', limit: 10 });
    assert.equal(parked.length, 3);
    assert.ok(parked.every((m) => m.state === 'DELIVERED'));
    await bob.close();
    await carol.close();
  });

  test('an account created through the admin API can ask for reassembly too', async () => {
    const made = await smsc.live.registry().create({ systemId: 'dave', password: 'dpw', addresses: ['4000'], reassembleMo: true });
    assert.equal(made.account.reassembleMo, true);
    const dave = await bind('dave', 'dpw', 'receiver');
    const toDave = inbox(dave);
    await smsc.network!.originateMo({ from: '447700900004', to: '4000', text: LONG });
    await until(() => toDave.length === 1, 'one joined message for dave');
    assert.equal(toDave[0]!.tlvs.messagePayload?.toString('latin1'), LONG);
    await dave.close();
  });

  test('an 8-bit and a 16-bit reference of the same value are two messages, never joined', async () => {
    const bob = await bind('bob', 'bpw', 'receiver');
    const toBob = inbox(bob);
    const from = '447700900005';
    await smsc.network!.originateMo({ from, to: '2000', payload: Buffer.concat([buildConcatUdh({ ref: 9, total: 2, seq: 1 }, 8), Buffer.from('E8a', 'latin1')]), dataCoding: 0, esmClass: EsmClass.Udhi });
    await smsc.network!.originateMo({ from, to: '2000', payload: Buffer.concat([buildConcatUdh({ ref: 9, total: 2, seq: 2 }, 16), Buffer.from('F16b', 'latin1')]), dataCoding: 0, esmClass: EsmClass.Udhi });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(toBob.length, 0, 'neither group is complete');
    clock.advance(60_000);
    await until(() => toBob.length === 2, 'both parts, as they are');
    assert.ok(toBob.every((d) => d.tlvs.messagePayload === undefined), 'nothing joined');
    await bob.close();
  });

  test('MO parts tied by SAR TLVs (an upstream SMSC\'s) are joined too; the joined message keeps the other TLVs, not the SAR ones', async () => {
    const bob = await bind('bob', 'bpw', 'receiver');
    const toBob = inbox(bob);
    const part = (seq: number, text: string) =>
      smsc.core.acceptMo({
        source: { ton: 1, npi: 1, addr: '447700900006' },
        destination: { ton: 0, npi: 0, addr: '2000' },
        dataCoding: 0,
        esmClass: 0,
        payload: Buffer.from(text, 'latin1'),
        tlvs: { sarMsgRefNum: 0x1234, sarTotalSegments: 2, sarSegmentSeqnum: seq, destPort: 5000 },
      });
    await part(2, ' and the rest');
    await part(1, 'The start');
    await until(() => toBob.length === 1, 'one joined message for bob');
    const joined = toBob[0]!;
    assert.equal(joined.tlvs.messagePayload?.toString('latin1'), 'The start and the rest');
    assert.equal(joined.tlvs.destPort, 5000);
    assert.equal(joined.tlvs.sarMsgRefNum, undefined);
    await bob.close();
  });

  test('an MO message missing a part is delivered part by part after the timeout', async () => {
    const bob = await bind('bob', 'bpw', 'receiver');
    const toBob = inbox(bob);
    const part = (seq: number, text: string) =>
      Buffer.concat([buildConcatUdh({ ref: 9, total: 3, seq }), Buffer.from(text, 'latin1')]);
    // Part 3 arrives first: released in their order in the message all the same.
    await smsc.network!.originateMo({ from: '447700900002', to: '2000', payload: part(3, 'three'), dataCoding: 0, esmClass: EsmClass.Udhi });
    await smsc.network!.originateMo({ from: '447700900002', to: '2000', payload: part(1, 'one '), dataCoding: 0, esmClass: EsmClass.Udhi });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(toBob.length, 0, 'held while the group may still complete');
    clock.advance(60_000);
    await until(() => toBob.length === 2, 'the two parts, as they are');
    assert.deepEqual(
      toBob.map((d) => concatInfoOfUdh(parseUdh(d.shortMessage)!)?.seq).sort(),
      [1, 3],
    );
    await bob.close();
  });

  test('parts parked before a restart are joined after it', async () => {
    const node1 = await startSmsc(configFor(dir, 'restart.db'), { clock });
    const part = (seq: number, text: string) =>
      Buffer.concat([buildConcatUdh({ ref: 4, total: 2, seq }), Buffer.from(text, 'latin1')]);
    await node1.network!.originateMo({ from: '447700900003', to: '2000', payload: part(1, 'before '), dataCoding: 0, esmClass: EsmClass.Udhi });
    await node1.stop();
    clock.advance(1000); // a restart takes time (ids are time-based)
    const node2 = await startSmsc(configFor(dir, 'restart.db'), { clock });
    try {
      await node2.network!.originateMo({ from: '447700900003', to: '2000', payload: part(2, 'after'), dataCoding: 0, esmClass: EsmClass.Udhi });
      const bob = await bind('bob', 'bpw', 'receiver', node2);
      const toBob = inbox(bob);
      await until(() => toBob.length === 1, 'the joined message');
      assert.equal(toBob[0]!.tlvs.messagePayload?.toString('latin1'), 'before after');
      await bob.close();
    } finally {
      await node2.stop();
    }
  });

  /**
   * Part 1 of 2 (text `text`, reference `ref`) parked by a node started with `before`, which
   * stops; a node started with `after` on the same file delivers it to bob as it is once
   * `timeouts` reassembly timeouts have passed, not before.
   */
  async function releasedAfter(timeouts: number, ref: number, text: string, before: Config, after: Config): Promise<void> {
    const node1 = await startSmsc(before, { clock });
    const part = Buffer.concat([buildConcatUdh({ ref, total: 2, seq: 1 }), Buffer.from(text, 'latin1')]);
    await node1.network!.originateMo({ from: '447700900004', to: '2000', payload: part, dataCoding: 0, esmClass: EsmClass.Udhi });
    await node1.stop();
    clock.advance(1000);
    const node2 = await startSmsc(after, { clock });
    try {
      const bob = await bind('bob', 'bpw', 'receiver', node2);
      const toBob = inbox(bob);
      for (let i = 1; i < timeouts; i++) {
        clock.advance(60_000);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(toBob.length, 0, `not after ${i} timeout(s)`);
      }
      clock.advance(60_000);
      await until(() => toBob.length === 1, 'the part, as it is');
      assert.equal(toBob[0]!.shortMessage.subarray(6).toString('latin1'), text);
      await bob.close();
    } finally {
      await node2.stop();
    }
  }

  test('a part another node parked (a node gone for good, or renamed) is delivered as it is after twice the timeout', () =>
    releasedAfter(2, 6, 'orphan', { ...configFor(dir, 'orphan.db'), nodeId: 'gone' }, { ...configFor(dir, 'orphan.db'), nodeId: 'other' }));

  test('a part parked for an account that no longer reassembles is released after the timeout', () =>
    releasedAfter(1, 5, 'alone', configFor(dir, 'stopped.db'), configFor(dir, 'stopped.db', false)));
});
