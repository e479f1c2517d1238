import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatSmppAbsolute, formatSmppRelative, parseSmppTime, SmppTimeError } from './time.js';

const NOW = Date.parse('2024-01-15T00:00:00Z');

function absolute(s: string): string {
  const t = parseSmppTime(s, NOW);
  assert.ok(t?.kind === 'absolute');
  return t.date.toISOString();
}

function relative(s: string, now: Date | number = NOW): { ms: number; date: string } {
  const t = parseSmppTime(s, now);
  assert.ok(t?.kind === 'relative');
  return { ms: t.ms, date: t.date.toISOString() };
}

describe('parseSmppTime', () => {
  it('returns null for the empty string', () => {
    assert.equal(parseSmppTime('', NOW), null);
  });

  it('reads absolute times with a UTC offset in quarter hours', () => {
    assert.equal(absolute('250301143000004+'), '2025-03-01T13:30:00.000Z'); // [ref §5.6] example
    assert.equal(absolute('250301143000004-'), '2025-03-01T15:30:00.000Z');
    assert.equal(absolute('250301143000000+'), '2025-03-01T14:30:00.000Z');
    assert.equal(absolute('250301143000548+'), '2025-03-01T02:30:00.500Z');
    assert.equal(absolute('250301001500004+'), '2025-02-28T23:15:00.000Z'); // crosses midnight
    assert.equal(absolute('240229120000000+'), '2024-02-29T12:00:00.000Z'); // leap day
    assert.equal(absolute('991231235959900+'), '2099-12-31T23:59:59.900Z');
  });

  it('reads relative times against now', () => {
    assert.deepEqual(relative('000000001000000R'), { ms: 600_000, date: '2024-01-15T00:10:00.000Z' }); // 10 minutes
    assert.equal(relative('020610233429000R').date, '2026-07-25T23:34:29.000Z');
    assert.equal(relative('000000000000000R').ms, 0);
    assert.equal(relative('000002030405000R').ms, ((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000);
    // t and nn are ignored for relative times
    assert.equal(relative('000000001000948R').ms, 600_000);
    // hours and minutes beyond a day/hour are offsets too
    assert.equal(relative('000000360000000R').ms, 36 * 3_600_000);
  });

  it('adds relative months on the calendar, clamping the day', () => {
    const jan31 = Date.parse('2024-01-31T10:00:00Z');
    assert.equal(relative('000100000000000R', jan31).date, '2024-02-29T10:00:00.000Z');
    assert.equal(relative('001300000000000R', jan31).date, '2025-02-28T10:00:00.000Z');
    assert.equal(relative('010000000000000R', Date.parse('2024-02-29T00:00:00Z')).date, '2025-02-28T00:00:00.000Z');
    assert.equal(relative('000001000000000R', new Date('2024-02-28T00:00:00Z')).date, '2024-02-29T00:00:00.000Z');
  });

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ['15 characters', '25030114300000+'],
    ['17 characters', '2503011430000004+'],
    ['month 13', '251301143000004+'],
    ['month 00', '250001143000004+'],
    ['day 00', '250300143000004+'],
    ['day 32', '250332143000004+'],
    ['30 February', '250230143000004+'],
    ['29 February of a common year', '250229143000004+'],
    ['hour 24', '250301243000004+'],
    ['minute 60', '250301146000004+'],
    ['second 60', '250301143060004+'],
    ['nn = 49', '250301143000049+'],
    ['p = X', '250301143000004X'],
    ['p = r (lower case)', '000000001000000r'],
    ['a letter', '25030114300a004+'],
    ['a space', ' 50301143000004+'],
    ['a sign among the digits', '+50301143000004+'],
    ['non-digit in a relative time', '0000000010000a0R'],
  ];
  for (const [name, s] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => parseSmppTime(s, NOW),
        (e: unknown) => e instanceof SmppTimeError && e.code === 'SMPP_ERR_INVALID_TIME' && e.input === s,
      );
    });
  }
});

describe('formatSmppAbsolute', () => {
  it('writes UTC by default and local time at a given offset', () => {
    const d = new Date('2025-03-01T13:30:00.567Z');
    assert.equal(formatSmppAbsolute(d), '250301133000500+');
    assert.equal(formatSmppAbsolute(d, 4), '250301143000504+');
    assert.equal(formatSmppAbsolute(d, -4), '250301123000504-');
    assert.equal(formatSmppAbsolute(d.getTime(), 48), '250302013000548+');
  });

  it('rejects bad offsets and years outside 2000-2099', () => {
    assert.throws(() => formatSmppAbsolute(new Date(NOW), 49), RangeError);
    assert.throws(() => formatSmppAbsolute(new Date(NOW), 1.5), RangeError);
    assert.throws(() => formatSmppAbsolute(new Date('1999-12-31T23:00:00Z')), RangeError);
    assert.throws(() => formatSmppAbsolute(new Date(Number.NaN)), RangeError);
  });

  it('property: parse(format(date, offset)) === date to the tenth of a second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2000-01-03T00:00:00Z'), max: Date.parse('2099-12-29T00:00:00Z') }),
        fc.integer({ min: -48, max: 48 }),
        (ms, qh) => {
          const s = formatSmppAbsolute(ms, qh);
          assert.equal(s.length, 16);
          const t = parseSmppTime(s);
          assert.ok(t?.kind === 'absolute');
          assert.equal(t.date.getTime(), ms - (ms % 100));
        },
      ),
    );
  });
});

describe('formatSmppRelative', () => {
  it('writes DD hh mm ss exactly below 100 days', () => {
    assert.equal(formatSmppRelative(600_000), '000000001000000R');
    assert.equal(formatSmppRelative(0), '000000000000000R');
    assert.equal(formatSmppRelative(((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000 + 999), '000002030405000R');
    assert.equal(formatSmppRelative(99 * 86_400_000), '000099000000000R');
  });

  it('uses 365-day years and 30-day months beyond 99 days', () => {
    assert.equal(formatSmppRelative(100 * 86_400_000), '000310000000000R');
    assert.equal(formatSmppRelative((2 * 365 + 6 * 30 + 10) * 86_400_000), '020610000000000R');
  });

  it('rejects negative and too large durations', () => {
    assert.throws(() => formatSmppRelative(-1), RangeError);
    assert.throws(() => formatSmppRelative(Number.POSITIVE_INFINITY), RangeError);
    assert.throws(() => formatSmppRelative(100 * 365 * 86_400_000), RangeError);
  });

  it('property: below 100 days, parse(format(ms)).ms === ms truncated to seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 * 86_400_000 - 1 }), fc.integer({ min: 0, max: 4e12 }), (ms, now) => {
        const t = parseSmppTime(formatSmppRelative(ms), now);
        assert.ok(t?.kind === 'relative');
        assert.equal(t.ms, ms - (ms % 1000));
      }),
    );
  });
});
