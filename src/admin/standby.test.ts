import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startStandbyAdmin } from './standby.js';

const TOKEN = 'standby-token-123';

test('a standby admin listener: /health 503 standby, /metrics 0 with the token, the rest 503; closing frees its port', async () => {
  const admin = await startStandbyAdmin({ host: '127.0.0.1', port: 0, token: TOKEN, nodeId: 'n2' });
  let open = true;
  try {
    const url = (path: string) => `http://${admin.address}${path}`;
    const health = await fetch(url('/health'));
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: 'standby', nodeId: 'n2', mode: 'active-standby' });
    const head = await fetch(url('/health'), { method: 'HEAD' });
    assert.equal(head.status, 503, "a load balancer's HEAD check reads it the same");

    assert.equal((await fetch(url('/metrics'))).status, 401);
    const metrics = await fetch(url('/metrics'), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^smsc_node_active\{node="n2"\} 0$/m);

    const post = await fetch(url('/api/accounts'), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{"systemId":"x"}' });
    assert.equal(post.status, 503);
    const body = (await post.json()) as { code: string; message: string };
    assert.equal(body.code, 'SMSC_ADMIN_STANDBY');
    assert.match(body.message, /node n2 stands by/);

    // A kept-alive connection does not hold the close up, and the port is free at once.
    await admin.close();
    open = false;
    const again = await startStandbyAdmin({ host: '127.0.0.1', port: admin.port, token: TOKEN, nodeId: 'n2' });
    await again.close();
  } finally {
    if (open) await admin.close();
  }
});

test('a standby admin listener with publicMetrics serves /metrics without the token', async () => {
  const admin = await startStandbyAdmin({ host: '127.0.0.1', port: 0, token: TOKEN, nodeId: 'n2', publicMetrics: true });
  try {
    const res = await fetch(`http://${admin.address}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^smsc_node_active\{node="n2"\} 0$/m);
  } finally {
    await admin.close();
  }
});
