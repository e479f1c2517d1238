/**
 * One SMPP session over a byte stream, shared by the SMSC listener (role 'smsc') and the
 * ESME client (role 'esme'): state machine ([ref §6.1-6.2]), sequence numbers (§6.7),
 * a window of outstanding requests with response timers, spec-named timers (§6.4),
 * pull-based reads that pause while handlers are busy, and writes batched per tick.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  BindRejectedError,
  CommandStatusError,
  InvalidStateError,
  RequestNotSentError,
  ResponseTimeoutError,
  SessionClosedError,
  WindowFullError,
} from '../errors.js';
import {
  CommandId,
  type CommandName,
  CommandStatus,
  commandNameOf,
  InterfaceVersion,
  isResponseId,
} from '../pdu/constants.js';
import { decodePdu } from '../pdu/decode.js';
import { encodeHeaderOnly, encodeParts, encodePdu } from '../pdu/encode.js';
import { PduDecodeError } from '../pdu/errors.js';
import { FrameDecoder } from '../pdu/frame-decoder.js';
import { PDU_SPECS } from '../pdu/schema.js';
import type { BodyOf, Pdu, PduOf, RequestName, ResponseNameOf } from '../pdu/types.js';
import { Fifo } from '../util/fifo.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import {
  assertTransition,
  type BindType,
  bindCommandOf,
  bindTypeOfCommand,
  boundStateOf,
  canReceive,
  canTransmit,
  isBound,
  SessionState,
} from './state.js';

const S = CommandStatus;

/** Options of a Session; every duration in milliseconds, 0 turns a timer off. */
export interface SessionOptions {
  /** Which side of the protocol this session plays. */
  role: 'smsc' | 'esme';
  /** Time source for every timer (tests pass a ManualClock). */
  clock?: Clock;
  /** Max outstanding requests we send (the outbound window). Default 10. */
  windowSize?: number;
  /** Max inbound requests being handled at once; reading pauses beyond it. Default 100. */
  maxInboundInFlight?: number;
  /** response_timer: how long a request waits for its response. Default 30000. */
  responseTimeoutMs?: number;
  /** enquire_link_timer: idle time before we send enquire_link. Default 30000. */
  enquireLinkIntervalMs?: number;
  /** inactivity_timer: no transaction for this long unbinds the session. Default 0 (off). */
  inactivityTimeoutMs?: number;
  /** session_init_timer: an unbound connection is closed after this. Default 10000 for 'smsc', 0 for 'esme'. */
  sessionInitTimeoutMs?: number;
  /** A peer that takes no bytes for this long while we have data queued is dropped. Default 30000. */
  drainTimeoutMs?: number;
  /** Largest PDU accepted from the peer. Default 70000 ([ref §6.8]). */
  maxPduBytes?: number;
  /** First sequence number minus one (tests use it to exercise the wrap). Default 0. */
  initialSequence?: number;
  /** A label for logs and diagnostics. */
  id?: string;
  /** Requests answered with generic_nack ESME_RINVCMDID because this side does not support them. */
  unsupported?: Iterable<CommandName>;
}

/** What a handler answers a request with: a status, or the response body (optionally with a status). */
export type Reply = number | ({ commandStatus?: number } & Record<string, unknown>);

/** Outcome of the SMSC's bind decision. */
export interface BindOutcome {
  /** ESME_ROK to accept. */
  commandStatus: number;
  /** The SMSC's system_id for the response. */
  systemId: string;
}

export type BindPdu = PduOf<'bind_transmitter'> | PduOf<'bind_receiver'> | PduOf<'bind_transceiver'>;

/** The typed delegate a session hands requests to (SIP.js SessionDelegate style). */
export interface SessionDelegate {
  /** SMSC side: decide a bind. Not called for a bind in the wrong state. */
  onBind?(req: BindPdu, session: Session): Promise<BindOutcome> | BindOutcome;
  /** Every other request the state machine allows (submit_sm, deliver_sm, ...). */
  onRequest?(req: Pdu, session: Session): Promise<Reply> | Reply;
  /** ESME side: the SMSC connected to us and sent outbind. */
  onOutbind?(req: PduOf<'outbind'>, session: Session): void;
  /** SMSC side: a bind that could not be decoded (e.g. an over-long system_id) was refused. */
  onBadBind?(session: Session): void;
  /** A request handler threw or rejected (a bug, a store failing): it was answered ESME_RSYSERR. */
  onHandlerError?(error: unknown, req: Pdu, session: Session): void;
}

/** Options of one request. */
export interface RequestOptions {
  /** Override the session's response timeout. */
  timeoutMs?: number;
  /** When the window is full: wait for a slot (default) or reject with WindowFullError. */
  wait?: boolean;
}

interface Outstanding {
  command: RequestName;
  sequenceNumber: number;
  body: Record<string, unknown>;
  expect: CommandName;
  deadline: number;
  timeoutMs: number;
  resolve(p: Pdu): void;
  reject(e: Error): void;
}

const channels = {
  pduIn: diagnostics_channel.channel('smsc:pdu:in'),
  pduOut: diagnostics_channel.channel('smsc:pdu:out'),
  state: diagnostics_channel.channel('smsc:session:state'),
};

/** Requests the SMSC accepts from a bound transmitter. [ref §6.2] */
const SUBMIT_SIDE = new Set<CommandName>([
  'submit_sm',
  'submit_multi',
  'query_sm',
  'cancel_sm',
  'replace_sm',
  'data_sm',
  'broadcast_sm',
  'query_broadcast_sm',
  'cancel_broadcast_sm',
]);
/** Requests the ESME accepts from the SMSC on a receiver bind. */
const DELIVER_SIDE = new Set<CommandName>(['deliver_sm', 'data_sm', 'alert_notification']);

const RESPONSE_OF = Object.fromEntries(
  PDU_SPECS.filter((s) => !s.isResponse).map((s) => [s.command, `${s.command}_resp`]),
) as Record<RequestName, CommandName>;

/** A PDU from its header values and its body (built only when someone needs it: errors, traces). */
function withHeader(fields: object | undefined, command: CommandName, commandStatus: number, sequenceNumber: number): Pdu {
  return { ...fields, command, commandStatus, sequenceNumber } as unknown as Pdu;
}

/** The request PDU of an outstanding entry. */
function requestPdu(e: Outstanding): Pdu {
  return withHeader(e.body, e.command, 0, e.sequenceNumber);
}

/**
 * What the `smsc:pdu:in` and `smsc:pdu:out` channels carry: the session and the PDU's header
 * at once, the whole PDU when `pdu` is read. The metrics count every PDU by its header; only a
 * trace reads the PDU, and building it for each outgoing one (a copy of its fields) was the
 * largest allocation end to end while the metrics listened. Read `pdu` while handling the
 * event: it is built from the body as it is then (and, a getter, it is not an own property).
 */
export class PduEvent {
  readonly session: Session;
  readonly command: CommandName;
  readonly commandStatus: number;
  readonly sequenceNumber: number;
  #pdu: Pdu | undefined;
  readonly #fields: object | undefined;

  /** `fields`: the body without the header (copied with it on first read of `pdu`). */
  constructor(session: Session, command: CommandName, commandStatus: number, sequenceNumber: number, fields: object | undefined) {
    this.session = session;
    this.command = command;
    this.commandStatus = commandStatus;
    this.sequenceNumber = sequenceNumber;
    this.#fields = fields;
  }

  /** The event of a whole PDU at hand (one received, or one sent as it is). */
  static of(session: Session, pdu: Pdu): PduEvent {
    const e = new PduEvent(session, pdu.command, pdu.commandStatus, pdu.sequenceNumber, undefined);
    e.#pdu = pdu;
    return e;
  }

  get pdu(): Pdu {
    this.#pdu ??= withHeader(this.#fields, this.command, this.commandStatus, this.sequenceNumber);
    return this.#pdu;
  }
}

let sessionCounter = 0;

/**
 * A session over a connected Duplex (net.Socket or tls.TLSSocket).
 * Events (synchronous lifecycle only): 'state' (state), 'bound' (bindType), 'close' (error|undefined),
 * 'slotFree' (a response or response timeout freed a window slot that no `request()` waits for:
 * for users that queue requests of their own and send them with `wait: false`).
 */
export class Session extends EventEmitter {
  readonly id: string;
  /** Requests received from the peer (submit_sm, enquire_link, ...), for throughput views. */
  requestsIn = 0;
  /** Requests sent to the peer (deliver_sm, ...). */
  requestsOut = 0;
  /** Clock time the session was created, ms. */
  readonly openedAt: number;
  readonly role: 'smsc' | 'esme';
  readonly #socket: Duplex;
  readonly #clock: Clock;
  readonly #delegate: SessionDelegate;
  readonly #decoder: FrameDecoder;
  #windowSize: number;
  readonly #unsupported: ReadonlySet<string>;
  readonly #maxInbound: number;
  readonly #responseTimeoutMs: number;
  readonly #enquireLinkMs: number;
  readonly #inactivityMs: number;
  readonly #drainTimeoutMs: number;

  #state: SessionState = SessionState.Open;
  #bindType: BindType | undefined;
  /** The bind type asked for while binding (ESME side). */
  #bindingAs: BindType | undefined;
  #seq: number;
  #pending = new Map<number, Outstanding>();
  #windowWaiters = new Fifo<{ resolve(): void; reject(e: Error): void }>();
  #responseTimer: TimerHandle | undefined;
  #responseTimerAt = Number.POSITIVE_INFINITY;

  #inflight = 0;
  /** unbind() waiting for #inflight to reach 0 (see #handlersFinished). */
  #idleWaiters: (() => void)[] = [];
  #paused = false;
  /** Request frames read while every handler slot was taken, waiting for one in order (see #pump). */
  readonly #heldFrames = new Fifo<Buffer>();
  #outQueue: Buffer[] = [];
  #flushScheduled = false;
  #waitingDrain = false;
  #drainTimer: TimerHandle | undefined;
  #closeAfterFlush = false;
  /** A fatal frame was read: nothing more is read, the requests being handled are answered, then the session closes. */
  #readingStopped = false;

  #lastRx: number;
  #lastTx: number;
  #lastTransaction: number;
  #enquireTimer: TimerHandle | undefined;
  #inactivityTimer: TimerHandle | undefined;
  #sessionInitTimer: TimerHandle | undefined;
  #enquirePending = false;

  #closedPromise: Promise<Error | undefined>;
  #resolveClosed!: (e: Error | undefined) => void;
  #closeError: Error | undefined;

  /** Peer's system_id once bound (or as sent in outbind). */
  systemId = '';
  /** interface_version of the bind (0x34 until a bind says otherwise). */
  interfaceVersion: number = InterfaceVersion.V34;
  /** Opaque slot for the layer above (the server keeps the account here). */
  context: unknown;

  constructor(socket: Duplex, options: SessionOptions, delegate: SessionDelegate = {}) {
    super();
    this.role = options.role;
    this.id = options.id ?? `s${(++sessionCounter).toString(36)}`;
    this.#socket = socket;
    this.#clock = options.clock ?? systemClock;
    this.openedAt = this.#clock.now();
    this.#delegate = delegate;
    this.#decoder = new FrameDecoder(options.maxPduBytes === undefined ? {} : { maxPduBytes: options.maxPduBytes });
    this.#windowSize = options.windowSize ?? 10;
    this.#unsupported = new Set(options.unsupported ?? []);
    this.#maxInbound = options.maxInboundInFlight ?? 100;
    this.#responseTimeoutMs = options.responseTimeoutMs ?? 30_000;
    this.#enquireLinkMs = options.enquireLinkIntervalMs ?? 30_000;
    this.#inactivityMs = options.inactivityTimeoutMs ?? 0;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#seq = options.initialSequence ?? 0;
    const now = this.#clock.now();
    this.#lastRx = now;
    this.#lastTx = now;
    this.#lastTransaction = now;
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });

    const sock = socket as Duplex & { setNoDelay?(v: boolean): void };
    sock.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#close(new SessionClosedError('peer closed the connection')));
    socket.on('close', () => this.#close(new SessionClosedError('connection closed')));
    socket.on('error', (err) => this.#close(new SessionClosedError(err.message, undefined, { cause: err })));
    socket.on('drain', () => this.#onDrain());

    const initMs = options.sessionInitTimeoutMs ?? (this.role === 'smsc' ? 10_000 : 0);
    if (initMs > 0) {
      this.#sessionInitTimer = this.#clock.setTimer(
        () => this.#close(new SessionClosedError(`not bound within session_init_timer (${initMs} ms)`)),
        initMs,
      );
    }
    if (this.#enquireLinkMs > 0) this.#armEnquireLink(this.#enquireLinkMs);
  }

  // ---- public state ------------------------------------------------------------------

  get state(): SessionState {
    return this.#state;
  }
  get bindType(): BindType | undefined {
    return this.#bindType;
  }
  /** Requests we sent that still wait for a response. */
  get outstanding(): number {
    return this.#pending.size;
  }
  /** Requests waiting for a window slot (not sent yet). */
  get waiting(): number {
    return this.#windowWaiters.length;
  }
  get windowSize(): number {
    return this.#windowSize;
  }
  /** Changes the outbound window (the server applies the account's window after bind). */
  set windowSize(n: number) {
    const size = Math.max(1, n);
    const grew = size > this.#windowSize;
    this.#windowSize = size;
    while (this.#windowWaiters.length > 0 && this.#pending.size < this.#windowSize) this.#releaseWindowSlot();
    if (grew && this.#pending.size < this.#windowSize) this.#slotFreed();
  }
  /** Inbound requests being handled. */
  get inflight(): number {
    return this.#inflight;
  }
  get remoteAddress(): string | undefined {
    return (this.#socket as Duplex & { remoteAddress?: string }).remoteAddress;
  }
  get remotePort(): number | undefined {
    return (this.#socket as Duplex & { remotePort?: number }).remotePort;
  }
  /** True when requests of a bound session of this type can flow to the ESME (SMSC side). */
  get canDeliver(): boolean {
    return canReceive(this.#state);
  }
  get isBound(): boolean {
    return isBound(this.#state);
  }

  /** Resolves when the session has closed, with the reason (undefined after a clean unbind). */
  closed(): Promise<Error | undefined> {
    return this.#closedPromise;
  }

  // ---- sending -----------------------------------------------------------------------

  /** Next sequence number: 1..0x7FFFFFFF, then wraps to 1. [ref §6.7] */
  nextSequence(): number {
    this.#seq = this.#seq >= 0x7fffffff ? 1 : this.#seq + 1;
    return this.#seq;
  }

  /**
   * Sends a request and resolves with its response. Rejects with CommandStatusError when the
   * response (or a generic_nack) carries a non-zero status, ResponseTimeoutError after the
   * response timer, SessionClosedError when the session ends first, WindowFullError when the
   * window is full and `wait: false`, PduDecodeError when the response does not decode (its
   * commandStatus is the one we would answer such a PDU with, not the peer's).
   */
  request<C extends RequestName>(
    command: C,
    body: BodyOf<C>,
    options: RequestOptions = {},
  ): Promise<PduOf<ResponseNameOf<C>>> {
    if (this.#pending.size >= this.#windowSize) return this.#requestWhenRoom(command, body, options);
    try {
      this.#assertCanSend(command);
    } catch (err) {
      return Promise.reject(err);
    }
    const seq = this.nextSequence();
    const fields = body as unknown as Record<string, unknown>;
    let bytes: Buffer;
    try {
      bytes = encodeParts(command, 0, seq, fields, this.interfaceVersion >= InterfaceVersion.V34);
    } catch (err) {
      return Promise.reject(err);
    }
    this.requestsOut++;
    const timeoutMs = options.timeoutMs ?? this.#responseTimeoutMs;
    // 0 turns the response timer off, as for the other timers.
    const deadline = timeoutMs > 0 ? this.#clock.now() + timeoutMs : Number.POSITIVE_INFINITY;
    return new Promise<PduOf<ResponseNameOf<C>>>((resolve, reject) => {
      this.#pending.set(seq, {
        command,
        sequenceNumber: seq,
        body: fields,
        expect: RESPONSE_OF[command],
        deadline,
        timeoutMs,
        resolve: resolve as (p: Pdu) => void,
        reject,
      });
      if (deadline < this.#responseTimerAt) this.#armResponseTimer(deadline);
      if (channels.pduOut.hasSubscribers) channels.pduOut.publish(new PduEvent(this, command, 0, seq, fields));
      this.#enqueue(bytes);
    });
  }

  async #requestWhenRoom<C extends RequestName>(
    command: C,
    body: BodyOf<C>,
    options: RequestOptions,
  ): Promise<PduOf<ResponseNameOf<C>>> {
    while (this.#pending.size >= this.#windowSize) {
      if (options.wait === false) throw new WindowFullError(this.#windowSize);
      await new Promise<void>((resolve, reject) => this.#windowWaiters.push({ resolve, reject }));
    }
    const sent = this.requestsOut;
    const response = this.request(command, body, options);
    // Woken for a slot but not sent (the state forbids it now, or the body does not encode):
    // the slot goes to the next waiter, who would otherwise wait for a response never coming.
    if (this.requestsOut === sent && this.#pending.size < this.#windowSize && !this.#releaseWindowSlot()) this.#slotFreed();
    return response;
  }

  /** Sends a PDU that is never answered (outbind, alert_notification, generic_nack). */
  send(pdu: Pdu): void {
    if (this.#state === SessionState.Closed) throw new SessionClosedError('cannot send on a closed session', pdu);
    if (this.role === 'smsc' && pdu.command === 'alert_notification' && !canReceive(this.#state)) {
      throw new InvalidStateError(`cannot send alert_notification in state ${this.#state}`);
    }
    this.#publishOut(pdu);
    this.#enqueue(encodePdu(this.#forPeer(pdu)));
  }

  /** ESME side: binds and resolves when bound; rejects with CommandStatusError (BindRejected) on refusal. */
  async bind(
    type: BindType,
    body: Omit<BodyOf<'bind_transceiver'>, 'tlvs'> & { tlvs?: BodyOf<'bind_transceiver'>['tlvs'] },
  ): Promise<PduOf<'bind_transceiver_resp'>> {
    if (this.#state === SessionState.Closed) throw new SessionClosedError(`cannot bind_${type}: the connection is closed`);
    if (this.#state !== SessionState.Open) throw new InvalidStateError(`cannot bind_${type} in state ${this.#state}: a session binds once`);
    this.#transition(SessionState.Binding);
    this.interfaceVersion = body.interfaceVersion;
    this.#bindingAs = type;
    try {
      // Bound as the response is read (#onResponse), not a microtask later: an SMSC may send
      // its queued deliver_sm right behind the bind_resp, in the same read.
      const resp = await this.request(bindCommandOf(type), { ...body, tlvs: body.tlvs ?? {} });
      return resp as unknown as PduOf<'bind_transceiver_resp'>;
    } catch (err) {
      // Not answered: the SMSC may have bound us all the same, and a second bind on this
      // connection would be refused as already bound. The connection goes.
      if (err instanceof ResponseTimeoutError) this.destroy(`bind_${type} not answered`);
      if ((this.#state as SessionState) === SessionState.Binding) this.#transition(SessionState.Open);
      if (err instanceof CommandStatusError) throw new BindRejectedError(err.commandStatus, `bind_${type}`, err.response);
      throw err;
    }
  }

  /** SMSC side, on a connection we opened: sends outbind and waits for the ESME's bind. [ref §6.3] */
  outbind(systemId: string, password: string): void {
    this.#transition(SessionState.Outbound);
    this.send({ command: 'outbind', commandStatus: 0, sequenceNumber: this.nextSequence(), systemId, password, tlvs: {} });
  }

  /**
   * Graceful close: sends unbind, waits for unbind_resp (at most the response timer), then closes.
   * [ref §6.3] Outstanding requests are settled by the close.
   */
  async unbind(): Promise<void> {
    if (this.#state === SessionState.Closed) return;
    if (!isBound(this.#state)) {
      this.#close(undefined);
      return;
    }
    this.#transition(SessionState.Unbinding);
    // Requests of the peer still being handled (a submit waiting for its commit) are answered
    // first, as when the peer unbinds [ref §6.3]: a peer may close as soon as it has answered
    // our unbind, so their responses go before it. At most the response timer.
    await this.#handlersFinished();
    if ((this.#state as SessionState) === SessionState.Closed) return;
    try {
      await this.request('unbind', {} as BodyOf<'unbind'>);
    } catch {
      // No answer or a refusal: close anyway.
    }
    if ((this.#state as SessionState) === SessionState.Closed) return;
    this.#closeAfterFlush = true;
    this.#closeError = undefined;
    this.#flush();
    // A peer that does not read (its bytes cannot leave): closed without them.
    this.#close(undefined);
  }

  /** Resolves when no request of the peer is being handled, the session closed, or the response timer ran out. */
  #handlersFinished(): Promise<void> {
    if (this.#inflight === 0 || this.#state === SessionState.Closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.#responseTimeoutMs > 0 ? this.#clock.setTimer(() => done(), this.#responseTimeoutMs) : undefined;
      const done = () => {
        timer?.cancel();
        resolve();
      };
      this.#idleWaiters.push(done);
    });
  }

  /** Closes the connection at once; outstanding requests reject with SessionClosedError. */
  destroy(reason = 'destroyed'): void {
    this.#close(new SessionClosedError(reason));
  }

  // ---- receiving ---------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#readingStopped) return;
    this.#lastRx = this.#clock.now();
    this.#decoder.push(chunk);
    this.#pump();
  }

  /**
   * Takes frames while handlers have room. With every handler slot taken it reads on, as far as
   * maxInboundInFlight requests held back: what needs no slot is handled at once (an
   * enquire_link is answered, a response to our request is read: a transceiver's
   * deliver_sm_resp, or a long wait would stall its deliveries and its link checks), the
   * requests wait their turn in order. Past that, or while our writes wait for the peer to
   * read, the socket pauses.
   */
  #pump(): void {
    if (this.#readingStopped) return;
    while (this.#state !== SessionState.Closed && !this.#waitingDrain) {
      const full = this.#inflight >= this.#maxInbound;
      let frame: Buffer | undefined;
      if (!full && this.#heldFrames.length > 0) frame = this.#heldFrames.shift()!;
      else {
        if (full && this.#heldFrames.length >= this.#maxInbound) break;
        try {
          frame = this.#decoder.next();
        } catch (err) {
          this.#onFatalFrame(err as PduDecodeError);
          return;
        }
        if (frame === undefined) break;
        if (full && takesHandlerSlot(frame)) {
          this.#heldFrames.push(frame);
          continue;
        }
      }
      this.#onFrame(frame);
    }
    const mustPause = (this.#inflight >= this.#maxInbound && this.#heldFrames.length >= this.#maxInbound) || this.#waitingDrain;
    if (mustPause && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    } else if (!mustPause && this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /**
   * [ref §6.8] bad command_length: generic_nack ESME_RINVCMDLEN, then close (the stream is out of
   * sync). The requests read before it and still being handled (a submit waiting for its commit)
   * are answered first, at most the response timer, as for an unbind: a message stored without
   * its answer would be submitted again. Those read but not yet handled are dropped unanswered
   * (nothing was done with them; the peer sends them again). A bound session takes no new
   * deliveries meanwhile (it is unbinding).
   */
  #onFatalFrame(err: PduDecodeError): void {
    this.#readingStopped = true;
    this.#heldFrames.drain();
    if (!this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
    this.#sendHeaderOnly(CommandId.generic_nack, err.commandStatus, err.sequenceNumber);
    this.#closeError = new SessionClosedError(err.message, undefined, { cause: err });
    if (isBound(this.#state)) this.#transition(SessionState.Unbinding);
    void this.#handlersFinished().then(() => {
      if (this.#state === SessionState.Closed) return;
      this.#closeAfterFlush = true;
      this.#scheduleFlush();
    });
  }

  #onFrame(frame: Buffer): void {
    let pdu: Pdu;
    try {
      pdu = decodePdu(frame);
    } catch (err) {
      if (err instanceof PduDecodeError) this.#onBadPdu(err);
      else throw err;
      return;
    }
    if (channels.pduIn.hasSubscribers) channels.pduIn.publish(PduEvent.of(this, pdu));
    if (isResponseId(CommandId[pdu.command])) this.#onResponse(pdu);
    else {
      this.requestsIn++;
      this.#onRequest(pdu);
    }
  }

  /** A PDU that failed to decode: answer it as [ref §6.8] says; the session goes on. */
  #onBadPdu(err: PduDecodeError): void {
    const id = err.commandId;
    const name = id === undefined ? undefined : commandNameOf(id);
    if (id !== undefined && isResponseId(id) && name !== undefined) {
      // Never answered; the request it answers fails now rather than at its response timer.
      this.#onBadResponse(id, err);
      return;
    }
    if (err.fatal) {
      this.#onFatalFrame(err);
      return;
    }
    // A command we do not support is answered as one, well formed or not.
    if (name !== undefined && this.#unsupported.has(name)) {
      this.#sendHeaderOnly(CommandId.generic_nack, S.ESME_RINVCMDID, err.sequenceNumber);
      return;
    }
    const respId = name === undefined ? undefined : (CommandId as Record<string, number>)[`${name}_resp`];
    const badBind = name?.startsWith('bind_') === true && this.role === 'smsc' && this.#state === SessionState.Open;
    if (badBind) {
      // [ref §6.3] like any refused bind: the response, then the connection closes.
      this.#closeAfterFlush = true;
      this.#closeError = new SessionClosedError(`bind refused: ${err.commandStatus}`);
    }
    this.#sendHeaderOnly(respId ?? CommandId.generic_nack, err.commandStatus, err.sequenceNumber);
    if (badBind) this.#delegate.onBadBind?.(this);
  }

  #onBadResponse(commandId: number, err: PduDecodeError): void {
    const entry = this.#pending.get(err.sequenceNumber);
    if (entry === undefined || (commandId !== CommandId[entry.expect] && commandId !== CommandId.generic_nack)) return;
    this.#pending.delete(err.sequenceNumber);
    entry.reject(err);
    if (!this.#releaseWindowSlot()) this.#slotFreed();
  }

  #onResponse(pdu: Pdu): void {
    const entry = this.#pending.get(pdu.sequenceNumber);
    // [ref §6.2] a response we did not ask for (or of the wrong type) is dropped.
    if (entry === undefined || (pdu.command !== entry.expect && pdu.command !== 'generic_nack')) return;
    this.#pending.delete(pdu.sequenceNumber);
    if (entry.expect !== 'enquire_link_resp') this.#lastTransaction = this.#clock.now();
    if (pdu.commandStatus === S.ESME_ROK && this.#state === SessionState.Binding && this.#bindingAs !== undefined && isBindResp(pdu)) {
      this.#bindType = this.#bindingAs;
      this.systemId = pdu.systemId;
      this.#bound(this.#bindingAs);
    }
    if (pdu.commandStatus === S.ESME_ROK && pdu.command !== 'generic_nack') entry.resolve(pdu);
    else entry.reject(new CommandStatusError(pdu.commandStatus, `${entry.command}#${pdu.sequenceNumber}`, pdu));
    if (!this.#releaseWindowSlot()) this.#slotFreed();
  }

  #onRequest(pdu: Pdu): void {
    const command = pdu.command;
    if (command === 'enquire_link') {
      // [ref §6.2] always answered, in every state.
      this.#sendHeaderOnly(CommandId.enquire_link_resp, S.ESME_ROK, pdu.sequenceNumber);
      return;
    }
    this.#lastTransaction = this.#clock.now();
    if (command === 'unbind') {
      this.#onUnbind(pdu);
      return;
    }
    if (this.role === 'smsc') {
      if (command === 'bind_transmitter' || command === 'bind_receiver' || command === 'bind_transceiver') {
        this.#onBind(pdu);
        return;
      }
      if (!SUBMIT_SIDE.has(command)) {
        // deliver_sm, outbind, alert_notification from an ESME. [ref §6.2]
        this.#sendHeaderOnly(CommandId.generic_nack, S.ESME_RINVCMDID, pdu.sequenceNumber);
        return;
      }
      if (!canTransmit(this.#state)) {
        this.#reply(pdu, S.ESME_RINVBNDSTS);
        return;
      }
    } else {
      if (command === 'outbind') {
        if (this.#state === SessionState.Open) {
          this.systemId = pdu.systemId;
          this.#delegate.onOutbind?.(pdu, this);
        }
        return;
      }
      if (!DELIVER_SIDE.has(command)) {
        this.#sendHeaderOnly(CommandId.generic_nack, S.ESME_RINVCMDID, pdu.sequenceNumber);
        return;
      }
      if (!canReceive(this.#state)) {
        if (command !== 'alert_notification') this.#reply(pdu, S.ESME_RINVBNDSTS);
        return;
      }
    }
    if (this.#unsupported.has(command)) {
      this.#sendHeaderOnly(CommandId.generic_nack, S.ESME_RINVCMDID, pdu.sequenceNumber);
      return;
    }
    const handler = this.#delegate.onRequest;
    if (handler === undefined) {
      if (command !== 'alert_notification') this.#reply(pdu, S.ESME_RSYSERR);
      return;
    }
    this.#runHandler(pdu, () => handler(pdu, this));
  }

  /** Runs a handler, counting it in flight, and sends its reply (alert_notification gets none). */
  #runHandler(pdu: Pdu, fn: () => Promise<Reply> | Reply): void {
    let result: Promise<Reply> | Reply;
    try {
      result = fn();
    } catch (err) {
      this.#handlerFailed(err, pdu);
      this.#reply(pdu, S.ESME_RSYSERR);
      return;
    }
    if (!(result instanceof Promise)) {
      this.#reply(pdu, result);
      return;
    }
    this.#inflight++;
    result.then(
      (reply) => this.#handlerDone(pdu, reply),
      (err: unknown) => {
        this.#handlerFailed(err, pdu);
        this.#handlerDone(pdu, S.ESME_RSYSERR);
      },
    );
  }

  /** Tells the delegate why a request is answered ESME_RSYSERR (its own failure is not ours). */
  #handlerFailed(err: unknown, pdu: Pdu): void {
    try {
      this.#delegate.onHandlerError?.(err, pdu, this);
    } catch {
      // the answer goes out regardless
    }
  }

  #handlerDone(pdu: Pdu, reply: Reply): void {
    this.#inflight--;
    this.#reply(pdu, reply);
    if (this.#inflight === 0 && this.#idleWaiters.length > 0) for (const done of this.#idleWaiters.splice(0)) done();
    if (this.#paused || this.#heldFrames.length > 0) this.#pump();
  }

  /** Sends the response to `req` built from a status or a body. */
  #reply(req: Pdu, reply: Reply): void {
    if (this.#state === SessionState.Closed) return;
    const respName = RESPONSE_OF[req.command as RequestName];
    if (respName === undefined) return; // alert_notification, outbind: never answered
    const respId = CommandId[respName];
    if (typeof reply === 'number') {
      this.#sendHeaderOnly(respId, reply, req.sequenceNumber);
      return;
    }
    if (typeof reply !== 'object' || reply === null) {
      // A handler that answered nothing (a bug above the session): a system error, not a crash.
      this.#sendHeaderOnly(respId, S.ESME_RSYSERR, req.sequenceNumber);
      return;
    }
    const status = reply.commandStatus ?? S.ESME_ROK;
    if (channels.pduOut.hasSubscribers) channels.pduOut.publish(new PduEvent(this, respName, status, req.sequenceNumber, reply));
    let bytes: Buffer;
    try {
      bytes = encodeParts(respName, status, req.sequenceNumber, reply, this.interfaceVersion >= InterfaceVersion.V34);
    } catch {
      bytes = encodeHeaderOnly(respId, S.ESME_RSYSERR, req.sequenceNumber);
    }
    this.#enqueue(bytes);
  }

  #onBind(pdu: BindPdu): void {
    if (this.#state !== SessionState.Open && this.#state !== SessionState.Outbound) {
      // [ref §6.2] bind on a bound session: ESME_RALYBND, session unchanged.
      this.#reply(pdu, S.ESME_RALYBND);
      return;
    }
    const onBind = this.#delegate.onBind;
    if (onBind === undefined) {
      this.#reply(pdu, S.ESME_RBINDFAIL);
      return;
    }
    const previous = this.#state;
    this.#transition(SessionState.Binding);
    const type = bindTypeOfCommand(pdu.command)!;
    this.#runHandler(pdu, async () => {
      let outcome: BindOutcome;
      try {
        outcome = await onBind(pdu, this);
      } catch {
        outcome = { commandStatus: S.ESME_RBINDFAIL, systemId: '' };
      }
      if (this.#state !== SessionState.Binding) return S.ESME_RBINDFAIL;
      if (outcome.commandStatus !== S.ESME_ROK) {
        // [ref §6.3] failure: header-only response, then close without creating a session.
        this.#transition(previous);
        this.#closeAfterFlush = true;
        this.#closeError = new SessionClosedError(`bind refused: ${outcome.commandStatus}`);
        return outcome.commandStatus;
      }
      this.systemId = pdu.systemId;
      // [ref §6.3] record the version; 0x00-0x33 is 3.3, >=0x50 is 5.0, between is 3.4.
      const v = pdu.interfaceVersion;
      this.interfaceVersion = v <= 0x33 ? InterfaceVersion.V33 : v >= 0x50 ? InterfaceVersion.V50 : InterfaceVersion.V34;
      this.#bindType = type;
      this.#bound(type);
      // [ref §2.2] sc_interface_version only to ESMEs of 3.4 or later.
      const tlvs = this.interfaceVersion >= InterfaceVersion.V34 ? { scInterfaceVersion: this.interfaceVersion } : {};
      return { systemId: outcome.systemId, tlvs };
    });
  }

  #bound(type: BindType): void {
    this.#transition(boundStateOf(type));
    this.#sessionInitTimer?.cancel();
    this.#sessionInitTimer = undefined;
    this.#lastTransaction = this.#clock.now();
    if (this.#inactivityMs > 0) this.#armInactivity(this.#inactivityMs);
    this.#tell('bound', type);
  }

  #onUnbind(pdu: Pdu): void {
    if (this.#state === SessionState.Unbinding) {
      // Both sides unbound at once: answer and let our own unbind finish the close.
      this.#sendHeaderOnly(CommandId.unbind_resp, S.ESME_ROK, pdu.sequenceNumber);
      return;
    }
    if (!isBound(this.#state)) {
      this.#sendHeaderOnly(CommandId.unbind_resp, S.ESME_RINVBNDSTS, pdu.sequenceNumber);
      return;
    }
    this.#transition(SessionState.Unbinding);
    const seq = pdu.sequenceNumber;
    // Answer the requests already being handled first (at most the response timer, as for our
    // own unbind: a handler that never ends cannot hold the unbind), then unbind_resp, then close.
    if (this.#inflight === 0) this.#finishUnbind(seq);
    else
      void this.#handlersFinished().then(() => {
        if (this.#state !== SessionState.Closed) this.#finishUnbind(seq);
      });
  }

  #finishUnbind(seq: number): void {
    this.#sendHeaderOnly(CommandId.unbind_resp, S.ESME_ROK, seq);
    this.#closeAfterFlush = true;
    this.#closeError = undefined;
    this.#scheduleFlush();
  }

  // ---- writing -----------------------------------------------------------------------

  /** A header-only PDU (error responses, generic_nack, enquire_link_resp, unbind_resp), traced like any other. */
  #sendHeaderOnly(commandId: number, commandStatus: number, sequenceNumber: number): void {
    if (channels.pduOut.hasSubscribers) {
      const command = commandNameOf(commandId);
      if (command !== undefined) channels.pduOut.publish(new PduEvent(this, command, commandStatus, sequenceNumber, undefined));
    }
    this.#enqueue(encodeHeaderOnly(commandId, commandStatus, sequenceNumber));
  }

  #enqueue(bytes: Buffer): void {
    if (this.#state === SessionState.Closed) return;
    this.#outQueue.push(bytes);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(() => this.#flush());
  }

  /**
   * Writes everything produced in this tick as one write: the PDUs copied into one buffer. (Corked
   * writes of each PDU made the same single writev, but through the stream's per-chunk bookkeeping:
   * about a tenth of the main thread's time under the accept load, against a memcpy per PDU.)
   */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#state === SessionState.Closed) return;
    if (this.#waitingDrain) return;
    const q = this.#outQueue;
    if (q.length > 0) {
      this.#outQueue = [];
      this.#lastTx = this.#clock.now();
      const sock = this.#socket;
      sock.write(q.length === 1 ? q[0]! : Buffer.concat(q));
    }
    if (this.#closeAfterFlush) {
      this.#endGracefully();
      return;
    }
    if (this.#socket.writableNeedDrain) {
      // Stop producing until the peer takes our bytes; a frozen peer is dropped. [style §4]
      this.#waitingDrain = true;
      if (this.#drainTimeoutMs > 0) {
        this.#drainTimer = this.#clock.setTimer(
          () => this.#close(new SessionClosedError(`peer took no data for ${this.#drainTimeoutMs} ms`)),
          this.#drainTimeoutMs,
        );
      }
    }
  }

  #onDrain(): void {
    if (!this.#waitingDrain) return;
    this.#waitingDrain = false;
    this.#drainTimer?.cancel();
    this.#drainTimer = undefined;
    this.#flush();
    this.#pump();
  }

  #endGracefully(): void {
    const err = this.#closeError;
    this.#endSocket();
    this.#close(err, true);
  }

  /** Ends our side and destroys the socket once our last bytes are flushed, even if the peer keeps its side open. */
  #endSocket(): void {
    const sock = this.#socket as Duplex & { destroySoon?(): void };
    if (typeof sock.destroySoon === 'function') sock.destroySoon();
    else {
      sock.end();
      sock.once('finish', () => sock.destroy());
    }
  }

  // ---- timers ------------------------------------------------------------------------

  #armResponseTimer(at: number): void {
    this.#responseTimer?.cancel();
    this.#responseTimerAt = at;
    this.#responseTimer = this.#clock.setTimer(() => this.#onResponseTimer(), Math.max(0, at - this.#clock.now()));
  }

  #onResponseTimer(): void {
    this.#responseTimer = undefined;
    this.#responseTimerAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let next = Number.POSITIVE_INFINITY;
    let freed = false;
    for (const [seq, entry] of this.#pending) {
      if (entry.deadline <= now) {
        this.#pending.delete(seq);
        entry.reject(new ResponseTimeoutError(requestPdu(entry), entry.timeoutMs));
        if (!this.#releaseWindowSlot()) freed = true;
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armResponseTimer(next);
    // After the timer is armed again: a listener may send (or throw).
    if (freed) this.#slotFreed();
  }

  #armEnquireLink(ms: number): void {
    this.#enquireTimer = this.#clock.setTimer(() => this.#onEnquireLinkTimer(), ms);
  }

  /** enquire_link_timer: the idle side sends enquire_link; no answer within response_timer drops the session. */
  #onEnquireLinkTimer(): void {
    if (this.#state === SessionState.Closed) return;
    const idle = this.#clock.now() - Math.max(this.#lastRx, this.#lastTx);
    if (idle < this.#enquireLinkMs) {
      this.#armEnquireLink(this.#enquireLinkMs - idle);
      return;
    }
    this.#armEnquireLink(this.#enquireLinkMs);
    // 3.4 peers may reject enquire_link before bind: only send it once bound. [ref §6.2]
    if (!isBound(this.#state) || this.#enquirePending) return;
    this.#enquirePending = true;
    this.request('enquire_link', {} as BodyOf<'enquire_link'>, { wait: false }).then(
      () => {
        this.#enquirePending = false;
      },
      (err: Error) => {
        this.#enquirePending = false;
        if (err instanceof ResponseTimeoutError) this.#close(new SessionClosedError('peer did not answer enquire_link'));
      },
    );
  }

  #armInactivity(ms: number): void {
    this.#inactivityTimer = this.#clock.setTimer(() => this.#onInactivityTimer(), ms);
  }

  /** inactivity_timer: no transaction (other than enquire_link) for too long unbinds. */
  #onInactivityTimer(): void {
    if (!isBound(this.#state)) return;
    const idle = this.#clock.now() - this.#lastTransaction;
    if (idle < this.#inactivityMs) {
      this.#armInactivity(this.#inactivityMs - idle);
      return;
    }
    void this.unbind();
  }

  // ---- helpers -----------------------------------------------------------------------

  #assertCanSend(command: RequestName): void {
    const st = this.#state;
    if (st === SessionState.Closed) throw new SessionClosedError(`cannot send ${command}`);
    // [ref §6.2] the SMSC sends deliver_sm and data_sm only on receiver and transceiver binds.
    if (this.role === 'smsc' && (command === 'deliver_sm' || command === 'data_sm') && !canReceive(st)) {
      throw new InvalidStateError(`cannot send ${command} in state ${st}`);
    }
    if (st === SessionState.Unbinding && command !== 'unbind' && command !== 'enquire_link') {
      throw new SessionClosedError(`cannot send ${command} while unbinding`);
    }
  }

  /** [ref §4.1] Never send TLVs to a session bound with interface_version < 0x34. */
  #forPeer(pdu: Pdu): Pdu {
    if (this.interfaceVersion >= InterfaceVersion.V34) return pdu;
    const tlvs = (pdu as { tlvs?: object }).tlvs;
    if (tlvs === undefined || Object.keys(tlvs).length === 0) return pdu;
    return { ...pdu, tlvs: {} } as Pdu;
  }

  #publishOut(pdu: Pdu): void {
    if (channels.pduOut.hasSubscribers) channels.pduOut.publish(PduEvent.of(this, pdu));
  }

  /** A window slot is free: the oldest request waiting for one takes it (true), if any. */
  #releaseWindowSlot(): boolean {
    const w = this.#windowWaiters.shift();
    if (w === undefined) return false;
    w.resolve();
    return true;
  }

  /** A response or a timeout freed a window slot that no request() waits for. */
  #slotFreed(): void {
    if (this.#state !== SessionState.Closed) this.#tell('slotFree');
  }

  /**
   * Emits an event from inside the session's own work (a read, a timer): a listener that throws
   * must not unwind through it (it would skip the rest, or end the process from a socket read).
   */
  #tell(event: string, ...args: unknown[]): void {
    // Each listener on its own: one that throws must not keep the others from hearing it.
    for (const listener of this.rawListeners(event) as ((...a: unknown[]) => unknown)[]) {
      try {
        listener.apply(this, args);
      } catch {
        // The listener's bug; the session goes on.
      }
    }
  }

  #transition(to: SessionState): void {
    assertTransition(this.#state, to);
    this.#state = to;
    if (channels.state.hasSubscribers) channels.state.publish({ session: this, state: to });
    this.#tell('state', to);
  }

  #close(err: Error | undefined, ending = false): void {
    if (this.#state === SessionState.Closed) return;
    this.#transition(SessionState.Closed);
    for (const t of [this.#responseTimer, this.#enquireTimer, this.#inactivityTimer, this.#sessionInitTimer, this.#drainTimer]) {
      t?.cancel();
    }
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of pending) entry.reject(new SessionClosedError(err?.message ?? 'unbound', requestPdu(entry)));
    for (const w of this.#windowWaiters.drain()) w.reject(new RequestNotSentError(err?.message ?? 'unbound'));
    for (const done of this.#idleWaiters.splice(0)) done();
    this.#outQueue = [];
    if (!ending) {
      // What is already written leaves first, then the socket goes.
      if (err !== undefined) this.#socket.destroy();
      else this.#endSocket();
    }
    this.#resolveClosed(err);
    this.#tell('close', err);
  }
}

/** A bind_*_resp (its system_id is the SMSC's). */
function isBindResp(pdu: Pdu): pdu is PduOf<'bind_transceiver_resp'> | PduOf<'bind_transmitter_resp'> | PduOf<'bind_receiver_resp'> {
  return pdu.command === 'bind_transceiver_resp' || pdu.command === 'bind_transmitter_resp' || pdu.command === 'bind_receiver_resp';
}

/**
 * Whether a frame, read while every handler slot is taken, must wait for one: a request other
 * than enquire_link (answered at once) does; a response (generic_nack included) does not.
 */
function takesHandlerSlot(frame: Buffer): boolean {
  const id = frame.readUInt32BE(4);
  return !isResponseId(id) && id !== CommandId.enquire_link;
}
