/**
 * GET /api/routing over a real SMSC: the routes in force (also after a reload), every condition
 * of a rule as a list, connectors by name and type only, token required, documented.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Smsc, startSmsc } from '../app/smsc.js';
import { validateConfig } from '../config/config.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { ManualClock } from '../session/clock.js';
import { createAdmin } from './app.js';
import { routingView } from './routing-view.js';

const TOKEN = 'routes-token-1234';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SECRET = 'Bearer hook-secret-xyz';

let smsc: Smsc;
let metrics: Metrics;
let app: FastifyInstance;

before(async () => {
  const config = validateConfig({
    smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
    store: { sqlite: { path: ':memory:' } },
    accounts: [
      { systemId: 'alice', password: 'apw', addresses: ['1000'] },
      { systemId: 'bob', password: 'bpw', addresses: ['2000'] },
    ],
    connectors: { hook: { type: 'http', url: 'http://127.0.0.1:49/sms', headers: { authorization: SECRET } } },
    network: { ranges: [{ prefix: '4470', latencyMs: 10, successRatio: 1 }] },
    routes: {
      noRouteStatus: 'ESME_RINVDSTADR',
      mt: [
        { prefix: '4470', connector: 'network' },
        { prefix: ['4479', '4478'], connector: 'hook', failover: ['network'] },
        { regex: '^1[0-9]{3}$', account: 'alice', source: '10*', dataCoding: [0, 8], connector: 'hook' },
      ],
      mo: [
        { match: '2000', account: 'bob' },
        { prefix: '30', account: 'alice' },
      ],
    },
  });
  smsc = await startSmsc(config, { clock: new ManualClock() });
  metrics = createMetrics(smsc, { storeCacheMs: 0, defaultMetrics: false });
  app = createAdmin(smsc, { token: TOKEN, metrics });
});

after(async () => {
  await app.close();
  metrics.close();
  await smsc.stop();
});

test('GET /api/routing shows the MT and MO rules in order, the no-route status and the connectors', async () => {
  const res = await app.inject({ method: 'GET', url: '/api/routing', headers: AUTH });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.deepEqual(body.mt, [
    { position: 0, connector: 'network', failover: [], account: [], prefix: ['4470'], regex: null, source: [], serviceType: [], dataCoding: [] },
    { position: 1, connector: 'hook', failover: ['network'], account: [], prefix: ['4479', '4478'], regex: null, source: [], serviceType: [], dataCoding: [] },
    {
      position: 2,
      connector: 'hook',
      failover: [],
      account: ['alice'],
      prefix: [],
      regex: '^1[0-9]{3}$',
      source: ['10*'],
      serviceType: [],
      dataCoding: [0, 8],
    },
  ]);
  assert.deepEqual(body.mo, [
    { position: 0, kind: 'match', pattern: '2000', account: 'bob' },
    { position: 1, kind: 'prefix', pattern: '30', account: 'alice' },
  ]);
  assert.equal(body.noRouteStatus, 0x0b);
  assert.equal(body.noRouteStatusName, 'ESME_RINVDSTADR');
  assert.deepEqual(body.connectors, [
    { name: 'hook', type: 'http' },
    { name: 'network', type: 'network' },
  ]);
  assert.equal(res.body.includes('hook-secret'), false, 'connector settings are not shown');
});

test('GET /api/routing follows a reload of the routes', async () => {
  smsc.reloadRoutes({ mt: [{ prefix: '', connector: 'network' }], noRouteStatus: 'ESME_RSYSERR' });
  const body = (await app.inject({ method: 'GET', url: '/api/routing', headers: AUTH })).json();
  assert.deepEqual(
    body.mt.map((r: { prefix: string[]; connector: string }) => [r.prefix, r.connector]),
    [[[''], 'network']],
  );
  assert.deepEqual(body.mo, []);
  assert.equal(body.noRouteStatusName, 'ESME_RSYSERR');
});

test('without a live routes() the config section is shown', () => {
  const view = routingView({ ...smsc, routes: undefined } as unknown as Parameters<typeof routingView>[0]);
  assert.deepEqual(
    view.mt.map((r) => r.connector),
    ['network', 'hook', 'hook'],
  );
});

test('GET /api/routing needs the token and is in the OpenAPI document', async () => {
  const res = await app.inject({ method: 'GET', url: '/api/routing' });
  assert.equal(res.statusCode, 401);
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.deepEqual(doc.paths['/api/routing'].get.security, [{ bearerAuth: [] }]);
  assert.equal((await app.inject({ method: 'GET', url: '/api/routing?x=1', headers: AUTH })).statusCode, 400);
});
