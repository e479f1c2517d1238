import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword } from '../server/accounts.js';
import { ConfigError, parseConfigYaml, validateConfig } from './config.js';

test('defaults fill a minimal config', () => {
  const c = validateConfig({ accounts: [{ systemId: 'a', password: 'pw' }] }, '/srv');
  assert.equal(c.smpp.listeners[0]!.port, 2775);
  assert.equal(c.store.sqlite!.path, '/srv/data/smsc.db');
  assert.equal(c.accounts[0]!.maxBinds, 4);
  assert.equal(c.accounts[0]!.windowSize, 10);
});

test('errors name the key and the reason', () => {
  const cases: [unknown, string][] = [
    [{ accounts: [{ systemId: 'a' }] }, 'accounts[0].password'],
    [{ accounts: [{ systemId: 'a', password: '123456789' }] }, 'accounts[0].password'],
    [{ accounts: [{ systemId: 'a'.repeat(16), password: 'x' }] }, 'accounts[0].systemId'],
    [{ accounts: [{ systemId: 'a', password: 'x' }, { systemId: 'a', password: 'y' }] }, 'accounts[1].systemId'],
    [{ smpp: { listeners: [{ port: 70000 }] } }, 'smpp.listeners[0].port'],
    [{ smpp: { listeners: [{ port: 2785 }, { port: 0 }, { port: 0 }, { host: '127.0.0.1', port: 2785 }] } }, 'smpp.listeners[3].port'],
    [{ smpp: { windowSize: 'big' } }, 'smpp.windowSize'],
    [{ store: { sqlite: { path: 'a' }, postgres: { url: 'b' } } }, 'store'],
    [{ accounts: 'alice' }, 'accounts'],
    // A hash that matches no password would refuse every bind of the account, in silence.
    [{ accounts: [{ systemId: 'a', passwordHash: 'foo' }] }, 'accounts[0].passwordHash'],
    [{ accounts: [{ systemId: 'a', passwordHash: 'scrypt$zz$00' }] }, 'accounts[0].passwordHash'],
    // What the admin API refuses in its accounts, the file refuses too.
    [{ accounts: [{ systemId: 'a b', password: 'x' }] }, 'accounts[0].systemId'],
    [{ accounts: [{ systemId: 'a', password: 'x', addresses: ['1000', '12*34'] }] }, 'accounts[0].addresses[1]'],
    [{ accounts: [{ systemId: 'a', password: 'x', addresses: [''] }] }, 'accounts[0].addresses[0]'],
    [{ accounts: [{ systemId: 'a', password: 'x', allowedSystemTypes: ['a'.repeat(13)] }] }, 'accounts[0].allowedSystemTypes[0]'],
    [{ accounts: [{ systemId: 'a', password: 'x', outbind: { host: '' } }] }, 'accounts[0].outbind.host'],
    // One owner per address (a prefix inside another's, 447* under 44*, is a carve-out and allowed).
    [
      {
        accounts: [
          { systemId: 'a', password: 'x', addresses: ['1000', '44*'] },
          { systemId: 'b', password: 'y', addresses: ['447*', '1000'] },
        ],
      },
      'accounts[1].addresses[1]',
    ],
  ];
  for (const [raw, key] of cases) {
    assert.throws(
      () => validateConfig(raw),
      (e: unknown) => e instanceof ConfigError && e.key === key && e.message.includes(key),
      `expected an error naming ${key}`,
    );
  }
});

test('a hash made by hashPassword (smsc account hash) is taken', () => {
  const c = validateConfig({ accounts: [{ systemId: 'a', passwordHash: hashPassword('pw') }] });
  assert.match(c.accounts[0]!.passwordHash!, /^scrypt\$/);
});

test('YAML integers written in a form a number would not keep stay the text written', () => {
  const doc = parseConfigYaml(
    'accounts:\n  - { systemId: 0012, password: 0123, addresses: [007700, 2000, "0044"] }\nhex: 0x1F\noct: 0o17\nn: [1234, -5, 0, 1.5]\n',
  );
  assert.deepEqual(doc, {
    accounts: [{ systemId: '0012', password: '0123', addresses: ['007700', 2000, '0044'] }],
    hex: '0x1F',
    oct: '0o17',
    n: [1234, -5, 0, 1.5],
  });
  const c = validateConfig({ accounts: (doc as { accounts: unknown }).accounts });
  assert.equal(c.accounts[0]!.password, '0123', 'the password as written (a number made it 123)');
  assert.equal(c.accounts[0]!.systemId, '0012');
  assert.deepEqual(c.accounts[0]!.addresses, ['007700', '2000', '0044']);
  // A number key given such a form is refused, naming it.
  assert.throws(
    () => validateConfig(parseConfigYaml('smpp: { listeners: [{ port: 02775 }] }\n')),
    (e: unknown) => e instanceof ConfigError && e.key === 'smpp.listeners[0].port',
  );
});
