import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testTlsPair } from '../../test/support/tls.js';
import { certificatesProblem } from './pem.js';

test('certificatesProblem: certificates pass; nothing, a key, or a broken body is named', () => {
  const { cert, key } = testTlsPair();
  assert.equal(certificatesProblem(cert), undefined);
  assert.equal(certificatesProblem(`${cert}\n${cert}`), undefined, 'a bundle of two');
  assert.match(certificatesProblem('not a certificate') ?? '', /must hold PEM certificates/);
  assert.match(certificatesProblem(`${cert}\n${key}`) ?? '', /block 2 is a PRIVATE KEY, not a CERTIFICATE/);
  const broken = cert.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
  assert.match(certificatesProblem(broken) ?? '', /certificate 1 does not parse/);
});
