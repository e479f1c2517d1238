/**
 * The benchmark suite's load generator: an ESME written straight onto a TCP socket, without our
 * client library. The suite measures the server, and on two cores every microsecond the load
 * takes is one the server does not get: through the client library (a promise, a request
 * object, a window slot and a response object per submit) the load cost about 15 µs of CPU per
 * submit_sm; here a submit is its bytes written into a shared slab, and a response is four
 * integers and a message id read off the socket's chunk.
 *
 * What it speaks: bind (transmitter or receiver) and unbind; submit_sm out with the caller's
 * sequence numbers; submit_sm_resp and generic_nack in; deliver_sm in (answered ESME_ROK) with
 * the fields the suite reads; enquire_link answered; any other request answered generic_nack
 * (ESME_RINVCMDID). All PDUs produced while one chunk is read, or in one timer tick, go out as
 * one write.
 */
import { connect, type Socket } from 'node:net';

const BIND_RECEIVER = 0x00000001;
const BIND_TRANSMITTER = 0x00000002;
const SUBMIT_SM = 0x00000004;
const DELIVER_SM = 0x00000005;
const UNBIND = 0x00000006;
const ENQUIRE_LINK = 0x00000015;
const GENERIC_NACK = 0x80000000;
const RESPONSE = 0x80000000;
const SUBMIT_SM_RESP = 0x80000004;
const UNBIND_RESP = 0x80000006;
const ESME_RINVCMDID = 0x00000003;
const TLV_RECEIPTED_MESSAGE_ID = 0x001e;
const TLV_MESSAGE_PAYLOAD = 0x0424;

/** Sequence numbers of the session's own requests (bind, unbind): above any submit's. */
const OWN_SEQ = 0x7fff0000;
/** Larger command_length values are a broken stream: the socket is closed. */
const MAX_PDU = 64 * 1024;
const SLAB = 64 * 1024;
/** Room kept for one PDU: a submit_sm with 21-octet addresses and 254 octets of text is under 400. */
const PDU_ROOM = 1024;

/** A deliver_sm as the suite reads it: `text` is valid only during the callback. */
export interface RawDeliver {
  esmClass: number;
  /** message_payload if present, else short_message. */
  text: Buffer;
  receiptedMessageId: string | undefined;
}

/** One ESME session over one socket. Open with {@link RawEsme.bind}. */
export class RawEsme {
  /** A submit_sm_resp (or a generic_nack) for the submit of sequence number `seq`. */
  onSubmitResp: (seq: number, status: number, messageId: string) => void = () => {};
  onDeliver: (d: RawDeliver) => void = () => {};
  /** The socket closed (after unbind or not): submits still in flight will not be answered. */
  onClose: () => void = () => {};

  readonly #socket: Socket;
  #slab = Buffer.allocUnsafe(SLAB);
  /** The slab's bytes from #start to #end are written but not yet flushed. */
  #start = 0;
  #end = 0;
  #flushQueued = false;
  #rest: Buffer | undefined;
  #ownSeq = OWN_SEQ;
  #waiting = new Map<number, (status: number) => void>();
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
      for (const resolve of this.#waiting.values()) resolve(-1);
      this.#waiting.clear();
      this.onClose();
    });
  }

  /**
   * Connects to 127.0.0.1:port and binds; rejects unless the bind is answered ESME_ROK within
   * `timeoutMs` (a server that never answers is stuck, not slow).
   */
  static async bind(port: number, mode: 'transmitter' | 'receiver', systemId: string, password: string, timeoutMs = 10_000): Promise<RawEsme> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const esme = new RawEsme(socket);
    const answered = esme.#request(mode === 'transmitter' ? BIND_TRANSMITTER : BIND_RECEIVER, (b, p) => {
      p = cstring(b, p, systemId);
      p = cstring(b, p, password);
      p = cstring(b, p, '');
      b[p++] = 0x34;
      b[p++] = 0;
      b[p++] = 0;
      return cstring(b, p, '');
    });
    let timer: NodeJS.Timeout | undefined;
    const status = await Promise.race([answered, new Promise<string>((resolve) => (timer = setTimeout(resolve, timeoutMs, 'timeout')))]);
    clearTimeout(timer);
    if (status === 'timeout') {
      socket.destroy();
      throw new Error(`bind_${mode} as ${systemId} not answered within ${timeoutMs} ms`);
    }
    if (status !== 0) {
      socket.destroy();
      throw new Error(`bind_${mode} as ${systemId} answered command_status ${status}`);
    }
    return esme;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues one submit_sm (source 1000, TON/NPI 1/1 both sides): written with everything else
   * produced in this tick. `destination` at most 20 characters, `text` at most 254 (latin1).
   */
  submit(seq: number, destination: string, registeredDelivery: number, text: string): void {
    if (destination.length > 20 || text.length > 254) throw new RangeError('destination over 20 or text over 254 characters');
    const b = this.#room();
    const at = this.#end;
    let p = at + 16;
    b[p++] = 0; // service_type
    b[p++] = 1;
    b[p++] = 1;
    p = cstring(b, p, '1000');
    b[p++] = 1;
    b[p++] = 1;
    p = cstring(b, p, destination);
    b[p++] = 0; // esm_class
    b[p++] = 0; // protocol_id
    b[p++] = 0; // priority_flag
    b[p++] = 0; // schedule_delivery_time
    b[p++] = 0; // validity_period
    b[p++] = registeredDelivery;
    b[p++] = 0; // replace_if_present_flag
    b[p++] = 0; // data_coding
    b[p++] = 0; // sm_default_msg_id
    const n = b.write(text, p + 1, 'latin1');
    b[p] = n;
    p += 1 + n;
    this.#header(at, p - at, SUBMIT_SM, 0, seq);
  }

  /** Unbinds (bounded by `ms`) and closes the socket; resolves once it is closed, never rejects. */
  async close(ms = 500): Promise<void> {
    if (this.#closed) return;
    const gone = new Promise((resolve) => this.#socket.once('close', resolve));
    const unbound = this.#request(UNBIND, (_b, p) => p);
    await Promise.race([unbound, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
    this.#socket.destroy();
    await gone;
  }

  #request(command: number, body: (b: Buffer, p: number) => number): Promise<number> {
    const seq = ++this.#ownSeq;
    const b = this.#room();
    const at = this.#end;
    this.#header(at, body(b, at + 16) - at, command, 0, seq);
    return new Promise((resolve) => this.#waiting.set(seq, resolve));
  }

  /** The slab, with room for one more PDU at #end. */
  #room(): Buffer {
    if (this.#slab.length - this.#end < PDU_ROOM) {
      this.#flush();
      this.#slab = Buffer.allocUnsafe(SLAB);
      this.#start = 0;
      this.#end = 0;
    }
    return this.#slab;
  }

  /** Writes the header of the PDU at `at`, `length` octets long, and queues the flush. */
  #header(at: number, length: number, command: number, status: number, seq: number): void {
    const b = this.#slab;
    b.writeUInt32BE(length, at);
    b.writeUInt32BE(command, at + 4);
    b.writeUInt32BE(status, at + 8);
    b.writeUInt32BE(seq, at + 12);
    this.#end = at + length;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #respond(command: number, status: number, seq: number, body: boolean): void {
    const b = this.#room();
    const at = this.#end;
    if (body) b[at + 16] = 0; // an empty message_id
    this.#header(at, body ? 17 : 16, command, status, seq);
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#end === this.#start) return;
    if (!this.#closed) this.#socket.write(this.#slab.subarray(this.#start, this.#end));
    this.#start = this.#end;
  }

  #read(chunk: Buffer): void {
    let b = chunk;
    if (this.#rest !== undefined) {
      b = Buffer.concat([this.#rest, chunk]); // only the tail of the last chunk: one PDU at most
      this.#rest = undefined;
    }
    let off = 0;
    const len = b.length;
    while (len - off >= 16) {
      const length = b.readUInt32BE(off);
      if (length < 16 || length > MAX_PDU) {
        this.#socket.destroy();
        return;
      }
      if (len - off < length) break;
      const command = b.readUInt32BE(off + 4);
      const status = b.readUInt32BE(off + 8);
      const seq = b.readUInt32BE(off + 12);
      const end = off + length;
      if (command === SUBMIT_SM_RESP || (command === GENERIC_NACK && seq < OWN_SEQ)) {
        this.onSubmitResp(seq, status, status === 0 ? cstringAt(b, off + 16, end) : '');
      } else if (command === DELIVER_SM) {
        this.#deliver(b, off + 16, end);
        this.#respond((command | RESPONSE) >>> 0, 0, seq, true);
      } else if (command === ENQUIRE_LINK) {
        this.#respond((command | RESPONSE) >>> 0, 0, seq, false);
      } else if (command === UNBIND) {
        this.#respond(UNBIND_RESP, 0, seq, false);
        this.#flush();
        this.#socket.end();
      } else if ((command & RESPONSE) !== 0) {
        this.#waiting.get(seq)?.(status);
        this.#waiting.delete(seq);
      } else {
        this.#respond(GENERIC_NACK, ESME_RINVCMDID, seq, false);
      }
      off = end;
    }
    if (off < len) this.#rest = b.subarray(off);
  }

  #deliver(b: Buffer, p: number, end: number): void {
    p = skipCstring(b, p, end); // service_type
    p = skipCstring(b, p + 2, end); // source ton, npi, addr
    p = skipCstring(b, p + 2, end); // destination ton, npi, addr
    const esmClass = b[p]!;
    p = skipCstring(b, p + 3, end); // esm_class, protocol_id, priority_flag; schedule_delivery_time
    p = skipCstring(b, p, end); // validity_period
    p += 4; // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
    const smLength = b[p]!;
    let text = b.subarray(p + 1, Math.min(end, p + 1 + smLength));
    p += 1 + smLength;
    let receiptedMessageId: string | undefined;
    while (end - p >= 4) {
      const tag = b.readUInt16BE(p);
      const n = b.readUInt16BE(p + 2);
      const v = p + 4;
      if (tag === TLV_RECEIPTED_MESSAGE_ID) receiptedMessageId = cstringAt(b, v, Math.min(end, v + n));
      else if (tag === TLV_MESSAGE_PAYLOAD) text = b.subarray(v, Math.min(end, v + n));
      p = v + n;
    }
    this.onDeliver({ esmClass, text, receiptedMessageId });
  }
}

/** Writes `s` (ASCII) and its NUL at `p`; returns the offset after them. */
function cstring(b: Buffer, p: number, s: string): number {
  const n = b.write(s, p, 'latin1');
  b[p + n] = 0;
  return p + n + 1;
}

/** The C-octet string at `p` (up to its NUL or `end`), as latin1. */
function cstringAt(b: Buffer, p: number, end: number): string {
  let q = p;
  while (q < end && b[q] !== 0) q++;
  return b.toString('latin1', p, q);
}

/** The offset after the C-octet string at `p`. */
function skipCstring(b: Buffer, p: number, end: number): number {
  while (p < end && b[p] !== 0) p++;
  return p + 1;
}
