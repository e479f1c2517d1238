/**
 * Property: for every command, decodePdu(encodePdu(p)) deep-equals p (Buffers compared by
 * bytes), and encodePdu(p) equals the bytes of the independent builder. Also: FrameDecoder
 * recovers any stream of encoded PDUs however it is chunked.
 *
 * Reproduce a failure with FC_SEED=<seed> (and FC_PATH=<path>) from fast-check's report.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type CommandName, decodePdu, encodePdu, FrameDecoder, type Pdu } from '../../src/pdu/index.js';
import { ALL_COMMANDS, BODY, buildPdu, HEADER_ONLY_COMMANDS, TLV_SPECS } from '../support/pdu-builder.js';
import { anyPduArb, errorResponseArb, pduArb, tlvsArb } from './arbitraries.js';

const RUNS = Number(process.env['FC_RUNS'] ?? 200);
const params = (numRuns: number): fc.Parameters<unknown> => {
  const p: fc.Parameters<unknown> = { numRuns };
  if (process.env['FC_SEED'] !== undefined) p.seed = Number(process.env['FC_SEED']);
  if (process.env['FC_PATH'] !== undefined) p.path = process.env['FC_PATH'];
  return p;
};

/** Normalises Buffers (possibly views) into hex so a failure report is readable. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<${Buffer.from(v).toString('hex')}>`;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function roundTrips(p: Pdu): void {
  const bytes = encodePdu(p);
  assert.equal(bytes.readUInt32BE(0), bytes.length, 'command_length');
  const expected = buildPdu(p);
  assert.equal(bytes.toString('hex'), expected.toString('hex'), 'encodePdu vs independent builder');
  const back = decodePdu(bytes);
  assert.deepStrictEqual(plain(back), plain(p));
  assert.deepStrictEqual(back, p);
}

describe('property: decodePdu(encodePdu(p)) ≅ p for every command', () => {
  it('the arbitraries cover every command and every TLV', () => {
    assert.equal(ALL_COMMANDS.length, 33);
    assert.equal(TLV_SPECS.length, 64);
    for (const c of ALL_COMMANDS) assert.ok(BODY[c] !== undefined, c);
  });

  for (const command of ALL_COMMANDS) {
    it(`${command} (${RUNS} runs)`, () => {
      fc.assert(fc.property(pduArb(command), roundTrips), params(RUNS));
    });
  }

  const bodyResponses = ALL_COMMANDS.filter((c) => !HEADER_ONLY_COMMANDS.includes(c) && c.endsWith('_resp'));
  for (const command of bodyResponses) {
    it(`${command}: error status with an empty body (header-only on the wire or not, decodes back)`, () => {
      fc.assert(
        fc.property(errorResponseArb(command), (p) => {
          const back = decodePdu(encodePdu(p));
          assert.deepStrictEqual(back, p);
        }),
        params(50),
      );
    });
  }
});

describe('property: every TLV in every PDU that has TLVs', () => {
  for (const spec of TLV_SPECS) {
    it(`${spec.name} (0x${spec.tag.toString(16).padStart(4, '0')})`, () => {
      const withTlvs = ALL_COMMANDS.filter((c) => !HEADER_ONLY_COMMANDS.includes(c));
      const arb = fc.constantFrom(...withTlvs).chain((c) => pduArb(c as CommandName, tlvsArb([spec], 1)));
      fc.assert(fc.property(arb, roundTrips), params(60));
    });
  }
});

describe('property: FrameDecoder reassembles any chunking of a PDU stream', () => {
  it('random PDUs, concatenated, cut at random points', () => {
    const arb = fc.tuple(
      fc.array(anyPduArb, { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 30 }),
    );
    fc.assert(
      fc.property(arb, ([pdus, cuts]) => {
        const frames = pdus.map((p) => encodePdu(p));
        const stream = Buffer.concat(frames);
        const fd = new FrameDecoder({ maxPduBytes: 1 << 20 });
        const out: Buffer[] = [];
        let pos = 0;
        let i = 0;
        while (pos < stream.length) {
          const n = Math.min(cuts[i++ % cuts.length]!, stream.length - pos);
          fd.push(stream.subarray(pos, pos + n));
          pos += n;
          for (let f = fd.next(); f !== undefined; f = fd.next()) out.push(f);
        }
        assert.equal(fd.buffered, 0);
        assert.equal(out.length, frames.length);
        out.forEach((f, k) => {
          assert.equal(f.toString('hex'), frames[k]!.toString('hex'));
          assert.deepStrictEqual(decodePdu(f), pdus[k]);
        });
      }),
      params(200),
    );
  });
});
