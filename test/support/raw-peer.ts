/**
 * A raw SMPP peer over TCP (or TLS) for socket-level conformance tests: it writes whatever
 * bytes a test gives it and decodes what comes back with our FrameDecoder + decodePdu, one
 * PDU at a time, so a test can assert exact command, status, sequence number and length.
 *
 * ```ts
 * const peer = await RawPeer.connect(port);
 * peer.send(headerOnly(CommandId.enquire_link, 0, 7));
 * const { pdu, bytes } = await peer.next();
 * ```
 */
import net from 'node:net';
import tls from 'node:tls';
import type { CommandName } from '../../src/pdu/constants.js';
import { CommandId } from '../../src/pdu/constants.js';
import { decodePdu } from '../../src/pdu/decode.js';
import { encodeHeaderOnly, encodePdu } from '../../src/pdu/encode.js';
import { FrameDecoder } from '../../src/pdu/frame-decoder.js';
import type { Pdu, PduOf } from '../../src/pdu/types.js';

/** One frame received from the server: its raw octets and its decoded form. */
export interface Received {
  bytes: Buffer;
  pdu: Pdu;
}

/** Default wait for a PDU or a close, in real milliseconds (a guard, never a timing assertion). */
export const IO_TIMEOUT_MS = 3000;

type Waiter = { resolve(r: Received): void; reject(e: Error): void; timer: NodeJS.Timeout };

export class RawPeer {
  readonly socket: net.Socket;
  readonly #decoder = new FrameDecoder({ maxPduBytes: 1 << 24 });
  readonly #frames: Received[] = [];
  readonly #waiters: Waiter[] = [];
  #error: Error | undefined;
  #closed = false;
  #ended = false;
  readonly #closedPromise: Promise<void>;
  #seq = 0;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => {
      this.#error ??= err;
    });
    socket.on('end', () => {
      this.#ended = true;
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#failWaiters(new Error('connection closed while waiting for a PDU'));
    });
  }

  /**
   * Opens a TCP connection (or TLS, trusting `ca`) to 127.0.0.1:`port`. With `allowHalfOpen`
   * the peer keeps its side open after the server's FIN (a lingering or hostile client; TCP only).
   */
  static async connect(
    port: number,
    options: { host?: string; tls?: { ca: string | Buffer }; allowHalfOpen?: boolean } = {},
  ): Promise<RawPeer> {
    const host = options.host ?? '127.0.0.1';
    const allowHalfOpen = options.allowHalfOpen ?? false;
    const socket = options.tls
      ? tls.connect({ host, port, ca: options.tls.ca, servername: 'localhost' })
      : net.connect({ host, port, noDelay: true, allowHalfOpen });
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', reject);
    });
    return new RawPeer(socket);
  }

  /** Wraps an already connected socket (e.g. one accepted by a test listener). */
  static wrap(socket: net.Socket): RawPeer {
    return new RawPeer(socket);
  }

  /** True once the connection has closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** True once the server sent FIN. */
  get isEnded(): boolean {
    return this.#ended;
  }

  /** Frames received and not yet taken by next(). */
  get queued(): number {
    return this.#frames.length;
  }

  /** A fresh sequence number for requests this peer sends (1, 2, ...). */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** Writes raw bytes (one write; one or more PDUs, or a fragment). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Alias of write for readability when the bytes are whole PDUs. */
  send(bytes: Buffer): void {
    this.write(bytes);
  }

  /** Encodes with our codec and writes. */
  sendPdu(pdu: Pdu): void {
    this.write(encodePdu(pdu));
  }

  /** Writes a header-only PDU. */
  sendHeader(command: CommandName, sequenceNumber: number, commandStatus = 0): void {
    this.write(encodeHeaderOnly(CommandId[command], commandStatus, sequenceNumber));
  }

  /** The next frame, raw and decoded; rejects after `timeoutMs` or when the connection closes first. */
  next(timeoutMs = IO_TIMEOUT_MS): Promise<Received> {
    const ready = this.#frames.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#closed) return Promise.reject(new Error('connection closed while waiting for a PDU'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new Error(`no PDU within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** The next decoded PDU. */
  async nextPdu(timeoutMs = IO_TIMEOUT_MS): Promise<Pdu> {
    return (await this.next(timeoutMs)).pdu;
  }

  /** The next PDU, asserted to be `command` (throws with what came instead). */
  async expect<C extends CommandName>(command: C, timeoutMs = IO_TIMEOUT_MS): Promise<PduOf<C> & { bytes: Buffer }> {
    const { pdu, bytes } = await this.next(timeoutMs);
    if (pdu.command !== command) {
      throw new Error(`expected ${command}, got ${pdu.command} status 0x${pdu.commandStatus.toString(16)} seq ${pdu.sequenceNumber}`);
    }
    return Object.assign(pdu as PduOf<C>, { bytes });
  }

  /**
   * Sends enquire_link and resolves with every PDU received before its response (normally none):
   * a deterministic "nothing else was sent" check, since the server answers in order.
   */
  async roundTrip(timeoutMs = IO_TIMEOUT_MS): Promise<Pdu[]> {
    const seq = this.nextSeq();
    this.sendHeader('enquire_link', seq);
    const before: Pdu[] = [];
    for (let i = 0; i < 1000; i++) {
      const { pdu } = await this.next(timeoutMs);
      if (pdu.command === 'enquire_link_resp' && pdu.sequenceNumber === seq) return before;
      before.push(pdu);
    }
    throw new Error('no enquire_link_resp among 1000 PDUs');
  }

  /** Resolves when the connection has closed; rejects after `timeoutMs`. */
  closed(timeoutMs = IO_TIMEOUT_MS): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      void this.#closedPromise.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops reading from the socket (a frozen peer). */
  pauseReading(): void {
    this.socket.pause();
  }

  /** Ends our side and closes. */
  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#decoder.push(chunk);
    for (;;) {
      let frame: Buffer | undefined;
      try {
        frame = this.#decoder.next();
        if (frame === undefined) return;
        // Copy: decoded octet fields are views into the frame.
        const bytes = Buffer.from(frame);
        this.#deliver({ bytes, pdu: decodePdu(bytes) });
      } catch (err) {
        this.#error = err as Error;
        this.#failWaiters(err as Error);
        return;
      }
    }
  }

  #deliver(r: Received): void {
    const w = this.#waiters.shift();
    if (w === undefined) {
      this.#frames.push(r);
      return;
    }
    clearTimeout(w.timer);
    w.resolve(r);
  }

  #failWaiters(err: Error): void {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
