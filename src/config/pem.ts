/**
 * CA certificates given as PEM (a config account's or connector's `ca` file, an API account's
 * `outbind.caPem`): checked when given, since TLS takes anything and only fails at the handshake.
 */
import { X509Certificate } from 'node:crypto';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[^-]*-----END \1-----/g;

/** Why `pem` is not a list of certificates (one at least, nothing else, each parsing), or undefined. */
export function certificatesProblem(pem: string): string | undefined {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) return 'must hold PEM certificates (-----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    // A private key pasted with its certificate must not be kept (nor sent anywhere).
    if (block[1] !== 'CERTIFICATE') return `block ${i + 1} is a ${block[1]}, not a CERTIFICATE: give the CA certificates only`;
    try {
      new X509Certificate(block[0]);
    } catch (err) {
      return `certificate ${i + 1} does not parse: ${(err as Error).message}`;
    }
  }
  return undefined;
}
