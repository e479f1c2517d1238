/**
 * Fuzzing: at least 100,000 random and mutated buffers per run through decodePdu and
 * FrameDecoder. Only PduDecodeError may ever come out (never a RangeError, TypeError...), its
 * fields must be sane, and whatever decodes must re-encode to something that decodes the same.
 *
 * Time-boxed: it aims at FUZZ_CASES (200,000) and stops at FUZZ_BUDGET_MS (8 s); fewer than
 * 100,000 cases within the budget fails the test. Reproduce with FUZZ_SEED=<seed> printed in the test name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CommandId,
  CommandStatus,
  decodePdu,
  encodePdu,
  FrameDecoder,
  type Pdu,
  PduDecodeError,
  PduEncodeError,
} from '../../src/pdu/index.js';
import { seededRandom } from '../../src/util/random.js';
import { loadFixtures } from '../support/fixtures.js';
import { ALL_COMMANDS, appendField, appendTlvs, BODY, PduBuilder, samplePdu, TLV_SPECS, tv } from '../support/pdu-builder.js';
import { anyPduArb } from './arbitraries.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? (Date.now() & 0x7fffffff));
/** Always this many cases, however slow the machine (a count, never a timed assertion). */
const MIN_CASES = 100_000;
/** Beyond MIN_CASES, keep going up to this many cases while inside the time budget. */
const TARGET_CASES = Number(process.env['FUZZ_CASES'] ?? 200_000);
const BUDGET_MS = Number(process.env['FUZZ_BUDGET_MS'] ?? 8_000);

const KNOWN_STATUS = new Set<number>(Object.values(CommandStatus));
const COMMAND_IDS = Object.values(CommandId) as number[];

/** A seed corpus: every fixture, plus a sample of every command with TLVs, with their TLV offsets. */
interface Seed {
  bytes: Buffer;
  /** Offset of the first TLV, or -1 when unknown / none. */
  tlvStart: number;
}

function buildCorpus(): Seed[] {
  const out: Seed[] = loadFixtures().map((f) => ({ bytes: f.bytes, tlvStart: -1 }));
  const tlvSets: Record<string, unknown>[] = [
    {},
    { sarMsgRefNum: 7, sarTotalSegments: 2, sarSegmentSeqnum: 1, messagePayload: Buffer.from('hello payload') },
    { receiptedMessageId: '13017d58', messageState: 2, networkErrorCode: { networkType: 3, errorCode: 0x11 } },
    {
      callbackNum: [Buffer.from('\x01\x01\x0112345', 'latin1')],
      sourceSubaddress: Buffer.from([0xa0, 1, 2]),
      broadcastAreaIdentifier: [Buffer.from([0, 0x41]), Buffer.from([1, 2, 3])],
      broadcastEndTime: '260101120000000+',
      msValidity: Buffer.from([4, 0, 0, 10]),
      alertOnMessageDelivery: Buffer.alloc(0),
      unknown: [{ tag: 0x1401, value: Buffer.from([1, 2]) }],
    },
  ];
  for (const command of ALL_COMMANDS) {
    const p = samplePdu(command, 77);
    const body = new PduBuilder();
    for (const f of BODY[command]) appendField(body, f, p);
    if (p['tlvs'] === undefined) {
      out.push({ bytes: body.build(CommandId[command], 0, 77), tlvStart: -1 });
      continue;
    }
    for (const tlvs of tlvSets) {
      const b = new PduBuilder().append(body);
      appendTlvs(b, tlvs);
      out.push({ bytes: b.build(CommandId[command], 0, 77), tlvStart: 16 + body.length });
    }
  }
  // Every TLV alone after a submit_sm body.
  const sm = new PduBuilder();
  const sp = samplePdu('submit_sm', 5);
  for (const f of BODY.submit_sm) appendField(sm, f, sp);
  for (const spec of TLV_SPECS) {
    const b = new PduBuilder().append(sm).tlv(spec.tag, tv.u8(1)).tlv(spec.tag, Buffer.alloc(3, 0x31));
    out.push({ bytes: b.build(CommandId.submit_sm, 0, 5), tlvStart: 16 + sm.length });
  }
  return out;
}

/** Offsets of the TLV length fields from tlvStart on (stops at the first inconsistency). */
function tlvLengthOffsets(buf: Buffer, start: number): number[] {
  const out: number[] = [];
  let pos = start;
  while (start >= 0 && pos + 4 <= buf.length) {
    out.push(pos + 2);
    pos += 4 + buf.readUInt16BE(pos + 2);
  }
  return out;
}

interface Failure {
  kind: string;
  hex: string;
  error: string;
}

/** Checks one decodePdu call: a PDU (that survives re-encoding) or a sane PduDecodeError. */
function checkDecode(frame: Buffer, failures: Failure[], kind: string): void {
  let pdu: Pdu;
  try {
    pdu = decodePdu(frame);
  } catch (e) {
    const problem = errorProblem(e, frame);
    if (problem !== undefined) failures.push({ kind, hex: frame.toString('hex'), error: problem });
    return;
  }
  // Decoded: must encode again (or be refused as unencodable) and decode to the same PDU.
  let again: Buffer;
  try {
    again = encodePdu(pdu);
  } catch (e) {
    if (!(e instanceof PduEncodeError)) {
      failures.push({ kind: `${kind}/re-encode`, hex: frame.toString('hex'), error: String(e) });
    }
    return;
  }
  try {
    assert.deepStrictEqual(decodePdu(again), pdu);
  } catch (e) {
    failures.push({ kind: `${kind}/re-decode`, hex: frame.toString('hex'), error: String(e).slice(0, 300) });
  }
}

function errorProblem(e: unknown, frame: Buffer | undefined): string | undefined {
  if (!(e instanceof PduDecodeError)) return `not a PduDecodeError: ${String(e)}`;
  if (!KNOWN_STATUS.has(e.commandStatus)) return `unknown commandStatus ${e.commandStatus}`;
  if (!Number.isInteger(e.sequenceNumber) || e.sequenceNumber < 0 || e.sequenceNumber > 0xffffffff) {
    return `bad sequenceNumber ${e.sequenceNumber}`;
  }
  if (typeof e.fatal !== 'boolean') return 'fatal is not a boolean';
  if (frame !== undefined) {
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset > frame.length) return `offset ${e.offset} outside frame`;
    if (frame.length >= 16) {
      if (e.sequenceNumber !== frame.readUInt32BE(12)) return `sequenceNumber ${e.sequenceNumber} not the header's`;
      if (e.commandId !== undefined && e.commandId !== frame.readUInt32BE(4)) return `commandId ${e.commandId} not the header's`;
    }
  }
  return undefined;
}

/** Runs a FrameDecoder over `stream` in random chunks; frames go through checkDecode. */
function checkStream(stream: Buffer, rnd: () => number, failures: Failure[]): void {
  let fd = new FrameDecoder();
  let pos = 0;
  while (pos < stream.length) {
    const n = Math.min(stream.length - pos, 1 + Math.floor(rnd() * 64));
    fd.push(stream.subarray(pos, pos + n));
    pos += n;
    for (;;) {
      let frame: Buffer | undefined;
      try {
        frame = fd.next();
      } catch (e) {
        const problem = errorProblem(e, undefined);
        if (problem !== undefined) failures.push({ kind: 'stream', hex: stream.toString('hex'), error: problem });
        else if (!(e as PduDecodeError).fatal) {
          failures.push({ kind: 'stream', hex: stream.toString('hex'), error: 'FrameDecoder error not fatal' });
        }
        fd = new FrameDecoder(); // a fatal error ends the connection; start over on the rest
        break;
      }
      if (frame === undefined) break;
      if (frame.readUInt32BE(0) !== frame.length) {
        failures.push({ kind: 'stream', hex: frame.toString('hex'), error: 'frame length != command_length' });
      }
      checkDecode(frame, failures, 'stream-frame');
    }
  }
}

describe(`fuzz (seed ${SEED})`, () => {
  it(`at least ${MIN_CASES} random and mutated buffers: only PduDecodeError comes out`, (t) => {
    const rnd = seededRandom(SEED);
    const int = (n: number): number => Math.floor(rnd() * n);
    const corpus = buildCorpus();
    const failures: Failure[] = [];
    const counts: Record<string, number> = {};
    const t0 = Date.now();
    let cases = 0;

    const randomBytes = (n: number): Buffer => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    };
    const pickSeed = (): Seed => corpus[int(corpus.length)]!;

    const generators: [string, () => Buffer][] = [
      ['random-bytes', () => randomBytes(int(80))],
      [
        'random-header-body',
        () => {
          const body = randomBytes(int(120));
          const id = rnd() < 0.85 ? COMMAND_IDS[int(COMMAND_IDS.length)]! : int(0x200) | (rnd() < 0.5 ? 0x80000000 : 0);
          return new PduBuilder().octets(body).build(id, rnd() < 0.7 ? 0 : int(0x120), int(0x7fffffff));
        },
      ],
      [
        'random-body-of-c-strings',
        () => {
          // Bodies made of digits and NULs look like C-string fields and get deeper into decoders.
          const n = int(160);
          const body = Buffer.allocUnsafe(n);
          for (let i = 0; i < n; i++) body[i] = rnd() < 0.2 ? 0 : rnd() < 0.7 ? 0x30 + int(10) : int(256);
          return new PduBuilder().octets(body).build(COMMAND_IDS[int(COMMAND_IDS.length)]!, 0, 9);
        },
      ],
      [
        'bit-flips',
        () => {
          const b = Buffer.from(pickSeed().bytes);
          const flips = 1 + int(4);
          for (let i = 0; i < flips; i++) {
            const at = 4 + int(Math.max(1, b.length - 4)); // keep command_length
            if (at < b.length) b[at] = b[at]! ^ (1 << int(8));
          }
          return b;
        },
      ],
      [
        'byte-overwrites',
        () => {
          const b = Buffer.from(pickSeed().bytes);
          const n = 1 + int(6);
          for (let i = 0; i < n; i++) b[int(b.length)] = rnd() < 0.3 ? 0 : rnd() < 0.5 ? 0xff : int(256);
          return b;
        },
      ],
      [
        'truncated-length-patched',
        () => {
          const b = Buffer.from(pickSeed().bytes.subarray(0, 16 + int(Math.max(1, pickSeed().bytes.length - 16))));
          if (b.length >= 4) b.writeUInt32BE(b.length, 0);
          return b;
        },
      ],
      [
        'truncated-length-kept',
        () => {
          const s = pickSeed().bytes;
          return Buffer.from(s.subarray(0, int(s.length)));
        },
      ],
      [
        'command-length-patched',
        () => {
          const b = Buffer.from(pickSeed().bytes);
          const choices = [0, 1, 15, 16, 17, b.length - 1, b.length + 1, 0xffffffff, 0x7fffffff, int(0x10000)];
          b.writeUInt32BE(choices[int(choices.length)]! >>> 0, 0);
          return b;
        },
      ],
      [
        'command-id-swapped',
        () => {
          const b = Buffer.from(pickSeed().bytes);
          b.writeUInt32BE(COMMAND_IDS[int(COMMAND_IDS.length)]! >>> 0, 4);
          return b;
        },
      ],
      [
        'tlv-length-patched',
        () => {
          let s = pickSeed();
          for (let i = 0; i < 8 && s.tlvStart < 0; i++) s = pickSeed();
          const b = Buffer.from(s.bytes);
          const offs = tlvLengthOffsets(b, s.tlvStart);
          if (offs.length > 0) {
            const at = offs[int(offs.length)]!;
            const len = b.readUInt16BE(at);
            const choices = [0, 1, 2, 3, 4, len - 1, len + 1, len + 4, 0xffff, int(0x10000)];
            b.writeUInt16BE(Math.max(0, Math.min(0xffff, choices[int(choices.length)]!)), at);
          }
          return b;
        },
      ],
      [
        'tlv-tag-patched',
        () => {
          let s = pickSeed();
          for (let i = 0; i < 8 && s.tlvStart < 0; i++) s = pickSeed();
          const b = Buffer.from(s.bytes);
          const offs = tlvLengthOffsets(b, s.tlvStart);
          if (offs.length > 0) {
            const spec = TLV_SPECS[int(TLV_SPECS.length)]!;
            b.writeUInt16BE(rnd() < 0.8 ? spec.tag : int(0x10000), offs[int(offs.length)]! - 2);
          }
          return b;
        },
      ],
      [
        'junk-appended',
        () => {
          const tail = randomBytes(1 + int(12));
          const b = Buffer.concat([pickSeed().bytes, tail]);
          b.writeUInt32BE(b.length, 0);
          return b;
        },
      ],
    ];

    while (cases < TARGET_CASES) {
      if (cases >= MIN_CASES && Date.now() - t0 > BUDGET_MS) break;
      for (const [kind, gen] of generators) {
        const frame = gen();
        counts[kind] = (counts[kind] ?? 0) + 1;
        cases++;
        if (cases % 7 === 0) {
          // Same bytes as a view in the middle of a larger buffer: no reads outside the view.
          const big = Buffer.concat([randomBytes(3), frame, Buffer.alloc(64, cases & 1 ? 0 : 0x41)]);
          checkDecode(big.subarray(3, 3 + frame.length), failures, `${kind}/view`);
        } else {
          checkDecode(frame, failures, kind);
        }
        if (failures.length > 20) break;
      }
      if (failures.length > 20) break;
      if (cases % 240 === 0) {
        // A stream of several mutated frames through a FrameDecoder in random chunks.
        const parts: Buffer[] = [];
        for (let i = 0; i < 6; i++) parts.push(generators[int(generators.length)]![1]());
        checkStream(Buffer.concat(parts), rnd, failures);
        counts['streams'] = (counts['streams'] ?? 0) + 1;
      }
    }

    const elapsed = Date.now() - t0;
    const summary = `${cases} cases in ${elapsed} ms (seed ${SEED}): ${JSON.stringify(counts)}`;
    if (failures.length > 0) {
      const shown = failures
        .slice(0, 8)
        .map((f) => `  [${f.kind}] ${f.error}\n    input ${f.hex}`)
        .join('\n');
      assert.fail(`${failures.length} failure(s); ${summary}\n${shown}`);
    }
    t.diagnostic(summary);
  });
});

describe('fuzz with fast-check (shrinking counterexamples)', () => {
  const seedParam = process.env['FC_SEED'] === undefined ? {} : { seed: Number(process.env['FC_SEED']) };

  it('decodePdu(arbitrary bytes) returns a PDU or throws PduDecodeError', () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc
        .tuple(fc.constantFrom(...(Object.values(CommandId) as number[])), fc.uint8Array({ maxLength: 100 }))
        .map(([id, body]) => new PduBuilder().octets(body).build(id, 0, 1)),
    );
    fc.assert(
      fc.property(frame, (f) => {
        const failures: Failure[] = [];
        checkDecode(f, failures, 'fc');
        assert.deepStrictEqual(failures, []);
      }),
      { numRuns: 5000, ...seedParam },
    );
  });

  it('valid PDUs with one octet changed: PDU or PduDecodeError', () => {
    const arb = fc.tuple(anyPduArb, fc.nat(), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(arb, ([p, at, v]) => {
        const b = Buffer.from(encodePdu(p));
        b[4 + (at % (b.length - 4))] = v;
        const failures: Failure[] = [];
        checkDecode(b, failures, 'fc-mutated');
        assert.deepStrictEqual(failures, []);
      }),
      { numRuns: 1000, ...seedParam },
    );
  });
});
