/**
 * The SMSC daemon assembled from its parts: config → store → core (accept) → SMPP listener →
 * delivery scheduler with the ESME target.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/config.js';
import { HttpTarget, parseHttp } from '../connectors/http.js';
import { type MoSink, parseNetwork, SimulatedNetwork } from '../connectors/network.js';
import { PersistentIdMap, parseSmpp, SmppTarget } from '../connectors/smpp.js';
import { TokenBucket } from '../connectors/token-bucket.js';
import { AddressOwners } from '../core/addresses.js';
import { SmscCore } from '../core/core.js';
import { MessageIdGenerator } from '../core/message-id.js';
import { MoAssembler } from '../core/mo-reassembly.js';
import { EsmeTarget } from '../delivery/esme-target.js';
import { DeliveryScheduler } from '../delivery/scheduler.js';
import type { DeliveryTarget } from '../delivery/target.js';
import { CommandStatus, commandStatusByName } from '../pdu/constants.js';
import { ConfigKeyError, isRoute, MoRouter, MtRouter, parseRoutes, type RoutesConfig } from '../routing/index.js';
import { SmscServer } from '../server/server.js';
import { type Clock, systemClock } from '../session/clock.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { ThreadedSqliteStore } from '../store/sqlite/threaded-store.js';
import type { Store } from '../store/types.js';

export interface StartOptions {
  clock?: Clock;
  /** Use this store instead of the configured one (tests). */
  store?: Store;
  /** Node number 0..15 for message ids (cluster nodes must differ). Default: derived from nodeId. */
  nodeNumber?: number;
  /** Latency observers (metrics), read when called, so they can be set after start. */
  observer?: { submitLatency?(seconds: number): void; deliveryLatency?(seconds: number): void };
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
  stop(): Promise<void>;
}

function nodeNumberOf(nodeId: string): number {
  const digits = /(\d+)$/.exec(nodeId);
  if (digits !== null) return Number(digits[1]) % 16;
  let h = 0;
  for (const ch of nodeId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % 16;
}

/** Opens the configured store. */
export async function openStore(config: Config): Promise<Store> {
  let store: Store;
  if (config.store.postgres !== undefined) {
    store = new PostgresStore({ url: config.store.postgres.url, commitDelayMs: config.store.commitDelayMs });
  } else {
    const path = config.store.sqlite!.path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    // On a worker thread: durable commits (fsync) never stop the event loop. docs/decisions.md
    store = new ThreadedSqliteStore({ path });
  }
  await store.init();
  return store;
}

/** Starts an SMSC from a validated config. */
export async function startSmsc(config: Config, options: StartOptions = {}): Promise<Smsc> {
  const store = options.store ?? (await openStore(config));
  try {
    return await assemble(config, options, store);
  } catch (err) {
    // A config error found while assembling must not leave the store (and its thread) open.
    if (options.store === undefined) await store.close().catch(() => {});
    throw err;
  }
}

async function assemble(config: Config, options: StartOptions, store: Store): Promise<Smsc> {
  const clock = options.clock ?? systemClock;
  const ids = new MessageIdGenerator(options.nodeNumber ?? nodeNumberOf(config.nodeId), () => clock.now());

  const accounts = new Map(config.accounts.map((a) => [a.systemId, a]));
  const owners = new AddressOwners();
  for (const a of config.accounts) for (const addr of a.addresses) owners.add(addr, a.systemId);

  let scheduler: DeliveryScheduler | undefined;
  let core: SmscCore | undefined;
  const connectors = buildConnectors(config, clock, {
    moSink: (mo) => core!.acceptMo(mo),
    kick: () => scheduler?.kick(),
    forwarded: async (connector, remoteId) => (await store.findForwarded(connector, remoteId))?.id,
  });
  // Routers are replaced whole on reload; lookups always use the current pair.
  const buildRouters = (raw: unknown) => {
    const routes = asConfigError(() =>
      parseRoutes(raw, { statusByName: commandStatusByName, connectors: connectors.targets.keys(), accounts: accounts.keys() }),
    );
    return {
      config: routes,
      mt: new MtRouter(routes.mt, { noRouteStatus: routes.noRouteStatus }),
      mo: new MoRouter(routes.mo, {
        sources: Object.fromEntries(config.accounts.map((a) => [a.systemId, a.addresses])),
        fallbackToSources: true,
      }),
    };
  };
  let routers = buildRouters(config['routes']);

  const flow = flowControl(config, store, clock);
  const moAssembler = new MoAssembler({
    store,
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
    account: (id) => accounts.get(id),
    route: ({ account, destination, source, serviceType, dataCoding }) => {
      // [ref §9.3] an account may only send from the addresses it declares.
      if (!routers.mo.ownsSource(account, source)) return { status: CommandStatus.ESME_RINVSRCADR };
      // An address an account owns is delivered to that ESME; everything else follows the MT routes.
      const owner = owners.ownerOf(destination);
      if (owner !== undefined) return { target: `esme:${owner}` };
      const r = routers.mt.route({ account, destination, source, serviceType, dataCoding });
      if (!isRoute(r)) return { status: r.status };
      // Failover: the first connector of the route that is up takes it; the rest stay its
      // failover list. When none is up it waits for the first.
      const chain = [r.connector, ...r.failover];
      const i = chain.findIndex((name) => connectors.targets.get(name)?.up?.() !== false);
      const at = i < 0 ? 0 : i;
      return { target: chain[at]!, failover: chain.slice(at + 1) };
    },
    moOwner: (destination) => routers.mo.route(destination),
    admit: flow.admit,
    onSubmitLatency: (sec) => options.observer?.submitLatency?.(sec),
    onStored: (target) => scheduler?.notify(target),
  });

  const server = new SmscServer({
    systemId: config.smpp.systemId,
    accounts: config.accounts.map((a) => ({
      systemId: a.systemId,
      ...(a.password !== undefined ? { password: a.password } : {}),
      ...(a.passwordHash !== undefined ? { passwordHash: a.passwordHash } : {}),
      ...(a.allowedIps !== undefined ? { allowedIps: a.allowedIps } : {}),
      ...(a.allowedSystemTypes !== undefined ? { allowedSystemTypes: a.allowedSystemTypes } : {}),
      maxBinds: a.maxBinds,
      windowSize: a.windowSize,
    })),
    handlers: core.handlers(),
    clock,
    maxConnections: config.smpp.maxConnections,
    credentialStatus: {
      unknownSystemId: config.smpp.unknownSystemIdStatus,
      wrongPassword: config.smpp.wrongPasswordStatus,
    },
    session: {
      windowSize: config.smpp.windowSize,
      responseTimeoutMs: config.smpp.responseTimeoutMs,
      enquireLinkIntervalMs: config.smpp.enquireLinkIntervalMs,
      inactivityTimeoutMs: config.smpp.inactivityTimeoutMs,
      sessionInitTimeoutMs: config.smpp.sessionInitTimeoutMs,
      drainTimeoutMs: config.smpp.drainTimeoutMs,
      maxPduBytes: config.smpp.maxPduBytes,
    },
  });

  // One ESME target per account with a receiver or transceiver bound on this node.
  const esmeTargets = new Map<string, EsmeTarget>();
  const targets = (): ReadonlyMap<string, DeliveryTarget> => {
    const out = new Map<string, DeliveryTarget>(connectors.targets);
    for (const a of config.accounts) {
      if (server.receiversOf(a.systemId).length === 0) continue;
      let t = esmeTargets.get(a.systemId);
      if (t === undefined) esmeTargets.set(a.systemId, (t = new EsmeTarget(() => server.receiversOf(a.systemId))));
      out.set(`esme:${a.systemId}`, t);
    }
    return out;
  };
  scheduler = new DeliveryScheduler({
    store,
    clock,
    ids,
    nodeId: config.nodeId,
    targets,
    leaseMs: config.delivery.leaseMs,
    retryDelayMs: config.delivery.retryDelayMs,
    maxRetryDelayMs: config.delivery.maxRetryDelayMs,
    retentionMs: config.store.retentionHours * 3_600_000,
    failoverGraceMs: config.delivery.failoverGraceMs,
    onDelivered: (m, at) => {
      if (m.direction === 'mt') options.observer?.deliveryLatency?.((at - m.submittedAt) / 1000);
    },
  });
  server.on('bound', (_s, ctx: { systemId: string }) => scheduler?.notify(`esme:${ctx.systemId}`));

  const listening: Smsc['listening'] = [];
  for (const l of config.smpp.listeners) {
    const addr: AddressInfo = await server.listen({
      host: l.host,
      port: l.port,
      ...(l.tls ? { tls: { cert: readFileSync(l.tls.cert), key: readFileSync(l.tls.key) } } : {}),
    });
    listening.push({ host: addr.address, port: addr.port, tls: l.tls !== undefined });
  }
  await scheduler.start();
  // MO parts parked before a restart: joined when complete, else released when they time out.
  await moAssembler.recover(config.accounts.filter((a) => a.reassembleMo).map((a) => a.systemId));
  // An upstream SMSC's receipt ends the forwarded message and makes our ESME's receipt.
  for (const t of connectors.smpp) t.onUpstreamReceipt(async (ourId, state, errorCode) => void (await scheduler?.finalize(ourId, state, errorCode)));
  await connectors.start();

  for (const a of config.accounts) {
    if (a.outbind !== undefined) {
      void server
        .outbind({ host: a.outbind.host, port: a.outbind.port, systemId: config.smpp.systemId, password: a.password ?? '' })
        .catch(() => {});
    }
  }

  return {
    config,
    store,
    server,
    scheduler,
    core,
    listening,
    network: connectors.network,
    reloadRoutes(raw: unknown) {
      // Validated first: a bad section throws (naming the key) and the running routes stay.
      routers = buildRouters(raw);
    },
    routes: () => routers.config,
    async stop() {
      flow.stop();
      await server.close();
      await connectors.stop();
      moAssembler.close();
      await scheduler?.stop();
      await store.close();
    },
  };
}

/** Runs a section parser, reporting its errors as ConfigError (naming the key). */
function asConfigError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigKeyError) throw new ConfigError(err.key, err.reason);
    throw err;
  }
}

interface Connectors {
  targets: Map<string, DeliveryTarget>;
  smpp: SmppTarget[];
  network: SimulatedNetwork | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The `connectors:` and `network:` sections as delivery targets, by name. */
function buildConnectors(
  config: Config,
  clock: Clock,
  hooks: { moSink: MoSink; kick(): void; forwarded(connector: string, remoteId: string): Promise<string | undefined> },
): Connectors {
  const targets = new Map<string, DeliveryTarget>();
  const smpp: SmppTarget[] = [];
  let network: SimulatedNetwork | undefined;
  const raw = config['connectors'];
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new ConfigError('connectors', 'must be a mapping of name → connector');
  }
  const makeNetwork = (section: unknown, path: string) => {
    const parsed = asConfigError(() => parseNetwork(section, path));
    return { parsed, network: new SimulatedNetwork({ ...parsed, clock, moSink: hooks.moSink }) };
  };
  /** The background MO generator of the top-level `network:` section, parsed with it. */
  let mo: ReturnType<typeof parseNetwork>['mo'];
  for (const [name, c] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const type = (c as { type?: unknown } | null)?.type;
    const path = `connectors.${name}`;
    // Failover lists are stored comma-separated; names are config keys, so this costs nothing.
    if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw new ConfigError(path, 'a connector name may use letters, digits and _ . : - only');
    if (type === 'http') {
      targets.set(name, new HttpTarget({ ...asConfigError(() => parseHttp(c, path)), clock }));
    } else if (type === 'smpp') {
      const t = new SmppTarget({
        ...asConfigError(() => parseSmpp(c, path, commandStatusByName)),
        clock,
        onCapacity: hooks.kick,
        // Upstream ids live with the forwarded messages in the store: receipts match after a restart.
        idMap: new PersistentIdMap((remoteId) => hooks.forwarded(name, remoteId)),
      });
      smpp.push(t);
      targets.set(name, t);
    } else if (type === 'network') {
      const { type: _t, ...rest } = c as Record<string, unknown>;
      network = makeNetwork(rest, path).network;
      targets.set(name, network);
    } else {
      throw new ConfigError(`${path}.type`, "must be 'http', 'smpp' or 'network'");
    }
  }
  if (config['network'] !== undefined) {
    const made = makeNetwork(config['network'], 'network');
    network = made.network;
    mo = made.parsed.mo;
    targets.set('network', network);
  }
  const net = network;
  let generator: { stop(): unknown } | undefined;
  return {
    targets,
    smpp,
    network,
    async start() {
      for (const t of smpp) t.start();
      if (net !== undefined && mo !== undefined) generator = net.startMoGenerator(mo);
    },
    async stop() {
      generator?.stop();
      await Promise.all(smpp.map((t) => t.stop()));
      await net?.close();
    },
  };
}

/**
 * Per-account flow control: a token bucket of `tps` submits per second (burst of one second)
 * and a queue limit of `maxQueued` pending messages. The pending count is read from the store
 * once a second and counted up locally in between, so a submit never waits for a COUNT query.
 */
function flowControl(config: Config, store: Store, clock: Clock): { admit(account: string, n: number): number; stop(): void } {
  const buckets = new Map<string, TokenBucket>();
  const queued = new Map<string, number>();
  const limited = config.accounts.filter((a) => a.maxQueued > 0);
  for (const a of config.accounts) if (a.tps > 0) buckets.set(a.systemId, new TokenBucket(a.tps, a.tps, clock));
  const maxQueued = new Map(limited.map((a) => [a.systemId, a.maxQueued]));
  let stopped = false;
  let timer: ReturnType<Clock['setTimer']> | undefined;
  const refresh = async () => {
    for (const a of limited) queued.set(a.systemId, await store.pendingCount(a.systemId).catch(() => queued.get(a.systemId) ?? 0));
    if (!stopped) timer = clock.setTimer(() => void refresh(), 1000);
  };
  if (limited.length > 0) void refresh();
  return {
    admit(account, n) {
      const limit = maxQueued.get(account);
      if (limit !== undefined) {
        const q = queued.get(account) ?? 0;
        if (q + n > limit) return CommandStatus.ESME_RMSGQFUL;
      }
      const bucket = buckets.get(account);
      if (bucket !== undefined && !bucket.take(n)) return CommandStatus.ESME_RTHROTTLED;
      if (limit !== undefined) queued.set(account, (queued.get(account) ?? 0) + n);
      return CommandStatus.ESME_ROK;
    },
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
