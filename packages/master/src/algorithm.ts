import type { ApplyStrategy, StrategyHost } from './strategies';

/**
 * One algorithm the master can run: everything that differs between variants, in one value. Adding
 * one is a file in algorithms/ exporting an Algorithm, plus its line in ALGORITHMS (algo.ts); the
 * config (its p rule), the coordinator (its strategy), the checkpoint and the logs then know it.
 */
export interface Algorithm {
  /** one line for errors and logs */
  readonly describe: string;
  /** the mask probability it runs at whatever the user says (DAve-PG and sync-PG: p = 1), or null */
  readonly fixedP: number | null;
  /** how the master applies the Δ it receives (strategies.ts) */
  strategy(run: StrategyHost): ApplyStrategy;
}
