/**
 * Admin API routes of the run-time configuration: the routes document (MT and MO rules) and
 * the connectors (state, queue depth, disable/enable). Changes go to the store, so in
 * PostgreSQL mode every node applies them.
 */
import { AdminError } from './errors.js';
import type { ResponseDef, RouteContext, RouteDef } from './routes.js';
import type { JsonSchema } from './schemas.js';
import * as S from './schemas.js';

/** A connector as the API shows it. */
export interface ConnectorState {
  name: string;
  type: 'smpp' | 'http' | 'network';
  state: 'disabled' | 'bound' | 'connecting' | 'enabled';
  lastError?: string;
}

/** What these routes need of the running SMSC (an `Smsc` from src/app/smsc.ts fits). */
export interface RuntimeSource {
  live: {
    routes(): { source: 'config' | 'store'; routes: unknown };
    /** Validates and stores a routes document; null clears it. Throws AdminError naming the field. */
    setRoutes(raw: unknown): Promise<void>;
    editRoutes(edit: () => unknown): Promise<void>;
    setConnectorDisabled(name: string, disabled: boolean): Promise<void>;
  };
  connectors(): ConnectorState[];
}

const str = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'string', description, ...extra });
const json = (description: string, schema: JsonSchema): ResponseDef => ({ description, schema });
const failure = (description: string): ResponseDef => ({ description, schema: S.errorSchema });

/** Largest routes document PUT /api/routes takes: 8 MiB (2,000 rules are about 90 kB). */
const ROUTES_BODY_LIMIT = 8 * 1024 * 1024;

const ruleSchema: JsonSchema = {
  type: 'object',
  description:
    'MT: { connector, prefix?, regex?, account?, source?, serviceType?, dataCoding?, failover? }; MO: { account, match | prefix | regex } (as the config `routes` section; checked in full, errors name the field)',
};
const routesDocSchema = S.obj(
  {
    mt: { type: 'array', items: ruleSchema, maxItems: 10_000, description: 'MT rules, in order: the first match wins' },
    mo: { type: 'array', items: ruleSchema, maxItems: 10_000, description: 'MO rules' },
    noRouteStatus: { anyOf: [{ type: 'string' }, { type: 'integer' }], description: 'command_status (name or number) when no MT rule matches' },
  },
  [],
  'a routes document, as the config `routes` section',
);
const routesResponseSchema = S.obj(
  {
    source: str('config (the config file) or store (set through this API; replaces the config routes)', { enum: ['config', 'store'] }),
    routes: { type: 'object', additionalProperties: true, description: 'the routes document in force' },
  },
  ['source', 'routes'],
);
const routeKindParams = S.obj({ kind: str('mt or mo', { enum: ['mt', 'mo'] }) }, ['kind']);
const routeIndexParams = S.obj(
  { kind: str('mt or mo', { enum: ['mt', 'mo'] }), index: { type: 'integer', minimum: 0, description: 'position in the list, from 0' } },
  ['kind', 'index'],
);
const positionQuery = S.obj({ position: { type: 'integer', minimum: 0, description: 'insert before this index (default: at the end)' } });

const connectorSchema = S.obj(
  {
    name: str('connector name'),
    type: str('connector type', { enum: ['smpp', 'http', 'network'] }),
    state: str('disabled (switched off here; messages stay queued), bound/connecting (smpp), enabled', {
      enum: ['disabled', 'bound', 'connecting', 'enabled'],
    }),
    queueDepth: { type: 'integer', description: 'pending messages routed to it' },
    lastError: str('smpp while not bound: why its last connection or bind failed'),
  },
  ['name', 'type', 'state', 'queueDepth'],
);
const connectorParams = S.obj({ name: str('connector name', { minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }) }, ['name']);

/** The routes above, when the SMSC supports them (`runtime` given). */
export function runtimeRoutes(ctx: RouteContext, runtime: RuntimeSource): RouteDef[] {
  const document = () => {
    const r = runtime.live.routes();
    return { source: r.source, routes: (r.routes ?? {}) as Record<string, unknown> };
  };
  /** The rules of the document in force, as plain lists to edit. */
  const editable = (): Record<string, unknown> => {
    const d = document().routes;
    return { ...d, mt: [...((d['mt'] as unknown[]) ?? [])], mo: [...((d['mo'] as unknown[]) ?? [])] };
  };
  const withDepth = async (list: ConnectorState[]) => {
    const depth = await ctx.smsc.store.queueDepth();
    return list.map((c) => ({ ...c, queueDepth: depth[c.name] ?? 0 }));
  };
  const connector = (name: string): ConnectorState => {
    const c = runtime.connectors().find((x) => x.name === name);
    if (c === undefined) throw new AdminError('SMSC_ADMIN_CONNECTOR_NOT_FOUND', `no connector '${name}'`, 'name');
    return c;
  };

  return [
    {
      method: 'GET',
      url: '/api/routes',
      operationId: 'getRoutes',
      summary: 'The MT and MO routes in force and where they come from',
      tags: ['routes'],
      auth: true,
      querystring: S.emptyQuerySchema,
      responses: { 200: json('the routes', routesResponseSchema) },
      async handler() {
        return document();
      },
    },
    {
      method: 'PUT',
      url: '/api/routes',
      operationId: 'setRoutes',
      summary: 'Replaces the routes (ordered MT rules, MO rules) on every node; they then override the config file routes',
      tags: ['routes'],
      auth: true,
      // A routing table moved from Kannel or Jasmin may hold thousands of rules (2,000 are about 90 kB).
      bodyLimit: ROUTES_BODY_LIMIT,
      body: routesDocSchema,
      responses: {
        200: json('the routes in force', routesResponseSchema),
        501: failure('the store cannot keep routes'),
      },
      async handler(req) {
        await runtime.live.setRoutes(req.body);
        req.log.info({ mt: (req.body as { mt?: unknown[] }).mt?.length ?? 0 }, 'routes replaced');
        return document();
      },
    },
    {
      method: 'DELETE',
      url: '/api/routes',
      operationId: 'clearRoutes',
      summary: 'Drops the routes set through the API: the config file routes apply again',
      tags: ['routes'],
      auth: true,
      responses: { 200: json('the routes in force', routesResponseSchema), 501: failure('the store cannot keep routes') },
      async handler(req) {
        await runtime.live.setRoutes(null);
        req.log.info('stored routes cleared');
        return document();
      },
    },
    {
      method: 'POST',
      url: '/api/routes/:kind',
      operationId: 'addRoute',
      summary: 'Adds one MT or MO rule (at the end, or before `position`) to the routes in force',
      tags: ['routes'],
      auth: true,
      params: routeKindParams,
      querystring: positionQuery,
      body: ruleSchema,
      responses: { 201: json('the routes in force', routesResponseSchema), 501: failure('the store cannot keep routes') },
      async handler(req, reply) {
        const { kind } = req.params as { kind: 'mt' | 'mo' };
        const { position } = req.query as { position?: number };
        let at = 0;
        await runtime.live.editRoutes(() => {
          const doc = editable();
          const list = doc[kind] as unknown[];
          if (position !== undefined && position > list.length) {
            throw new AdminError('SMSC_ADMIN_VALIDATION', `querystring field 'position' must be at most ${list.length}`, 'position');
          }
          at = position ?? list.length;
          list.splice(at, 0, req.body);
          return doc;
        });
        req.log.info({ kind, position: at }, 'route added');
        return reply.code(201).send(document());
      },
    },
    {
      method: 'DELETE',
      url: '/api/routes/:kind/:index',
      operationId: 'deleteRoute',
      summary: 'Removes one MT or MO rule by position',
      tags: ['routes'],
      auth: true,
      params: routeIndexParams,
      responses: {
        200: json('the routes in force', routesResponseSchema),
        404: failure('no rule at that position'),
        501: failure('the store cannot keep routes'),
      },
      async handler(req) {
        const { kind, index } = req.params as { kind: 'mt' | 'mo'; index: number };
        await runtime.live.editRoutes(() => {
          const doc = editable();
          const list = doc[kind] as unknown[];
          if (index >= list.length) throw new AdminError('SMSC_ADMIN_ROUTE_NOT_FOUND', `no ${kind} rule at position ${index}`, 'index');
          list.splice(index, 1);
          return doc;
        });
        req.log.info({ kind, index }, 'route removed');
        return document();
      },
    },
    {
      method: 'GET',
      url: '/api/connectors',
      operationId: 'listConnectors',
      summary: 'Connectors with their state and queue depth',
      tags: ['connectors'],
      auth: true,
      querystring: S.emptyQuerySchema,
      responses: { 200: json('the connectors', S.obj({ connectors: { type: 'array', items: connectorSchema } }, ['connectors'])) },
      async handler() {
        return { connectors: await withDepth(runtime.connectors()) };
      },
    },
    ...(['disable', 'enable'] as const).map(
      (action): RouteDef => ({
        method: 'POST',
        url: `/api/connectors/:name/${action}`,
        operationId: `${action}Connector`,
        summary:
          action === 'disable'
            ? 'Stops delivering through a connector on every node; its messages stay queued'
            : 'Delivers through a disabled connector again; its queue resumes',
        tags: ['connectors'],
        auth: true,
        params: connectorParams,
        responses: { 200: json('the connector', connectorSchema), 404: failure('no such connector'), 501: failure('the store cannot keep the switch') },
        async handler(req) {
          const { name } = req.params as { name: string };
          connector(name);
          await runtime.live.setConnectorDisabled(name, action === 'disable');
          req.log.info({ connector: name }, `connector ${action}d`);
          const [c] = await withDepth([connector(name)]);
          return c;
        },
      }),
    ),
  ];
}
