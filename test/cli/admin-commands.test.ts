/** `smsc account`, `smsc route`, `smsc connector` and `smsc message` against a started SMSC. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAdmin } from '../../src/app/admin.js';
import { startSmsc } from '../../src/app/smsc.js';
import { connect } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import type { CommandStatusError } from '../../src/errors.js';
import { CommandStatus as S } from '../../src/pdu/constants.js';
import { testTlsPair } from '../support/tls.js';
import { until } from '../support/until.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

test('account, route, connector and message commands through the admin API', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-admin-cli-'));
  const smsc = await startSmsc(
    validateConfig({
      smpp: { listeners: [{ port: 0 }] },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
      routes: { mt: [{ prefix: '44', connector: 'network' }] },
      network: { ranges: [{ prefix: '4', latencyMs: 0 }] },
    }),
  );
  const token = 'cli-test-token-1';
  const admin = await startAdmin(smsc, { listen: '127.0.0.1:0', token }, {});
  const port = smsc.listening[0]!.port;
  // Asynchronous: the SMSC answering the CLI runs on this test's event loop.
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [CLI, ...args, '--admin', admin.address], { env: { ...process.env, SMSC_ADMIN_TOKEN: token } });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d));
      c.stderr.on('data', (d: Buffer) => (stderr += d));
      c.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
  const bindStatus = async (systemId: string, password: string) => {
    const c = await connect({ port });
    try {
      await c.bind({ type: 'transmitter', systemId, password });
      return 0;
    } catch (err) {
      return (err as CommandStatusError).commandStatus;
    } finally {
      await c.close();
    }
  };
  try {
    // accounts
    const created = await cli('account', 'create', 'carol', '--address', '3000', '--tps', '10');
    assert.equal(created.status, 0, created.stderr);
    const password = /password: (\S+)/.exec(created.stdout)?.[1];
    assert.ok(password !== undefined, created.stdout);
    assert.equal(await bindStatus('carol', password), 0);
    const list = await cli('account', 'list');
    assert.match(list.stdout, /^alice\s+config\s+enabled/m);
    assert.match(list.stdout, /^carol\s+store\s+enabled\s+tps=10\s.*3000/m);
    const bad = await cli('account', 'update', 'carol', '--allowed-ip', '300.1.1.1');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /400.*\[allowedIps\[0\]\]/);
    assert.equal((await cli('account', 'update', 'carol', '--reassemble-mo', 'on')).status, 0);
    assert.equal(JSON.parse((await cli('account', 'show', 'carol', '--json')).stdout).reassembleMo, true);
    assert.notEqual((await cli('account', 'update', 'carol', '--reassemble-mo', 'maybe')).status, 0);
    assert.equal((await cli('account', 'update', 'carol', '--outbind', '127.0.0.1:1', '--outbind-password', 'obpw')).status, 0);
    assert.deepEqual(JSON.parse((await cli('account', 'show', 'carol', '--json')).stdout).outbind, { host: '127.0.0.1', port: 1 }, 'the password never shown');
    assert.equal((await cli('account', 'update', 'carol', '--outbind', 'off')).status, 0);
    assert.equal(JSON.parse((await cli('account', 'show', 'carol', '--json')).stdout).outbind, undefined);
    assert.notEqual((await cli('account', 'update', 'carol', '--outbind', 'nowhere')).status, 0);
    assert.notEqual((await cli('account', 'update', 'carol', '--outbind-password', 'x')).status, 0);
    // Over TLS with the CAs of a PEM file (read by the CLI, stored with the account, not shown).
    const caFile = join(dir, 'esme-ca.pem');
    writeFileSync(caFile, testTlsPair().cert);
    const secure = await cli('account', 'update', 'carol', '--outbind', '127.0.0.1:1', '--outbind-tls', '--outbind-ca', caFile);
    assert.equal(secure.status, 0, secure.stderr);
    assert.deepEqual(JSON.parse((await cli('account', 'show', 'carol', '--json')).stdout).outbind, { host: '127.0.0.1', port: 1, tls: true });
    assert.match((await cli('account', 'update', 'carol', '--outbind', '127.0.0.1:1', '--outbind-ca', caFile)).stderr, /--outbind-ca goes with --outbind-tls/);
    assert.match((await cli('account', 'update', 'carol', '--outbind-tls')).stderr, /goes with --outbind HOST:PORT/);
    assert.match((await cli('account', 'update', 'carol', '--outbind', '127.0.0.1:1', '--outbind-tls', '--outbind-ca', join(dir, 'none.pem'))).stderr, /cannot read/);
    assert.equal((await cli('account', 'update', 'carol', '--outbind', 'off')).status, 0);
    assert.equal((await cli('account', 'disable', 'carol')).status, 0);
    assert.equal(await bindStatus('carol', password), S.ESME_RBINDFAIL);
    assert.equal((await cli('account', 'enable', 'carol')).status, 0);
    const reset = await cli('account', 'reset-password', 'carol', '--password', 'newpw');
    assert.match(reset.stdout, /new password of carol: newpw/);
    assert.equal(await bindStatus('carol', 'newpw'), 0);
    const readOnly = await cli('account', 'delete', 'alice');
    assert.equal(readOnly.status, 1);
    assert.match(readOnly.stderr, /409 SMSC_ADMIN_ACCOUNT_READ_ONLY.*\[id\]/);
    assert.equal((await cli('account', 'delete', 'carol')).status, 0);
    assert.equal(await bindStatus('carol', 'newpw'), S.ESME_RINVSYSID);
    const usage = await cli('account', 'create');
    assert.equal(usage.status, 2);

    // routes
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, 'routes:\n  mt:\n    - { prefix: "45", connector: network }\n');
    const set = await cli('route', 'set', file);
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /routes from store\nmt:\n {2}\[0\] \{"prefix":"45","connector":"network"\}/);
    writeFileSync(file, 'mt:\n  - { prefix: "45", connector: nowhere }\n');
    const refused = await cli('route', 'set', file);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /\[mt\[0\]\.connector\]/);
    assert.equal((await cli('route', 'add', 'mt', '{"prefix":"44","connector":"network"}', '--position', '0')).status, 0);
    const listed = await cli('route', 'list', '--json');
    assert.deepEqual(JSON.parse(listed.stdout).routes.mt, [
      { prefix: '44', connector: 'network' },
      { prefix: '45', connector: 'network' },
    ]);
    assert.equal((await cli('route', 'delete', 'mt', '1')).status, 0);
    assert.match((await cli('route', 'clear')).stdout, /routes from config/);

    // connectors and a message's lifecycle
    assert.match((await cli('connector', 'disable', 'network')).stdout, /^network\s+network\s+disabled/);
    const alice = await connect({ port });
    await alice.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
    const { messageId } = await alice.submit({ sourceAddr: '1000', destinationAddr: '447700900001', shortMessage: Buffer.from('hi there') });
    await alice.close();
    assert.match((await cli('connector', 'list')).stdout, /^network\s+network\s+disabled\s+queued=1/m);
    assert.match((await cli('connector', 'enable', 'network')).stdout, /enabled/);
    await until(async () => (await smsc.store.get(messageId))?.state === 'DELIVERED', 'delivery');
    const shown = await cli('message', messageId);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^message ${messageId}\\s+mt\\s+account=alice\\s+target=network`));
    assert.match(shown.stdout, /1000 → 447700900001 {2}"hi there"/);
    assert.match(shown.stdout, /state=DELIVERED {2}attempts=1/);
    assert.match(shown.stdout, /lifecycle:\n.*accepted.*\n.*attempt.*\n.*delivered/);
    const missing = await cli('message', 'nope');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /404/);
    const noId = await cli('message');
    assert.equal(noId.status, 2, 'a usage error');
    assert.match(noId.stderr, /a message id is required/);
  } finally {
    await admin.close();
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
