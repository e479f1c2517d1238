/**
 * The schema documents the routes, connectors and network sections, which their own parsers
 * validate. These tests keep the two in step, so docs/config-reference.md cannot drift: for
 * each documented section, the parser knows exactly the documented keys (it names them when
 * rejecting an unknown one), requires the required ones, fills the documented defaults and
 * enforces the documented ranges, choices and lengths.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Field, type NamedField, type Obj, SCHEMA, type SectionField } from '../../src/config/schema.js';
import { parseHttp, parseNetwork, parseSmpp } from '../../src/connectors/index.js';
import { parseRoutes } from '../../src/routing/index.js';

function section(...path: string[]): SectionField {
  let f: Field = SCHEMA;
  for (const k of path) {
    if (f.type === 'section') f = f.keys[k]!;
    else if (f.type === 'list') f = f.item.keys[k]!;
    else if (f.type === 'named') f = f.variants[k]!;
    assert.ok(f !== undefined, `schema has no ${path.join('.')}`);
  }
  if (f.type === 'list') return f.item;
  assert.equal(f.type, 'section', path.join('.'));
  return f as SectionField;
}

function dig(v: unknown, ...path: (string | number)[]): Obj {
  for (const p of path) v = (v as Record<string | number, unknown>)[p];
  return v as Obj;
}

interface Case {
  name: string;
  schema: SectionField;
  /** A valid value of the section with only its required keys. */
  minimal: Obj;
  /** Parses the section placed in a valid surrounding. */
  parse(o: Obj): unknown;
  /** The parsed section within the parser's result. */
  pick(out: unknown): Obj;
  /** Key path of the section in errors. */
  path: string;
  /** Keys the caller handles (the connector `type`). */
  skip?: string[];
}

const smpp = { host: 'h', port: 1, systemId: 's', password: 'p' };
const range = { prefix: '1' };
const status = (n: string) => (n === 'ESME_RINVDSTADR' ? 11 : undefined);
const connectors = SCHEMA.keys['connectors'] as NamedField;

const CASES: Case[] = [
  { name: 'routes', schema: section('routes'), minimal: {}, parse: (o) => parseRoutes(o, { statusByName: status }), pick: (o) => o as Obj, path: 'routes' },
  { name: 'routes.mt[]', schema: section('routes', 'mt'), minimal: { connector: 'c' }, parse: (o) => parseRoutes({ mt: [o] }), pick: (o) => dig(o, 'mt', 0), path: 'routes.mt[0]' },
  {
    name: 'routes.mo[]',
    schema: section('routes', 'mo'),
    minimal: { match: '1', account: 'a' },
    parse: (o) => parseRoutes({ mo: [o] }),
    pick: (o) => dig(o, 'mo', 0),
    path: 'routes.mo[0]',
  },
  { name: 'network', schema: section('network'), minimal: { ranges: [range] }, parse: (o) => parseNetwork(o), pick: (o) => o as Obj, path: 'network' },
  {
    name: 'network.ranges[]',
    schema: section('network', 'ranges'),
    minimal: range,
    parse: (o) => parseNetwork({ ranges: [o] }),
    pick: (o) => dig(o, 'ranges', 0),
    path: 'network.ranges[0]',
  },
  {
    name: 'network.ranges[].switchedOff',
    schema: section('network', 'ranges', 'switchedOff'),
    minimal: { ratio: 0.5, durationMs: 1000 },
    parse: (o) => parseNetwork({ ranges: [{ ...range, switchedOff: o }] }),
    pick: (o) => dig(o, 'ranges', 0, 'switchedOff'),
    path: 'network.ranges[0].switchedOff',
  },
  {
    name: 'network.mo',
    schema: section('network', 'mo'),
    minimal: { ratePerSecond: 1, from: '1', to: '2' },
    parse: (o) => parseNetwork({ ranges: [range], mo: o }),
    pick: (o) => dig(o, 'mo'),
    path: 'network.mo',
  },
  {
    name: 'connectors smpp',
    schema: connectors.variants['smpp']!,
    minimal: { type: 'smpp', ...smpp },
    parse: (o) => parseSmpp(o, 'connectors.u', status),
    pick: (o) => o as Obj,
    path: 'connectors.u',
    skip: ['type'],
  },
  {
    name: 'connectors smpp reconnect',
    schema: section('connectors', 'smpp', 'reconnect'),
    minimal: {},
    parse: (o) => parseSmpp({ ...smpp, reconnect: o }, 'connectors.u'),
    pick: (o) => dig(o, 'reconnect'),
    path: 'connectors.u.reconnect',
  },
  {
    name: 'connectors smpp idFormat',
    schema: section('connectors', 'smpp', 'idFormat'),
    minimal: {},
    parse: (o) => parseSmpp({ ...smpp, idFormat: o }, 'connectors.u'),
    pick: (o) => dig(o, 'idFormat'),
    path: 'connectors.u.idFormat',
  },
  {
    name: 'connectors http',
    schema: connectors.variants['http']!,
    minimal: { type: 'http', url: 'http://127.0.0.1/' },
    parse: (o) => parseHttp(o, 'connectors.h'),
    pick: (o) => o as Obj,
    path: 'connectors.h',
    skip: ['type'],
  },
];

const BOGUS = 'zzNotAKey';

function rejects(c: Case, o: Obj, key: string, what: string): void {
  assert.throws(
    () => c.parse(o),
    (e: unknown) => e instanceof Error && (e as { key?: unknown }).key === key,
    `${c.name}: ${what} should be refused naming ${key}`,
  );
}

function keysOf(c: Case): [string, Field][] {
  return (Object.entries(c.schema.keys) as [string, Field][]).filter(([k]) => !c.skip?.includes(k));
}

test('each documented section: the parser knows exactly the documented keys', () => {
  for (const c of CASES) {
    let known: string[] | undefined;
    try {
      c.parse({ ...c.minimal, [BOGUS]: 1 });
    } catch (e) {
      assert.equal((e as { key?: unknown }).key, `${c.path}.${BOGUS}`, `${c.name}: ${(e as Error).message}`);
      known = /unknown key \(known: (.*)\)$/.exec((e as Error).message)?.[1]?.split(', ');
    }
    assert.ok(known !== undefined, `${c.name}: an unknown key was not refused with the list of known keys`);
    assert.deepEqual([...known].sort(), Object.keys(c.schema.keys).sort(), `${c.name}: documented keys differ from the parser's`);
  }
});

test('each documented section: the minimal value parses; each required key is required', () => {
  for (const c of CASES) {
    assert.doesNotThrow(() => c.parse(c.minimal), c.name);
    for (const [k, f] of keysOf(c)) {
      if (!f.required) continue;
      const { [k]: _, ...without } = c.minimal;
      rejects(c, without, `${c.path}.${k}`, `a missing ${k}`);
    }
  }
});

test('each documented section: the parser fills the documented defaults', () => {
  let checked = 0;
  for (const c of CASES) {
    const out = c.pick(c.parse(c.minimal));
    for (const [k, f] of keysOf(c)) {
      if ((f.type === 'integer' || f.type === 'number') && f.default !== undefined) {
        assert.equal(out[k], f.default, `${c.name}.${k}: documented default ${f.default}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 15, `only ${checked} defaults checked`);
});

test('each documented section: the parser enforces the documented ranges, choices and lengths', () => {
  let checked = 0;
  for (const c of CASES) {
    for (const [k, f] of keysOf(c)) {
      const key = `${c.path}.${k}`;
      const at = (v: unknown) => ({ ...c.minimal, [k]: v });
      if (f.type === 'integer' || f.type === 'number') {
        const step = f.type === 'integer' ? 1 : 1e-3 * Math.max(1e-3, Math.abs(f.max ?? f.min ?? 1));
        if (f.min !== undefined) {
          assert.doesNotThrow(() => c.parse(at(f.min)), `${key} = min ${f.min}`);
          rejects(c, at(f.min - step), key, `below the minimum ${f.min}`);
        }
        if (f.max !== undefined) {
          assert.doesNotThrow(() => c.parse(at(f.max)), `${key} = max ${f.max}`);
          rejects(c, at(f.max + step), key, `above the maximum ${f.max}`);
        }
        if (f.type === 'integer') rejects(c, at((f.min ?? 0) + 0.5), key, 'a fraction');
        rejects(c, at('1'), key, 'a string');
        checked++;
      } else if (f.type === 'string') {
        for (const v of f.oneOf ?? []) assert.doesNotThrow(() => c.parse(at(v)), `${key} = ${v}`);
        if (f.oneOf !== undefined) rejects(c, at('zzz'), key, 'a value not among the choices');
        if (f.maxLength !== undefined) {
          assert.doesNotThrow(() => c.parse(at('x'.repeat(f.maxLength!))), `${key} at its maximum length`);
          rejects(c, at('x'.repeat(f.maxLength + 1)), key, 'a string too long');
        }
        checked++;
      } else if (f.type === 'strings' && f.maxLength !== undefined) {
        assert.doesNotThrow(() => c.parse(at('x'.repeat(f.maxLength!))), `${key} at its maximum length`);
        rejects(c, at('x'.repeat(f.maxLength + 1)), key, 'a string too long');
      } else if (f.type === 'boolean') {
        rejects(c, at('yes'), key, 'a string for a boolean');
      }
    }
  }
  assert.ok(checked >= 40, `only ${checked} keys checked`);
});

test('a network connector takes the keys of the network section', () => {
  const net = section('network');
  const variant = connectors.variants['network']!;
  assert.deepEqual(Object.keys(variant.keys).filter((k) => k !== 'type'), Object.keys(net.keys));
  assert.deepEqual(Object.keys(connectors.variants).sort(), ['http', 'network', 'smpp']);
});
