/**
 * Two connected in-memory Duplex streams, a stand-in for a TCP connection in session unit tests.
 * Bytes written on one end are read on the other. Back-pressure is real: when the reading end's
 * buffer is full (it is paused or nobody reads) the writer's callbacks wait, so the writer sees
 * `writableNeedDrain` and later 'drain', as with a socket. Each end counts the writes the
 * stream machinery hands it (`_write`/`_writev` calls), so tests can check how many writes a
 * batch of PDUs took.
 */
import { Duplex } from 'node:stream';

export class PairEnd extends Duplex {
  other!: PairEnd;
  /** Number of _write/_writev calls (one corked batch = one call). */
  writeCalls = 0;
  /** Octets of each write call, in order. */
  readonly writes: Buffer[] = [];
  #pendingWrite: (() => void) | undefined;

  constructor(highWaterMark: number) {
    super({ highWaterMark, allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#deliver(chunk, cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.#deliver(Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  #deliver(bytes: Buffer, cb: (err?: Error | null) => void): void {
    this.writeCalls++;
    this.writes.push(bytes);
    if (this.other.destroyed) {
      cb();
      return;
    }
    // The write completes once the reader has room (push returned true or it asks for more).
    if (this.other.push(bytes)) cb();
    else this.other.#pendingWrite = () => cb();
  }

  override _read(): void {
    const w = this.#pendingWrite;
    this.#pendingWrite = undefined;
    w?.();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.other.destroyed) {
      this.other.push(null);
      this.other.destroy();
    }
    cb(err);
  }
}

/** Two connected ends; `a` usually goes to the Session under test, `b` to the test's peer. */
export function duplexPair(highWaterMark = 16 * 1024): [PairEnd, PairEnd] {
  const a = new PairEnd(highWaterMark);
  const b = new PairEnd(highWaterMark);
  a.other = b;
  b.other = a;
  return [a, b];
}
