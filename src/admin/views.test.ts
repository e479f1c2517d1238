import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeMessage } from '../../test/contract/store-contract.js';
import type { StoredMessage } from '../store/types.js';
import { BRIEF_TEXT_CHARS, messageView } from './views.js';

const stored = (payload: Buffer, dataCoding = 0): StoredMessage => ({
  ...makeMessage({ payload, dataCoding, tlvs: Buffer.from([0x14, 0x27, 0x00, 0x01, 0x01]) }),
  state: 'ENROUTE',
  attempts: 0,
  nextAttemptAt: 0,
  leaseOwner: null,
  leaseUntil: 0,
  finalAt: null,
  errorCode: 0,
  failover: [],
  remoteId: null,
});

test('a brief view (a search result) cuts a long text and leaves out the payload and the TLVs; the full view has them', () => {
  const long = stored(Buffer.from('x'.repeat(60_000)));
  const full = messageView(long, false);
  assert.equal(full.text?.length, 60_000);
  assert.equal(full.payload?.length, 120_000);
  assert.equal(full.tlvs, '1427000101');
  const brief = messageView(long, false, true);
  assert.equal(brief.text, `${'x'.repeat(BRIEF_TEXT_CHARS)}…`);
  assert.equal(brief.payload, undefined);
  assert.equal('tlvs' in brief, false);
  assert.equal(brief.payloadLength, 60_000);
  // Short texts are whole; UCS2 cut whole characters; hidden content stays hidden.
  assert.equal(messageView(stored(Buffer.from('hello')), false, true).text, 'hello');
  const ucs2 = messageView(stored(Buffer.from('я'.repeat(500), 'utf16le').swap16(), 8), false, true);
  assert.equal(ucs2.text, `${'я'.repeat(BRIEF_TEXT_CHARS)}…`);
  assert.equal(messageView(long, true, true).text, undefined);
});
