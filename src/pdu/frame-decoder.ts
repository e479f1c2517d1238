/**
 * Stateful framing: bytes in (socket chunks), complete PDU frames out, pull-based so a
 * session can stop taking frames while its handlers are busy.
 *
 * Buffering strategy (docs/decisions.md): a frame that lies wholly inside one chunk is returned
 * as a view of that chunk (zero copy; Node never reuses a socket read buffer). A frame that
 * straddles chunks is assembled into one buffer allocated at exactly its command_length once the
 * length is known and validated, so frames handed out are never overwritten later and no
 * Buffer.concat ever runs. command_length is checked before any body is buffered.
 */
import { CommandStatus, DEFAULT_MAX_PDU_BYTES, HEADER_BYTES } from './constants.js';
import { PduDecodeError } from './errors.js';

/** A straddling frame gets its buffer once this much of it is here (see #worthAssembling)… */
const ASSEMBLE_AFTER_BYTES = 8192;
/** …or it is spread over more chunks than this. */
const ASSEMBLE_AFTER_CHUNKS = 32;

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /** Largest command_length accepted, in octets (default 70000). */
  maxPduBytes?: number;
}

export class FrameDecoder {
  readonly #max: number;
  /** Chunks not yet fully consumed; #off is the read offset in #chunks[0]. */
  #chunks: Buffer[] = [];
  #off = 0;
  #buffered = 0;
  /** A straddling frame being assembled. */
  #partial: Buffer | null = null;
  #filled = 0;

  constructor(options: FrameDecoderOptions = {}) {
    this.#max = options.maxPduBytes ?? DEFAULT_MAX_PDU_BYTES;
  }

  /** Octets received but not yet returned as frames. */
  get buffered(): number {
    return this.#buffered + this.#filled;
  }

  /** Hands the decoder the next chunk read from the transport. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame, or undefined when more bytes are needed.
   * @throws PduDecodeError (fatal, ESME_RINVCMDLEN) when command_length is below 16 or above the
   * maximum; the stream cannot be resynchronised after that.
   */
  next(): Buffer | undefined {
    if (this.#partial !== null) return this.#fillPartial();
    const first = this.#chunks[0];
    if (first === undefined) return undefined;
    const avail = first.length - this.#off;
    if (avail >= 4) {
      const len = first.readUInt32BE(this.#off);
      if (len < HEADER_BYTES || len > this.#max) this.#badLength(len);
      if (avail >= len) {
        // Fast path: the whole frame is in this chunk.
        const frame = first.subarray(this.#off, this.#off + len);
        this.#consume(len);
        return frame;
      }
      if (!this.#worthAssembling(len)) return undefined;
      this.#startPartial(len);
      return this.#fillPartial();
    }
    if (this.#buffered < 4) return undefined;
    const len = this.#peekU32();
    if (len < HEADER_BYTES || len > this.#max) this.#badLength(len);
    if (!this.#worthAssembling(len)) return undefined;
    this.#startPartial(len);
    return this.#fillPartial();
  }

  /**
   * Whether a straddling frame of `len` octets gets its buffer now: not on its length alone (a
   * peer sending just lengths would make us allocate 64 kB for every 4 octets), but once a fair
   * part of it is here, or it came in many small chunks (kept, they would cost more than the
   * copy: a frame sent an octet a segment).
   */
  #worthAssembling(len: number): boolean {
    return this.#buffered >= Math.min(len, ASSEMBLE_AFTER_BYTES) || this.#chunks.length > ASSEMBLE_AFTER_CHUNKS;
  }

  #consume(n: number): void {
    this.#off += n;
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (this.#off === first.length) {
      this.#chunks.shift();
      this.#off = 0;
    }
  }

  #startPartial(len: number): void {
    this.#partial = Buffer.allocUnsafe(len);
    this.#filled = 0;
  }

  #fillPartial(): Buffer | undefined {
    const partial = this.#partial!;
    while (this.#filled < partial.length) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) return undefined;
      const n = Math.min(partial.length - this.#filled, chunk.length - this.#off);
      chunk.copy(partial, this.#filled, this.#off, this.#off + n);
      this.#filled += n;
      this.#consume(n);
    }
    this.#partial = null;
    this.#filled = 0;
    return partial;
  }

  /** Reads a big-endian u32 at the read position across chunk boundaries. */
  #peekU32(): number {
    let v = 0;
    let got = 0;
    let ci = 0;
    let off = this.#off;
    while (got < 4) {
      const c = this.#chunks[ci]!;
      if (off >= c.length) {
        ci++;
        off = 0;
        continue;
      }
      v = v * 256 + c[off++]!;
      got++;
    }
    return v;
  }

  #badLength(len: number): never {
    // The sequence number is reported when the 16 header octets are already here. [ref §6.8]
    let sequenceNumber = 0;
    let commandId: number | undefined;
    const first = this.#chunks[0]!;
    if (first.length - this.#off >= HEADER_BYTES) {
      commandId = first.readUInt32BE(this.#off + 4);
      sequenceNumber = first.readUInt32BE(this.#off + 12);
    }
    throw new PduDecodeError(
      CommandStatus.ESME_RINVCMDLEN,
      `command_length ${len} outside ${HEADER_BYTES}..${this.#max}`,
      commandId === undefined ? { sequenceNumber, fatal: true } : { commandId, sequenceNumber, fatal: true },
    );
  }
}
