/**
 * Message ids after a restart: the ids a process hands out may run ahead of the clock (SMPP 3.3
 * ids borrow the next seconds beyond 1,024 a second; a clock set back does the same to both
 * kinds), and the next process starts from the clock again. Its submits must still be accepted,
 * under ids not already stored, not refused ESME_RSYSERR for a duplicate key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { connect } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import { ManualClock } from '../../src/session/clock.js';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

async function withSmsc<T>(path: string, fn: (port: number, smsc: Smsc) => Promise<T>): Promise<T> {
  const config = validateConfig({
    smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
    store: { sqlite: { path } },
    accounts: [
      { systemId: 'alice', password: 'apw', addresses: ['1000'] },
      { systemId: 'bob', password: 'bpw', addresses: ['2000', '2001'] },
    ],
  });
  // The same instant in both processes: a restart within the second (or a clock set back).
  const smsc = await startSmsc(config, { clock: new ManualClock(T0) });
  try {
    return await fn(smsc.listening[0]!.port, smsc);
  } finally {
    await smsc.stop();
  }
}

/** `count` submits (and one submit_multi) of a session bound with `interfaceVersion`: their ids. */
async function submitAll(port: number, interfaceVersion: number, count: number): Promise<string[]> {
  const c = await connect({ port, session: { windowSize: 100 } });
  try {
    await c.bind({ type: 'transmitter', systemId: 'alice', password: 'apw', interfaceVersion });
    const ids = await Promise.all(
      Array.from({ length: count }, (_, i) => c.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from(`m${i}`) }).then((r) => r.messageId)),
    );
    const multi = await c.submitMulti({
      serviceType: '',
      sourceAddrTon: 0,
      sourceAddrNpi: 0,
      sourceAddr: '1000',
      destAddresses: ['2000', '2001'].map((d) => ({ destFlag: 1 as const, destAddrTon: 1, destAddrNpi: 1, destinationAddr: d })),
      esmClass: 0,
      protocolId: 0,
      priorityFlag: 0,
      scheduleDeliveryTime: '',
      validityPeriod: '',
      registeredDelivery: 0,
      replaceIfPresentFlag: 0,
      dataCoding: 0,
      smDefaultMsgId: 0,
      shortMessage: Buffer.from('to both'),
      tlvs: {},
    });
    return [...ids, multi.messageId];
  } finally {
    await c.close();
  }
}

for (const [version, count] of [
  [0x33, 2500],
  [0x34, 600],
] as const) {
  test(`interface_version 0x${version.toString(16)}: after a restart the submits are accepted under new ids (${count} before it, ahead of the clock)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsc-ids-'));
    const path = join(dir, 'smsc.db');
    try {
      const before = await withSmsc(path, (port) => submitAll(port, version, count));
      assert.equal(new Set(before).size, count + 1);
      const after = await withSmsc(path, async (port, smsc) => {
        const ids = await submitAll(port, version, 50);
        for (const id of ids) assert.ok(await smsc.store.get(id), `${id} stored`);
        return ids;
      });
      assert.equal(new Set(after).size, 51);
      const again = after.filter((id) => before.includes(id));
      assert.deepEqual(again, [], 'no id handed out twice');
      if (version === 0x33) for (const id of after) assert.ok(id.length <= 8, id);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
