/** `smsc start` re-reads its routes on SIGHUP, and keeps the running ones when the new file is bad. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

const config = (mt: string) => `smpp:
  listeners: [{ host: 127.0.0.1, port: 0 }]
store:
  sqlite: { path: ./smsc.db }
accounts:
  - { systemId: alice, password: apw, addresses: ["1000"] }
network:
  ranges: [{ prefix: "44" }]
routes:
  mt: [${mt}]
`;

test('SIGHUP reloads the routes section', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-hup-'));
  const file = join(dir, 'smsc.yaml');
  writeFileSync(file, config('{ prefix: "4470", connector: network }'));
  const child = spawn(process.execPath, [CLI, 'start', '--config', file], { cwd: dir });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const waitFor = async (cond: () => boolean, what: string) => {
    const end = Date.now() + 15_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${out} ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await waitFor(() => out.includes('SMPP listening'), 'start');
    writeFileSync(file, config('{ prefix: "4488", connector: network }'));
    child.kill('SIGHUP');
    await waitFor(() => out.includes('routes reloaded'), 'reload');
    writeFileSync(file, config('{ prefix: "4488", connector: nowhere }'));
    child.kill('SIGHUP');
    await waitFor(() => err.includes('routes not reloaded'), 'refusal');
    assert.match(err, /routes\.mt\[0\]\.connector/);
    assert.equal(child.exitCode, null, 'still running');
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
