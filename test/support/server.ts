/**
 * Test harness around SmscServer: starts one on 127.0.0.1 port 0 with a ManualClock and a few
 * accounts, records what its handlers saw, and builds the raw bind frames the conformance tests
 * send (with PduBuilder, independent of our encoder).
 */
import type { AddressInfo } from 'node:net';
import { CommandId } from '../../src/pdu/constants.js';
import type { BodyOf, Pdu } from '../../src/pdu/types.js';
import type { AccountPolicy } from '../../src/server/accounts.js';
import { type SmscHandlers, SmscServer, type SmscServerOptions } from '../../src/server/server.js';
import { ManualClock } from '../../src/session/clock.js';
import type { Session } from '../../src/session/session.js';
import { withTimeout } from './async.js';
import { PduBuilder } from './pdu-builder.js';
import { RawPeer } from './raw-peer.js';

export const SMSC_ID = 'TESTSMSC';

/** Accounts every harness server knows. */
export const ACCOUNTS: AccountPolicy[] = [
  { systemId: 'esme1', password: 'secret1' },
  { systemId: 'esme2', password: 'secret2' },
];

export interface Harness {
  server: SmscServer;
  port: number;
  address: AddressInfo;
  clock: ManualClock;
  /** Every request a handler was called with, in order. */
  seen: Pdu[];
  /** Connects a raw peer. */
  peer(): Promise<RawPeer>;
  /** Connects a raw peer and binds it (asserting success); returns the peer and the server-side session. */
  boundPeer(type?: BindKind, options?: BindFrameOptions): Promise<{ peer: RawPeer; session: Session }>;
  /** The server-side session of the next bind of `systemId` (resolves on the server's 'bound' event). */
  nextBound(systemId?: string): Promise<Session>;
  close(): Promise<void>;
}

export type BindKind = 'transmitter' | 'receiver' | 'transceiver';

export const BIND_ID: Record<BindKind, number> = {
  transmitter: CommandId.bind_transmitter,
  receiver: CommandId.bind_receiver,
  transceiver: CommandId.bind_transceiver,
};

export interface BindFrameOptions {
  systemId?: string;
  password?: string;
  systemType?: string;
  interfaceVersion?: number;
  sequenceNumber?: number;
}

/** A bind_* request built byte by byte. */
export function bindFrame(type: BindKind, o: BindFrameOptions = {}): Buffer {
  return new PduBuilder()
    .cstring(o.systemId ?? 'esme1')
    .cstring(o.password ?? 'secret1')
    .cstring(o.systemType ?? '')
    .u8(o.interfaceVersion ?? 0x34)
    .u8(0)
    .u8(0)
    .cstring('')
    .build(BIND_ID[type], 0, o.sequenceNumber ?? 1);
}

/** submit_sm body fields, built byte by byte, with overridable values. */
export interface SubmitFields {
  serviceType?: string;
  sourceAddr?: string;
  destinationAddr?: string;
  esmClass?: number;
  dataCoding?: number;
  shortMessage?: Buffer;
  registeredDelivery?: number;
}

/** The mandatory body of a submit_sm (or deliver_sm) as a builder, so tests can append TLVs or garbage. */
export function submitBody(f: SubmitFields = {}): PduBuilder {
  const sm = f.shortMessage ?? Buffer.from('Hello', 'latin1');
  return new PduBuilder()
    .cstring(f.serviceType ?? '')
    .u8(1)
    .u8(1)
    .cstring(f.sourceAddr ?? '4670000001')
    .u8(1)
    .u8(1)
    .cstring(f.destinationAddr ?? '4670000002')
    .u8(f.esmClass ?? 0)
    .u8(0)
    .u8(0)
    .cstring('')
    .cstring('')
    .u8(f.registeredDelivery ?? 0)
    .u8(0)
    .u8(f.dataCoding ?? 0)
    .u8(0)
    .u8(sm.length)
    .octets(sm);
}

/** A deliver_sm body for Session.request on the SMSC side. */
export function deliverBody(text = 'MO hello', overrides: Partial<BodyOf<'deliver_sm'>> = {}): BodyOf<'deliver_sm'> {
  return {
    serviceType: '',
    sourceAddrTon: 1,
    sourceAddrNpi: 1,
    sourceAddr: '4670000009',
    destAddrTon: 0,
    destAddrNpi: 0,
    destinationAddr: '1234',
    esmClass: 0,
    protocolId: 0,
    priorityFlag: 0,
    scheduleDeliveryTime: '',
    validityPeriod: '',
    registeredDelivery: 0,
    replaceIfPresentFlag: 0,
    dataCoding: 0,
    smDefaultMsgId: 0,
    shortMessage: Buffer.from(text, 'latin1'),
    tlvs: {},
    ...overrides,
  };
}

/**
 * Starts an SmscServer on 127.0.0.1:0 with a ManualClock (unless one is given) and default
 * handlers that answer submit_sm with message ids `m1`, `m2`, ... and record every request.
 */
export async function startServer(
  options: Partial<SmscServerOptions> & { listen?: { tls?: { cert: string; key: string } } } = {},
): Promise<Harness> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock();
  const seen: Pdu[] = [];
  let ids = 0;
  const record =
    (status?: number) =>
    (req: Pdu): number | { messageId: string } => {
      seen.push(req);
      return status ?? { messageId: `m${++ids}` };
    };
  const handlers: SmscHandlers = {
    onSubmitSm: record(),
    onDataSm: record(),
    onSubmitMulti: (req) => {
      seen.push(req);
      return { messageId: `m${++ids}`, unsuccessSmes: [] };
    },
    onQuerySm: (req) => {
      seen.push(req);
      return { messageId: req.messageId, finalDate: '', messageState: 1, errorCode: 0 };
    },
    onCancelSm: (req) => {
      seen.push(req);
      return {};
    },
    onReplaceSm: (req) => {
      seen.push(req);
      return {};
    },
    ...options.handlers,
  };
  const { listen, ...rest } = options;
  const server = new SmscServer({
    systemId: SMSC_ID,
    accounts: ACCOUNTS,
    ...rest,
    handlers,
    clock,
    session: { enquireLinkIntervalMs: 0, responseTimeoutMs: 10_000, ...options.session },
  });
  const address = await server.listen({ port: 0, host: '127.0.0.1', ...(listen?.tls ? { tls: listen.tls } : {}) });
  const port = address.port;
  const peers: RawPeer[] = [];
  const track = async (p: Promise<RawPeer>): Promise<RawPeer> => {
    const peer = await p;
    peers.push(peer);
    return peer;
  };
  const nextBound = (systemId = 'esme1') =>
    new Promise<Session>((resolve) => {
      const on = (s: Session, ctx: { systemId: string }) => {
        if (ctx.systemId !== systemId) return;
        server.off('bound', on);
        resolve(s);
      };
      server.on('bound', on);
    });
  return {
    server,
    port,
    address,
    clock,
    seen,
    peer: () => track(RawPeer.connect(port)),
    async boundPeer(type: BindKind = 'transceiver', o: BindFrameOptions = {}) {
      const peer = await track(RawPeer.connect(port));
      const bound = nextBound(o.systemId ?? 'esme1');
      const seq = o.sequenceNumber ?? peer.nextSeq();
      peer.send(bindFrame(type, { ...o, sequenceNumber: seq }));
      const resp = await peer.nextPdu();
      if (resp.command !== `bind_${type}_resp` || resp.commandStatus !== 0 || resp.sequenceNumber !== seq) {
        throw new Error(`bind failed: ${resp.command} 0x${resp.commandStatus.toString(16)} seq ${resp.sequenceNumber}`);
      }
      return { peer, session: await bound };
    },
    nextBound,
    async close() {
      // Sessions still bound get unbind; advancing the clock lets unanswered ones time out.
      let done = false;
      const closing = server.close().then(() => {
        done = true;
      });
      for (let i = 0; i < 20 && !done; i++) {
        clock.advance(600_000);
        await new Promise((r) => setTimeout(r, 2));
      }
      // A test that failed half-way may have left peers that never answer: drop them.
      if (!done) for (const p of peers) p.destroy();
      await withTimeout(closing, 5000, 'server.close() in teardown');
    },
  };
}
