import {
  csrFromDense,
  csrToCsc,
  dualityGap,
  dualityGapFrom,
  entropyAtMargin,
  GapAccumulator,
  gapPartCsc,
  gapPartCsr,
  logLoss,
  marginsCsr,
  Rng,
  selectRows,
  SodaError,
  type CsrMatrix,
  type Dataset,
} from '@soda/core';
import { solveReference } from '@soda/solver';

/*
 * The duality gap is checked against the reference solver's F* (it must bound F − F* everywhere and
 * vanish at w*), against the Fenchel equality of the logistic loss (closed form), and against finite
 * differences of the loss (v = −∇ of the mean loss).
 */

function randomProblem(m: number, n: number, density: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const wTrue = Array.from({ length: n }, (_, j) => (j % 4 === 0 ? rng.normal() : 0));
  const rows: number[][] = [];
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const row = Array.from({ length: n }, () => (rng.next() < density ? rng.normal() : 0));
    let z = 0;
    for (let j = 0; j < n; j++) z += row[j] * wTrue[j];
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : -1;
    rows.push(row);
  }
  return { X: csrFromDense(rows, n), y };
}

/** Proximal gradient with per-coordinate thresholds, written here: the path the gap is checked along. */
function proxGradPath(
  ds: Dataset,
  l1: Float64Array,
  l2: number,
  steps: number,
  gamma: number,
): Float64Array[] {
  const { X, y } = ds;
  const n = X.cols;
  let w = new Float64Array(n);
  const path = [w];
  for (let s = 0; s < steps; s++) {
    const z = marginsCsr(X, w);
    const g = new Float64Array(n);
    for (let i = 0; i < X.rows; i++) {
      const r = -y[i] / (1 + Math.exp(y[i] * z[i])) / X.rows;
      for (let q = X.ptr[i]; q < X.ptr[i + 1]; q++) g[X.ind[q]] += X.val[q] * r;
    }
    const next = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const v = w[j] - gamma * (g[j] + l2 * w[j]);
      const t = gamma * l1[j];
      next[j] = v > t ? v - t : v < -t ? v + t : 0;
    }
    w = next;
    path.push(w);
  }
  return path;
}

const ds = randomProblem(300, 40, 0.3, 7);
const lambda1 = 0.01;
const lambda2 = 1e-2;

describe('duality gap', () => {
  const sol = solveReference(ds, lambda1, lambda2);

  it('bounds F − F* at every point of a proximal-gradient path (F* from the reference solver)', () => {
    const path = proxGradPath(ds, new Float64Array(40).fill(lambda1), lambda2, 400, 0.5);
    let checked = 0;
    for (const w of path) {
      const g = dualityGap(ds.X, ds.y, w, lambda1, lambda2, 40);
      const subopt = g.objective - sol.fstar;
      expect(g.dual).toBeLessThanOrEqual(sol.fstar + 1e-14);
      expect(g.gap).toBeGreaterThanOrEqual(subopt - 1e-14);
      checked++;
    }
    expect(checked).toBe(401);
    // and it decreases towards 0 along the path
    const first = dualityGap(ds.X, ds.y, path[0], lambda1, lambda2, 40).gap;
    const last = dualityGap(ds.X, ds.y, path[400], lambda1, lambda2, 40).gap;
    expect(last).toBeLessThan(first * 1e-3);
  });

  it('shrinks to ≤ 1e−8 relative at the solver’s w*', () => {
    const g = dualityGap(ds.X, ds.y, sol.w, lambda1, lambda2, 40);
    expect(Math.abs(g.objective - sol.fstar)).toBeLessThanOrEqual(1e-14 * sol.fstar);
    expect(g.gapRel).toBeLessThanOrEqual(1e-8);
    expect(g.gap).toBeGreaterThanOrEqual(-1e-14);
  });

  it('H(σ(−z)) satisfies the Fenchel equality ℓ(z) = −θz − H(θ), also at |z| = 1000', () => {
    for (const z of [-1000, -40, -3, -0.5, 0, 1e-9, 0.7, 5, 36, 1000]) {
      const theta = z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
      const h = entropyAtMargin(z);
      expect(Number.isFinite(h)).toBe(true);
      expect(h).toBeLessThanOrEqual(0);
      expect(-theta * z - h).toBeCloseTo(logLoss(z), 12);
      if (Math.abs(z) < 30) {
        const direct = theta * Math.log(theta) + (1 - theta) * Math.log(1 - theta);
        expect(Math.abs(h - direct)).toBeLessThanOrEqual(1e-15 + 1e-12 * Math.abs(direct));
      }
    }
  });

  it('v = (1/m) Σ θ_j y_j x_j is minus the gradient of the mean loss (finite differences)', () => {
    const rng = new Rng(3);
    const w = Float64Array.from({ length: 40 }, () => 0.3 * rng.normal());
    const part = gapPartCsr(ds.X, ds.y, w);
    const v = new Float64Array(40);
    part.u.idx.forEach((k, t) => (v[k] = part.u.val[t] / ds.X.rows));
    const meanLoss = (x: Float64Array): number => {
      const z = marginsCsr(ds.X, x);
      let s = 0;
      for (let i = 0; i < ds.X.rows; i++) s += logLoss(ds.y[i] * z[i]);
      return s / ds.X.rows;
    };
    for (const k of [0, 5, 17, 39]) {
      const h = 1e-6;
      const a = Float64Array.from(w);
      const b = Float64Array.from(w);
      a[k] += h;
      b[k] -= h;
      const fd = (meanLoss(a) - meanLoss(b)) / (2 * h);
      expect(Math.abs(-fd - v[k])).toBeLessThan(1e-8);
    }
  });

  it('shard parts (CSC, as workers compute them) sum to the central gap', () => {
    const rng = new Rng(11);
    const w = Float64Array.from({ length: 40 }, () => 0.2 * rng.normal());
    const central = dualityGap(ds.X, ds.y, w, lambda1, lambda2, 40);
    const acc = new GapAccumulator(40);
    const cuts = [0, 70, 71, 200, 300];
    for (let s = 0; s + 1 < cuts.length; s++) {
      const ids = Array.from({ length: cuts[s + 1] - cuts[s] }, (_, r) => cuts[s] + r);
      const Xi: CsrMatrix = selectRows(ds.X, ids);
      const yi = ds.y.filter((_, r) => r >= cuts[s] && r < cuts[s + 1]);
      acc.add(gapPartCsc(csrToCsc(Xi), yi, marginsCsr(Xi, w)));
    }
    expect(acc.count).toBe(4);
    const g = acc.result(central.objective, lambda1, lambda2, 40);
    expect(Math.abs(g.dual - central.dual)).toBeLessThanOrEqual(1e-14 * Math.abs(central.dual));
    expect(g.gap).toBeCloseTo(central.gap, 14);
  });

  it('an unpenalised intercept column: weak duality holds and the gap closes at the optimum', () => {
    // append a constant column (the intercept), with ℓ1 weight 0 there and λ2 still applied
    const dense = ds.X;
    const rows: number[][] = [];
    for (let i = 0; i < dense.rows; i++) {
      const r = new Array<number>(41).fill(0);
      for (let q = dense.ptr[i]; q < dense.ptr[i + 1]; q++) r[dense.ind[q]] = dense.val[q];
      r[40] = 1;
      rows.push(r);
    }
    const di: Dataset = {
      X: csrFromDense(rows, 41),
      y: Float64Array.from(ds.y, (v, i) => (i % 3 === 0 ? 1 : v)),
    };
    const l1 = new Float64Array(41).fill(0.05);
    l1[40] = 0;
    const path = proxGradPath(di, l1, lambda2, 6000, 0.5);
    const end = dualityGap(di.X, di.y, path[path.length - 1], 0.05, lambda2, 40);
    expect(path[path.length - 1][40]).not.toBe(0); // the intercept is in use
    expect(end.gapRel).toBeLessThan(1e-10);
    // weak duality: every D along the path is below every F along the path, and below F at the end
    for (let s = 0; s < path.length; s += 300) {
      const g = dualityGap(di.X, di.y, path[s], 0.05, lambda2, 40);
      expect(g.dual).toBeLessThanOrEqual(end.objective + 1e-14);
      expect(g.gap).toBeGreaterThanOrEqual(g.objective - end.objective - 1e-12);
    }
  });

  it('refuses λ2 = 0 and an unpenalizedFrom outside [0, n] with coded errors', () => {
    expect(() => dualityGapFrom(1, -1, new Float64Array(3), 5, 0.1, 0, 3)).toThrow(SodaError);
    expect(() => dualityGapFrom(1, -1, new Float64Array(3), 5, 0.1, 1, 4)).toThrow(
      /unpenalizedFrom = 4 is not in \[0, 3\]/,
    );
    expect(() => dualityGapFrom(1, -1, new Float64Array(3), 5, 0.1, 1, -1)).toThrow(SodaError);
    expect(dualityGapFrom(1, -1, new Float64Array(3), 5, 0.1, 1, 0).dual).toBeCloseTo(0.2, 15);
  });
});
