import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { MoRouter } from './mo-router.js';
import { isRoute, MtRouter } from './mt-router.js';
import { parseRoutes } from './parse.js';
import { ConfigKeyError } from './validate.js';

const statusByName = (n: string): number | undefined => ({ ESME_RINVDSTADR: 0x0b, ESME_RSUBMITFAIL: 0x45 })[n];

function fails(raw: unknown, key: string, reason: RegExp, options = {}): void {
  assert.throws(
    () => parseRoutes(raw, options),
    (e: unknown) => e instanceof ConfigKeyError && e.key === key && reason.test(e.reason) && e.message.includes(`'${key}'`),
    `expected an error on ${key}`,
  );
}

describe('parseRoutes', () => {
  test('the example config parses and routes', () => {
    const cfg = parseRoutes(
      parseYaml(`
mt:
  - { prefix: "4470", connector: network }
  - { prefix: "4479", connector: upstream-a, failover: [network] }
  - { regex: "^1[0-9]{3}$", account: alice, connector: hook }
mo:
  - { match: "2000", account: bob }
  - { prefix: "30", account: bob }
`),
    );
    assert.equal(cfg.noRouteStatus, 0x0b);
    assert.deepEqual(cfg.mt, [
      { connector: 'network', prefix: ['4470'] },
      { connector: 'upstream-a', prefix: ['4479'], failover: ['network'] },
      { connector: 'hook', account: ['alice'], regex: '^1[0-9]{3}$' },
    ]);
    assert.deepEqual(cfg.mo, [
      { account: 'bob', match: '2000' },
      { account: 'bob', prefix: '30' },
    ]);
    const mt = new MtRouter(cfg.mt, { noRouteStatus: cfg.noRouteStatus });
    const d = mt.route({ account: 'x', destination: '447912' });
    assert.ok(isRoute(d));
    assert.deepEqual(d.failover, ['network']);
    assert.equal(new MoRouter(cfg.mo).route('3055'), 'bob');
  });

  test('every MT condition, lists and single values', () => {
    const cfg = parseRoutes({
      noRouteStatus: 'ESME_RSUBMITFAIL',
      mt: [{ account: ['a', 'b'], prefix: ['1', ''], source: ['10*', '2000'], serviceType: ['', 'WAP'], dataCoding: [0, 8], connector: 'c' }],
    }, { statusByName });
    assert.equal(cfg.noRouteStatus, 0x45);
    assert.deepEqual(cfg.mt[0], { connector: 'c', account: ['a', 'b'], prefix: ['1', ''], source: ['10*', '2000'], serviceType: ['', 'WAP'], dataCoding: [0, 8] });
    assert.equal(parseRoutes({ noRouteStatus: 69 }).noRouteStatus, 69);
  });

  test('MT prefixes and sources written with a leading + match numbers as the SMSC keeps them, without it', () => {
    const cfg = parseRoutes({ mt: [{ prefix: ['+4479', '+'], source: ['+441000', '+44*', 'Brand'], connector: 'c' }] });
    assert.deepEqual(cfg.mt[0]!.prefix, ['4479', '+']);
    assert.deepEqual(cfg.mt[0]!.source, ['441000', '44*', 'Brand']);
  });

  test('absent or empty sections', () => {
    assert.deepEqual(parseRoutes(undefined), { mt: [], mo: [], noRouteStatus: 0x0b });
    assert.deepEqual(parseRoutes({}), { mt: [], mo: [], noRouteStatus: 0x0b });
  });

  test('errors name the key', () => {
    fails('x', 'routes', /mapping/);
    fails({ mtt: [] }, 'routes.mtt', /unknown key/);
    fails({ mt: {} }, 'routes.mt', /list/);
    fails({ mt: ['x'] }, 'routes.mt[0]', /mapping/);
    fails({ mt: [{ prefix: '1' }] }, 'routes.mt[0].connector', /non-empty/);
    fails({ mt: [{ connector: 'a' }, { connector: 'b' }, { prefix: 4470, connector: 'c' }] }, 'routes.mt[2].prefix', /quote it/);
    fails({ mt: [{ prefix: ['1', 2], connector: 'c' }] }, 'routes.mt[0].prefix[1]', /string/);
    fails({ mt: [{ prefix: [], connector: 'c' }] }, 'routes.mt[0].prefix', /empty list/);
    fails({ mt: [{ regex: '([', connector: 'c' }] }, 'routes.mt[0].regex', /regular expression/);
    fails({ mt: [{ dataCoding: 256, connector: 'c' }] }, 'routes.mt[0].dataCoding', /between 0 and 255/);
    fails({ mt: [{ serviceType: 'TOOLONG', connector: 'c' }] }, 'routes.mt[0].serviceType', /5 characters/);
    fails({ mt: [{ service_type: 'X', connector: 'c' }] }, 'routes.mt[0].service_type', /did you mean 'serviceType'/);
    fails({ mt: [{ connector: 'c', failover: ['d', 'c'] }] }, 'routes.mt[0].failover[1]', /own connector/);
    fails({ mt: [{ connector: 'c', failover: ['d', 'd'] }] }, 'routes.mt[0].failover[1]', /twice/);
    fails({ mt: [{ connector: 'c', failover: ['zz'] }] }, 'routes.mt[0].failover[0]', /unknown connector 'zz'/, { connectors: ['c'] });
    fails({ mt: [{ connector: 'x' }] }, 'routes.mt[0].connector', /unknown connector/, { connectors: ['c'] });
    fails({ mt: [{ connector: 'c', account: 'eve' }] }, 'routes.mt[0].account', /unknown account 'eve'/, { accounts: ['alice'] });
    fails({ noRouteStatus: 'ESME_NOPE' }, 'routes.noRouteStatus', /unknown command_status/, { statusByName });
    fails({ noRouteStatus: 'ESME_RINVDSTADR' }, 'routes.noRouteStatus', /unknown command_status/);
    fails({ noRouteStatus: 1.5 }, 'routes.noRouteStatus', /integer/);
    fails({ mo: [{ account: 'a' }] }, 'routes.mo[0].match', /exactly one/);
    fails({ mo: [{ match: '1', regex: '^2', account: 'a' }] }, 'routes.mo[0].regex', /exactly one/);
    fails({ mo: [{ match: '1' }] }, 'routes.mo[0].account', /non-empty/);
    fails({ mo: [{ match: '1', account: 'a' }, { match: '1', account: 'b' }] }, 'routes.mo[1].match', /routed twice/);
    fails({ mo: [{ prefix: '3', account: 'a' }, { prefix: '3', account: 'b' }] }, 'routes.mo[1].prefix', /routed twice/);
    fails({ mo: [{ match: 2000, account: 'a' }] }, 'routes.mo[0].match', /quote it/);
    fails({ mo: [{ regex: '(', account: 'a' }] }, 'routes.mo[0].regex', /regular expression/);
    fails({ mo: [{ match: '1', account: 'x' }] }, 'routes.mo[0].account', /unknown account/, { accounts: ['a'] });
  });

  test('a custom path prefixes the keys', () => {
    fails({ mt: [{}] }, 'cfg.routes.mt[0].connector', /non-empty/, { path: 'cfg.routes' });
  });
});
