export {
  type BindOptions,
  Client,
  type ConnectOptions,
  connect,
  type Delivery,
  listenForOutbind,
  type OutbindListener,
  type OutbindListenOptions,
  type SubmitInput,
} from './client.js';
