/**
 * The default {@link AccountRegistry} of the admin app: the accounts of the loaded config,
 * read only. Until the listener looks accounts up live, a change made here would not reach
 * binds, so changes answer `SMSC_ADMIN_READ_ONLY` (501) instead of pretending to work.
 */
import type { AccountConfig } from '../config/config.js';
import { viewOfConfig } from './accounts.js';
import { AdminError } from './errors.js';
import type { AccountRegistry, AccountView } from './types.js';

/** Read-only accounts from the config. */
export class ConfigAccountRegistry implements AccountRegistry {
  readonly #accounts: readonly AccountConfig[];

  constructor(accounts: readonly AccountConfig[]) {
    this.#accounts = accounts;
  }

  async list(): Promise<AccountView[]> {
    return this.#accounts.map(viewOfConfig).sort((a, b) => (a.systemId < b.systemId ? -1 : 1));
  }

  async get(systemId: string): Promise<AccountView | undefined> {
    const a = this.#accounts.find((x) => x.systemId === systemId);
    return a === undefined ? undefined : viewOfConfig(a);
  }

  create(): Promise<never> {
    return Promise.reject(new AdminError('SMSC_ADMIN_READ_ONLY'));
  }
  update(): Promise<never> {
    return Promise.reject(new AdminError('SMSC_ADMIN_READ_ONLY'));
  }
  remove(): Promise<never> {
    return Promise.reject(new AdminError('SMSC_ADMIN_READ_ONLY'));
  }
  resetPassword(): Promise<never> {
    return Promise.reject(new AdminError('SMSC_ADMIN_READ_ONLY'));
  }
}
