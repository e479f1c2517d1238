/**
 * The admin listener of a node standing by (cluster.mode active-standby), on the admin address
 * until the node is active and the full admin app takes its place. A load balancer's or a
 * floating address's health check, and Prometheus, can then tell a standby from a dead node:
 *
 * - `GET /health`: 503 `{ status: 'standby', nodeId, mode }` (an active node answers 200, status
 *   active), no token;
 * - `GET /metrics`: `smsc_node_active 0`, with the bearer token unless publicMetrics, as on an
 *   active node;
 * - anything else: 503 SMSC_ADMIN_STANDBY.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NODE_ACTIVE } from '../observability/metrics.js';
import { bearerCheck } from './app.js';
import { AdminError, errorBody } from './errors.js';

export interface StandbyAdminOptions {
  host: string;
  port: number;
  token: string;
  nodeId: string;
  /** /metrics without the token, as admin.publicMetrics on an active node. */
  publicMetrics?: boolean;
}

export interface StandbyAdmin {
  /** host:port it listens on. */
  address: string;
  port: number;
  /** Stops listening and ends its connections (the full admin app may then take the port). */
  close(): Promise<void>;
}

/** The metrics of a standby: the gauge an active node reports as 1, labelled as there. */
const metricsText = (nodeId: string) =>
  [
    `# HELP ${NODE_ACTIVE.name} ${NODE_ACTIVE.help}`,
    `# TYPE ${NODE_ACTIVE.name} gauge`,
    `${NODE_ACTIVE.name}{node="${nodeId.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"} 0`,
    '',
  ].join('\n');

export async function startStandbyAdmin(o: StandbyAdminOptions): Promise<StandbyAdmin> {
  const authorized = bearerCheck(o.token);
  const metrics = metricsText(o.nodeId);
  const send = (res: ServerResponse, status: number, contentType: string, body: string) => {
    res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    // HEAD as GET (a load balancer's check): Node sends the head without the body.
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (get && path === '/health') {
      json(res, 503, { status: 'standby', nodeId: o.nodeId, mode: 'active-standby' });
    } else if (get && path === '/metrics') {
      if (o.publicMetrics === true || authorized(req.headers.authorization)) send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', metrics);
      else json(res, 401, new AdminError('SMSC_ADMIN_UNAUTHORIZED').toBody());
    } else {
      json(res, 503, errorBody(503, 'SMSC_ADMIN_STANDBY', `node ${o.nodeId} stands by (cluster.mode active-standby): ask the active node`));
    }
    // A request body is not read: drop it rather than leave the connection waiting.
    req.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: o.host, port: o.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
