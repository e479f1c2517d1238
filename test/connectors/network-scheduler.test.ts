/**
 * The simulated network behind the real delivery scheduler and SQLite store: a message to a
 * handset switched off until T is retried (absent subscriber, error 27) and delivered after T,
 * with the receipt the scheduler owes; an unknown subscriber ends UNDELIVERABLE with error 1.
 * Scheduler timers run on a ManualClock; real time only lets store I/O settle (bounded).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedNetwork } from '../../src/connectors/network.js';
import type { DeliveryTarget } from '../../src/delivery/target.js';
import { ManualClock } from '../../src/session/clock.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { testScheduler } from '../support/scheduler.js';
import { T0 } from './fixtures.js';

function mt(id: string, to: string): NewMessage {
  return {
    id,
    direction: 'mt',
    account: 'alice',
    target: 'network',
    batchId: null,
    source: { ton: 0, npi: 1, addr: '1000' },
    destination: { ton: 1, npi: 1, addr: to },
    serviceType: '',
    esmClass: 0,
    protocolId: 0,
    priority: 0,
    dataCoding: 0,
    registeredDelivery: 1,
    payload: Buffer.from('Hello'),
    payloadInTlv: false,
    tlvs: null,
    submittedAt: T0,
    scheduleAt: T0,
    expiresAt: T0 + 86_400_000,
    receiptFor: null,
    originNode: 'n1',
    originSession: null,
  };
}

test('switched-off handset: retried until it is back, then delivered with a receipt', async () => {
  const clock = new ManualClock(T0);
  const store = new SqliteStore({ path: ':memory:', commitDelayMs: 0 });
  await store.init();
  const network = new SimulatedNetwork({ ranges: [{ prefix: '4470', latencyMs: 50 }], clock, seed: 1 });
  network.switchOff('447000000001', T0 + 5000);
  const targets = new Map<string, DeliveryTarget>([['network', network]]);
  const scheduler = testScheduler(store, clock, targets, { retryDelayMs: 1000, maxRetryDelayMs: 60_000, expiryIntervalMs: 3_600_000 });
  try {
    await store.insert([mt('off-1', '447000000001'), mt('unknown-1', '449900000001')]);
    await scheduler.start();
    // Step manual time forward, letting the scheduler's store I/O settle between steps.
    for (let i = 0; i < 400; i++) {
      const m = await store.get('off-1');
      // The receipt is stored after the outcome: wait for both receipts too.
      const receipts = (await store.find({ account: 'alice', limit: 10 })).filter((r) => r.direction === 'receipt');
      if (m?.state === 'DELIVERED' && receipts.length >= 2) break;
      clock.advance(50);
      await new Promise((r) => setTimeout(r, 2));
    }
    const off = await store.get('off-1');
    assert.equal(off?.state, 'DELIVERED');
    assert.ok(off.finalAt !== null && off.finalAt >= T0 + 5000, `delivered at +${(off.finalAt ?? 0) - T0} ms, after the handset came back`);
    assert.ok(off.attempts >= 2, `attempts ${off.attempts}`);
    const retries = (await store.events('off-1')).filter((e) => e.kind === 'retry');
    assert.equal(retries.length, off.attempts - 1);
    for (const e of retries) assert.match(e.detail, /27/, 'absent subscriber');

    const unknown = await store.get('unknown-1');
    assert.equal(unknown?.state, 'UNDELIVERABLE');
    assert.equal(unknown.errorCode, 1);

    const receipts = (await store.find({ account: 'alice', limit: 10 })).filter((m) => m.direction === 'receipt');
    const texts = receipts.map((r) => r.payload.toString('latin1'));
    assert.ok(texts.some((t) => t.includes('id:off-1') && t.includes('stat:DELIVRD')), texts.join('\n'));
    assert.ok(texts.some((t) => t.includes('id:unknown-1') && t.includes('stat:UNDELIV') && t.includes('err:001')), texts.join('\n'));
  } finally {
    await scheduler.stop();
    await network.close();
    await store.close();
  }
});
