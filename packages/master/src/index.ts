/*
 * @soda/master's public surface: what other packages use, named one by one (no `export *`, so an
 * internal module stays internal). The master's own tests import from ../src directly.
 */

// The service and its configuration (cli/commands/master.ts, library users, test/)
export { Master, type MasterResult } from './server';
export { MASTER_DEFAULTS, resolveMasterConfig, type MasterConfig, type MasterOptions } from './config';
export { ALGO_NAMES, algorithm, isAlgo, type Algo, type Algorithm } from './algo';
export { readCheckpoint, type Checkpoint } from './checkpoint';
export type { AdmissionLimits } from './admission';
export type { DivergenceRule } from './divergence';

// The master's pure parts that test/ checks against the workers and the solver
export {
  checkEvalClaim,
  checkReadyClaim,
  checkRoundObjective,
  normSq,
  shardFacts,
  shardObjective,
  spotCheck,
} from './claims';
export { checkReady, chooseStopRule, GapRound, StatsRound, stopReached } from './data-at-scale';
export { EvalRound } from './eval-round';
export { createMetrics } from './metrics';
export { ModelState } from './model-state';
export { columnsOf } from './shard-iterate';
export { Coordinator } from './coordinator';
export type { Command } from './events';
export { RunState } from './run-state';
export { finishedRun } from './finished-run';
export type { RunEnd } from './run-end';
export { ModelReplies } from './model-replies';
