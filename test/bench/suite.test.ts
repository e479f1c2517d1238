/**
 * The benchmark suite's harness works end to end (one short accept cell against a real SMSC
 * process, JSON with the expected fields) and fails loudly on bad input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { removeDir, tempDir } from '../support/smsc-process.js';

/** This file is dist/test/bench/suite.test.js; the suite dist/bench/suite.js. */
const SUITE = fileURLToPath(new URL('../../bench/suite.js', import.meta.url));

interface Report {
  options: Record<string, unknown>;
  cells: Record<string, unknown>[];
}

/** Runs the suite on one accept cell of the SMSC with `args`; its stdout and JSON report. */
async function acceptCell(args: string[]): Promise<{ stdout: string; report: Report }> {
  const dir = await tempDir('smsc-bench-test-');
  try {
    const out = join(dir, 'suite.json');
    const r = spawnSync(process.execPath, [SUITE, '--scenarios', 'accept', '--seconds', '2', ...args, '--no-baselines', '--out', out], {
      encoding: 'utf8',
      timeout: 55_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    return { stdout: r.stdout, report: JSON.parse(readFileSync(out, 'utf8')) as Report };
  } finally {
    await removeDir(dir);
  }
}

test('one accept cell: the SMSC accepts, the JSON has the cell and its figures', { timeout: 60_000 }, async () => {
    const { stdout, report } = await acceptCell(['--windows', '10', '--connections', '1', '--warmup-seconds', '1']);
    assert.match(stdout, /msgs\/s/);
    assert.equal(report.options['warmupSeconds'], 1);
    assert.equal(report.cells.length, 1);
    const cell = report.cells[0]!;
    assert.equal(cell['scenario'], 'accept');
    assert.equal(cell['target'], 'smsc');
    assert.equal(cell['store'], 'sqlite');
    assert.equal(cell['window'], 10);
    assert.equal(cell['connections'], 1);
    assert.equal(cell['error'], undefined);
    assert.ok((cell['accepted'] as number) > 0, 'accepted > 0');
    assert.ok((cell['msgsPerSec'] as number) > 0, 'msgsPerSec > 0');
    assert.equal(cell['delivered'], 0, 'nothing is delivered to an account that is not bound');
    assert.equal(cell['lostSubmits'], 0);
    assert.equal(cell['complete'], true);
    const samples = cell['latencySamples'] as number;
    assert.ok(samples > 0 && samples < (cell['accepted'] as number), `the warm-up's submits are left out: ${samples} of ${cell['accepted']}`);
    const lat = cell['submitLatencyMs'] as { p50: number; p99: number; max: number };
    assert.ok(lat.p50 > 0 && lat.p50 <= lat.p99 && lat.p99 <= lat.max, JSON.stringify(lat));
    assert.equal(typeof cell['serverCpuMsPer1000'], 'number');
    assert.ok((cell['serverPeakRssMb'] as number) > 0, 'server peak RSS read from /proc');
    assert.equal(typeof cell['loadCpuPct'], 'number');
    const steal = cell['hostStealPct'] as number;
    assert.ok(typeof steal === 'number' && steal >= 0 && steal <= 100, `hostStealPct from /proc/stat: ${steal}`);
    assert.match(stdout, /steal/);
});

test('--rate paces the submits: about rate × seconds accepted, not as many as the window allows', { timeout: 60_000 }, async () => {
  const { report } = await acceptCell(['--windows', '10', '--connections', '2', '--rate', '300']);
  const cell = report.cells[0]!;
  const accepted = cell['accepted'] as number;
  // 600 due in 2 s (one more at the start); a closed loop at window 10 x 2 takes thousands.
  assert.ok(accepted >= 450 && accepted <= 601, `accepted ${accepted}`);
  assert.equal(cell['complete'], true);
});

test('bad arguments fail with exit code 2 and the usage', () => {
  for (const args of [['--scenarios', 'nope'], ['--windows', '0'], ['--seconds', 'x'], ['--seconds', '1', '--warmup-seconds', '1']]) {
    const r = spawnSync(process.execPath, [SUITE, ...args], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /--scenarios LIST/);
  }
});
