import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compositeObjective, csrFromDense, Rng, withIntercept, type Dataset } from '@soda/core';
import { kktViolation, solveCached, solveReference } from '@soda/solver';

/*
 * The intercept: a constant last column whose weight b is not ℓ1-penalised (λ2 still applies). The
 * reference solver is checked against computations written here that share no code with it: a
 * bisection on the 1-D optimality equation of b, and a dense proximal gradient that leaves b alone.
 */

function loss(t: number): number {
  return t >= 0 ? Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)) - t;
}
function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** Dense rows with a planted model and an offset, so the intercept matters. */
function problem(seed: number, m: number, n: number, offset: number): { rows: number[][]; y: Float64Array } {
  const rng = new Rng(seed);
  const rows = Array.from({ length: m }, () =>
    Array.from({ length: n }, () => (rng.next() < 0.5 ? rng.normal() : 0)),
  );
  const truth = Array.from({ length: n }, (_, j) => (j < 3 ? 2 * rng.normal() : 0));
  const y = Float64Array.from(rows, (r) =>
    r.reduce((s, v, j) => s + v * truth[j], offset) + 0.3 * rng.normal() > 0 ? 1 : -1,
  );
  return { rows, y };
}

/** Proximal gradient on [w, b] (b last), soft-thresholding all but b: dense loops only. */
function denseProxGradient(
  rows: number[][],
  y: Float64Array,
  l1: number,
  l2: number,
  iters: number,
): number[] {
  const n = rows[0].length + 1;
  const m = rows.length;
  const x = rows.map((r) => [...r, 1]);
  // L ≤ λ_max(XᵀX)/(4m) + λ2 ≤ ‖X‖_F²/(4m) + λ2.
  const L = x.reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0), 0) / (4 * m) + l2;
  const g = 1 / L;
  const w = new Array<number>(n).fill(0);
  for (let k = 0; k < iters; k++) {
    const grad = w.map((wj) => l2 * wj);
    for (let i = 0; i < m; i++) {
      let z = 0;
      for (let j = 0; j < n; j++) z += x[i][j] * w[j];
      const r = (-y[i] * sigmoid(-y[i] * z)) / m;
      for (let j = 0; j < n; j++) grad[j] += r * x[i][j];
    }
    for (let j = 0; j < n; j++) {
      const v = w[j] - g * grad[j];
      const t = j < n - 1 ? g * l1 : 0;
      w[j] = v > t ? v - t : v < -t ? v + t : 0;
    }
  }
  return w;
}

function denseF(rows: number[][], y: Float64Array, w: number[], l1: number, l2: number): number {
  let s = 0;
  for (let i = 0; i < rows.length; i++) {
    let z = w[w.length - 1];
    for (let j = 0; j < rows[i].length; j++) z += rows[i][j] * w[j];
    s += loss(y[i] * z);
  }
  let ridge = 0;
  let lasso = 0;
  for (let j = 0; j < w.length; j++) {
    ridge += w[j] * w[j];
    if (j < w.length - 1) lasso += Math.abs(w[j]);
  }
  return s / rows.length + 0.5 * l2 * ridge + l1 * lasso;
}

describe('reference solver with an intercept (not ℓ1-penalised)', () => {
  test('λ1 above every feature gradient: w = 0 and b solves (1/m)Σ −y σ(−y b) + λ2 b = 0 (bisection)', () => {
    const { rows, y } = problem(3, 80, 6, 1.5);
    const ds: Dataset = withIntercept({ X: csrFromDense(rows, 6), y });
    const l2 = 1e-2;
    const res = solveReference(ds, 10, l2, { unpenalizedFrom: 6 });
    const pos = y.filter((v) => v > 0).length / y.length;
    // h(b) = −p σ(−b) + (1 − p) σ(b) + λ2 b is increasing: bisection to machine precision.
    const h = (b: number) => -pos * sigmoid(-b) + (1 - pos) * sigmoid(b) + l2 * b;
    let lo = -20;
    let hi = 20;
    for (let k = 0; k < 200; k++) {
      const mid = 0.5 * (lo + hi);
      if (h(mid) > 0) hi = mid;
      else lo = mid;
    }
    expect(Array.from(res.w.slice(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(res.w[6]).toBeCloseTo(0.5 * (lo + hi), 12);
    expect(Math.abs(res.w[6])).toBeGreaterThan(0.3); // the classes are unbalanced: b is far from 0
    // Penalising the intercept too (the old problem) would have left it at 0 for λ1 = 10.
    expect(solveReference(ds, 10, l2).w[6]).toBe(0);
  });

  test('equals a dense proximal gradient that leaves b unpenalised (w to 1e−8, F to 1e−12)', () => {
    const { rows, y } = problem(11, 120, 8, -1);
    const ds = withIntercept({ X: csrFromDense(rows, 8), y });
    const l1 = 0.02;
    const l2 = 0.05;
    const res = solveReference(ds, l1, l2, { unpenalizedFrom: 8 });
    const ref = denseProxGradient(rows, y, l1, l2, 6000);
    for (let j = 0; j < 9; j++) expect(res.w[j]).toBeCloseTo(ref[j], 8);
    expect(res.w[8]).not.toBe(0);
    expect(res.fstar).toBeCloseTo(denseF(rows, y, ref, l1, l2), 12);
    expect(res.fstar).toBeCloseTo(denseF(rows, y, Array.from(res.w), l1, l2), 13);
    expect(res.fstar).toBe(compositeObjective(ds.X, ds.y, res.w, l1, l2, 8));
    expect(res.unpenalizedFrom).toBe(8);
    // KKT with b exempt, and the gap bound ‖v‖²/(2λ2) of the stopping rule still holds.
    expect(kktViolation(ds, res.w, l1, l2, 8)).toBeLessThanOrEqual(1e-13);
    expect(res.gapBound).toBeLessThan(1e-20);
    // A worse point: its true gap is below its gap bound.
    const w2 = Float64Array.from(res.w);
    w2[8] += 0.1;
    const gap = compositeObjective(ds.X, ds.y, w2, l1, l2, 8) - res.fstar;
    const bound = solveReference(ds, l1, l2, { unpenalizedFrom: 8, w0: w2, maxIter: 0, tol: 1 }).gapBound;
    expect(gap).toBeGreaterThan(0);
    expect(gap).toBeLessThanOrEqual(bound);
  });

  test('solveCached keys the intercept: with and without it are different entries', async () => {
    const { rows, y } = problem(5, 60, 5, 0.8);
    const ds = withIntercept({ X: csrFromDense(rows, 5), y });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-int-'));
    const a = await solveCached(ds, 0.01, 0.01, { cacheDir: dir, unpenalizedFrom: 5 });
    const b = await solveCached(ds, 0.01, 0.01, { cacheDir: dir });
    expect(a.key).not.toBe(b.key);
    expect(a.fstar).toBeLessThan(b.fstar); // a free intercept fits at least as well
    const again = await solveCached(ds, 0.01, 0.01, { cacheDir: dir, unpenalizedFrom: 5, verify: true });
    expect(again.cached).toBe(true);
    expect(again.fstar).toBe(a.fstar);
    expect(again.unpenalizedFrom).toBe(5);
  });
});
