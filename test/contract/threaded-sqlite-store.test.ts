/** The store contract against the SQLite store running on a worker thread. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { storeContract } from './store-contract.js';

storeContract('sqlite (worker thread)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smsc-store-'));
  const path = join(dir, 'store.db');
  return {
    open: (options) => new ThreadedSqliteStore({ path, ...options }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
