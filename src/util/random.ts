/**
 * Deterministic randomness for the simulated network and load generators: a seeded PRNG and a
 * stable string hash, so tests (with a ManualClock) replay exactly.
 */

/** A source of uniform numbers in [0, 1), like Math.random. */
export type Random = () => number;

/** A small, fast seeded PRNG (mulberry32). Same seed, same sequence. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of a string mixed with up to two numbers (FNV-1a, then a murmur3 finaliser). */
export function hash32(s: string, a = 0, b = 0): number {
  let h = 0x811c9dc5 ^ Math.imul(a >>> 0, 0x9e3779b1) ^ Math.imul(b >>> 0, 0x85ebca77);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Replaces every `x` of a pattern with a random digit (`4470xxxxxxxx` → a 12-digit number). */
export function fillPattern(pattern: string, random: Random): string {
  if (!pattern.includes('x')) return pattern;
  let out = '';
  for (const ch of pattern) out += ch === 'x' ? String.fromCharCode(48 + Math.floor(random() * 10)) : ch;
  return out;
}
