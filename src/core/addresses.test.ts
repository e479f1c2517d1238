import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressOwners } from './addresses.js';

test('an account owning a number or prefix written with a leading + owns it as the SMSC keeps it, without', () => {
  const owners = new AddressOwners();
  owners.add('+441000', 'alice');
  owners.add('+4479*', 'bob');
  owners.add('2000', 'carol');
  assert.equal(owners.ownerOf('441000'), 'alice');
  assert.equal(owners.ownerOf('+441000'), 'alice');
  assert.equal(owners.ownerOf('447912345678'), 'bob');
  assert.equal(owners.ownerOf('2000'), 'carol');
  assert.equal(owners.ownerOf('4410001'), undefined);
});
