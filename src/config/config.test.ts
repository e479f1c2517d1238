import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, validateConfig } from './config.js';

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
    [{ smpp: { windowSize: 'big' } }, 'smpp.windowSize'],
    [{ store: { sqlite: { path: 'a' }, postgres: { url: 'b' } } }, 'store'],
    [{ accounts: 'alice' }, 'accounts'],
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
