import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandStatusError, RequestNotSentError, SessionClosedError } from '../errors.js';
import { CommandStatus as S } from '../pdu/constants.js';
import { outcomeOfError } from './esme-target.js';

test('deliver_sm errors map to outcomes; one that waited for a slot and was never sent is not an attempt', () => {
  assert.deepEqual(outcomeOfError(new RequestNotSentError('unbound')), { kind: 'unavailable' });
  assert.deepEqual(outcomeOfError(new SessionClosedError('unbound')), { kind: 'retry', errorCode: 0 });
  assert.deepEqual(outcomeOfError(new CommandStatusError(S.ESME_RX_R_APPN, 'deliver_sm#1')), {
    kind: 'failed',
    state: 'REJECTED',
    errorCode: S.ESME_RX_R_APPN,
  });
  assert.equal(outcomeOfError(new CommandStatusError(S.ESME_RX_P_APPN, 'deliver_sm#2')).kind, 'failed');
  assert.deepEqual(outcomeOfError(new CommandStatusError(S.ESME_RX_T_APPN, 'deliver_sm#3')), { kind: 'retry', errorCode: S.ESME_RX_T_APPN });
});
