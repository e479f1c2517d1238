/** The example config in the repo stays valid: it loads and an SMSC starts from it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSmsc } from '../../src/app/smsc.js';
import { loadConfig } from '../../src/config/config.js';

test('config/smsc.example.yaml loads and starts', async () => {
  const config = loadConfig('config/smsc.example.yaml');
  assert.equal(config.accounts[0]!.systemId, 'alice');
  config.store.sqlite = { path: ':memory:' };
  config.smpp.listeners = [{ host: '127.0.0.1', port: 0 }];
  const smsc = await startSmsc(config);
  try {
    assert.equal(smsc.listening.length, 1);
    assert.ok(smsc.network !== undefined);
  } finally {
    await smsc.stop();
  }
});
