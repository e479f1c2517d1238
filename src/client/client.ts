/**
 * The ESME client library: connect, bind, submit and friends as promises, deliveries as an
 * async iterator, reconnect with back-off and rebind. Built on the same Session the SMSC uses.
 */
import net from 'node:net';
import tls from 'node:tls';
import { InvalidArgumentError, PartialSendError, SessionClosedError } from '../errors.js';
import { CommandStatus, EsmClass, InterfaceVersion } from '../pdu/constants.js';
import type { BodyOf, DataSm, DeliverSm, Pdu, PduOf } from '../pdu/types.js';
import { type Clock, systemClock, type TimerHandle } from '../session/clock.js';
import { whenConnected } from '../session/connect.js';
import { type Reply, type RequestOptions, Session, type SessionOptions } from '../session/session.js';
import { type BindType, SessionState } from '../session/state.js';
import { SplitMethod, splitText } from '../sm/split.js';
import { Fifo } from '../util/fifo.js';

/** Where and how to connect. */
export interface ConnectOptions {
  host?: string;
  port: number;
  /** true, or TLS options (ca, servername, rejectUnauthorized...). */
  tls?: boolean | tls.ConnectionOptions;
  /** Timers and window of the session (role is always 'esme'). */
  session?: Omit<SessionOptions, 'role' | 'clock' | 'id'>;
  clock?: Clock;
  /** The TCP connect and, with TLS, its handshake must end within this (ms). Default: the session's responseTimeoutMs, else 30000. */
  connectTimeoutMs?: number;
  /**
   * Reconnect and rebind after the connection is lost. Default: off. Each wait is the back-off
   * delay lengthened by up to `jitter` of it, at random (default 0.2; 0 for exact delays), so
   * clients dropped together by an SMSC restart do not all come back in the same millisecond.
   */
  reconnect?: false | { initialDelayMs?: number; maxDelayMs?: number; factor?: number; jitter?: number };
  /**
   * What happens to requests outstanding when the connection drops: retried after rebind, or
   * rejected. Default 'reject'. With 'retry' the SMSC may have received a request whose response
   * was lost with the connection: a submit can then arrive twice (at least once, never lost).
   */
  onDisconnect?: 'retry' | 'reject';
  /** Send deliver_sm_resp yourself with `ack()`. Default false (acknowledged on arrival). */
  manualAck?: boolean;
  /**
   * Deliveries buffered before acknowledgements wait for the consumer. Default 10000. A consumer
   * that stalls past the SMSC's response timer once the buffer is full gets those deliveries
   * again (the SMSC times out their deliver_sm and retries).
   */
  maxBufferedDeliveries?: number;
}

/** Bind parameters. */
export interface BindOptions {
  type: BindType;
  systemId: string;
  password: string;
  systemType?: string;
  /** Default 0x34. */
  interfaceVersion?: number;
  addrTon?: number;
  addrNpi?: number;
  addressRange?: string;
}

/**
 * What `submit` takes: the submit_sm fields, all optional but the destination. Unset ones are
 * empty or 0, except dest_addr_ton/npi, 1/1 (international, ISDN): set them for a short code.
 */
export type SubmitInput = Partial<BodyOf<'submit_sm'>> & { destinationAddr: string };

/**
 * What `sendText` takes: the submit_sm fields but the content ones, and the text. Its
 * data_coding is the most compact that holds the text (GSM 03.38, else UCS-2) unless given.
 */
export type TextInput = Omit<SubmitInput, 'shortMessage' | 'dataCoding'> & {
  text: string;
  dataCoding?: number;
  /** How a text longer than one SMS is split. Default `udh8` (concatenation UDH, the most widely understood). */
  split?: SplitMethod;
};

/** A PDU the SMSC delivered to us. */
export type Delivery = DeliverSm | DataSm | PduOf<'alert_notification'>;

const SUBMIT_DEFAULTS: BodyOf<'submit_sm'> = {
  serviceType: '',
  sourceAddrTon: 0,
  sourceAddrNpi: 0,
  sourceAddr: '',
  destAddrTon: 1,
  destAddrNpi: 1,
  destinationAddr: '',
  esmClass: 0,
  protocolId: 0,
  priorityFlag: 0,
  scheduleDeliveryTime: '',
  validityPeriod: '',
  registeredDelivery: 0,
  replaceIfPresentFlag: 0,
  dataCoding: 0,
  smDefaultMsgId: 0,
  shortMessage: Buffer.alloc(0),
  tlvs: {},
};

const SPLIT_METHODS: ReadonlySet<string> = new Set(Object.values(SplitMethod));

/** The default `reconnect.jitter`: each wait up to a fifth longer than the back-off delay. */
const DEFAULT_RECONNECT_JITTER = 0.2;

/** An unbounded-by-design FIFO consumed by async iteration; the producer bounds it. */
class AsyncQueue<T> {
  #items = new Fifo<T>();
  #waiters = new Fifo<(r: IteratorResult<T>) => void>();
  #done = false;
  #onTake: (() => void) | undefined;

  constructor(onTake?: () => void) {
    this.#onTake = onTake;
  }
  get length(): number {
    return this.#items.length;
  }
  push(d: T): void {
    const w = this.#waiters.shift();
    if (w !== undefined) {
      w({ value: d, done: false });
      this.#onTake?.();
    } else this.#items.push(d);
  }
  end(): void {
    this.#done = true;
    for (const w of this.#waiters.drain()) w({ value: undefined, done: true });
  }
  /** Takes the items not yet handed out for which `drop` says so out of the queue. */
  remove(drop: (item: T) => boolean): void {
    for (const item of this.#items.drain()) if (!drop(item)) this.#items.push(item);
  }
  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) {
      this.#onTake?.();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** An ESME's connection to an SMSC. Create with `connect()`. */
export class Client {
  readonly #opts: ConnectOptions;
  readonly #clock: Clock;
  #session: Session;
  #bindOptions: BindOptions | undefined;
  #reconnectDelay: number;
  #reconnectTimer: TimerHandle | undefined;
  #reconnectAt: number | undefined;
  #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (e: Error) => void;
  #deliveries: AsyncQueue<Delivery>;
  /**
   * Deliveries whose response has not gone out (with manualAck until ack(); otherwise those held
   * back past maxBufferedDeliveries), in arrival order: how to answer each, and its session.
   */
  #owed = new Map<Delivery, { session: Session; answer(status: number): void }>();
  /** Deliveries ack() answered (manualAck), so a second ack() says so. */
  #answered = new WeakSet<Delivery>();
  #lastReconnectError: Error | undefined;
  /** A reconnect attempt under way (close() waits for it). */
  #reconnecting: Promise<void> | undefined;
  /** While a reconnect is due: keeps the process alive (the clock's timers do not). */
  #keepAlive: NodeJS.Timeout | undefined;
  /** Calls (submit, query, ...) not settled yet, and close() waiting for them. */
  #callsInFlight = 0;
  #callsSettled: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(options: ConnectOptions, session: Session) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#reconnectDelay = (options.reconnect || undefined)?.initialDelayMs ?? 500;
    this.#deliveries = new AsyncQueue<Delivery>(() => this.#releaseHeldAck());
    this.#ready = this.#newReady();
    this.#closedPromise = new Promise((r) => {
      this.#resolveClosed = r;
    });
    this.#session = session;
    this.#attach(session);
  }

  /** Opens a connection (not yet bound). */
  static async connect(options: ConnectOptions): Promise<Client> {
    // Deliveries cannot arrive before the bind, so the holder is always filled in time.
    const holder: { client?: Client } = {};
    const session = await openSession(options, (pdu, s) => holder.client!.#onDelivery(pdu, s));
    holder.client = new Client(options, session);
    return holder.client;
  }

  /**
   * A client on a connection an SMSC opened to us ([ref §6.3] outbind): resolves once the
   * SMSC's outbind came and our bind on that connection succeeded. See {@link listenForOutbind}.
   */
  static fromOutbind(socket: net.Socket, options: OutbindListenOptions): Promise<Client> {
    const { bind, smsc, host: _host, port, ...rest } = options;
    const clientOptions: ConnectOptions = { ...rest, port };
    const clock = options.clock ?? systemClock;
    return new Promise<Client>((resolve, reject) => {
      let client: Client | undefined;
      const session: Session = new Session(
        socket,
        { ...options.session, role: 'esme', ...(options.clock ? { clock: options.clock } : {}) },
        {
          onOutbind: (req) => {
            if (client !== undefined) return;
            wait?.cancel();
            if (smsc !== undefined && (req.systemId !== smsc.systemId || (smsc.password !== undefined && req.password !== smsc.password))) {
              session.destroy(`outbind from an unexpected SMSC (${req.systemId})`);
              return;
            }
            client = new Client(clientOptions, session);
            const c = client;
            c.bind({ ...bind, type: bind.type ?? 'receiver' }).then(
              () => resolve(c),
              (err: Error) => {
                session.destroy('bind after outbind refused');
                reject(err);
              },
            );
          },
          // Deliveries only come once bound, so the client is there by then.
          onRequest: (pdu, s) => client!.#onDelivery(pdu, s),
        },
      );
      // An SMSC that connects and never sends its outbind does not hold the connection.
      // 0 turns the wait off, as it turns the session init timer off.
      const waitMs = options.session?.sessionInitTimeoutMs ?? options.session?.responseTimeoutMs ?? 30_000;
      const wait = waitMs > 0 ? clock.setTimer(() => session.destroy('no outbind'), waitMs) : undefined;
      void session.closed().then((err) => {
        wait?.cancel();
        // Settled already when the bind went either way.
        reject(err ?? new SessionClosedError('closed before an outbind'));
      });
    });
  }

  /** Clock time of the next reconnect attempt, while one is scheduled. */
  get reconnectAt(): number | undefined {
    return this.#reconnectAt;
  }

  /**
   * Why the last reconnect attempt failed (the connection refused, the bind refused: a changed
   * password keeps failing), until one succeeds; undefined otherwise.
   */
  get lastReconnectError(): Error | undefined {
    return this.#lastReconnectError;
  }

  /** The current session (replaced after a reconnect). */
  get session(): Session {
    return this.#session;
  }

  /** Binds; resolves with the bind response. Rejects with a BindRejectedError-like CommandStatusError. */
  async bind(options: BindOptions): Promise<PduOf<'bind_transceiver_resp'>> {
    const resp = await this.#bindSession(this.#session, options);
    // Kept (for rebinding after a reconnect) only once they bound: a refused first bind must
    // not start a loop of reconnects with the same wrong credentials.
    this.#bindOptions = options;
    this.#resolveReady();
    return resp;
  }

  /** Submits one message; resolves with submit_sm_resp, throws CommandStatusError on refusal. */
  submit(input: SubmitInput, options?: RequestOptions): Promise<PduOf<'submit_sm_resp'>> {
    if (typeof input.destinationAddr !== 'string') {
      return Promise.reject(InvalidArgumentError.format('destinationAddr', 'is required'));
    }
    return this.#submitSm(input, options);
  }

  /** A submit_sm of `input` over the defaults; `partOfCall`: a later part of a sendText (see #call). */
  #submitSm(input: SubmitInput, options: RequestOptions | undefined, partOfCall = false): Promise<PduOf<'submit_sm_resp'>> {
    const body = { ...SUBMIT_DEFAULTS, ...input } as BodyOf<'submit_sm'>;
    return this.#call((s) => s.request('submit_sm', body, options), partOfCall);
  }

  /**
   * Submits a text: encoded (see {@link TextInput}) and, when longer than one SMS, split into
   * parts tied together by `split` (concatenation UDH by default). The parts are submitted one
   * after the other; resolves with their message ids, in order. Rejects, before sending
   * anything, with a TextEncodeError when the text does not fit the data_coding asked for; with
   * the error of the first part if it fails; with a PartialSendError (the accepted parts' ids
   * in `messageIds`) if a later one fails, the rest then unsent.
   */
  async sendText(input: TextInput, options?: RequestOptions): Promise<string[]> {
    const { text, split = SplitMethod.Udh8, dataCoding: asked, ...fields } = input;
    if (typeof text !== 'string') throw InvalidArgumentError.format('text', 'is required');
    if (typeof fields.destinationAddr !== 'string') throw InvalidArgumentError.format('destinationAddr', 'is required');
    if (!SPLIT_METHODS.has(split)) throw InvalidArgumentError.format('split', `must be one of ${[...SPLIT_METHODS].join(', ')}`);
    if ((split === SplitMethod.Sar || split === SplitMethod.Payload) && this.#session.interfaceVersion < InterfaceVersion.V34) {
      // A 3.3 session sends no TLVs: the parts would go without their SAR TLVs, the payload empty.
      throw InvalidArgumentError.format('split', `'${split}' needs TLVs, which a session bound as SMPP 3.3 cannot send: use udh8 or udh16`);
    }
    const { dataCoding, segments } = splitText(text, asked === undefined ? { method: split } : { method: split, dataCoding: asked });
    if (this.#closing !== undefined) throw new SessionClosedError('client closed');
    const esmClass = fields.esmClass ?? 0;
    const ids: string[] = [];
    // One call for close(): it waits for the last part, so no message is left half sent.
    this.#callsInFlight++;
    try {
      // One part after the other: a refused part stops the rest (they would be an incomplete
      // message at the handset), and the ids of the parts before it are in the error.
      for (const seg of segments) {
        const tlvs = { ...fields.tlvs };
        if (seg.sar !== undefined) {
          tlvs.sarMsgRefNum = seg.sar.msgRefNum;
          tlvs.sarTotalSegments = seg.sar.totalSegments;
          tlvs.sarSegmentSeqnum = seg.sar.segmentSeqnum;
        }
        if (seg.messagePayload !== undefined) tlvs.messagePayload = seg.messagePayload;
        const part: SubmitInput = {
          ...fields,
          dataCoding,
          esmClass: seg.esmClassUdhi ? esmClass | EsmClass.Udhi : esmClass,
          shortMessage: seg.shortMessage,
          tlvs,
        };
        try {
          ids.push((await this.#submitSm(part, options, true)).messageId);
        } catch (err) {
          if (ids.length === 0 || !(err instanceof Error)) throw err;
          throw new PartialSendError(ids, segments.length, err);
        }
      }
      return ids;
    } finally {
      this.#callSettled();
    }
  }

  /** submit_multi. */
  submitMulti(body: BodyOf<'submit_multi'>, options?: RequestOptions): Promise<PduOf<'submit_multi_resp'>> {
    return this.#call((s) => s.request('submit_multi', body, options));
  }

  /** data_sm. */
  dataSm(body: BodyOf<'data_sm'>, options?: RequestOptions): Promise<PduOf<'data_sm_resp'>> {
    return this.#call((s) => s.request('data_sm', body, options));
  }

  /** query_sm for a message id. */
  query(
    messageId: string,
    source: { sourceAddr?: string; sourceAddrTon?: number; sourceAddrNpi?: number } = {},
    options?: RequestOptions,
  ): Promise<PduOf<'query_sm_resp'>> {
    const body: BodyOf<'query_sm'> = {
      messageId,
      sourceAddrTon: source.sourceAddrTon ?? 0,
      sourceAddrNpi: source.sourceAddrNpi ?? 0,
      sourceAddr: source.sourceAddr ?? '',
      tlvs: {},
    };
    return this.#call((s) => s.request('query_sm', body, options));
  }

  /** cancel_sm (by id, or by source + destination with an empty id). */
  cancel(body: Partial<BodyOf<'cancel_sm'>>, options?: RequestOptions): Promise<PduOf<'cancel_sm_resp'>> {
    const full: BodyOf<'cancel_sm'> = {
      serviceType: '',
      messageId: '',
      sourceAddrTon: 0,
      sourceAddrNpi: 0,
      sourceAddr: '',
      destAddrTon: 0,
      destAddrNpi: 0,
      destinationAddr: '',
      tlvs: {},
      ...body,
    };
    return this.#call((s) => s.request('cancel_sm', full, options));
  }

  /** replace_sm. */
  replace(body: Partial<BodyOf<'replace_sm'>> & { messageId: string }, options?: RequestOptions): Promise<PduOf<'replace_sm_resp'>> {
    const full: BodyOf<'replace_sm'> = {
      sourceAddrTon: 0,
      sourceAddrNpi: 0,
      sourceAddr: '',
      scheduleDeliveryTime: '',
      validityPeriod: '',
      registeredDelivery: 0,
      smDefaultMsgId: 0,
      shortMessage: Buffer.alloc(0),
      tlvs: {},
      ...body,
    };
    return this.#call((s) => s.request('replace_sm', full, options));
  }

  /** enquire_link round trip. */
  enquireLink(options?: RequestOptions): Promise<PduOf<'enquire_link_resp'>> {
    return this.#call((s) => s.request('enquire_link', {} as BodyOf<'enquire_link'>, options));
  }

  /**
   * deliver_sm, data_sm and alert_notification from the SMSC, in arrival order. With
   * `manualAck`, answer each with `ack()`; otherwise they are acknowledged on arrival.
   */
  deliveries(): AsyncIterableIterator<Delivery> {
    const q = this.#deliveries;
    return {
      next: () => q.next(),
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Answers a delivery (manualAck mode): ESME_ROK by default, or e.g. ESME_RX_T_APPN. Returns
   * false when the answer cannot go: the delivery's session is gone (the SMSC delivers it again
   * on the next one), or the client closed (it was answered ESME_RX_T_APPN).
   */
  ack(delivery: Delivery, commandStatus: number = CommandStatus.ESME_ROK): boolean {
    // It has no response: nothing waits for its acknowledgement.
    if (delivery.command === 'alert_notification') return true;
    if (!this.#opts.manualAck) throw new InvalidArgumentError('deliveries are acknowledged on arrival: ack() needs manualAck');
    const owed = this.#owed.get(delivery);
    if (owed === undefined) {
      if (this.#answered.has(delivery)) throw new InvalidArgumentError('this delivery was already acknowledged');
      return false;
    }
    this.#owed.delete(delivery);
    this.#answered.add(delivery);
    owed.answer(commandStatus);
    return true;
  }

  /**
   * Unbinds and closes: requests already made get their responses first (up to the response
   * timer; later ones are refused with SessionClosedError), deliveries not yet answered are
   * answered ESME_RX_T_APPN (the SMSC delivers them again later) and never handed out, and a
   * reconnect under way ends. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#reconnectTimer?.cancel();
    this.#reconnectTimer = undefined;
    this.#reconnectAt = undefined;
    this.#stopKeepingAlive();
    await this.#reconnecting;
    // Calls waiting for a reconnect (onDisconnect 'retry') fail now; the others are answered.
    this.#rejectReady(new SessionClosedError('client closed'));
    // Not answered yet: "not now", rather than kept waiting until the response timer, which the
    // unbind would wait for; and not handed out after this, as the SMSC delivers them again.
    // Before the calls are waited for: a session the SMSC is unbinding waits for these answers,
    // and a call waits for that session to end.
    this.#refuseOwed(() => true);
    await this.#callsFinished();
    await this.#session.unbind();
    this.#deliveries.end();
    this.#resolveClosed();
  }

  /** Resolves when no call is outstanding, or after the response timer. */
  #callsFinished(): Promise<void> {
    const limit = this.#opts.session?.responseTimeoutMs ?? 30_000;
    if (this.#callsInFlight === 0 || limit <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.#clock.setTimer(() => done(), limit);
      const done = () => {
        timer.cancel();
        resolve();
      };
      this.#callsSettled.push(done);
    });
  }

  /** Owed deliveries for which `which` says so: answered ESME_RX_T_APPN if their session lives, and out of the queue. */
  #refuseOwed(which: (session: Session) => boolean): void {
    const dropped = new Set<Delivery>();
    for (const [d, owed] of this.#owed) {
      if (!which(owed.session)) continue;
      this.#owed.delete(d);
      dropped.add(d);
      if (owed.session.state !== SessionState.Closed) owed.answer(CommandStatus.ESME_RX_T_APPN);
    }
    if (dropped.size > 0) this.#deliveries.remove((d) => dropped.has(d));
  }

  /** Resolves once the client is closed for good (close(), or the connection lost with reconnect off). */
  closed(): Promise<void> {
    return this.#closedPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals -----------------------------------------------------------------------

  #newReady(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    p.catch(() => {});
    return p;
  }

  async #call<T>(fn: (s: Session) => Promise<T>, partOfCall = false): Promise<T> {
    // A part of a call made before close() (sendText's next part) still goes.
    if (this.#closing !== undefined && !partOfCall) throw new SessionClosedError('client closed');
    this.#callsInFlight++;
    try {
      for (;;) {
        const session = this.#session;
        try {
          return await fn(session);
        } catch (err) {
          const retry =
            err instanceof SessionClosedError && this.#opts.onDisconnect === 'retry' && this.#opts.reconnect && this.#closing === undefined;
          if (!retry) throw err;
          // Refused by a session still ending (the SMSC's unbind waits for our answers to its
          // deliveries): the next try goes once it is gone and another is bound, not at once
          // (#ready is still resolved then, and trying at once would spin without end).
          if (session === this.#session && session.state !== SessionState.Closed) await session.closed();
          await this.#ready; // rejects if the client is closed meanwhile
        }
      }
    } finally {
      this.#callSettled();
    }
  }

  #callSettled(): void {
    if (--this.#callsInFlight === 0) for (const done of this.#callsSettled.splice(0)) done();
  }

  #bindSession(session: Session, o: BindOptions): Promise<PduOf<'bind_transceiver_resp'>> {
    return session.bind(o.type, {
      systemId: o.systemId,
      password: o.password,
      systemType: o.systemType ?? '',
      interfaceVersion: o.interfaceVersion ?? InterfaceVersion.V34,
      addrTon: o.addrTon ?? 0,
      addrNpi: o.addrNpi ?? 0,
      addressRange: o.addressRange ?? '',
    });
  }

  #attach(session: Session): void {
    session.once('close', () => this.#onSessionClosed(session));
  }

  /** The session delegate's request handler: deliveries into the queue. */
  #onDelivery(pdu: Pdu, session: Session): Reply | Promise<Reply> {
    // Closing: nobody will read it; the SMSC delivers it again later.
    if (this.#closing !== undefined) return CommandStatus.ESME_RX_T_APPN;
    const d = pdu as Delivery;
    const max = this.#opts.maxBufferedDeliveries ?? 10_000;
    if (this.#opts.manualAck && d.command !== 'alert_notification') {
      const answer = this.#owe(d, session);
      this.#deliveries.push(d);
      return answer;
    }
    this.#deliveries.push(d);
    if (this.#deliveries.length <= max || d.command === 'alert_notification') return { messageId: '' };
    // Above the buffer limit the acknowledgement waits for the consumer: TCP back-pressure.
    return this.#owe(d, session);
  }

  /** The answer to `d`, once one is given (ack(), the consumer's turn, close()): it is owed until then. */
  #owe(d: Delivery, session: Session): Promise<Reply> {
    return new Promise<number>((answer) => this.#owed.set(d, { session, answer })).then((status) =>
      status === CommandStatus.ESME_ROK ? { messageId: '' } : status,
    );
  }

  /** The consumer took a delivery: the oldest acknowledgement held back (auto ack) goes out. */
  #releaseHeldAck(): void {
    if (this.#opts.manualAck || this.#owed.size === 0) return;
    const [d, owed] = this.#owed.entries().next().value as [Delivery, { answer(status: number): void }];
    this.#owed.delete(d);
    owed.answer(CommandStatus.ESME_ROK);
  }

  #onSessionClosed(session: Session): void {
    // Their response can never go: the SMSC delivers them again, so they are not handed out
    // (a consumer would see each twice). ack() of one already handed out returns false.
    this.#refuseOwed((s) => s === session);
    if (session !== this.#session || this.#closing !== undefined) return;
    if (!this.#opts.reconnect || this.#bindOptions === undefined) {
      this.#deliveries.end();
      this.#rejectReady(new SessionClosedError('connection lost'));
      this.#resolveClosed();
      return;
    }
    this.#ready = this.#newReady();
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const r = this.#opts.reconnect || {};
    const backoff = this.#reconnectDelay;
    this.#reconnectDelay = Math.min(backoff * (r.factor ?? 2), r.maxDelayMs ?? 30_000);
    const delay = Math.round(backoff * (1 + (r.jitter ?? DEFAULT_RECONNECT_JITTER) * Math.random()));
    this.#reconnectAt = this.#clock.now() + delay;
    // A client that reconnects keeps its process alive while it waits, as its socket did.
    this.#keepAlive ??= setInterval(() => {}, 1 << 30);
    this.#reconnectTimer = this.#clock.setTimer(() => {
      this.#reconnectTimer = undefined;
      this.#reconnectAt = undefined;
      this.#reconnecting = this.#reconnect().finally(() => {
        this.#reconnecting = undefined;
      });
    }, delay);
  }

  #stopKeepingAlive(): void {
    if (this.#keepAlive !== undefined) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  async #reconnect(): Promise<void> {
    if (this.#closing !== undefined) return;
    let session: Session | undefined;
    try {
      session = await openSession(this.#opts, (pdu, s) => this.#onDelivery(pdu, s));
      // Watched from the start: deliveries that came on it are dropped if it closes unadopted.
      this.#attach(session);
      await this.#bindSession(session, this.#bindOptions!);
      // Bound and closed at once (an SMSC that unbinds in the same write): not a session to adopt.
      if (session.state === SessionState.Closed) throw new SessionClosedError('closed right after the bind');
    } catch (err) {
      this.#lastReconnectError = err instanceof Error ? err : new Error(String(err));
      // The next attempt is scheduled here only: the loss of a session not adopted only drops
      // its deliveries (see #onSessionClosed).
      session?.destroy('rebind failed');
      if (this.#closing === undefined) this.#scheduleReconnect();
      return;
    }
    if (this.#closing !== undefined) {
      await session.unbind();
      return;
    }
    // Only a bound session becomes current (and is watched for loss).
    this.#lastReconnectError = undefined;
    this.#session = session;
    this.#stopKeepingAlive();
    this.#reconnectDelay = (this.#opts.reconnect || undefined)?.initialDelayMs ?? 500;
    this.#resolveReady();
  }
}

async function openSession(options: ConnectOptions, onDelivery: (pdu: Pdu, session: Session) => Reply | Promise<Reply>): Promise<Session> {
  const host = options.host ?? '127.0.0.1';
  const socket: net.Socket = options.tls
    ? tls.connect({ host, port: options.port, ...(options.tls === true ? {} : options.tls) })
    : net.connect({ host, port: options.port, noDelay: true });
  const timeoutMs = options.connectTimeoutMs ?? options.session?.responseTimeoutMs ?? 30_000;
  await whenConnected(socket, Boolean(options.tls), timeoutMs, options.clock ?? systemClock, `${host}:${options.port}`);
  return new Session(
    socket,
    { ...options.session, role: 'esme', ...(options.clock ? { clock: options.clock } : {}) },
    { onRequest: onDelivery },
  );
}

/** Where to wait for an SMSC's outbind, and the bind that answers it. */
export interface OutbindListenOptions extends Omit<ConnectOptions, 'host' | 'port' | 'tls' | 'reconnect' | 'connectTimeoutMs' | 'onDisconnect'> {
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 for any free one (see {@link OutbindListener.port}). */
  port: number;
  /** Sent on the connection an outbind comes on: a receiver bind unless `type` says transceiver. */
  bind: Omit<BindOptions, 'type'> & { type?: 'receiver' | 'transceiver' };
  /** When set, an outbind from another system_id (or with another password, when given) is refused (the connection closed). */
  smsc?: { systemId: string; password?: string };
}

/** A listener for SMSCs' outbinds: each one that binds becomes a {@link Client}. */
export interface OutbindListener {
  /** The port it listens on. */
  readonly port: number;
  /** The clients, bound, as their outbinds come; ends when the listener closes. */
  clients(): AsyncIterableIterator<Client>;
  /** Stops listening (clients already made stay open) and ends `clients()`. */
  close(): Promise<void>;
}

/**
 * Listens for an SMSC's outbind ([ref §6.3]): the SMSC connects to us when it has messages,
 * sends outbind, and we bind as a receiver (or transceiver) on that connection. The SMSC
 * connects again when the session ends, so there is no reconnect here.
 */
export async function listenForOutbind(options: OutbindListenOptions): Promise<OutbindListener> {
  const clients = new AsyncQueue<Client>();
  // Connections whose outbind and bind are not through yet: closed with the listener.
  const waiting = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    waiting.add(socket);
    Client.fromOutbind(socket, options).then(
      (c) => {
        // The caller's from now on: close() no longer touches it.
        waiting.delete(socket);
        clients.push(c);
      },
      () => waiting.delete(socket),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      // A connection that could not be accepted (EMFILE…) is lost; the listener goes on.
      server.on('error', () => {});
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    clients() {
      return {
        next: () => clients.next(),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
    async close() {
      clients.end();
      // Not waiting for the connections to end: the clients made are the caller's.
      server.close();
      for (const socket of waiting) socket.destroy();
    },
  };
}

/** Connects to an SMSC (not yet bound). */
export function connect(options: ConnectOptions): Promise<Client> {
  return Client.connect(options);
}
