/**
 * The accounts and settings tables of the PostgreSQL store (see src/store/config-store.ts).
 * Every write is one statement that also sends `pg_notify(channel, topic)`, so the change and
 * its announcement commit together and every node's LISTEN connection hears it.
 */
import type pg from 'pg';
import { checkStoredAccount, outbindColumn, outbindOf, type StoredAccount } from '../config-store.js';

interface AccountRow {
  system_id: string;
  password_hash: string;
  addresses: string[];
  allowed_ips: string[] | null;
  allowed_system_types: string[] | null;
  max_binds: number;
  window_size: number;
  default_validity_s: number;
  max_validity_s: number;
  tps: number;
  max_queued: number;
  disabled: boolean;
  reassemble_mo: boolean;
  outbind: string | null;
  updated_at: string | number;
}

function toAccount(r: AccountRow): StoredAccount {
  return {
    systemId: r.system_id,
    passwordHash: r.password_hash,
    addresses: r.addresses,
    allowedIps: r.allowed_ips,
    allowedSystemTypes: r.allowed_system_types,
    maxBinds: r.max_binds,
    windowSize: r.window_size,
    defaultValiditySeconds: r.default_validity_s,
    maxValiditySeconds: r.max_validity_s,
    tps: r.tps,
    maxQueued: r.max_queued,
    disabled: r.disabled,
    reassembleMo: r.reassemble_mo,
    ...outbindOf(r.outbind),
    updatedAt: Number(r.updated_at),
  };
}

function values(a: StoredAccount): unknown[] {
  checkStoredAccount(a);
  return [
    a.systemId,
    a.passwordHash,
    a.addresses,
    a.allowedIps,
    a.allowedSystemTypes,
    a.maxBinds,
    a.windowSize,
    a.defaultValiditySeconds,
    a.maxValiditySeconds,
    a.tps,
    a.maxQueued,
    a.disabled,
    a.updatedAt,
    a.reassembleMo,
    outbindColumn(a.outbind),
  ];
}

/** The config tables of one store (`accounts` and `settings`, schema-qualified as given). */
export class PostgresConfigTables {
  readonly #pool: pg.Pool;
  readonly #channel: string;
  readonly #accounts: string;
  readonly #settings: string;

  constructor(pool: pg.Pool, channel: string, accounts: string, settings: string) {
    this.#pool = pool;
    this.#channel = channel;
    this.#accounts = accounts;
    this.#settings = settings;
  }

  async list(): Promise<StoredAccount[]> {
    const res = await this.#pool.query<AccountRow>(`SELECT * FROM ${this.#accounts} ORDER BY system_id COLLATE "C"`);
    return res.rows.map(toAccount);
  }

  async get(systemId: string): Promise<StoredAccount | undefined> {
    const res = await this.#pool.query<AccountRow>(`SELECT * FROM ${this.#accounts} WHERE system_id = $1`, [systemId]);
    const row = res.rows[0];
    return row === undefined ? undefined : toAccount(row);
  }

  async create(a: StoredAccount): Promise<boolean> {
    const res = await this.#pool.query(
      `WITH i AS (
        INSERT INTO ${this.#accounts} (system_id, password_hash, addresses, allowed_ips, allowed_system_types, max_binds,
          window_size, default_validity_s, max_validity_s, tps, max_queued, disabled, updated_at, reassemble_mo, outbind)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        ON CONFLICT (system_id) DO NOTHING
        RETURNING system_id)
      SELECT pg_notify($16, 'account:' || system_id) FROM i`,
      [...values(a), this.#channel],
    );
    return res.rowCount === 1;
  }

  async update(a: StoredAccount): Promise<boolean> {
    const res = await this.#pool.query(
      `WITH u AS (
        UPDATE ${this.#accounts} SET password_hash = $2, addresses = $3, allowed_ips = $4, allowed_system_types = $5,
          max_binds = $6, window_size = $7, default_validity_s = $8, max_validity_s = $9, tps = $10, max_queued = $11,
          disabled = $12, updated_at = $13, reassemble_mo = $14, outbind = $15
        WHERE system_id = $1
        RETURNING system_id)
      SELECT pg_notify($16, 'account:' || system_id) FROM u`,
      [...values(a), this.#channel],
    );
    return res.rowCount === 1;
  }

  async delete(systemId: string): Promise<boolean> {
    const res = await this.#pool.query(
      `WITH d AS (DELETE FROM ${this.#accounts} WHERE system_id = $1 RETURNING system_id)
      SELECT pg_notify($2, 'account:' || system_id) FROM d`,
      [systemId, this.#channel],
    );
    return res.rowCount === 1;
  }

  async getSetting(key: string): Promise<string | undefined> {
    const res = await this.#pool.query<{ value: string }>(`SELECT value FROM ${this.#settings} WHERE key = $1`, [key]);
    return res.rows[0]?.value;
  }

  async setSetting(key: string, value: string | null, at: number): Promise<void> {
    if (value === null) {
      await this.#pool.query(
        `WITH d AS (DELETE FROM ${this.#settings} WHERE key = $1) SELECT pg_notify($2, 'setting:' || $1::text)`,
        [key, this.#channel],
      );
      return;
    }
    await this.#pool.query(
      `WITH s AS (
        INSERT INTO ${this.#settings} (key, value, updated_at) VALUES ($1, $2, $3)
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at)
      SELECT pg_notify($4, 'setting:' || $1::text)`,
      [key, value, at, this.#channel],
    );
  }
}
