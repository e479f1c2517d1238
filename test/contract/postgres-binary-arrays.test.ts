/**
 * The binary array parameters of the PostgreSQL insert read back in PostgreSQL as the values
 * they were made of (a real server: array_recv is the judge of the format).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { byteaArray, int4Array, int8Array, textArray } from '../../src/store/postgres/binary-arrays.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';

let db: TestPostgres;
let c: pg.Client;
before(async () => {
  db = await startTestPostgres();
  c = new pg.Client({ connectionString: db.url });
  await c.connect();
});
after(async () => {
  await c.end();
  await db.stop();
});

/** The arrays as PostgreSQL reads them, each element back as text (int8 stays exact, bytea as hex). */
async function readBack(text: (string | null)[], int4: number[], int8: number[], bytea: Buffer[]): Promise<unknown[]> {
  const res = await c.query<{ t: (string | null)[]; i: number[]; l: string[]; b: string[]; n: string }>(
    `SELECT $1::text[] AS t, $2::int[] AS i, $3::bigint[]::text[] AS l, $4::bytea[]::text[] AS b,
      cardinality($1::text[]) || ',' || cardinality($2::int[]) || ',' || cardinality($3::bigint[]) || ',' || cardinality($4::bytea[]) AS n`,
    [textArray(text), int4Array(int4), int8Array(int8), byteaArray(bytea)],
  );
  const r = res.rows[0]!;
  return [r.t, r.i, r.l, r.b, r.n];
}

const expected = (text: (string | null)[], int4: number[], int8: number[], bytea: Buffer[]): unknown[] => [
  text,
  int4,
  int8.map(String),
  bytea.map((b) => `\\x${b.toString('hex')}`),
  `${text.length},${int4.length},${int8.length},${bytea.length}`,
];

test('edge values round-trip: NULL and empty text, non-ASCII past the short-text path, int extremes, negative int8, empty arrays', async () => {
  const text = [null, '', 'a', 'Ünïcode', 'x'.repeat(33), `${'é'.repeat(40)}😀`, '😀', 'ascii then ü at 33: xxxxxxxxxxxxü'];
  const int4 = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31)];
  const int8 = [0, -1, 1, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_700_000_000_000];
  const bytea = [Buffer.alloc(0), Buffer.from([0, 255, 92, 34, 44, 123, 125]), Buffer.alloc(70_000, 0xa5)];
  assert.deepEqual(await readBack(text, int4, int8, bytea), expected(text, int4, int8, bytea));
  assert.deepEqual(await readBack([], [], [], []), expected([], [], [], []));
});

test('any strings, 32-bit ints, safe integers and bytes round-trip', async () => {
  await fc.assert(
    fc.asyncProperty(
      // PostgreSQL text holds no NUL; lone surrogates are not text either.
      fc.array(fc.option(fc.string({ unit: 'grapheme', maxLength: 50 }).filter((s) => !s.includes('\u0000')), { nil: null }), { maxLength: 20 }),
      fc.array(fc.integer(), { maxLength: 20 }),
      fc.array(fc.maxSafeInteger(), { maxLength: 20 }),
      fc.array(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { maxLength: 20 }),
      async (text, int4, int8, bytea) => {
        assert.deepEqual(await readBack(text, int4, int8, bytea), expected(text, int4, int8, bytea));
      },
    ),
    { numRuns: 60 },
  );
});

test('a value the column type cannot hold exactly is refused before it is sent', () => {
  assert.throws(() => int4Array([1.5]), RangeError);
  assert.throws(() => int4Array([2 ** 31]), RangeError);
  assert.throws(() => int8Array([2 ** 53]), RangeError);
  assert.throws(() => int8Array([Number.NaN]), RangeError);
});
