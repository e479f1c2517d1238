/**
 * The admin listener of the daemon: HTTP API, Prometheus metrics and the dashboard, with the
 * latency observers the core and scheduler report to.
 */
import { createAdmin } from '../admin/app.js';
import { ConfigError } from '../config/config.js';
import { parseHostPort } from '../config/schema.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { Smsc } from './smsc.js';

/** The host and port of `admin.listen` (checked with the config: always both here). */
export function adminHostPort(listen: string): { host: string; port: number } {
  return parseHostPort(listen) ?? { host: '127.0.0.1', port: 8775 };
}

/** Starts the admin app on `listen` (`host:port`); returns its address and a close(). */
export async function startAdmin(
  smsc: Smsc,
  admin: { listen: string; token: string; publicMetrics?: boolean; hideMessageContent?: boolean },
  observer: { submitLatency?(s: number): void; deliveryLatency?(s: number): void },
): Promise<{ address: string; close(): Promise<void> }> {
  return (await prepareAdmin(smsc, admin, observer)).listen();
}

/**
 * The admin app built and ready, not listening yet: listen() then only binds its address. A
 * node taking over from its standby listener closes that one between the two, so the address
 * answers nothing for the bind's few milliseconds, not for the app's start (about 300 ms).
 */
export async function prepareAdmin(
  smsc: Smsc,
  admin: { listen: string; token: string; publicMetrics?: boolean; hideMessageContent?: boolean },
  observer: { submitLatency?(s: number): void; deliveryLatency?(s: number): void },
): Promise<{ listen(): Promise<{ address: string; close(): Promise<void> }>; close(): Promise<void> }> {
  const logger = createLogger({ nodeId: smsc.config.nodeId, level: process.env['SMSC_LOG_LEVEL'] ?? 'info' });
  const metrics = createMetrics(smsc);
  observer.submitLatency = metrics.observeSubmitLatency;
  observer.deliveryLatency = metrics.observeDeliveryLatency;
  const app = createAdmin(smsc, {
    token: admin.token,
    logger,
    metrics,
    accounts: smsc.live.registry(),
    publicMetrics: admin.publicMetrics === true,
    hideMessageContent: admin.hideMessageContent === true,
  });
  const close = async (): Promise<void> => {
    await app.close();
    metrics.close();
  };
  await app.ready();
  return {
    close,
    async listen() {
      const { host, port } = adminHostPort(admin.listen);
      await app.listen({ host, port }).catch(async (err: Error) => {
        await close().catch(() => {});
        throw new ConfigError('admin.listen', `cannot listen on ${admin.listen}: ${err.message}`);
      });
      const addr = app.server.address();
      const address = typeof addr === 'object' && addr !== null ? `${addr.address}:${addr.port}` : admin.listen;
      return { address, close };
    },
  };
}
