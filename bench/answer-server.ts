/**
 * Baseline SMPP servers for the benchmark suite, each run as its own process. Nothing is
 * stored: these are ceilings to compare the SMSC with.
 *
 * - `--impl ours`: our own SMPP server (src/server on src/session and our codec), binds any
 *   system_id (the password must be `<system_id>-pw`, the suite's convention), answers every
 *   submit_sm with ESME_ROK and a fresh id.
 * - `--impl npm`: the npm `smpp` package's server, the same answers.
 * - `--impl npm --receipts`: the npm server also sends a delivery receipt (deliver_sm,
 *   esm_class 0x04, receipted_message_id, message_state 2) per submit_sm to a receiver (or
 *   transceiver) session of the same system_id, round robin — the SMSC's "ESME with receipt"
 *   job without a store and without the deliver_sm to the destination ESME.
 *
 * Prints `listening on port N` on stdout once it listens; stops on SIGTERM.
 * Usage: node dist/bench/answer-server.js --impl ours|npm [--receipts]
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { SmscServer } from '../src/server/server.js';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the npm smpp package ships no types
const smpp = require('smpp') as any;

const { values } = parseArgs({
  options: { impl: { type: 'string', default: 'ours' }, receipts: { type: 'boolean', default: false } },
});

async function serveOurs(): Promise<number> {
  let n = 0;
  const server = new SmscServer({
    // Any system_id binds (with the suite's password convention).
    accounts: (systemId) => ({ systemId, password: `${systemId}-pw`, maxBinds: 1000, windowSize: 1000 }),
    handlers: { onSubmitSm: () => ({ messageId: (++n).toString(16) }) },
    session: { maxInboundInFlight: 10_000 },
  });
  server.on('error', () => {});
  return (await server.listen({ host: '127.0.0.1', port: 0 })).port;
}

function receiptText(id: string): string {
  const d = new Date();
  const p = (x: number) => String(x).padStart(2, '0');
  const date = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
  return `id:${id} sub:001 dlvrd:001 submit date:${date} done date:${date} stat:DELIVRD err:000 text:`;
}

function serveNpm(receipts: boolean): Promise<number> {
  let n = 0;
  // biome-ignore lint/suspicious/noExplicitAny: untyped package
  const receivers = new Map<string, any[]>();
  let rr = 0;
  // biome-ignore lint/suspicious/noExplicitAny: untyped package
  const server = smpp.createServer((session: any) => {
    let systemId = '';
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    const bound = (canReceive: boolean) => (pdu: any) => {
      systemId = String(pdu.system_id);
      session.send(pdu.response());
      if (canReceive) {
        const list = receivers.get(systemId) ?? [];
        list.push(session);
        receivers.set(systemId, list);
      }
    };
    session.on('bind_transmitter', bound(false));
    session.on('bind_receiver', bound(true));
    session.on('bind_transceiver', bound(true));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('submit_sm', (pdu: any) => {
      const id = (++n).toString(16);
      session.send(pdu.response({ message_id: id }));
      if (!receipts || (pdu.registered_delivery & 0x03) === 0) return;
      const list = receivers.get(systemId);
      if (list === undefined || list.length === 0) return;
      const to = list[rr++ % list.length];
      to.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 0x04,
        short_message: receiptText(id),
        receipted_message_id: id,
        message_state: 2,
      });
    });
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('enquire_link', (pdu: any) => session.send(pdu.response()));
    // biome-ignore lint/suspicious/noExplicitAny: untyped package
    session.on('unbind', (pdu: any) => {
      session.send(pdu.response());
      session.close();
    });
    const drop = () => {
      const list = receivers.get(systemId);
      if (list !== undefined) receivers.set(systemId, list.filter((s) => s !== session));
    };
    session.on('close', drop);
    session.on('error', drop);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

const port = values.impl === 'npm' ? await serveNpm(values.receipts === true) : await serveOurs();
process.stdout.write(`listening on port ${port}\n`);
process.on('SIGTERM', () => process.exit(0));
