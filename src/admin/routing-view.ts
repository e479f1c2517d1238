/**
 * `GET /api/routing`: the message routing in force, read only: the ordered MT rules (destination
 * → connector), the MO rules (short code → account), the status of a submit no rule matches,
 * and the connectors a rule may name (name and type only: their settings may hold secrets).
 *
 * The dashboard's view; `/api/routes` (runtime-routes.ts) is the document operators edit.
 */
import { commandStatusByName, commandStatusName } from '../pdu/constants.js';
import { type MoRule, type MtRule, parseRoutes, type RoutesConfig } from '../routing/index.js';
import type { AdminSource, RouteContext, RouteDef } from './routes.js';
import type { JsonSchema } from './schemas.js';
import * as S from './schemas.js';

/** An SMSC that can tell its live routes (an `Smsc` of src/app/smsc.ts: they change on reload). */
type RoutingSource = AdminSource & { routes?(): RoutesConfig };

/** One MT rule as the API shows it: every condition as a list (empty = any). */
export interface MtRuleView {
  position: number;
  connector: string;
  failover: string[];
  account: string[];
  prefix: string[];
  regex: string | null;
  source: string[];
  serviceType: string[];
  dataCoding: number[];
}

/** One MO rule as the API shows it. */
export interface MoRuleView {
  position: number;
  kind: 'match' | 'prefix' | 'regex';
  pattern: string;
  account: string;
}

export interface RoutingView {
  mt: MtRuleView[];
  mo: MoRuleView[];
  noRouteStatus: number;
  noRouteStatusName: string;
  connectors: { name: string; type: string }[];
}

const list = <T>(v: T | readonly T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? [...v] : [v as T]);
const pattern = (v: string | RegExp): string => (typeof v === 'string' ? v : v.source);

function mtView(rule: MtRule, position: number): MtRuleView {
  return {
    position,
    connector: rule.connector,
    failover: [...(rule.failover ?? [])],
    account: list(rule.account),
    prefix: list(rule.prefix),
    regex: rule.regex === undefined ? null : pattern(rule.regex),
    source: list(rule.source),
    serviceType: list(rule.serviceType),
    dataCoding: list(rule.dataCoding),
  };
}

function moView(rule: MoRule, position: number): MoRuleView {
  if (rule.match !== undefined) return { position, kind: 'match', pattern: rule.match, account: rule.account };
  if (rule.prefix !== undefined) return { position, kind: 'prefix', pattern: rule.prefix, account: rule.account };
  return { position, kind: 'regex', pattern: pattern(rule.regex ?? ''), account: rule.account };
}

/** Connector names and types from the config (`connectors:` and the top-level `network:`). */
function connectorsOf(config: Record<string, unknown>): { name: string; type: string }[] {
  const out: { name: string; type: string }[] = [];
  const raw = config['connectors'];
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    for (const [name, c] of Object.entries(raw as Record<string, unknown>)) {
      const type = (c as { type?: unknown } | null)?.type;
      out.push({ name, type: typeof type === 'string' ? type : 'unknown' });
    }
  }
  if (config['network'] !== undefined) out.push({ name: 'network', type: 'network' });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The routing of `smsc` as the API shows it. */
export function routingView(smsc: RoutingSource): RoutingView {
  const config = smsc.config as unknown as Record<string, unknown>;
  const routes = smsc.routes?.() ?? parseRoutes(config['routes'], { statusByName: commandStatusByName });
  return {
    mt: routes.mt.map(mtView),
    mo: routes.mo.map(moView),
    noRouteStatus: routes.noRouteStatus,
    noRouteStatusName: commandStatusName(routes.noRouteStatus),
    connectors: connectorsOf(config),
  };
}

const strings = (description: string): JsonSchema => ({ type: 'array', items: { type: 'string' }, description });

export const routingResponseSchema: JsonSchema = S.obj(
  {
    mt: {
      type: 'array',
      description: 'MT rules in order: the first that matches gives the connector (addresses an account owns go to that account first)',
      items: S.obj(
        {
          position: { type: 'integer', description: '0-based position of the rule' },
          connector: { type: 'string', description: 'delivery target' },
          failover: strings('connectors tried in order when the first cannot take the message'),
          account: strings('submitting accounts (empty = any)'),
          prefix: strings('destination prefixes (empty = any)'),
          regex: { type: ['string', 'null'], description: 'destination regex' },
          source: strings('source addresses, exact or prefix* (empty = any)'),
          serviceType: strings('service_type values (empty = any)'),
          dataCoding: { type: 'array', items: { type: 'integer' }, description: 'data_coding values (empty = any)' },
        },
        ['position', 'connector', 'failover', 'account', 'prefix', 'regex', 'source', 'serviceType', 'dataCoding'],
      ),
    },
    mo: {
      type: 'array',
      description: 'MO rules: destination → account (an address an account declares is its own without a rule)',
      items: S.obj(
        {
          position: { type: 'integer', description: '0-based position of the rule' },
          kind: { type: 'string', enum: ['match', 'prefix', 'regex'] },
          pattern: { type: 'string', description: 'short code, prefix or regex' },
          account: { type: 'string', description: 'the account the MO is delivered to' },
        },
        ['position', 'kind', 'pattern', 'account'],
      ),
    },
    noRouteStatus: { type: 'integer', description: 'command_status of a submit no MT rule matches' },
    noRouteStatusName: { type: 'string', description: 'its name, e.g. ESME_RINVDSTADR' },
    connectors: {
      type: 'array',
      description: 'connectors a rule may name (settings are not shown)',
      items: S.obj({ name: { type: 'string' }, type: { type: 'string' } }, ['name', 'type']),
    },
  },
  ['mt', 'mo', 'noRouteStatus', 'noRouteStatusName', 'connectors'],
);

/** The routing routes of the admin app. */
export function routingRoutes(ctx: RouteContext): RouteDef[] {
  return [
    {
      method: 'GET',
      url: '/api/routing',
      operationId: 'getRouting',
      summary: 'The MT and MO routes in force (read only) and the connectors they can name',
      tags: ['routing'],
      auth: true,
      querystring: S.emptyQuerySchema,
      responses: { 200: { description: 'the routing', schema: routingResponseSchema } },
      async handler() {
        return routingView(ctx.smsc as RoutingSource);
      },
    },
  ];
}
