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

/** `smsc listen` as bob on `port` with `extra` flags, once it says it is bound: its output so far. */
async function listenAsBob(port: string, extra: string[]) {
  const child = spawn(process.execPath, [CLI_PATH, 'listen', '--port', port, '--system-id', 'bob', '--password', 'bpw', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const io = { out: '', err: '' };
  child.stdout!.on('data', (c: Buffer) => (io.out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (io.err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`listen never bound: ${io.err}`)), 20_000);
    child.stderr!.on('data', () => {
      if (io.err.includes('bound as receiver')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return { child, io, exited };
}

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
  const { io, exited } = await listenAsBob(port, ['--count', '1']);
  const send = spawnSync(
    process.execPath,
    [CLI_PATH, 'send', '--port', port, '--system-id', 'alice', '--password', 'apw', '--from', '1000', '--to', '2000', '--text', 'Grüße, Bob €', '--dlr', '--wait-dlr', '20'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(send.status, 0, send.stderr);
  const id = /submitted (\d+)/.exec(send.stdout)?.[1];
  assert.ok(id !== undefined, send.stdout);
  assert.match(send.stdout, new RegExp(`receipt ${id}: id:${id} .*stat:DELIVRD`));
  assert.equal(await exited, 0, io.err);
  const line = JSON.parse(io.out.trim().split('\n')[0]!);
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
  const listener2 = await listenAsBob(port, ['--count', '200']);
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
  assert.equal(await listener2.exited, 0);

  // A listener without --count whose SMSC stops says so and keeps trying (it exited 0, silently).
  const listener3 = await listenAsBob(port, []);
  await smsc.stop();
  const end = Date.now() + 20_000;
  while (!listener3.io.err.includes('connection lost; reconnecting') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.match(listener3.io.err, /connection lost; reconnecting/);
  assert.equal(listener3.child.exitCode, null, 'still running, to rebind when the SMSC is back');
  listener3.child.kill('SIGINT');
  await listener3.exited;
});
