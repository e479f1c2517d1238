/**
 * The accounts and settings tables of the SQLite store (see src/store/config-store.ts).
 * Synchronous: SqliteStore runs the writes through its group committer and the reads directly.
 */
import type Database from 'better-sqlite3';
import { checkStoredAccount, outbindColumn, outbindOf, type StoredAccount } from '../config-store.js';

interface AccountRow {
  system_id: string;
  password_hash: string;
  addresses: string;
  allowed_ips: string | null;
  allowed_system_types: string | null;
  max_binds: number;
  window_size: number;
  default_validity_s: number;
  max_validity_s: number;
  tps: number;
  max_queued: number;
  disabled: number;
  reassemble_mo: number;
  outbind: string | null;
  updated_at: number;
}

function toAccount(r: AccountRow): StoredAccount {
  return {
    systemId: r.system_id,
    passwordHash: r.password_hash,
    addresses: JSON.parse(r.addresses) as string[],
    allowedIps: r.allowed_ips === null ? null : (JSON.parse(r.allowed_ips) as string[]),
    allowedSystemTypes: r.allowed_system_types === null ? null : (JSON.parse(r.allowed_system_types) as string[]),
    maxBinds: r.max_binds,
    windowSize: r.window_size,
    defaultValiditySeconds: r.default_validity_s,
    maxValiditySeconds: r.max_validity_s,
    tps: r.tps,
    maxQueued: r.max_queued,
    disabled: r.disabled !== 0,
    reassembleMo: r.reassemble_mo !== 0,
    ...outbindOf(r.outbind),
    updatedAt: r.updated_at,
  };
}

/** Column values in the order of the INSERT/UPDATE statements (system_id last). */
function values(a: StoredAccount): unknown[] {
  checkStoredAccount(a);
  return [
    a.passwordHash,
    JSON.stringify(a.addresses),
    a.allowedIps === null ? null : JSON.stringify(a.allowedIps),
    a.allowedSystemTypes === null ? null : JSON.stringify(a.allowedSystemTypes),
    a.maxBinds,
    a.windowSize,
    a.defaultValiditySeconds,
    a.maxValiditySeconds,
    a.tps,
    a.maxQueued,
    a.disabled ? 1 : 0,
    a.reassembleMo ? 1 : 0,
    outbindColumn(a.outbind),
    a.updatedAt,
    a.systemId,
  ];
}

/** Prepared statements over the accounts and settings tables of one open database. */
export class SqliteConfigTables {
  readonly #list: Database.Statement;
  readonly #get: Database.Statement;
  readonly #create: Database.Statement;
  readonly #update: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #getSetting: Database.Statement;
  readonly #setSetting: Database.Statement;
  readonly #deleteSetting: Database.Statement;

  constructor(db: Database.Database) {
    const cols = `password_hash, addresses, allowed_ips, allowed_system_types, max_binds, window_size,
      default_validity_s, max_validity_s, tps, max_queued, disabled, reassemble_mo, outbind, updated_at, system_id`;
    this.#list = db.prepare('SELECT * FROM accounts ORDER BY system_id');
    this.#get = db.prepare('SELECT * FROM accounts WHERE system_id = ?');
    this.#create = db.prepare(`INSERT INTO accounts (${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (system_id) DO NOTHING`);
    this.#update = db.prepare(`UPDATE accounts SET password_hash = ?, addresses = ?, allowed_ips = ?, allowed_system_types = ?,
      max_binds = ?, window_size = ?, default_validity_s = ?, max_validity_s = ?, tps = ?, max_queued = ?, disabled = ?,
      reassemble_mo = ?, outbind = ?, updated_at = ? WHERE system_id = ?`);
    this.#delete = db.prepare('DELETE FROM accounts WHERE system_id = ?');
    this.#getSetting = db.prepare('SELECT value FROM settings WHERE key = ?');
    this.#setSetting = db.prepare(
      'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
    this.#deleteSetting = db.prepare('DELETE FROM settings WHERE key = ?');
  }

  list(): StoredAccount[] {
    return (this.#list.all() as AccountRow[]).map(toAccount);
  }
  get(systemId: string): StoredAccount | undefined {
    const row = this.#get.get(systemId) as AccountRow | undefined;
    return row === undefined ? undefined : toAccount(row);
  }
  create(a: StoredAccount): boolean {
    return this.#create.run(...values(a)).changes === 1;
  }
  update(a: StoredAccount): boolean {
    return this.#update.run(...values(a)).changes === 1;
  }
  delete(systemId: string): boolean {
    return this.#delete.run(systemId).changes === 1;
  }
  getSetting(key: string): string | undefined {
    return (this.#getSetting.get(key) as { value: string } | undefined)?.value;
  }
  setSetting(key: string, value: string | null, at: number): void {
    if (value === null) this.#deleteSetting.run(key);
    else this.#setSetting.run(key, value, at);
  }
}
