/**
 * An ESME that waits for outbinds (plain TCP or TLS) and answers each by binding as a receiver
 * with the credentials given, on the connection the outbind came on.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { PduOf } from '../../src/pdu/types.js';
import { Session } from '../../src/session/session.js';
import type { TlsPair } from './tls.js';

export interface OutbindEsme {
  port: number;
  /** One session per connection the SMSC made. */
  readonly sessions: Session[];
  /** Every outbind received, in order. */
  readonly outbinds: PduOf<'outbind'>[];
  close(): Promise<void>;
}

export async function startOutbindEsme(o: { systemId: string; password: string; tls?: TlsPair }): Promise<OutbindEsme> {
  const sessions: Session[] = [];
  const outbinds: PduOf<'outbind'>[] = [];
  const onConnection = (socket: net.Socket) => {
    sessions.push(
      new Session(socket, { role: 'esme', enquireLinkIntervalMs: 0 }, {
        onOutbind: (req, s) => {
          outbinds.push(req);
          const credentials = { systemId: o.systemId, password: o.password, systemType: '', interfaceVersion: 0x34, addrTon: 0, addrNpi: 0, addressRange: '' };
          void s.bind('receiver', credentials).catch(() => {});
        },
      }),
    );
  };
  const server = o.tls !== undefined ? tls.createServer({ cert: o.tls.cert, key: o.tls.key }, onConnection) : net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sessions,
    outbinds,
    async close() {
      for (const s of sessions) s.destroy('test end');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
