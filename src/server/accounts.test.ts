import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, verifyPassword, verifyPasswordAsync } from './accounts.js';

test('verifyPasswordAsync agrees with verifyPassword for hashes and plain passwords', async () => {
  const hashed = { systemId: 'a', passwordHash: hashPassword('s3cret') };
  const plain = { systemId: 'b', password: 'pw' };
  for (const [account, password] of [
    [hashed, 's3cret'],
    [hashed, 's3creT'],
    [hashed, ''],
    [plain, 'pw'],
    [plain, 'pW'],
  ] as const) {
    assert.equal(await verifyPasswordAsync(account, password), verifyPassword(account, password), `${account.systemId}/${password}`);
  }
  // A remembered success does not outlive a new hash (a password reset).
  assert.equal(await verifyPasswordAsync(hashed, 's3cret'), true);
  const reset = { systemId: 'a', passwordHash: hashPassword('other') };
  assert.equal(await verifyPasswordAsync(reset, 's3cret'), false);
  assert.equal(await verifyPasswordAsync({ systemId: 'c', passwordHash: 'md5$x$y' }, 'x'), false, 'unknown scheme');
});

test('verifyPasswordAsync does not hold the event loop while scrypt runs', async () => {
  const account = { systemId: 'a', passwordHash: hashPassword('s3cret') };
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  try {
    // A fresh password each time: no remembered result.
    await Promise.all(Array.from({ length: 4 }, (_, i) => verifyPasswordAsync(account, `wrong-${i}`)));
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 0, 'timers ran while the hashes were computed');
});
