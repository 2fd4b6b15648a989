import type { Algorithm } from '../algorithm';
import { SyncBarrier } from '../strategies';

/** Synchronous proximal gradient: every shard's Δ at the same w^k, applied together (p = 1). */
export const syncPg: Algorithm = {
  describe: 'sync-PG: synchronous proximal gradient (a barrier per round, p = 1)',
  fixedP: 1,
  strategy: (run) => new SyncBarrier(run),
};
