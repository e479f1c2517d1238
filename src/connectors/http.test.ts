import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { storedMessage, T0 } from '../../test/connectors/fixtures.js';
import { deferred, withTimeout } from '../../test/support/async.js';
import { testTlsPair } from '../../test/support/tls.js';
import { encodeTlvs } from '../pdu/encode.js';
import { ConfigKeyError } from '../routing/validate.js';
import { ManualClock } from '../session/clock.js';
import { HttpTarget, httpBody, outcomeOfStatus, parseHttp } from './http.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** A local server whose per-request behaviour the test sets. */
let server: Server;
let base: string;
const seen: Seen[] = [];
let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => res.end('ok');

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: JSON.parse(body) as Record<string, unknown> });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function respond(status: number): void {
  handler = (_req, res) => {
    res.statusCode = status;
    res.end('{"result":"whatever"}');
  };
}

describe('HttpTarget', () => {
  test('POSTs one JSON document per message; 2xx → delivered', async () => {
    respond(202);
    seen.length = 0;
    const t = new HttpTarget({ url: `${base}/sms?key=1`, headers: { authorization: 'Bearer t0k', 'x-tenant': 'acme' } });
    const m = storedMessage({ id: '123', attempts: 2, registeredDelivery: 1 });
    assert.deepEqual(await t.deliver(m), { kind: 'delivered' });
    assert.equal(seen.length, 1);
    const s = seen[0]!;
    assert.equal(s.method, 'POST');
    assert.equal(s.url, '/sms?key=1');
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(s.headers['authorization'], 'Bearer t0k');
    assert.equal(s.headers['x-tenant'], 'acme');
    assert.deepEqual(s.body, {
      id: '123',
      account: 'alice',
      direction: 'mt',
      from: { addr: '1000', ton: 5, npi: 0 },
      to: { addr: '447012345678', ton: 1, npi: 1 },
      serviceType: '',
      esmClass: 0,
      protocolId: 0,
      priority: 0,
      dataCoding: 0,
      text: 'Hello',
      payload: Buffer.from('Hello').toString('hex'),
      registeredDelivery: 1,
      submittedAt: new Date(T0).toISOString(),
      expiresAt: new Date(T0 + 86_400_000).toISOString(),
      attempt: 3,
    });
    assert.equal(t.stats.delivered, 1);
  });

  test("status mapping: the message's 4xx failed UNDELIVERABLE; the connector's (401/403/404/405/407), 408/429 and 5xx retry, with the status as error code", async () => {
    const t = new HttpTarget({ url: base });
    for (const [status, want] of [
      [200, { kind: 'delivered' }],
      [204, { kind: 'delivered' }],
      [400, { kind: 'failed', state: 'UNDELIVERABLE', errorCode: 400 }],
      [413, { kind: 'failed', state: 'UNDELIVERABLE', errorCode: 413 }],
      [422, { kind: 'failed', state: 'UNDELIVERABLE', errorCode: 422 }],
      [401, { kind: 'retry', errorCode: 401 }],
      [403, { kind: 'retry', errorCode: 403 }],
      [404, { kind: 'retry', errorCode: 404 }],
      [405, { kind: 'retry', errorCode: 405 }],
      [408, { kind: 'retry', errorCode: 408 }],
      [429, { kind: 'retry', errorCode: 429 }],
      [500, { kind: 'retry', errorCode: 500 }],
      [503, { kind: 'retry', errorCode: 503 }],
    ] as const) {
      respond(status);
      assert.deepEqual(await t.deliver(storedMessage()), want, `HTTP ${status}`);
    }
    assert.deepEqual(outcomeOfStatus(302), { kind: 'retry', errorCode: 302 });
    // fetch itself fails on a 407 from the server (a proxy's status), which retries with error 0.
    assert.deepEqual(outcomeOfStatus(407), { kind: 'retry', errorCode: 407 });
  });

  test('why requests are retried is told (onFailure): a new reason at once, the same one at most once a minute; a refused message is not', async () => {
    const clock = new ManualClock(T0);
    const told: string[] = [];
    const t = new HttpTarget({ url: base, clock, onFailure: (why) => told.push(why) });
    for (const status of [503, 503, 200, 503, 400, 401]) {
      respond(status);
      await t.deliver(storedMessage());
    }
    assert.deepEqual(told, ['HTTP 503', 'HTTP 401']);
    clock.advance(60_000);
    respond(401);
    await t.deliver(storedMessage());
    assert.deepEqual(told, ['HTTP 503', 'HTTP 401', 'HTTP 401']);
    handler = (_req, res) => {
      res.writeHead(301, { location: '/moved' });
      res.end();
    };
    await t.deliver(storedMessage());
    assert.match(told.at(-1)!, /^HTTP 301 \(to \/moved: redirects are not followed/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = new HttpTarget({ url: `http://127.0.0.1:${port}/`, onFailure: (why) => told.push(why) });
    await refused.deliver(storedMessage());
    assert.match(told.at(-1)!, /ECONNREFUSED/);
  });

  test('a 429 or 503 with Retry-After pauses the connector that long (at most 5 minutes), then onCapacity', async () => {
    const clock = new ManualClock(T0);
    let woken = 0;
    const t = new HttpTarget({ url: base, clock, onCapacity: () => woken++ });
    handler = (_req, res) => {
      res.writeHead(429, { 'retry-after': '30' });
      res.end();
    };
    assert.deepEqual(await t.deliver(storedMessage()), { kind: 'retry', errorCode: 429 });
    assert.equal(t.capacity(), 0, 'paused');
    const before = seen.length;
    assert.deepEqual(await t.deliver(storedMessage()), { kind: 'unavailable' });
    assert.equal(seen.length, before, 'nothing sent while paused');
    clock.advance(29_999);
    assert.equal(t.capacity(), 0);
    clock.advance(1);
    assert.equal(woken, 1);
    assert.equal(t.capacity(), 16);
    handler = (_req, res) => {
      res.writeHead(503, { 'retry-after': new Date(T0 + 30_000 + 86_400_000).toUTCString() });
      res.end();
    };
    await t.deliver(storedMessage());
    clock.advance(299_999);
    assert.equal(t.capacity(), 0, 'a date a day ahead pauses 5 minutes');
    clock.advance(1);
    assert.equal(t.capacity(), 16);
    respond(500);
    await t.deliver(storedMessage());
    assert.equal(t.capacity(), 16, 'no Retry-After, no pause');
  });

  test('a refused connection → retry (error 0)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const t = new HttpTarget({ url: `http://127.0.0.1:${port}/` });
    assert.deepEqual(await t.deliver(storedMessage()), { kind: 'retry', errorCode: 0 });
    assert.equal(t.stats.errors, 1);
  });

  test('a server that does not answer → retry once the timeout passes (manual clock)', async () => {
    const arrived = deferred();
    const held: ServerResponse[] = [];
    handler = (_req, res) => {
      held.push(res);
      arrived.resolve();
    };
    const clock = new ManualClock(T0);
    const t = new HttpTarget({ url: base, timeoutMs: 5000, clock });
    let settled = false;
    const p = t.deliver(storedMessage()).finally(() => {
      settled = true;
    });
    await withTimeout(arrived.promise, 5000, 'request reached the server');
    clock.advance(4999);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'not before the timeout');
    clock.advance(1);
    assert.deepEqual(await withTimeout(p, 5000, 'aborted'), { kind: 'retry', errorCode: 0 });
    assert.equal(t.stats.timeouts, 1);
    for (const res of held) res.destroy();
  });

  test('a 2xx whose body stalls past the timeout is delivered (once), not retried', async () => {
    const held: ServerResponse[] = [];
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('ok');
      held.push(res); // the body never ends
    };
    const clock = new ManualClock(T0);
    const headers = deferred();
    const t = new HttpTarget({
      url: base,
      timeoutMs: 1000,
      clock,
      fetch: async (...args: Parameters<typeof fetch>) => {
        const res = await fetch(...args);
        headers.resolve();
        return res;
      },
    });
    const p = t.deliver(storedMessage());
    await withTimeout(headers.promise, 5000, 'the status and headers arrived');
    clock.advance(1000);
    assert.deepEqual(await withTimeout(p, 5000, 'settled'), { kind: 'delivered' });
    assert.equal(t.stats.delivered, 1);
    for (const res of held) res.destroy();
  });

  test('capacity is the free concurrency; beyond it deliver() is unavailable', async () => {
    const held: ServerResponse[] = [];
    let arrivedCount = 0;
    const two = deferred();
    handler = (_req, res) => {
      held.push(res);
      if (++arrivedCount === 2) two.resolve();
    };
    const t = new HttpTarget({ url: base, concurrency: 2 });
    assert.equal(t.capacity(), 2);
    const a = t.deliver(storedMessage());
    const b = t.deliver(storedMessage());
    assert.equal(t.capacity(), 0);
    assert.deepEqual(await t.deliver(storedMessage()), { kind: 'unavailable' });
    await withTimeout(two.promise, 5000, 'both requests arrived');
    for (const res of held) res.end();
    assert.deepEqual(await Promise.all([a, b]), [{ kind: 'delivered' }, { kind: 'delivered' }]);
    assert.equal(t.capacity(), 2);
  });

  test('an injected fetch that throws → retry', async () => {
    const t = new HttpTarget({
      url: 'http://example.invalid/',
      fetch: (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch,
    });
    assert.deepEqual(await t.deliver(storedMessage()), { kind: 'retry', errorCode: 0 });
  });

  test('a redirect is not followed: retried with its status, no second request', async () => {
    seen.length = 0;
    handler = (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/landing');
      res.end();
    };
    const t = new HttpTarget({ url: `${base}/sms` });
    assert.deepEqual(await t.deliver(storedMessage()), { kind: 'retry', errorCode: 302 });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url}`),
      ['POST /sms'],
    );
  });

  test('a huge response body is cut, not read into memory', async () => {
    let finished: boolean | undefined;
    const closed = deferred<void>();
    handler = (_req, res) => {
      res.statusCode = 200;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const more = () => {
        while (sent < 1600) {
          sent++;
          if (!res.write(chunk)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => {
        finished = res.writableFinished;
        closed.resolve();
      });
      more();
    };
    const t = new HttpTarget({ url: `${base}/sms` });
    assert.deepEqual(await t.deliver(storedMessage()), { kind: 'delivered' });
    await withTimeout(closed.promise, 5000, 'the response closed');
    assert.equal(finished, false, 'the server could not send its 100 MB: the client stopped reading');
  });

  test('bad URLs are refused', () => {
    assert.throws(() => new HttpTarget({ url: 'not a url' }));
    assert.throws(() => new HttpTarget({ url: 'ftp://example.com/' }), RangeError);
  });
});

describe('httpBody', () => {
  test('UCS2 text is decoded; a UDH is split off into udh and not in text', () => {
    const ucs2 = httpBody(storedMessage({ dataCoding: 8, payload: Buffer.from('00480069263A', 'hex') }));
    assert.equal(ucs2.text, 'Hi☺');
    const udh = Buffer.from([5, 0, 3, 0x2a, 2, 1]);
    const body = httpBody(storedMessage({ esmClass: 0x40, payload: Buffer.concat([udh, Buffer.from('Part one')]) }));
    assert.equal(body.udh, '0500032a0201');
    assert.deepEqual(body.concat, { ref: 0x2a, total: 2, seq: 1 });
    assert.equal(body.text, 'Part one');
    assert.equal(body.payload, `0500032a0201${Buffer.from('Part one').toString('hex')}`);
    assert.equal(httpBody(storedMessage()).udh, undefined);
  });

  test('a part split with SAR TLVs carries concat, and every TLV goes by name (octets hex, unknown tags raw)', () => {
    const tlvs = encodeTlvs({
      sarMsgRefNum: 77,
      sarTotalSegments: 2,
      sarSegmentSeqnum: 2,
      sourcePort: 5000,
      unknown: [{ tag: 0x1501, value: Buffer.from('beef', 'hex') }],
    });
    const body = httpBody(storedMessage({ tlvs }));
    assert.deepEqual(body.concat, { ref: 77, total: 2, seq: 2 });
    assert.deepEqual(body.tlvs, {
      sarMsgRefNum: 77,
      sarTotalSegments: 2,
      sarSegmentSeqnum: 2,
      sourcePort: 5000,
      unknown: [{ tag: '0x1501', value: 'beef' }],
    });
    assert.equal(httpBody(storedMessage()).tlvs, undefined);
    assert.equal(httpBody(storedMessage()).concat, undefined);
  });

  test('GSM 7-bit extension characters and binary payloads', () => {
    assert.equal(httpBody(storedMessage({ payload: Buffer.from([0x1b, 0x65, 0x31]) })).text, '€1');
    const bin = httpBody(storedMessage({ dataCoding: 4, payload: Buffer.from([0xff, 0x00]) }));
    assert.equal(bin.payload, 'ff00');
    assert.equal(bin.text, '\u00ff\u0000');
  });
});

describe('parseHttp', () => {
  test('defaults and errors naming the key', () => {
    assert.deepEqual(parseHttp({ type: 'http', url: 'https://x.test/h' }, 'connectors.hook'), { url: 'https://x.test/h', timeoutMs: 10000, concurrency: 16 });
    assert.deepEqual(parseHttp({ url: 'http://x.test', headers: { a: 'b', n: 1 }, concurrency: 2 }, 'c').headers, { a: 'b', n: '1' });
    const fails = (raw: unknown, key: string) =>
      assert.throws(
        () => parseHttp(raw, 'connectors.hook'),
        (e: unknown) => e instanceof ConfigKeyError && e.key === key,
        key,
      );
    fails({}, 'connectors.hook.url');
    fails({ url: 'nope' }, 'connectors.hook.url');
    fails({ url: 'file:///etc/passwd' }, 'connectors.hook.url');
    fails({ url: 'http://x', timeoutMs: 0 }, 'connectors.hook.timeoutMs');
    fails({ url: 'http://x', concurrency: 1.5 }, 'connectors.hook.concurrency');
    fails({ url: 'http://x', headers: ['a'] }, 'connectors.hook.headers');
    fails({ url: 'http://x', headers: { a: {} } }, 'connectors.hook.headers.a');
    fails({ url: 'http://x', retries: 1 }, 'connectors.hook.retries');
    // What fetch would refuse on every request.
    fails({ url: 'http://user:secret@x.test/h' }, 'connectors.hook.url');
    fails({ url: 'http://127.0.0.1:6000/h' }, 'connectors.hook.url');
    fails({ url: 'http://x.test:1/h' }, 'connectors.hook.url');
    assert.equal(parseHttp({ url: 'http://127.0.0.1:6001/h' }, 'c').url, 'http://127.0.0.1:6001/h');
    fails({ url: 'http://x', headers: { 'x-token': 'a\r\nx-evil: 1' } }, 'connectors.hook.headers.x-token');
    fails({ url: 'http://x', headers: { 'bad name': 'v' } }, 'connectors.hook.headers.bad name');
    // fetch refuses these on every request (or replaces them): each message would retry until it expired.
    for (const name of ['Keep-Alive', 'transfer-encoding', 'expect', 'upgrade', 'connection', 'content-length', 'host']) {
      fails({ url: 'http://x', headers: { [name]: 'v' } }, `connectors.hook.headers.${name}`);
    }
  });
});

test('the ports the config refuses are ones fetch refuses on every request', async () => {
  for (const port of [1, 6000, 10080]) {
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`), (e: unknown) => /bad port/.test(String((e as Error).cause)));
  }
});

describe('an https endpoint with a private CA', () => {
  /** Delivers one message from a fresh process with `env`, as `smsc start` would: its outcome. */
  async function deliverFromChild(url: string, env: NodeJS.ProcessEnv): Promise<unknown> {
    const script = [
      `import { HttpTarget } from ${JSON.stringify(new URL('./http.js', import.meta.url).href)};`,
      `import { storedMessage } from ${JSON.stringify(new URL('../../test/connectors/fixtures.js', import.meta.url).href)};`,
      `const outcome = await new HttpTarget({ url: ${JSON.stringify(url)}, timeoutMs: 5000 }).deliver(storedMessage({ id: '9' }));`,
      'process.stdout.write(JSON.stringify(outcome));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 20_000 });
    return JSON.parse(stdout);
  }

  test('is trusted through NODE_EXTRA_CA_CERTS (the documented way), and refused without it', async () => {
    const pair = testTlsPair();
    const dir = mkdtempSync(join(tmpdir(), 'smsc-http-ca-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pair.cert);
    const https = createHttpsServer({ cert: pair.cert, key: pair.key }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/sms`;
      const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
      assert.deepEqual(await deliverFromChild(url, env), { kind: 'retry', errorCode: 0 }, 'an unknown CA is refused');
      assert.deepEqual(await deliverFromChild(url, { ...env, NODE_EXTRA_CA_CERTS: caFile }), { kind: 'delivered' });
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
