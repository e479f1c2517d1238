import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../session/clock.js';
import { TokenBucket } from './token-bucket.js';

test('a bucket of 5/s gives its burst, then one token per 200 ms', () => {
  const clock = new ManualClock(0);
  const b = new TokenBucket(5, 5, clock);
  for (let i = 0; i < 5; i++) assert.ok(b.take(), `token ${i + 1}`);
  assert.equal(b.take(), false);
  assert.equal(b.msUntil(1), 200);
  clock.advance(200);
  assert.ok(b.take());
  assert.equal(b.take(), false);
});

test('more than the burst at once (a submit_multi to 10 destinations at 5/s) is taken from a full bucket, in debt', () => {
  const clock = new ManualClock(0);
  const b = new TokenBucket(5, 5, clock);
  assert.ok(b.take(10), 'a full bucket admits it');
  assert.equal(b.take(), false, 'the debt is paid first');
  clock.advance(1000);
  assert.equal(b.take(), false, 'one second pays back 5 of the 10');
  clock.advance(600);
  assert.equal(b.take(10), false, 'debt paid, but not full yet (3 of 5)');
  assert.ok(b.take(1));
  clock.advance(600);
  assert.ok(b.take(10), 'full again: 10 more, 20 in 3.2 s at 5/s on average');
});
