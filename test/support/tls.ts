/**
 * A self-signed certificate and key for TLS tests (CN=localhost, SAN localhost and 127.0.0.1).
 * Generated at run time with `openssl` when it is installed; otherwise the checked-in pair
 * under test/fixtures/tls/ is used. Clients trust it by passing `ca: cert`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TlsPair {
  cert: string;
  key: string;
  /** 'openssl' when generated now, 'fixture' when read from test/fixtures/tls. */
  source: 'openssl' | 'fixture';
}

let cached: TlsPair | undefined;

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function generate(): TlsPair {
  const dir = mkdtempSync(join(tmpdir(), 'smsc-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), source: 'openssl' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** test/fixtures/tls, found by walking up from this file (dist/test/support or test/support). */
function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'tls');
    if (existsSync(join(candidate, 'cert.pem'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test/fixtures/tls not found and openssl is not installed');
    dir = parent;
  }
}

function fromFixture(): TlsPair {
  const dir = fixtureDir();
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    source: 'fixture',
  };
}

/** The test certificate and key (generated once per process). */
export function testTlsPair(): TlsPair {
  if (cached === undefined) {
    try {
      cached = opensslAvailable() ? generate() : fromFixture();
    } catch {
      cached = fromFixture();
    }
  }
  return cached;
}
