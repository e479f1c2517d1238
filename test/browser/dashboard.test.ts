/**
 * The dashboard in a real browser: an SMSC daemon (the CLI, a demo-like config with the
 * simulated network) takes a bounded stream of submits from the client library while headless
 * Chromium shows the dashboard. The throughput figures must move, the binds, accounts and routes
 * must show, and searching a submitted message must show its lifecycle.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it) and the
 * playwright-core dev dependency; without them the test is skipped, saying so (in CI it fails).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { Client } from '../../src/client/client.js';
import { browserSkipReason, type HeadlessChromium, launchChromium } from '../support/browser.js';
import { freePort } from '../support/pg.js';
import {
  bindClient,
  closeQuietly,
  DeliveryCollector,
  killAllSmscProcesses,
  removeDir,
  type SmscProcess,
  startSmscProcess,
  tempDir,
} from '../support/smsc-process.js';
import { until } from '../support/until.js';

const TOKEN = 'browser-test-token-0123';
const ALICE = { systemId: 'alice', password: 'apw' };
/** At most this many submits, and none after this long (ms), whatever happens. */
const MAX_SUBMITS = 4000;
const MAX_TRAFFIC_MS = 120_000;
/** Every tenth message goes to a number the network does not know: it fails for good. */
const FAILING_EVERY = 10;
/** Deadline of each wait for the page (a failure, not a measurement). */
const PAGE_WAIT_MS = 30_000;

const missing = await browserSkipReason();
/** Skipped where Chromium is missing, but never in CI (.ci/run installs it): there it fails. */
const skip = process.env['CI'] === 'true' ? false : missing;

/** The little of the DOM the page functions below use (this project compiles without lib.dom). */
interface PageElement {
  textContent: string | null;
  hidden: boolean;
  width: number;
  height: number;
  querySelectorAll(selector: string): Iterable<PageElement>;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
/** In the page functions: the page's document. */
declare const document: { getElementById(id: string): PageElement | null; querySelector(s: string): PageElement | null; querySelectorAll(s: string): Iterable<PageElement> };

interface Sent {
  id: string;
  to: string;
  failing: boolean;
}

/** Submits from alice until stopped, paced at about 40 messages a second, bounded in count and time. */
function startTraffic(client: Client): { sent: Sent[]; errors: unknown[]; stop(): Promise<void> } {
  const sent: Sent[] = [];
  const errors: unknown[] = [];
  let stopped = false;
  const end = Date.now() + MAX_TRAFFIC_MS;
  const loop = (async () => {
    for (let i = 0; i < MAX_SUBMITS && !stopped && Date.now() < end; i++) {
      const failing = i % FAILING_EVERY === FAILING_EVERY - 1;
      const to = `${failing ? '447900' : '447000'}${String(i).padStart(6, '0')}`;
      try {
        const { messageId } = await client.submit({
          sourceAddr: '1000',
          destinationAddr: to,
          registeredDelivery: 1,
          shortMessage: Buffer.from(`dashboard message ${i}`),
        });
        sent.push({ id: messageId, to, failing });
      } catch (err) {
        errors.push(err);
        return;
      }
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    sent,
    errors,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** The number shown in an element (thousands separators dropped); NaN while it shows '–'. */
async function shown(page: Page, selector: string): Promise<number> {
  return Number(((await page.textContent(selector)) ?? '').replace(/,/g, ''));
}

/** Waits until the number shown in `selector` is not `before` any more (and is a number). */
async function changes(page: Page, selector: string, before: number): Promise<number> {
  await page.waitForFunction(
    ([sel, old]) => {
      const n = Number((document.querySelector(sel as string)?.textContent ?? '').replace(/,/g, ''));
      return Number.isFinite(n) && n !== old;
    },
    [selector, before] as const,
    { timeout: PAGE_WAIT_MS, polling: 100 },
  );
  return shown(page, selector);
}

/** The cell texts of a table body's rows. */
function rows(page: Page, tbody: string): Promise<string[][]> {
  return page.$$eval(`${tbody} tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
}

/** Waits until some row of `tbody` satisfies `match` (cells compared exactly, '' = any). */
async function rowAppears(page: Page, tbody: string, match: string[]): Promise<string[]> {
  await page.waitForFunction(
    ([sel, want]) =>
      [...document.querySelectorAll(`${sel} tr`)].some((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '');
        return (want as string[]).every((w, i) => w === '' || cells[i] === w);
      }),
    [tbody, match] as const,
    { timeout: PAGE_WAIT_MS, polling: 100 },
  );
  const found = (await rows(page, tbody)).find((cells) => match.every((w, i) => w === '' || cells[i] === w));
  return found!;
}

/** Searches by message id in the page and waits for that message's detail. */
async function openById(page: Page, id: string): Promise<void> {
  await page.fill('#q-id', id);
  await page.fill('#q-addr', '');
  await page.fill('#q-account', '');
  await page.selectOption('#q-state', '');
  await page.click('#search button[type=submit]');
  await page.waitForFunction((want) => !document.getElementById('detail')!.hidden && document.getElementById('d-id')!.textContent === want, id, {
    timeout: PAGE_WAIT_MS,
  });
}

/** The detail's fields as name → value. */
async function detailFields(page: Page): Promise<Map<string, string>> {
  const pairs = await page.$$eval('#d-fields dt', (dts) => dts.map((dt) => [dt.textContent ?? '', dt.nextElementSibling?.textContent ?? ''] as [string, string]));
  return new Map(pairs);
}

test('the dashboard in Chromium: throughput moves while traffic flows, binds, accounts, routes, message search and lifecycle', { skip, timeout: 240_000 }, async () => {
  if (missing !== false) assert.fail(`CI must run the browser test: ${missing}`);
  const dir = await tempDir('smsc-browser-');
  let smsc: SmscProcess | undefined;
  let client: Client | undefined;
  let traffic: ReturnType<typeof startTraffic> | undefined;
  let chromium: HeadlessChromium | undefined;
  try {
    smsc = await startSmscProcess({
      dir,
      store: { sqlite: { path: join(dir, 'smsc.db') } },
      accounts: [
        { systemId: 'alice', password: 'apw', addresses: ['1000'] },
        { systemId: 'bob', password: 'bpw', addresses: ['2000'] },
      ],
      // Like the demo config of the first `smsc start`, the admin listener on a free port.
      sections: {
        admin: { listen: '127.0.0.1:0', token: TOKEN },
        routes: { mt: [{ prefix: '44', connector: 'network' }], mo: [{ match: '2000', account: 'bob' }] },
        // An upstream nobody listens for: it stays connecting, and says why.
        connectors: { upstream: { type: 'smpp', host: '127.0.0.1', port: await freePort(), systemId: 'us', password: 'upw' } },
        network: {
          ranges: [
            { prefix: '4470', latencyMs: 50, successRatio: 1 },
            { prefix: '4479', latencyMs: 20, successRatio: 0, failure: 'unknown' },
          ],
        },
      },
    });
    const proc = smsc;
    let admin = '';
    await until(
      () => {
        admin = /admin API and dashboard on (http:\/\/[^/\s]+)\//.exec(proc.output())?.[1] ?? '';
        return admin !== '';
      },
      'the admin listener',
      { ms: 20_000 },
    );

    client = await bindClient(smsc.port, 'transceiver', ALICE, 50);
    const receipts = new DeliveryCollector();
    receipts.add(client);
    traffic = startTraffic(client);

    chromium = await launchChromium();
    const page = await chromium.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      // Failed requests are checked one by one below, by URL.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
    const failedRequests: string[] = [];
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (r.status() >= 400 && path !== '/favicon.ico') failedRequests.push(`${r.status()} ${path}`);
    });

    // The token given once in the address is kept by the page and removed from the address bar.
    await page.goto(`${admin}/?token=${TOKEN}`);
    await page.waitForSelector('#dash', { state: 'visible', timeout: PAGE_WAIT_MS });
    assert.equal(new URL(page.url()).search, '', 'the token is gone from the address');
    assert.equal(await page.isHidden('#login'), true);

    // Throughput: the counters of messages in and out move between two readings, and so
    // does the rate in (from '–' before two polls, to a number, to another number).
    const in1 = await changes(page, '#total-in', Number.NaN);
    const in2 = await changes(page, '#total-in', in1);
    assert.ok(in2 > in1, `messages in: ${in1} then ${in2}`);
    const out1 = await changes(page, '#total-out', Number.NaN);
    const out2 = await changes(page, '#total-out', out1);
    assert.ok(out2 > out1, `messages out: ${out1} then ${out2}`);
    const rate1 = await changes(page, '#rate-in', Number.NaN);
    await page.waitForFunction(() => Number(document.getElementById('rate-in')!.textContent) > 0, undefined, { timeout: PAGE_WAIT_MS });
    const rate2 = await changes(page, '#rate-in', rate1);
    assert.notEqual(rate2, rate1);
    // The chart has drawn the "in" line: pixels of its colour (#2f7de1) on the canvas.
    await page.waitForFunction(
      () => {
        const c = document.getElementById('chart')!;
        const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < data.length; i += 4) if (data[i] === 0x2f && data[i + 1] === 0x7d && data[i + 2] === 0xe1) return true;
        return false;
      },
      undefined,
      { timeout: PAGE_WAIT_MS, polling: 250 },
    );

    // Binds: alice's transceiver, per account and bind type; the tile counts it.
    const binds = await rowAppears(page, '#bind-summary', ['alice', '0', '0', '1']);
    assert.deepEqual(binds.slice(0, 5), ['alice', '0', '0', '1', '0']);
    await page.waitForFunction(() => document.getElementById('bind-types')!.textContent === '1 transceiver', undefined, { timeout: PAGE_WAIT_MS });

    // Accounts and routes, as the API gives them.
    const alice = await rowAppears(page, '#accounts', ['alice']);
    assert.equal(alice[1], '1000');
    assert.equal(alice[2], '1', 'alice has one bound session');
    await rowAppears(page, '#accounts', ['bob', '2000', '0']);
    await rowAppears(page, '#routes-mt', ['1', '44…', '–', 'network', '–']);
    await rowAppears(page, '#routes-mo', ['1', '2000', 'bob']);
    await rowAppears(page, '#connectors', ['network', 'network', 'enabled']);
    const upstream = await rowAppears(page, '#connectors', ['upstream', 'smpp', 'connecting']);
    assert.match(upstream[4] ?? '', /ECONNREFUSED/);
    assert.match((await page.textContent('#no-route')) ?? '', /^ESME_RINVDSTADR \(0x0000000b\)$/);

    // A delivered message: once its receipt came back, searching its id shows its lifecycle.
    const delivered = traffic.sent.find((s) => !s.failing)!;
    assert.ok(await receipts.until(() => receipts.receipts.has(delivered.id), PAGE_WAIT_MS), 'receipt of the first message');
    await openById(page, delivered.id);
    assert.equal(await page.textContent('#search-msg'), '1 message(s), newest first');
    const fields = await detailFields(page);
    assert.equal(fields.get('state'), 'DELIVERED');
    assert.match(fields.get('to') ?? '', new RegExp(`^${delivered.to} `));
    assert.equal(fields.get('account → target'), 'alice → network');
    const events = await rows(page, '#d-events');
    const kinds = events.map((cells) => cells[2]);
    assert.equal(kinds[0], 'accepted', kinds.join(','));
    assert.ok(kinds.includes('attempt'), kinds.join(','));
    assert.equal(kinds.at(-1), 'delivered', kinds.join(','));
    for (const cells of events) assert.match(cells[1] ?? '', /^\+\d+\.\d{3} s$/, 'time after submit');

    // A failed message, found by account and state: its lifecycle ends in "failed".
    const failed = traffic.sent.find((s) => s.failing);
    assert.ok(failed !== undefined, 'a message to the failing range was sent');
    assert.ok(await receipts.until(() => receipts.receipts.has(failed.id), PAGE_WAIT_MS), 'receipt of the failed message');
    await page.fill('#q-id', '');
    await page.fill('#q-account', 'alice');
    await page.selectOption('#q-state', 'UNDELIVERABLE');
    await page.click('#search button[type=submit]');
    const hit = await rowAppears(page, '#results', ['', failed.id]);
    assert.deepEqual(hit.slice(2, 6), ['alice', '1000', failed.to, 'UNDELIVERABLE']);
    for (const r of await rows(page, '#results')) assert.equal(r[5], 'UNDELIVERABLE', 'only the state searched for');
    await page.click(`#results tr:has(td:text-is("${failed.id}"))`);
    await page.waitForFunction((want) => document.getElementById('d-id')!.textContent === want, failed.id, { timeout: PAGE_WAIT_MS });
    const failedKinds = (await rows(page, '#d-events')).map((cells) => cells[2]);
    assert.equal(failedKinds.at(-1), 'failed', failedKinds.join(','));
    assert.match((await detailFields(page)).get('state') ?? '', /^UNDELIVERABLE \(error \d+\)$/);

    // Error rates count deliveries that failed for good.
    const failures = await rowAppears(page, '#errors', ['delivery failed']);
    assert.ok(Number(failures[2]) > 0, failures.join(' | '));
    await page.waitForFunction(() => /^\d+\.\d %$/.test(document.getElementById('err-share')!.textContent ?? ''), undefined, { timeout: PAGE_WAIT_MS });

    // An unknown id is "not found", not an error.
    await openByIdExpectingNothing(page, '999999999');

    await traffic.stop();
    assert.deepEqual(traffic.errors, [], 'every submit was accepted');
    assert.deepEqual(pageErrors, [], 'no script errors in the page');
    assert.deepEqual(failedRequests, ['404 /api/messages/999999999'], 'only the unknown id was not found');
  } finally {
    await traffic?.stop();
    await chromium?.close();
    await closeQuietly(client);
    await smsc?.stop();
    await killAllSmscProcesses();
    await removeDir(dir);
  }
});

async function openByIdExpectingNothing(page: Page, id: string): Promise<void> {
  await page.fill('#q-id', id);
  await page.click('#search button[type=submit]');
  await page.waitForFunction(() => document.getElementById('search-msg')!.textContent === 'no messages found', undefined, { timeout: PAGE_WAIT_MS });
  assert.equal(await page.isHidden('#detail'), true);
}
