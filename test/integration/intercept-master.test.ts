import {
  compositeObjective,
  csrFromDense,
  Rng,
  selectRows,
  smoothObjective,
  smoothValueGrad,
  sparseFromDense,
  withIntercept,
  type Dataset,
} from '@soda/core';
import { EvalRound, ModelState } from '@soda/master';
import { solveReference } from '@soda/solver';

/*
 * The master's side of the intercept: ModelState skips the prox on coordinates ≥ unpenalizedFrom and
 * EvalRound leaves them out of λ1‖w‖₁. Driven here by DAve-PG's worker step (w_i = w − γ∇f_i(w))
 * computed in the test, Algorithm 1 must reach the reference solver's solution of the same objective.
 */

function shardedProblem(): { ds: Dataset; shards: Dataset[]; pi: number[] } {
  const rng = new Rng(21);
  const m = 90;
  const n = 7;
  const rows = Array.from({ length: m }, () =>
    Array.from({ length: n }, () => (rng.next() < 0.5 ? rng.normal() : 0)),
  );
  const y = Float64Array.from(rows, (r) => (r[0] - r[1] + 1.2 + 0.4 * rng.normal() > 0 ? 1 : -1));
  const ds = withIntercept({ X: csrFromDense(rows, n), y });
  const parts = [
    [0, 30],
    [30, 55],
    [55, 90],
  ];
  const shards = parts.map(([a, b]) => {
    const r = Uint32Array.from({ length: b - a }, (_, i) => a + i);
    return { X: selectRows(ds.X, r), y: Float64Array.from(r, (i) => y[i]) };
  });
  return { ds, shards, pi: parts.map(([a, b]) => (b - a) / m) };
}

describe('ModelState and EvalRound with an intercept', () => {
  test('Algorithm 1 (p = 1) converges to the reference solution with an unpenalised intercept', () => {
    const { ds, shards, pi } = shardedProblem();
    const n = ds.X.cols; // 8: 7 features + the intercept
    const l1 = 0.03;
    const l2 = 0.01;
    const gamma = 1;
    const state = new ModelState(n, pi, gamma, l1, n - 1);
    for (let k = 0; k < 4000; k++) {
      const i = k % shards.length;
      const w = state.wDense();
      const { grad } = smoothValueGrad(shards[i].X, shards[i].y, w, l2);
      const next = w.map((v, j) => v - gamma * grad[j]);
      const wi = state.wiDense(i);
      const delta = next.map((v, j) => v - wi[j]);
      state.apply(i, sparseFromDense(delta));
    }
    const ref = solveReference(ds, l1, l2, { unpenalizedFrom: n - 1 });
    for (let j = 0; j < n; j++) expect(state.wDense()[j]).toBeCloseTo(ref.w[j], 9);
    expect(state.wDense()[n - 1]).not.toBe(0);
    const w = state.current();
    expect(state.unpenalizedFrom).toBe(n - 1);

    // One evaluation round: F = Σ π_i f_i + λ1‖w_{<n−1}‖₁ equals F on the whole data.
    const round = new EvalRound({
      id: 1,
      k: state.k,
      w,
      pi: Float64Array.from(pi),
      startedAt: 0,
      restarts: 0,
      wbar: sparseFromDense(state.wbarDense()),
      counts: new Uint32Array(pi.length),
      snapshot: null,
    });
    shards.forEach((s, i) => round.record(i, smoothObjective(s.X, s.y, state.wDense(), l2), 0));
    const F = compositeObjective(ds.X, ds.y, state.wDense(), l1, l2, n - 1);
    const u = state.unpenalizedFrom;
    expect(round.objective(l1, u)).toBeCloseTo(F, 14);
    expect(round.objective(l1, u)).toBeCloseTo(ref.fstar, 12);
    // Counting the intercept in the ℓ1 term would have added λ1|b|.
    expect(round.objective(l1) - round.objective(l1, u)).toBeCloseTo(
      l1 * Math.abs(state.wDense()[n - 1]),
      14,
    );
  });

  test('without unpenalizedFrom nothing changes: every coordinate is soft-thresholded', () => {
    const s = new ModelState(2, [1], 1, 1);
    s.apply(0, { n: 2, idx: Uint32Array.from([0, 1]), val: Float64Array.from([0.5, 0.5]) });
    expect(Array.from(s.wDense())).toEqual([0, 0]);
    const t = new ModelState(2, [1], 1, 1, 1);
    t.apply(0, { n: 2, idx: Uint32Array.from([0, 1]), val: Float64Array.from([0.5, 0.5]) });
    expect(Array.from(t.wDense())).toEqual([0, 0.5]);
    t.setGamma(0.1);
    expect(Array.from(t.wDense())).toEqual([0.4, 0.5]);
  });
});
