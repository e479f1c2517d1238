/**
 * The admin app against a real SMSC (SQLite on a temp file, ManualClock) and real ESME clients
 * over TCP, driven with `app.inject()`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { waitFor } from '../../test/support/async.js';
import { logSink } from '../../test/support/log-sink.js';
import { type Smsc, startSmsc } from '../app/smsc.js';
import { type Client, connect } from '../client/client.js';
import { validateConfig } from '../config/config.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { verifyPassword } from '../server/accounts.js';
import { ManualClock } from '../session/clock.js';
import { ADMIN_REQUEST_TIMEOUT_MS, createAdmin, registeredRoutes } from './app.js';
import { MemoryAccountRegistry } from './memory-accounts.js';
import { openApiPath } from './openapi.js';
import type { AccountRegistry, AccountView } from './types.js';
import { sessionView } from './views.js';

const TOKEN = 'test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { security: unknown[]; parameters: { name: string; in: string }[]; responses: Record<string, unknown> }>>;
}

/** Registered routes the document does not describe (as `METHOD /path`). */
function undocumented(app: FastifyInstance, doc: OpenApiDoc): string[] {
  return registeredRoutes(app)
    .filter((r) => doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()] === undefined)
    .map((r) => `${r.method} ${r.url}`);
}



describe('admin app', () => {
  let dir: string;
  let smsc: Smsc;
  let clock: ManualClock;
  let metrics: Metrics;
  let app: FastifyInstance;
  let port: number;
  const clients: Client[] = [];
  const apps: FastifyInstance[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smsc-admin-'));
    clock = new ManualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
    const config = validateConfig({
      nodeId: 'n1',
      smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [
        { systemId: 'alice', password: 'apw-1', addresses: ['1000'] },
        { systemId: 'bob', password: 'bpw-2', addresses: ['2000'] },
      ],
    });
    smsc = await startSmsc(config, { clock });
    port = smsc.listening[0]!.port;
    metrics = createMetrics(smsc, { storeCacheMs: 0, defaultMetrics: false });
    app = createAdmin(smsc, { token: TOKEN, metrics });
    apps.push(app);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all(apps.map((a) => a.close()));
    metrics.close();
    await smsc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function bind(systemId: string, password: string, type: 'transmitter' | 'receiver' | 'transceiver'): Promise<Client> {
    const c = await connect({ port });
    await c.bind({ type, systemId, password });
    clients.push(c);
    return c;
  }

  /** Waits for I/O, moving the SMSC's clock along so timers armed on it come round. */
  async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
    const end = Date.now() + 5000;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
      clock.advance(100);
    }
  }

  async function get(url: string) {
    const res = await app.inject({ method: 'GET', url, headers: AUTH });
    return { status: res.statusCode, body: res.json(), headers: res.headers };
  }

  function makeApp(options: Partial<Parameters<typeof createAdmin>[1]> = {}): FastifyInstance {
    const a = createAdmin(smsc, { token: TOKEN, metrics, ...options });
    apps.push(a);
    return a;
  }

  describe('authentication', () => {
    test('API routes answer 401 without the token, with a wrong one or another scheme', async () => {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-000000' }, { authorization: `Basic ${TOKEN}` }, { authorization: 'Bearer' }]) {
        for (const url of ['/api/sessions', '/api/stats', '/api/messages', '/api/accounts', '/metrics']) {
          const res = await app.inject({ method: 'GET', url, headers });
          assert.equal(res.statusCode, 401, `${url} with ${JSON.stringify(headers)}`);
          assert.equal(res.json().code, 'SMSC_ADMIN_UNAUTHORIZED');
          assert.match(String(res.headers['www-authenticate']), /^Bearer/);
        }
      }
      const kick = await app.inject({ method: 'DELETE', url: '/api/sessions/s1' });
      assert.equal(kick.statusCode, 401);
    });

    test('the token is checked before the input: a bad query without the token is 401, not 400', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/messages?limit=abc' });
      assert.equal(res.statusCode, 401);
    });

    test('the right token is accepted, in any case of the scheme name', async () => {
      assert.equal((await app.inject({ method: 'GET', url: '/api/sessions', headers: AUTH })).statusCode, 200);
      const lower = await app.inject({ method: 'GET', url: '/api/sessions', headers: { authorization: `bearer ${TOKEN}` } });
      assert.equal(lower.statusCode, 200);
    });

    test('/metrics can be public; the document and the dashboard are public', async () => {
      const pub = makeApp({ publicMetrics: true });
      assert.equal((await pub.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
      assert.equal((await pub.inject({ method: 'GET', url: '/api/stats' })).statusCode, 401);
      assert.equal((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);
    });

    test('GET /health answers 200 without the token: this node is active', async () => {
      const res = await app.inject({ method: 'GET', url: '/health' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'active', nodeId: 'n1', mode: 'active-active' });
      const text = (await app.inject({ method: 'GET', url: '/metrics', headers: AUTH })).body;
      assert.match(text, /^smsc_node_active\{node="n1"\} 1$/m);
    });

    test('GET /health answers 503 unhealthy, saying why, when the store fails (a node cut from its database must not look healthy)', async () => {
      const cut = { ...smsc, store: { ...smsc.store, get: () => Promise.reject(new Error('Connection terminated unexpectedly')) } } as unknown as Smsc;
      const a = createAdmin(cut, { token: TOKEN, metrics });
      apps.push(a);
      const res = await a.inject({ method: 'GET', url: '/health' });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(res.json(), { status: 'unhealthy', nodeId: 'n1', mode: 'active-active', error: 'the store failed: Connection terminated unexpectedly' });
    });

    test('a short token is refused at creation', () => {
      assert.throws(() => createAdmin(smsc, { token: 'short' }), /at least 8/);
    });
  });

  describe('validation', () => {
    const cases: [string, string][] = [
      ['/api/messages?limit=abc', 'limit'],
      ['/api/messages?limit=0', 'limit'],
      ['/api/messages?limit=5000', 'limit'],
      ['/api/messages?state=NOPE', 'state'],
      ['/api/messages?from=yesterday', 'from'],
      ['/api/messages?acount=alice', 'acount'],
      ['/api/messages?from=5000&to=3000', 'to'],
      // Past any time a store can compare (PostgreSQL: a bigint), or a NUL it cannot hold: 400, not 500.
      ['/api/messages?from=99999999999999999999', 'from'],
      ['/api/messages?to=1e300', 'to'],
      ['/api/messages?from=9223372036854775807', 'from'],
      ['/api/messages?addr=%00', 'addr'],
      ['/api/messages?account=far-too-long-system-id', 'account'],
      ['/api/sessions?account=', 'account'],
      ['/api/messages/a%20b', 'id'],
      ['/api/stats?x=1', 'x'],
    ];
    for (const [url, field] of cases) {
      test(`GET ${url} → 400 naming '${field}'`, async () => {
        const { status, body } = await get(url);
        assert.equal(status, 400);
        assert.equal(body.field, field);
        assert.equal(body.code, 'SMSC_ADMIN_VALIDATION');
        assert.equal(body.error, 'Bad Request');
        assert.match(body.message, new RegExp(`'${field}'`));
      });
    }

    test('an enum error lists the allowed values', async () => {
      const { body } = await get('/api/messages?state=NOPE');
      assert.match(body.message, /must be one of SCHEDULED, ENROUTE, DELIVERED/);
    });

    test('bad bodies name the field, array items by index', async () => {
      const registry = new MemoryAccountRegistry();
      const a = makeApp({ accounts: registry });
      const post = (payload: unknown) => a.inject({ method: 'POST', url: '/api/accounts', headers: AUTH, payload: payload as object });
      const cases: [unknown, string][] = [
        [{}, 'systemId'],
        [{ systemId: 'carol', password: 'longer-than-8' }, 'password'],
        [{ systemId: 'carol', addresses: ['3000', 'not an address'] }, 'addresses[1]'],
        [{ systemId: 'carol', windowSize: 0 }, 'windowSize'],
        [{ systemId: 'carol', maxBinds: 'four' }, 'maxBinds'],
        [{ systemId: 'carol', pasword: 'x' }, 'pasword'],
        [{ systemId: 'carol', allowedIps: ['10.0.0.0/99'] }, 'allowedIps[0]'],
        [{ systemId: 'carol', defaultValiditySeconds: 100, maxValiditySeconds: 50 }, 'defaultValiditySeconds'],
        // Past what a Date can hold, or the store keep: a 400 naming the field, not a 500.
        [{ systemId: 'carol', maxValiditySeconds: 1e13 }, 'maxValiditySeconds'],
        [{ systemId: 'carol', maxQueued: 1e20 }, 'maxQueued'],
        [{ systemId: 'carol', allowedSystemTypes: ['a\u0000'] }, 'allowedSystemTypes[0]'],
        [{ systemId: 'carol', outbind: { host: 'a\u0000b', port: 5 } }, 'outbind.host'],
      ];
      for (const [payload, field] of cases) {
        const res = await post(payload);
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().field, field, JSON.stringify(payload));
      }
      assert.deepEqual(await registry.list(), []);
    });

    test('a boolean query parameter is checked', async () => {
      const res = await app.inject({ method: 'DELETE', url: '/api/sessions/s1?force=maybe', headers: AUTH });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().field, 'force');
    });

    test('a request must arrive whole within ADMIN_REQUEST_TIMEOUT_MS (a body trickled a byte at a time was kept for hours)', () => {
      assert.equal(app.server.requestTimeout, ADMIN_REQUEST_TIMEOUT_MS);
      assert.ok(ADMIN_REQUEST_TIMEOUT_MS > 0 && ADMIN_REQUEST_TIMEOUT_MS <= 60_000);
    });

    test('unknown routes are 404 in the same error shape', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/nothing', headers: AUTH });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().code, 'SMSC_ADMIN_NOT_FOUND');
    });

    test('a path asked with a method it does not have: 405 with Allow, in the same error shape', async () => {
      const res = await app.inject({ method: 'DELETE', url: '/api/stats', headers: AUTH });
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers['allow'], 'GET, HEAD');
      assert.equal(res.json().code, 'SMSC_ADMIN_METHOD_NOT_ALLOWED');
      const withParam = await app.inject({ method: 'PUT', url: '/api/sessions/s1', headers: AUTH });
      assert.equal(withParam.statusCode, 405);
      assert.match(String(withParam.headers['allow']), /DELETE/);
    });

    test('HEAD answers as GET without a body (a load balancer checking /health)', async () => {
      const res = await app.inject({ method: 'HEAD', url: '/health' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, '');
      const unauthorized = await app.inject({ method: 'HEAD', url: '/api/stats' });
      assert.equal(unauthorized.statusCode, 401);
    });
  });

  describe('sessions, messages, stats and metrics with real clients', () => {
    let aliceTx: Client;
    let messageId: string;

    test('GET /api/sessions shows account, bind type, peer, window and work in flight', async () => {
      aliceTx = await bind('alice', 'apw-1', 'transmitter');
      await bind('alice', 'apw-1', 'receiver');
      const { status, body } = await get('/api/sessions');
      assert.equal(status, 200);
      const alice = body.sessions.filter((s: { systemId: string }) => s.systemId === 'alice');
      assert.equal(alice.length, 2);
      const tx = alice.find((s: { bindType: string }) => s.bindType === 'transmitter');
      assert.equal(tx.state, 'BOUND_TX');
      assert.equal(tx.remoteAddress, '127.0.0.1');
      assert.equal(typeof tx.remotePort, 'number');
      assert.equal(tx.windowSize, 10);
      assert.equal(tx.outstanding, 0);
      assert.equal(tx.windowUse, 0);
      assert.equal(tx.inflight, 0);
      assert.equal(tx.interfaceVersion, 0x34);
      assert.equal(tx.requestsIn, 1, 'the bind');
      assert.equal(tx.requestsOut, 0);
      assert.match(tx.id, /\S/);
      // Throughput between two reads of the list: 4 requests in 2 s of the view's clock.
      const session = [...smsc.server.sessions].find((x) => x.id === tx.id)!;
      const t = Date.now() + 10_000; // after the sample the GET above took
      assert.deepEqual([sessionView(session, t).inPerSec, sessionView(session, t).outPerSec], [0, 0], 'nothing since the GET');
      for (let i = 0; i < 4; i++) await aliceTx.enquireLink();
      assert.equal(sessionView(session, t + 2000).inPerSec, 2);
      assert.equal(sessionView(session, t + 2500).inPerSec, 2, 'kept until a second has passed');
      const filtered = await get('/api/sessions?account=bob');
      assert.deepEqual(filtered.body.sessions, []);
    });

    test('a submit to an unbound receiver waits: message, lifecycle, search, stats', async () => {
      const resp = await aliceTx.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('hello bob'), registeredDelivery: 1 });
      messageId = resp.messageId;

      const one = await get(`/api/messages/${messageId}`);
      assert.equal(one.status, 200);
      assert.equal(one.body.message.id, messageId);
      assert.equal(one.body.message.state, 'ENROUTE');
      assert.equal(one.body.message.account, 'alice');
      assert.equal(one.body.message.target, 'esme:bob');
      assert.deepEqual(one.body.message.destination, { ton: 1, npi: 1, addr: '2000' });
      assert.equal(one.body.message.text, 'hello bob');
      assert.equal(one.body.message.payload, Buffer.from('hello bob').toString('hex'));
      assert.equal(one.body.message.payloadLength, 9);
      assert.equal(one.body.events[0].kind, 'accepted');

      const ids = async (q: string) => (await get(`/api/messages?${q}`)).body.messages.map((m: { id: string }) => m.id);
      assert.deepEqual(await ids('account=alice'), [messageId]);
      assert.deepEqual(await ids('addr=2000'), [messageId]);
      assert.deepEqual(await ids('addr=1000&state=ENROUTE'), [messageId]);
      assert.deepEqual(await ids('account=bob'), []);
      assert.deepEqual(await ids('state=DELIVERED'), []);
      assert.deepEqual(await ids(`from=${clock.now() + 1}`), []);
      assert.deepEqual(await ids(`to=${clock.now() + 1}`), [messageId]);
      // A search result is brief: the text, no payload nor TLVs (the message itself has them).
      const [found] = (await get('/api/messages?account=alice')).body.messages;
      assert.equal(found.text, 'hello bob');
      assert.equal(found.payload, undefined);
      assert.equal('tlvs' in found, false);
      assert.equal(found.payloadLength, 9);
      assert.equal(one.body.message.tlvs, null);

      const stats = await get('/api/stats');
      assert.equal(stats.status, 200);
      assert.equal(stats.body.nodeId, 'n1');
      assert.equal(stats.body.messages.queueDepth['esme:bob'], 1);
      assert.equal(stats.body.messages.byState.ENROUTE, 1);
      assert.equal(stats.body.messages.byState.DELIVERED, 0);
      assert.equal(stats.body.sessions.bound, 2);
      assert.deepEqual(stats.body.sessions.byBindType, { transmitter: 1, receiver: 1, transceiver: 0 });
      assert.equal(stats.body.pdus.in.submit_sm.total, 1);
      assert.equal(stats.body.pdus.out.submit_sm_resp.total, 1);
      assert.ok(stats.body.store.insertRows >= 1);
      assert.equal(stats.body.scheduler.delivered, 0);
    });

    test('once the receiver binds the message is delivered and the views follow', async () => {
      await bind('bob', 'bpw-2', 'receiver');
      await until(async () => (await get(`/api/messages/${messageId}`)).body.message.state === 'DELIVERED', 'delivery');
      const one = await get(`/api/messages/${messageId}`);
      const kinds = one.body.events.map((e: { kind: string }) => e.kind);
      assert.equal(kinds[0], 'accepted');
      assert.ok(kinds.includes('delivered'), kinds.join());
      assert.equal(typeof one.body.message.finalAt, 'number');
      const delivered = await get('/api/messages?state=DELIVERED&account=alice');
      // The receipt to alice may already be delivered too (it is alice's message as well).
      const deliveredMt = delivered.body.messages.filter((m: { direction: string }) => m.direction === 'mt');
      assert.deepEqual(deliveredMt.map((m: { id: string }) => m.id), [messageId]);

      await until(async () => (await get('/api/stats')).body.scheduler.receipts === 1, 'the receipt');
      const stats = (await get('/api/stats')).body;
      assert.ok(stats.scheduler.delivered >= 1);
      assert.ok(stats.pdus.out.deliver_sm.total >= 1);
      assert.equal(stats.messages.queueDepth['esme:bob'], undefined);
    });

    test('a missing message is 404 naming the id', async () => {
      const { status, body } = await get('/api/messages/999999');
      assert.equal(status, 404);
      assert.equal(body.code, 'SMSC_ADMIN_MESSAGE_NOT_FOUND');
      assert.equal(body.field, 'id');
    });

    test('content can be hidden', async () => {
      const a = makeApp({ hideMessageContent: true });
      const res = await a.inject({ method: 'GET', url: `/api/messages/${messageId}`, headers: AUTH });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().message.text, undefined);
      assert.equal(res.json().message.payload, undefined);
      assert.equal(res.json().message.payloadLength, 9);
      assert.doesNotMatch(res.body, /hello bob/);
    });

    test('GET /metrics exposes PDUs, messages, queue, binds and latencies in Prometheus text', async () => {
      metrics.observeSubmitLatency(0.003);
      metrics.observeDeliveryLatency(2);
      const res = await app.inject({ method: 'GET', url: '/metrics', headers: AUTH });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      const text = res.body;
      const value = (re: RegExp) => {
        const m = re.exec(text);
        assert.ok(m, `no line matching ${re}`);
        return Number(m[1]);
      };
      assert.equal(value(/^smsc_pdus_received_total\{role="smsc",command="submit_sm",status="ESME_ROK",node="n1"\} (\d+)$/m), 1);
      assert.equal(value(/^smsc_pdus_sent_total\{role="smsc",command="submit_sm_resp",status="ESME_ROK",node="n1"\} (\d+)$/m), 1);
      assert.ok(value(/^smsc_pdus_sent_total\{role="smsc",command="deliver_sm",status="ESME_ROK",node="n1"\} (\d+)$/m) >= 1);
      assert.equal(value(/^smsc_binds\{account="alice",bind_type="transmitter",node="n1"\} (\d+)$/m), 1);
      assert.equal(value(/^smsc_binds\{account="bob",bind_type="receiver",node="n1"\} (\d+)$/m), 1);
      assert.equal(value(/^smsc_binds\{account="bob",bind_type="transceiver",node="n1"\} (\d+)$/m), 0);
      assert.ok(value(/^smsc_messages\{state="DELIVERED",node="n1"\} (\d+)$/m) >= 1);
      assert.equal(value(/^smsc_submit_latency_seconds_count\{node="n1"\} (\d+)$/m), 1);
      assert.equal(value(/^smsc_delivery_latency_seconds_bucket\{le="5",node="n1"\} (\d+)$/m), 1);
      assert.ok(value(/^smsc_store_commit_batches_total\{node="n1"\} (\d+)$/m) >= 1);
      assert.ok(value(/^smsc_delivery_outcomes_total\{outcome="delivered",node="n1"\} (\d+)$/m) >= 1);
    });

    test('DELETE /api/sessions/:id unbinds the session; force drops it; unknown ids are 404', async () => {
      const { body } = await get('/api/sessions?account=alice');
      const tx = body.sessions.find((s: { bindType: string }) => s.bindType === 'transmitter');
      const res = await app.inject({ method: 'DELETE', url: `/api/sessions/${tx.id}`, headers: AUTH });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { id: tx.id, closed: true, forced: false });
      await aliceTx.closed();
      const after = await get('/api/sessions?account=alice');
      assert.equal(after.body.sessions.some((s: { id: string }) => s.id === tx.id), false);

      const rx = after.body.sessions[0];
      const forced = await app.inject({ method: 'DELETE', url: `/api/sessions/${rx.id}?force=true`, headers: AUTH });
      assert.deepEqual(forced.json(), { id: rx.id, closed: true, forced: true });
      await waitFor(() => smsc.server.sessionsOf('alice').length === 0, 'alice gone');

      const missing = await app.inject({ method: 'DELETE', url: '/api/sessions/nope', headers: AUTH });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().code, 'SMSC_ADMIN_SESSION_NOT_FOUND');
    });
  });

  describe('accounts', () => {
    test('GET /api/accounts lists the config accounts without any secret; changes are 501 by default', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/accounts', headers: AUTH });
      assert.equal(res.statusCode, 200);
      const accounts = res.json().accounts as AccountView[];
      assert.deepEqual(accounts.map((a) => a.systemId), ['alice', 'bob']);
      assert.deepEqual(accounts[0]!.addresses, ['1000']);
      assert.equal(accounts[0]!.credential, 'password');
      assert.doesNotMatch(res.body, /apw-1|bpw-2|"password":|passwordHash/);
      const post = await app.inject({ method: 'POST', url: '/api/accounts', headers: AUTH, payload: { systemId: 'dave' } });
      assert.equal(post.statusCode, 501);
      assert.equal(post.json().code, 'SMSC_ADMIN_READ_ONLY');
    });

    test('a secret a registry lets slip is still never sent (the response schema drops it)', async () => {
      class Leaky extends MemoryAccountRegistry {
        override async list() {
          return [{ ...(await this.get())!, passwordHash: 'scrypt$aa$bb' } as AccountView];
        }
        override async get() {
          const view = await new MemoryAccountRegistry(smsc.config.accounts).get('alice');
          return { ...view!, password: 'oops-pw' } as AccountView;
        }
      }
      const leaky: AccountRegistry = new Leaky();
      const a = makeApp({ accounts: leaky });
      for (const url of ['/api/accounts', '/api/accounts/x']) {
        const res = await a.inject({ method: 'GET', url, headers: AUTH });
        assert.equal(res.statusCode, 200);
        assert.doesNotMatch(res.body, /oops-pw|scrypt/, url);
      }
    });

    test('create, read, change, reset the password of and delete an account', async () => {
      const registry = new MemoryAccountRegistry();
      const a = makeApp({ accounts: registry });
      const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
        a.inject({ method, url, headers: AUTH, ...(payload === undefined ? {} : { payload }) });

      const created = await call('POST', '/api/accounts', { systemId: 'carol', addresses: ['3000', '31*'] });
      assert.equal(created.statusCode, 201);
      const { account, password } = created.json();
      assert.equal(account.systemId, 'carol');
      assert.equal(account.windowSize, 10);
      assert.match(password, /^[A-Za-z2-9]{8}$/);
      assert.ok(verifyPassword(registry.lookup('carol')!, password));

      const given = await call('POST', '/api/accounts', { systemId: 'dan', password: 'dan-pw' });
      assert.equal(given.statusCode, 201);
      assert.equal(given.json().password, undefined);
      assert.equal((await call('POST', '/api/accounts', { systemId: 'carol' })).statusCode, 409);

      assert.equal((await call('GET', '/api/accounts/carol')).json().addresses[1], '31*');
      const patched = await call('PATCH', '/api/accounts/carol', { windowSize: 5, allowedIps: ['10.0.0.0/8'] });
      assert.equal(patched.statusCode, 200);
      assert.equal(patched.json().windowSize, 5);
      assert.deepEqual(patched.json().allowedIps, ['10.0.0.0/8']);
      assert.equal((await call('PATCH', '/api/accounts/nobody', { windowSize: 5 })).statusCode, 404);

      const reset = await call('POST', '/api/accounts/carol/password', {});
      assert.equal(reset.statusCode, 200);
      assert.notEqual(reset.json().password, password);
      assert.ok(verifyPassword(registry.lookup('carol')!, reset.json().password));
      assert.ok(!verifyPassword(registry.lookup('carol')!, password));
      const bare = await a.inject({ method: 'POST', url: '/api/accounts/carol/password', headers: AUTH });
      assert.equal(bare.statusCode, 200, 'the body may be left out');
      assert.match(bare.json().password, /^[A-Za-z2-9]{8}$/);
      const chosen = await call('POST', '/api/accounts/carol/password', { password: 'new-pw' });
      assert.equal(chosen.json().password, 'new-pw');
      assert.equal((await call('POST', '/api/accounts/nobody/password', {})).statusCode, 404);

      const list = await call('GET', '/api/accounts');
      assert.deepEqual(list.json().accounts.map((x: AccountView) => x.systemId), ['carol', 'dan']);
      assert.doesNotMatch(list.body, /new-pw|dan-pw|scrypt/);

      const removed = await call('DELETE', '/api/accounts/carol');
      assert.deepEqual(removed.json(), { systemId: 'carol', sessionsClosed: 0 });
      assert.equal((await call('GET', '/api/accounts/carol')).statusCode, 404);
      assert.equal((await call('DELETE', '/api/accounts/carol')).statusCode, 404);
    });

    test('disabling an account unbinds its sessions', async () => {
      const registry = new MemoryAccountRegistry(smsc.config.accounts);
      const a = makeApp({ accounts: registry });
      const c = await bind('bob', 'bpw-2', 'transmitter');
      const res = await a.inject({ method: 'PATCH', url: '/api/accounts/bob', headers: AUTH, payload: { disabled: true } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().disabled, true);
      await c.closed();
      assert.equal(smsc.server.sessionsOf('bob').length, 0);
    });
  });

  test('a refused token is logged, once a minute per address, without the token', async () => {
    const { records: lines, stream: sink } = logSink();
    const a = makeApp({ logger: createLogger({ nodeId: 'n1', destination: sink }) });
    for (const authorization of ['Bearer guess-1', 'Bearer guess-2']) {
      assert.equal((await a.inject({ method: 'GET', url: '/api/stats?x=1', headers: { authorization } })).statusCode, 401);
    }
    const refused = lines.filter((l) => String(l['msg']).startsWith('admin request refused'));
    assert.equal(refused.length, 1, 'the second within the minute is not logged again');
    assert.equal(refused[0]!['url'], '/api/stats');
    assert.equal(refused[0]!['credential'], 'wrong');
    assert.doesNotMatch(JSON.stringify(lines), /guess-/);
  });

  describe('PDU trace', () => {
    test('PUT /api/trace/:systemId logs that account’s PDUs, DELETE stops it', async () => {
      const { records: lines, stream: sink } = logSink();
      const logger = createLogger({ nodeId: 'n1', destination: sink });
      const a = makeApp({ logger });
      const on = await a.inject({ method: 'PUT', url: '/api/trace/alice', headers: AUTH });
      assert.deepEqual(on.json(), { accounts: ['alice'] });

      const c = await bind('alice', 'apw-1', 'transmitter');
      await c.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('traced') });
      await waitFor(() => lines.some((l) => (l['pdu'] as { command?: string } | undefined)?.command === 'submit_sm_resp'), 'trace');
      const bindLine = lines.find((l) => (l['pdu'] as { command?: string } | undefined)?.command === 'bind_transmitter');
      assert.ok(bindLine, 'the bind is traced');
      assert.equal((bindLine['pdu'] as { password: string }).password, '***');
      assert.doesNotMatch(JSON.stringify(lines), /apw-1/);
      const submit = lines.find((l) => (l['pdu'] as { command?: string } | undefined)?.command === 'submit_sm')!;
      assert.equal(submit['systemId'], 'alice');
      assert.equal(submit['dir'], 'in');
      assert.equal(submit['nodeId'], 'n1');
      assert.equal(submit['component'], 'trace');

      const off = await a.inject({ method: 'DELETE', url: '/api/trace/alice', headers: AUTH });
      assert.deepEqual(off.json(), { accounts: [] });
      const before = lines.length;
      await c.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('quiet') });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(lines.filter((l) => l['pdu'] !== undefined).length, lines.slice(0, before).filter((l) => l['pdu'] !== undefined).length);
      assert.equal((await app.inject({ method: 'PUT', url: '/api/trace/alice', headers: AUTH })).statusCode, 404, 'no trace routes without a logger');
    });
  });

  describe('OpenAPI document and dashboard', () => {
    test('/openapi.json describes every registered route, its parameters and its auth', async () => {
      const res = await app.inject({ method: 'GET', url: '/openapi.json' });
      const doc = res.json() as OpenApiDoc;
      assert.equal(doc.openapi, '3.1.0');
      assert.deepEqual(undocumented(app, doc), []);
      const operations = Object.values(doc.paths).flatMap((p) => Object.keys(p));
      assert.equal(operations.length, registeredRoutes(app).length);
      for (const route of [
        'get /api/sessions',
        'delete /api/sessions/{id}',
        'get /api/messages/{id}',
        'get /api/messages',
        'get /api/stats',
        'get /api/accounts',
        'post /api/accounts',
        'patch /api/accounts/{id}',
        'delete /api/accounts/{id}',
        'post /api/accounts/{id}/password',
        'get /metrics',
        'get /openapi.json',
        'get /',
      ]) {
        const [method, path] = route.split(' ') as [string, string];
        assert.ok(doc.paths[path]?.[method], `${route} documented`);
      }
      const kick = doc.paths['/api/sessions/{id}']!['delete']!;
      assert.deepEqual(kick.security, [{ bearerAuth: [] }]);
      assert.ok(kick.responses['401'] && kick.responses['404'] && kick.responses['400']);
      assert.deepEqual(kick.parameters.map((p) => `${p.in}:${p.name}`), ['path:id', 'query:force']);
      const find = doc.paths['/api/messages']!['get']!;
      assert.deepEqual(find.parameters.map((p) => p.name), ['account', 'addr', 'state', 'from', 'to', 'limit']);
      assert.deepEqual(doc.paths['/openapi.json']!['get']!.security, []);
    });

    test('the completeness check catches a route added outside the table', async () => {
      const a = makeApp();
      a.get('/api/secret-extra', async () => ({}));
      const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApiDoc;
      assert.deepEqual(undocumented(a, doc), ['GET /api/secret-extra']);
    });

    test('the dashboard page, script and style are served with a strict CSP', async () => {
      const page = await app.inject({ method: 'GET', url: '/' });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
      assert.match(page.body, /<canvas id="chart"/);
      const js = await app.inject({ method: 'GET', url: '/ui/app.js' });
      assert.equal(js.statusCode, 200);
      assert.match(String(js.headers['content-type']), /^text\/javascript/);
      assert.match(js.body, /\/api\/stats/);
      const css = await app.inject({ method: 'GET', url: '/ui/style.css' });
      assert.match(String(css.headers['content-type']), /^text\/css/);
      const other = await app.inject({ method: 'GET', url: '/ui/..%2f..%2fapp.ts' });
      assert.equal(other.statusCode, 400);
      assert.equal(other.json().field, 'file');
    });

    test('without the dashboard files the page answers 503 and the API still works', async () => {
      const a = makeApp({ uiDir: join(dir, 'no-ui') });
      const page = await a.inject({ method: 'GET', url: '/' });
      assert.equal(page.statusCode, 503);
      assert.equal(page.json().code, 'SMSC_ADMIN_UI_MISSING');
      assert.equal((await a.inject({ method: 'GET', url: '/api/stats', headers: AUTH })).statusCode, 200);
    });
  });
});
