/**
 * The run-time configuration of a node: the accounts (config file + store), the routes
 * document in force and the disabled connectors, kept in memory for the hot paths (binds,
 * submits, routing) and reloaded from the store whenever it announces a change, so in
 * PostgreSQL mode every node follows a change made on any of them.
 *
 * Rules (docs/decisions.md): accounts of the config file are read only at run time and win
 * over a stored account of the same system_id; accounts created through the admin API live
 * in the store. Routes set through the API (stored) replace the config's `routes` section
 * until they are cleared. Disabled connectors are a stored list of names.
 */
import { accountSettings, applyAccountPatch, checkAccountFields, generatePassword, viewOfConfig } from '../admin/accounts.js';
import { AdminError } from '../admin/errors.js';
import type { AccountInput, AccountPatch, AccountRegistry, AccountView } from '../admin/types.js';
import type { AccountConfig, Config } from '../config/config.js';
import { ConfigError } from '../config/config.js';
import { type AccountPolicy, hashPassword } from '../server/accounts.js';
import type { Clock } from '../session/clock.js';
import type { ConfigStore, StoredAccount } from '../store/config-store.js';

/** Setting keys. */
export const ROUTES_SETTING = 'routes';
export const DISABLED_CONNECTORS_SETTING = 'connectors.disabled';

/** An account as the node uses it. */
export interface LiveAccount extends AccountConfig {
  source: 'config' | 'store';
  disabled: boolean;
}

/** What changed in one reload. */
export interface LiveChange {
  /** Accounts that were removed or became disabled (their sessions should end). */
  gone: string[];
  /** Connectors enabled again (their queues should be looked at). */
  enabled: string[];
}

export interface LiveConfigOptions {
  config: Config;
  /** Where run-time changes live; without one, everything is read only. */
  store: ConfigStore | undefined;
  clock: Clock;
  /** Validates a routes document for these accounts; throws ConfigError naming the key. */
  checkRoutes(raw: unknown, accounts: Iterable<string>): void;
  /** Called after every reload that changed something (accounts, routes or connectors). */
  onChange(change: LiveChange): void;
  /** Reports a reload that failed (the previous state stays). */
  onError?(err: unknown): void;
}

function fromStored(a: StoredAccount): LiveAccount {
  const out: LiveAccount = {
    systemId: a.systemId,
    passwordHash: a.passwordHash,
    addresses: a.addresses,
    maxBinds: a.maxBinds,
    windowSize: a.windowSize,
    defaultValiditySeconds: a.defaultValiditySeconds,
    maxValiditySeconds: a.maxValiditySeconds,
    tps: a.tps,
    maxQueued: a.maxQueued,
    disabled: a.disabled,
    reassembleMo: a.reassembleMo,
    source: 'store',
  };
  if (a.allowedIps !== null) out.allowedIps = a.allowedIps;
  if (a.allowedSystemTypes !== null) out.allowedSystemTypes = a.allowedSystemTypes;
  if (a.outbind !== undefined) out.outbind = { ...a.outbind };
  return out;
}

/** The admin view of a live account. */
export function viewOfLive(a: LiveAccount): AccountView {
  const view = viewOfConfig(a);
  view.source = a.source;
  return view;
}

/** The listener's view of a live account. */
function policyOf(a: LiveAccount): AccountPolicy {
  const p: AccountPolicy = { systemId: a.systemId, maxBinds: a.maxBinds, windowSize: a.windowSize, disabled: a.disabled };
  if (a.password !== undefined) p.password = a.password;
  if (a.passwordHash !== undefined) p.passwordHash = a.passwordHash;
  if (a.allowedIps !== undefined) p.allowedIps = a.allowedIps;
  if (a.allowedSystemTypes !== undefined) p.allowedSystemTypes = a.allowedSystemTypes;
  return p;
}

function sameAccount(a: LiveAccount | undefined, b: LiveAccount | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What a bind was checked against: password, allowed addresses, allowed system types. */
function credentialsChanged(before: LiveAccount, after: LiveAccount): boolean {
  return (
    before.passwordHash !== after.passwordHash ||
    before.password !== after.password ||
    JSON.stringify(before.allowedIps ?? null) !== JSON.stringify(after.allowedIps ?? null) ||
    JSON.stringify(before.allowedSystemTypes ?? null) !== JSON.stringify(after.allowedSystemTypes ?? null)
  );
}

/** The accounts, routes and connector switches of a running node. */
export class LiveConfig {
  readonly #o: LiveConfigOptions;
  readonly #configAccounts: ReadonlyMap<string, LiveAccount>;
  #accounts: Map<string, LiveAccount>;
  #configRoutes: unknown;
  #storedRoutes: unknown;
  #disabled = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  /** The reload running now, and whether another was asked for meanwhile. */
  #reloading: Promise<void> | undefined;
  #again: Promise<void> | undefined;
  /** Changes made through this node run one at a time (each reads, then writes). */
  #changes: Promise<unknown> = Promise.resolve();
  #resync: ReturnType<typeof setInterval> | undefined;

  constructor(options: LiveConfigOptions) {
    this.#o = options;
    this.#configAccounts = new Map(options.config.accounts.map((a) => [a.systemId, { ...a, disabled: false, source: 'config' as const }]));
    this.#accounts = new Map(this.#configAccounts);
    this.#configRoutes = options.config['routes'];
  }

  /** True when changes can be made (the store keeps accounts and settings). */
  get writable(): boolean {
    return this.#o.store !== undefined;
  }

  /** Every account in force, by system_id. */
  get accounts(): ReadonlyMap<string, LiveAccount> {
    return this.#accounts;
  }

  account(systemId: string): LiveAccount | undefined {
    return this.#accounts.get(systemId);
  }

  /** The listener's view of an account (bind authentication). */
  policy(systemId: string): AccountPolicy | undefined {
    const a = this.#accounts.get(systemId);
    return a === undefined ? undefined : policyOf(a);
  }

  /** The routes document in force and where it comes from. */
  routes(): { source: 'config' | 'store'; routes: unknown } {
    return this.#storedRoutes !== undefined
      ? { source: 'store', routes: this.#storedRoutes }
      : { source: 'config', routes: this.#configRoutes ?? {} };
  }

  /** Connectors switched off through the admin API. */
  get disabledConnectors(): ReadonlySet<string> {
    return this.#disabled;
  }

  /** Reads the store and listens for changes. */
  async start(): Promise<void> {
    const store = this.#o.store;
    if (store === undefined) return;
    // Listening first, then reading: a change committed in between is not missed.
    this.#unsubscribe = await store.onConfigChange(() => {
      this.reload().catch((err) => this.#o.onError?.(err));
    });
    await this.reload();
    // A safety net for a lost notification or a reload that failed: read everything again
    // every minute (accounts and settings are small).
    this.#resync = setInterval(() => this.reload().catch((err) => this.#o.onError?.(err)), 60_000);
    this.#resync.unref();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#resync !== undefined) clearInterval(this.#resync);
  }

  /**
   * Runs admin changes of this node one after another: each reads the stored state and writes
   * it back, so two at once (two connector switches, an update and a password reset) would
   * otherwise overwrite each other. Across nodes the last write wins.
   */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#changes.then(fn, fn);
    this.#changes = run.catch(() => {});
    return run;
  }

  /**
   * Replaces the config file's routes (SIGHUP). Validated first: a bad document throws
   * (ConfigError naming the key) and nothing changes. Stored routes, when set, stay in force.
   */
  setConfigRoutes(raw: unknown): void {
    this.#o.checkRoutes(raw, this.#accounts.keys());
    this.#configRoutes = raw;
    this.#o.onChange({ gone: [], enabled: [] });
  }

  /**
   * Reads accounts and settings from the store again and applies them. Calls made while a
   * reload runs share the next one, so every call resolves after a read that began after it.
   */
  reload(): Promise<void> {
    if (this.#reloading === undefined) {
      this.#reloading = this.#load().finally(() => {
        this.#reloading = undefined;
      });
      return this.#reloading;
    }
    this.#again ??= this.#reloading
      .catch(() => {})
      .then(() => {
        this.#again = undefined;
        return this.reload();
      });
    return this.#again;
  }

  async #load(): Promise<void> {
    const store = this.#o.store;
    if (store === undefined) return;
    const [stored, routesText, disabledText] = await Promise.all([
      store.listAccounts(),
      store.getSetting(ROUTES_SETTING),
      store.getSetting(DISABLED_CONNECTORS_SETTING),
    ]);
    const next = new Map(this.#configAccounts);
    // A config account of the same system_id wins (config files are the operator's last word).
    for (const a of stored) if (!next.has(a.systemId)) next.set(a.systemId, fromStored(a));
    // A setting that does not parse (written by hand, or by another version) keeps the last good
    // value and is reported: it must not stop every other change from applying.
    const setting = <T>(key: string, text: string | undefined, empty: T, last: T, valid: (v: unknown) => v is T): T => {
      if (text === undefined) return empty;
      try {
        const v: unknown = JSON.parse(text);
        if (valid(v)) return v;
        throw new Error('unexpected shape');
      } catch (err) {
        this.#o.onError?.(new Error(`setting '${key}' ignored: ${(err as Error).message}`));
        return last;
      }
    };
    const storedRoutes = setting<unknown>(ROUTES_SETTING, routesText, undefined, this.#storedRoutes, (v): v is unknown => typeof v === 'object' && v !== null);
    const disabled = new Set(
      setting<string[]>(DISABLED_CONNECTORS_SETTING, disabledText, [], [...this.#disabled], (v): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string')),
    );

    const gone: string[] = [];
    let changed = false;
    for (const [id, before] of this.#accounts) {
      const after = next.get(id);
      // Deleted, disabled, or its credentials or allowed addresses changed (a reset after a leak
      // must end the binds made with the old password).
      if (after === undefined || (after.disabled && !before.disabled) || credentialsChanged(before, after)) gone.push(id);
      if (!sameAccount(before, after)) changed = true;
    }
    for (const id of next.keys()) if (!this.#accounts.has(id)) changed = true;
    const enabled = [...this.#disabled].filter((n) => !disabled.has(n));
    if (JSON.stringify(storedRoutes) !== JSON.stringify(this.#storedRoutes)) changed = true;
    if (enabled.length > 0 || [...disabled].some((n) => !this.#disabled.has(n))) changed = true;

    this.#accounts = next;
    this.#storedRoutes = storedRoutes;
    this.#disabled = disabled;
    if (changed) this.#o.onChange({ gone, enabled });
  }

  // ---- changes (admin API) -----------------------------------------------------------------

  #store(): ConfigStore {
    if (this.#o.store === undefined) throw new AdminError('SMSC_ADMIN_READ_ONLY');
    return this.#o.store;
  }

  /**
   * Validates and stores a routes document (it then replaces the config's routes on every
   * node). `null` clears it: the config's routes apply again. Throws `SMSC_ADMIN_ROUTES_INVALID`
   * naming the field (`mt[0].connector`).
   */
  setRoutes(raw: unknown): Promise<void> {
    return this.serial(() => this.#setRoutes(raw));
  }

  /**
   * {@link setRoutes} of the document `edit` makes from the routes in force, read and written
   * as one change: two edits at once (two rules added) both land.
   */
  editRoutes(edit: () => unknown): Promise<void> {
    return this.serial(async () => this.#setRoutes(edit()));
  }

  async #setRoutes(raw: unknown): Promise<void> {
    const store = this.#store();
    if (raw !== null) checkRoutesForApi(this.#o.checkRoutes, raw, this.#accounts.keys());
    await store.setSetting(ROUTES_SETTING, raw === null ? null : JSON.stringify(raw), this.#o.clock.now());
    await this.reload();
  }

  /** Switches a connector off (its messages stay queued) or on again, on every node. */
  setConnectorDisabled(name: string, disabled: boolean): Promise<void> {
    return this.serial(() => this.#setConnectorDisabled(name, disabled));
  }

  async #setConnectorDisabled(name: string, disabled: boolean): Promise<void> {
    const store = this.#store();
    // Read from the store, not memory: another node may have changed the list meanwhile.
    const text = await store.getSetting(DISABLED_CONNECTORS_SETTING);
    const set = new Set(text === undefined ? [] : (JSON.parse(text) as string[]));
    if (disabled) set.add(name);
    else set.delete(name);
    await store.setSetting(DISABLED_CONNECTORS_SETTING, JSON.stringify([...set].sort()), this.#o.clock.now());
    await this.reload();
  }

  /** The {@link AccountRegistry} the admin API manages accounts through. */
  registry(): AccountRegistry {
    return new LiveAccountRegistry(this, this.#o);
  }

  /** @internal the config file's account of this system_id, if any. */
  configAccount(systemId: string): LiveAccount | undefined {
    return this.#configAccounts.get(systemId);
  }
}

/** Runs the route check and turns its ConfigError into an admin error naming the body field. */
function checkRoutesForApi(check: LiveConfigOptions['checkRoutes'], raw: unknown, accounts: Iterable<string>): void {
  try {
    check(raw, accounts);
  } catch (err) {
    if (err instanceof ConfigError) {
      const field = err.key.replace(/^routes\.?/, '');
      throw new AdminError('SMSC_ADMIN_ROUTES_INVALID', `routes field '${field}': ${err.message.replace(/^config key '[^']*': /, '')}`, field);
    }
    throw err;
  }
}

/** Accounts through the admin API: config ones read only, the others in the store. */
class LiveAccountRegistry implements AccountRegistry {
  readonly #live: LiveConfig;
  readonly #o: LiveConfigOptions;

  constructor(live: LiveConfig, options: LiveConfigOptions) {
    this.#live = live;
    this.#o = options;
  }

  #store(): ConfigStore {
    if (this.#o.store === undefined) throw new AdminError('SMSC_ADMIN_READ_ONLY');
    return this.#o.store;
  }

  /**
   * An address (or prefix) another account declares is refused: the last account loaded would
   * silently take its messages. (A longer prefix inside another's, `447*` under `44*`, is a
   * deliberate carve-out and allowed.)
   */
  #checkAddressesFree(systemId: string, addresses: readonly string[] | undefined): void {
    if (addresses === undefined) return;
    // One map of the others' addresses: a lookup each, not a walk over every account's list
    // (accounts of thousands of addresses made that seconds of the main thread).
    const owners = new Map<string, string>();
    for (const other of this.#live.accounts.values()) {
      if (other.systemId === systemId) continue;
      for (const a of other.addresses) if (!owners.has(a)) owners.set(a, other.systemId);
    }
    addresses.forEach((address, i) => {
      const owner = owners.get(address);
      if (owner !== undefined) {
        throw new AdminError('SMSC_ADMIN_ADDRESS_TAKEN', `address '${address}' is owned by account '${owner}'`, `addresses[${i}]`);
      }
    });
  }

  #writableOrThrow(systemId: string): void {
    if (this.#live.configAccount(systemId) !== undefined) {
      throw new AdminError('SMSC_ADMIN_ACCOUNT_READ_ONLY', `account '${systemId}' is defined in the config file; change it there`, 'id');
    }
  }

  async list(): Promise<AccountView[]> {
    return [...this.#live.accounts.values()].map(viewOfLive).sort((a, b) => (a.systemId < b.systemId ? -1 : 1));
  }

  async get(systemId: string): Promise<AccountView | undefined> {
    const a = this.#live.account(systemId);
    return a === undefined ? undefined : viewOfLive(a);
  }

  create(input: AccountInput): Promise<{ account: AccountView; password?: string }> {
    return this.#live.serial(() => this.#create(input));
  }

  async #create(input: AccountInput): Promise<{ account: AccountView; password?: string }> {
    const store = this.#store();
    const taken = () => new AdminError('SMSC_ADMIN_ACCOUNT_EXISTS', `account '${input.systemId}' exists`, 'systemId');
    if (this.#live.configAccount(input.systemId) !== undefined) throw taken();
    checkAccountFields(input);
    this.#checkAddressesFree(input.systemId, input.addresses);
    const password = input.password ?? generatePassword();
    const record: StoredAccount = {
      systemId: input.systemId,
      passwordHash: hashPassword(password),
      addresses: [...(input.addresses ?? [])],
      allowedIps: input.allowedIps === undefined ? null : [...input.allowedIps],
      allowedSystemTypes: input.allowedSystemTypes === undefined ? null : [...input.allowedSystemTypes],
      ...accountSettings(input),
      ...(input.outbind !== undefined ? { outbind: { ...input.outbind } } : {}),
      updatedAt: this.#o.clock.now(),
    };
    if (!(await store.createAccount(record))) throw taken();
    await this.#live.reload();
    const account = viewOfLive(fromStored(record));
    return input.password === undefined ? { account, password } : { account };
  }

  update(systemId: string, patch: AccountPatch): Promise<AccountView | undefined> {
    return this.#live.serial(() => this.#update(systemId, patch));
  }

  async #update(systemId: string, patch: AccountPatch): Promise<AccountView | undefined> {
    const store = this.#store();
    this.#writableOrThrow(systemId);
    const current = await store.getAccount(systemId);
    if (current === undefined) return undefined;
    checkAccountFields(patch, viewOfLive(fromStored(current)));
    this.#checkAddressesFree(systemId, patch.addresses);
    const next: StoredAccount = applyAccountPatch({ ...current, updatedAt: this.#o.clock.now() }, patch);
    if (!(await store.updateAccount(next))) return undefined;
    await this.#live.reload();
    return viewOfLive(fromStored(next));
  }

  remove(systemId: string): Promise<boolean> {
    return this.#live.serial(() => this.#remove(systemId));
  }

  async #remove(systemId: string): Promise<boolean> {
    const store = this.#store();
    this.#writableOrThrow(systemId);
    if ((await store.getAccount(systemId)) === undefined) return false;
    // Routes naming the account would no longer load: refuse, naming the route.
    const others = [...this.#live.accounts.keys()].filter((id) => id !== systemId);
    try {
      this.#o.checkRoutes(this.#live.routes().routes, others);
    } catch (err) {
      if (err instanceof ConfigError) {
        throw new AdminError('SMSC_ADMIN_ACCOUNT_IN_USE', `account '${systemId}' is named by route ${err.key}; change the routes first`, 'id');
      }
      throw err;
    }
    const done = await store.deleteAccount(systemId);
    await this.#live.reload();
    return done;
  }

  resetPassword(systemId: string, password?: string): Promise<{ password: string } | undefined> {
    return this.#live.serial(() => this.#resetPassword(systemId, password));
  }

  async #resetPassword(systemId: string, password?: string): Promise<{ password: string } | undefined> {
    const store = this.#store();
    this.#writableOrThrow(systemId);
    const current = await store.getAccount(systemId);
    if (current === undefined) return undefined;
    const next = password ?? generatePassword();
    if (!(await store.updateAccount({ ...current, passwordHash: hashPassword(next), updatedAt: this.#o.clock.now() }))) return undefined;
    await this.#live.reload();
    return { password: next };
  }
}
