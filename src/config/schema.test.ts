/** Validation driven by the schema: unknown keys, defaults and ranges come from schema.ts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, validateConfig } from './config.js';
import { type Field, parseHostPort, SCHEMA, type SectionField } from './schema.js';

const ok = { accounts: [{ systemId: 'a', password: 'pw' }] };

function throwsKey(raw: unknown, key: string, reason?: RegExp): void {
  assert.throws(
    () => validateConfig(raw, '/srv'),
    (e: unknown) => e instanceof ConfigError && e.key === key && e.message.includes(`'${key}'`) && (reason === undefined || reason.test(e.reason)),
    `expected an error naming ${key}`,
  );
}

test('unknown keys in known sections are errors naming the key', () => {
  throwsKey({ smpp: { windowsize: 5 } }, 'smpp.windowsize', /did you mean 'windowSize'/);
  throwsKey({ smpp: { listeners: [{ port: 1, hots: 'x' }] } }, 'smpp.listeners[0].hots', /did you mean 'host'/);
  throwsKey({ store: { sqlite: { file: 'x' } } }, 'store.sqlite.file', /unknown key \(known: path\)/);
  throwsKey({ delivery: { retry: 1 } }, 'delivery.retry', /known: retryDelayMs, maxRetryDelayMs, leaseMs/);
  throwsKey({ admin: { token: 'tokentoken', port: 1 } }, 'admin.port');
  throwsKey({ accounts: [{ systemId: 'a', password: 'p', max_binds: 2 }] }, 'accounts[0].max_binds', /did you mean 'maxBinds'/);
  throwsKey({ accounts: [{ systemId: 'a', password: 'p', outbind: { host: 'h', prot: 1 } }] }, 'accounts[0].outbind.prot');
});

test('at the top level too, unknown keys are errors, near misses named; x- keys (YAML anchors) are the file\'s own', () => {
  throwsKey({ acounts: [] }, 'acounts', /did you mean 'accounts'/);
  throwsKey({ node_id: 'x' }, 'node_id', /did you mean 'nodeId'/);
  throwsKey({ ...ok, telemetry: { level: 'debug' } }, 'telemetry', /unknown key \(known: nodeId, smpp, /);
  const c = validateConfig({ ...ok, 'x-limits': { tps: 10 } });
  assert.deepEqual(c['x-limits'], { tps: 10 });
});

test('the sections parsed elsewhere are kept as given', () => {
  const routes = { mt: [{ prefix: '44', connector: 'network' }] };
  const c = validateConfig({ ...ok, routes, network: { ranges: [{ prefix: '44' }] } });
  assert.deepEqual(c['routes'], routes);
  assert.deepEqual(c['network'], { ranges: [{ prefix: '44' }] });
});

test('every default of the schema is what validation fills in', () => {
  const c = validateConfig({ accounts: [{ systemId: 'a', password: 'p' }], admin: { token: 'tokentoken' } }, '/srv') as unknown as Record<string, unknown>;
  let checked = 0;
  const walk = (section: SectionField, value: Record<string, unknown>, path: string) => {
    for (const [k, f] of Object.entries(section.keys) as [string, Field][]) {
      if (f.type === 'section' && f.parsedBy === undefined && value[k] !== undefined) walk(f, value[k] as Record<string, unknown>, `${path}.${k}`);
      if (f.type === 'list' && Array.isArray(value[k]) && (value[k] as unknown[]).length > 0) walk(f.item, (value[k] as Record<string, unknown>[])[0]!, `${path}.${k}[0]`);
      if ((f.type === 'integer' || f.type === 'string') && f.default !== undefined && !(f.type === 'string' && f.path)) {
        assert.equal(value[k], f.default, `${path}.${k}`);
        checked++;
      }
    }
  };
  walk(SCHEMA, c, '');
  assert.ok(checked >= 25, `only ${checked} defaults checked`);
  assert.deepEqual((c['accounts'] as { addresses: string[] }[])[0]!.addresses, [], 'addresses default to none');
  assert.equal((c['store'] as { sqlite: { path: string } }).sqlite.path, '/srv/data/smsc.db');
});

test('ranges, lengths and types come from the schema', () => {
  throwsKey({ smpp: { maxPduBytes: 1023 } }, 'smpp.maxPduBytes', /between 1024 and 16777216/);
  throwsKey({ smpp: { maxConnections: 0 } }, 'smpp.maxConnections', /at least 1/);
  throwsKey({ store: { commitDelayMs: 1.5 } }, 'store.commitDelayMs', /integer/);
  throwsKey({ store: { sqlite: 'x' } }, 'store.sqlite', /mapping/);
  throwsKey({ admin: { listen: '1:2' } }, 'admin.token', /is required/);
  for (const listen of ['localhost', '127.0.0.1:99999', '::1:8775', '127.0.0.1:', ':8775']) {
    throwsKey({ admin: { listen, token: 'tokentoken' } }, 'admin.listen', /host:port/);
  }
  assert.equal(validateConfig({ admin: { listen: '[::1]:0', token: 'tokentoken' } }).admin?.listen, '[::1]:0');
  throwsKey({ admin: { token: '          ' } }, 'admin.token', /white space/);
  throwsKey({ admin: { token: ' tokentoken' } }, 'admin.token', /white space/);
  assert.deepEqual(parseHostPort('[::1]:8775'), { host: '::1', port: 8775 });
  assert.deepEqual(parseHostPort('smsc.example:80'), { host: 'smsc.example', port: 80 });
  // Node keeps timers up to 2^31-1 ms; a longer one fires at once.
  throwsKey({ smpp: { sessionInitTimeoutMs: 3_000_000_000 } }, 'smpp.sessionInitTimeoutMs', /between 0 and 2147483647/);
  throwsKey({ delivery: { retryDelayMs: 2_147_483_648 } }, 'delivery.retryDelayMs', /between 1 and 2147483647/);
  throwsKey({ accounts: [{ systemId: 'a', password: 'p', maxValiditySeconds: 1e13 }] }, 'accounts[0].maxValiditySeconds', /between 1 and 315360000/);
  throwsKey({ accounts: [{ systemId: 'a', password: '' }] }, 'accounts[0].password', /at least 1/);
  throwsKey({ accounts: [{ systemId: '', password: 'p' }] }, 'accounts[0].systemId', /at least 1/);
  throwsKey({ admin: { token: 'short' } }, 'admin.token', /at least 8 characters/);
  throwsKey({ delivery: { leaseMs: 33_333 } }, 'delivery.leaseMs', /more than smpp\.responseTimeoutMs \(30000 ms\).*33333 ms leaves 29999/);
  assert.equal(validateConfig({ delivery: { leaseMs: 33_335 } }).delivery.leaseMs, 33_335, 'leaves 30001 ms: enough');
  assert.equal(validateConfig({ delivery: { leaseMs: 2000 }, smpp: { responseTimeoutMs: 1799 } }).smpp.responseTimeoutMs, 1799);
  throwsKey({ accounts: [{ systemId: 'a', password: 'p', addresses: '1000' }] }, 'accounts[0].addresses', /list/);
  throwsKey({ smpp: { listeners: [{ tls: { cert: 'c' } }] } }, 'smpp.listeners[0].tls.key', /is required/);
  const c = validateConfig({ smpp: { listeners: [{ tls: { cert: 'c.pem', key: '/k.pem' } }] }, admin: null }, '/srv');
  assert.deepEqual(c.smpp.listeners[0]!.tls, { cert: '/srv/c.pem', key: '/k.pem' });
  assert.equal(c.admin, undefined, 'an empty admin section is no admin section');
});
