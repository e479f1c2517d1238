/**
 * `smsc bench`: runs the benchmark suite (bench/suite.ts, compiled to dist/bench/suite.js) with
 * the given arguments. The suite is part of a repository checkout, not of the npm package.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function benchCommand(args: string[]): Promise<void> {
  // This file is dist/src/cli/bench.js; the suite dist/bench/suite.js.
  const suite = fileURLToPath(new URL('../../bench/suite.js', import.meta.url));
  if (!existsSync(suite)) {
    process.stderr.write(`smsc bench: ${suite} not found; the benchmark suite comes with a repository checkout: run 'npm run build' there (or 'npm run bench')\n`);
    process.exit(2);
  }
  const child = spawn(process.execPath, [suite, ...args], { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      process.exitCode = code ?? (signal !== null ? 1 : 0);
      resolve();
    });
  });
}
