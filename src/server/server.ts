/**
 * The SMSC listener: TCP and TLS listeners, bind authentication against accounts, per-account
 * bind limits, a failed-bind back-off per IP, outbind, and typed handlers for bound requests.
 * The SMSC core plugs its handlers in; without them requests get a clear error status.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { type CommandName, CommandStatus, commandStatusByName } from '../pdu/constants.js';
import type { Pdu, PduOf } from '../pdu/types.js';
import { type Clock, systemClock } from '../session/clock.js';
import { whenConnected } from '../session/connect.js';
import { type BindOutcome, type BindPdu, type Reply, Session, type SessionOptions } from '../session/session.js';
import { type BindType, SessionState } from '../session/state.js';
import { type AccountPolicy, ipAllowed, maxBindsFor, verifyPasswordAsync } from './accounts.js';

const S = CommandStatus;

/** One listening endpoint. */
export interface ListenerOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** PEM contents of the certificate and key; present = TLS. */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
}

/** What a handler knows about the session a request came on. */
export interface SessionContext {
  session: Session;
  account: AccountPolicy;
  systemId: string;
  bindType: BindType;
  interfaceVersion: number;
  remoteAddress: string | undefined;
}

type Handler<C extends CommandName> = (req: PduOf<C>, ctx: SessionContext) => Promise<Reply> | Reply;

/** Typed handlers for the requests an ESME sends once bound; each awaited result is the response. */
export interface SmscHandlers {
  onSubmitSm?: Handler<'submit_sm'>;
  onSubmitMulti?: Handler<'submit_multi'>;
  onDataSm?: Handler<'data_sm'>;
  onQuerySm?: Handler<'query_sm'>;
  onCancelSm?: Handler<'cancel_sm'>;
  onReplaceSm?: Handler<'replace_sm'>;
  onBroadcastSm?: Handler<'broadcast_sm'>;
  onQueryBroadcastSm?: Handler<'query_broadcast_sm'>;
  onCancelBroadcastSm?: Handler<'cancel_broadcast_sm'>;
}

const handlerName: Partial<Record<CommandName, keyof SmscHandlers>> = {
  submit_sm: 'onSubmitSm',
  submit_multi: 'onSubmitMulti',
  data_sm: 'onDataSm',
  query_sm: 'onQuerySm',
  cancel_sm: 'onCancelSm',
  replace_sm: 'onReplaceSm',
  broadcast_sm: 'onBroadcastSm',
  query_broadcast_sm: 'onQueryBroadcastSm',
  cancel_broadcast_sm: 'onCancelBroadcastSm',
};

/** Status for a request no handler is installed for: a clear failure, never a fake success. */
const notHandled: Partial<Record<CommandName, number>> = {
  submit_sm: S.ESME_RSUBMITFAIL,
  submit_multi: S.ESME_RSUBMITFAIL,
  data_sm: S.ESME_RSUBMITFAIL,
  query_sm: S.ESME_RQUERYFAIL,
  cancel_sm: S.ESME_RCANCELFAIL,
  replace_sm: S.ESME_RREPLACEFAIL,
};

/** Looks accounts up by system_id (a config list, or the store in cluster mode). */
export type AccountLookup = (systemId: string) => AccountPolicy | undefined | Promise<AccountPolicy | undefined>;

/** Options of the SMSC listener. */
export interface SmscServerOptions {
  /** Our system_id in bind responses. Default 'smsc'. */
  systemId?: string;
  accounts: readonly AccountPolicy[] | AccountLookup;
  handlers?: SmscHandlers;
  clock?: Clock;
  /** Max open connections over all listeners. Default 10000. */
  maxConnections?: number;
  /**
   * Max connections from one address not bound yet. Default 100. One host holding connections
   * open without a bind (each until the session_init_timer, then again) filled maxConnections
   * and locked every ESME out.
   */
  maxUnboundPerIp?: number;
  /** Status for an unknown system_id and a wrong password ([ref §10.1]). Defaults RINVSYSID / RINVPASWD. */
  credentialStatus?: { unknownSystemId?: string | number; wrongPassword?: string | number };
  /** After `threshold` failed binds from one IP, binds from it are refused for `banMs`. */
  failedBindBackoff?: { threshold?: number; banMs?: number };
  /** Timers and limits of every session (role is always 'smsc'). */
  session?: Omit<SessionOptions, 'role' | 'clock' | 'id' | 'unsupported'>;
  /** Commands answered with generic_nack ESME_RINVCMDID. Default: the 5.0 broadcast operations. */
  unsupported?: CommandName[];
}

function statusOf(v: string | number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  const s = commandStatusByName(v);
  if (s === undefined) throw new Error(`unknown command_status name '${v}'`);
  return s;
}

/** IPs whose failed binds are remembered at most (the oldest are forgotten first). */
const MAX_TRACKED_IPS = 10_000;

/** How long an outbind waits for its TCP connection when sessions have no response timer set. */
const OUTBIND_CONNECT_TIMEOUT_MS = 30_000;

/** A bind refused for its system_id or password: the refusals that count towards the address's back-off. */
class CredentialRefusal {
  readonly commandStatus: number;
  constructor(commandStatus: number) {
    this.commandStatus = commandStatus;
  }
}

/**
 * The SMSC listener. Events: 'bound' (session, ctx), 'unbound' (session, ctx), 'session'
 * (session), 'bindBan' (ip, failures, banMs), 'requestFailed' (error, request, ctx).
 */
export class SmscServer extends EventEmitter {
  readonly #opts: SmscServerOptions;
  readonly #clock: Clock;
  /** Outbind connections not yet connected; #closing once close() began. */
  readonly #connecting = new Set<net.Socket | tls.TLSSocket>();
  /** Sessions we opened with an outbind, and the account each was sent for (undefined: any). */
  readonly #outbound = new WeakMap<Session, string | undefined>();
  #closing = false;
  readonly #lookup: AccountLookup;
  readonly #servers: net.Server[] = [];
  readonly #sessions = new Set<Session>();
  readonly #byAccount = new Map<string, Set<Session>>();
  /**
   * receiversOf(), per account, until one of its sessions binds, changes state or closes: it is
   * asked several times per delivery, and a new array each time was the largest allocation end
   * to end.
   */
  readonly #receivers = new Map<string, readonly Session[]>();
  /** Failed binds by IP: those within banMs of each other, and the ban they earned. */
  readonly #failures = new Map<string, { count: number; last: number; bannedUntil: number }>();
  /** Connections per address not bound yet (see maxUnboundPerIp). */
  readonly #unbound = new Map<string, number>();
  /** The credential check under way per address, the next one chained after it (see #onBind). */
  readonly #checking = new Map<string, Promise<void>>();
  readonly #unknownStatus: number;
  readonly #wrongPasswordStatus: number;
  #connections = 0;

  constructor(options: SmscServerOptions) {
    super();
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    const accounts = options.accounts;
    if (typeof accounts === 'function') {
      this.#lookup = accounts;
    } else {
      const map = new Map(accounts.map((a) => [a.systemId, a]));
      this.#lookup = (id) => map.get(id);
    }
    this.#unknownStatus = statusOf(options.credentialStatus?.unknownSystemId, S.ESME_RINVSYSID);
    this.#wrongPasswordStatus = statusOf(options.credentialStatus?.wrongPassword, S.ESME_RINVPASWD);
  }

  /** Starts one listener; resolves with its bound address (port 0 → the chosen port). */
  async listen(listener: ListenerOptions): Promise<net.AddressInfo> {
    const onConnection = (socket: net.Socket) => this.#accept(socket);
    // A TLS connection becomes a session once its handshake is done: one that never finishes
    // it is cut at the session_init_timer (Node's own default is two minutes, and without a
    // tlsClientError listener the socket was never closed at all: connections held open
    // without a byte past the server's limit on sessions, until the process ran out of files).
    const handshakeMs = this.#opts.session?.sessionInitTimeoutMs || 10_000;
    const server = listener.tls
      ? tls
          .createServer(
            { cert: listener.tls.cert, key: listener.tls.key, handshakeTimeout: handshakeMs, ...(listener.tls.ca ? { ca: listener.tls.ca } : {}) },
            onConnection,
          )
          .on('tlsClientError', (_err, socket) => socket.destroy())
      : net.createServer({ noDelay: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listener.port, listener.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Only once listening: a port in use or a bad host rejects listen() (said by `smsc start`
    // as one line), not an 'error' event nobody may be listening for.
    server.on('error', (err) => this.emit('error', err));
    this.#servers.push(server);
    return server.address() as net.AddressInfo;
  }

  /** Every open session. */
  get sessions(): ReadonlySet<Session> {
    return this.#sessions;
  }

  /** Bound sessions of an account. */
  sessionsOf(systemId: string): Session[] {
    return [...(this.#byAccount.get(systemId) ?? [])];
  }

  /** Sessions of an account that can take deliver_sm (receiver and transceiver binds). Do not keep it: a later call may return another list. */
  receiversOf(systemId: string): readonly Session[] {
    let list = this.#receivers.get(systemId);
    if (list === undefined) {
      list = [...(this.#byAccount.get(systemId) ?? [])].filter((s) => s.canDeliver);
      this.#receivers.set(systemId, list);
    }
    return list;
  }

  /**
   * Outbind ([ref §6.3]): connects to an ESME, sends outbind and serves the bind that follows
   * on the same connection, authenticated like any other bind. That bind must be one that takes
   * deliveries (bind_receiver, or bind_transceiver as 5.0 allows) and, given `account`, be that
   * account's: anything else is refused ESME_RBINDFAIL (a transmitter on it would hold the line
   * and never take the messages the outbind was for). With `tls`, the ESME's certificate is
   * verified (against the system's CAs, or the options' `ca`), as the client's.
   */
  async outbind(target: {
    host: string;
    port: number;
    /** Ours, sent in the outbind. */
    systemId: string;
    password: string;
    /** The account the outbind is for: the only one that may bind on it. */
    account?: string;
    tls?: boolean | tls.ConnectionOptions;
  }): Promise<Session> {
    if (this.#closing) throw new Error('outbind: the server is closing');
    const socket = target.tls
      ? tls.connect({ host: target.host, port: target.port, ...(target.tls === true ? {} : target.tls) })
      : net.connect({ host: target.host, port: target.port, noDelay: true });
    // close() destroys it while it connects: no session may start on a closed server.
    this.#connecting.add(socket);
    // A host that never answers fails the outbind after the response timer, not the OS's minutes.
    const timeoutMs = this.#opts.session?.responseTimeoutMs ?? OUTBIND_CONNECT_TIMEOUT_MS;
    await whenConnected(socket, Boolean(target.tls), timeoutMs, this.#clock, `${target.host}:${target.port}`).finally(() =>
      this.#connecting.delete(socket),
    );
    if (this.#closing) {
      socket.destroy();
      throw new Error('outbind: the server is closing');
    }
    const session = this.#accept(socket as net.Socket);
    this.#outbound.set(session, target.account);
    session.outbind(target.systemId, target.password);
    return session;
  }

  /** Stops listening, unbinds every session (waiting at most the response timer) and closes. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const socket of this.#connecting) socket.destroy();
    for (const server of this.#servers) server.close();
    await Promise.all([...this.#sessions].map((s) => s.unbind()));
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.#servers.length = 0;
  }

  #accept(socket: net.Socket): Session {
    const max = this.#opts.maxConnections ?? 10_000;
    socket.setNoDelay(true);
    const session = new Session(
      socket,
      {
        ...this.#opts.session,
        role: 'smsc',
        clock: this.#clock,
        unsupported: this.#opts.unsupported ?? ['broadcast_sm', 'query_broadcast_sm', 'cancel_broadcast_sm'],
      },
      {
        onBind: (req, s) => this.#onBind(req, s),
        onRequest: (req, s) => this.#onRequest(req, s),
        // A malformed bind counts as a failed one (the failed-bind back-off per IP).
        onBadBind: (s) => this.#recordFailure(s.remoteAddress ?? '', this.#clock.now()),
        // Said by whoever listens ('requestFailed', the app logs it): else answered ESME_RSYSERR in silence.
        onHandlerError: (err, req, s) => this.emit('requestFailed', err, req, s.context as SessionContext | undefined),
      },
    );
    this.#connections++;
    this.#sessions.add(session);
    const ip = socket.remoteAddress ?? '';
    const unbound = (this.#unbound.get(ip) ?? 0) + 1;
    this.#unbound.set(ip, unbound);
    let counted = true;
    const bound = (): void => {
      if (!counted) return;
      counted = false;
      const left = (this.#unbound.get(ip) ?? 1) - 1;
      if (left <= 0) this.#unbound.delete(ip);
      else this.#unbound.set(ip, left);
    };
    session.once('bound', bound);
    session.once('close', () => {
      bound();
      this.#connections--;
      this.#sessions.delete(session);
      const ctx = session.context as SessionContext | undefined;
      if (ctx !== undefined) {
        const set = this.#byAccount.get(ctx.systemId);
        set?.delete(session);
        this.#receivers.delete(ctx.systemId);
        if (set?.size === 0) this.#byAccount.delete(ctx.systemId);
        this.emit('unbound', session, ctx);
      }
    });
    const maxUnbound = this.#opts.maxUnboundPerIp ?? 100;
    if (this.#connections > max) session.destroy(`more than ${max} connections`);
    else if (unbound > maxUnbound) session.destroy(`more than ${maxUnbound} connections from ${ip} without a bind`);
    else this.emit('session', session);
    return session;
  }

  async #onBind(req: BindPdu, session: Session): Promise<BindOutcome> {
    const ip = session.remoteAddress ?? '';
    const systemId = this.#opts.systemId ?? 'smsc';
    // One credential check at a time per address: a check of a hashed password (scrypt) takes
    // tens of milliseconds, and binds sent all at once all passed the ban's check before the
    // first failure was counted (100 guesses checked against a threshold of 5, and the
    // thread pool they tied up delayed every other bind).
    const previous = this.#checking.get(ip);
    const mine = (previous ?? Promise.resolve()).then(() => this.#checkBind(req, session, ip, systemId));
    const tail = mine.then(
      () => {},
      () => {},
    );
    this.#checking.set(ip, tail);
    void tail.then(() => {
      if (this.#checking.get(ip) === tail) this.#checking.delete(ip);
    });
    return mine;
  }

  async #checkBind(req: BindPdu, session: Session, ip: string, systemId: string): Promise<BindOutcome> {
    const now = this.#clock.now();
    const backoff = this.#failures.get(ip);
    if (backoff !== undefined && backoff.bannedUntil > now) return { commandStatus: S.ESME_RBINDFAIL, systemId };
    const status = await this.#authorise(req, session);
    if (status instanceof CredentialRefusal) {
      // Only a credential tried and wrong counts towards the address's back-off: a refusal of
      // policy (a bind limit reached, a disabled account) would otherwise lock every account
      // binding from that host out, as an ESME rebinding after a network cut, its old
      // sessions not yet gone, hits its bind limit.
      this.#recordFailure(ip, now);
      return { commandStatus: status.commandStatus, systemId };
    }
    // A good bind does not clear the address's failures: any account's success did, so one
    // account of one's own reset the count between guesses at another's password. Failures
    // lapse on their own (banMs without one).
    return { commandStatus: status, systemId };
  }

  /** [ref §6.3 step 2] authentication and policy; reserves the bind slot on success. */
  async #authorise(req: BindPdu, session: Session): Promise<number | CredentialRefusal> {
    const account = await this.#lookup(req.systemId);
    if (account === undefined) return new CredentialRefusal(this.#unknownStatus);
    // The address first: a bind from a refused address costs no scrypt.
    if (!ipAllowed(session.remoteAddress, account.allowedIps)) return S.ESME_RBINDFAIL;
    if (!(await verifyPasswordAsync(account, req.password))) return new CredentialRefusal(this.#wrongPasswordStatus);
    if (account.disabled === true) return S.ESME_RBINDFAIL;
    if (account.allowedSystemTypes !== undefined && !account.allowedSystemTypes.includes(req.systemType)) {
      return S.ESME_RINVSYSTYP;
    }
    const type: BindType =
      req.command === 'bind_transmitter' ? 'transmitter' : req.command === 'bind_receiver' ? 'receiver' : 'transceiver';
    if (this.#outbound.has(session)) {
      const outbindFor = this.#outbound.get(session);
      if (type === 'transmitter' || (outbindFor !== undefined && outbindFor !== account.systemId)) return S.ESME_RBINDFAIL;
    }
    // The connection may have gone while the lookup or the password check ran: its close
    // handler found no bind to undo, so none may be reserved now (the slot would stay taken).
    if (session.state === SessionState.Closed) return S.ESME_RBINDFAIL;
    let set = this.#byAccount.get(account.systemId);
    const sameType = set === undefined ? 0 : [...set].filter((s) => (s.context as SessionContext).bindType === type).length;
    if (sameType >= maxBindsFor(account, type)) return S.ESME_RBINDFAIL;
    // Reserve the slot now (synchronously), so two binds racing cannot both pass the limit.
    if (set === undefined) this.#byAccount.set(account.systemId, (set = new Set()));
    set.add(session);
    this.#receivers.delete(account.systemId);
    session.on('state', () => this.#receivers.delete(account.systemId));
    const v = req.interfaceVersion;
    const ctx: SessionContext = {
      session,
      account,
      systemId: account.systemId,
      bindType: type,
      interfaceVersion: v <= 0x33 ? 0x33 : v >= 0x50 ? 0x50 : 0x34,
      remoteAddress: session.remoteAddress,
    };
    session.context = ctx;
    if (account.windowSize !== undefined) session.windowSize = account.windowSize;
    session.once('bound', () => this.emit('bound', session, ctx));
    return S.ESME_ROK;
  }

  #recordFailure(ip: string, now: number): void {
    const threshold = this.#opts.failedBindBackoff?.threshold ?? 5;
    const banMs = this.#opts.failedBindBackoff?.banMs ?? 30_000;
    let f = this.#failures.get(ip);
    if (f === undefined) {
      if (this.#failures.size >= MAX_TRACKED_IPS) this.#forgetFailures(now, banMs);
      f = { count: 0, last: now, bannedUntil: 0 };
      this.#failures.set(ip, f);
    }
    // Failures count towards a ban while they come within banMs of each other.
    if (now - f.last > banMs) f.count = 0;
    f.count++;
    f.last = now;
    if (f.count >= threshold) {
      f.bannedUntil = now + banMs;
      f.count = 0;
      // Said by whoever listens (the app logs it): a host guessing passwords, or an ESME
      // configured with a wrong one, refused for banMs.
      this.emit('bindBan', ip, threshold, banMs);
    }
  }

  /**
   * Keeps the failures map bounded (binds from very many addresses): first the IPs neither
   * banned nor failing lately, then, if that is not enough, the oldest.
   */
  #forgetFailures(now: number, banMs: number): void {
    for (const [ip, f] of this.#failures) if (f.bannedUntil <= now && now - f.last > banMs) this.#failures.delete(ip);
    for (const ip of this.#failures.keys()) {
      if (this.#failures.size < MAX_TRACKED_IPS) break;
      this.#failures.delete(ip);
    }
  }

  #onRequest(req: Pdu, session: Session): Promise<Reply> | Reply {
    const ctx = session.context as SessionContext;
    const name = handlerName[req.command];
    const handler = name === undefined ? undefined : this.#opts.handlers?.[name];
    if (handler === undefined) return notHandled[req.command] ?? S.ESME_RINVCMDID;
    return (handler as Handler<CommandName>)(req as never, ctx);
  }
}
