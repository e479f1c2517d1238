/**
 * `store.events: false`: messages are delivered and receipted as usual, and the lifecycle
 * log is empty (the message row still has its state and times).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSmsc } from '../../src/app/smsc.js';
import { connect, type Delivery } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import { until } from '../support/until.js';

for (const events of [true, false]) {
  test(`store.events ${events}: delivered and receipted; the log ${events ? 'records attempts and outcomes' : 'is empty'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsc-events-'));
    const smsc = await startSmsc(
      validateConfig({
        smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
        store: { sqlite: { path: join(dir, 'smsc.db') }, events },
        accounts: [
          { systemId: 'alice', password: 'alice-pw', addresses: ['1000'] },
          { systemId: 'bob', password: 'bob-pw', addresses: ['2000'] },
        ],
      }),
    );
    const port = smsc.listening[0]!.port;
    const alice = await connect({ port });
    const bob = await connect({ port });
    try {
      await alice.bind({ type: 'transceiver', systemId: 'alice', password: 'alice-pw' });
      await bob.bind({ type: 'receiver', systemId: 'bob', password: 'bob-pw' });
      const got: Delivery[] = [];
      for (const [c, into] of [
        [alice, got],
        [bob, got],
      ] as const) {
        void (async () => {
          for await (const d of c.deliveries()) into.push(d);
        })();
      }
      const { messageId } = await alice.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('hi'), registeredDelivery: 1 });
      await until(() => got.length === 2, 'the message and its receipt');
      await until(async () => (await smsc.store.get(messageId))?.state === 'DELIVERED', 'the outcome recorded');
      const kinds = (await smsc.store.events(messageId)).map((e) => e.kind);
      if (events) assert.deepEqual(kinds, ['accepted', 'attempt', 'delivered']);
      else assert.deepEqual(kinds, []);
    } finally {
      await alice.close().catch(() => {});
      await bob.close().catch(() => {});
      await smsc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
