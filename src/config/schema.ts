/**
 * The one description of the config file: every key with its type, default, unit, range and
 * meaning. Validation (config.ts), environment overrides (env.ts) and the generated reference
 * (reference.ts → docs/config-reference.md) all read it. Pure data plus small checks; no I/O.
 *
 * Sections marked `parsedBy` (routes, connectors, network) are described here for the
 * documentation and the environment overrides; their values are validated by the named
 * parser when the SMSC starts. test/config/sections.test.ts keeps the two in step.
 */

import { ConfigError } from './errors.js';

export type Obj = Record<string, unknown>;

/** What every key has. */
interface Base {
  description: string;
  /** Absent is an error. */
  required?: boolean;
  /** Shown instead of the default value (a computed or conditional default). */
  defaultText?: string;
}

export interface NumberField extends Base {
  type: 'integer' | 'number';
  default?: number;
  min?: number;
  max?: number;
  unit?: string;
}

export interface StringField extends Base {
  type: 'string';
  default?: string;
  minLength?: number;
  maxLength?: number;
  /** Why the length is limited, e.g. `SMPP system_id`. */
  lengthNote?: string;
  oneOf?: readonly string[];
  /** A file path: relative ones are resolved against the config file's folder (`:memory:` is kept). */
  path?: boolean;
  /** Not printed in summaries. */
  secret?: boolean;
}

export interface BooleanField extends Base {
  type: 'boolean';
  default?: boolean;
}

/** A list of strings; with `oneOrMany` a single string is accepted too. */
export interface StringsField extends Base {
  type: 'strings';
  default?: readonly string[];
  oneOrMany?: boolean;
  maxLength?: number;
}

/** A value of a shape too varied for the types above, described in words (parsed elsewhere). */
export interface AnyField extends Base {
  type: 'any';
  typeText: string;
  /** How an environment variable's text becomes the value; without it the key cannot be set from the environment. */
  fromEnv?: (text: string) => unknown;
}

export interface SectionField extends Base {
  type: 'section';
  keys: Record<string, Field>;
  /** Absent stays absent (no defaults filled). */
  optional?: boolean;
  /** Validated by this parser at start (documented here only). */
  parsedBy?: string;
  /** Checks across keys, on the validated value. @throws ConfigError */
  check?: (value: Obj, path: string) => void;
}

export interface ListField extends Base {
  type: 'list';
  item: SectionField;
  /** Items used when the key is absent (validated like given ones). */
  default?: readonly Obj[];
  /** This key of the items must not repeat. */
  uniqueKey?: string;
}

/** A mapping of names chosen by the operator to sections, the section chosen by a `type` key. */
export interface NamedField extends Base {
  type: 'named';
  parsedBy?: string;
  nameText: string;
  variants: Record<string, SectionField>;
}

export type Field = NumberField | StringField | BooleanField | StringsField | AnyField | SectionField | ListField | NamedField;

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** The longest timer Node.js keeps (a longer one fires after 1 ms). */
export const TIMER_MAX_MS = 2_147_483_647;
/** Ten years, the longest validity an account may give (a time in ms must stay a valid Date). */
export const MAX_VALIDITY_SECONDS = 10 * 365 * 24 * 3600;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const statusFromEnv = (text: string): unknown => (/^\d+$/.test(text) ? Number(text) : text);

// ---- sections validated by src/config/config.ts ---------------------------------------------

const listener: SectionField = {
  type: 'section',
  description: 'An SMPP listener.',
  keys: {
    host: { type: 'string', default: '127.0.0.1', description: 'Address to listen on (`0.0.0.0` = every interface).' },
    port: { type: 'integer', default: 2775, min: 0, max: 65535, description: 'TCP port; 0 picks a free port.' },
    tls: {
      type: 'section',
      optional: true,
      description: 'Serve SMPP over TLS on this listener.',
      keys: {
        cert: { type: 'string', required: true, path: true, description: 'PEM certificate chain file.' },
        key: { type: 'string', required: true, path: true, description: 'PEM private key file.' },
      },
    },
  },
};

const smpp: SectionField = {
  type: 'section',
  description: 'The SMPP server: listeners, timers and limits of the sessions.',
  keys: {
    systemId: { type: 'string', default: 'smsc', description: 'Our system_id in bind responses.' },
    listeners: {
      type: 'list',
      item: listener,
      default: [{}],
      defaultText: 'one listener on 127.0.0.1:2775',
      description: 'Several at once are fine (e.g. plain and TLS).',
    },
    maxConnections: { type: 'integer', default: 10_000, min: 1, description: 'Open SMPP connections over all listeners.' },
    maxUnboundPerIp: {
      type: 'integer',
      default: 100,
      min: 1,
      description: 'Connections from one address that have not bound yet; more are closed at once (one host cannot fill maxConnections with connections that never bind).',
    },
    maxPduBytes: {
      type: 'integer',
      // [ref §6.8]: a 64 kB message_payload and the submit_sm around it.
      default: 70_000,
      min: 1024,
      max: 16 * 1024 * 1024,
      unit: 'bytes',
      description: 'Larger command_length: generic_nack ESME_RINVCMDLEN and the connection is closed.',
    },
    windowSize: { type: 'integer', default: 10, min: 1, max: 10_000, description: 'deliver_sm outstanding per session (accounts may override).' },
    maxInboundInFlight: {
      type: 'integer',
      default: 100,
      min: 1,
      max: 10_000,
      description:
        'Requests of one session (submit_sm and the like) handled at once. Beyond it as many more are read and wait their turn (enquire_link and responses are still answered and read), then reading pauses. An ESME window larger than this gains nothing: raise it for ESMEs with large windows.',
    },
    responseTimeoutMs: { type: 'integer', default: 30_000, min: 1, max: TIMER_MAX_MS, unit: 'ms', description: 'response_timer: wait this long for a response PDU.' },
    enquireLinkIntervalMs: {
      type: 'integer',
      default: 30_000,
      min: 0, max: TIMER_MAX_MS,
      unit: 'ms',
      description: 'enquire_link_timer: idle time before we probe the peer (0 = off).',
    },
    inactivityTimeoutMs: {
      type: 'integer',
      default: 0,
      min: 0, max: TIMER_MAX_MS,
      unit: 'ms',
      description: 'inactivity_timer: unbind after this long without traffic (0 = off).',
    },
    sessionInitTimeoutMs: { type: 'integer', default: 10_000, min: 0, max: TIMER_MAX_MS, unit: 'ms', description: 'session_init_timer: close connections that do not bind.' },
    drainTimeoutMs: { type: 'integer', default: 30_000, min: 0, max: TIMER_MAX_MS, unit: 'ms', description: 'Drop a peer that takes none of our bytes for this long.' },
    unknownSystemIdStatus: {
      type: 'string',
      default: 'ESME_RINVSYSID',
      description: "command_status of the bind answer for an unknown system_id (ESME_RBINDFAIL is the spec's intent).",
    },
    wrongPasswordStatus: { type: 'string', default: 'ESME_RINVPASWD', description: 'command_status of the bind answer for a wrong password.' },
  },
  check(value, path) {
    // Two listeners on one address: the second fails at start with EADDRINUSE, naming no key.
    const seen = new Map<string, number>();
    (value['listeners'] as { host: string; port: number }[]).forEach((l, i) => {
      if (l.port === 0) return;
      const at = `${l.host}:${l.port}`;
      const first = seen.get(at);
      if (first !== undefined) throw new ConfigError(`${path}.listeners[${i}].port`, `${at} is listeners[${first}]'s already`);
      seen.set(at, i);
    });
  },
};

const store: SectionField = {
  type: 'section',
  description: 'Where messages are kept: SQLite (one node) or PostgreSQL (clusters), not both.',
  keys: {
    sqlite: {
      type: 'section',
      optional: true,
      defaultText: 'used when postgres is absent',
      description: 'The embedded store: one file, WAL, durable commits.',
      keys: {
        path: { type: 'string', default: './data/smsc.db', path: true, description: 'Database file (`:memory:` for a throw-away store).' },
      },
    },
    postgres: {
      type: 'section',
      optional: true,
      description: 'PostgreSQL, for clusters.',
      keys: {
        url: { type: 'string', required: true, secret: true, description: 'Connection URL, e.g. `postgres://smsc:secret@127.0.0.1:5432/smsc`.' },
        schema: {
          type: 'string',
          maxLength: 63,
          defaultText: "the connection's search_path",
          description:
            'Schema holding the tables, created at start if missing (letters, digits and `_`, not beginning with a digit): several SMSCs, each with its own schema, can share one database.',
        },
        poolSize: {
          type: 'integer',
          default: 10,
          min: 2,
          max: 1000,
          description: 'Connections of the store\'s pool (its LISTEN connection is one more).',
        },
        insertBatches: {
          type: 'integer',
          default: 2,
          min: 1,
          max: 16,
          description:
            'Insert batches committing at a time, each on its own pooled connection: one batch\'s inserts run while another\'s commit waits for its WAL flush. Batches in flight together may commit in either order; 1 keeps the order of submits.',
        },
        queryTimeoutMs: {
          type: 'integer',
          default: 30_000,
          min: 0,
          max: 3_600_000,
          unit: 'ms',
          description:
            'A query not answered within this time fails and its connection is dropped (the submit or delivery it served fails or is tried again), rather than waiting minutes for a database cut off mid-query. 0: no limit. The migrations at start have none.',
        },
        listenRetryMs: {
          type: 'integer',
          default: 1000,
          min: 10,
          max: 60_000,
          description:
            'After the LISTEN connection (new messages, run-time config and schema changes from other nodes) fails, wait this long before opening it again, and again after each failed attempt. Once it is back every target is checked, as notifications sent meanwhile are lost.',
        },
      },
      check(value, path) {
        const schema = value['schema'];
        if (typeof schema === 'string' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) {
          throw new ConfigError(`${path}.schema`, 'must be letters, digits and _, not beginning with a digit');
        }
        if ((value['insertBatches'] as number) > (value['poolSize'] as number)) {
          throw new ConfigError(`${path}.insertBatches`, `must not exceed poolSize (${value['poolSize']})`);
        }
      },
    },
    commitDelayMs: {
      type: 'integer',
      default: 0,
      min: 0,
      max: 1000,
      unit: 'ms',
      description:
        'PostgreSQL: wait this long for more writes before a commit. 0: a commit starts at once, and what arrives while it runs shares the next one.',
    },
    retentionHours: { type: 'integer', default: 72, min: 0, unit: 'hours', description: 'Finished messages are purged after this long.' },
    events: {
      type: 'boolean',
      default: true,
      description:
        'Write the lifecycle log of every message (attempts, outcomes, retries; shown by `smsc message` and the dashboard). Off: no log rows (they are written only for claims, retries and other exceptions: the row itself tells the happy path); a message then shows only its current state and times, no lifecycle.',
    },
  },
  check(value, path) {
    if (value['sqlite'] !== undefined && value['postgres'] !== undefined) throw new ConfigError(path, 'give either sqlite or postgres, not both');
  },
};

const delivery: SectionField = {
  type: 'section',
  description: 'Store and forward: retries of temporary failures.',
  keys: {
    retryDelayMs: { type: 'integer', default: 10_000, min: 1, max: TIMER_MAX_MS, unit: 'ms', description: 'First retry after a temporary failure; doubles per attempt.' },
    maxRetryDelayMs: { type: 'integer', default: HOUR_MS, min: 1, max: TIMER_MAX_MS, unit: 'ms', description: 'Cap of the retry back-off.' },
    leaseMs: {
      type: 'integer',
      default: 60_000,
      min: 100, max: TIMER_MAX_MS,
      unit: 'ms',
      description:
        'A claimed message is due again after this long if its node dies (one the node held in memory for a bound ESME, after 1.5 times this). An attempt must end within it: `smpp.responseTimeoutMs` and every connector timeout must be under nine tenths of it (the last tenth is for recording the outcome), and a deliver_sm waits for a window slot at most what is left (20 s at most).',
    },
    datagramWaitMs: {
      type: 'integer',
      default: 60_000,
      min: 1_000, max: TIMER_MAX_MS,
      unit: 'ms',
      description:
        'A message in datagram mode (esm_class bits 1-0 = 01) gets one attempt and is not stored to wait: with no way to its destination it waits at most this long (a receiver reconnecting), then expires, without a receipt.',
    },
    transactionWaitMs: {
      type: 'integer',
      default: 10_000,
      min: 100, max: TIMER_MAX_MS,
      unit: 'ms',
      description:
        'A submit_sm or data_sm in transaction mode (esm_class bits 1-0 = 10) is answered once its one delivery attempt has an outcome; past this long, with no attempt under way, it is answered ESME_RDELIVERYFAILURE and the message ends UNDELIVERABLE. An attempt under way then (a deliver_sm sent and not yet answered) is waited for, up to delivery.leaseMs more: the answer must say whether it was delivered. Keep both under the ESMEs\' response timers.',
    },
    failoverGraceMs: {
      type: 'integer',
      default: 10_000,
      min: 0, max: TIMER_MAX_MS,
      unit: 'ms',
      description: 'A connector down this long hands its queued messages to their failover connectors.',
    },
    moReassemblyTimeoutMs: {
      type: 'integer',
      default: 300_000,
      min: 1, max: TIMER_MAX_MS,
      unit: 'ms',
      description: 'With reassembleMo, MO parts wait this long for the rest, then are delivered as they are.',
    },
  },
};

/** The host and port of a `host:port` (`[v6]:port` too), or undefined when it is not one. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

/** The shortest admin token accepted (the admin app refuses shorter ones too). */
export const ADMIN_TOKEN_MIN_LENGTH = 8;

const cluster: SectionField = {
  type: 'section',
  description: 'How nodes sharing one PostgreSQL database share the work.',
  keys: {
    mode: {
      type: 'string',
      oneOf: ['active-active', 'active-standby'],
      default: 'active-active',
      description:
        '`active-active`: every node listens and delivers. `active-standby`: only the node holding the database\'s lock does; the others wait, and one takes over when it is gone (store.postgres only). The nodes of one database need the same mode: a node is refused at start while a node of the other mode runs.',
    },
    standbyRetryMs: { type: 'integer', default: 1000, min: 100, max: 60_000, unit: 'ms', description: 'How often a standby node tries to become the active one.' },
    storeFailureStopMs: {
      type: 'integer',
      default: 30_000,
      min: 0,
      max: HOUR_MS,
      unit: 'ms',
      description:
        'active-standby: an active node whose store has not answered a read for this long (cut from its database while the connection holding the lock lives) gives the lock up and stops, so that a standby can take over. 0: never.',
    },
  },
};

const admin: SectionField = {
  type: 'section',
  optional: true,
  description: 'The HTTP admin API, /metrics and the dashboard (off when absent).',
  keys: {
    listen: { type: 'string', default: '127.0.0.1:8775', description: 'host:port of the HTTP listener (an IPv6 host in brackets: `[::1]:8775`).' },
    token: {
      type: 'string',
      required: true,
      secret: true,
      minLength: ADMIN_TOKEN_MIN_LENGTH,
      description: 'Bearer token of the API and the dashboard.',
    },
    publicMetrics: {
      type: 'boolean',
      default: false,
      description: '/metrics without the token (for a Prometheus on a trusted network; otherwise give it the token as `authorization: { credentials: … }`).',
    },
    hideMessageContent: {
      type: 'boolean',
      default: false,
      description: 'Leave the messages\' text and user data out of the API and the dashboard (addresses, states and times stay): operators who may see the traffic but not read it.',
    },
  },
  check(value, path) {
    const token = value['token'];
    // An Authorization header's value is trimmed: a token with outer spaces could never match.
    if (typeof token === 'string' && token.trim() !== token) throw new ConfigError(`${path}.token`, 'must not begin or end with white space');
    if (typeof value['listen'] === 'string' && parseHostPort(value['listen']) === undefined) {
      throw new ConfigError(`${path}.listen`, 'must be host:port with a port of 0-65535 (an IPv6 host in brackets: [::1]:8775)');
    }
  },
};

/**
 * An SMPP password field (at most 8 characters), secret. Never empty: a secret that resolved
 * to nothing must not stand for one.
 */
function smppPassword(defaultText: string, description: string): StringField {
  return { type: 'string', minLength: 1, maxLength: 8, lengthNote: 'SMPP password', secret: true, defaultText, description };
}

/** A system_id as a bind carries it: printable ASCII without spaces (the admin API's accounts take the same). */
export const SYSTEM_ID_PATTERN = '^[\\x21-\\x7e]+$';
/** An address an account owns: digits or letters (a leading +), or a prefix ending in `*` (the admin API's accounts take the same). */
export const OWNED_ADDRESS_PATTERN = '^[0-9A-Za-z+]*\\*?$';
const OWNED_ADDRESS = new RegExp(OWNED_ADDRESS_PATTERN);

const account: SectionField = {
  type: 'section',
  description: 'An ESME account.',
  keys: {
    systemId: { type: 'string', required: true, minLength: 1, maxLength: 15, lengthNote: 'SMPP system_id', description: 'The system_id it binds with; unique.' },
    // An empty one would let anyone bind.
    password: smppPassword('required unless passwordHash', 'Bind password.'),
    passwordHash: { type: 'string', secret: true, description: 'Instead of password: `scrypt$<salt hex>$<hash hex>`, as `smsc account hash` prints.' },
    addresses: {
      type: 'strings',
      default: [],
      description: "Addresses (exact) and prefixes (ending in `*`) this account owns: MT to them is delivered to it; it may send from them.",
    },
    allowedIps: { type: 'strings', defaultText: 'any', description: 'Binds are accepted only from these addresses / CIDR ranges.' },
    maxBinds: { type: 'integer', default: 4, min: 1, max: 10_000, description: 'Sessions at once, per bind type.' },
    windowSize: { type: 'integer', default: 10, min: 1, max: 10_000, description: 'deliver_sm outstanding per session of this account.' },
    allowedSystemTypes: { type: 'strings', defaultText: 'any', description: 'system_type values accepted in binds.' },
    defaultValiditySeconds: { type: 'integer', default: 48 * 3600, min: 1, max: MAX_VALIDITY_SECONDS, unit: 's', description: 'Validity when the submit gives none.' },
    maxValiditySeconds: { type: 'integer', default: 7 * 24 * 3600, min: 1, max: MAX_VALIDITY_SECONDS, unit: 's', description: 'Longest validity accepted; longer ones are capped.' },
    tps: { type: 'integer', default: 0, min: 0, unit: 'submits/s', description: 'Submits per second accepted (excess: ESME_RTHROTTLED); 0 = no limit.' },
    maxQueued: { type: 'integer', default: 0, min: 0, max: 1_000_000_000, unit: 'messages', description: 'Pending messages this account submitted (MT; not MO or receipts waiting for it) before its submits get ESME_RMSGQFUL; 0 = no limit.' },
    reassembleMo: {
      type: 'boolean',
      default: false,
      description: 'Join the parts of a concatenated MO message into one deliver_sm (message_payload) before delivery.',
    },
    outbind: {
      type: 'section',
      optional: true,
      description: 'While none of its sessions can take deliveries, the SMSC connects out to this ESME and sends outbind (again after 1 s, doubling to a minute).',
      keys: {
        host: { type: 'string', required: true, description: 'Host of the ESME.' },
        port: { type: 'integer', default: 2775, min: 1, max: 65535, description: 'Port of the ESME.' },
        // An empty one would replace the account's.
        password: smppPassword(
          "the account's password",
          'The password sent in the outbind (the ESME may check it). An account with only a passwordHash sends an empty one unless this is set.',
        ),
        tls: { type: 'boolean', default: false, description: 'Connect with TLS; the ESME\'s certificate is verified.' },
        ca: {
          type: 'string',
          path: true,
          defaultText: 'the system\'s CAs',
          description: 'PEM file of the CA certificate(s) the ESME\'s TLS certificate is verified against.',
        },
      },
    },
  },
  check(value, path) {
    if (value['password'] === undefined && value['passwordHash'] === undefined) throw new ConfigError(`${path}.password`, 'is required (or passwordHash)');
    const hash = value['passwordHash'];
    // Anything else matches no password: every bind of the account would be refused, in silence.
    if (typeof hash === 'string' && !/^scrypt\$(?:[0-9a-f]{2})+\$(?:[0-9a-f]{2})+$/i.test(hash)) {
      throw new ConfigError(`${path}.passwordHash`, 'must be scrypt$<salt hex>$<hash hex> (make one with: smsc account hash)');
    }
    // As the admin API checks its accounts: a value no bind or message could ever match is a
    // mistake, said at start rather than found by an ESME refused.
    if (typeof value['systemId'] === 'string' && !new RegExp(SYSTEM_ID_PATTERN).test(value['systemId'])) {
      throw new ConfigError(`${path}.systemId`, 'must be printable ASCII without spaces (as a bind carries it)');
    }
    (value['addresses'] as string[] | undefined)?.forEach((a, i) => {
      if (!OWNED_ADDRESS.test(a) || a === '') {
        throw new ConfigError(`${path}.addresses[${i}]`, 'must be an address (digits or letters) or a prefix ending in *');
      }
    });
    (value['allowedSystemTypes'] as string[] | undefined)?.forEach((t, i) => {
      if (t.length > 12) throw new ConfigError(`${path}.allowedSystemTypes[${i}]`, 'must be at most 12 characters (a bind\'s system_type holds no more)');
    });
    const outbindHost = (value['outbind'] as { host?: unknown } | undefined)?.host;
    if (outbindHost === '') throw new ConfigError(`${path}.outbind.host`, 'must not be empty');
  },
};

// ---- sections validated by their own parsers ------------------------------------------------

const mtRule: SectionField = {
  type: 'section',
  description: 'An MT rule: every condition given must match; the first matching rule wins.',
  keys: {
    account: { type: 'strings', oneOrMany: true, description: 'Submitting account(s).' },
    prefix: { type: 'strings', oneOrMany: true, description: 'Destination prefix(es); `""` matches every number.' },
    regex: { type: 'string', description: 'Regular expression the destination must match.' },
    source: { type: 'strings', oneOrMany: true, description: 'Source address pattern(s); a trailing `*` is a prefix.' },
    serviceType: { type: 'strings', oneOrMany: true, maxLength: 5, description: 'service_type value(s).' },
    dataCoding: { type: 'any', typeText: 'integer 0–255, or a list', description: 'data_coding value(s).' },
    connector: { type: 'string', required: true, description: 'Connector the message goes to (`network` or a name under connectors).' },
    failover: { type: 'strings', oneOrMany: true, description: 'Connectors tried in order when the first one fails.' },
  },
};

const moRule: SectionField = {
  type: 'section',
  description: 'An MO rule: exactly one of match, prefix, regex.',
  keys: {
    match: { type: 'string', description: 'Exact destination (short code).' },
    prefix: { type: 'string', description: 'Destination prefix.' },
    regex: { type: 'string', description: 'Regular expression the destination must match.' },
    account: { type: 'string', required: true, description: 'Account that receives the MO as deliver_sm.' },
  },
};

const routes: SectionField = {
  type: 'section',
  parsedBy: 'src/routing/parse.ts',
  defaultText: 'no routes',
  description: 'Where MT goes when no account owns the destination, and which account gets MO. Reloaded on SIGHUP.',
  keys: {
    noRouteStatus: {
      type: 'any',
      typeText: 'command_status name or number',
      defaultText: 'ESME_RINVDSTADR',
      fromEnv: statusFromEnv,
      description: 'submit_sm answer when no MT rule matches.',
    },
    mt: { type: 'list', item: mtRule, defaultText: 'none', description: 'Ordered MT rules.' },
    mo: { type: 'list', item: moRule, defaultText: 'none', description: 'MO rules.' },
  },
};

const networkRange: SectionField = {
  type: 'section',
  description: 'A number range and how its handsets behave.',
  keys: {
    prefix: { type: 'string', required: true, description: 'Number prefix (`""` = every number); unique.' },
    latencyMs: { type: 'integer', default: 0, min: 0, max: DAY_MS, unit: 'ms', description: 'Base latency of a delivery attempt.' },
    latencyJitterMs: {
      type: 'integer',
      default: 0,
      min: 0,
      max: DAY_MS,
      unit: 'ms',
      description: 'Random extra latency: uniform in [0, jitter) or exponential with this mean.',
    },
    latencyDistribution: { type: 'string', oneOf: ['uniform', 'exponential'], defaultText: 'uniform', description: 'Distribution of the extra latency.' },
    successRatio: { type: 'number', default: 1, min: 0, max: 1, description: 'Fraction of attempts to a reachable handset that succeed.' },
    failure: {
      type: 'any',
      typeText: 'failure name, or mapping name → weight',
      defaultText: 'absent',
      description: 'Cause of the failures: absent, unknown, busy, memoryFull, system, barred, teleservice, illegal.',
    },
    switchedOff: {
      type: 'section',
      optional: true,
      description: 'Handsets switched off for whole periods.',
      keys: {
        ratio: { type: 'number', required: true, min: 0, max: 1, description: 'Probability that a handset is off in a period.' },
        durationMs: { type: 'integer', required: true, min: 1, max: 365 * DAY_MS, unit: 'ms', description: 'Length of a period.' },
      },
    },
  },
};

const networkKeys: Record<string, Field> = {
  ranges: { type: 'list', item: networkRange, required: true, description: 'Number ranges (a non-empty list).' },
  concurrency: { type: 'integer', default: 10_000, min: 1, max: 10_000_000, description: 'Delivery attempts in flight at once.' },
  seed: { type: 'integer', min: 0, max: 0xffffffff, defaultText: 'random', description: 'Seed of the simulation (same seed, same behaviour).' },
  mo: {
    type: 'section',
    optional: true,
    description: 'Background MO generator: handsets sending MO at a steady rate.',
    keys: {
      ratePerSecond: { type: 'number', required: true, min: 0.001, max: 100_000, unit: 'messages/s', description: 'Rate of MO messages.' },
      from: { type: 'strings', oneOrMany: true, required: true, description: 'Source patterns; every `x` becomes a random digit.' },
      to: { type: 'strings', oneOrMany: true, required: true, description: 'Destinations; `x` patterns allowed.' },
      text: { type: 'string', defaultText: 'MO {n}', description: 'Text; `{n}` is replaced by the sequence number.' },
      total: { type: 'integer', min: 1, max: MAX_SAFE, defaultText: 'no end', description: 'Stop after this many messages.' },
      maxInFlight: { type: 'integer', default: 100, min: 1, max: 1_000_000, description: 'MOs in flight; messages due beyond it are skipped.' },
      tickMs: { type: 'integer', default: 100, min: 1, max: 60_000, unit: 'ms', description: 'Generator tick.' },
    },
  },
};

const network: SectionField = {
  type: 'section',
  parsedBy: 'src/connectors/network.ts',
  optional: true,
  description: 'The built-in simulated mobile network, connector `network` (off when absent).',
  keys: networkKeys,
};

const connectorType = (name: string): StringField => ({ type: 'string', required: true, oneOf: [name], description: `\`${name}\`.` });

const smppConnector: SectionField = {
  type: 'section',
  parsedBy: 'src/connectors/smpp.ts',
  description: 'An upstream SMSC we bind to as a transceiver and submit to.',
  keys: {
    type: connectorType('smpp'),
    host: { type: 'string', required: true, description: 'Host of the upstream.' },
    port: { type: 'integer', required: true, min: 1, max: 65535, description: 'Port of the upstream.' },
    tls: { type: 'boolean', default: false, description: 'Connect with TLS; the upstream\'s certificate is verified.' },
    ca: {
      type: 'string',
      path: true,
      defaultText: 'the system\'s CAs',
      description: 'PEM file of the CA certificate(s) the upstream\'s TLS certificate is verified against (needs `tls: true`).',
    },
    systemId: { type: 'string', required: true, maxLength: 15, description: 'Our system_id at the upstream.' },
    password: { type: 'string', required: true, maxLength: 8, secret: true, description: 'Our password at the upstream.' },
    systemType: { type: 'string', maxLength: 12, description: 'system_type of the bind.' },
    interfaceVersion: { type: 'integer', min: 0, max: 255, defaultText: '0x34', description: 'interface_version of the bind.' },
    addrTon: { type: 'integer', min: 0, max: 255, defaultText: '0', description: 'addr_ton of the bind.' },
    addrNpi: { type: 'integer', min: 0, max: 255, defaultText: '0', description: 'addr_npi of the bind.' },
    addressRange: { type: 'string', defaultText: '""', description: 'address_range of the bind.' },
    tps: { type: 'number', min: 0, max: 1_000_000, unit: 'submits/s', defaultText: 'no cap', description: 'Submits per second (0 = no cap).' },
    burst: { type: 'integer', min: 1, max: 1_000_000, defaultText: 'max(1, tps)', description: 'Token bucket size.' },
    window: { type: 'integer', default: 10, min: 1, max: 10_000, description: 'Submits outstanding at once.' },
    responseTimeoutMs: { type: 'integer', default: 30_000, min: 1, max: HOUR_MS, unit: 'ms', description: 'Wait this long for a submit_sm_resp.' },
    enquireLinkIntervalMs: { type: 'integer', default: 30_000, min: 0, max: HOUR_MS, unit: 'ms', description: 'Idle time before enquire_link.' },
    reconnect: {
      type: 'section',
      optional: true,
      description: 'Reconnect back-off.',
      keys: {
        initialDelayMs: { type: 'integer', default: 1000, min: 1, max: HOUR_MS, unit: 'ms', description: 'First delay.' },
        maxDelayMs: { type: 'integer', default: 60_000, min: 1, max: HOUR_MS, unit: 'ms', description: 'Longest delay.' },
        factor: { type: 'number', default: 2, min: 1, max: 10, description: 'Growth per attempt.' },
      },
    },
    throttleBackoffMs: {
      type: 'integer',
      default: 1000,
      min: 0,
      max: HOUR_MS,
      unit: 'ms',
      description:
        'After ESME_RTHROTTLED, send nothing for this long (at least 100 ms); the throttled message then goes again, with no attempt counted and no retry back-off (and no failover: a throttling upstream is up). Sending then starts again one submit at a time, one more outstanding for each the upstream accepts, up to the window (slow start).',
    },
    idFormat: {
      type: 'section',
      optional: true,
      description: 'How the upstream writes message ids.',
      keys: {
        submit: { type: 'string', oneOf: ['string', 'decimal', 'hex'], defaultText: 'string', description: 'In submit_sm_resp.' },
        receipt: { type: 'string', oneOf: ['string', 'decimal', 'hex'], defaultText: 'string', description: 'In receipts.' },
      },
    },
    requestReceipts: {
      type: 'string',
      oneOf: ['always', 'asRequested'],
      defaultText: 'always',
      description:
        'Ask the upstream for a final receipt on every message (its receipt is what ends a forwarded message), or only on those whose submitter asked for a receipt of any kind; a message that asked none then counts as delivered once the upstream has accepted it.',
    },
    retryStatuses: {
      type: 'any',
      typeText: 'list of command_status names or numbers',
      defaultText: 'ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, ESME_RX_T_APPN',
      description: 'Statuses that mean "try again later".',
    },
  },
};

const httpConnector: SectionField = {
  type: 'section',
  parsedBy: 'src/connectors/http.ts',
  description:
    'A webhook: each message is POSTed as JSON: `id, account, direction, from` and `to` (`{addr, ton, npi}`), `serviceType, esmClass, protocolId, priority, dataCoding, text` (decoded), `payload` (hex, the UDH included), `udh` (hex), `concat` (`{ref, total, seq}`, a part of a long message, from its UDH or SAR TLVs), `tlvs` (by name, octets hex), `registeredDelivery, submittedAt, expiresAt` (ISO 8601) and `attempt`. A 2xx delivers it; 400, 413, 422 and other 4xx fail it (UNDELIVERABLE, the status as error code); 401, 403, 404, 405, 407 (the connector is wrong, not the message), 408, 429, 5xx, 3xx (redirects are not followed), a timeout or a connection error retry it (and go to the route’s failover connectors); a 429 or 503 with Retry-After also pauses the connector that long (at most 5 minutes). Why requests are retried is logged, the same reason at most once a minute. At least once: after a crash mid-request the same `id` is POSTed again (`attempt` counts the attempts recorded, so it may repeat): deduplicate on `id`.',
  keys: {
    type: connectorType('http'),
    url: {
      type: 'string',
      required: true,
      description:
        'http or https URL. An https endpoint\'s certificate is verified against the system\'s CAs; for a private CA, start the SMSC with `NODE_EXTRA_CA_CERTS=<PEM file>` in its environment.',
    },
    timeoutMs: { type: 'integer', default: 10_000, min: 1, max: HOUR_MS, unit: 'ms', description: 'Whole request: connect, send, response and body.' },
    concurrency: { type: 'integer', default: 16, min: 1, max: 100_000, description: 'Requests in flight at once.' },
    headers: {
      type: 'any',
      typeText: 'mapping name → string',
      description: 'Extra request headers (not connection, content-length, expect, host, keep-alive, transfer-encoding, upgrade: the HTTP client sets those).',
    },
  },
};

const networkConnector: SectionField = {
  type: 'section',
  parsedBy: 'src/connectors/network.ts',
  description: 'A simulated mobile network under its own name; the keys of the network section.',
  keys: { type: connectorType('network'), ...networkKeys },
};

/** The whole file. */
export const SCHEMA: SectionField = {
  type: 'section',
  description: 'The smsc configuration file.',
  keys: {
    nodeId: { type: 'string', default: 'n1', description: 'This node’s id (message ids, leases); cluster nodes must differ. A trailing number 0–15 goes into message ids.' },
    smpp,
    store,
    cluster,
    delivery,
    admin,
    accounts: { type: 'list', item: account, uniqueKey: 'systemId', defaultText: 'none', description: 'The ESME accounts.' },
    routes,
    connectors: {
      type: 'named',
      nameText: '<name>',
      parsedBy: 'src/app/smsc.ts',
      variants: { smpp: smppConnector, http: httpConnector, network: networkConnector },
      description: 'Named delivery targets besides ESME binds and the network; the `type` key chooses the kind.',
    },
    network,
  },
  check(value) {
    // Two accounts owning one address: the last loaded would silently take its messages (the
    // admin API refuses the same with 409).
    const owners = new Map<string, string>();
    const accounts = (value['accounts'] ?? []) as Obj[];
    accounts.forEach((a, i) => {
      ((a['addresses'] ?? []) as string[]).forEach((address, j) => {
        const owner = owners.get(address);
        if (owner !== undefined && owner !== a['systemId']) {
          throw new ConfigError(`accounts[${i}].addresses[${j}]`, `'${address}' is owned by account '${owner}' too: an address has one owner`);
        }
        owners.set(address, String(a['systemId']));
      });
    });
  },
};

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `windowSize` → `WINDOW_SIZE`. */
export function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The environment variable of a key path, e.g. `['smpp', 'windowSize']` → `SMSC_SMPP__WINDOW_SIZE`. */
export function envName(path: readonly string[]): string {
  return `SMSC_${path.map(envSegment).join('__')}`;
}
