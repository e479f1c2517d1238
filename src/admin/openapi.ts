/**
 * The OpenAPI 3.1 document of the admin API, written from the same route table (and so the
 * same JSON schemas) the app registers. OpenAPI 3.1 takes JSON Schema as is, so the schemas
 * go in unchanged.
 */
import type { RouteDef } from './routes.js';
import { errorSchema, type JsonSchema } from './schemas.js';

/** `/api/sessions/:id` → `/api/sessions/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

function parametersOf(schema: JsonSchema | undefined, where: 'path' | 'query'): Parameter[] {
  if (schema === undefined) return [];
  const props = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const p: Parameter = { name, in: where, required: where === 'path' || required.has(name), schema: s };
    if (typeof s['description'] === 'string') p.description = s['description'];
    return p;
  });
}

/** The responses of a route including the 400 and 401 every validated or protected route can give. */
export function responsesOf(route: RouteDef): RouteDef['responses'] {
  const out = { ...route.responses };
  if (route.params !== undefined || route.querystring !== undefined || route.body !== undefined) {
    out[400] ??= { description: 'invalid request; `field` names the offending field', schema: errorSchema };
  }
  if (route.auth) out[401] ??= { description: 'missing or wrong bearer token', schema: errorSchema };
  return out;
}

/** Builds the document. */
export function buildOpenApi(routes: readonly RouteDef[], info: { title: string; version: string; description?: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.url);
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(responsesOf(route))) {
      responses[status] = {
        description: r.description,
        ...(r.schema === undefined ? {} : { content: { [r.contentType ?? 'application/json']: { schema: r.schema } } }),
      };
    }
    const op: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags,
      security: route.auth ? [{ bearerAuth: [] }] : [],
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.querystring, 'query')],
      responses,
    };
    if (route.body !== undefined) {
      op['requestBody'] = { required: route.bodyOptional !== true, content: { 'application/json': { schema: route.body } } };
    }
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'the admin token of the config (admin.token)' } },
      schemas: { Error: errorSchema },
    },
  };
}
