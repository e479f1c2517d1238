/**
 * ESME accounts as the listener sees them: credentials, allowed IP ranges, bind limits.
 * Passwords are compared in constant time; a salted scrypt hash may replace the plain password.
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { BindType } from '../session/state.js';

/** One ESME account of the listener. */
export interface AccountPolicy {
  systemId: string;
  /** Plain password (config files); prefer `passwordHash`. */
  password?: string;
  /** `scrypt$<salt hex>$<hash hex>` as made by `hashPassword`. */
  passwordHash?: string;
  /** CIDR ranges (`10.0.0.0/8`, `::1/128`) or single addresses; empty or absent = any. */
  allowedIps?: readonly string[];
  /** Max concurrent binds of each type; a number applies to each type. Default 4. */
  maxBinds?: number | Partial<Record<BindType, number>>;
  /** Outbound window (deliver_sm outstanding) for this account's sessions. */
  windowSize?: number;
  /** If set, the bind's system_type must be one of these. */
  allowedSystemTypes?: readonly string[];
  /** Disabled accounts cannot bind. */
  disabled?: boolean;
}

const SCRYPT_KEYLEN = 32;

/** Makes a salted hash to store instead of a password: `scrypt$salt$hash`. */
export function hashPassword(password: string, salt: Buffer = randomBytes(16)): string {
  const hash = scryptSync(password, salt, SCRYPT_KEYLEN);
  return `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`;
}

/** Salt and hash of a `scrypt$salt$hash` string, or undefined when it is not one. */
function scryptParts(passwordHash: string): { salt: Buffer; expected: Buffer } | undefined {
  const [scheme, saltHex, hashHex] = passwordHash.split('$');
  if (scheme !== 'scrypt' || saltHex === undefined || hashHex === undefined) return undefined;
  const expected = Buffer.from(hashHex, 'hex');
  return expected.length === 0 ? undefined : { salt: Buffer.from(saltHex, 'hex'), expected };
}

/** Checks a password against an account's password or hash, in constant time. */
export function verifyPassword(account: AccountPolicy, password: string): boolean {
  if (account.passwordHash !== undefined) {
    const parts = scryptParts(account.passwordHash);
    if (parts === undefined) return false;
    return timingSafeEqual(parts.expected, scryptSync(password, parts.salt, parts.expected.length));
  }
  if (account.password === undefined) return false;
  const a = Buffer.from(account.password, 'latin1');
  const b = Buffer.from(password, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Hashes and passwords (as SHA-256) that verified recently: a rebind costs no scrypt. */
const verified = new Set<string>();
const VERIFIED_MAX = 10_000;

/**
 * {@link verifyPassword} for the listener: scrypt runs on libuv's thread pool (a synchronous
 * scrypt holds the event loop for tens of ms, every session with it), and a hash and password
 * that verified before are remembered (bounded), so reconnect storms stay cheap.
 */
export async function verifyPasswordAsync(account: AccountPolicy, password: string): Promise<boolean> {
  const hashText = account.passwordHash;
  if (hashText === undefined) return verifyPassword(account, password);
  const parts = scryptParts(hashText);
  if (parts === undefined) return false;
  const key = `${hashText}\u0000${createHash('sha256').update(password, 'latin1').digest('hex')}`;
  if (verified.has(key)) return true;
  const { salt, expected } = parts;
  const actual = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, expected.length, (err, out) => (err === null ? resolve(out) : reject(err))),
  );
  if (!timingSafeEqual(expected, actual)) return false;
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.values().next().value as string);
  verified.add(key);
  return true;
}

/** Max binds for one bind type. */
export function maxBindsFor(account: AccountPolicy, type: BindType): number {
  const m = account.maxBinds;
  if (m === undefined) return 4;
  if (typeof m === 'number') return m;
  return m[type] ?? 4;
}

// ---- IP ranges ----------------------------------------------------------------------------

interface Cidr {
  bytes: Buffer;
  bits: number;
}

function ipBytes(ip: string): Buffer | undefined {
  let addr = ip;
  if (addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4) addr = addr.slice(7); // IPv4-mapped
  const v = isIP(addr);
  if (v === 4) return Buffer.from(addr.split('.').map(Number));
  if (v !== 6) return undefined;
  const [head = '', tail = ''] = addr.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':'));
  const h = parse(head);
  const t = addr.includes('::') ? parse(tail) : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(Number.parseInt(groups[i] ?? '0', 16) || 0, i * 2);
  return out;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address; throws on nonsense. */
export function parseCidr(range: string): Cidr {
  const [addr = '', bitsText] = range.split('/');
  const bytes = ipBytes(addr);
  if (bytes === undefined) throw new Error(`'${range}' is not an IP address or CIDR range`);
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new Error(`'${range}' has a bad prefix length`);
  return { bytes, bits };
}

/** True when `ip` lies in one of `ranges` (empty ranges allow everything). */
export function ipAllowed(ip: string | undefined, ranges: readonly string[] | undefined): boolean {
  if (ranges === undefined || ranges.length === 0) return true;
  if (ip === undefined) return false;
  const bytes = ipBytes(ip);
  if (bytes === undefined) return false;
  return ranges.some((r) => {
    const c = parseCidr(r);
    if (c.bytes.length !== bytes.length) return false;
    let bits = c.bits;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((c.bytes[i]! & mask) !== (bytes[i]! & mask)) return false;
    }
    return true;
  });
}
