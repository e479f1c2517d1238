export { type AccountPolicy, hashPassword, ipAllowed, verifyPassword } from './accounts.js';
export {
  type AccountLookup,
  type ListenerOptions,
  type SessionContext,
  type SmscHandlers,
  SmscServer,
  type SmscServerOptions,
} from './server.js';
