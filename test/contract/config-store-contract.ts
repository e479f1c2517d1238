/**
 * The {@link ConfigStore} part of the store contract (run-time accounts and settings), run by
 * `storeContract` over every backend: SQLite, SQLite on a worker thread and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ConfigStore, type ConfigTopic, isConfigStore, type StoredAccount } from '../../src/store/config-store.js';
import type { Store, StoreOptions } from '../../src/store/types.js';

interface Fixture {
  open(options?: StoreOptions): Store;
  dispose(): Promise<void>;
}

const T0 = 1_700_000_000_000;

function account(over: Partial<StoredAccount> = {}): StoredAccount {
  return {
    systemId: 'carol',
    passwordHash: 'scrypt$00$11',
    addresses: ['3000', '4477*'],
    allowedIps: null,
    allowedSystemTypes: null,
    maxBinds: 4,
    windowSize: 10,
    defaultValiditySeconds: 3600,
    maxValiditySeconds: 7200,
    tps: 0,
    maxQueued: 0,
    disabled: false,
    reassembleMo: false,
    updatedAt: T0,
    ...over,
  };
}

/** Waits for `topic` to reach a listener (the test times out if it never does). */
function topics() {
  const seen: ConfigTopic[] = [];
  const waiters: { topic: ConfigTopic; resolve(): void }[] = [];
  return {
    seen,
    listener(t: ConfigTopic) {
      seen.push(t);
      for (const w of waiters.filter((x) => x.topic === t)) w.resolve();
    },
    waitFor(topic: ConfigTopic): Promise<void> {
      if (seen.includes(topic)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ topic, resolve }));
    },
  };
}

export function configStoreContract(name: string, makeFixture: () => Promise<Fixture>): void {
  async function withStores(fn: (open: () => Promise<Store & ConfigStore>) => Promise<void>): Promise<void> {
    const fx = await makeFixture();
    const opened: Store[] = [];
    try {
      await fn(async () => {
        const s = fx.open();
        opened.push(s);
        await s.init();
        assert.ok(isConfigStore(s), `${name} keeps accounts and settings`);
        return s as Store & ConfigStore;
      });
    } finally {
      for (const s of opened) await s.close().catch(() => {});
      await fx.dispose();
    }
  }

  describe(`config store contract: ${name}`, () => {
    test('accounts: create, get, list in system_id order, update, delete; every field kept', () =>
      withStores(async (open) => {
        const s = await open();
        assert.deepEqual(await s.listAccounts(), []);
        const carol = account({
          allowedIps: ['10.0.0.0/8', '::1'],
          allowedSystemTypes: ['VMS'],
          tps: 5,
          maxQueued: 100,
          outbind: { host: 'esme.example', port: 2776, password: 'obpw' },
        });
        assert.equal(await s.createAccount(carol), true);
        assert.equal(await s.createAccount(account({ systemId: 'Alpha', disabled: true })), true);
        assert.equal(await s.createAccount(account({ passwordHash: 'scrypt$other$hash' })), false, 'a taken system_id');
        assert.deepEqual(await s.getAccount('carol'), carol);
        assert.equal(await s.getAccount('nobody'), undefined);
        assert.deepEqual(
          (await s.listAccounts()).map((a) => [a.systemId, a.disabled]),
          [
            ['Alpha', true],
            ['carol', false],
          ],
        );
        const outbind = { host: 'h', port: 1, tls: true, caPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' };
        const changed = { ...carol, addresses: [], allowedIps: null, tps: 0, disabled: true, passwordHash: 'scrypt$aa$bb', updatedAt: T0 + 5, outbind };
        assert.equal(await s.updateAccount(changed), true);
        assert.deepEqual(await s.getAccount('carol'), changed);
        const { outbind: _, ...withoutOutbind } = changed;
        assert.equal(await s.updateAccount(withoutOutbind), true);
        assert.deepEqual(await s.getAccount('carol'), withoutOutbind, 'outbind removed');
        assert.equal(await s.updateAccount(account({ systemId: 'ghost' })), false);
        assert.equal(await s.getAccount('ghost'), undefined, 'update never creates');
        assert.equal(await s.deleteAccount('carol'), true);
        assert.equal(await s.deleteAccount('carol'), false);
        assert.deepEqual((await s.listAccounts()).map((a) => a.systemId), ['Alpha']);
        await assert.rejects(s.createAccount(account({ systemId: '' })), TypeError);
      }));

    test('settings: set, overwrite, remove; kept across reopen with the accounts', () =>
      withStores(async (open) => {
        const s = await open();
        assert.equal(await s.getSetting('routes'), undefined);
        await s.setSetting('routes', '{"mt":[]}', T0);
        await s.setSetting('routes', '{"mt":[{"connector":"x"}]}', T0 + 1);
        await s.setSetting('other', '[]', T0);
        assert.equal(await s.getSetting('routes'), '{"mt":[{"connector":"x"}]}');
        await s.createAccount(account());
        await s.close();
        const again = await open();
        assert.equal(await again.getSetting('routes'), '{"mt":[{"connector":"x"}]}');
        assert.equal((await again.getAccount('carol'))?.systemId, 'carol');
        await again.setSetting('routes', null, T0 + 2);
        await again.setSetting('routes', null, T0 + 3);
        assert.equal(await again.getSetting('routes'), undefined);
        assert.equal(await again.getSetting('other'), '[]');
      }));

    test('a committed change is announced to the listeners of another store on the same database', () =>
      withStores(async (open) => {
        const a = await open();
        const b = await open();
        const heard = topics();
        const off = await b.onConfigChange(heard.listener);
        await a.createAccount(account());
        await heard.waitFor('account:carol');
        assert.deepEqual(await b.getAccount('carol'), account(), 'the change is visible when announced');
        await a.setSetting('routes', '{}', T0);
        await heard.waitFor('setting:routes');
        await a.updateAccount(account({ systemId: 'nobody' }));
        await a.deleteAccount('carol');
        await heard.waitFor('account:carol');
        assert.ok(!heard.seen.includes('account:nobody'), 'an update that changed nothing is not announced');
        off();
        const late = topics();
        await b.onConfigChange(late.listener);
        await a.setSetting('x', '1', T0);
        await late.waitFor('setting:x');
        assert.ok(!heard.seen.includes('setting:x'), 'an unsubscribed listener is not called');
      }));
  });
}
