/**
 * `smsc start`, `smsc listen` and `smsc send` as a user runs them: three processes, the
 * message and its receipt through the daemon.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI_PATH, killAllSmscProcesses, removeDir, startSmscProcess, tempDir } from '../support/smsc-process.js';

let dir: string | undefined;
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await killAllSmscProcesses();
  await removeDir(dir);
});

test('listen prints what send submitted; send prints the id and the receipt', { timeout: 60_000 }, async () => {
  dir = await tempDir('smsc-cli-');
  const smsc = await startSmscProcess({
    dir,
    store: { sqlite: { path: join(dir, 'smsc.db') } },
    accounts: [
      { systemId: 'alice', password: 'apw', addresses: ['1000'] },
      { systemId: 'bob', password: 'bpw', addresses: ['2000'] },
    ],
  });
  const port = String(smsc.port);
  const listener = spawn(process.execPath, [CLI_PATH, 'listen', '--port', port, '--system-id', 'bob', '--password', 'bpw', '--count', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(listener);
  let out = '';
  let err = '';
  listener.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  listener.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`listen never bound: ${err}`)), 20_000);
    listener.stderr!.on('data', () => {
      if (err.includes('bound as receiver')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const send = spawnSync(
    process.execPath,
    [CLI_PATH, 'send', '--port', port, '--system-id', 'alice', '--password', 'apw', '--from', '1000', '--to', '2000', '--text', 'Grüße, Bob €', '--dlr', '--wait-dlr', '20'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(send.status, 0, send.stderr);
  const id = /submitted (\d+)/.exec(send.stdout)?.[1];
  assert.ok(id !== undefined, send.stdout);
  assert.match(send.stdout, new RegExp(`receipt ${id}: id:${id} .*stat:DELIVRD`));
  const code = await new Promise<number | null>((resolve) => listener.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, err);
  const line = JSON.parse(out.trim().split('\n')[0]!);
  assert.equal(line.command, 'deliver_sm');
  assert.equal(line.sourceAddr, '1000');
  assert.equal(line.destinationAddr, '2000');
  assert.equal(line.text, 'Grüße, Bob €');

  const refused = spawnSync(process.execPath, [CLI_PATH, 'send', '--port', port, '--system-id', 'alice', '--password', 'nope', '--to', '2000', '--text', 'x'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /ESME_RINVPASWD/);

  // A bad --wait-dlr is refused before anything is sent.
  const badWait = spawnSync(
    process.execPath,
    [CLI_PATH, 'send', '--port', port, '--system-id', 'alice', '--password', 'apw', '--from', '1000', '--to', '2000', '--text', 'x', '--dlr', '--wait-dlr', 'abc'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(badWait.status, 2);
  assert.match(badWait.stderr, /--wait-dlr/);
  assert.doesNotMatch(badWait.stdout, /submitted/);

  // Bulk: 200 copies with a window, a progress bar on stderr (one line per tenth when not a
  // terminal), a summary, and every receipt counted.
  const listener2 = spawn(process.execPath, [CLI_PATH, 'listen', '--port', port, '--system-id', 'bob', '--password', 'bpw', '--count', '200'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(listener2);
  let err2 = '';
  listener2.stderr!.on('data', (c: Buffer) => (err2 += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`listen never bound: ${err2}`)), 20_000);
    listener2.stderr!.on('data', () => {
      if (err2.includes('bound as receiver')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const bulk = spawnSync(
    process.execPath,
    [CLI_PATH, 'send', '--port', port, '--system-id', 'alice', '--password', 'apw', '--from', '1000', '--to', '2000', '--text', 'bulk', '--count', '200', '--window', '20', '--dlr', '--wait-dlr', '30'],
    { encoding: 'utf8', timeout: 40_000 },
  );
  assert.equal(bulk.status, 0, bulk.stderr);
  assert.match(bulk.stdout, /^submitted 200 messages in [\d.]+ s \(\d+\/s\); first \d+, last \d+$/m);
  assert.match(bulk.stdout, /^200 receipts received$/m);
  assert.match(bulk.stderr, /^sending \[#{24}\] 200\/200 /m, 'the bar reaches the end');
  assert.equal(bulk.stderr.split('\n').filter((l) => l.startsWith('sending [')).length, 10, 'one line per tenth without a terminal');
  assert.match(bulk.stderr, /^receipts \[#{24}\] 200\/200$/m);
  assert.equal(await new Promise<number | null>((resolve) => listener2.once('exit', (c) => resolve(c))), 0);

  // A listener without --count whose SMSC stops says so and keeps trying (it exited 0, silently).
  const listener3 = spawn(process.execPath, [CLI_PATH, 'listen', '--port', port, '--system-id', 'bob', '--password', 'bpw'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(listener3);
  let err3 = '';
  listener3.stderr!.on('data', (c: Buffer) => (err3 += c.toString()));
  const exited = new Promise<number | null>((resolve) => listener3.once('exit', (c) => resolve(c)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`listen never bound: ${err3}`)), 20_000);
    listener3.stderr!.on('data', () => {
      if (err3.includes('bound as receiver')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  await smsc.stop();
  const end = Date.now() + 20_000;
  while (!err3.includes('connection lost; reconnecting') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.match(err3, /connection lost; reconnecting/);
  assert.equal(listener3.exitCode, null, 'still running, to rebind when the SMSC is back');
  listener3.kill('SIGINT');
  await exited;
});
