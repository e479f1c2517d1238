/**
 * The admin API as one table of routes: method, path, schemas, documentation and handler.
 * The app registers exactly these routes and the OpenAPI document is written from them, so
 * the two cannot drift apart.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STORE_READ_TIMEOUT_MS, storeProblem } from '../app/store-health.js';
import type { Config } from '../config/config.js';
import { NoMoOwnerError } from '../core/core.js';
import type { SchedulerStats } from '../delivery/scheduler.js';
import type { PduTrace } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { SmscServer } from '../server/server.js';
import type { Session } from '../session/session.js';
import type { FindQuery, MessageStateName, Store } from '../store/types.js';
import { AdminError } from './errors.js';
import { type RuntimeSource, runtimeRoutes } from './runtime-routes.js';
import type { JsonSchema } from './schemas.js';
import * as S from './schemas.js';
import type { AccountInput, AccountPatch, AccountRegistry } from './types.js';
import { eventView, messageView, sessionView } from './views.js';

/** The parts of a running SMSC the admin API uses (an `Smsc` from src/app/smsc.ts fits). */
export interface AdminSource {
  config: Config;
  store: Store;
  server: SmscServer;
  scheduler: { readonly stats: SchedulerStats };
  /** The simulated mobile network, when configured (MO injection). */
  network?: { originateMo(mo: { from: string; to: string; text: string }): Promise<string> } | undefined;
  /** Run-time routes and connectors (src/admin/runtime-routes.ts); their routes exist only when given. */
  live?: RuntimeSource['live'];
  connectors?: RuntimeSource['connectors'];
}

/** One documented response of a route. */
export interface ResponseDef {
  description: string;
  /** Body schema; for JSON it also drives serialisation (fields it does not list are dropped). */
  schema?: JsonSchema;
  /** Default application/json. */
  contentType?: string;
}

/** One route of the admin app. */
export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** fastify syntax: `/api/sessions/:id`. */
  url: string;
  operationId: string;
  summary: string;
  tags: string[];
  /** Needs `Authorization: Bearer <token>`. */
  auth: boolean;
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  /** The body may be left out (it is then validated as `{}`). */
  bodyOptional?: boolean;
  /** Largest body taken, octets (default the app's 64 KiB). */
  bodyLimit?: number;
  /** Success and route-specific error responses; 400 and 401 are added where they apply. */
  responses: Record<number, ResponseDef>;
  handler(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

/** The dashboard files, read once at start. */
export interface UiFiles {
  'index.html': Buffer;
  'app.js': Buffer;
  'style.css': Buffer;
}

/** What the handlers work with. */
export interface RouteContext {
  smsc: AdminSource;
  accounts: AccountRegistry;
  metrics: Metrics;
  trace: PduTrace | undefined;
  publicMetrics: boolean;
  hideContent: boolean;
  kickGraceMs: number;
  ui: UiFiles | undefined;
  /** The OpenAPI document (built from the table after it is complete). */
  openapi(): unknown;
}

interface MessagesQuery {
  account?: string;
  addr?: string;
  state?: MessageStateName;
  from?: number;
  to?: number;
  limit: number;
}

const json = (description: string, schema: JsonSchema): ResponseDef => ({ description, schema });
const failure = (description: string): ResponseDef => ({ description, schema: S.errorSchema });

/** Content-Security-Policy of the dashboard: only its own script, style and API. */
const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const UI_TYPES: Record<keyof UiFiles, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

function findSession(ctx: RouteContext, id: string): Session | undefined {
  for (const s of ctx.smsc.server.sessions) if (s.id === id) return s;
  return undefined;
}

/**
 * Ends a session: unbind and wait for the close (at most `graceMs`), then drop the connection
 * if it is still open. `force` drops it at once. Resolves with whether it was dropped.
 */
export async function kickSession(session: Session, force: boolean, graceMs: number): Promise<boolean> {
  if (force) {
    session.destroy('closed by the administrator');
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
    timer.unref();
  });
  const outcome = await Promise.race([session.unbind().then(() => 'closed' as const), grace]);
  clearTimeout(timer);
  if (outcome === 'closed') return false;
  session.destroy('closed by the administrator (no unbind_resp)');
  return true;
}

/** Unbinds every session of an account (after it was removed or disabled); resolves with how many. */
async function kickAccount(ctx: RouteContext, systemId: string, graceMs: number): Promise<number> {
  const sessions = ctx.smsc.server.sessionsOf(systemId);
  // Sessions the SMSC already unbinds (it saw the change itself) are counted, not unbound twice.
  await Promise.all(sessions.filter((s) => s.isBound).map((s) => kickSession(s, false, graceMs)));
  return sessions.length;
}

function uiFile(ctx: RouteContext, reply: FastifyReply, name: keyof UiFiles): FastifyReply {
  if (ctx.ui === undefined) throw new AdminError('SMSC_ADMIN_UI_MISSING');
  return reply
    .header('content-type', UI_TYPES[name])
    .header('content-security-policy', UI_CSP)
    .header('cache-control', 'no-cache')
    .send(ctx.ui[name]);
}

/** Every route of the admin app. */
export function adminRoutes(ctx: RouteContext): RouteDef[] {
  const { smsc } = ctx;
  const routes: RouteDef[] = [
    // ---- simulated network ---------------------------------------------------------------
    {
      method: 'POST',
      url: '/api/mo',
      operationId: 'injectMo',
      summary: 'A handset of the simulated network sends an MO message (delivered to the account owning the destination)',
      tags: ['network'],
      auth: true,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to', 'text'],
        properties: {
          from: { type: 'string', minLength: 1, maxLength: 20, pattern: '^\\+?[0-9]+$' },
          to: { type: 'string', minLength: 1, maxLength: 20 },
          text: { type: 'string', maxLength: 10000 },
        },
      },
      responses: {
        201: json('the stored MO message', {
          type: 'object',
          required: ['messageId'],
          properties: { messageId: { type: 'string' } },
        }),
        409: failure('no simulated network is configured'),
        422: failure('no account owns the destination'),
      },
      async handler(req, reply) {
        const network = smsc.network;
        if (network === undefined) throw new AdminError('SMSC_ADMIN_NO_NETWORK');
        const body = req.body as { from: string; to: string; text: string };
        let messageId: string;
        try {
          messageId = await network.originateMo(body);
        } catch (err) {
          // Only "nobody owns it" is the request's fault; a store failure is the SMSC's (500).
          if (err instanceof NoMoOwnerError) throw new AdminError('SMSC_ADMIN_MO_REFUSED', err.message, 'to');
          throw err;
        }
        req.log.info({ messageId, to: body.to }, 'MO injected');
        return reply.code(201).send({ messageId });
      },
    },
    // ---- sessions ------------------------------------------------------------------------
    {
      method: 'GET',
      url: '/api/sessions',
      operationId: 'listSessions',
      summary: 'Open SMPP sessions with their account, bind type, peer, window use and work in flight',
      tags: ['sessions'],
      auth: true,
      querystring: S.sessionsQuerySchema,
      responses: { 200: json('the sessions', S.sessionsResponseSchema) },
      async handler(req) {
        const { account } = req.query as { account?: string };
        const sessions = account === undefined ? [...smsc.server.sessions] : smsc.server.sessionsOf(account);
        return { sessions: sessions.map((s) => sessionView(s)) };
      },
    },
    {
      method: 'DELETE',
      url: '/api/sessions/:id',
      operationId: 'kickSession',
      summary: 'Closes a session: unbind first (the connection is dropped if no unbind_resp comes), or at once with force=true',
      tags: ['sessions'],
      auth: true,
      params: S.sessionIdParamsSchema,
      querystring: S.kickQuerySchema,
      responses: { 200: json('the session is closed', S.kickResponseSchema), 404: failure('no such session') },
      async handler(req) {
        const { id } = req.params as { id: string };
        const { force } = req.query as { force: boolean };
        const session = findSession(ctx, id);
        if (session === undefined) throw new AdminError('SMSC_ADMIN_SESSION_NOT_FOUND', `no session '${id}'`, 'id');
        const systemId = (session.context as { systemId?: string } | undefined)?.systemId;
        const forced = await kickSession(session, force, ctx.kickGraceMs);
        req.log.info({ sessionId: id, systemId, forced }, 'session closed by the administrator');
        return { id, closed: true, forced };
      },
    },

    // ---- messages ------------------------------------------------------------------------
    {
      method: 'GET',
      url: '/api/messages/:id',
      operationId: 'getMessage',
      summary: 'One stored message and its lifecycle events',
      tags: ['messages'],
      auth: true,
      params: S.messageIdParamsSchema,
      responses: { 200: json('the message', S.messageResponseSchema), 404: failure('no such message') },
      async handler(req) {
        const { id } = req.params as { id: string };
        const message = await smsc.store.get(id);
        if (message === undefined) throw new AdminError('SMSC_ADMIN_MESSAGE_NOT_FOUND', `no message '${id}'`, 'id');
        const events = await smsc.store.events(id);
        return { message: messageView(message, ctx.hideContent), events: events.map(eventView) };
      },
    },
    {
      method: 'GET',
      url: '/api/messages',
      operationId: 'findMessages',
      summary: 'Searches messages by account, address (source or destination), state and submit time; newest first',
      tags: ['messages'],
      auth: true,
      querystring: S.messagesQuerySchema,
      responses: { 200: json('the matching messages', S.messagesResponseSchema) },
      async handler(req) {
        const q = req.query as MessagesQuery;
        if (q.from !== undefined && q.to !== undefined && q.to <= q.from) {
          throw new AdminError('SMSC_ADMIN_VALIDATION', "querystring field 'to' must be after 'from'", 'to');
        }
        const find: FindQuery = { limit: q.limit };
        if (q.account !== undefined) find.account = q.account;
        if (q.addr !== undefined) find.addr = q.addr;
        if (q.state !== undefined) find.state = q.state;
        if (q.from !== undefined) find.from = q.from;
        if (q.to !== undefined) find.to = q.to;
        const found = await smsc.store.find(find);
        return { messages: found.map((m) => messageView(m, ctx.hideContent, true)) };
      },
    },

    // ---- stats and metrics ---------------------------------------------------------------
    {
      method: 'GET',
      url: '/health',
      operationId: 'getHealth',
      summary:
        'Whether this node serves: 200 when active and its store answers; 503 with status unhealthy when the store does not answer within 2 s (a standby node answers 503, status standby); no token',
      tags: ['stats'],
      auth: false,
      querystring: S.emptyQuerySchema,
      responses: {
        200: json('this node listens and delivers', S.healthResponseSchema),
        503: json('this node cannot deliver: its store does not answer', S.healthResponseSchema),
      },
      async handler(_req, reply) {
        const node = { nodeId: smsc.config.nodeId, mode: smsc.config.cluster.mode };
        // A read the store answers at once when it works (a message that never exists): a
        // node holding the active lock but cut from its database must not look healthy.
        const problem = await storeProblem(smsc.store, STORE_READ_TIMEOUT_MS);
        if (problem !== undefined) return reply.code(503).send({ status: 'unhealthy', ...node, error: problem });
        return { status: 'active', ...node };
      },
    },
    {
      method: 'GET',
      url: '/api/stats',
      operationId: 'getStats',
      summary: 'Messages by state, queue depth, sessions, scheduler and store counters, PDU counts',
      tags: ['stats'],
      auth: true,
      querystring: S.emptyQuerySchema,
      responses: { 200: json('a snapshot (store counts may be a few seconds old; longer on a store of millions of messages, where counting takes seconds)', S.statsResponseSchema) },
      async handler() {
        const counts = await ctx.metrics.storeCounts();
        let connections = 0;
        let bound = 0;
        const byBindType: Record<string, number> = { transmitter: 0, receiver: 0, transceiver: 0 };
        for (const s of smsc.server.sessions) {
          connections++;
          const type = s.isBound ? (s.context as { bindType?: string } | undefined)?.bindType : undefined;
          if (type === undefined) continue;
          bound++;
          byBindType[type] = (byBindType[type] ?? 0) + 1;
        }
        const { pdus, errorsByStatus } = ctx.metrics.snapshot();
        return {
          at: Date.now(),
          nodeId: smsc.config.nodeId,
          uptimeSeconds: process.uptime(),
          messages: { byState: counts.byState, queueDepth: counts.queueDepth },
          sessions: { connections, bound, byBindType },
          scheduler: { ...smsc.scheduler.stats },
          store: smsc.store.stats(),
          pdus,
          errorsByStatus,
        };
      },
    },
    {
      method: 'GET',
      url: '/metrics',
      operationId: 'getMetrics',
      summary: 'Prometheus metrics (text exposition format)',
      tags: ['stats'],
      auth: !ctx.publicMetrics,
      querystring: S.emptyQuerySchema,
      responses: {
        200: { description: 'metrics', contentType: 'text/plain; version=0.0.4', schema: { type: 'string' } },
      },
      async handler(_req, reply) {
        const text = await ctx.metrics.registry.metrics();
        return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
      },
    },

    // ---- accounts ------------------------------------------------------------------------
    {
      method: 'GET',
      url: '/api/accounts',
      operationId: 'listAccounts',
      summary: 'Accounts (never their passwords or hashes)',
      tags: ['accounts'],
      auth: true,
      querystring: S.emptyQuerySchema,
      responses: { 200: json('the accounts', S.accountsResponseSchema) },
      async handler() {
        return { accounts: await ctx.accounts.list() };
      },
    },
    {
      method: 'GET',
      url: '/api/accounts/:id',
      operationId: 'getAccount',
      summary: 'One account',
      tags: ['accounts'],
      auth: true,
      params: S.accountIdParamsSchema,
      responses: { 200: json('the account', S.accountSchema), 404: failure('no such account') },
      async handler(req) {
        const { id } = req.params as { id: string };
        const account = await ctx.accounts.get(id);
        if (account === undefined) throw new AdminError('SMSC_ADMIN_ACCOUNT_NOT_FOUND', `no account '${id}'`, 'id');
        return account;
      },
    },
    {
      method: 'POST',
      url: '/api/accounts',
      operationId: 'createAccount',
      summary: 'Creates an account; without a password one is generated and returned once',
      tags: ['accounts'],
      auth: true,
      body: S.accountCreateSchema,
      responses: {
        201: json('the account created', S.accountCreatedSchema),
        409: failure('the system_id is taken'),
        501: failure('accounts cannot be changed at run time'),
      },
      async handler(req, reply) {
        const created = await ctx.accounts.create(req.body as AccountInput);
        req.log.info({ systemId: created.account.systemId }, 'account created');
        return reply.code(201).send(created);
      },
    },
    {
      method: 'PATCH',
      url: '/api/accounts/:id',
      operationId: 'updateAccount',
      summary: 'Changes an account; disabling it also unbinds its sessions',
      tags: ['accounts'],
      auth: true,
      params: S.accountIdParamsSchema,
      body: S.accountPatchSchema,
      responses: {
        200: json('the account', S.accountSchema),
        404: failure('no such account'),
        501: failure('accounts cannot be changed at run time'),
      },
      async handler(req) {
        const { id } = req.params as { id: string };
        const patch = req.body as AccountPatch;
        const account = await ctx.accounts.update(id, patch);
        if (account === undefined) throw new AdminError('SMSC_ADMIN_ACCOUNT_NOT_FOUND', `no account '${id}'`, 'id');
        req.log.info({ systemId: id, fields: Object.keys(patch) }, 'account changed');
        if (patch.disabled === true) await kickAccount(ctx, id, ctx.kickGraceMs);
        return account;
      },
    },
    {
      method: 'DELETE',
      url: '/api/accounts/:id',
      operationId: 'deleteAccount',
      summary: 'Deletes an account and unbinds its sessions',
      tags: ['accounts'],
      auth: true,
      params: S.accountIdParamsSchema,
      responses: {
        200: json(
          'the account is gone',
          S.obj({ systemId: S.systemIdSchema, sessionsClosed: { type: 'integer' } }, ['systemId', 'sessionsClosed']),
        ),
        404: failure('no such account'),
        501: failure('accounts cannot be changed at run time'),
      },
      async handler(req) {
        const { id } = req.params as { id: string };
        if (!(await ctx.accounts.remove(id))) throw new AdminError('SMSC_ADMIN_ACCOUNT_NOT_FOUND', `no account '${id}'`, 'id');
        const sessionsClosed = await kickAccount(ctx, id, ctx.kickGraceMs);
        req.log.info({ systemId: id, sessionsClosed }, 'account deleted');
        return { systemId: id, sessionsClosed };
      },
    },
    {
      method: 'POST',
      url: '/api/accounts/:id/password',
      operationId: 'resetPassword',
      summary: 'Sets a new password (the one given, or a generated one) and returns it once',
      tags: ['accounts'],
      auth: true,
      params: S.accountIdParamsSchema,
      body: S.passwordBodySchema,
      bodyOptional: true,
      responses: {
        200: json('the new password', S.passwordResponseSchema),
        404: failure('no such account'),
        501: failure('accounts cannot be changed at run time'),
      },
      async handler(req) {
        const { id } = req.params as { id: string };
        const { password } = req.body as { password?: string };
        const result = await ctx.accounts.resetPassword(id, password);
        if (result === undefined) throw new AdminError('SMSC_ADMIN_ACCOUNT_NOT_FOUND', `no account '${id}'`, 'id');
        req.log.info({ systemId: id }, 'account password reset');
        return { systemId: id, password: result.password };
      },
    },
  ];

  // ---- PDU trace (when the app has a logger) ---------------------------------------------
  const trace = ctx.trace;
  if (trace !== undefined) {
    routes.push(
      {
        method: 'GET',
        url: '/api/trace',
        operationId: 'listTraces',
        summary: 'Accounts whose PDUs are being logged',
        tags: ['trace'],
        auth: true,
        querystring: S.emptyQuerySchema,
        responses: { 200: json('the traced accounts', S.traceResponseSchema) },
        async handler() {
          return { accounts: trace.accounts };
        },
      },
      {
        method: 'PUT',
        url: '/api/trace/:systemId',
        operationId: 'startTrace',
        summary: "Starts logging every PDU of an account's sessions (passwords redacted, payloads truncated)",
        tags: ['trace'],
        auth: true,
        params: S.traceParamsSchema,
        responses: { 200: json('the traced accounts', S.traceResponseSchema) },
        async handler(req) {
          trace.enable((req.params as { systemId: string }).systemId);
          return { accounts: trace.accounts };
        },
      },
      {
        method: 'DELETE',
        url: '/api/trace/:systemId',
        operationId: 'stopTrace',
        summary: 'Stops logging the PDUs of an account',
        tags: ['trace'],
        auth: true,
        params: S.traceParamsSchema,
        responses: { 200: json('the traced accounts', S.traceResponseSchema) },
        async handler(req) {
          trace.disable((req.params as { systemId: string }).systemId);
          return { accounts: trace.accounts };
        },
      },
    );
  }

  if (smsc.live !== undefined && smsc.connectors !== undefined) {
    routes.push(...runtimeRoutes(ctx, { live: smsc.live, connectors: smsc.connectors.bind(smsc) }));
  }

  // ---- documentation and dashboard (public: the dashboard asks for the token itself) ------
  routes.push(
    {
      method: 'GET',
      url: '/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This API as an OpenAPI 3.1 document',
      tags: ['meta'],
      auth: false,
      querystring: S.emptyQuerySchema,
      responses: { 200: json('the document', { type: 'object', additionalProperties: true }) },
      async handler() {
        return ctx.openapi();
      },
    },
    {
      method: 'GET',
      url: '/',
      operationId: 'getDashboard',
      summary: 'The live dashboard (HTML); give the token once, or as ?token=',
      tags: ['meta'],
      auth: false,
      querystring: S.obj({ token: { type: 'string', description: 'admin token, kept by the page in localStorage' } }),
      responses: {
        200: { description: 'the page', contentType: 'text/html', schema: { type: 'string' } },
        503: failure('the dashboard files are missing'),
      },
      async handler(_req, reply) {
        return uiFile(ctx, reply, 'index.html');
      },
    },
    {
      method: 'GET',
      url: '/ui/:file',
      operationId: 'getDashboardFile',
      summary: "The dashboard's script and style sheet",
      tags: ['meta'],
      auth: false,
      params: S.uiFileParamsSchema,
      responses: {
        200: { description: 'the file', contentType: 'text/plain', schema: { type: 'string' } },
        503: failure('the dashboard files are missing'),
      },
      async handler(req, reply) {
        return uiFile(ctx, reply, (req.params as { file: 'app.js' | 'style.css' }).file);
      },
    },
  );
  return routes;
}

