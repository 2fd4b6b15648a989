import type { Algorithm } from '../algorithm';
import { AsyncApply } from '../strategies';

/** DAve-PG: Algorithm 1 with p = 1 (every coordinate computed and sent). */
export const davePg: Algorithm = {
  describe: 'DAve-PG: SODA with p = 1',
  fixedP: 1,
  strategy: (run) => new AsyncApply(run),
};
