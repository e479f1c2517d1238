/** docs/config-reference.md is what the schema generates (regenerate: npm run docs:config). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderReference } from './reference.js';
import { envName, type Field, SCHEMA, type SectionField } from './schema.js';

test('docs/config-reference.md is up to date with the schema', () => {
  const committed = readFileSync('docs/config-reference.md', 'utf8');
  assert.ok(committed === renderReference(), 'docs/config-reference.md differs from the schema: run `npm run docs:config` and commit it');
});

test('the reference lists every key of the schema with its environment variable', () => {
  const doc = renderReference();
  let keys = 0;
  const walk = (section: SectionField, path: string, env: string[] | undefined) => {
    for (const [k, f] of Object.entries(section.keys) as [string, Field][]) {
      const key = path === '' ? k : `${path}.${k}`;
      if (f.type === 'named') {
        for (const [name, variant] of Object.entries(f.variants)) {
          assert.ok(doc.includes(`### \`${key}.${f.nameText}\` with \`type: ${name}\``), `${key} ${name} is not in the reference`);
          walk(variant, `${key}.${f.nameText}`, undefined);
        }
        continue;
      }
      assert.ok(doc.includes(`| \`${key}\` |`), `${key} is not in the reference`);
      keys++;
      if (f.type === 'section') walk(f, key, env && [...env, k]);
      else if (f.type === 'list') walk(f.item, `${key}[]`, env && [...env, k, 'I']);
      else if (env !== undefined) {
        if (f.type === 'any' && f.fromEnv === undefined) continue;
        const name = envName([...env, k]).replace('__I__', '__<i>__');
        assert.ok(doc.includes(`| \`${name}\` |`), `${name} is not in the reference`);
      }
    }
  };
  walk(SCHEMA, '', []);
  assert.ok(keys > 60, `only ${keys} keys`);
  assert.match(doc, /`connectors.<name>.window` \| integer \| `10` \| 1–10000/);
});
