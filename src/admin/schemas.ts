/**
 * JSON schemas of the admin API: request validation (fastify/ajv), response serialisation
 * (fast-json-stringify, which also drops any field a schema does not list, so a password can
 * never leak through a view) and the OpenAPI document, all from these objects.
 */

import { MAX_VALIDITY_SECONDS, OWNED_ADDRESS_PATTERN, SYSTEM_ID_PATTERN } from '../config/schema.js';
import { MessageState } from '../store/types.js';
import { BRIEF_TEXT_CHARS } from './views.js';

/** A JSON Schema object (draft-07 subset that OpenAPI 3.1 accepts as is). */
export type JsonSchema = Record<string, unknown>;

const int = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'integer', description, ...extra });
const str = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'string', description, ...extra });
const nullable = (type: string, description: string): JsonSchema => ({ type: [type, 'null'], description });
/** Epoch ms, up to the last time a Date can hold (a bigger one is no time the stores can compare). */
const epochMs = (description: string): JsonSchema => int(`${description} (epoch milliseconds)`, { minimum: 0, maximum: 8_640_000_000_000_000 });
const counts = (description: string): JsonSchema => ({ type: 'object', description, additionalProperties: { type: 'integer' } });

/** An object schema whose unknown properties are rejected (400 naming the property). */
export function obj(properties: Record<string, JsonSchema>, required: string[] = [], description?: string): JsonSchema {
  const s: JsonSchema = { type: 'object', properties, required, additionalProperties: false };
  if (description !== undefined) s['description'] = description;
  return s;
}

// ---- shared pieces ---------------------------------------------------------------------------

/** SMPP system_id: 1-15 printable ASCII characters [SMPP34 §5.2.1]. */
export const systemIdSchema = str('SMPP system_id', { minLength: 1, maxLength: 15, pattern: SYSTEM_ID_PATTERN });
/** SMPP password: 1-8 printable ASCII characters [SMPP34 §5.2.2]. */
export const passwordSchema = str('SMPP password (at most 8 characters)', { minLength: 1, maxLength: 8, pattern: '^[\\x21-\\x7e]+$' });
/** A message id: SMPP message_id is at most 65 octets [SMPP50 §4.7.14]. */
export const messageIdSchema = str('message id', { minLength: 1, maxLength: 65, pattern: '^[\\x21-\\x7e]+$' });
const addressSchema = str('address digits (or alphanumeric)', { minLength: 1, maxLength: 65, pattern: '^[\\x20-\\x7e]+$' });
const ownedAddressSchema = str('owned address, or a prefix ending in *', { minLength: 1, maxLength: 22, pattern: OWNED_ADDRESS_PATTERN });

export const errorSchema = obj(
  {
    error: str('HTTP reason phrase'),
    code: str('stable error code, e.g. SMSC_ADMIN_VALIDATION'),
    message: str('what went wrong'),
    field: str('the request field at fault (validation errors), e.g. limit or addresses[1]'),
  },
  ['error', 'code', 'message'],
  'error response',
);

// ---- sessions --------------------------------------------------------------------------------

export const sessionSchema = obj(
  {
    id: str('session id'),
    state: str('SMPP session state, e.g. BOUND_TRX'),
    systemId: nullable('string', 'account (null before bind)'),
    bindType: nullable('string', 'transmitter, receiver or transceiver (null before bind)'),
    interfaceVersion: int('interface_version of the bind, e.g. 52 (0x34)'),
    remoteAddress: nullable('string', 'peer IP address'),
    remotePort: nullable('integer', 'peer TCP port'),
    windowSize: int('outbound window (deliver_sm outstanding at most)'),
    outstanding: int('requests sent to the ESME waiting for a response'),
    windowUse: { type: 'number', description: 'outstanding / windowSize, 0..1' },
    inflight: int('requests from the ESME being handled'),
    requestsIn: int('requests received from the ESME since it connected (submit_sm, enquire_link, ...)'),
    requestsOut: int('requests sent to the ESME since it connected (deliver_sm, ...)'),
    inPerSec: int('requests received per second, between the two latest reads of this list (0 at the first)'),
    outPerSec: int('requests sent per second, likewise'),
  },
  [
    'id',
    'state',
    'systemId',
    'bindType',
    'interfaceVersion',
    'remoteAddress',
    'remotePort',
    'windowSize',
    'outstanding',
    'windowUse',
    'inflight',
    'requestsIn',
    'requestsOut',
    'inPerSec',
    'outPerSec',
  ],
);
export const sessionsQuerySchema = obj({ account: systemIdSchema });
export const sessionsResponseSchema = obj({ sessions: { type: 'array', items: sessionSchema } }, ['sessions']);
export const sessionIdParamsSchema = obj(
  { id: str('session id', { minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }) },
  ['id'],
);
export const kickQuerySchema = obj({
  force: { type: 'boolean', description: 'close the connection at once instead of sending unbind first', default: false },
});
export const kickResponseSchema = obj(
  { id: str('session id'), closed: { type: 'boolean' }, forced: { type: 'boolean', description: 'true when the connection was dropped without unbind' } },
  ['id', 'closed', 'forced'],
);

// ---- messages --------------------------------------------------------------------------------

const smppAddress = obj({ ton: int('type_of_number'), npi: int('numbering_plan_indicator'), addr: str('address') }, ['ton', 'npi', 'addr']);

export const messageSchema = obj(
  {
    id: str('message id'),
    direction: str('mt (from an ESME), mo (from the network) or receipt'),
    account: str('owning account'),
    target: str('delivery target, e.g. esme:bob'),
    batchId: nullable('string', 'submit_multi batch id'),
    source: smppAddress,
    destination: smppAddress,
    serviceType: str('service_type'),
    esmClass: int('esm_class'),
    protocolId: int('protocol_id'),
    priority: int('priority_flag'),
    dataCoding: int('data_coding'),
    registeredDelivery: int('registered_delivery'),
    payloadLength: int('user data length, octets'),
    payloadInTlv: { type: 'boolean', description: 'the payload came as message_payload' },
    payload: str('user data, hex (absent when content is hidden, and in search results)'),
    text: str(`user data decoded per data_coding, UDH skipped (absent when content is hidden; in search results its first ${BRIEF_TEXT_CHARS} characters, then … when cut)`),
    tlvs: nullable('string', 'pass-through TLVs, hex (absent in search results)'),
    submittedAt: epochMs('accepted'),
    scheduleAt: epochMs('first delivery allowed'),
    expiresAt: epochMs('validity end'),
    receiptFor: nullable('string', 'for receipts: the message reported on'),
    originNode: nullable('string', 'node that accepted it'),
    originSession: nullable('string', 'session that submitted it'),
    state: str('message state', { enum: Object.values(MessageState) }),
    attempts: int('delivery attempts with an outcome'),
    nextAttemptAt: epochMs('next attempt'),
    leaseOwner: nullable('string', 'node delivering it now'),
    leaseUntil: epochMs('lease end (0 when not leased)'),
    finalAt: nullable('integer', 'when it reached a final state (epoch milliseconds)'),
    errorCode: int('last error code (0 when none)'),
  },
  [
    'id', 'direction', 'account', 'target', 'batchId', 'source', 'destination', 'serviceType', 'esmClass', 'protocolId',
    'priority', 'dataCoding', 'registeredDelivery', 'payloadLength', 'payloadInTlv', 'submittedAt', 'scheduleAt',
    'expiresAt', 'receiptFor', 'originNode', 'originSession', 'state', 'attempts', 'nextAttemptAt', 'leaseOwner',
    'leaseUntil', 'finalAt', 'errorCode',
  ],
);
export const messageEventSchema = obj(
  { at: epochMs('when'), kind: str('accepted, attempt, retry, delivered, failed, expired, ...'), detail: str('detail') },
  ['at', 'kind', 'detail'],
);
export const messageIdParamsSchema = obj({ id: messageIdSchema }, ['id']);
export const messageResponseSchema = obj(
  { message: messageSchema, events: { type: 'array', items: messageEventSchema, description: 'lifecycle, oldest first' } },
  ['message', 'events'],
);
export const messagesQuerySchema = obj({
  account: systemIdSchema,
  addr: { ...addressSchema, description: 'source or destination address' },
  state: str('message state', { enum: Object.values(MessageState) }),
  from: epochMs('submitted at or after'),
  to: epochMs('submitted before'),
  limit: int('most results, newest first', { minimum: 1, maximum: 1000, default: 50 }),
});
export const messagesResponseSchema = obj({ messages: { type: 'array', items: messageSchema } }, ['messages']);

// ---- stats -----------------------------------------------------------------------------------

const pduCountsSchema: JsonSchema = {
  type: 'object',
  description: 'by command: PDUs counted and how many carried a non-zero command_status',
  additionalProperties: obj({ total: { type: 'integer' }, errors: { type: 'integer' } }, ['total', 'errors']),
};

export const healthResponseSchema = obj(
  {
    status: {
      type: 'string',
      enum: ['active', 'standby', 'unhealthy'],
      description: 'active: this node listens and delivers; unhealthy: its store does not answer',
    },
    nodeId: str('node id'),
    mode: { type: 'string', enum: ['active-active', 'active-standby'], description: 'cluster.mode' },
    error: str('unhealthy: why'),
  },
  ['status', 'nodeId', 'mode'],
);

export const statsResponseSchema = obj(
  {
    at: epochMs('time of the snapshot'),
    nodeId: str('node id'),
    uptimeSeconds: { type: 'number', description: 'process uptime, seconds' },
    messages: obj(
      { byState: counts('stored messages by state'), queueDepth: counts('pending messages by delivery target') },
      ['byState', 'queueDepth'],
    ),
    sessions: obj(
      {
        connections: int('open connections, bound or not'),
        bound: int('bound sessions'),
        byBindType: counts('bound sessions by bind type'),
      },
      ['connections', 'bound', 'byBindType'],
    ),
    scheduler: obj(
      {
        delivered: int('deliveries that succeeded'),
        retried: int('attempts that will be retried'),
        failed: int('deliveries that failed for good'),
        expired: int('messages that expired'),
        receipts: int('receipts generated'),
        inflight: int('attempts waiting for their outcome'),
      },
      ['delivered', 'retried', 'failed', 'expired', 'receipts', 'inflight'],
    ),
    store: obj(
      {
        commitBatches: int('group-commit transactions'),
        commitCalls: int('operations through the group committer'),
        commitFailures: int('batches retried one by one'),
        insertCalls: int('insert calls'),
        insertRows: int('messages inserted'),
      },
      ['commitBatches', 'commitCalls', 'commitFailures', 'insertCalls', 'insertRows'],
    ),
    pdus: obj({ in: pduCountsSchema, out: pduCountsSchema }, ['in', 'out']),
    errorsByStatus: counts('non-ESME_ROK command_status seen (in and out) by name'),
  },
  ['at', 'nodeId', 'uptimeSeconds', 'messages', 'sessions', 'scheduler', 'store', 'pdus', 'errorsByStatus'],
);

// ---- accounts --------------------------------------------------------------------------------

const accountFields = {
  addresses: { type: 'array', items: ownedAddressSchema, maxItems: 10_000, description: 'owned addresses and prefixes' },
  allowedIps: { type: 'array', items: str('CIDR range or address', { maxLength: 64 }), maxItems: 1000 },
  allowedSystemTypes: { type: 'array', items: str('system_type', { maxLength: 12, pattern: '^[\\x20-\\x7e]*$' }), maxItems: 100 },
  maxBinds: int('max concurrent binds of each type', { minimum: 1, maximum: 10_000 }),
  windowSize: int('outbound window', { minimum: 1, maximum: 10_000 }),
  defaultValiditySeconds: int('validity when the submit gives none, seconds', { minimum: 1, maximum: MAX_VALIDITY_SECONDS }),
  maxValiditySeconds: int('longest validity, seconds', { minimum: 1, maximum: MAX_VALIDITY_SECONDS }),
  tps: int('submits per second accepted (0 = no limit)', { minimum: 0, maximum: 1_000_000 }),
  maxQueued: int('pending messages this account submitted (MT) before its submits are refused with ESME_RMSGQFUL (0 = no limit)', { minimum: 0, maximum: 1_000_000_000 }),
  disabled: { type: 'boolean', description: 'disabled accounts cannot bind' },
  reassembleMo: { type: 'boolean', description: 'join the parts of a concatenated MO message into one deliver_sm (message_payload)' },
};

export const accountSchema = obj(
  {
    systemId: systemIdSchema,
    ...accountFields,
    credential: str('how the account authenticates', { enum: ['password', 'hash', 'none'] }),
    source: str('config (the config file, read only) or store (created through this API)', { enum: ['config', 'store'] }),
    outbind: obj({ host: str('host'), port: int('port'), tls: { type: 'boolean', description: 'over TLS' } }, ['host', 'port']),
  },
  ['systemId', 'addresses', 'maxBinds', 'windowSize', 'defaultValiditySeconds', 'maxValiditySeconds', 'tps', 'maxQueued', 'disabled', 'credential'],
);
export const accountsResponseSchema = obj({ accounts: { type: 'array', items: accountSchema } }, ['accounts']);
export const accountIdParamsSchema = obj({ id: systemIdSchema }, ['id']);
const outbindInputSchema = obj(
  {
    host: str('host name or IP address of the ESME', { minLength: 1, maxLength: 253, pattern: '^[0-9A-Za-z._:-]+$' }),
    port: int('port of the ESME', { minimum: 1, maximum: 65_535 }),
    password: { ...passwordSchema, description: 'sent in the outbind (kept in the store as given); default none' },
    tls: { type: 'boolean', description: "connect with TLS, the ESME's certificate verified (default false)" },
    caPem: str("PEM text of the CA certificate(s) the ESME's certificate is verified against (needs tls; default the system's CAs); never shown back", {
      minLength: 1,
      maxLength: 65_536,
    }),
  },
  ['host', 'port'],
  'the SMSC connects out to this ESME and sends outbind while none of its sessions can take deliveries',
);
export const accountCreateSchema = obj({ systemId: systemIdSchema, password: passwordSchema, ...accountFields, outbind: outbindInputSchema }, ['systemId']);
export const accountPatchSchema = obj(
  { ...accountFields, outbind: { anyOf: [outbindInputSchema, { const: null }], description: 'the outbind, replaced whole (its password too); null removes it' } },
  [],
  'fields to change; absent fields are kept',
);
export const accountCreatedSchema = obj(
  { account: accountSchema, password: str('the generated password, shown only now (absent when one was given)') },
  ['account'],
);
export const passwordBodySchema = obj({ password: passwordSchema }, [], 'absent password: one is generated');
export const passwordResponseSchema = obj(
  { systemId: systemIdSchema, password: str('the new password, shown only now') },
  ['systemId', 'password'],
);

// ---- trace -----------------------------------------------------------------------------------

export const traceParamsSchema = obj({ systemId: systemIdSchema }, ['systemId']);
export const traceResponseSchema = obj(
  { accounts: { type: 'array', items: { type: 'string' }, description: 'accounts whose PDUs are logged' } },
  ['accounts'],
);

// ---- static --------------------------------------------------------------------------------

export const emptyQuerySchema = obj({});
export const uiFileParamsSchema = obj({ file: str('dashboard file', { enum: ['app.js', 'style.css'] }) }, ['file']);
