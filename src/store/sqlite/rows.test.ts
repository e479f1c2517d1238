import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeFullMessage, makeMessage } from '../../../test/contract/store-contract.js';
import { messageRow, packMessages, unpackMessages } from './rows.js';

test('packed messages unpack, across a structured clone, to the rows messageRow makes', () => {
  const T = 1_800_000_000_000;
  const msgs = [
    makeMessage(),
    makeFullMessage(),
    makeMessage({ lease: { owner: 'n1', until: T + 90_000 }, scheduleAt: T, failover: ['smpp-b', 'http-c'] }),
    makeMessage({ lease: { owner: 'n2', until: T - 5 }, scheduleAt: T, direction: 'receipt', account: 'bob', target: 'esme:alice' }),
    makeMessage({ scheduleAt: T + 3_600_000, priority: 3, serviceType: 'CMT', batchId: 'b-1', receiptFor: 'm-0' }),
    makeMessage({ esmClass: 300, dataCoding: 1.5, tlvs: Buffer.from([0x14, 0x24, 0, 1, 7]), payloadInTlv: true, payload: Buffer.alloc(0) }),
    makeMessage({ source: { ton: 5, npi: 0, addr: 'ÄLPHA' }, destination: { ton: 1, npi: 1, addr: '' }, serviceType: 'üñí' }),
  ];
  const expected = msgs.map(messageRow);
  const rows = unpackMessages(structuredClone(packMessages(msgs)));
  assert.deepEqual(rows, expected);
  assert.deepEqual(unpackMessages(structuredClone(packMessages([]))), []);
});

test('strings repeated across messages travel once', () => {
  const msgs = Array.from({ length: 50 }, () => makeMessage({ lease: { owner: 'n1', until: 5 } }));
  const p = packMessages(msgs);
  assert.equal(p.ids.length, 50);
  // direction, account, target, state, source, destination, lease owner: one of each.
  assert.equal(p.strings.length, 7);
});
