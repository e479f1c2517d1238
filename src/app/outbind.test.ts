import assert from 'node:assert/strict';
import { test } from 'node:test';
import { viewOfConfig } from '../admin/accounts.js';
import { MemoryAccountRegistry } from '../admin/memory-accounts.js';
import { ManualClock } from '../session/clock.js';
import type { Session } from '../session/session.js';
import { keepOutbinds } from './outbind.js';

test('the outbind carries outbind.password when set, else the account password, else nothing; and names its account', () => {
  const sent: { systemId: string; password: string; host: string; account: string | undefined }[] = [];
  const keeper = keepOutbinds({
    accounts: () => [
      { systemId: 'plain', password: 'ppw', outbind: { host: 'a', port: 1 } },
      { systemId: 'hashed', outbind: { host: 'b', port: 1, password: 'opw' } },
      { systemId: 'both', password: 'bindpw', outbind: { host: 'c', port: 1, password: 'outpw' } },
      { systemId: 'bare', outbind: { host: 'd', port: 1 } },
      { systemId: 'none', password: 'x' },
    ],
    server: {
      outbind: (target) => {
        sent.push({ systemId: target.systemId, password: target.password, host: target.host, account: target.account });
        return new Promise<Session>(() => {});
      },
      receiversOf: () => [],
    },
    systemId: 'HUB',
    clock: new ManualClock(),
  });
  keeper.stop();
  assert.deepEqual(
    sent.map((s) => [s.host, s.password]),
    [
      ['a', 'ppw'],
      ['b', 'opw'],
      ['c', 'outpw'],
      ['d', ''],
    ],
  );
  assert.ok(sent.every((s) => s.systemId === 'HUB'), 'our system_id');
  assert.deepEqual(
    sent.map((s) => s.account),
    ['plain', 'hashed', 'both', 'bare'],
    'only the account it is for may bind on it',
  );
});

test('the in-memory registry keeps no outbind password in its views', async () => {
  const registry = new MemoryAccountRegistry();
  await registry.create({ systemId: 'eve', outbind: { host: 'h', port: 1, password: 'x' } });
  const updated = await registry.update('eve', { outbind: { host: 'h2', port: 2, password: 'y' } });
  assert.deepEqual(updated?.outbind, { host: 'h2', port: 2 });
  assert.deepEqual((await registry.get('eve'))?.outbind, { host: 'h2', port: 2 });
});

test("the admin view of an account shows its outbind's host and port, not its password", () => {
  const view = viewOfConfig({
    systemId: 'bob',
    passwordHash: 'scrypt$x',
    addresses: [],
    maxBinds: 1,
    windowSize: 10,
    defaultValiditySeconds: 60,
    maxValiditySeconds: 60,
    outbind: { host: 'esme.example', port: 2775, password: 'secret' },
  });
  assert.deepEqual(view.outbind, { host: 'esme.example', port: 2775 });
});
