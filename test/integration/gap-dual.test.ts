import { compositeObjective, dualityGap, dualObjective, marginsCsr, Rng, type Dataset } from '@soda/core';
import { solveReference } from '@soda/solver';
import { digitsLike, madelonSmall } from '../helpers/gap-problems';
import { centralProblem } from '../helpers/sim-cluster';

/*
 * core/gap.ts's dual of the problem as it is solved (max-abs scaled rows, the intercept's column
 * appended after scaling, λ2 on every coordinate, λ1 on all but the intercept), checked against
 * computations that share nothing with it:
 *   - D(θ) at random θ ∈ (0,1)^m equals min_w L(w, θ), the Lagrangian minimised here coordinate by
 *     coordinate by golden-section search (no soft-threshold formula), and is ≤ F* (weak duality);
 *   - at w*, θ* = θ(w*) gives D = F* and w* = argmin_w L(w, θ*) (the primal-dual link, by the same
 *     search), so the gap closes;
 *   - thresholding the intercept's v_u as well (the bug of issue 16) puts D above F*.
 */

const H = (t: number) => t * Math.log(t) + (1 - t) * Math.log(1 - t);

/** min over t of (λ2/2)t² − v t + c|t| by golden-section search on [−B, B] (convex, unimodal). */
function minimise1d(v: number, c: number, lambda2: number): { t: number; value: number } {
  const f = (t: number) => 0.5 * lambda2 * t * t - v * t + c * Math.abs(t);
  const B = (Math.abs(v) + 1) / lambda2;
  let a = -B;
  let b = B;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 200; it++) {
    const x1 = b - g * (b - a);
    const x2 = a + g * (b - a);
    if (f(x1) <= f(x2)) b = x2;
    else a = x1;
  }
  const t = (a + b) / 2;
  return { t, value: f(t) };
}

/** The dual at θ, independently: entropy term plus Σ_k min_w_k of the Lagrangian's k-th term. */
function lagrangianMin(ds: Dataset, theta: Float64Array, l1: number, l2: number, u: number) {
  const { X, y } = ds;
  const m = X.rows;
  const v = new Float64Array(X.cols);
  let ent = 0;
  for (let j = 0; j < m; j++) {
    ent += H(theta[j]);
    for (let q = X.ptr[j]; q < X.ptr[j + 1]; q++) v[X.ind[q]] += (theta[j] * y[j] * X.val[q]) / m;
  }
  // L(w, θ) = (1/m)Σ_j (−θ_j y_j x_jᵀw − H(θ_j)) + (λ2/2)‖w‖² + λ1‖w_{<u}‖₁ = −ent/m + Σ_k [(λ2/2)w_k² − v_k w_k + λ1_k|w_k|]
  let value = -ent / m;
  const w = new Float64Array(X.cols);
  for (let k = 0; k < X.cols; k++) {
    const r = minimise1d(v[k], k < u ? l1 : 0, l2);
    value += r.value;
    w[k] = r.t;
  }
  return { value, w, v };
}

/** The totals core's dualObjective takes, at an arbitrary θ. */
function totals(ds: Dataset, theta: Float64Array) {
  const { X, y } = ds;
  let entropySum = 0;
  const u = new Float64Array(X.cols);
  for (let j = 0; j < X.rows; j++) {
    entropySum += H(theta[j]);
    for (let q = X.ptr[j]; q < X.ptr[j + 1]; q++) u[X.ind[q]] += theta[j] * y[j] * X.val[q];
  }
  return { entropySum, u };
}

describe.each([
  ['madelon', () => madelonSmall(2, 100, 24), 1e-3, 1e-2],
  ['digits-like', () => Promise.resolve(digitsLike(3, 120)), 2e-3, 1e-2],
])('the dual of %s', (_name, make, lambda1, lambda2) => {
  for (const intercept of [true, false]) {
    test(`intercept ${intercept}: D(θ) = min_w L(w, θ) ≤ F*; at w* the gap closes and w* = argmin L`, async () => {
      const { data, unpenalizedFrom: u } = centralProblem(await make(), intercept);
      const n = data.X.cols;
      const sol = solveReference(data, lambda1, lambda2, { unpenalizedFrom: u, tol: 1e-14 });
      const fstar = sol.fstar;
      expect(Math.abs(compositeObjective(data.X, data.y, sol.w, lambda1, lambda2, u) - fstar)).toBeLessThan(
        1e-15 * fstar + 1e-16,
      );
      const rng = new Rng(17);
      for (let trial = 0; trial < 20; trial++) {
        // random points, some near the optimum's θ*: the bound must hold everywhere
        const z = marginsCsr(data.X, sol.w);
        const theta = Float64Array.from(z, (zj, j) => {
          const star = 1 / (1 + Math.exp(data.y[j] * zj));
          const t = trial < 10 ? rng.next() : star + 0.05 * (rng.next() - 0.5);
          return Math.min(1 - 1e-12, Math.max(1e-12, t));
        });
        const { entropySum, u: tot } = totals(data, theta);
        const D = dualObjective(entropySum, tot, data.X.rows, lambda1, lambda2, u);
        const brute = lagrangianMin(data, theta, lambda1, lambda2, u);
        expect(Math.abs(D - brute.value)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(D)));
        expect(D).toBeLessThanOrEqual(fstar + 1e-13 * fstar);
      }
      // at w*: D(θ(w*)) = F*, and the Lagrangian's minimiser at θ* is w* itself
      const g = dualityGap(data.X, data.y, sol.w, lambda1, lambda2, u);
      expect(g.gapRel).toBeLessThanOrEqual(1e-11);
      expect(g.gap).toBeGreaterThanOrEqual(-1e-13 * fstar);
      const z = marginsCsr(data.X, sol.w);
      const thetaStar = Float64Array.from(z, (zj, j) => 1 / (1 + Math.exp(data.y[j] * zj)));
      const link = lagrangianMin(data, thetaStar, lambda1, lambda2, u);
      for (let k = 0; k < n; k++) expect(Math.abs(link.w[k] - sol.w[k])).toBeLessThan(1e-6);
      if (intercept) {
        expect(sol.w[n - 1]).not.toBe(0);
        // the intercept's v_u = λ2 w*_u exactly (no threshold): thresholding it too lifts D above F*
        expect(link.v[n - 1]).toBeCloseTo(lambda2 * sol.w[n - 1], 9);
        const wrong = dualityGap(data.X, data.y, sol.w, lambda1, lambda2, n);
        expect(wrong.dual).toBeGreaterThan(fstar + 1e-9 * fstar);
      }
    });
  }
});
