/** `smsc config check` as a user runs it, and that it finds what `smsc start` would refuse. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkSections } from '../../src/app/check-config.js';
import { startSmsc } from '../../src/app/smsc.js';
import { writeDemoConfig } from '../../src/cli/start.js';
import { ConfigError, validateConfig } from '../../src/config/config.js';
import { testTlsPair } from '../support/tls.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMSC_')));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, 'config', 'check', ...args], { encoding: 'utf8', timeout: 20_000, env: { ...cleanEnv, ...env } });

const dir = mkdtempSync(join(tmpdir(), 'smsc-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));
/** A file in the test folder holding `text`. */
function pemFile(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

let n = 0;
function file(yaml: string): string {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}

const GOOD = `smpp:
  listeners: [{ host: 127.0.0.1, port: 0 }]
store:
  sqlite: { path: ./smsc.db }
accounts:
  - { systemId: alice, password: apw, addresses: ["1000"] }
connectors:
  hook: { type: http, url: "http://127.0.0.1:49/sms" }
network:
  ranges: [{ prefix: "44" }]
routes:
  mt: [{ prefix: "44", connector: network, failover: [hook] }]
`;

test('a good file: ok and a summary, exit 0', () => {
  const r = run([file(GOOD)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ok: /);
  assert.match(r.stdout, /1 account \(alice\)/);
  assert.match(r.stdout, /connectors: hook, network; routes: 1 MT rule, 0 MO rules/);
  assert.match(r.stdout, /admin: off/);
  const example = run(['config/smsc.example.yaml']);
  assert.equal(example.status, 0, example.stderr);
});

test('a bad key anywhere: the key named, exit 1, nothing on stdout', () => {
  const cases: [string, RegExp][] = [
    [GOOD.replace('port: 0', 'port: 0, hots: x'), /config key 'smpp\.listeners\[0\]\.hots': unknown key \(did you mean 'host'\?\)/],
    [GOOD.replace('password: apw', 'password: far-too-long'), /accounts\[0\]\.password/],
    [GOOD.replace('connector: network', 'connector: nowhere'), /routes\.mt\[0\]\.connector': unknown connector 'nowhere'/],
    [GOOD.replace('type: http', 'type: ftp'), /connectors\.hook\.type/],
    [GOOD.replace('url: ', 'timeoutMs: 0, url: '), /connectors\.hook\.timeoutMs/],
    // An attempt must end within its message's lease (60 s by default, a tenth kept for the outcome).
    [GOOD.replace('url: ', 'timeoutMs: 54000, url: '), /connectors\.hook\.timeoutMs': must be less than 54000 ms.*delivery\.leaseMs \(60000 ms/],
    [GOOD.replace('prefix: "44" }]', 'prefix: "44", latencyMs: 50000, latencyJitterMs: 4000 }]'), /network\.ranges\[0\]\.latencyMs': must be less than 54000 ms/],
    [`${GOOD}delivery: { leaseMs: 10000 }\n`, /delivery\.leaseMs': must leave more than smpp\.responseTimeoutMs \(30000 ms\).*10000 ms leaves 9000/],
    [GOOD.replace('prefix: "44" }]\nroutes', 'prefix: "44", successRatio: 2 }]\nroutes'), /network\.ranges\[0\]\.successRatio/],
    [`${GOOD}  mo: [{ match: "2000", account: bob }]\n`, /routes\.mo\[0\]\.account': unknown account 'bob'/],
    [GOOD.replace('addresses: ["1000"]', 'addresses: ["1000"], allowedIps: ["10.0.0.0/99"]'), /accounts\[0\]\.allowedIps\[0\]/],
    [`${GOOD}admin: { listen: "127.0.0.1:0" }\n`, /admin\.token': is required/],
  ];
  for (const [yaml, message] of cases) {
    const r = run([file(yaml)]);
    assert.equal(r.status, 1, `${message}: ${r.stdout}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  const missing = run([join(dir, 'nope.yaml')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read/);
});

test('environment overrides apply, are listed, and a bad one names the variable and the key', () => {
  const f = file(GOOD);
  const ok = run([f], { SMSC_ADMIN__TOKEN: 'tokentoken', SMSC_SMPP__WINDOW_SIZE: '50' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /admin: on 127\.0\.0\.1:8775/);
  assert.match(ok.stdout, /environment overrides: SMSC_ADMIN__TOKEN → admin\.token, SMSC_SMPP__WINDOW_SIZE → smpp\.windowSize/);
  assert.doesNotMatch(ok.stdout, /tokentoken/, 'the token is not printed');
  const bad = run([f], { SMSC_SMPP__WINDOW_SIZE: 'fifty' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /config key 'smpp\.windowSize': environment variable SMSC_SMPP__WINDOW_SIZE: must be an integer, got 'fifty'/);
  const route = run([f], { SMSC_ROUTES__MT__0__CONNECTOR: 'nowhere' });
  assert.equal(route.status, 1);
  assert.match(route.stderr, /routes\.mt\[0\]\.connector/);
  // Without FILE: SMSC_CONFIG names it.
  const byEnv = run([], { SMSC_CONFIG: f });
  assert.equal(byEnv.status, 0, byEnv.stderr);
  assert.match(byEnv.stdout, new RegExp(`^ok: ${f}`));
});

test('the demo config of the first start passes', () => {
  const f = join(dir, 'demo', 'smsc.yaml');
  writeDemoConfig(f);
  const r = run([f]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 accounts \(alice, bob\)/);
  assert.match(r.stdout, /admin: on/);
});

test('config check refuses what startSmsc refuses, naming the same key', { timeout: 60_000 }, async () => {
  const base = {
    smpp: { listeners: [{ port: 0 }] },
    store: { sqlite: { path: ':memory:' } },
    accounts: [{ systemId: 'alice', password: 'apw' }],
    connectors: { hook: { type: 'http', url: 'http://127.0.0.1:49/' }, up: { type: 'smpp', host: 'h', port: 1, systemId: 's', password: 'p' } },
    network: { ranges: [{ prefix: '44' }] },
    routes: { mt: [{ prefix: '44', connector: 'network' }], mo: [{ match: '1000', account: 'alice' }] },
  };
  const bad: [Record<string, unknown>, string][] = [
    [{ connectors: 'x' }, 'connectors'],
    [{ connectors: { a: { type: 'nope' } } }, 'connectors.a.type'],
    [{ connectors: { a: { type: 'http', url: 'ftp://x' } } }, 'connectors.a.url'],
    [{ connectors: { a: { type: 'smpp', host: 'h', port: 1, systemId: 's', password: 'p', window: 0 } } }, 'connectors.a.window'],
    [{ connectors: { a: { type: 'network', ranges: [] } } }, 'connectors.a.ranges'],
    [{ network: { ranges: [{ prefix: '44', latencyMs: -1 }] } }, 'network.ranges[0].latencyMs'],
    [{ routes: { mt: [{ prefix: '44', connector: 'hook', failover: ['nowhere'] }] } }, 'routes.mt[0].failover[0]'],
    [{ routes: { mo: [{ match: '1', account: 'carol' }] } }, 'routes.mo[0].account'],
    [{ routes: { noRouteStatus: 'ESME_RNOPE' } }, 'routes.noRouteStatus'],
    // Found at start now too (they used to fail only at the first bind, or as a plain Error).
    [{ accounts: [{ systemId: 'alice', password: 'apw', allowedIps: ['10.0.0.0/99'] }] }, 'accounts[0].allowedIps[0]'],
    [{ smpp: { listeners: [{ port: 0 }], unknownSystemIdStatus: 'ESME_RNOPE' } }, 'smpp.unknownSystemIdStatus'],
    [{ connectors: { 'a,b': { type: 'http', url: 'http://127.0.0.1:49/' } } }, 'connectors.a,b'],
    // Names of other targets: the network section's, an account's own binds (taken over in silence).
    [{ connectors: { network: { type: 'http', url: 'http://127.0.0.1:49/' } } }, 'connectors.network'],
    [{ connectors: { 'esme:alice': { type: 'http', url: 'http://127.0.0.1:49/' } } }, 'connectors.esme:alice'],
    [{ accounts: [{ systemId: 'alice', password: 'apw', outbind: { host: 'h', ca: '/no/such/ca.pem', tls: true } }] }, 'accounts[0].outbind.ca'],
    [{ accounts: [{ systemId: 'alice', password: 'apw', outbind: { host: 'h', ca: CLI } }] }, 'accounts[0].outbind.ca'],
    // A listener's certificate that is none, or a key that is not its own (start failed with an
    // OpenSSL error naming no key); a PostgreSQL URL that is no URL (start: 'Invalid URL').
    [{ smpp: { listeners: [{ port: 0, tls: { cert: CLI, key: CLI } }] } }, 'smpp.listeners[0].tls.cert'],
    [{ smpp: { listeners: [{ port: 0, tls: { cert: pemFile('cert.pem', testTlsPair().cert), key: CLI } }] } }, 'smpp.listeners[0].tls.key'],
    [{ store: { postgres: { url: 'postgres://u:pw@127.0.0.1:notaport/db' } } }, 'store.postgres.url'],
  ];
  const keyOf = (e: unknown) => (e instanceof ConfigError ? e.key : `not a ConfigError: ${String(e)}`);
  for (const [change, key] of bad) {
    const config = validateConfig({ ...base, ...change });
    let checkKey: string | undefined;
    try {
      checkSections(config);
    } catch (e) {
      checkKey = keyOf(e);
    }
    let startKey: string | undefined;
    try {
      const smsc = await startSmsc(config);
      await smsc.stop();
    } catch (e) {
      startKey = keyOf(e);
    }
    assert.equal(checkKey, key, `config check on ${JSON.stringify(change)}`);
    assert.equal(startKey, key, `startSmsc on ${JSON.stringify(change)}`);
  }
  assert.doesNotThrow(() => checkSections(validateConfig(base)));
});
