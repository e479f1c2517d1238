/**
 * MO parts parked by another node: the only node delivering (active-standby's active) takes
 * them back at its start and joins them; any other node leaves them to their own node.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageIdGenerator } from '../../src/core/message-id.js';
import { MoAssembler } from '../../src/core/mo-reassembly.js';
import { EsmClass } from '../../src/pdu/constants.js';
import { ManualClock } from '../../src/session/clock.js';
import { buildConcatUdh } from '../../src/sm/udh.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { makeMessage } from '../contract/store-contract.js';

const T0 = Date.UTC(2026, 11, 7, 18, 0, 0);

function part(seq: number, text: string, originNode: string): NewMessage {
  const payload = Buffer.concat([buildConcatUdh({ ref: 7, total: 2, seq }), Buffer.from(text, 'latin1')]);
  return makeMessage({
    direction: 'mo',
    account: 'bob',
    target: 'esme:bob',
    esmClass: EsmClass.Udhi,
    payload,
    originNode,
    source: { ton: 1, npi: 1, addr: '447700900001' },
    destination: { ton: 0, npi: 0, addr: '2000' },
    submittedAt: T0,
    scheduleAt: T0,
    expiresAt: T0 + 86_400_000,
    registeredDelivery: 0,
  });
}

for (const soleNode of [true, false]) {
  test(`a part parked by another node is ${soleNode ? 'joined by the only node delivering' : "left to its own node by another active one"}`, async () => {
    const clock = new ManualClock(T0 + 1000);
    const store = new SqliteStore({ path: ':memory:', commitDelayMs: 0 });
    await store.init();
    const options = { store, clock, ids: new MessageIdGenerator(1, () => clock.now()), timeoutMs: 60_000, onStored: () => {} };
    try {
      // Node "gone" parked part 1, then died.
      const gone = new MoAssembler({ ...options, nodeId: 'gone' });
      const first = part(1, 'one ', 'gone');
      await gone.add(first, { ref: 7, refBits: 8, total: 2, seq: 1, data: Buffer.from('one ', 'latin1') });
      gone.close();
      const here = new MoAssembler({ ...options, nodeId: 'here', soleNode });
      await here.recover(['bob']);
      const second = part(2, 'two', 'here');
      await here.add(second, { ref: 7, refBits: 8, total: 2, seq: 2, data: Buffer.from('two', 'latin1') });
      const joined = (await store.find({ target: 'esme:bob', limit: 10 })).filter((m) => m.payloadInTlv);
      if (soleNode) {
        assert.equal(joined.length, 1, 'joined');
        assert.equal(joined[0]!.payload.toString('latin1'), 'one two');
      } else {
        assert.equal(joined.length, 0, "not joined: the other node's to join");
      }
      here.close();
    } finally {
      await store.close();
    }
  });
}
