/**
 * Run-time configuration kept in the store: ESME accounts created through the admin API and
 * small settings documents (the routes, the disabled connectors). Every backend that keeps
 * messages also keeps these, so in PostgreSQL mode every node sees the same accounts and
 * routes, and a change on one node reaches the others through {@link ConfigStore.onConfigChange}.
 * This module imports nothing.
 */

/** An account as the store keeps it (only a scrypt hash of the password). */
export interface StoredAccount {
  /** SMPP system_id; the primary key. */
  systemId: string;
  /** `scrypt$<salt hex>$<hash hex>` (src/server/accounts.ts hashPassword). */
  passwordHash: string;
  /** Addresses (exact) and prefixes (ending in `*`) the account owns. */
  addresses: string[];
  /** CIDR ranges binds may come from; null = any. */
  allowedIps: string[] | null;
  /** Accepted bind system_type values; null = any. */
  allowedSystemTypes: string[] | null;
  maxBinds: number;
  windowSize: number;
  defaultValiditySeconds: number;
  maxValiditySeconds: number;
  /** Submits per second (0 = no limit). */
  tps: number;
  /** Pending messages before submits are refused (0 = no limit). */
  maxQueued: number;
  /** Disabled accounts cannot bind. */
  disabled: boolean;
  /** MO parts are joined into one message before delivery. */
  reassembleMo: boolean;
  /**
   * The SMSC connects out to this ESME (outbind) while it has no receiver bound. The password
   * is the one sent in the outbind, kept as given (it must be sent as it is).
   */
  outbind?: StoredOutbind;
  /** Epoch ms of the last change (given by the caller). */
  updatedAt: number;
}

/** Where an account's outbind goes. */
export interface StoredOutbind {
  host: string;
  port: number;
  password?: string;
  /** Connect with TLS (the ESME's certificate verified against `caPem`, else the system's CAs). */
  tls?: boolean;
  /** PEM text of the CA certificate(s) the ESME's certificate is verified against. */
  caPem?: string;
}

/** Topic of a change notification: `account:<systemId>` or `setting:<key>`. */
export type ConfigTopic = `account:${string}` | `setting:${string}` | '*';

/**
 * Accounts and settings in the store. Writes resolve once committed; the change is then
 * announced to every `onConfigChange` listener (PostgreSQL: of every process on the database,
 * through NOTIFY; SQLite: of the stores of this process on the same file). `*` means "anything
 * may have changed" (sent after a lost PostgreSQL LISTEN connection came back).
 */
export interface ConfigStore {
  /** Every stored account, ordered by system_id. */
  listAccounts(): Promise<StoredAccount[]>;
  /** One account, or undefined. */
  getAccount(systemId: string): Promise<StoredAccount | undefined>;
  /** Inserts an account; false (and nothing written) when the system_id is taken. */
  createAccount(account: StoredAccount): Promise<boolean>;
  /** Replaces every field of an existing account; false when it does not exist. */
  updateAccount(account: StoredAccount): Promise<boolean>;
  /** Deletes an account; false when it did not exist. */
  deleteAccount(systemId: string): Promise<boolean>;
  /** A setting's value (a JSON document as text), or undefined. */
  getSetting(key: string): Promise<string | undefined>;
  /** Sets a setting (`null` removes it). `at` is the change time recorded (epoch ms). */
  setSetting(key: string, value: string | null, at: number): Promise<void>;
  /** Calls `listener(topic)` after a committed change; resolves once listening; the result unsubscribes. */
  onConfigChange(listener: (topic: ConfigTopic) => void): Promise<() => void>;
}

/** True when `store` keeps accounts and settings too (every built-in backend does). */
export function isConfigStore(store: unknown): store is ConfigStore {
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof (store as Partial<ConfigStore>).listAccounts === 'function' &&
    typeof (store as Partial<ConfigStore>).onConfigChange === 'function'
  );
}

/** Throws TypeError when an account handed to the store is malformed (a programming error). */
export function checkStoredAccount(a: StoredAccount): void {
  if (typeof a.systemId !== 'string' || a.systemId.length === 0) throw new TypeError('account systemId must be a non-empty string');
  if (typeof a.passwordHash !== 'string' || a.passwordHash.length === 0) throw new TypeError('account passwordHash must be a non-empty string');
  if (!Array.isArray(a.addresses)) throw new TypeError('account addresses must be an array');
  for (const k of ['maxBinds', 'windowSize', 'defaultValiditySeconds', 'maxValiditySeconds', 'tps', 'maxQueued', 'updatedAt'] as const) {
    if (!Number.isSafeInteger(a[k]) || a[k] < 0) throw new TypeError(`account ${k} must be a non-negative integer`);
  }
  const o = a.outbind;
  if (
    o !== undefined &&
    (typeof o.host !== 'string' ||
      !Number.isInteger(o.port) ||
      (o.password !== undefined && typeof o.password !== 'string') ||
      (o.tls !== undefined && typeof o.tls !== 'boolean') ||
      (o.caPem !== undefined && typeof o.caPem !== 'string'))
  ) {
    throw new TypeError('account outbind must be { host: string, port: integer, password?: string, tls?: boolean, caPem?: string }');
  }
}

/** An outbind as its column keeps it (JSON text), or null. */
export function outbindColumn(o: StoredOutbind | undefined): string | null {
  // Only these fields (JSON leaves the undefined ones out; tls only when on, as before it existed).
  return o === undefined ? null : JSON.stringify({ host: o.host, port: o.port, password: o.password, tls: o.tls === true ? true : undefined, caPem: o.caPem });
}

/** The `outbind` of a stored account, from its column. */
export function outbindOf(column: string | null): { outbind?: StoredOutbind } {
  return column === null ? {} : { outbind: JSON.parse(column) as StoredOutbind };
}

/** The `account:<id>` topic. */
export const accountTopic = (systemId: string): ConfigTopic => `account:${systemId}`;
/** The `setting:<key>` topic. */
export const settingTopic = (key: string): ConfigTopic => `setting:${key}`;
