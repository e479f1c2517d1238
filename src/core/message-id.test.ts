import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageIdGenerator } from './message-id.js';

test('decimal ids: unique, 10-16 digits, increasing within a node, distinct across nodes', () => {
  let now = Date.UTC(2026, 5, 1);
  const a = new MessageIdGenerator(1, () => now);
  const b = new MessageIdGenerator(2, () => now);
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    for (const id of [a.next(), b.next()]) {
      assert.match(id, /^\d{10,16}$/);
      assert.ok(!seen.has(id), `duplicate ${id}`);
      seen.add(id);
    }
    if (i % 1000 === 0) now++;
  }
  assert.ok(BigInt(a.next()) < 2n ** 63n);
});

test('a restart in the same millisecond after a burst does not repeat ids of the same node', () => {
  const now = Date.UTC(2026, 5, 1);
  const first = new MessageIdGenerator(3, () => now);
  const ids = new Set(Array.from({ length: 300 }, () => first.next())); // borrows the next ms
  const later = new MessageIdGenerator(3, () => now + 5);
  for (let i = 0; i < 300; i++) assert.ok(!ids.has(later.next()));
});

test('SMPP 3.3 ids are at most 8 characters and unique', () => {
  let now = Date.UTC(2026, 5, 1);
  const g = new MessageIdGenerator(0, () => now);
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = g.next33();
    assert.ok(id.length <= 8, id);
    assert.ok(!seen.has(id));
    seen.add(id);
    now += 3;
  }
  const far = new MessageIdGenerator(15, () => Date.UTC(2035, 0, 1));
  assert.ok(far.next33().length <= 8);
});

test('skipPast: past a stored id, twice as far each time a newer one is stored too; an older one moves nothing', () => {
  const now = Date.UTC(2026, 5, 1);
  const g = new MessageIdGenerator(0, () => now);
  const first = g.next33();
  const sec = (id: string) => Math.floor(Number.parseInt(id, 36) / 8192);
  g.skipPast(first);
  const a = g.next33();
  assert.equal(sec(a), sec(first) + 1);
  g.skipPast(first); // found by another call at the same time: already past it
  assert.equal(sec(g.next33()), sec(a));
  g.skipPast(a);
  const b = g.next33();
  assert.equal(sec(b), sec(a) + 2);
  g.skipPast(b);
  assert.equal(sec(g.next33()), sec(b) + 4);

  const d = new MessageIdGenerator(0, () => now);
  const id = d.next();
  d.skipPast(id);
  assert.ok(Math.floor(Number(d.next()) / 4096) >= Math.floor(Number(id) / 4096) + 1000, 'decimal ids move a second at least');
});

test('skipPast: a skip long after the last one starts again from the first step', () => {
  let now = Date.UTC(2026, 5, 1);
  const g = new MessageIdGenerator(0, () => now);
  const sec = (id: string) => Math.floor(Number.parseInt(id, 36) / 8192);
  for (let i = 0; i < 5; i++) g.skipPast(g.next33()); // steps 1, 2, 4, 8, 16 s
  now += 120_000; // another incident, two minutes later
  const id = g.next33();
  g.skipPast(id);
  assert.equal(sec(g.next33()), sec(id) + 1, 'one second, not 32');
});
