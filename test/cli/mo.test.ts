/** `smsc mo` through the admin API: a handset's MO reaches the ESME that owns the short code. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAdmin } from '../../src/app/admin.js';
import { startSmsc } from '../../src/app/smsc.js';
import { connect, type Delivery } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

test('smsc mo injects an MO that the owning ESME receives; refusals name the field', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-mo-'));
  const smsc = await startSmsc(
    validateConfig({
      smpp: { listeners: [{ port: 0 }] },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [{ systemId: 'bob', password: 'bpw', addresses: ['2000'] }],
      routes: { mo: [{ match: '2000', account: 'bob' }] },
      network: { ranges: [{ prefix: '44' }] },
    }),
  );
  const token = 'test-token-123456';
  const admin = await startAdmin(smsc, { listen: '127.0.0.1:0', token }, {});
  const bob = await connect({ port: smsc.listening[0]!.port });
  try {
    await bob.bind({ type: 'receiver', systemId: 'bob', password: 'bpw' });
    // Asynchronous: the SMSC answering the CLI runs on this test's event loop.
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [CLI, 'mo', '--admin', admin.address, ...args]);
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d));
        c.stderr.on('data', (d: Buffer) => (stderr += d));
        c.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
    const ok = await cli('--token', token, '--from', '447700900123', '--to', '2000', '--text', 'hello from a phone');
    assert.equal(ok.status, 0, ok.stderr);
    const id = /MO stored as (\d+)/.exec(ok.stdout)?.[1];
    assert.ok(id !== undefined, ok.stdout);
    const it = bob.deliveries()[Symbol.asyncIterator]();
    const got = (await it.next()).value as Delivery;
    assert.equal(got.command, 'deliver_sm');
    if (got.command === 'deliver_sm') {
      assert.equal(got.shortMessage.toString(), 'hello from a phone');
      assert.equal(got.sourceAddr, '447700900123');
    }
    const empty = await cli('--token', token, '--from', '447700900123', '--to', '2000', '--text', '');
    assert.equal(empty.status, 0, `an empty text is a message too: ${empty.stderr}`);
    const plusOnly = await cli('--token', token, '--from', '+', '--to', '2000', '--text', 'x');
    assert.equal(plusOnly.status, 1);
    assert.match(plusOnly.stderr, /\[from\]/);
    const nobody = await cli('--token', token, '--from', '447700900123', '--to', '9999', '--text', 'x');
    assert.equal(nobody.status, 1);
    assert.match(nobody.stderr, /422.*\[to\]/);
    const badToken = await cli('--token', 'wrong-token-000', '--from', '1', '--to', '2000', '--text', 'x');
    assert.equal(badToken.status, 1);
    assert.match(badToken.stderr, /401/);
    // An admin address nobody answers on is named, as the admin commands name it.
    const down = await cli('--admin', '127.0.0.1:1', '--token', token, '--from', '1', '--to', '2000', '--text', 'x');
    assert.equal(down.status, 1);
    assert.match(down.stderr, /cannot reach the admin API at 127\.0\.0\.1:1/);
  } finally {
    await bob.close();
    await admin.close();
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('admin.hideMessageContent from the config leaves the text out of the API', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-hide-'));
  const token = 'test-token-123456';
  const config = validateConfig({
    smpp: { listeners: [{ port: 0 }] },
    store: { sqlite: { path: join(dir, 'smsc.db') } },
    accounts: [
      { systemId: 'alice', password: 'apw', addresses: ['1000'] },
      { systemId: 'bob', password: 'bpw', addresses: ['2000'] },
    ],
    admin: { listen: '127.0.0.1:0', token, hideMessageContent: true },
  });
  assert.equal(config.admin?.hideMessageContent, true);
  const smsc = await startSmsc(config);
  const admin = await startAdmin(smsc, config.admin!, {});
  const alice = await connect({ port: smsc.listening[0]!.port });
  try {
    await alice.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
    const { messageId } = await alice.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('a private text') });
    const res = await fetch(`http://${admin.address}/api/messages/${messageId}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, new RegExp(messageId));
    assert.doesNotMatch(body, /a private text/);
  } finally {
    await alice.close();
    await admin.close();
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
