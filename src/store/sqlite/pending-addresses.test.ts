import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyOf, PendingAddresses } from './pending-addresses.js';

test('rows by (account, destination): added, removed once, counted per account', () => {
  const p = new PendingAddresses();
  p.add('alice', '4470', 1);
  p.add('alice', '4470', 2);
  p.add('alice', '4470', 2); // twice: counted once
  p.add('alice', '4471', 3);
  p.add('bob', '4470', 4);
  assert.deepEqual(p.candidates('alice', '4470').sort(), [1, 2]);
  assert.deepEqual(p.candidates('alice', '4471'), [3]);
  assert.deepEqual(p.candidates('carol', '4470'), []);
  assert.deepEqual(p.byAccount(), { alice: 3, bob: 1 });
  p.remove('alice', '4470', 1);
  p.remove('alice', '4470', 1); // already gone: no change
  p.remove('alice', '4470', 9); // never there
  assert.deepEqual(p.candidates('alice', '4470'), [2]);
  assert.equal(p.count('alice'), 2);
  p.remove('alice', '4470', 2);
  p.remove('alice', '4471', 3);
  assert.deepEqual(p.candidates('alice', '4470'), []);
  assert.deepEqual(p.byAccount(), { bob: 1 });
  assert.equal(p.count('alice'), 0);
  p.clear();
  assert.deepEqual(p.byAccount(), {});
  assert.deepEqual(p.candidates('bob', '4470'), []);
});

test('destinations whose keys collide share candidates (the query checks them) but keep their own counts', () => {
  // Find two destinations with the same 30-bit key (a birthday search: a few tens of thousands of tries).
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; pair === undefined && i < 1_000_000; i++) {
    const d = `44${i}`;
    const k = keyOf('alice', d);
    const before = seen.get(k);
    if (before !== undefined) pair = [before, d];
    else seen.set(k, d);
  }
  assert.ok(pair !== undefined);
  const [x, y] = pair;
  const p = new PendingAddresses();
  p.add('alice', x, 10);
  p.add('alice', y, 20);
  assert.deepEqual(p.candidates('alice', x).sort(), [10, 20]);
  assert.equal(p.count('alice'), 2);
  p.remove('alice', y, 20);
  assert.deepEqual(p.candidates('alice', x), [10]);
  assert.equal(p.count('alice'), 1);
});

test('a row added again to a key holding several is counted once', () => {
  const p = new PendingAddresses();
  for (const rowid of [1, 2, 3, 2, 3]) p.add('alice', '4470', rowid);
  assert.deepEqual(p.candidates('alice', '4470').sort(), [1, 2, 3]);
  assert.equal(p.count('alice'), 3);
  p.begin();
  p.add('alice', '4470', 3); // already there: nothing to undo
  p.add('alice', '4470', 4);
  p.undo();
  p.end();
  assert.deepEqual(p.candidates('alice', '4470').sort(), [1, 2, 3]);
  assert.equal(p.count('alice'), 3);
});
