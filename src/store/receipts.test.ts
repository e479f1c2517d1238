import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeMessage } from '../../test/contract/store-contract.js';
import { finalReceipts } from './receipts.js';
import type { StoredMessage } from './types.js';

const ended = (errorCode: number): StoredMessage => ({
  ...makeMessage(),
  state: 'EXPIRED',
  attempts: 3,
  nextAttemptAt: 0,
  leaseOwner: null,
  leaseUntil: 0,
  finalAt: null,
  errorCode,
  failover: [],
  remoteId: null,
});

test("an expired message's receipt carries its last error; other endings the one given", () => {
  const [expired] = finalReceipts([ended(0x64)], 'EXPIRED', Date.UTC(2026, 0, 1), 0, 'n1');
  assert.match(expired!.payload.toString('latin1'), /stat:EXPIRED err:100/);
  const [refused] = finalReceipts([ended(0x64)], 'UNDELIVERABLE', Date.UTC(2026, 0, 1), 0x65, 'n1');
  assert.match(refused!.payload.toString('latin1'), /stat:UNDELIV err:101/);
});
