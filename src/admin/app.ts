/**
 * The admin HTTP app: JSON API over sessions, messages, stats and accounts, Prometheus
 * metrics, the OpenAPI document and the live dashboard, as one fastify instance. The caller
 * listens: `await createAdmin(smsc, { token }).listen({ host, port })`.
 *
 * Every `/api` route (and `/metrics` unless public) needs `Authorization: Bearer <token>`.
 * Every route validates its input against a JSON schema; a bad request answers 400 with
 * `{ error, code, message, field }` naming the field.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { ADMIN_TOKEN_MIN_LENGTH } from '../config/schema.js';
import { createPduTrace, type PduTrace } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { ConfigAccountRegistry } from './config-accounts.js';
import { AdminError, AdminErrorCodes, errorBody } from './errors.js';
import { buildOpenApi, responsesOf } from './openapi.js';
import { type AdminSource, adminRoutes, type RouteContext, type RouteDef, type UiFiles } from './routes.js';
import { routingRoutes } from './routing-view.js';
import type { AccountRegistry } from './types.js';

/** Options of {@link createAdmin}. */
export interface AdminOptions {
  /** The bearer token every protected route requires (config `admin.token`). */
  token: string;
  /** Logs admin actions and errors; also enables the run-time PDU trace routes. */
  logger?: Logger;
  /** Run-time account management. Default: the config's accounts, read only. */
  accounts?: AccountRegistry;
  /** Metrics to serve. Default: created here (and closed with the app). */
  metrics?: Metrics;
  /** PDU trace to control. Default: created on `logger` when one is given (and closed with the app). */
  trace?: PduTrace;
  /** Serve /metrics without the token (for a Prometheus on a trusted network). Default false. */
  publicMetrics?: boolean;
  /** Leave message text and payload out of message views. Default false. */
  hideMessageContent?: boolean;
  /** How long a kick waits for unbind_resp before dropping the connection, ms. Default 5000. */
  kickGraceMs?: number;
  /** Folder of the dashboard files. Default: `ui/` beside this module, else `src/admin/ui` of the package. */
  uiDir?: string;
}

/** Routes each admin app registered, for checks that nothing escaped the OpenAPI document. */
const registered = new WeakMap<FastifyInstance, { method: string; url: string }[]>();

/** Every route registered on an admin app (method and fastify path). */
export function registeredRoutes(app: FastifyInstance): readonly { method: string; url: string }[] {
  return registered.get(app) ?? [];
}

function loadUi(dirs: readonly string[]): UiFiles | undefined {
  for (const dir of dirs) {
    try {
      return {
        'index.html': readFileSync(`${dir}/index.html`),
        'app.js': readFileSync(`${dir}/app.js`),
        'style.css': readFileSync(`${dir}/style.css`),
      };
    } catch {
      // not here; try the next candidate
    }
  }
  return undefined;
}

function uiDirs(option: string | undefined): string[] {
  if (option !== undefined) return [option];
  return [
    // Beside this module: running from src/ with a TypeScript loader, or a build that copies ui/.
    fileURLToPath(new URL('./ui', import.meta.url)),
    // dist/src/admin/app.js → the package's src/admin/ui (tsc does not copy non-TS files).
    fileURLToPath(new URL('../../../src/admin/ui', import.meta.url)),
  ];
}

/** A check of `Authorization: Bearer <token>` in constant time (digests have equal length). */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    if (header === undefined || !/^bearer /i.test(header)) return false;
    const given = createHash('sha256').update(header.slice(7).trim()).digest();
    return timingSafeEqual(given, expected);
  };
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `accounts[0].password` style path of an ajv error (the missing or unknown property included). */
export function fieldOf(e: AjvError): string {
  const segments = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required' && typeof e.params['missingProperty'] === 'string') segments.push(e.params['missingProperty']);
  if (e.keyword === 'additionalProperties' && typeof e.params['additionalProperty'] === 'string') {
    segments.push(e.params['additionalProperty']);
  }
  let out = '';
  for (const s of segments) out = /^\d+$/.test(s) ? `${out}[${s}]` : out === '' ? s : `${out}.${s}`;
  return out;
}

function validationMessage(where: string, field: string, e: AjvError): string {
  const what = field === '' ? where : `${where} field '${field}'`;
  if (e.keyword === 'required') return `${what} is required`;
  if (e.keyword === 'additionalProperties') return `${what} is not allowed`;
  if (e.keyword === 'enum' && Array.isArray(e.params['allowedValues'])) {
    return `${what} must be one of ${(e.params['allowedValues'] as unknown[]).join(', ')}`;
  }
  return `${what} ${e.message ?? 'is invalid'}`;
}

function onError(error: FastifyError & { validation?: AjvError[]; validationContext?: string }, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof AdminError) return reply.code(error.statusCode).send(error.toBody());
  const first = error.validation?.[0];
  if (first !== undefined) {
    const where = error.validationContext ?? 'request';
    const field = fieldOf(first);
    const body = errorBody(400, 'SMSC_ADMIN_VALIDATION', validationMessage(where, field, first), field === '' ? where : field);
    return reply.code(400).send(body);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // fastify's own client errors: bad JSON, unsupported media type, body too large.
    return reply.code(status).send(errorBody(status, error.code ?? 'SMSC_ADMIN_BAD_REQUEST', error.message));
  }
  req.log.error({ err: error }, 'admin request failed');
  return reply.code(500).send(errorBody(500, 'SMSC_ADMIN_INTERNAL', AdminErrorCodes.SMSC_ADMIN_INTERNAL.message));
}

/** How long a client has to send a whole request to the admin API. */
export const ADMIN_REQUEST_TIMEOUT_MS = 30_000;

/** Creates the admin app (not listening). */
export function createAdmin(smsc: AdminSource, options: AdminOptions): FastifyInstance {
  if (typeof options.token !== 'string' || options.token.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new TypeError(`admin token must be a string of at least ${ADMIN_TOKEN_MIN_LENGTH} characters`);
  }
  const app = Fastify({
    ...(options.logger === undefined ? {} : { loggerInstance: options.logger.child({ component: 'admin' }) as FastifyBaseLogger }),
    // Admin actions are logged by their handlers; the dashboard's polling is not worth a line.
    logController: new LogController({ disableRequestLogging: true }),
    // HEAD too on every GET route (a load balancer's `HEAD /health`); not listed in the document.
    exposeHeadRoutes: true,
    bodyLimit: 64 * 1024,
    // A request (headers and body) must arrive within this: one trickling its body a byte at a
    // time held its connection open for hours, token or not.
    requestTimeout: ADMIN_REQUEST_TIMEOUT_MS,
    // Unknown fields are refused (a typo like ?acount= must not widen a search), not dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });

  const routeList: { method: string; url: string }[] = [];
  registered.set(app, routeList);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routeList.push({ method, url: r.url });
  });

  const ownMetrics = options.metrics === undefined;
  const metrics = options.metrics ?? createMetrics(smsc);
  const ownTrace = options.trace === undefined && options.logger !== undefined;
  const trace = options.trace ?? (options.logger === undefined ? undefined : createPduTrace(options.logger.child({ component: 'trace' })));
  app.addHook('onClose', async () => {
    if (ownMetrics) metrics.close();
    if (ownTrace) trace?.close();
  });

  const authorized = bearerCheck(options.token);
  // A refused token is logged (someone guessing it, or a tool with an old one), once a minute per address.
  const refusedAt = new Map<string, number>();
  const requireToken = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (authorized(req.headers.authorization)) return;
    const now = Date.now();
    const last = refusedAt.get(req.ip);
    if (last === undefined || now - last >= 60_000) {
      if (refusedAt.size >= 10_000) refusedAt.clear();
      refusedAt.set(req.ip, now);
      req.log.warn({ ip: req.ip, method: req.method, url: req.url.split('?')[0], credential: req.headers.authorization === undefined ? 'none' : 'wrong' }, 'admin request refused: missing or wrong token');
    }
    await reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="smsc-admin"')
      .send(new AdminError('SMSC_ADMIN_UNAUTHORIZED').toBody());
  };

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });
  app.setErrorHandler(onError);
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // A path that exists with other methods: 405 and what it allows, not "no such thing".
    const allowed = methodsOf(routeList, path);
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send(errorBody(405, 'SMSC_ADMIN_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path} (${allowed.join(', ')})`));
    }
    return reply.code(404).send(errorBody(404, 'SMSC_ADMIN_NOT_FOUND', `no route ${req.method} ${path}`));
  });

  let document: Record<string, unknown> | undefined;
  const ctx: RouteContext = {
    smsc,
    accounts: options.accounts ?? new ConfigAccountRegistry(smsc.config.accounts),
    metrics,
    trace,
    publicMetrics: options.publicMetrics ?? false,
    hideContent: options.hideMessageContent ?? false,
    kickGraceMs: options.kickGraceMs ?? 5000,
    ui: loadUi(uiDirs(options.uiDir)),
    openapi: () => document,
  };
  const routes = [...adminRoutes(ctx), ...routingRoutes(ctx)];
  document = buildOpenApi(routes, {
    title: 'smsc admin API',
    version: '1.0.0',
    description: 'Sessions, messages, stats and accounts of one SMSC node. Times are epoch milliseconds.',
  });
  for (const route of routes) register(app, route, requireToken);
  return app;
}

/** The methods of the routes whose path pattern (fastify syntax, `:param` one segment) matches `path`, HEAD with GET. */
function methodsOf(routes: readonly { method: string; url: string }[], path: string): string[] {
  const methods = new Set<string>();
  const segments = path.split('/');
  for (const r of routes) {
    const pattern = r.url.split('/');
    if (pattern.length !== segments.length) continue;
    if (pattern.every((p, i) => (p.startsWith(':') ? segments[i] !== '' : p === segments[i]))) {
      methods.add(r.method);
      if (r.method === 'GET') methods.add('HEAD');
    }
  }
  return [...methods];
}

/** preValidation of routes whose body may be left out: no body is validated as `{}`. */
async function emptyBodyAsObject(req: FastifyRequest): Promise<void> {
  if (req.body === undefined || req.body === null) req.body = {};
}

function register(
  app: FastifyInstance,
  route: RouteDef,
  requireToken: (req: FastifyRequest, reply: FastifyReply) => Promise<void>,
): void {
  const response: Record<number, unknown> = {};
  for (const [status, r] of Object.entries(responsesOf(route))) {
    // Only JSON bodies go through the schema serialiser; text bodies are sent as they are.
    if (r.schema !== undefined && (r.contentType ?? 'application/json') === 'application/json') response[Number(status)] = r.schema;
  }
  app.route({
    method: route.method,
    url: route.url,
    schema: {
      ...(route.params === undefined ? {} : { params: route.params }),
      ...(route.querystring === undefined ? {} : { querystring: route.querystring }),
      ...(route.body === undefined ? {} : { body: route.body }),
      response,
    },
    ...(route.auth ? { onRequest: requireToken } : {}),
    ...(route.bodyOptional === true ? { preValidation: emptyBodyAsObject } : {}),
    ...(route.bodyLimit === undefined ? {} : { bodyLimit: route.bodyLimit }),
    handler: route.handler,
  });
}
