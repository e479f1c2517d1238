/**
 * The dashboard script run against a stub DOM (no browser here), its fetch answered by the
 * real admin app over a real SMSC: token handling, the stats/sessions polling, the chart and the
 * message search must run without errors and fill the page.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { waitFor } from '../../test/support/async.js';
import { type Smsc, startSmsc } from '../app/smsc.js';
import { type Client, connect } from '../client/client.js';
import { validateConfig } from '../config/config.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { ManualClock } from '../session/clock.js';
import { createAdmin } from './app.js';

const TOKEN = 'dashboard-token-42';

/** The DOM's Node: the script checks `instanceof Node` to tell elements from text. */
class FakeNode {}

class FakeElement extends FakeNode {
  readonly tag: string;
  #text = '';
  /** Like the DOM, textContent keeps a string whatever is assigned. */
  get textContent(): string {
    return this.#text;
  }
  set textContent(v: unknown) {
    this.#text = String(v);
  }
  hidden = false;
  value = '';
  className = '';
  title = '';
  type = '';
  colSpan = 1;
  min = 0;
  max = 1;
  high = 1;
  clientWidth = 600;
  clientHeight = 180;
  width = 0;
  height = 0;
  children: unknown[] = [];
  readonly listeners = new Map<string, ((event: unknown) => unknown)[]>();
  constructor(tag: string) {
    super();
    this.tag = tag;
  }
  append(...nodes: unknown[]): void {
    this.children.push(...nodes);
  }
  replaceChildren(...nodes: unknown[]): void {
    this.children = nodes;
  }
  addEventListener(type: string, fn: (event: unknown) => unknown): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  async fire(type: string): Promise<void> {
    for (const fn of this.listeners.get(type) ?? []) await fn({ preventDefault() {} });
  }
  closest(): { querySelectorAll(): unknown[] } {
    return { querySelectorAll: () => [1, 2, 3] };
  }
  focus(): void {}
  getContext(): unknown {
    return canvasContext;
  }
}

/** Canvas 2D stand-in: every method is a no-op that counts its calls. */
const canvasCalls = new Map<string, number>();
const canvasContext = new Proxy(
  {},
  {
    get: (_t, name: string) => (...args: unknown[]) => {
      void args;
      canvasCalls.set(name, (canvasCalls.get(name) ?? 0) + 1);
    },
    set: () => true,
  },
);

const elements = new Map<string, FakeElement>();
const byId = (id: string): FakeElement => {
  let e = elements.get(id);
  if (e === undefined) elements.set(id, (e = new FakeElement(`#${id}`)));
  return e;
};
const storage = new Map<string, string>();
const replaced: string[] = [];

let dir: string;
let smsc: Smsc;
let metrics: Metrics;
let app: FastifyInstance;
let client: Client;
let messageId: string;
const requests: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsc-dash-'));
  const config = validateConfig({
    smpp: { listeners: [{ host: '127.0.0.1', port: 0 }], enquireLinkIntervalMs: 0 },
    store: { sqlite: { path: join(dir, 'smsc.db') } },
    accounts: [
      { systemId: 'alice', password: 'apw', addresses: ['1000'] },
      { systemId: 'bob', password: 'bpw', addresses: ['2000'] },
    ],
  });
  smsc = await startSmsc(config, { clock: new ManualClock() });
  metrics = createMetrics(smsc, { storeCacheMs: 0, defaultMetrics: false });
  app = createAdmin(smsc, { token: TOKEN, metrics });
  client = await connect({ port: smsc.listening[0]!.port });
  await client.bind({ type: 'transceiver', systemId: 'alice', password: 'apw' });
  messageId = (await client.submit({ sourceAddr: '1000', destinationAddr: '2000', shortMessage: Buffer.from('hi from the dashboard test') })).messageId;

  const g = globalThis as Record<string, unknown>;
  g['Node'] = FakeNode;
  g['document'] = { getElementById: byId, createElement: (tag: string) => new FakeElement(tag) };
  g['localStorage'] = {
    getItem: (k: string) => storage.get(k) ?? null,
    setItem: (k: string, v: string) => storage.set(k, v),
    removeItem: (k: string) => storage.delete(k),
  };
  g['window'] = {
    location: { href: `http://admin.test/?token=${TOKEN}` },
    history: { replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url) },
    addEventListener() {},
    devicePixelRatio: 2,
    confirm: () => true,
    alert: (m: string) => assert.fail(`alert: ${m}`),
  };
  g['fetch'] = async (url: string, init: { method?: string; headers?: Record<string, string> } = {}) => {
    requests.push(`${init.method ?? 'GET'} ${url}`);
    const res = await app.inject({ method: (init.method ?? 'GET') as 'GET', url, headers: init.headers ?? {} });
    return { status: res.statusCode, ok: res.statusCode < 300, statusText: res.statusMessage, json: async () => res.json() };
  };
});

after(async () => {
  const g = globalThis as Record<string, unknown>;
  // Stop the script's polling loops (they run while a token is kept).
  storage.clear();
  g['fetch'] = async () => ({ status: 401, ok: false, statusText: 'Unauthorized', json: async () => ({}) });
  await new Promise((r) => setTimeout(r, 2100));
  await client.close().catch(() => {});
  await app.close();
  metrics.close();
  await smsc.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the dashboard takes the token from the URL, polls, draws and searches without errors', async () => {
  const ui = pathToFileURL(join(process.cwd(), 'src/admin/ui/app.js')).href;
  await import(ui);

  // ?token= is stored and removed from the address bar.
  assert.equal(storage.get('smsc-admin-token'), TOKEN);
  assert.deepEqual(replaced, ['/']);
  assert.equal(byId('login').hidden, true);
  assert.equal(byId('dash').hidden, false);

  // Three stats polls (one a second) give two rates and a chart line.
  await waitFor(() => requests.filter((r) => r === 'GET /api/stats').length >= 3 && byId('rate-in').textContent !== '–', 'polls', 6000);
  assert.match(byId('status').textContent, /^updated /);
  assert.equal(byId('node').textContent, 'n1');
  assert.equal(byId('binds').textContent, '1');
  assert.equal(byId('queued').textContent, '1');
  assert.match(byId('rate-in').textContent, /^\d+\.\d$/);
  assert.equal(byId('queue').children.length, 1);
  assert.ok((canvasCalls.get('lineTo') ?? 0) > 0, 'the chart drew lines');
  assert.ok((canvasCalls.get('fillText') ?? 0) > 0, 'the chart has labels');

  await waitFor(() => byId('sessions').children.length === 1 && requests.includes('GET /api/sessions'), 'sessions');

  // Search by address, then open the message: its lifecycle table fills.
  byId('q-addr').value = '2000';
  await byId('search').fire('submit');
  assert.equal(byId('search-msg').textContent, '1 message(s), newest first');
  assert.equal(byId('results').children.length, 1);
  assert.ok(requests.includes('GET /api/messages?limit=100&addr=2000'), requests.join('\n'));
  byId('q-addr').value = '';
  byId('q-id').value = messageId;
  await byId('search').fire('submit');
  assert.equal(byId('detail').hidden, false);
  assert.equal(byId('d-id').textContent, messageId);
  assert.ok(byId('d-events').children.length >= 1);
  assert.ok(byId('d-fields').children.length > 10);

  // An unknown id is "no messages found", not an error.
  byId('q-id').value = '123';
  await byId('search').fire('submit');
  assert.equal(byId('search-msg').textContent, 'no messages found');

  // A refused token sends the page back to the login form and forgets it.
  const saved = (globalThis as Record<string, unknown>)['fetch'];
  (globalThis as Record<string, unknown>)['fetch'] = async () => ({ status: 401, ok: false, statusText: 'Unauthorized', json: async () => ({}) });
  await waitFor(() => byId('login').hidden === false, 'login form', 3000);
  assert.equal(storage.has('smsc-admin-token'), false);
  assert.equal(byId('status').textContent, 'the token was refused');
  (globalThis as Record<string, unknown>)['fetch'] = saved;
});
