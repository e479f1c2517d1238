/**
 * Loads the captured PDUs of `test/fixtures/pdus/*.hex` (see INDEX.md there).
 * Works from the TypeScript sources and from the compiled tree under dist/: the repository root
 * is found by walking up from this module (then from process.cwd()) to the first directory
 * holding `test/fixtures/pdus`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One captured PDU. */
export interface PduFixture {
  /** File name without `.hex`, e.g. `kannel-submit_sm-gsm-dlr`. */
  name: string;
  /** The PDU octets, header included. */
  bytes: Buffer;
}

const FIXTURE_SUBDIR = join('test', 'fixtures', 'pdus');

function findUp(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, FIXTURE_SUBDIR);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Absolute path of the fixture directory. */
export function fixtureDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = findUp(here) ?? findUp(process.cwd());
  if (found === undefined) {
    throw new Error(`cannot find ${FIXTURE_SUBDIR} above ${here} or ${process.cwd()}`);
  }
  return found;
}

let cache: PduFixture[] | undefined;

/** Every fixture (fresh copies, safe to mutate), sorted by name. Throws when a file is not one line of lowercase hex. */
export function loadFixtures(): PduFixture[] {
  if (cache !== undefined) return cache.map((f) => ({ name: f.name, bytes: Buffer.from(f.bytes) }));
  const dir = fixtureDir();
  const out: PduFixture[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.hex')) continue;
    const text = readFileSync(join(dir, file), 'latin1').trim();
    if (!/^(?:[0-9a-f]{2})+$/.test(text)) throw new Error(`${file}: not one line of lowercase hex`);
    out.push({ name: file.slice(0, -'.hex'.length), bytes: Buffer.from(text, 'hex') });
  }
  cache = out;
  return out.map((f) => ({ name: f.name, bytes: Buffer.from(f.bytes) }));
}

/** One fixture by name (without `.hex`). */
export function fixture(name: string): Buffer {
  const f = loadFixtures().find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fixture ${name}`);
  return f.bytes;
}
