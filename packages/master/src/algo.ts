import type { Algorithm } from './algorithm';
import { davePg } from './algorithms/dave-pg';
import { soda } from './algorithms/soda';
import { syncPg } from './algorithms/sync-pg';

export type { Algorithm };

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
