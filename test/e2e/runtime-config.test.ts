/**
 * Accounts, routes and connectors managed at run time through the admin API of a started SMSC
 * on a SQLite file: every change applies to the next bind or submit without a restart, and
 * survives one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAdmin } from '../../src/app/admin.js';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { type Client, connect, type Delivery } from '../../src/client/client.js';
import { type Config, validateConfig } from '../../src/config/config.js';
import type { CommandStatusError } from '../../src/errors.js';
import { CommandStatus as S } from '../../src/pdu/constants.js';
import { ManualClock } from '../../src/session/clock.js';
import type { ConfigStore } from '../../src/store/config-store.js';
import { startOutbindEsme } from '../support/outbind-esme.js';
import { testTlsPair } from '../support/tls.js';
import { until } from '../support/until.js';

const TOKEN = 'runtime-test-token';

let dir: string;
let clock: ManualClock;
let config: Config;
let smsc: Smsc;
let admin: Awaited<ReturnType<typeof startAdmin>>;
const clients: Client[] = [];

async function start(): Promise<void> {
  smsc = await startSmsc(config, { clock });
  admin = await startAdmin(smsc, { listen: '127.0.0.1:0', token: TOKEN }, {});
}

async function stop(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await admin.close();
  await smsc.stop();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsc-runtime-'));
  clock = new ManualClock(Date.UTC(2026, 10, 21, 12));
  config = validateConfig({
    smpp: { listeners: [{ port: 0 }], enquireLinkIntervalMs: 0 },
    store: { sqlite: { path: join(dir, 'smsc.db') } },
    accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
    routes: { mt: [{ prefix: '44', connector: 'network' }] },
    network: { ranges: [{ prefix: '4', latencyMs: 0, successRatio: 1 }] },
  });
  await start();
});

after(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function api(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://${admin.address}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function bind(systemId: string, password: string, type: 'transmitter' | 'transceiver' = 'transceiver'): Promise<Client> {
  const c = await connect({ port: smsc.listening[0]!.port, session: { windowSize: 20 } });
  clients.push(c);
  try {
    await c.bind({ type, systemId, password });
  } catch (err) {
    await c.close().catch(() => {});
    throw err;
  }
  return c;
}

/** The command_status a bind gets (0 when it succeeds; the session is closed again). */
async function bindStatus(systemId: string, password: string): Promise<number> {
  try {
    const c = await bind(systemId, password, 'transmitter');
    await c.close();
    return 0;
  } catch (err) {
    return (err as CommandStatusError).commandStatus;
  }
}

async function submit(c: Client, from: string, to: string, text = 'x'): Promise<{ status: number; id?: string }> {
  try {
    const r = await c.submit({ sourceAddr: from, destinationAddr: to, shortMessage: Buffer.from(text) });
    return { status: 0, id: r.messageId };
  } catch (err) {
    return { status: (err as CommandStatusError).commandStatus };
  }
}

describe('accounts through the admin API', () => {
  test('create → bind with the returned password → tps applies → owned address routes to it → disable unbinds and refuses binds', async () => {
    assert.equal((await api('POST', '/api/accounts', { systemId: 'carol' }, null)).status, 401);
    const bad = await api('POST', '/api/accounts', { systemId: 'carol', tps: -1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body['field'], 'tps');
    // alice (config file) owns 1000: another account may not take it.
    const stolen = await api('POST', '/api/accounts', { systemId: 'carol', addresses: ['3000', '1000'] });
    assert.equal(stolen.status, 409);
    assert.equal(stolen.body['field'], 'addresses[1]');
    assert.equal((await api('GET', '/api/accounts/carol')).status, 404);

    const created = await api('POST', '/api/accounts', { systemId: 'carol', addresses: ['3000'], tps: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const password = created.body['password'] as string;
    assert.match(password, /^[A-Za-z0-9]{8}$/);
    const account = created.body['account'] as Record<string, unknown>;
    assert.equal(account['source'], 'store');
    assert.equal(account['tps'], 2);
    assert.equal(account['credential'], 'hash');
    assert.equal((await api('GET', '/api/accounts/carol')).body['systemId'], 'carol');

    const carol = await bind('carol', password);
    // tps 2: a burst of one second, then ESME_RTHROTTLED (the ManualClock does not move).
    const burst = await Promise.all([1, 2, 3].map(() => submit(carol, '3000', '1000')));
    assert.deepEqual(burst.map((r) => r.status).sort(), [0, 0, S.ESME_RTHROTTLED]);
    // Its declared addresses bound what it may send from.
    assert.equal((await submit(carol, '3999', '1000')).status, S.ESME_RINVSRCADR);

    // A change applies to the next submit.
    assert.equal((await api('PATCH', '/api/accounts/carol', { tps: 0 })).status, 200);
    assert.deepEqual((await Promise.all([1, 2, 3].map(() => submit(carol, '3000', '1000')))).map((r) => r.status), [0, 0, 0]);

    // MT to an address the new account owns goes to its session.
    const alice = await bind('alice', 'apw', 'transmitter');
    const toCarol = await submit(alice, '1000', '3000', 'for carol');
    assert.equal(toCarol.status, 0);
    assert.equal((await smsc.store.get(toCarol.id!))?.target, 'esme:carol');
    const it = carol.deliveries()[Symbol.asyncIterator]();
    const got = (await it.next()).value as Delivery;
    assert.equal(got.command === 'deliver_sm' && got.shortMessage.toString(), 'for carol');

    // Disabled: its session is unbound and binds are refused.
    const closed = carol.closed();
    const disabled = await api('PATCH', '/api/accounts/carol', { disabled: true });
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body['disabled'], true);
    await closed;
    assert.equal(await bindStatus('carol', password), S.ESME_RBINDFAIL);

    // Enabled with a new password: the old one no longer works, and a session bound with the
    // old one ends (a reset after a leaked password must cut the binds made with it).
    assert.equal((await api('PATCH', '/api/accounts/carol', { disabled: false })).status, 200);
    const before = await bind('carol', password);
    const endedByReset = before.closed();
    const reset = await api('POST', '/api/accounts/carol/password', { password: 'n3wpass' });
    assert.equal(reset.status, 200);
    await endedByReset;
    assert.equal(await bindStatus('carol', password), S.ESME_RINVPASWD);
    assert.equal(await bindStatus('carol', 'n3wpass'), 0);
  });

  test('config accounts are read only; a taken system_id is refused; an account named by a route cannot be deleted', async () => {
    const patch = await api('PATCH', '/api/accounts/alice', { tps: 1 });
    assert.equal(patch.status, 409);
    assert.equal(patch.body['code'], 'SMSC_ADMIN_ACCOUNT_READ_ONLY');
    assert.equal(patch.body['field'], 'id');
    assert.equal((await api('DELETE', '/api/accounts/alice')).status, 409);
    const taken = await api('POST', '/api/accounts', { systemId: 'alice' });
    assert.equal(taken.status, 409);
    assert.equal(taken.body['field'], 'systemId');
    const list = (await api('GET', '/api/accounts')).body['accounts'] as { systemId: string; source: string }[];
    assert.deepEqual(
      list.map((a) => [a.systemId, a.source]),
      [
        ['alice', 'config'],
        ['carol', 'store'],
      ],
    );

    assert.equal((await api('PUT', '/api/routes', { mt: [{ prefix: '44', connector: 'network' }], mo: [{ match: '7000', account: 'carol' }] })).status, 200);
    const inUse = await api('DELETE', '/api/accounts/carol');
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body['code'], 'SMSC_ADMIN_ACCOUNT_IN_USE');
    assert.equal((await api('DELETE', '/api/routes')).status, 200);
    // A routing table moved from Kannel or Jasmin: 2,000 rules, past the API's usual 64 KiB.
    const big = { mt: Array.from({ length: 2000 }, (_, i) => ({ prefix: `44${String(i).padStart(6, '0')}`, connector: 'network', source: ['1000', '2000*'] })) };
    assert.ok(JSON.stringify(big).length > 64 * 1024);
    assert.equal((await api('PUT', '/api/routes', big)).status, 200);
    assert.equal(((await api('GET', '/api/routes')).body['routes'] as { mt: unknown[] }).mt.length, 2000);
    assert.equal((await api('DELETE', '/api/routes')).status, 200);
  });

  test('accounts survive a restart; a deleted account can no longer bind', async () => {
    await stop();
    // Message ids are time based: a restarted node must not start at the same clock reading.
    clock.advance(60_000);
    await start();
    assert.equal(await bindStatus('carol', 'n3wpass'), 0);
    const gone = await api('DELETE', '/api/accounts/carol');
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.equal(await bindStatus('carol', 'n3wpass'), S.ESME_RINVSYSID);
    assert.equal((await api('GET', '/api/accounts/carol')).status, 404);
  });
});

describe('outbind of an account made through the admin API', () => {
  test('the SMSC outbinds to it with the password given, which the API never shows; null removes it', async () => {
    const esme = await startOutbindEsme({ systemId: 'dave', password: 'dpw' });
    const port = esme.port;
    try {
      const created = await api('POST', '/api/accounts', { systemId: 'dave', password: 'dpw', addresses: ['5000'], outbind: { host: '127.0.0.1', port, password: 'obpw' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual((created.body['account'] as Record<string, unknown>)['outbind'], { host: '127.0.0.1', port });
      await until(() => smsc.server.receiversOf('dave').length === 1, 'dave bound through the outbind', { clock, stepMs: 250 });
      assert.equal(esme.outbinds[0]?.systemId, smsc.config.smpp.systemId);
      assert.equal(esme.outbinds[0]?.password, 'obpw');
      assert.deepEqual((await api('GET', '/api/accounts/dave')).body['outbind'], { host: '127.0.0.1', port });

      const removed = await api('PATCH', '/api/accounts/dave', { outbind: null });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.equal(removed.body['outbind'], undefined);
      assert.equal((await api('PATCH', '/api/accounts/dave', { outbind: { host: '127.0.0.1' } })).status, 400, 'a port is needed');
      assert.equal((await api('PATCH', '/api/accounts/dave', { outbind: false })).status, 400, 'only null removes it');
      assert.equal((await api('DELETE', '/api/accounts/dave')).status, 200);
    } finally {
      await esme.close();
    }
  });

  test("over TLS: the ESME's certificate is verified against the caPem given (never shown back); bad or misplaced CAs name the field", async () => {
    const pair = testTlsPair();
    const esme = await startOutbindEsme({ systemId: 'erin', password: 'epw', tls: pair });
    const port = esme.port;
    try {
      const noTls = await api('POST', '/api/accounts', { systemId: 'erin', password: 'epw', outbind: { host: '127.0.0.1', port, caPem: pair.cert } });
      assert.equal(noTls.status, 400);
      assert.equal(noTls.body['field'], 'outbind.caPem');
      const garbage = await api('POST', '/api/accounts', { systemId: 'erin', password: 'epw', outbind: { host: '127.0.0.1', port, tls: true, caPem: 'not a certificate' } });
      assert.equal(garbage.status, 400);
      assert.equal(garbage.body['field'], 'outbind.caPem');

      const created = await api('POST', '/api/accounts', { systemId: 'erin', password: 'epw', addresses: ['6000'], outbind: { host: '127.0.0.1', port, tls: true, caPem: pair.cert } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual((created.body['account'] as Record<string, unknown>)['outbind'], { host: '127.0.0.1', port, tls: true });
      // Small clock steps: a TLS handshake on a loaded machine must not look like an ESME that never binds.
      await until(() => smsc.server.receiversOf('erin').length === 1, 'erin bound through the TLS outbind', { clock, stepMs: 20, ms: 20_000 });
      assert.equal((await api('DELETE', '/api/accounts/erin')).status, 200);
    } finally {
      await esme.close();
    }
  });
});

describe('routes through the admin API', () => {
  test('a new routes document applies to the next submit; bad ones name the field; clearing restores the config routes', async () => {
    const alice = await bind('alice', 'apw', 'transmitter');
    assert.equal((await submit(alice, '1000', '447700900001')).status, 0);
    assert.equal((await submit(alice, '1000', '457700900001')).status, S.ESME_RINVDSTADR);
    assert.deepEqual((await api('GET', '/api/routes')).body, { source: 'config', routes: { mt: [{ prefix: '44', connector: 'network' }] } });

    const unknown = await api('PUT', '/api/routes', { mt: [{ prefix: '45', connector: 'nowhere' }] });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body['code'], 'SMSC_ADMIN_ROUTES_INVALID');
    assert.equal(unknown.body['field'], 'mt[0].connector');
    const noAccount = await api('PUT', '/api/routes', { mo: [{ match: '7000', account: 'nobody' }] });
    assert.equal(noAccount.body['field'], 'mo[0].account');
    const extra = await api('PUT', '/api/routes', { mt: [], moo: [] });
    assert.equal(extra.status, 400);
    assert.equal(extra.body['field'], 'moo');
    assert.equal((await submit(alice, '1000', '457700900001')).status, S.ESME_RINVDSTADR, 'refused documents change nothing');

    const put = await api('PUT', '/api/routes', { mt: [{ prefix: '45', connector: 'network' }], noRouteStatus: 'ESME_RINVDSTADR' });
    assert.equal(put.status, 200);
    assert.equal(put.body['source'], 'store');
    assert.equal((await submit(alice, '1000', '457700900001')).status, 0);
    assert.equal((await submit(alice, '1000', '447700900001')).status, S.ESME_RINVDSTADR);

    const added = await api('POST', '/api/routes/mt?position=0', { prefix: '44', connector: 'network' });
    assert.equal(added.status, 201);
    assert.deepEqual((added.body['routes'] as { mt: unknown[] }).mt, [
      { prefix: '44', connector: 'network' },
      { prefix: '45', connector: 'network' },
    ]);
    assert.equal((await submit(alice, '1000', '447700900001')).status, 0);
    assert.equal((await api('DELETE', '/api/routes/mt/1')).status, 200);
    assert.equal((await submit(alice, '1000', '457700900001')).status, S.ESME_RINVDSTADR);
    assert.equal((await api('DELETE', '/api/routes/mt/5')).status, 404);

    // Ten rules added at once: each edit reads what the one before it wrote.
    const adds = await Promise.all(Array.from({ length: 10 }, (_, i) => api('POST', '/api/routes/mt', { prefix: `99${i}`, connector: 'network' })));
    assert.deepEqual(
      adds.map((r) => r.status),
      Array(10).fill(201),
    );
    const now = (await api('GET', '/api/routes')).body['routes'] as { mt: { prefix: string }[] };
    assert.deepEqual(now.mt.map((r) => r.prefix).filter((p) => p.startsWith('99')).sort(), Array.from({ length: 10 }, (_, i) => `99${i}`));

    const cleared = await api('DELETE', '/api/routes');
    assert.equal(cleared.body['source'], 'config');
    assert.equal((await submit(alice, '1000', '447700900001')).status, 0);
    assert.equal((await submit(alice, '1000', '457700900001')).status, S.ESME_RINVDSTADR);
  });
});

test('the OpenAPI document lists the run-time routes; they need the token', async () => {
  const doc = (await (await fetch(`http://${admin.address}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  for (const [path, method] of [
    ['/api/routes', 'put'],
    ['/api/routes/{kind}', 'post'],
    ['/api/routes/{kind}/{index}', 'delete'],
    ['/api/connectors', 'get'],
    ['/api/connectors/{name}/disable', 'post'],
    ['/api/connectors/{name}/enable', 'post'],
  ] as const) {
    assert.ok(doc.paths[path]?.[method] !== undefined, `${method} ${path} documented`);
  }
  assert.equal((await api('GET', '/api/routes', undefined, null)).status, 401);
  assert.equal((await api('POST', '/api/connectors/network/disable', undefined, null)).status, 401);
  const badKind = await api('POST', '/api/routes/xx', { connector: 'network' });
  assert.equal(badKind.status, 400);
  assert.equal(badKind.body['field'], 'kind');
});

describe('connectors through the admin API', () => {
  test('a disabled connector keeps its messages queued; enabling it delivers them', async () => {
    const list = await api('GET', '/api/connectors');
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.body['connectors'] as { name: string; type: string; state: string }[]).map((c) => [c.name, c.type, c.state]),
      [['network', 'network', 'enabled']],
    );
    assert.equal((await api('POST', '/api/connectors/nope/disable')).status, 404);
    const off = await api('POST', '/api/connectors/network/disable');
    assert.equal(off.status, 200);
    assert.equal(off.body['state'], 'disabled');

    const alice = await bind('alice', 'apw', 'transmitter');
    const sent = await submit(alice, '1000', '447700900002', 'held');
    assert.equal(sent.status, 0);
    // Time passes and the scheduler runs, but nothing is claimed for a disabled connector.
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 5));
    }
    const held = await smsc.store.get(sent.id!);
    assert.equal(held?.state, 'ENROUTE');
    assert.equal(held?.attempts, 0);
    const depth = (await api('GET', '/api/connectors')).body['connectors'] as { queueDepth: number }[];
    assert.equal(depth[0]?.queueDepth, 1);

    const on = await api('POST', '/api/connectors/network/enable');
    assert.equal(on.body['state'], 'enabled');
    await until(async () => (await smsc.store.get(sent.id!))?.state === 'DELIVERED', 'delivery after enable', { clock });
  });
});

test('changes sent at once to one node do not overwrite each other', async () => {
  // An account update and a password reset together: the new password must stick.
  const made = await api('POST', '/api/accounts', { systemId: 'race', password: 'first1', addresses: ['8800'] });
  assert.equal(made.status, 201);
  // Updates in flight on both sides of the reset (each reads the account, then writes it all).
  const answers = await Promise.all([
    ...Array.from({ length: 10 }, (_, i) => api('PATCH', '/api/accounts/race', { tps: i + 1 })),
    api('POST', '/api/accounts/race/password', { password: 'second2' }),
    ...Array.from({ length: 10 }, () => api('PATCH', '/api/accounts/race', { tps: 5 })),
  ]);
  assert.ok(answers.every((a) => a.status === 200));
  assert.equal(await bindStatus('race', 'second2'), 0);
  assert.equal(await bindStatus('race', 'first1'), S.ESME_RINVPASWD);
  assert.equal((await api('GET', '/api/accounts/race')).body['tps'], 5);
  assert.equal((await api('DELETE', '/api/accounts/race')).status, 200);
});

test('a stored setting that does not parse is ignored (and reported); other changes still apply', async () => {
  const store = smsc.store as unknown as ConfigStore;
  await store.setSetting('connectors.disabled', '{not json', clock.now());
  const made = await api('POST', '/api/accounts', { systemId: 'after', password: 'aft3r', addresses: ['8810'] });
  assert.equal(made.status, 201);
  assert.equal(await bindStatus('after', 'aft3r'), 0, 'the account created after the bad setting binds');
  assert.ok(Array.isArray((await api('GET', '/api/connectors')).body['connectors']));
  await store.setSetting('connectors.disabled', null, clock.now());
  assert.equal((await api('DELETE', '/api/accounts/after')).status, 200);
});
