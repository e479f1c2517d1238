import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MoRouter } from './mo-router.js';

describe('MoRouter', () => {
  test('exact short code, then longest prefix, then regex in order', () => {
    const r = new MoRouter([
      { regex: '^3', account: 'regex-first' },
      { prefix: '30', account: 'bob' },
      { prefix: '3012', account: 'carol' },
      { match: '2000', account: 'bob' },
      { match: '30123', account: 'dave' },
      { regex: '^9[0-9]{2}$', account: 'alice' },
      { regex: '^9', account: 'never' },
    ]);
    assert.equal(r.route('2000'), 'bob');
    assert.equal(r.route('20001'), undefined);
    assert.equal(r.route('3099'), 'bob');
    assert.equal(r.route('301299'), 'carol');
    assert.equal(r.route('30123'), 'dave', 'an exact short code beats a prefix');
    assert.equal(r.route('3199'), 'regex-first', 'prefixes beat regexes; regexes apply in order');
    assert.equal(r.route('912'), 'alice');
    assert.equal(r.route('9123'), 'never');
    assert.equal(r.route('5'), undefined);
  });

  test('the first of two rules for the same short code or prefix wins', () => {
    const r = new MoRouter([
      { match: '1', account: 'a' },
      { match: '1', account: 'b' },
      { prefix: '2', account: 'c' },
      { prefix: '2', account: 'd' },
    ]);
    assert.equal(r.route('1'), 'a');
    assert.equal(r.route('23'), 'c');
  });

  test('ownsSource: exact, prefix*, * and accounts without declared addresses', () => {
    const r = new MoRouter([], {
      sources: { alice: ['1000'], bob: ['2000', '4479*'], carol: ['*'], dave: [] },
    });
    assert.equal(r.ownsSource('alice', '1000'), true);
    assert.equal(r.ownsSource('alice', '10000'), false);
    assert.equal(r.ownsSource('alice', '2000'), false);
    assert.equal(r.ownsSource('bob', '2000'), true);
    assert.equal(r.ownsSource('bob', '447912345678'), true);
    assert.equal(r.ownsSource('bob', '4479'), true);
    assert.equal(r.ownsSource('bob', '447812345678'), false);
    assert.equal(r.ownsSource('carol', 'anything'), true);
    assert.equal(r.ownsSource('dave', 'anything'), true, 'an empty list declares nothing: any source');
    assert.equal(r.ownsSource('erin', 'anything'), true, 'an account not listed: any source');
    assert.equal(r.restrictsSources('bob'), true);
    assert.equal(r.restrictsSources('dave'), false);
  });

  test('sources may be a Map', () => {
    const r = new MoRouter([], { sources: new Map([['a', ['1*']]]) });
    assert.equal(r.ownsSource('a', '12'), true);
    assert.equal(r.ownsSource('a', '22'), false);
  });

  test('fallbackToSources gives unrouted destinations to the declaring account', () => {
    const sources = { alice: ['1000'], bob: ['2000', '4479*'], carol: ['447912*'] };
    const plain = new MoRouter([{ match: '1000', account: 'zed' }], { sources });
    assert.equal(plain.route('2000'), undefined, 'off by default');
    const r = new MoRouter([{ match: '1000', account: 'zed' }], { sources, fallbackToSources: true });
    assert.equal(r.route('1000'), 'zed', 'MO rules come first');
    assert.equal(r.route('2000'), 'bob');
    assert.equal(r.route('447900'), 'bob');
    assert.equal(r.route('4479123'), 'carol', 'longest declared prefix');
    assert.equal(r.route('3000'), undefined);
  });

  test('bad rules are refused', () => {
    assert.throws(() => new MoRouter([{ account: 'a' }]), RangeError);
    assert.throws(() => new MoRouter([{ match: '1', prefix: '2', account: 'a' }]), RangeError);
    assert.throws(() => new MoRouter([{ match: '1', account: '' }]), RangeError);
  });
});
