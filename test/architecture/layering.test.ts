/**
 * The layering of style.md §2, enforced: each folder of src/ may import only the folders
 * listed for it. A violation names the file and the import.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(process.cwd(), 'src');

/** folder → folders (of src/) it may import from. `*` = anything. */
const ALLOWED: Record<string, readonly string[]> = {
  pdu: [],
  sm: ['pdu/constants'],
  util: [],
  session: ['pdu', 'sm', 'util', 'errors'],
  client: ['session', 'pdu', 'sm', 'util', 'errors'],
  server: ['session', 'pdu', 'sm', 'util', 'errors'],
  // The receipts a store makes inside its own transaction (store/receipts.ts) need the DLR text and TLVs.
  store: ['pdu', 'sm'],
  core: ['pdu', 'sm', 'store', 'session', 'server', 'errors', 'util'],
  delivery: ['pdu', 'sm', 'store', 'session', 'core', 'errors', 'util'],
  config: [],
  routing: [],
  connectors: ['client', 'delivery', 'pdu', 'sm', 'session', 'store', 'errors', 'util', 'routing'],
  observability: ['*'],
  admin: ['*'],
  app: ['*'],
  cli: ['*'],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('src/ folders import only what the layering allows', () => {
  const violations: string[] = [];
  for (const file of walk(ROOT)) {
    const rel = relative(ROOT, file);
    const folder = rel.includes('/') ? rel.split('/')[0]! : rel.replace(/\.ts$/, '');
    const allowed = ALLOWED[folder];
    if (allowed === undefined || allowed.includes('*')) continue;
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(ROOT, join(file, '..', m[1]!)).replace(/\.js$/, '');
      const targetFolder = target.includes('/') ? target.split('/')[0]! : target;
      if (targetFolder === folder) continue;
      const ok = allowed.some((a) => target === a || targetFolder === a);
      if (!ok) violations.push(`${rel} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the layering check sees imports (it can fail)', () => {
  // A file of src/pdu importing src/session must be caught by the same matcher.
  const sample = "import { Session } from '../session/session.js';";
  const m = [...sample.matchAll(/from '(\.[^']+)'/g)];
  assert.equal(m.length, 1);
  assert.equal(relative(ROOT, join(ROOT, 'pdu', 'x.ts', '..', m[0]![1]!)).replace(/\.js$/, ''), 'session/session');
});
