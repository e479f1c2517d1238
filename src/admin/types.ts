/**
 * The contracts the admin API is written against. Account management at run time needs the
 * core to look accounts up live (config file or store in cluster mode); the HTTP handlers only
 * see {@link AccountRegistry}, so the backing can change without touching them.
 */
import type { StoredOutbind } from '../store/config-store.js';

/** An account as the admin API shows it: never the password or its hash. */
export interface AccountView {
  /** SMPP system_id (at most 15 characters). */
  systemId: string;
  /** Addresses (exact) and prefixes (ending in `*`) the account owns. */
  addresses: string[];
  /** CIDR ranges binds may come from; absent = any. */
  allowedIps?: string[];
  /** Accepted system_type values of the bind; absent = any. */
  allowedSystemTypes?: string[];
  /** Max concurrent binds of each type. */
  maxBinds: number;
  /** Outbound window (deliver_sm outstanding) of the account's sessions. */
  windowSize: number;
  /** Validity when a submit gives none, seconds. */
  defaultValiditySeconds: number;
  /** Longest validity accepted, seconds. */
  maxValiditySeconds: number;
  /** Submits per second accepted (0 = no limit). */
  tps: number;
  /** Pending messages this account submitted (MT) before its submits are refused with ESME_RMSGQFUL (0 = no limit). */
  maxQueued: number;
  /** Disabled accounts cannot bind. */
  disabled: boolean;
  /** MO parts are joined into one message before delivery. */
  reassembleMo: boolean;
  /** Where the account is defined: the config file (read only) or the store (admin API). */
  source?: 'config' | 'store';
  /** How the account authenticates (the secret itself is never shown). */
  credential: 'password' | 'hash' | 'none';
  /** The SMSC connects out to this ESME (outbind) when set; `tls` when over TLS. */
  outbind?: { host: string; port: number; tls?: boolean };
}

/** Where the SMSC connects out to an ESME (outbind), as the API takes it: as the store keeps it. */
export type OutbindInput = StoredOutbind;

/** What creating an account takes; absent fields get the config defaults. */
export interface AccountInput {
  systemId: string;
  /** SMPP password (at most 8 characters); generated when absent and returned once. */
  password?: string;
  addresses?: string[];
  allowedIps?: string[];
  allowedSystemTypes?: string[];
  maxBinds?: number;
  windowSize?: number;
  defaultValiditySeconds?: number;
  maxValiditySeconds?: number;
  tps?: number;
  maxQueued?: number;
  disabled?: boolean;
  reassembleMo?: boolean;
  outbind?: OutbindInput;
}

/**
 * Fields an update may change; absent fields are kept (`outbind: null` removes it). Passwords
 * change via `resetPassword`.
 */
export type AccountPatch = Partial<Omit<AccountInput, 'systemId' | 'password' | 'outbind'>> & { outbind?: OutbindInput | null };

/**
 * Run-time account management. Implementations throw `AdminError` (src/admin/errors.ts):
 * `SMSC_ADMIN_ACCOUNT_EXISTS` from `create` for a taken system_id,
 * `SMSC_ADMIN_ACCOUNT_INVALID` (with `field`) for values they reject,
 * `SMSC_ADMIN_READ_ONLY` when changes are not supported.
 */
export interface AccountRegistry {
  /** Every account, ordered by system_id. */
  list(): Promise<AccountView[]>;
  /** One account, or undefined. */
  get(systemId: string): Promise<AccountView | undefined>;
  /** Creates an account. `password` is set when one was generated (shown once). */
  create(input: AccountInput): Promise<{ account: AccountView; password?: string }>;
  /** Changes an account; undefined when it does not exist. */
  update(systemId: string, patch: AccountPatch): Promise<AccountView | undefined>;
  /** Deletes an account; false when it did not exist. */
  remove(systemId: string): Promise<boolean>;
  /**
   * Sets a new password (`password`, or a generated one) and returns it; undefined when the
   * account does not exist. Only a hash needs to be kept.
   */
  resetPassword(systemId: string, password?: string): Promise<{ password: string } | undefined>;
}
