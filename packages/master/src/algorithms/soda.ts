import type { Algorithm } from '../algorithm';
import { AsyncApply } from '../strategies';

/** Algorithm 1 of the paper: asynchronous, each worker's step on a random mask of probability p. */
export const soda: Algorithm = {
  describe: 'SODA: asynchronous, sparse masks of probability p (Algorithm 1)',
  fixedP: null,
  strategy: (run) => new AsyncApply(run),
};
