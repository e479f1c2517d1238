/**
 * The package's entry points resolve as a user imports them (the README's `smsc/client`): by
 * the package's own name, which Node resolves through package.json `exports`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

test("the package's entry points import by name: smsc and smsc/client", async () => {
  const client = (await import('smsc/client' as string)) as Record<string, unknown>;
  assert.equal(typeof client['connect'], 'function');
  const main = (await import('smsc' as string)) as Record<string, unknown>;
  assert.equal(main['connect'], client['connect']);
  assert.equal(typeof main['CommandStatusError'], 'function');
  assert.equal((main['CommandStatus'] as Record<string, number>)['ESME_ROK'], 0);
});
