/**
 * The message store: one {@link Store} interface, an embedded SQLite backend (default) and a
 * PostgreSQL backend for clusters. Independent of SMPP: payloads are Buffers, times are
 * epoch-ms numbers passed in by the caller.
 */
import { PostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
import type { Store, StoreOptions } from './types.js';

export { type GroupCommitStats, GroupCommitter, type GroupCommitterOptions, type Settled, StoreClosedError } from './group-commit.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export * from './types.js';

/** Which backend {@link createStore} builds, with its options. */
export type StoreConfig =
  | { sqlite: { path: string } & Omit<SqliteStoreOptions, 'path'> }
  | { postgres: { url: string; schema?: string; poolSize?: number; maxInFlight?: number; listenRetryMs?: number } & StoreOptions };

/**
 * Builds the configured store. It is not opened yet: call `init()` (which runs migrations)
 * before use and `close()` at shutdown.
 */
export function createStore(config: StoreConfig): Store {
  if ('sqlite' in config) return new SqliteStore(config.sqlite);
  const options: PostgresStoreOptions = config.postgres;
  return new PostgresStore(options);
}
