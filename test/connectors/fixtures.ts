/** Fixtures for the connector tests: a stored MT message with overridable fields. */
import type { StoredMessage } from '../../src/store/types.js';

export const T0 = Date.UTC(2026, 0, 1);

let seq = 0;

/** A pending MT message from alice (1000) to 447012345678, "Hello". */
export function storedMessage(over: Partial<StoredMessage> = {}): StoredMessage {
  seq++;
  return {
    id: `m${seq}`,
    direction: 'mt',
    account: 'alice',
    target: 'test',
    batchId: null,
    source: { ton: 5, npi: 0, addr: '1000' },
    destination: { ton: 1, npi: 1, addr: '447012345678' },
    serviceType: '',
    esmClass: 0,
    protocolId: 0,
    priority: 0,
    dataCoding: 0,
    registeredDelivery: 1,
    payload: Buffer.from('Hello', 'latin1'),
    payloadInTlv: false,
    tlvs: null,
    submittedAt: T0,
    scheduleAt: T0,
    expiresAt: T0 + 86_400_000,
    receiptFor: null,
    originNode: 'n1',
    originSession: null,
    state: 'ENROUTE',
    attempts: 0,
    nextAttemptAt: T0,
    leaseOwner: 'n1',
    leaseUntil: T0 + 60_000,
    finalAt: null,
    errorCode: 0,
    failover: [],
    remoteId: null,
    ...over,
  };
}

/** A message to `addr`. */
export function to(addr: string, over: Partial<StoredMessage> = {}): StoredMessage {
  return storedMessage({ destination: { ton: 1, npi: 1, addr }, ...over });
}
