// What a sender needs besides the session: text in the right data_coding, long texts split
// into parts (UDH or SAR), and receipts read (a 3.3 SMSC's id is only in the text).
export {
  countSegments,
  decodeText,
  type EncodedText,
  encodeText,
  type ParsedReceipt,
  parseReceipt,
  type Segment,
  SplitMethod,
  type SplitResult,
  splitText,
} from '../sm/index.js';
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
  type TextInput,
} from './client.js';
