export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export {
  type BindOutcome,
  type BindPdu,
  type Reply,
  type RequestOptions,
  Session,
  type SessionDelegate,
  type SessionOptions,
} from './session.js';
export { BindType, isBound, SessionState } from './state.js';
