/**
 * The active/standby lock is the schema's: two clusters on one database, apart only by their
 * connections' search_path (no store.postgres.schema), do not stand each other by; two nodes
 * of one cluster do. Real PostgreSQL (embedded).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pgLib from 'pg';
import { acquireActiveLease } from '../../src/store/postgres/active-lease.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';

let pg: TestPostgres;
before(async () => {
  pg = await startTestPostgres();
  const c = new pgLib.Client({ connectionString: pg.url });
  await c.connect();
  await c.query('CREATE SCHEMA IF NOT EXISTS lease_a; CREATE SCHEMA IF NOT EXISTS lease_b');
  await c.end();
});
after(() => pg.stop());

/** The URL with `search_path` set for its connections. */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

const clock = { setTimer: (fn: () => void, ms: number) => setTimeout(fn, ms) };

test('the active lock is keyed on the schema in use, store.postgres.schema or the search_path', { timeout: 30_000 }, async () => {
  const a = await acquireActiveLease({ url: withSearchPath(pg.url, 'lease_a'), retryMs: 50, clock });
  const b = await acquireActiveLease({ url: withSearchPath(pg.url, 'lease_b'), retryMs: 50, clock });
  // Another node of cluster A stands by.
  const abort = new AbortController();
  let standby = 0;
  const second = acquireActiveLease({ url: withSearchPath(pg.url, 'lease_a'), retryMs: 50, clock, onStandby: () => standby++ }, abort.signal);
  second.catch(() => {});
  for (let i = 0; i < 100 && standby === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(standby, 1, 'standing by while A is active');
  abort.abort();
  await assert.rejects(second);
  await Promise.all([a.release(), b.release()]);
});
