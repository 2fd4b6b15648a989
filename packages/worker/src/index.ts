/*
 * @soda/worker's public surface, named one by one: no `export *`. Besides keeping internals internal,
 * this is for speed: tsc compiles `export *` into one shared getter (`m[k]`) for every name, a
 * megamorphic load that V8 cannot inline, and it cost ≈ 9 % of the master's CPU per update in a hot
 * loop (`npm run bench:master`); a named re-export gets a getter of its own, which V8 inlines.
 */
export { type WorkerConfig } from './config';
export {
  columnMaxima,
  compactCsc,
  localIndex,
  localRows,
  localShard,
  localSmoothness,
  prepareShard,
  scaleRows,
  type LocalRows,
  type LocalShard,
} from './columns';
export { LocalStep, type PositionMode, type StepResult } from './local-step';
export { Worker, type WorkerResult } from './service';
export { SHARD_TOKEN, prepareOwnShard, readOwnShard, shardPath, shardStats, type OwnShard } from './own-data';
export { HeldModel } from './held-model';
