/** SMSC_* environment overrides: typed by the schema, errors name the variable and the key. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadConfig, loadConfigWithOverrides } from './config.js';
import { envName } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'smsc-env-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(yaml: string): string {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}
const base = file(`smpp:
  windowSize: 7
accounts:
  - { systemId: alice, password: apw }
network:
  ranges: [{ prefix: "44" }]
`);

function throwsKey(fn: () => unknown, key: string, ...parts: string[]): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof ConfigError && e.key === key && parts.every((p) => e.message.includes(p)),
    `expected an error naming ${key} and ${parts.join(', ')}`,
  );
}

test('variables override the file, typed by the schema', () => {
  const { config, overrides } = loadConfigWithOverrides(base, {
    SMSC_SMPP__WINDOW_SIZE: '50',
    SMSC_NODE_ID: 'n7',
    SMSC_ADMIN__TOKEN: 'tokentoken',
    SMSC_ACCOUNTS__0__PASSWORD: 'secret',
    SMSC_ACCOUNTS__0__ADDRESSES: '1000, 2000*',
    SMSC_NETWORK__RANGES__0__SUCCESS_RATIO: '0.5',
    SMSC_ROUTES__NO_ROUTE_STATUS: '11',
  });
  assert.equal(config.smpp.windowSize, 50);
  assert.equal(config.nodeId, 'n7');
  assert.deepEqual(config.admin, { listen: '127.0.0.1:8775', token: 'tokentoken', publicMetrics: false, hideMessageContent: false }, 'a missing section is created');
  assert.equal(config.accounts[0]!.password, 'secret');
  assert.deepEqual(config.accounts[0]!.addresses, ['1000', '2000*']);
  assert.deepEqual(config['network'], { ranges: [{ prefix: '44', successRatio: 0.5 }] });
  assert.deepEqual(config['routes'], { noRouteStatus: 11 });
  assert.deepEqual(
    overrides.map((o) => o.key),
    ['accounts[0].addresses', 'accounts[0].password', 'admin.token', 'network.ranges[0].successRatio', 'nodeId', 'routes.noRouteStatus', 'smpp.windowSize'],
  );
  assert.equal(loadConfig(base, {}).smpp.windowSize, 7, 'without the variable the file counts');
});

test('case and single underscores within a key do not matter', () => {
  assert.equal(loadConfig(base, { SMSC_SMPP__WINDOWSIZE: '9' }).smpp.windowSize, 9);
  assert.equal(loadConfig(base, { SMSC_smpp__window_size: '8' }).smpp.windowSize, 8);
  assert.equal(envName(['smpp', 'enquireLinkIntervalMs']), 'SMSC_SMPP__ENQUIRE_LINK_INTERVAL_MS');
});

test('a bad value names the variable and the key', () => {
  throwsKey(() => loadConfig(base, { SMSC_SMPP__WINDOW_SIZE: 'big' }), 'smpp.windowSize', 'SMSC_SMPP__WINDOW_SIZE', 'must be an integer', "'big'");
  throwsKey(() => loadConfig(base, { SMSC_SMPP__WINDOW_SIZE: '1.5' }), 'smpp.windowSize', 'must be an integer');
  throwsKey(() => loadConfig(base, { SMSC_NETWORK__RANGES__0__SUCCESS_RATIO: 'half' }), 'network.ranges[0].successRatio', 'must be a number');
  // Out of range: found by validation, reported with the variable that set it.
  throwsKey(() => loadConfig(base, { SMSC_SMPP__WINDOW_SIZE: '0' }), 'smpp.windowSize', 'between 1 and 10000', 'SMSC_SMPP__WINDOW_SIZE');
  throwsKey(() => loadConfig(base, { SMSC_ACCOUNTS__0__PASSWORD: 'far-too-long' }), 'accounts[0].password', 'at most 8', 'SMSC_ACCOUNTS__0__PASSWORD');
});

test('variables that name no key', () => {
  // Without a double underscore: not an override (SMSC_CONFIG, SMSC_ADMIN_TOKEN of `smsc mo`).
  assert.equal(loadConfig(base, { SMSC_CONFIG: 'x.yaml', SMSC_ADMIN_TOKEN: 't', SMSC_ELSE: '1' }).admin, undefined);
  throwsKey(() => loadConfig(base, { SMSC_SMPP__WINDOWSIZ: '5' }), 'SMSC_SMPP__WINDOWSIZ', 'names no config key', 'SMSC_SMPP__WINDOW_SIZE');
  throwsKey(() => loadConfig(base, { SMSC_SMPP: '5' }), 'smpp', 'names a section');
  throwsKey(() => loadConfig(base, { SMSC_ACCOUNTS__3__PASSWORD: 'x' }), 'accounts[3]', 'does not exist in the file');
  throwsKey(() => loadConfig(base, { SMSC_ACCOUNTS__ALICE__PASSWORD: 'x' }), 'accounts', 'list index');
  throwsKey(() => loadConfig(base, { SMSC_CONNECTORS__HOOK__URL: 'x' }), 'connectors', 'cannot be set from the environment');
  throwsKey(() => loadConfig(base, { SMSC_NETWORK__RANGES__0__FAILURE: 'busy' }), 'network.ranges[0].failure', 'cannot be set from the environment');
});

test('a file may keep shared settings under an x- key and merge them with <<', () => {
  const f = file(`x-account: &account
  maxBinds: 3
  tps: 50
accounts:
  - { <<: *account, systemId: alice, password: apw }
  - { <<: *account, systemId: bob, password: bpw, tps: 10 }
`);
  const c = loadConfig(f, {});
  assert.deepEqual(
    c.accounts.map((a) => [a.systemId, a.maxBinds, a.tps]),
    [
      ['alice', 3, 50],
      ['bob', 3, 10],
    ],
  );
  throwsKey(() => loadConfig(file('accounts:\n  - { systemId: a, password: p, outbind: { host: h, password: "" } }\n'), {}), 'accounts[0].outbind.password');
});
