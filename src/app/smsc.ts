/**
 * The SMSC daemon assembled from its parts: config → store → core (accept) → SMPP listener →
 * delivery scheduler with the ESME target.
 */
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { kickSession } from '../admin/routes.js';
import type { Delivery } from '../client/client.js';
import { attemptBudgetMs, type Config, ConfigError } from '../config/config.js';
import { HttpTarget, parseHttp } from '../connectors/http.js';
import { type MoSink, parseNetwork, SimulatedNetwork } from '../connectors/network.js';
import { type LinkChange, PersistentIdMap, parseSmpp, SmppTarget } from '../connectors/smpp.js';
import { AddressOwners } from '../core/addresses.js';
import { NoMoOwnerError, SmscCore } from '../core/core.js';
import { MessageIdGenerator } from '../core/message-id.js';
import { MoAssembler } from '../core/mo-reassembly.js';
import { ESME_MAX_WAIT_MS, EsmeTarget } from '../delivery/esme-target.js';
import { DeliveryScheduler } from '../delivery/scheduler.js';
import type { DeliveryTarget } from '../delivery/target.js';
import { CommandStatusError, errorText } from '../errors.js';
import { CommandStatus, commandStatusByName } from '../pdu/constants.js';
import { isRoute, MoRouter, MtRouter, parseRoutes, type RoutesConfig } from '../routing/index.js';
import { SmscServer, type SmscServerOptions } from '../server/server.js';
import { type Clock, systemClock, type TimerHandle } from '../session/clock.js';
import { isConfigStore } from '../store/config-store.js';
import { type ActiveLease, acquireActiveLease } from '../store/postgres/active-lease.js';
import { claimNodeIdentity, type IdentityWait, type NodeIdentity } from '../store/postgres/node-identity.js';
import { PostgresStore, type PostgresStoreOptions } from '../store/postgres/postgres-store.js';
import { ThreadedSqliteStore } from '../store/sqlite/threaded-store.js';
import type { Store } from '../store/types.js';
import { SaidOnce } from '../util/said-once.js';
import { asConfigError, CONNECTOR_NAME, checkSections } from './check-config.js';
import { flowControl } from './flow-control.js';
import { type LiveChange, LiveConfig } from './live-config.js';
import { keepOutbinds } from './outbind.js';
import { storeProblem } from './store-health.js';

export interface StartOptions {
  clock?: Clock;
  /** Use this store instead of the configured one (tests). */
  store?: Store;
  /** Node number 0..15 for message ids (cluster nodes must differ). Default: derived from nodeId. */
  nodeNumber?: number;
  /** Latency observers (metrics), read when called, so they can be set after start. */
  observer?: { submitLatency?(seconds: number): void; deliveryLatency?(seconds: number): void };
  /**
   * Called (once, after startSmsc has resolved) when this node cannot go on: another node
   * migrated the shared database past this code. The error is logged already; the caller stops
   * the SMSC (`smsc start`: its SIGTERM path, then exit code 1). Default: the SMSC stops itself.
   */
  onFatal?(error: Error): void;
  /** Aborting it while the node stands by (cluster.mode active-standby) makes startSmsc reject. */
  signal?: AbortSignal;
}

/** A running SMSC. */
export interface Smsc {
  config: Config;
  store: Store;
  server: SmscServer;
  scheduler: DeliveryScheduler;
  core: SmscCore;
  listening: { host: string; port: number; tls: boolean }[];
  /** The simulated mobile network, when configured. */
  network: SimulatedNetwork | undefined;
  /** Replaces the MT and MO routes with a new `routes` section, without a restart. */
  reloadRoutes(routes: unknown): void;
  /** The MT and MO routes in force (the validated `routes` section of the last start or reload). */
  routes(): RoutesConfig;
  /** Accounts, routes and connector switches managed at run time (admin API). */
  live: LiveConfig;
  /** The connectors with their state (admin API). */
  connectors(): ConnectorInfo[];
  stop(): Promise<void>;
}

/** One connector as the admin API shows it. */
export interface ConnectorInfo {
  name: string;
  type: 'smpp' | 'http' | 'network';
  /** `disabled` (switched off by the administrator); smpp: `bound` or `connecting`; others `enabled`. */
  state: 'disabled' | 'bound' | 'connecting' | 'enabled';
  /** smpp while not bound: why its last connection or bind failed (none before the first try ends). */
  lastError?: string;
}

/**
 * Logs an SMPP connector's link as an operator reads it: bound, lost, and a failure once until
 * it changes (a retry failing the same way every few seconds says nothing new).
 */
function linkLogger(name: string, where: string): (change: LinkChange) => void {
  const said = new SaidOnce();
  return (change) => {
    if (change.kind === 'failed') {
      const why = `smsc: connector ${name}: cannot bind to ${where}: ${errorText(change.error)}; retrying`;
      if (said.isNew(why)) console.error(why);
      return;
    }
    said.clear();
    if (change.kind === 'bound') console.log(`smsc: connector ${name}: bound to ${where}`);
    else console.error(`smsc: connector ${name}: link to ${where} lost; reconnecting`);
  };
}

/**
 * An MO message (deliver_sm or data_sm) from an upstream SMSC, stored for the account owning
 * its destination; refused for good (ESME_RX_P_APPN) when none does, so the upstream does not
 * offer it again and again.
 */
async function acceptUpstreamMo(core: SmscCore, d: Delivery): Promise<void> {
  if (d.command === 'alert_notification') return;
  const payload = d.tlvs.messagePayload ?? (d.command === 'deliver_sm' ? d.shortMessage : Buffer.alloc(0));
  try {
    await core.acceptMo({
      source: { ton: d.sourceAddrTon, npi: d.sourceAddrNpi, addr: d.sourceAddr },
      destination: { ton: d.destAddrTon, npi: d.destAddrNpi, addr: d.destinationAddr },
      dataCoding: d.dataCoding,
      esmClass: d.esmClass,
      payload,
      ...(d.command === 'deliver_sm' ? { protocolId: d.protocolId } : {}),
      tlvs: d.tlvs,
    });
  } catch (err) {
    if (err instanceof NoMoOwnerError) throw new CommandStatusError(CommandStatus.ESME_RX_P_APPN, `MO to ${d.destinationAddr}`);
    throw err;
  }
}

function nodeNumberOf(nodeId: string): number {
  const digits = /(\d+)$/.exec(nodeId);
  if (digits !== null) return Number(digits[1]) % 16;
  let h = 0;
  for (const ch of nodeId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % 16;
}

/** The options of the PostgreSQL store of a config with a `store.postgres` section. */
export function postgresStoreOptions(config: Config): PostgresStoreOptions {
  const pg = config.store.postgres;
  if (pg === undefined) throw new Error('the config has no store.postgres section');
  return {
    url: pg.url,
    ...(pg.schema !== undefined ? { schema: pg.schema } : {}),
    poolSize: pg.poolSize,
    queryTimeoutMs: pg.queryTimeoutMs,
    maxInFlight: pg.insertBatches,
    listenRetryMs: pg.listenRetryMs,
    commitDelayMs: config.store.commitDelayMs,
    events: config.store.events,
  };
}

/** The options of every SMPP server session, from the config's `smpp` section. */
export function smppSessionOptions(config: Config): NonNullable<SmscServerOptions['session']> {
  const smpp = config.smpp;
  return {
    windowSize: smpp.windowSize,
    maxInboundInFlight: smpp.maxInboundInFlight,
    responseTimeoutMs: smpp.responseTimeoutMs,
    enquireLinkIntervalMs: smpp.enquireLinkIntervalMs,
    inactivityTimeoutMs: smpp.inactivityTimeoutMs,
    sessionInitTimeoutMs: smpp.sessionInitTimeoutMs,
    drainTimeoutMs: smpp.drainTimeoutMs,
    maxPduBytes: smpp.maxPduBytes,
  };
}

/** Opens the configured store. */
export async function openStore(config: Config): Promise<Store> {
  if (config.store.postgres !== undefined) return initialised(new PostgresStore(postgresStoreOptions(config)));
  const path = config.store.sqlite!.path;
  try {
    if (path !== ':memory:') {
      // Only its owner may read the messages (and the accounts made through the API): a new
      // folder is private, and a new database file is made so before SQLite opens it (its
      // -wal and -shm files take its permissions).
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      closeSync(openSync(path, 'a', 0o600));
    }
    // On a worker thread: durable commits (fsync) never stop the event loop. docs/decisions.md
    return await initialised(new ThreadedSqliteStore({ path, events: config.store.events, exclusive: true }));
  } catch (err) {
    // SQLite's own words name no file ('unable to open database file'), nor the config key.
    if (err instanceof Error && !err.message.includes('store.sqlite.path')) {
      throw new Error(`cannot open the SQLite store ${path} (store.sqlite.path): ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** `store` once init() resolved; closed (its thread, its pool) when init() fails. */
async function initialised(store: Store): Promise<Store> {
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}

/** Starts an SMSC from a validated config. */
export async function startSmsc(config: Config, options: StartOptions = {}): Promise<Smsc> {
  // Everything a config can get wrong is found before anything opens (errors name the key).
  checkSections(config);
  const store = options.store ?? (await openStore(config));
  let lease: ActiveLease | undefined;
  let identity: NodeIdentity | undefined;
  try {
    // active-standby: nothing listens or delivers before this node holds the database's lock.
    if (config.cluster.mode === 'active-standby') {
      const pg = config.store.postgres!; // checked by validateConfig
      const leaseOptions = {
        url: pg.url,
        ...(pg.schema !== undefined ? { schema: pg.schema } : {}),
        retryMs: config.cluster.standbyRetryMs,
        clock: options.clock ?? systemClock,
        onStandby: (error?: Error) =>
          console.error(`smsc: node ${config.nodeId} is standing by: ${error === undefined ? 'another node is active' : `the database cannot be reached (${error.message})`}`),
      };
      lease = await acquireActiveLease(leaseOptions, options.signal);
    }
    const pg = config.store.postgres;
    if (pg !== undefined) {
      // Active now: the node that was may still be stopping (see claimNodeIdentity).
      const predecessor = lease === undefined ? undefined : waitForPredecessor(config, options, lease);
      identity = await claimNodeIdentity(
        {
          url: pg.url,
          ...(pg.schema !== undefined ? { schema: pg.schema } : {}),
          nodeId: config.nodeId,
          nodeNumber: options.nodeNumber ?? nodeNumberOf(config.nodeId),
          mode: config.cluster.mode,
        },
        predecessor?.wait,
      ).catch((err: unknown) => {
        throw predecessor?.lost() ?? err;
      });
      const lost = predecessor?.lost();
      if (lost !== undefined) throw lost;
    }
    const smsc = withIdentity(await assemble(config, options, store), identity, options);
    if (lease === undefined) return smsc;
    return activeOnly(smsc, lease, options);
  } catch (err) {
    // A config error found while assembling must not leave the store (and its thread) open.
    await identity?.release();
    await lease?.release();
    if (options.store === undefined) await store.close().catch(() => {});
    throw err;
  }
}

/**
 * How a node that has just taken the active lock waits for the one it replaces to stop (see
 * claimNodeIdentity). Losing the lock meanwhile ends the wait, and the start: another node may
 * be active; `lost()` then says why.
 */
function waitForPredecessor(config: Config, options: StartOptions, lease: ActiveLease): { wait: IdentityWait; lost(): Error | undefined } {
  const lostLock = new AbortController();
  let why: Error | undefined;
  void lease.lost.then((e) => {
    why = e;
    lostLock.abort();
  });
  return {
    wait: {
      retryMs: config.cluster.standbyRetryMs,
      clock: options.clock ?? systemClock,
      signal: options.signal === undefined ? lostLock.signal : AbortSignal.any([options.signal, lostLock.signal]),
      onWait: (reason) => console.error(`smsc: node ${config.nodeId} holds the active lock and waits: ${reason}`),
    },
    lost: () => why,
  };
}

/**
 * A node's identity locks (PostgreSQL) are given up once it has stopped; lost for good (another
 * node took them while their connection was down), the node stops, as one that lost the active
 * lock does: two live nodes with one identity release each other's leases.
 */
function withIdentity(smsc: Smsc, identity: NodeIdentity | undefined, options: StartOptions): Smsc {
  if (identity === undefined) return smsc;
  const stop = smsc.stop;
  let stopped = false;
  smsc.stop = () => {
    stopped = true;
    return stop().finally(() => identity.release());
  };
  void identity.lost.then((error) => {
    if (!stopped) stopForLostLock(smsc, error, options);
  });
  return smsc;
}

/**
 * A lock the node needs to serve (the active lock, its identity's) is lost: said, deliveries
 * end first (no more claims; unbinds may take a response timer each, and another node may be
 * active already), then the node stops, through onFatal when the caller gave one.
 */
function stopForLostLock(smsc: Smsc, error: Error, options: StartOptions): void {
  console.error(`smsc: ${error.message}; stopping`);
  void smsc.scheduler.stop().catch(() => {});
  // On a later turn: whoever awaited startSmsc has taken the result by then.
  setImmediate(() => {
    if (options.onFatal !== undefined) options.onFatal(error);
    else void smsc.stop().catch(() => {});
  });
}

/**
 * Messages queued for a target the config no longer has (a connector removed or renamed, an
 * account deleted) wait until they expire, delivered by nothing: said at start, with what to
 * do. A read of the queue depth by target; a store that cannot answer says nothing here.
 * (A disabled connector is known: its queue waits by design.)
 */
async function warnStranded(store: Store, known: (target: string) => boolean): Promise<void> {
  let depth: Record<string, number>;
  try {
    depth = await store.queueDepth();
  } catch {
    return;
  }
  for (const [target, n] of Object.entries(depth)) {
    if (n === 0 || known(target)) continue;
    console.error(
      `smsc: ${n} message(s) wait for '${target}', which this config does not have (a connector removed or renamed, an account deleted): they wait until it comes back or they expire (their ESME may cancel_sm them)`,
    );
  }
}

/**
 * An active node's watch on its store: a read every few seconds; when none has been answered
 * for `cluster.storeFailureStopMs`, the node is cut from its database while the connection
 * holding the lock lives (its pool's connections cut, say), and can deliver nothing while no
 * standby can take over: it gives the lock up (`lease.lose`), which stops it.
 */
function watchStore(smsc: Smsc, clock: Clock, lease: ActiveLease): TimerHandle {
  const limit = smsc.config.cluster.storeFailureStopMs;
  if (limit <= 0) return { cancel: () => {} };
  const every = Math.min(5000, Math.max(100, Math.floor(limit / 3)));
  let timer: TimerHandle | undefined;
  let cancelled = false;
  // A slow store is not a dead one: a read may take up to the whole limit; only a limit's time
  // without any read answered counts.
  let lastAnswer = clock.now();
  let reading = false;
  let why = 'no read answered';
  const tick = (): void => {
    if (cancelled) return;
    const now = clock.now();
    if (now - lastAnswer >= limit) {
      lease.lose(new Error(`the store has not answered for ${Math.round((now - lastAnswer) / 1000)} s (${why}): giving the active lock up so that a standby can take over`));
      return;
    }
    if (!reading) {
      reading = true;
      void storeProblem(smsc.store, limit).then((problem) => {
        reading = false;
        if (problem === undefined) lastAnswer = clock.now();
        else why = problem;
      });
    }
    timer = clock.setTimer(tick, every);
  };
  timer = clock.setTimer(tick, every);
  return {
    cancel: () => {
      cancelled = true;
      timer?.cancel();
    },
  };
}

/**
 * The active node of an active-standby cluster: it gives the lock up when it stops, and stops
 * when it loses the lock (a standby may be active a moment later: two must not serve at once).
 */
function activeOnly(smsc: Smsc, lease: ActiveLease, options: StartOptions): Smsc {
  const stop = smsc.stop;
  let stopped = false;
  const watch = watchStore(smsc, options.clock ?? systemClock, lease);
  smsc.stop = () => {
    stopped = true;
    watch.cancel();
    return stop().finally(() => lease.release());
  };
  void lease.lost.then((error) => {
    watch.cancel();
    if (!stopped) stopForLostLock(smsc, error, options);
  });
  return smsc;
}

async function assemble(config: Config, options: StartOptions, store: Store): Promise<Smsc> {
  const clock = options.clock ?? systemClock;
  const ids = new MessageIdGenerator(options.nodeNumber ?? nodeNumberOf(config.nodeId), () => clock.now());

  let owners = new AddressOwners();
  let scheduler: DeliveryScheduler | undefined;
  let server: SmscServer | undefined;
  let core: SmscCore | undefined;
  const connectors = buildConnectors(config, clock, {
    moSink: (mo) => core!.acceptMo(mo),
    kick: () => scheduler?.kick(),
    forwarded: async (connector, remoteId) => (await store.findForwarded(connector, remoteId))?.id,
  });
  const checkRoutes = (raw: unknown, accounts: Iterable<string>) =>
    asConfigError(() => parseRoutes(raw, { statusByName: commandStatusByName, connectors: connectors.targets.keys(), accounts }));
  // Accounts, routes and connector switches: config file + store, reloaded on every change.
  const live: LiveConfig = new LiveConfig({
    config,
    store: isConfigStore(store) ? store : undefined,
    clock,
    checkRoutes,
    onChange: (change) => applyLive(change),
    onError: (err) => process.emitWarning(`run-time configuration not reloaded: ${(err as Error).message}`),
  });
  // Routers are replaced whole on reload; lookups always use the current pair.
  const buildRouters = (raw: unknown) => routersOf(checkRoutes(raw, live.accounts.keys()));
  // The routers of parsed routes, with the accounts in force now (their addresses are the MO
  // fallback and the source-address check).
  const routersOf = (routes: RoutesConfig) => {
    return {
      config: routes,
      mt: new MtRouter(routes.mt, { noRouteStatus: routes.noRouteStatus }),
      mo: new MoRouter(routes.mo, {
        sources: new Map([...live.accounts.values()].map((a) => [a.systemId, a.addresses])),
        fallbackToSources: true,
      }),
    };
  };
  let routers: ReturnType<typeof buildRouters> | undefined;
  const rebuildOwners = () => {
    const next = new AddressOwners();
    for (const a of live.accounts.values()) for (const addr of a.addresses) next.add(addr, a.systemId);
    owners = next;
  };
  const applyLive = (change: LiveChange) => {
    rebuildOwners();
    try {
      routers = buildRouters(live.routes().routes);
    } catch (err) {
      // Stored routes naming a connector the config no longer has: keep the rules in force,
      // but with the accounts of now (a new account must not pass the source check unseen).
      process.emitWarning(`routes not applied: ${(err as Error).message}`);
      if (routers !== undefined) routers = routersOf(routers.config);
    }
    // A removed or disabled account's sessions are unbound (they could not bind again anyway).
    for (const id of change.gone) {
      for (const s of server?.sessionsOf(id) ?? []) if (s.isBound) void kickSession(s, false, 5000);
    }
    for (const name of change.enabled) scheduler?.notify(name);
  };
  await live.start();
  rebuildOwners();
  if (routers === undefined) {
    try {
      routers = buildRouters(live.routes().routes);
    } catch (err) {
      // Bad config routes stop the start (naming the key); bad stored ones fall back to the config's.
      if (live.routes().source === 'config') throw err;
      process.emitWarning(`stored routes not applied: ${(err as Error).message}`);
      routers = buildRouters(config['routes']);
    }
  }
  const current = () => routers!;

  const flow = flowControl(
    {
      of: (id) => live.account(id),
      all: () => [...live.accounts].map(([id, a]) => [id, a] as [string, { tps: number; maxQueued: number }]),
    },
    store,
    clock,
  );
  const moAssembler = new MoAssembler({
    store,
    nodeId: config.nodeId,
    soleNode: config.cluster.mode === 'active-standby',
    clock,
    ids,
    timeoutMs: config.delivery.moReassemblyTimeoutMs,
    onStored: (target) => scheduler?.notify(target),
  });
  core = new SmscCore({
    moAssembler,
    store,
    clock,
    ids,
    nodeId: config.nodeId,
    account: (id) => live.account(id),
    route: ({ account, destination, source, serviceType, dataCoding }) => {
      // [ref §9.3] an account may only send from the addresses it declares.
      if (!current().mo.ownsSource(account, source)) return { status: CommandStatus.ESME_RINVSRCADR };
      // An address an account owns is delivered to that ESME; everything else follows the MT routes.
      const owner = owners.ownerOf(destination);
      if (owner !== undefined) return { target: `esme:${owner}` };
      const r = current().mt.route({ account, destination, source, serviceType, dataCoding });
      if (!isRoute(r)) return { status: r.status };
      // Failover: the first connector of the route that is up (and not disabled) takes it; the
      // rest stay its failover list. When none is up it waits for the first.
      const chain = [r.connector, ...r.failover];
      const i = chain.findIndex((name) => !live.disabledConnectors.has(name) && connectors.targets.get(name)?.up?.() !== false);
      const at = i < 0 ? 0 : i;
      return { target: chain[at]!, failover: chain.slice(at + 1) };
    },
    moOwner: (destination) => current().mo.route(destination),
    admit: flow.admit,
    onSubmitLatency: (sec) => options.observer?.submitLatency?.(sec),
    onStored: (target) => scheduler?.notify(target),
    awaitOutcome: (id, waitMs) => scheduler!.awaitOutcome(id, waitMs),
    transactionWaitMs: config.delivery.transactionWaitMs,
    datagramWaitMs: config.delivery.datagramWaitMs,
    leaseMs: config.delivery.leaseMs,
    direct: {
      store: (msgs, now) => (scheduler !== undefined ? scheduler.storeNew(msgs, now) : store.insert(msgs)),
      takeOut: (id) => scheduler?.takeOut(id),
      abandon: (id) => scheduler?.abandon(id) ?? true,
    },
  });

  const smppServer = new SmscServer({
    systemId: config.smpp.systemId,
    // Looked up at every bind: accounts created, changed or disabled at run time apply at once.
    accounts: (id) => live.policy(id),
    handlers: core.handlers(),
    clock,
    maxConnections: config.smpp.maxConnections,
    maxUnboundPerIp: config.smpp.maxUnboundPerIp,
    credentialStatus: {
      unknownSystemId: config.smpp.unknownSystemIdStatus,
      wrongPassword: config.smpp.wrongPasswordStatus,
    },
    session: smppSessionOptions(config),
  });

  server = smppServer;
  // One ESME target per account with a receiver or transceiver bound on this node. A delivery
  // waits for a window slot at most as long as its lease leaves beside the response timeout.
  const esmeTargets = new Map<string, EsmeTarget>();
  const esmeMaxWaitMs = Math.min(ESME_MAX_WAIT_MS, attemptBudgetMs(config.delivery.leaseMs) - config.smpp.responseTimeoutMs);
  const esmeTarget = (id: string): EsmeTarget | undefined => {
    if (smppServer.receiversOf(id).length === 0) return undefined;
    let t = esmeTargets.get(id);
    if (t === undefined) esmeTargets.set(id, (t = new EsmeTarget(() => smppServer.receiversOf(id), { maxWaitMs: esmeMaxWaitMs, clock, onCapacity: () => scheduler?.kick() })));
    return t;
  };
  const targets = (): ReadonlyMap<string, DeliveryTarget> => {
    const out = new Map<string, DeliveryTarget>();
    // A disabled connector is left out: its messages stay queued until it is enabled again.
    for (const [name, t] of connectors.targets) if (!live.disabledConnectors.has(name)) out.set(name, t);
    for (const id of live.accounts.keys()) {
      const t = esmeTarget(id);
      if (t !== undefined) out.set(`esme:${id}`, t);
    }
    return out;
  };
  // One key of targets(), without building the map (asked on every submit).
  const target = (key: string): DeliveryTarget | undefined => {
    const t = connectors.targets.get(key);
    if (t !== undefined) return live.disabledConnectors.has(key) ? undefined : t;
    return key.startsWith('esme:') && live.accounts.has(key.slice(5)) ? esmeTarget(key.slice(5)) : undefined;
  };
  scheduler = new DeliveryScheduler({
    store,
    clock,
    ids,
    nodeId: config.nodeId,
    // active-standby: assembled only once this node holds the database's lock.
    soleNode: config.cluster.mode === 'active-standby',
    targets,
    target,
    leaseMs: config.delivery.leaseMs,
    retryDelayMs: config.delivery.retryDelayMs,
    maxRetryDelayMs: config.delivery.maxRetryDelayMs,
    retentionMs: config.store.retentionHours * 3_600_000,
    failoverGraceMs: config.delivery.failoverGraceMs,
    disabled: () => live.disabledConnectors,
    onDelivered: (m, at) => {
      if (m.direction === 'mt') options.observer?.deliveryLatency?.((at - m.submittedAt) / 1000);
    },
  });
  smppServer.on('bound', (_s, ctx: { systemId: string }) => scheduler?.notify(`esme:${ctx.systemId}`));
  // A receiver gone: what is held for its account goes back to the store (see DeliveryScheduler).
  smppServer.on('unbound', () => scheduler?.kick());
  smppServer.on('bindBan', (ip: string, failures: number, banMs: number) =>
    console.error(`smsc: ${failures} failed binds from ${ip} (wrong system_id or password): its binds are refused for ${Math.round(banMs / 1000)} s`),
  );
  // A request answered ESME_RSYSERR (the store failing, say) is said, once until the reason changes.
  const failures = new SaidOnce();
  smppServer.on('requestFailed', (err: unknown, req: { command: string }, ctx: { systemId: string } | undefined) => {
    const why = errorText(err);
    if (failures.isNew(why)) console.error(`smsc: a ${req.command} of ${ctx?.systemId ?? 'an unbound session'} failed, answered ESME_RSYSERR: ${why}`);
  });

  // Before the listeners: the leases it gives back at start (its own from before a restart,
  // every node's when it is the only one) must not include any it takes for a new bind.
  await scheduler.start();
  const listening: Smsc['listening'] = [];
  try {
    for (const [i, l] of config.smpp.listeners.entries()) {
      const addr: AddressInfo = await smppServer
        .listen({
          host: l.host,
          port: l.port,
          ...(l.tls ? { tls: { cert: readFileSync(l.tls.cert), key: readFileSync(l.tls.key) } } : {}),
        })
        .catch((err: Error) => {
          // A port taken, a host not here: said with the key that asked for it.
          throw new ConfigError(`smpp.listeners[${i}]`, `cannot listen on ${l.host}:${l.port}: ${err.message}`);
        });
      listening.push({ host: addr.address, port: addr.port, tls: l.tls !== undefined });
    }
  } catch (err) {
    // A port taken: nothing of this start keeps running (the caller closes the store).
    await smppServer.close().catch(() => {});
    await scheduler.stop().catch(() => {});
    throw err;
  }
  void warnStranded(store, (key) => connectors.targets.has(key) || (key.startsWith('esme:') && live.accounts.has(key.slice(5))) || key.startsWith('hold:'));
  // MO parts parked before a restart: joined when complete, else released when they time out.
  // Every account's, config file's and API's, and those of an account that stopped reassembling.
  await moAssembler.recover([...live.accounts.keys()]);
  // Parts a node gone for good (or renamed) parked: delivered as they are after twice the timeout.
  moAssembler.sweepOrphans(() => live.accounts.keys());
  // An upstream SMSC's receipt ends the forwarded message and makes our ESME's receipt.
  for (const t of connectors.smpp) t.onUpstreamReceipt(async (ourId, state, errorCode) => void (await scheduler?.finalize(ourId, state, errorCode)));
  // Its MO goes, as the network's, to the account owning the short code.
  for (const t of connectors.smpp) t.onUpstreamMo((d) => acceptUpstreamMo(core!, d));
  await connectors.start();

  // Accounts with `outbind`: connected out to while none of their sessions can take deliveries.
  const outbinds = keepOutbinds({ accounts: () => live.accounts.values(), server: smppServer, systemId: config.smpp.systemId, clock });

  let stopping: Promise<void> | undefined;
  const smsc: Smsc = {
    config,
    store,
    server: smppServer,
    scheduler,
    core,
    listening,
    network: connectors.network,
    live,
    reloadRoutes(raw: unknown) {
      // Validated first: a bad section throws (naming the key) and the running routes stay.
      // Routes stored through the admin API, when set, stay in force.
      live.setConfigRoutes(raw);
    },
    connectors() {
      return [...connectors.targets].map(([name, t]): ConnectorInfo => {
        const type = connectors.types.get(name) ?? 'network';
        let state: ConnectorInfo['state'] = 'enabled';
        if (live.disabledConnectors.has(name)) state = 'disabled';
        else if (t instanceof SmppTarget) state = t.bound ? 'bound' : 'connecting';
        // A disabled one keeps its link (routing skips it): its error is shown too.
        const error = t instanceof SmppTarget && !t.bound && t.lastError !== undefined ? errorText(t.lastError) : undefined;
        return { name, type, state, ...(error !== undefined ? { lastError: error } : {}) };
      });
    },
    routes: () => current().config,
    // Once: a fatal error may stop it while the caller stops it too.
    stop: () =>
      (stopping ??= (async () => {
        // Transaction-mode submits waiting for an outcome are answered now, not after the wait.
        scheduler?.endWaits();
        flow.stop();
        outbinds.stop();
        live.stop();
        await smppServer.close();
        await connectors.stop();
        moAssembler.close();
        await scheduler?.stop();
        await store.close();
      })()),
  };
  // A newer node migrated the shared database: this one must not write to it any more (the
  // store refuses already). Found while starting, the start fails; later, the node stops.
  let started = false;
  let fatalAtStart: Error | undefined;
  await store.onSchemaNewer?.((version, known) => {
    const error = new Error(
      `database schema version ${version} is newer than this code (${known}): another node upgraded the shared database; upgrade node ${config.nodeId} before starting it again`,
    );
    if (!started) {
      fatalAtStart = error;
      return;
    }
    console.error(`smsc: ${error.message}; stopping`);
    // On a later turn: whoever awaited startSmsc has taken the result by then.
    setImmediate(() => {
      if (options.onFatal !== undefined) options.onFatal(error);
      else void smsc.stop().catch(() => {});
    });
  });
  if (fatalAtStart !== undefined) {
    await smsc.stop().catch(() => {});
    throw fatalAtStart;
  }
  started = true;
  return smsc;
}


interface Connectors {
  targets: Map<string, DeliveryTarget>;
  types: Map<string, ConnectorInfo['type']>;
  smpp: SmppTarget[];
  network: SimulatedNetwork | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A URL as logs may show it: origin and path, without credentials or query. */
export function urlForLog(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}${u.search !== '' ? '?…' : ''}`;
}

/** The `connectors:` and `network:` sections as delivery targets, by name. */
function buildConnectors(
  config: Config,
  clock: Clock,
  hooks: { moSink: MoSink; kick(): void; forwarded(connector: string, remoteId: string): Promise<string | undefined> },
): Connectors {
  const targets = new Map<string, DeliveryTarget>();
  const types = new Map<string, ConnectorInfo['type']>();
  const smpp: SmppTarget[] = [];
  let network: SimulatedNetwork | undefined;
  const raw = config['connectors'];
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new ConfigError('connectors', 'must be a mapping of name → connector');
  }
  const makeNetwork = (section: unknown, path: string) => {
    const parsed = asConfigError(() => parseNetwork(section, path));
    const maxLatencyMs = attemptBudgetMs(config.delivery.leaseMs) - 1;
    return { parsed, network: new SimulatedNetwork({ ...parsed, clock, moSink: hooks.moSink, maxLatencyMs }) };
  };
  /** Every simulated network (named connectors and the `network:` section), with its background MO generator. */
  const networks: { net: SimulatedNetwork; mo: ReturnType<typeof parseNetwork>['mo'] }[] = [];
  for (const [name, c] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const type = (c as { type?: unknown } | null)?.type;
    const path = `connectors.${name}`;
    // Failover lists are stored comma-separated; names are config keys, so this costs nothing.
    if (!CONNECTOR_NAME.test(name)) throw new ConfigError(path, 'a connector name may use letters, digits and _ . : - only');
    if (type === 'http') {
      const cfg = asConfigError(() => parseHttp(c, path));
      targets.set(
        name,
        new HttpTarget({
          ...cfg,
          clock,
          // The URL without its query (an api_key in it is a secret, and logs are not).
          onFailure: (why) => console.error(`smsc: connector ${name}: ${urlForLog(cfg.url)}: ${why}; the message is retried`),
          onCapacity: hooks.kick,
        }),
      );
    } else if (type === 'smpp') {
      const parsed = asConfigError(() => parseSmpp(c, path, commandStatusByName));
      const t = new SmppTarget({
        ...parsed,
        clock,
        onCapacity: hooks.kick,
        onLink: linkLogger(name, `${parsed.host}:${parsed.port}`),
        // Upstream ids live with the forwarded messages in the store: receipts match after a restart.
        idMap: new PersistentIdMap((remoteId) => hooks.forwarded(name, remoteId)),
      });
      smpp.push(t);
      targets.set(name, t);
    } else if (type === 'network') {
      const { type: _t, ...rest } = c as Record<string, unknown>;
      const made = makeNetwork(rest, path);
      network = made.network;
      networks.push({ net: made.network, mo: made.parsed.mo });
      targets.set(name, network);
    } else {
      throw new ConfigError(`${path}.type`, "must be 'http', 'smpp' or 'network'");
    }
    types.set(name, type);
  }
  if (config['network'] !== undefined) {
    const made = makeNetwork(config['network'], 'network');
    network = made.network;
    networks.push({ net: made.network, mo: made.parsed.mo });
    targets.set('network', network);
  }
  const generators: { stop(): unknown }[] = [];
  return {
    targets,
    types,
    smpp,
    network,
    async start() {
      for (const t of smpp) t.start();
      // Each network's own generator (a named one's `mo:` was parsed and then never started).
      for (const { net, mo } of networks) if (mo !== undefined) generators.push(net.startMoGenerator(mo));
    },
    async stop() {
      for (const g of generators.splice(0)) g.stop();
      await Promise.all(smpp.map((t) => t.stop()));
      await Promise.all(networks.map(({ net }) => net.close()));
    },
  };
}
