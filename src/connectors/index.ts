/**
 * Connectors: delivery targets beyond the ESME one. `network` (the simulated mobile network,
 * also a source of MO), `http` (webhook), `smpp` (an upstream SMSC).
 */

export { fillPattern, hash32, type Random, seededRandom } from '../util/random.js';
export {
  type HttpMessageBody,
  HttpTarget,
  type HttpTargetConfig,
  type HttpTargetOptions,
  type HttpTargetStats,
  httpBody,
  outcomeOfStatus,
  parseHttp,
} from './http.js';
export {
  addressOf,
  type FailureKind,
  type FailureOutcome,
  MapError,
  MoGenerator,
  type MoGeneratorOptions,
  type MoGeneratorStats,
  type MoInput,
  type MoMessage,
  type MoSink,
  NETWORK_FAILURES,
  type NetworkConfig,
  type NetworkRange,
  type NetworkStats,
  parseNetwork,
  SimulatedNetwork,
  type SimulatedNetworkOptions,
} from './network.js';
export {
  type IdFormat,
  isReceipt,
  MemoryIdMap,
  normaliseUpstreamId,
  parseSmpp,
  parseUpstreamReceipt,
  SmppTarget,
  type SmppTargetConfig,
  type SmppTargetOptions,
  type SmppTargetStats,
  stateNameOf,
  submitSmBody,
  type UpstreamIdMap,
  type UpstreamMoListener,
  type UpstreamReceipt,
  type UpstreamReceiptListener,
} from './smpp.js';
export { TokenBucket } from './token-bucket.js';
