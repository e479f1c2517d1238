/**
 * fast-check arbitraries for every PDU type and every TLV of src/pdu/types.ts, generated from
 * the independent schema in test/support/pdu-builder.ts (which restates the reference, not the
 * codec's schema). Strings are latin1 without NUL and within their maximum; TLV values respect
 * each tag's length rules; unknown TLVs use tags outside the known set.
 */
import fc from 'fast-check';
import { CommandId, type CommandName } from '../../src/pdu/constants.js';
import type { Pdu } from '../../src/pdu/types.js';
import {
  ALL_COMMANDS,
  BODY,
  type FieldSpec,
  HEADER_ONLY_COMMANDS,
  KNOWN_TAGS,
  TLV_SPECS,
  type TlvSpec,
} from '../support/pdu-builder.js';

/** One latin1 character other than NUL. */
export const latin1Char: fc.Arbitrary<string> = fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c));

/** A latin1 string without NUL of `min..max` characters, biased towards both ends. */
export function latin1String(max: number, min = 0): fc.Arbitrary<string> {
  const exact = (n: number) => fc.string({ unit: latin1Char, minLength: n, maxLength: n });
  return fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: latin1Char, minLength: min, maxLength: max }) },
    { weight: 1, arbitrary: exact(max) },
    { weight: 1, arbitrary: exact(min) },
  );
}

/** Digits-and-letters strings such as addresses and ids. */
function asciiWord(max: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF+ '.split('')), maxLength: max });
}

/** Empty, or a 16-character absolute or relative time [ref §5.6]. */
export const timeString: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^[0-9]{12}[0-9][0-4][0-9][+-]$/),
  fc.stringMatching(/^[0-9]{12}000R$/),
);

/** Plain objects (fast-check v4 records default to a null prototype, unlike decoded PDUs). */
const NP = { noNullPrototype: true } as const;

export const u8: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xff });
export const u16: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xffff });
export const u32: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xffffffff });

/** A Buffer (not a plain Uint8Array) of `min..max` random octets. */
export function octets(min: number, max: number): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
}

/** A large Buffer cheaply: a length and a fill pattern instead of per-octet generation. */
function bigOctets(min: number, max: number): fc.Arbitrary<Buffer> {
  return fc.tuple(fc.integer({ min, max }), u8, u8).map(([n, a, b]) => {
    const buf = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) buf[i] = (a + i * b) & 0xff;
    return buf;
  });
}

const destAddress = fc.oneof(
  fc.record({
    destFlag: fc.constant(1 as const),
    destAddrTon: u8,
    destAddrNpi: u8,
    destinationAddr: latin1String(20),
  }, NP),
  fc.record({ destFlag: fc.constant(2 as const), dlName: latin1String(20) }, NP),
);

const unsuccessSme = fc.record({
  destAddrTon: u8,
  destAddrNpi: u8,
  destinationAddr: latin1String(20),
  errorStatusCode: u32,
}, NP);

/** Arbitrary for one mandatory field. */
export function fieldArb(f: FieldSpec): fc.Arbitrary<unknown> {
  switch (f.kind) {
    case 'u8':
      return u8;
    case 'u32':
      return u32;
    case 'cstr':
      return fc.oneof({ weight: 3, arbitrary: latin1String(f.max - 1) }, { weight: 1, arbitrary: asciiWord(f.max - 1) });
    case 'time':
      return timeString;
    case 'sm':
      return fc.oneof({ weight: 4, arbitrary: octets(0, 160) }, { weight: 1, arbitrary: octets(250, 255) });
    case 'dests':
      return fc.oneof(
        { weight: 8, arbitrary: fc.array(destAddress, { minLength: 1, maxLength: 5 }) },
        { weight: 1, arbitrary: fc.array(destAddress, { minLength: 250, maxLength: 255 }) },
      );
    case 'unsucc':
      return fc.oneof(
        { weight: 8, arbitrary: fc.array(unsuccessSme, { maxLength: 5 }) },
        { weight: 1, arbitrary: fc.array(unsuccessSme, { minLength: 250, maxLength: 255 }) },
      );
  }
}

/** Arbitrary for one TLV value, within the tag's legal lengths. */
export function tlvValueArb(spec: TlvSpec): fc.Arbitrary<unknown> {
  const t = spec.type;
  switch (t.kind) {
    case 'u8':
      return u8;
    case 'u16':
      return u16;
    case 'u32':
      return u32;
    case 'nec':
      return fc.record({ networkType: u8, errorCode: u16 }, NP);
    case 'time':
      return fc.stringMatching(/^[0-9]{13}[0-4][0-9][+-]$/);
    case 'cstr':
      // min..max octets including the NUL.
      return latin1String(t.max - 1, t.min - 1);
    case 'octets': {
      if (t.only !== undefined) return fc.constantFrom(...t.only).chain((n) => octets(n, n));
      if (t.max > 1024) return fc.oneof({ weight: 6, arbitrary: octets(t.min, 300) }, { weight: 1, arbitrary: bigOctets(t.min, t.max) });
      return octets(t.min, t.max);
    }
  }
}

/** One TLV entry: repeatable tags get 1..3 values. */
function tlvEntryArb(spec: TlvSpec): fc.Arbitrary<unknown> {
  const v = tlvValueArb(spec);
  return spec.repeatable ? fc.array(v, { minLength: 1, maxLength: 3 }) : v;
}

/** A tag that is not a known TLV. */
export const unknownTag: fc.Arbitrary<number> = fc
  .oneof(fc.integer({ min: 0x1400, max: 0x3fff }), u16)
  .filter((t) => !KNOWN_TAGS.has(t));

export const unknownTlv = fc.record({ tag: unknownTag, value: octets(0, 40) }, NP);

/** Builds a Tlvs object with keys in ascending tag order and `unknown` last. */
function tlvsFrom(specs: readonly TlvSpec[], values: unknown[], unknown: { tag: number; value: Buffer }[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  specs.forEach((s, i) => {
    out[s.key] = values[i];
  });
  if (unknown.length > 0) out['unknown'] = unknown;
  return out;
}

/** A subset of TLVs (by default any known tag, plus unknown ones). */
export function tlvsArb(candidates: readonly TlvSpec[] = TLV_SPECS, maxTlvs = 6): fc.Arbitrary<Record<string, unknown>> {
  const some = fc
    .tuple(
      fc.subarray([...candidates], { minLength: 0, maxLength: maxTlvs }),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant([] as { tag: number; value: Buffer }[]) },
        { weight: 1, arbitrary: fc.array(unknownTlv, { maxLength: 3 }) },
      ),
    )
    .chain(([specs, unknown]) =>
      fc.tuple(...specs.map(tlvEntryArb)).map((values) => tlvsFrom(specs, values, unknown)),
    );
  const all = fc
    .tuple(fc.tuple(...candidates.map(tlvEntryArb)), fc.array(unknownTlv, { maxLength: 2 }))
    .map(([values, unknown]) => tlvsFrom(candidates, values, unknown));
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant({}) },
    { weight: 8, arbitrary: some },
    { weight: 1, arbitrary: all },
  );
}

const isResponse = (c: CommandName): boolean => (CommandId[c] & 0x80000000) !== 0;

/** An arbitrary for one command's PDUs (header, every mandatory field, TLVs from `tlvs`). */
export function pduArb(command: CommandName, tlvs: fc.Arbitrary<Record<string, unknown>> = tlvsArb()): fc.Arbitrary<Pdu> {
  const status = isResponse(command)
    ? fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u32 })
    : fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u32 });
  const seq = fc.oneof(fc.integer({ min: 1, max: 0x7fffffff }), u32);
  const body = BODY[command];
  const fields = fc.tuple(...body.map(fieldArb));
  const withTlvs = !HEADER_ONLY_COMMANDS.includes(command);
  return fc.tuple(status, seq, fields, withTlvs ? tlvs : fc.constant(undefined)).map(([st, sq, vals, tlvs]) => {
    const p: Record<string, unknown> = { command, commandStatus: st, sequenceNumber: sq };
    body.forEach((f, i) => {
      p[f.key] = vals[i];
    });
    if (withTlvs) p['tlvs'] = tlvs;
    return p as unknown as Pdu;
  });
}

/** An error response with an empty (default) body: what peers send for a refusal [ref §1.1]. */
export function errorResponseArb(command: CommandName): fc.Arbitrary<Pdu> {
  return fc.tuple(fc.integer({ min: 1, max: 0xffffffff }), u32).map(([st, sq]) => {
    const p: Record<string, unknown> = { command, commandStatus: st, sequenceNumber: sq };
    for (const f of BODY[command]) {
      p[f.key] = f.kind === 'u8' || f.kind === 'u32' ? 0 : f.kind === 'unsucc' ? [] : '';
    }
    if (!HEADER_ONLY_COMMANDS.includes(command)) p['tlvs'] = {};
    return p as unknown as Pdu;
  });
}

/** Any PDU of any command. */
export const anyPduArb: fc.Arbitrary<Pdu> = fc.constantFrom(...ALL_COMMANDS).chain(pduArb);
