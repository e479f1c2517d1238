/**
 * The parts of the npm `smpp` package's (node-smpp 0.5.1, CommonJS, no types) session API the
 * interop tests use, and a request as a promise of its response.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { deferred, withTimeout } from './async.js';

export interface NodePdu {
  command: string;
  command_status: number;
  sequence_number: number;
  [field: string]: unknown;
  response(options?: Record<string, unknown>): NodePdu;
}
export type Callback = (pdu: NodePdu) => void;
export interface NodeSession {
  on(event: string, fn: (...args: never[]) => void): NodeSession;
  once(event: string, fn: (...args: never[]) => void): NodeSession;
  send(pdu: NodePdu, cb?: Callback): boolean;
  bind_transceiver(options: Record<string, unknown>, cb: Callback): boolean;
  bind_transmitter(options: Record<string, unknown>, cb: Callback): boolean;
  bind_receiver(options: Record<string, unknown>, cb: Callback): boolean;
  submit_sm(options: Record<string, unknown>, cb: Callback): boolean;
  deliver_sm(options: Record<string, unknown>, cb: Callback): boolean;
  enquire_link(cb: Callback): boolean;
  unbind(cb: Callback): boolean;
  close(cb?: () => void): void;
  destroy(cb?: () => void): void;
}
export interface NodeServer {
  listen(port: number, host: string, cb: () => void): void;
  address(): AddressInfo;
  close(cb?: () => void): void;
}
export interface NodeSmppSessions {
  connect(options: { host: string; port: number }): NodeSession;
  createServer(listener: (session: NodeSession) => void): NodeServer;
}

/** The npm smpp package's session API. */
export const nodeSmpp = createRequire(import.meta.url)('smpp') as NodeSmppSessions;

/** A node-smpp request as a promise of its response (rejected after `ms`). */
export function call(fn: (cb: Callback) => boolean, label: string, ms = 3000): Promise<NodePdu> {
  const d = deferred<NodePdu>();
  if (!fn((pdu) => d.resolve(pdu))) d.reject(new Error(`${label}: socket not writable`));
  return withTimeout(d.promise, ms, label);
}
