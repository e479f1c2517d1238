/**
 * Waiting for an outgoing connection, shared by the ESME client (connect) and the SMSC
 * (outbind): a peer that takes the connection and never answers the TLS handshake, or a SYN
 * lost on the way, must not hold the caller (or a reconnect loop) for the operating system's
 * minutes.
 */
import type { Socket } from 'node:net';
import { SessionClosedError } from '../errors.js';
import type { Clock } from './clock.js';

/**
 * Resolves once `socket` has connected (with `secure`, once its TLS handshake is done).
 * Rejects with its error, with a SessionClosedError when it closes first (destroyed by its
 * owner, or refused without an error event), or after `timeoutMs` (0: no limit), the socket
 * then destroyed. `where` names the peer in those errors.
 */
export function whenConnected(socket: Socket, secure: boolean, timeoutMs: number, clock: Clock, where: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer =
      timeoutMs > 0
        ? clock.setTimer(() => {
            socket.destroy();
            reject(new SessionClosedError(`no connection to ${where} within ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
    const failed = (err: Error) => {
      timer?.cancel();
      reject(err);
    };
    const closed = () => failed(new SessionClosedError(`connection to ${where} closed`));
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      timer?.cancel();
      socket.off('error', failed);
      socket.off('close', closed);
      resolve();
    });
    socket.once('error', failed);
    socket.once('close', closed);
  });
}
