import {
  csrToCsc,
  gradientCsr,
  lossResiduals,
  marginsCsr,
  smoothObjective,
  sparseFromDense,
} from '@soda/core';
import { LocalStep } from '@soda/worker';
import { plantedProblem } from '../../../test/helpers/problems';

/** 4 planted weights of scale 2, label noise 0.3 */
const problem = (seed: number, m: number, n: number) => plantedProblem(seed, m, n, 4, 2, 0.3);

describe('LocalStep: the worker side of Algorithm 1', () => {
  it('Δ is [w − γ∇f_i(w)]_M − [w_i]_M on the mask and nothing elsewhere', () => {
    const { X, y } = problem(1, 60, 40);
    const lambda2 = 0.01;
    const gamma = 0.3;
    const wi0 = new Float64Array(40).map((_, j) => (j % 3 === 0 ? 0.1 * j : 0));
    const local = new LocalStep({ X: csrToCsc(X), y }, lambda2, sparseFromDense(wi0), 5);
    const wDense = new Float64Array(40).map((_, j) => (j % 5 === 0 ? 0.2 - 0.01 * j : 0));
    const w = sparseFromDense(wDense);
    const { delta, maskSize } = local.step(w, gamma, 0.3);
    const g = gradientCsr(X, lossResiduals(marginsCsr(X, wDense), y), wDense, lambda2);
    expect(local.evaluate(w).fi).toBeCloseTo(smoothObjective(X, y, wDense, lambda2), 12);
    const inDelta = new Map<number, number>();
    delta.idx.forEach((j, t) => inDelta.set(j, delta.val[t]));
    expect(maskSize).toBeGreaterThanOrEqual(w.idx.length);
    for (const j of w.idx) expect(local.wi[j]).toBeCloseTo(wDense[j] - gamma * g[j], 14); // supp(w) ⊆ M always
    for (let j = 0; j < 40; j++) {
      if (inDelta.has(j)) {
        expect(local.wi[j]).toBeCloseTo(wDense[j] - gamma * g[j], 14);
        expect(inDelta.get(j)!).toBeCloseTo(wDense[j] - gamma * g[j] - wi0[j], 14);
      } else {
        // Either outside the mask (w_i kept) or inside with a zero change.
        const kept = local.wi[j] === wi0[j];
        expect(kept).toBe(true);
      }
    }
  });
});
