/**
 * The client library's text helpers, as its users import them (`smsc/client`): a long text
 * outside GSM 03.38 split into UCS2 parts with a UDH, sent through an SMSC and read back
 * whole from the parts the receiver gets; its receipt read with parseReceipt.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSmsc } from '../../src/app/smsc.js';
import { type Delivery, decodeText, parseReceipt, SplitMethod, splitText } from '../../src/client/index.js';
import { validateConfig } from '../../src/config/config.js';
import type { DeliverSm } from '../../src/pdu/types.js';
import { bindClient } from '../support/smsc-process.js';
import { until } from '../support/until.js';

test('splitText / decodeText / parseReceipt from smsc/client: a long UCS2 text arrives in parts that read back whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-client-text-'));
  const account = (systemId: string, address: string) => ({ systemId, password: `${systemId[0]}pw`, addresses: [address] });
  const config = { smpp: { listeners: [{ port: 0 }] }, store: { sqlite: { path: join(dir, 'smsc.db') } }, accounts: [account('alice', '1000'), account('bob', '2000')] };
  const smsc = await startSmsc(validateConfig(config));
  const port = smsc.listening[0]!.port;
  const [alice, bob] = await Promise.all([
    bindClient(port, 'transceiver', { systemId: 'alice', password: 'apw' }),
    bindClient(port, 'receiver', { systemId: 'bob', password: 'bpw' }),
  ]);
  try {
    const got: DeliverSm[] = [];
    const receipts: DeliverSm[] = [];
    const collect = (c: typeof alice, into: DeliverSm[]) =>
      void (async () => {
        for await (const d of c.deliveries() as AsyncIterable<Delivery>) if (d.command === 'deliver_sm') into.push(d);
      })();
    collect(bob, got);
    collect(alice, receipts);

    const text = 'Привет, мир! '.repeat(10); // Cyrillic: UCS2, 130 characters: two parts
    const { dataCoding, segments } = splitText(text, { method: SplitMethod.Udh8 });
    assert.equal(segments.length, 2);
    const ids: string[] = [];
    for (const s of segments) {
      const r = await alice.submit({ sourceAddr: '1000', destinationAddr: '2000', dataCoding, esmClass: s.esmClassUdhi ? 0x40 : 0, shortMessage: s.shortMessage, registeredDelivery: 1 });
      ids.push(r.messageId);
    }
    await until(() => got.length === 2 && receipts.length === 2, 'both parts and both receipts');
    // The user data after each part's UDH (its first octet is the UDH length), in order.
    const body = Buffer.concat(got.map((d) => d.shortMessage.subarray(d.shortMessage[0]! + 1)));
    assert.equal(decodeText(body, got[0]!.dataCoding), text);
    assert.deepEqual(receipts.map((r) => parseReceipt(r.shortMessage.toString('latin1'))?.id).sort(), [...ids].sort());
  } finally {
    await alice.close().catch(() => {});
    await bob.close().catch(() => {});
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
