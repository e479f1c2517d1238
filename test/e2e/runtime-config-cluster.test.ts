/**
 * Two SMSC nodes on one PostgreSQL database: an account, routes or a connector switch changed
 * through the admin API of node A applies on node B without a restart (the store's NOTIFY).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAdmin } from '../../src/app/admin.js';
import { type Smsc, startSmsc } from '../../src/app/smsc.js';
import { type Client, connect } from '../../src/client/client.js';
import { validateConfig } from '../../src/config/config.js';
import type { CommandStatusError } from '../../src/errors.js';
import { CommandStatus as S } from '../../src/pdu/constants.js';
import { startTestPostgres, type TestPostgres } from '../support/pg.js';
import { until } from '../support/until.js';

const TOKEN = 'cluster-test-token';

let pg: TestPostgres;
let a: Smsc;
let b: Smsc;
let adminA: Awaited<ReturnType<typeof startAdmin>>;
const clients: Client[] = [];

function configOf(nodeId: string, url: string) {
  return validateConfig({
    nodeId,
    smpp: { listeners: [{ port: 0 }], enquireLinkIntervalMs: 0 },
    store: { postgres: { url } },
    accounts: [{ systemId: 'alice', password: 'apw', addresses: ['1000'] }],
    routes: { mt: [{ prefix: '44', connector: 'network' }] },
    network: { ranges: [{ prefix: '4', latencyMs: 0, successRatio: 1 }] },
  });
}

before(async () => {
  pg = await startTestPostgres();
  a = await startSmsc(configOf('n1', pg.url));
  b = await startSmsc(configOf('n2', pg.url));
  adminA = await startAdmin(a, { listen: '127.0.0.1:0', token: TOKEN }, {});
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await adminA?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await pg?.stop();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://${adminA.address}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function bindStatus(node: Smsc, systemId: string, password: string): Promise<number> {
  const c = await connect({ port: node.listening[0]!.port });
  clients.push(c);
  try {
    await c.bind({ type: 'transmitter', systemId, password });
    return 0;
  } catch (err) {
    return (err as CommandStatusError).commandStatus;
  } finally {
    await c.close().catch(() => {});
  }
}

test('an account created, disabled and deleted on node A is seen by node B at once', { timeout: 60_000 }, async () => {
  assert.equal(await bindStatus(b, 'dave', 'dpw12345'), S.ESME_RINVSYSID);
  const created = await api('POST', '/api/accounts', { systemId: 'dave', password: 'dpw12345', addresses: ['5000'] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await until(async () => (await bindStatus(b, 'dave', 'dpw12345')) === 0, 'node B accepting the new account');

  // Node B's session of dave is unbound when A disables the account.
  const session = await connect({ port: b.listening[0]!.port });
  clients.push(session);
  await session.bind({ type: 'transceiver', systemId: 'dave', password: 'dpw12345' });
  assert.equal((await api('PATCH', '/api/accounts/dave', { disabled: true })).status, 200);
  await session.closed();
  assert.equal(await bindStatus(b, 'dave', 'dpw12345'), S.ESME_RBINDFAIL);

  assert.equal((await api('DELETE', '/api/accounts/dave')).status, 200);
  await until(() => b.live.account('dave') === undefined, 'node B forgetting the account');
  assert.equal(await bindStatus(b, 'dave', 'dpw12345'), S.ESME_RINVSYSID);
});

test('routes and connector switches set on node A apply on node B', { timeout: 60_000 }, async () => {
  const alice = await connect({ port: b.listening[0]!.port });
  clients.push(alice);
  await alice.bind({ type: 'transmitter', systemId: 'alice', password: 'apw' });
  const submit = (to: string) =>
    alice.submit({ sourceAddr: '1000', destinationAddr: to, shortMessage: Buffer.from('x') }).then(
      (r) => ({ status: 0, id: r.messageId }),
      (e: CommandStatusError) => ({ status: e.commandStatus, id: undefined }),
    );
  assert.equal((await submit('457700900001')).status, S.ESME_RINVDSTADR);
  assert.equal((await api('PUT', '/api/routes', { mt: [{ prefix: '45', connector: 'network' }] })).status, 200);
  await until(() => b.live.routes().source === 'store', 'node B taking the stored routes');
  assert.equal((await submit('457700900001')).status, 0);
  assert.equal((await submit('447700900001')).status, S.ESME_RINVDSTADR);

  // Disabled on A: neither node delivers; enabled on A: delivered.
  assert.equal((await api('POST', '/api/connectors/network/disable')).status, 200);
  await until(() => b.live.disabledConnectors.has('network'), 'node B seeing the connector disabled');
  const held = await submit('457700900002');
  assert.equal(held.status, 0);
  const bConnectors = b.connectors();
  assert.deepEqual(bConnectors.map((c) => [c.name, c.state]), [['network', 'disabled']]);
  // Nothing claims it: both nodes leave the disabled connector out of their targets. A later
  // message to an ESME bound on B is delivered, so B's scheduler has run since the insert.
  const receiver = await connect({ port: b.listening[0]!.port });
  clients.push(receiver);
  await receiver.bind({ type: 'receiver', systemId: 'alice', password: 'apw' });
  const later = await submit('1000');
  assert.equal(later.status, 0);
  await receiver.deliveries()[Symbol.asyncIterator]().next();
  const stillHeld = await b.store.get(held.id!);
  assert.equal(stillHeld?.attempts, 0);
  assert.equal(stillHeld?.state, 'ENROUTE');
  assert.equal((await api('POST', '/api/connectors/network/enable')).status, 200);
  await until(async () => (await b.store.get(held.id!))?.state === 'DELIVERED', 'delivery after enable');
});
