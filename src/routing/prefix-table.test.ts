import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../util/random.js';
import { PrefixTable } from './prefix-table.js';

function digits(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(48 + Math.floor(rand() * 10));
  return s;
}

/** The reference: the longest stored prefix by brute force. */
function naiveLongest<T>(entries: ReadonlyMap<string, T>, key: string): { prefix: string; value: T } | undefined {
  let best: { prefix: string; value: T } | undefined;
  for (const [p, v] of entries) {
    if (key.startsWith(p) && (best === undefined || p.length > best.prefix.length)) best = { prefix: p, value: v };
  }
  return best;
}

const digitString = (max: number) => fc.array(fc.constantFrom(...'0123456789'), { maxLength: max }).map((a) => a.join(''));
const mixedString = (max: number) => fc.array(fc.constantFrom(...'0129+*#abZé'), { maxLength: max }).map((a) => a.join(''));

describe('PrefixTable', () => {
  test('longest prefix wins, exact get, size', () => {
    const t = new PrefixTable<string>();
    t.set('44', 'uk').set('4470', 'uk-mobile-a').set('447', 'uk-mobile');
    assert.equal(t.size, 3);
    assert.equal(t.lookup('447012345678'), 'uk-mobile-a');
    assert.equal(t.lookup('447912345678'), 'uk-mobile');
    assert.equal(t.lookup('441234'), 'uk');
    assert.equal(t.lookup('4'), undefined);
    assert.equal(t.lookup('33123'), undefined);
    assert.equal(t.lookup(''), undefined);
    assert.equal(t.get('447'), 'uk-mobile');
    assert.equal(t.get('4471'), undefined);
    assert.deepEqual(t.longestMatch('44701'), { prefix: '4470', value: 'uk-mobile-a' });
    assert.deepEqual(
      t.matches('44709').map((m) => m.prefix),
      ['44', '447', '4470'],
    );
  });

  test('the empty prefix matches everything; a key equal to a prefix matches it', () => {
    const t = PrefixTable.from([
      ['', 'default'],
      ['1000', 'exact'],
    ]);
    assert.equal(t.lookup('999'), 'default');
    assert.equal(t.lookup(''), 'default');
    assert.equal(t.lookup('1000'), 'exact');
    assert.equal(t.lookup('100'), 'default');
  });

  test('values that are falsy or undefined are still matches', () => {
    const t = new PrefixTable<number | undefined>();
    t.set('1', 0).set('12', undefined);
    assert.equal(t.has('12'), true);
    assert.deepEqual(t.longestMatch('123'), { prefix: '12', value: undefined });
    assert.equal(t.lookup('13'), 0);
  });

  test('non-digit characters work (alphanumeric senders, +, *)', () => {
    const t = PrefixTable.from<number>([
      ['+44', 1],
      ['Bank', 2],
      ['Banké', 3],
    ]);
    assert.equal(t.lookup('+4470'), 1);
    assert.equal(t.lookup('BankX'), 2);
    assert.equal(t.lookup('Banké!'), 3);
    assert.equal(t.lookup('44'), undefined);
  });

  test('set replaces, delete removes and prunes, clear empties', () => {
    const t = new PrefixTable<number>();
    t.set('123', 1).set('123', 2).set('1', 3);
    assert.equal(t.size, 2);
    assert.equal(t.get('123'), 2);
    assert.equal(t.delete('12'), false);
    assert.equal(t.delete('123'), true);
    assert.equal(t.delete('123'), false);
    assert.equal(t.size, 1);
    assert.equal(t.lookup('1234'), 3);
    assert.deepEqual([...t.entries()], [['1', 3]]);
    t.clear();
    assert.equal(t.size, 0);
    assert.equal(t.lookup('1234'), undefined);
  });

  test('forEachMatch stops when the callback returns false', () => {
    const t = PrefixTable.from<number>([
      ['1', 1],
      ['12', 2],
      ['123', 3],
    ]);
    const seen: number[] = [];
    t.forEachMatch('1234', (v) => {
      seen.push(v);
      return v < 2;
    });
    assert.deepEqual(seen, [1, 2]);
  });

  test('property: random operations agree with a Map + brute-force reference', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: mixedString(6), value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key: mixedString(6) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.array(mixedString(10), { minLength: 1, maxLength: 30 }), (ops, keys) => {
        const t = new PrefixTable<number>();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            t.set(o.key, o.value);
            model.set(o.key, o.value);
          } else {
            assert.equal(t.delete(o.key), model.delete(o.key));
          }
        }
        assert.equal(t.size, model.size);
        assert.deepEqual(new Map(t.entries()), model);
        for (const k of [...keys, ...model.keys()]) {
          const want = naiveLongest(model, k);
          assert.deepEqual(t.longestMatch(k), want);
          assert.equal(t.lookup(k), want?.value);
          const all = [...model.keys()].filter((p) => k.startsWith(p)).sort((a, b) => a.length - b.length);
          assert.deepEqual(
            t.matches(k).map((m) => m.prefix),
            all,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  test('property: a 100,000-prefix table agrees with brute force', () => {
    const rand = seededRandom(20260101);
    const model = new Map<string, number>();
    while (model.size < 100_000) {
      const len = 2 + Math.floor(rand() * 8); // 2..9 digits: plenty of nesting
      model.set(digits(rand, len), model.size);
    }
    const t = PrefixTable.from(model);
    assert.equal(t.size, 100_000);
    const stored = [...model.keys()];
    // Keys: a stored prefix (or a cut of one) plus random digits, and wholly random numbers.
    const key = fc.oneof(
      fc
        .tuple(fc.nat({ max: stored.length - 1 }), fc.nat({ max: 9 }), digitString(8))
        .map(([i, cut, tail]) => stored[i]!.slice(0, Math.max(1, stored[i]!.length - cut)) + tail),
      digitString(15),
    );
    fc.assert(
      fc.property(key, (k) => {
        assert.deepEqual(t.longestMatch(k), naiveLongest(model, k));
      }),
      { numRuns: 400 },
    );
  });
});
