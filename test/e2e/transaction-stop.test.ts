/**
 * A node stopping while a transaction-mode submit waits for its outcome answers it at once
 * with ESME_RSYSERR (the outcome is unknown) and leaves the message pending, for whichever node
 * runs next: the stop does not wait out delivery.transactionWaitMs, and does not end a message
 * it may no longer be the one to decide.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSmsc } from '../../src/app/smsc.js';
import { connect } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import { CommandStatusError } from '../../src/errors.js';
import { CommandStatus } from '../../src/pdu/constants.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

test('a stop answers a waiting transaction-mode submit ESME_RSYSERR at once and leaves its message pending', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-txstop-'));
  const path = join(dir, 'smsc.db');
  try {
    const smsc = await startSmsc(
      validateConfig({
        smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
        store: { sqlite: { path } },
        delivery: { transactionWaitMs: 600_000 },
        accounts: [
          { systemId: 'alice', password: 'apw', addresses: ['1000'] },
          { systemId: 'carol', password: 'cpw', addresses: ['4000'] },
        ],
      }),
    );
    const alice = await connect({ port: smsc.listening[0]!.port });
    await alice.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
    // carol is not bound: the submit waits.
    const waiting = alice.submit({ sourceAddr: '1000', destinationAddr: '4000', esmClass: 0x02, shortMessage: Buffer.from('tx at stop') });
    waiting.catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await smsc.stop();
    assert.ok(Date.now() - t0 < 5_000, `the stop took ${Date.now() - t0} ms`);
    await assert.rejects(waiting, (e: unknown) => e instanceof CommandStatusError && e.commandStatus === CommandStatus.ESME_RSYSERR);
    await alice.close().catch(() => {});

    const store = new SqliteStore({ path });
    await store.init();
    try {
      const [m] = await store.find({ account: 'alice', limit: 10 });
      assert.equal(m?.payload.toString(), 'tx at stop');
      assert.equal(m?.state, 'ENROUTE', 'still pending: not ended by the stopping node');
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
