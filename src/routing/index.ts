/**
 * Routing: pure decisions, no I/O. MT rules pick a connector; MO rules pick the owning account;
 * declared addresses say which sources an account may use.
 */
export { type DeclaredAddresses, MoRouter, type MoRouterOptions, type MoRule } from './mo-router.js';
export {
  DEFAULT_NO_ROUTE_STATUS,
  isRoute,
  type MtDecision,
  type MtNoRoute,
  type MtRoute,
  type MtRouteRequest,
  MtRouter,
  type MtRouterOptions,
  type MtRule,
} from './mt-router.js';
export { type ParseRoutesOptions, parseRoutes, type RoutesConfig } from './parse.js';
export { type PrefixMatch, PrefixTable } from './prefix-table.js';
export { ConfigKeyError } from './validate.js';
