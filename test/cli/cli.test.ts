/** The smsc command line, run as a user runs it (a child process of the built CLI). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../src/config/config.js';
import { verifyPassword } from '../../src/server/accounts.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });

test('the build leaves the CLI executable, so npx smsc keeps working after a rebuild (tsc writes it 0644)', () => {
  assert.notEqual(statSync(CLI).mode & 0o111, 0);
  const r = spawnSync(CLI, ['pdu', 'decode', '00000010000000150000000000000001'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).command, 'enquire_link');
});

test('pdu decode prints the PDU as JSON and exits 0', () => {
  const hex = readFileSync(join(process.cwd(), 'test/fixtures/pdus/netsmpp-submit_multi.hex'), 'utf8').trim();
  const r = run('pdu', 'decode', hex);
  assert.equal(r.status, 0, r.stderr);
  const pdu = JSON.parse(r.stdout);
  assert.equal(pdu.command, 'submit_multi');
  assert.equal(pdu.sequenceNumber, 14);
  assert.equal(pdu.destAddresses[1].destinationAddr, '447700900124');
  assert.equal(Buffer.from(pdu.shortMessage, 'hex').toString(), 'multi test');
});

test('pdu decode of a malformed PDU prints the command_status name and the reason, exit 1', () => {
  const r = run('pdu', 'decode', '000000080000001500000000');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^ESME_RINVCMDLEN: /);
  assert.doesNotMatch(r.stderr, /ESME_RINVCMDLEN: ESME_RINVCMDLEN/, 'the name once');
  const unknown = run('pdu', 'decode', '00000010000000990000000000000001');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /ESME_RINVCMDID: unknown command_id 0x00000099/);
});

test('pdu encode prints hex that decodes back to the same PDU', () => {
  const json = JSON.stringify({
    command: 'submit_sm',
    sequenceNumber: 7,
    sourceAddr: '1000',
    destinationAddr: '447700900123',
    dataCoding: 0,
    shortMessage: Buffer.from('hi').toString('hex'),
    tlvs: { userMessageReference: 42 },
  });
  const r = run('pdu', 'encode', json);
  assert.equal(r.status, 0, r.stderr);
  const back = JSON.parse(run('pdu', 'decode', r.stdout.trim()).stdout);
  assert.equal(back.command, 'submit_sm');
  assert.equal(back.sequenceNumber, 7);
  assert.equal(back.destinationAddr, '447700900123');
  assert.equal(back.shortMessage, '6869');
  assert.equal(back.tlvs.userMessageReference, 42);
  const bad = run('pdu', 'encode', JSON.stringify({ command: 'submit_sm', sourceAddr: 'x'.repeat(30) }));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /sourceAddr/);
});

test('start with a bad config names the key and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'accounts:\n  - systemId: alice\n    password: far-too-long-password\n');
    const r = run('start', '--config', file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /accounts\[0\]\.password/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start on an SMPP port already in use says so in one line and exits 1, no stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-cli-'));
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as net.AddressInfo).port;
    const file = join(dir, 'smsc.yaml');
    writeFileSync(file, `smpp:\n  listeners: [{ host: 127.0.0.1, port: ${port} }]\nstore:\n  sqlite: { path: ./smsc.db }\n`);
    const r = run('start', '--config', file);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`EADDRINUSE.*${port}`));
    assert.match(r.stderr, /smpp\.listeners\[0\]/, 'names the key');
    assert.doesNotMatch(r.stderr, /Unhandled|node:events|\n\s+at /);
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start with an SMSC_LOG_LEVEL pino does not know says so before anything starts, exit 1', () => {
  const r = spawnSync(process.execPath, [CLI, 'start', '--config', '/nonexistent.yaml'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SMSC_LOG_LEVEL: 'bogus' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /SMSC_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent \(got 'bogus'\)/);
});

test('start with SMSC_CONFIG naming a missing file fails; it does not write and run the demo there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-cli-'));
  try {
    const file = join(dir, 'missing.yaml');
    const r = spawnSync(process.execPath, [CLI, 'start'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SMSC_CONFIG: file } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing\.yaml/);
    assert.doesNotMatch(r.stdout, /First start/);
    assert.equal(existsSync(file), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every command answers --help with examples', () => {
  for (const cmd of ['start', 'send', 'listen']) {
    const r = run(cmd, '--help');
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    assert.match(r.stdout, /Example/);
  }
});

test('smsc account hash: a passwordHash for the config file, from --password or standard input', () => {
  const byFlag = run('account', 'hash', '--password', '0123');
  assert.equal(byFlag.status, 0, byFlag.stderr);
  const hash = byFlag.stdout.trim();
  assert.ok(verifyPassword({ systemId: 'a', passwordHash: hash }, '0123'));
  assert.ok(!verifyPassword({ systemId: 'a', passwordHash: hash }, '123'));
  const byStdin = spawnSync(process.execPath, [CLI, 'account', 'hash'], { encoding: 'utf8', timeout: 20_000, input: 's3cret\n' });
  assert.equal(byStdin.status, 0, byStdin.stderr);
  assert.ok(verifyPassword({ systemId: 'a', passwordHash: byStdin.stdout.trim() }, 's3cret'));
  assert.doesNotThrow(() => validateConfig({ accounts: [{ systemId: 'a', passwordHash: hash }] }));
  const none = spawnSync(process.execPath, [CLI, 'account', 'hash'], { encoding: 'utf8', timeout: 20_000, input: '' });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /--password/);
});

test('a command line the parser refuses is a usage error (exit 2); --version prints the version', () => {
  for (const args of [
    ['send', '--bogus'],
    ['start', '--config'],
    ['account', 'create', 'x', '--tpz', '5'],
    // Checked before connecting (nothing listens on port 9 here: a connection refused would exit 1).
    ['send', '--port', 'abc', '--to', '1', '--text', 'x', '--system-id', 'a', '--password', 'p'],
    ['send', '--port', '9', '--to', '1', '--text', 'x', '--count', '0', '--system-id', 'a', '--password', 'p'],
    ['listen', '--port', '9', '--count', 'abc', '--system-id', 'a', '--password', 'p'],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^smsc: |^--(port|count) must/);
  }
  const v = run('--version');
  assert.equal(v.status, 0, v.stderr);
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
  assert.equal(v.stdout.trim(), `smsc ${pkg.version}`);
});
