import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SaidOnce } from './said-once.js';

test('a line is new once until it changes or is cleared', () => {
  const said = new SaidOnce();
  assert.deepEqual(
    ['refused', 'refused', 'timed out', 'refused', 'refused'].map((l) => said.isNew(l)),
    [true, false, true, true, false],
  );
  said.clear();
  assert.equal(said.isNew('refused'), true, 'after clear() the same line is said again');
});
