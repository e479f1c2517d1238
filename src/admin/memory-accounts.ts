/**
 * An in-memory {@link AccountRegistry} (tests, and a model for the config/store backed one).
 * Passwords are kept only as scrypt hashes; {@link MemoryAccountRegistry.lookup} gives the
 * listener's view of an account, so a server built with `accounts: (id) => registry.lookup(id)`
 * sees changes at once.
 */
import type { AccountConfig } from '../config/config.js';
import { type AccountPolicy, hashPassword } from '../server/accounts.js';
import { accountSettings, applyAccountPatch, checkAccountFields, generatePassword, outbindView, viewOfConfig } from './accounts.js';
import { AdminError } from './errors.js';
import type { AccountInput, AccountPatch, AccountRegistry, AccountView } from './types.js';

interface Entry {
  view: AccountView;
  passwordHash: string;
}

/** Accounts held in a Map; every method resolves at once. */
export class MemoryAccountRegistry implements AccountRegistry {
  readonly #accounts = new Map<string, Entry>();

  /** Starts with the given configured accounts (their passwords are hashed on the way in). */
  constructor(initial: readonly AccountConfig[] = []) {
    for (const a of initial) {
      const passwordHash = a.passwordHash ?? hashPassword(a.password ?? generatePassword());
      this.#accounts.set(a.systemId, { view: { ...viewOfConfig(a), credential: 'hash' }, passwordHash });
    }
  }

  async list(): Promise<AccountView[]> {
    return [...this.#accounts.values()].map((e) => copy(e.view)).sort((a, b) => (a.systemId < b.systemId ? -1 : 1));
  }

  async get(systemId: string): Promise<AccountView | undefined> {
    const e = this.#accounts.get(systemId);
    return e === undefined ? undefined : copy(e.view);
  }

  async create(input: AccountInput): Promise<{ account: AccountView; password?: string }> {
    if (this.#accounts.has(input.systemId)) {
      throw new AdminError('SMSC_ADMIN_ACCOUNT_EXISTS', `account '${input.systemId}' exists`, 'systemId');
    }
    checkAccountFields(input);
    const view: AccountView = {
      systemId: input.systemId,
      addresses: [...(input.addresses ?? [])],
      ...accountSettings(input),
      credential: 'hash',
    };
    if (input.allowedIps !== undefined) view.allowedIps = [...input.allowedIps];
    if (input.allowedSystemTypes !== undefined) view.allowedSystemTypes = [...input.allowedSystemTypes];
    if (input.outbind !== undefined) view.outbind = outbindView(input.outbind);
    const password = input.password ?? generatePassword();
    this.#accounts.set(view.systemId, { view, passwordHash: hashPassword(password) });
    return input.password === undefined ? { account: copy(view), password } : { account: copy(view) };
  }

  async update(systemId: string, patch: AccountPatch): Promise<AccountView | undefined> {
    const e = this.#accounts.get(systemId);
    if (e === undefined) return undefined;
    checkAccountFields(patch, e.view);
    const next: AccountView = applyAccountPatch({ ...e.view }, patch);
    // A view: the outbind's password and CAs are not kept in it.
    if (next.outbind !== undefined) next.outbind = outbindView(next.outbind);
    e.view = next;
    return copy(next);
  }

  async remove(systemId: string): Promise<boolean> {
    return this.#accounts.delete(systemId);
  }

  async resetPassword(systemId: string, password?: string): Promise<{ password: string } | undefined> {
    const e = this.#accounts.get(systemId);
    if (e === undefined) return undefined;
    const next = password ?? generatePassword();
    e.passwordHash = hashPassword(next);
    return { password: next };
  }

  /** The listener's view of an account (for `SmscServer`'s `accounts` lookup). */
  lookup(systemId: string): AccountPolicy | undefined {
    const e = this.#accounts.get(systemId);
    if (e === undefined) return undefined;
    const v = e.view;
    const policy: AccountPolicy = {
      systemId: v.systemId,
      passwordHash: e.passwordHash,
      maxBinds: v.maxBinds,
      windowSize: v.windowSize,
      disabled: v.disabled,
    };
    if (v.allowedIps !== undefined) policy.allowedIps = v.allowedIps;
    if (v.allowedSystemTypes !== undefined) policy.allowedSystemTypes = v.allowedSystemTypes;
    return policy;
  }
}

/** A copy callers may change without touching the registry. */
function copy(v: AccountView): AccountView {
  const out: AccountView = { ...v, addresses: [...v.addresses] };
  if (v.allowedIps !== undefined) out.allowedIps = [...v.allowedIps];
  if (v.allowedSystemTypes !== undefined) out.allowedSystemTypes = [...v.allowedSystemTypes];
  if (v.outbind !== undefined) out.outbind = { ...v.outbind };
  return out;
}
