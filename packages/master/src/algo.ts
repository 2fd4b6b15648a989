import type { RunState } from './run-state';
import type { ApplyStrategy } from './strategies';
import { davePg } from './algorithms/dave-pg';
import { soda } from './algorithms/soda';
import { syncPg } from './algorithms/sync-pg';

/**
 * One algorithm the master can run: everything that differs between variants, in one value. Adding
 * one is a file in algorithms/ exporting an Algorithm, plus its line in ALGORITHMS below; the config
 * (its p rule), the coordinator (its strategy), the checkpoint and the logs then know it.
 */
export interface Algorithm {
  /** one line for --help and errors */
  readonly describe: string;
  /** the mask probability it runs at whatever the user says (DAve-PG and sync-PG: p = 1), or null */
  readonly fixedP: number | null;
  /** how the master applies the Δ it receives (strategies.ts) */
  strategy(run: RunState): ApplyStrategy;
}

/** The registry: name → algorithm. */
export const ALGORITHMS = {
  soda,
  'dave-pg': davePg,
  'sync-pg': syncPg,
} as const satisfies Readonly<Record<string, Algorithm>>;

/** The algorithms a master runs: SODA (Algorithm 1), DAve-PG (SODA with p = 1) and synchronous PG. */
export type Algo = keyof typeof ALGORITHMS;

export const ALGO_NAMES = Object.freeze(Object.keys(ALGORITHMS)) as readonly Algo[];

export function isAlgo(name: unknown): name is Algo {
  return typeof name === 'string' && Object.hasOwn(ALGORITHMS, name);
}

export function algorithm(name: Algo): Algorithm {
  return ALGORITHMS[name];
}
