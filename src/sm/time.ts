/**
 * SMPP time strings `YYMMDDhhmmsstnnp` for schedule_delivery_time, validity_period,
 * final_date and broadcast_end_time. [ref §5.6] [SMPP34 §7.1]
 */

/** A time string that cannot be parsed (answer ESME_RINVSCHED / ESME_RINVEXPIRY). [ref §5.6] */
export class SmppTimeError extends Error {
  override readonly name = 'SmppTimeError';
  readonly code = 'SMPP_ERR_INVALID_TIME';
  /** The rejected string. */
  readonly input: string;
  constructor(input: string, reason: string) {
    super(`invalid SMPP time ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
  }
}

/** A parsed SMPP time: absolute, or relative to the `now` given to the parser. */
export type SmppTime =
  | { kind: 'absolute'; date: Date }
  | {
      kind: 'relative';
      /** Offset from `now` in ms (calendar-aware, so it depends on `now`). */
      ms: number;
      date: Date;
    };

const MINUTE_MS = 60_000;
const QUARTER_HOUR_MS = 15 * MINUTE_MS;
const DAY_MS = 86_400_000;

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function field(s: string, at: number): number {
  return (s.charCodeAt(at) - 48) * 10 + (s.charCodeAt(at + 1) - 48);
}

/**
 * `from` plus years and months, clamping the day to the target month's length
 * (31 January + 1 month = 28/29 February), then plus a fixed number of ms.
 */
function addCalendar(from: number, years: number, months: number, ms: number): number {
  const d = new Date(from);
  const totalMonths = d.getUTCMonth() + months;
  const year = d.getUTCFullYear() + years + Math.floor(totalMonths / 12);
  const month = totalMonths % 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month + 1));
  d.setUTCFullYear(year, month, day);
  return d.getTime() + ms;
}

/**
 * Parses an SMPP time. Returns null for the empty string (field not set).
 *
 * Absolute (`p` = `+` / `-`): the first 13 characters are local time at `nn` quarter hours
 * ahead of (`+`) or behind (`-`) UTC; years are 20YY. Every field is range-checked, the day
 * against the month's length.
 *
 * Relative (`p` = `R`): YY MM DD hh mm ss are added to `now`, years and months on the calendar
 * (UTC), then days, hours, minutes and seconds as fixed durations. Fields may be any two
 * digits (an offset of 36 hours is meaningful); `t` and `nn` must be digits and are ignored.
 * [ref §5.6]
 * @throws SmppTimeError for a wrong length, non-digits, out-of-range fields or a bad `p`.
 */
export function parseSmppTime(s: string, now: Date | number = Date.now()): SmppTime | null {
  if (s.length === 0) return null;
  if (s.length !== 16) throw new SmppTimeError(s, `length ${s.length}, expected 16`);
  for (let i = 0; i < 15; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) throw new SmppTimeError(s, `non-digit at position ${i}`);
  }
  const yy = field(s, 0);
  const mo = field(s, 2);
  const dd = field(s, 4);
  const hh = field(s, 6);
  const mi = field(s, 8);
  const ss = field(s, 10);
  const p = s[15];
  if (p === 'R') {
    const from = typeof now === 'number' ? now : now.getTime();
    const at = addCalendar(from, yy, mo, dd * DAY_MS + hh * 3_600_000 + mi * MINUTE_MS + ss * 1000);
    return { kind: 'relative', ms: at - from, date: new Date(at) };
  }
  if (p !== '+' && p !== '-') throw new SmppTimeError(s, `p must be '+', '-' or 'R'`);
  const year = 2000 + yy;
  if (mo < 1 || mo > 12) throw new SmppTimeError(s, `month ${mo}`);
  if (dd < 1 || dd > daysInMonth(year, mo)) throw new SmppTimeError(s, `day ${dd}`);
  if (hh > 23) throw new SmppTimeError(s, `hour ${hh}`);
  if (mi > 59) throw new SmppTimeError(s, `minute ${mi}`);
  if (ss > 59) throw new SmppTimeError(s, `second ${ss}`);
  const tenths = s.charCodeAt(12) - 48;
  const nn = field(s, 13);
  if (nn > 48) throw new SmppTimeError(s, `UTC offset ${nn} quarter hours exceeds 48`);
  const local = Date.UTC(year, mo - 1, dd, hh, mi, ss, tenths * 100);
  // [ref §5.6] UTC = local − nn×15 min for '+', local + nn×15 min for '-'.
  const offset = nn * QUARTER_HOUR_MS;
  return { kind: 'absolute', date: new Date(p === '+' ? local - offset : local + offset) };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Formats `date` as an absolute SMPP time `YYMMDDhhmmsstnnp`, written as local time at
 * `quarterHours` (−48..48) quarter hours from UTC; the default 0 gives `...t00+` (UTC).
 * Tenths of a second are truncated. [ref §5.6]
 * @throws RangeError for an invalid date, offset, or a local year outside 2000-2099.
 */
export function formatSmppAbsolute(date: Date | number, quarterHours = 0): string {
  const utc = typeof date === 'number' ? date : date.getTime();
  if (!Number.isFinite(utc)) throw new RangeError('invalid date');
  if (!Number.isInteger(quarterHours) || quarterHours < -48 || quarterHours > 48) {
    throw new RangeError(`UTC offset must be an integer -48..48 quarter hours, got ${quarterHours}`);
  }
  const d = new Date(utc + quarterHours * QUARTER_HOUR_MS);
  const year = d.getUTCFullYear();
  if (year < 2000 || year > 2099) throw new RangeError(`year ${year} cannot be written as YY`);
  return (
    pad2(year - 2000) +
    pad2(d.getUTCMonth() + 1) +
    pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) +
    pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds()) +
    Math.floor(d.getUTCMilliseconds() / 100) +
    pad2(Math.abs(quarterHours)) +
    (quarterHours < 0 ? '-' : '+')
  );
}

/**
 * Formats a duration as a relative SMPP time `YYMMDDhhmmss000R`, truncated to whole seconds.
 * Offsets under 100 days are exact (DD hh mm ss). Longer ones are written with 365-day years
 * and 30-day months, which the receiver adds on its calendar, so they are approximate.
 * [ref §5.6]
 * @throws RangeError for a negative, non-finite or too large (≥ 100 years) duration.
 */
export function formatSmppRelative(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`relative time must be >= 0 ms, got ${ms}`);
  let seconds = Math.floor(ms / 1000);
  let days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  let years = 0;
  let months = 0;
  if (days > 99) {
    years = Math.floor(days / 365);
    days -= years * 365;
    months = Math.floor(days / 30);
    days -= months * 30;
  }
  if (years > 99) throw new RangeError(`relative time of ${years} years does not fit in YY`);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return (
    pad2(years) + pad2(months) + pad2(days) + pad2(hours) + pad2(minutes) + pad2(seconds % 60) + '000R'
  );
}
