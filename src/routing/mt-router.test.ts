import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_NO_ROUTE_STATUS, isRoute, type MtRouteRequest, MtRouter, type MtRule } from './mt-router.js';

const req = (destination: string, over: Partial<MtRouteRequest> = {}): MtRouteRequest => ({ account: 'alice', destination, ...over });

function connectorOf(r: MtRouter, q: MtRouteRequest): string | number {
  const d = r.route(q);
  return isRoute(d) ? d.connector : d.status;
}

describe('MtRouter', () => {
  test('the example config: prefixes, failover, regex with account', () => {
    const r = new MtRouter([
      { prefix: '4470', connector: 'network' },
      { prefix: '4479', connector: 'upstream-a', failover: ['network'] },
      { regex: '^1[0-9]{3}$', account: 'alice', connector: 'hook' },
    ]);
    assert.deepEqual(r.route(req('447012345678')), { connector: 'network', failover: [], rule: 0 });
    assert.deepEqual(r.route(req('447912345678')), { connector: 'upstream-a', failover: ['network'], rule: 1 });
    assert.deepEqual(r.route(req('1234')), { connector: 'hook', failover: [], rule: 2 });
    assert.deepEqual(r.route(req('1234', { account: 'bob' })), { status: DEFAULT_NO_ROUTE_STATUS });
    assert.deepEqual(r.route(req('12345')), { status: 0x0b });
    assert.deepEqual(r.route(req('4471')), { status: 0x0b });
  });

  test('rules are ordered: an earlier short prefix beats a later long one', () => {
    const r = new MtRouter([
      { prefix: '44', connector: 'first' },
      { prefix: '4470', connector: 'second' },
    ]);
    assert.equal(connectorOf(r, req('447000')), 'first');
    const reversed = new MtRouter([
      { prefix: '4470', connector: 'second' },
      { prefix: '44', connector: 'first' },
    ]);
    assert.equal(connectorOf(reversed, req('447000')), 'second');
    assert.equal(connectorOf(reversed, req('447100')), 'first');
  });

  test('an earlier regex or default rule beats a later prefix rule', () => {
    const r = new MtRouter([
      { regex: '^447', connector: 'regex' },
      { prefix: '4470', connector: 'prefix' },
      { connector: 'default' },
    ]);
    assert.equal(connectorOf(r, req('447012')), 'regex');
    assert.equal(connectorOf(r, req('33')), 'default');
  });

  test('a prefix rule whose other conditions fail falls through to the next match', () => {
    const r = new MtRouter([
      { prefix: '4470', account: 'bob', connector: 'bob-route' },
      { prefix: '4470', serviceType: 'WAP', connector: 'wap' },
      { prefix: '44', connector: 'uk' },
      { connector: 'default' },
    ]);
    assert.equal(connectorOf(r, req('447011', { account: 'bob' })), 'bob-route');
    assert.equal(connectorOf(r, req('447011', { serviceType: 'WAP' })), 'wap');
    assert.equal(connectorOf(r, req('447011')), 'uk');
    assert.equal(connectorOf(r, req('337011')), 'default');
  });

  test('several prefixes per rule; the same prefix in several rules', () => {
    const r = new MtRouter([
      { prefix: ['31', '32'], account: 'x', connector: 'benelux-x' },
      { prefix: ['31', '32', '352'], connector: 'benelux' },
    ]);
    assert.equal(connectorOf(r, req('3161', { account: 'x' })), 'benelux-x');
    assert.equal(connectorOf(r, req('3161')), 'benelux');
    assert.equal(connectorOf(r, req('35261')), 'benelux');
    assert.equal(connectorOf(r, req('35361')), 0x0b);
  });

  test('origin accounts (one or several)', () => {
    const r = new MtRouter([
      { account: ['alice', 'carol'], connector: 'ac' },
      { account: 'bob', connector: 'b' },
    ]);
    assert.equal(connectorOf(r, req('1', { account: 'carol' })), 'ac');
    assert.equal(connectorOf(r, req('1', { account: 'bob' })), 'b');
    assert.equal(connectorOf(r, req('1', { account: 'dave' })), 0x0b);
  });

  test('source address: exact, prefix with *, and * for any', () => {
    const r = new MtRouter([
      { source: '1000', connector: 'exact' },
      { source: ['44*', '2000'], connector: 'prefix' },
      { source: '*', prefix: '9', connector: 'any-source' },
    ]);
    assert.equal(connectorOf(r, req('5', { source: '1000' })), 'exact');
    assert.equal(connectorOf(r, req('5', { source: '10000' })), 0x0b);
    assert.equal(connectorOf(r, req('5', { source: '4479' })), 'prefix');
    assert.equal(connectorOf(r, req('5', { source: '2000' })), 'prefix');
    assert.equal(connectorOf(r, req('5', { source: '3000' })), 0x0b);
    assert.equal(connectorOf(r, req('9')), 'any-source');
  });

  test('service_type and data_coding', () => {
    const r = new MtRouter([
      { serviceType: ['WAP', 'VMA'], connector: 'wap' },
      { dataCoding: [8], connector: 'ucs2' },
      { serviceType: '', dataCoding: 0, connector: 'plain' },
    ]);
    assert.equal(connectorOf(r, req('1', { serviceType: 'VMA', dataCoding: 8 })), 'wap');
    assert.equal(connectorOf(r, req('1', { dataCoding: 8 })), 'ucs2');
    assert.equal(connectorOf(r, req('1', { dataCoding: 0 })), 'plain');
    assert.equal(connectorOf(r, req('1', { serviceType: '', dataCoding: 0 })), 'plain');
    assert.equal(connectorOf(r, req('1')), 0x0b, 'no data_coding given: dataCoding rules do not match');
    assert.equal(connectorOf(r, req('1', { serviceType: 'CMT', dataCoding: 0 })), 0x0b);
  });

  test('all conditions of one rule must hold', () => {
    const r = new MtRouter([{ prefix: '44', account: 'alice', source: '10*', serviceType: 'X', dataCoding: 3, regex: '^44[0-9]{4}$', connector: 'c' }]);
    const ok = req('441234', { source: '1000', serviceType: 'X', dataCoding: 3 });
    assert.equal(connectorOf(r, ok), 'c');
    assert.equal(connectorOf(r, { ...ok, destination: '4412345' }), 0x0b);
    assert.equal(connectorOf(r, { ...ok, account: 'bob' }), 0x0b);
    assert.equal(connectorOf(r, { ...ok, source: '2000' }), 0x0b);
    assert.equal(connectorOf(r, { ...ok, serviceType: 'Y' }), 0x0b);
    assert.equal(connectorOf(r, { ...ok, dataCoding: 0 }), 0x0b);
    assert.equal(connectorOf(r, { ...ok, destination: '331234' }), 0x0b);
  });

  test('no match status is configurable', () => {
    const r = new MtRouter([{ prefix: '1', connector: 'c' }], { noRouteStatus: 0x45 });
    assert.deepEqual(r.route(req('2')), { status: 0x45 });
  });

  test('a regex given with the g flag does not keep state between lookups', () => {
    const r = new MtRouter([{ regex: /^1/g, connector: 'c' }]);
    for (let i = 0; i < 3; i++) assert.equal(connectorOf(r, req('123')), 'c');
  });

  test('prefix-only rules are never regex-tested', () => {
    let tests = 0;
    const counting = /^7/;
    const original = counting.test.bind(counting);
    counting.test = (s: string) => {
      tests++;
      return original(s);
    };
    const rules: MtRule[] = [];
    for (let i = 0; i < 1000; i++) rules.push({ prefix: String(1000 + i), connector: `p${i}` });
    rules.push({ regex: counting, connector: 'regex' });
    const r = new MtRouter(rules);
    assert.equal(connectorOf(r, req('1500123')), 'p500');
    assert.equal(tests, 0, 'a prefix rule matched before the regex rule: the regex is not tested');
    assert.equal(connectorOf(r, req('7')), 'regex');
    assert.equal(tests, 1);
  });

  test('bad rules are refused', () => {
    assert.throws(() => new MtRouter([{ connector: '' }]), RangeError);
    assert.throws(() => new MtRouter([{ prefix: [], connector: 'c' }]), RangeError);
  });

  test('property: agrees with a linear first-match reference', () => {
    const small = (chars: string, max: number) => fc.array(fc.constantFrom(...chars), { maxLength: max }).map((a) => a.join(''));
    const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const rule = fc.record(
      {
        account: opt(fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 2 })),
        prefix: opt(fc.array(small('123', 3), { minLength: 1, maxLength: 3 })),
        regex: opt(fc.constantFrom('^1', '2$', '^[13]+$', '3')),
        source: opt(fc.array(fc.oneof(small('12', 2), small('12', 2).map((s) => `${s}*`)), { minLength: 1, maxLength: 2 })),
        serviceType: opt(fc.array(fc.constantFrom('', 'X'), { minLength: 1, maxLength: 2 })),
        dataCoding: opt(fc.array(fc.constantFrom(0, 8), { minLength: 1, maxLength: 2 })),
      },
      { requiredKeys: [] },
    );
    const request = fc.record({
      account: fc.constantFrom('a', 'b', 'c'),
      destination: small('123', 5),
      source: small('12', 3),
      serviceType: fc.constantFrom('', 'X'),
      dataCoding: opt(fc.constantFrom(0, 8)),
    });
    const reference = (rules: MtRule[], q: MtRouteRequest): number => {
      return rules.findIndex((r) => {
        const l = <T>(v: T | readonly T[] | undefined): readonly T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v as T]);
        if (l(r.account) && !l(r.account)!.includes(q.account)) return false;
        if (l(r.prefix) && !l(r.prefix)!.some((p) => q.destination.startsWith(p))) return false;
        if (r.regex !== undefined && !new RegExp(r.regex).test(q.destination)) return false;
        const src = q.source ?? '';
        if (l(r.source) && !l(r.source)!.some((s) => (s.endsWith('*') ? src.startsWith(s.slice(0, -1)) : src === s))) return false;
        if (l(r.serviceType) && !l(r.serviceType)!.includes(q.serviceType ?? '')) return false;
        if (l(r.dataCoding) && (q.dataCoding === undefined || !l(r.dataCoding)!.includes(q.dataCoding))) return false;
        return true;
      });
    };
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 25 }), fc.array(request, { minLength: 1, maxLength: 20 }), (raw, requests) => {
        const rules: MtRule[] = raw.map((r, i) => {
          const out: MtRule = { connector: `c${i}` };
          for (const [k, v] of Object.entries(r)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
          return out;
        });
        const router = new MtRouter(rules);
        for (const q0 of requests) {
          const q: MtRouteRequest = { account: q0.account, destination: q0.destination, source: q0.source, serviceType: q0.serviceType };
          if (q0.dataCoding !== undefined) q.dataCoding = q0.dataCoding;
          const want = reference(rules, q);
          const got = router.route(q);
          if (want < 0) assert.deepEqual(got, { status: 0x0b });
          else assert.deepEqual(got, { connector: `c${want}`, failover: [], rule: want });
        }
      }),
      { numRuns: 500 },
    );
  });
});
