import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MessageState } from '../pdu/constants.js';
import { formatReceipt, messageStateOfStat, parseReceipt, type ReceiptFields, StatText, statOf } from './dlr.js';

const SUBMIT = new Date('2025-03-01T14:30:12Z');
const DONE = new Date('2025-03-01T14:31:59Z');

const fields = (over: Partial<ReceiptFields> = {}): ReceiptFields => ({
  id: '0000012345',
  sub: 1,
  dlvrd: 1,
  submitDate: SUBMIT,
  doneDate: DONE,
  stat: 'DELIVRD',
  err: 0,
  text: 'Hello world',
  ...over,
});

// Kannel's fast path: sscanf(text, "id:%64[^ ] sub:%d dlvrd:%d submit date:%14[0-9] done date:%14[0-9] stat:%15[^ ] err:%3[^ ]")
// %d skips leading whitespace and takes an optional sign. [ref §7.3]
const KANNEL =
  /^id:([^ ]{1,64}) sub:\s*([+-]?\d+) dlvrd:\s*([+-]?\d+) submit date:([0-9]{1,14}) done date:([0-9]{1,14}) stat:([^ ]{1,15}) err:([^ ]{1,3})/;

// Jasmin's regexes, applied one by one to short_message. [ref §7.3]
const JASMIN = {
  id: /id:([\dA-Za-z\-_]+)/,
  sub: /sub:(\d{1,3})/,
  dlvrd: /dlvrd:(\d{1,3})/,
  sdate: /submit date:(\d+)/,
  ddate: /done date:(\d+)/,
  stat: /stat:(\w{7})/,
  err: /err:(\w{1,3})/,
  text: /[tT]ext:(.*)/,
};

describe('formatReceipt', () => {
  it('writes the canonical format', () => {
    assert.equal(
      formatReceipt(fields()),
      'id:0000012345 sub:001 dlvrd:001 submit date:2503011430 done date:2503011431 stat:DELIVRD err:000 text:Hello world',
    );
  });

  it('writes each date of its own minute, whatever came before (the last minute is cached)', () => {
    const later = new Date('2031-12-31T23:59:00Z');
    for (const [submitDate, doneDate, want] of [
      [SUBMIT, DONE, 'submit date:2503011430 done date:2503011431'],
      [DONE, SUBMIT, 'submit date:2503011431 done date:2503011430'],
      [SUBMIT, SUBMIT, 'submit date:2503011430 done date:2503011430'],
      [new Date('2025-03-01T14:30:59.999Z'), later, 'submit date:2503011430 done date:3112312359'],
      [new Date(later.getTime() + 60_000), DONE, 'submit date:3201010000 done date:2503011431'],
    ] as const) {
      assert.ok(formatReceipt(fields({ submitDate, doneDate })).includes(` ${want} `), want);
    }
  });

  it('zero-pads sub, dlvrd and a numeric err; keeps a string err', () => {
    const s = formatReceipt(fields({ sub: 12, dlvrd: 0, err: 7, stat: 'UNDELIV' }));
    assert.match(s, / sub:012 dlvrd:000 .* stat:UNDELIV err:007 text:/);
    assert.match(formatReceipt(fields({ err: 'X1' })), / err:X1 text:/);
  });

  it('truncates the text to 20 characters without splitting a surrogate pair', () => {
    assert.match(formatReceipt(fields({ text: 'abcdefghijklmnopqrstuvwxyz' })), / text:abcdefghijklmnopqrst$/);
    assert.match(formatReceipt(fields({ text: `${'a'.repeat(19)}😀zz` })), new RegExp(` text:${'a'.repeat(19)}😀$`));
    assert.match(formatReceipt(fields({ text: '' })), / err:000 text:$/);
  });

  it('rejects values that would break parsers', () => {
    assert.throws(() => formatReceipt(fields({ id: 'a b' })), RangeError);
    assert.throws(() => formatReceipt(fields({ id: '' })), RangeError);
    assert.throws(() => formatReceipt(fields({ sub: 1000 })), RangeError);
    assert.throws(() => formatReceipt(fields({ dlvrd: -1 })), RangeError);
    assert.throws(() => formatReceipt(fields({ err: 1000 })), RangeError);
    assert.throws(() => formatReceipt(fields({ err: 'ABCD' })), RangeError);
    assert.throws(() => formatReceipt(fields({ stat: 'DEL IV' })), RangeError);
    assert.throws(() => formatReceipt(fields({ doneDate: new Date(Number.NaN) })), RangeError);
  });

  it('is read by a Kannel sscanf-equivalent pattern', () => {
    const m = KANNEL.exec(formatReceipt(fields()));
    assert.ok(m);
    assert.deepEqual(m.slice(1), ['0000012345', '001', '001', '2503011430', '2503011431', 'DELIVRD', '000']);
    // Kannel's fallback needs err: terminated by a space
    assert.match(formatReceipt(fields()), /err:[^ ]+ /);
  });

  it('is read by Jasmin regexes', () => {
    const s = formatReceipt(fields({ stat: 'EXPIRED', dlvrd: 0, err: 12, text: 'Hi there' }));
    const got = Object.fromEntries(Object.entries(JASMIN).map(([k, re]) => [k, re.exec(s)?.[1]]));
    assert.deepEqual(got, {
      id: '0000012345',
      sub: '001',
      dlvrd: '000',
      sdate: '2503011430',
      ddate: '2503011431',
      stat: 'EXPIRED',
      err: '012',
      text: 'Hi there',
    });
  });

  it('property: Kannel, Jasmin and our parser read every state and id we emit', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{10,18}$/),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 999 }),
        fc.string({ maxLength: 40 }),
        (id, state, err, text) => {
          const s = formatReceipt(fields({ id, stat: statOf(state), err, text }));
          assert.equal(KANNEL.exec(s)?.[1], id);
          assert.equal(JASMIN.id.exec(s)?.[1], id);
          assert.equal(JASMIN.stat.exec(s)?.[1], statOf(state));
          const parsed = parseReceipt(s);
          assert.ok(parsed);
          assert.equal(parsed.id, id);
          assert.equal(parsed.stat, statOf(state));
          assert.equal(parsed.err, String(err).padStart(3, '0'));
        },
      ),
    );
  });
});

describe('parseReceipt', () => {
  it('parses our own format back', () => {
    assert.deepEqual(parseReceipt(formatReceipt(fields())), {
      id: '0000012345',
      stat: 'DELIVRD',
      messageState: MessageState.DELIVERED,
      sub: 1,
      dlvrd: 1,
      submitDate: new Date('2025-03-01T14:30:00Z'),
      doneDate: new Date('2025-03-01T14:31:00Z'),
      err: '000',
      text: 'Hello world',
    });
  });

  it('accepts the 3.4 appendix spelling "Text:" and 12/14-digit dates', () => {
    const r = parseReceipt(
      'id:7fa3c2 sub:001 dlvrd:000 submit date:250301143012 done date:20250301143159 stat:UNDELIV err:034 Text:Hello',
    );
    assert.ok(r);
    assert.equal(r.id, '7fa3c2');
    assert.equal(r.submitDate?.toISOString(), '2025-03-01T14:30:12.000Z');
    assert.equal(r.doneDate?.toISOString(), '2025-03-01T14:31:59.000Z');
    assert.equal(r.messageState, MessageState.UNDELIVERABLE);
    assert.equal(r.err, '034');
    assert.equal(r.text, 'Hello');
  });

  it('accepts fields in any order and labels in any case', () => {
    const r = parseReceipt('STAT:delivrd ERR:0 Id:ABC-123 Submit Date:2503011430 DLVRD:1 SUB:1 Done Date:2503011431');
    assert.ok(r);
    assert.equal(r.id, 'ABC-123');
    assert.equal(r.stat, 'DELIVRD');
    assert.equal(r.err, '0');
    assert.equal(r.sub, 1);
    assert.equal(r.dlvrd, 1);
    assert.equal(r.doneDate?.toISOString(), '2025-03-01T14:31:00.000Z');
    assert.equal(r.text, undefined);
  });

  it('keeps label-like words inside the text when the field is already known', () => {
    const r = parseReceipt('id:1 sub:001 dlvrd:001 submit date:2503011430 done date:2503011431 stat:DELIVRD err:000 text:ok stat: id:9 end ');
    assert.equal(r?.id, '1');
    assert.equal(r?.stat, 'DELIVRD');
    assert.equal(r?.text, 'ok stat: id:9 end ');
  });

  it('ends the text at a field that is still missing', () => {
    const r = parseReceipt('id:42 text:hello there stat:EXPIRED err:001');
    assert.equal(r?.text, 'hello there');
    assert.equal(r?.stat, 'EXPIRED');
    assert.equal(r?.err, '001');
  });

  it('leaves malformed optional fields out', () => {
    const r = parseReceipt('id:1 sub:x dlvrd: submit date:2513011430 done date:25030114 stat:FOOBARX err:');
    assert.deepEqual(r, { id: '1', stat: 'FOOBARX' });
  });

  it('requires id and stat', () => {
    assert.equal(parseReceipt('sub:001 dlvrd:001 stat:DELIVRD err:000'), undefined);
    assert.equal(parseReceipt('id:123 sub:001 dlvrd:001 err:000'), undefined);
    assert.equal(parseReceipt('id: stat:DELIVRD'), undefined);
    assert.equal(parseReceipt(''), undefined);
    assert.equal(parseReceipt('hello world'), undefined);
  });

  it('does not take "msgid:" or "substat:" for labels', () => {
    assert.equal(parseReceipt('msgid:1 substat:DELIVRD'), undefined);
  });
});

describe('stat text', () => {
  it('maps every message_state to its stat text and back', () => {
    const expected: Record<number, string> = {
      1: 'ENROUTE',
      2: 'DELIVRD',
      3: 'EXPIRED',
      4: 'DELETED',
      5: 'UNDELIV',
      6: 'ACCEPTD',
      7: 'UNKNOWN',
      8: 'REJECTD',
      9: 'SKIPPED',
    };
    for (const [state, stat] of Object.entries(expected)) {
      assert.equal(statOf(Number(state)), stat);
      assert.equal(messageStateOfStat(stat), Number(state));
      assert.equal(messageStateOfStat(stat.toLowerCase()), Number(state));
    }
  });

  it('reports SCHEDULED as ENROUTE and unknown states as UNKNOWN', () => {
    assert.equal(statOf(MessageState.SCHEDULED), StatText.ENROUTE);
    assert.equal(statOf(42), StatText.UNKNOWN);
    assert.equal(statOf(-1), StatText.UNKNOWN);
  });

  it('understands common variants and rejects unknown texts', () => {
    assert.equal(messageStateOfStat('DELIVERED'), MessageState.DELIVERED);
    assert.equal(messageStateOfStat('BUFFRED'), MessageState.ENROUTE);
    assert.equal(messageStateOfStat('WHATEVER'), undefined);
  });
});
