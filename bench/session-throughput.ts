/**
 * Session benchmark: submit_sm → submit_sm_resp per second through 1 and 4 sessions at window
 * 1, 10 and 100: our client against our server (a handler that answers at once), and the npm
 * `smpp` package's client against its server, in the same run. The server runs in its own
 * process; the load runs here. Bounded by count and time per cell.
 * Usage: npm run bench:session [-- --seconds 2 --max 300000]
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect } from '../src/client/client.js';
import { SmscServer } from '../src/server/server.js';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the npm smpp package ships no types
const smpp = require('smpp') as any;

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('seconds', 2);
const MAX = arg('max', 400_000);
const text = Buffer.from('Hello from the session benchmark');

// ---- server processes -------------------------------------------------------------------

async function serveOurs(): Promise<number> {
  let n = 0;
  const server = new SmscServer({
    accounts: [{ systemId: 'bench', password: 'bench', maxBinds: 100, windowSize: 100 }],
    handlers: { onSubmitSm: () => ({ messageId: String(++n) }) },
    session: { maxInboundInFlight: 1000 },
  });
  return (await server.listen({ port: 0 })).port;
}

function serveTheirs(): Promise<number> {
  let n = 0;
  // biome-ignore lint/suspicious/noExplicitAny: untyped package
  const server = smpp.createServer((session: any) => {
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('bind_transceiver', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('submit_sm', (pdu: any) => session.send(pdu.response({ message_id: String(++n) })));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('enquire_link', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('unbind', (pdu: any) => {
      session.send(pdu.response());
      session.close();
    });
    session.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

// ---- load -------------------------------------------------------------------------------

async function loadOurs(port: number, sessions: number, window: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: sessions }, async () => {
      const c = await connect({ port, session: { windowSize: window } });
      await c.bind({ type: 'transceiver', systemId: 'bench', password: 'bench' });
      return c;
    }),
  );
  const body = { destinationAddr: '447700900123', sourceAddr: 'BENCH', sourceAddrTon: 5, shortMessage: text };
  let sent = 0;
  let done = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: window }, async () => {
        while (sent < MAX && performance.now() < deadline) {
          sent++;
          await c.submit(body);
          done++;
        }
      }),
    ),
  );
  const rate = done / ((performance.now() - start) / 1000);
  await Promise.all(clients.map((c) => c.close()));
  return rate;
}

async function loadTheirs(port: number, sessions: number, window: number): Promise<number> {
  // biome-ignore lint/suspicious/noExplicitAny: untyped package
  const clients: any[] = await Promise.all(
    Array.from(
      { length: sessions },
      () =>
        new Promise((resolve) => {
          const s = smpp.connect({ host: '127.0.0.1', port });
          s.on('error', () => {});
          s.bind_transceiver({ system_id: 'bench', password: 'bench' }, () => resolve(s));
        }),
    ),
  );
  let sent = 0;
  let done = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  await new Promise<void>((resolve) => {
    let active = 0;
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    const pump = (s: any) => {
      if (sent >= MAX || performance.now() >= deadline) {
        if (--active === 0) resolve();
        return;
      }
      sent++;
      s.submit_sm(
        { destination_addr: '447700900123', source_addr: 'BENCH', source_addr_ton: 5, short_message: text },
        () => {
          done++;
          pump(s);
        },
      );
    };
    for (const s of clients) {
      for (let i = 0; i < window; i++) {
        active++;
        pump(s);
      }
    }
  });
  const rate = done / ((performance.now() - start) / 1000);
  for (const s of clients) s.destroy();
  return rate;
}

// ---- driver -----------------------------------------------------------------------------

async function withServer<T>(impl: 'ours' | 'theirs', fn: (port: number) => Promise<T>): Promise<T> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve', impl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  try {
    return await fn(port);
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  const serveIdx = process.argv.indexOf('--serve');
  if (serveIdx > 0) {
    const port = process.argv[serveIdx + 1] === 'ours' ? await serveOurs() : await serveTheirs();
    process.send?.(port);
    return;
  }
  console.log(`session benchmark: submit_sm round trips/s, server in its own process, ${SECONDS}s or ${MAX} per cell`);
  console.log(`${'sessions'.padEnd(10)}${'window'.padEnd(8)}${'smsc'.padStart(12)}${'npm smpp'.padStart(12)}${'ratio'.padStart(8)}`);
  const rows: { sessions: number; window: number; ours: number; theirs: number }[] = [];
  for (const sessions of [1, 4]) {
    for (const window of [1, 10, 100]) {
      const ours = await withServer('ours', (port) => loadOurs(port, sessions, window));
      const theirs = await withServer('theirs', (port) => loadTheirs(port, sessions, window));
      rows.push({ sessions, window, ours, theirs });
      const f = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
      console.log(`${String(sessions).padEnd(10)}${String(window).padEnd(8)}${f(ours)}${f(theirs)}${(ours / theirs).toFixed(1).padStart(7)}x`);
    }
  }
}

await main();
