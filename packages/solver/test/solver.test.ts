import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compositeObjective, csrFromDense, Rng, SodaError } from '@soda/core';
import { datasetKey, kktViolation, solveCached, solveKey, solveReference } from '@soda/solver';
import type { Dataset } from '@soda/core';

/*
 * The reference solver is checked against computations that share no code with it: dense loops for
 * f, finite differences for ∇f, plain gradient descent and proximal gradient written here, bisection
 * on a 1-D optimality equation, and the closed form w* = 0 for λ1 ≥ ‖∇f(0)‖∞.
 */

// ---------- independent dense reference ----------

function loss(t: number): number {
  return t >= 0 ? Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)) - t;
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** f(w) = mean loss + (λ2/2)‖w‖², by plain dense loops. */
function denseF(rows: number[][], y: Float64Array, w: ArrayLike<number>, l2: number): number {
  let s = 0;
  for (let i = 0; i < rows.length; i++) {
    let z = 0;
    for (let j = 0; j < w.length; j++) z += rows[i][j] * w[j];
    s += loss(y[i] * z);
  }
  let r = 0;
  for (let j = 0; j < w.length; j++) r += w[j] * w[j];
  return s / rows.length + 0.5 * l2 * r;
}

function denseGrad(rows: number[][], y: Float64Array, w: ArrayLike<number>, l2: number): number[] {
  const g = Array.from(w, (wj) => l2 * wj);
  for (let i = 0; i < rows.length; i++) {
    let z = 0;
    for (let j = 0; j < w.length; j++) z += rows[i][j] * w[j];
    const c = (-y[i] * sigmoid(-y[i] * z)) / rows.length;
    for (let j = 0; j < w.length; j++) g[j] += c * rows[i][j];
  }
  return g;
}

/** Central finite difference of f along coordinate j. */
function fdGrad(rows: number[][], y: Float64Array, w: Float64Array, l2: number, j: number, h = 1e-5): number {
  const a = Float64Array.from(w);
  const b = Float64Array.from(w);
  a[j] += h;
  b[j] -= h;
  return (denseF(rows, y, a, l2) - denseF(rows, y, b, l2)) / (2 * h);
}

/** 1/L with L = ‖X‖_F²/(4m) + λ2 ≥ the true smoothness constant. */
function safeStep(rows: number[][], l2: number): number {
  let fro = 0;
  for (const r of rows) for (const v of r) fro += v * v;
  return 1 / (fro / (4 * rows.length) + l2);
}

function denseProblem(seed: number, m: number, n: number) {
  const rng = new Rng(seed);
  const rows = Array.from({ length: m }, () => Array.from({ length: n }, () => rng.normal()));
  const truth = Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 1.5 * rng.normal() : 0));
  const y = Float64Array.from(rows, (r) => {
    const z = r.reduce((s, v, j) => s + v * truth[j], 0);
    return rng.next() < sigmoid(z) ? 1 : -1;
  });
  const ds: Dataset = { X: csrFromDense(rows, n), y };
  return { rows, y, ds };
}

/** Sparse, positive, unit-length rows (tf-idf-like) with labels from a planted sparse model. */
function sparseProblem(seed: number, m: number, n: number, perRow: number): Dataset {
  const rng = new Rng(seed);
  const truth = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? 3 * rng.normal() : 0));
  const ptr = new Float64Array(m + 1);
  const ind: number[] = [];
  const val: number[] = [];
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const cols = new Set<number>();
    while (cols.size < perRow) cols.add(Math.min(n - 1, Math.floor(n * rng.next() ** 2))); // skewed frequencies
    const idx = [...cols].sort((a, b) => a - b);
    const v = idx.map(() => 0.2 + rng.next());
    const norm = Math.hypot(...v);
    let z = 0;
    idx.forEach((j, t) => {
      ind.push(j);
      val.push(v[t] / norm);
      z += (v[t] / norm) * truth[j];
    });
    ptr[i + 1] = ind.length;
    y[i] = rng.next() < sigmoid(4 * z) ? 1 : -1;
  }
  return { X: { rows: m, cols: n, ptr, ind: Uint32Array.from(ind), val: Float64Array.from(val) }, y };
}

function nextUp(x: number): number {
  const f = Float64Array.of(x);
  const b = new BigInt64Array(f.buffer);
  b[0] += 1n; // x > 0
  return f[0];
}

// ---------- (1) correctness against independent computations ----------

describe('solveReference: small problems against independent computations', () => {
  test('λ1 = 0: ∇f(w*) = 0 by finite differences, and w* matches plain gradient descent to 1e−10', () => {
    const { rows, y, ds } = denseProblem(1, 50, 6);
    const l2 = 1e-2;
    const res = solveReference(ds, 0, l2);
    expect(res.certificate).toBeLessThanOrEqual(1e-13);
    for (let j = 0; j < 6; j++) expect(Math.abs(fdGrad(rows, y, res.w, l2, j))).toBeLessThan(1e-8);

    const w = new Float64Array(6);
    const step = safeStep(rows, l2);
    for (let it = 0; it < 200000; it++) {
      const g = denseGrad(rows, y, w, l2);
      if (Math.max(...g.map(Math.abs)) < 1e-14) break;
      for (let j = 0; j < 6; j++) w[j] -= step * g[j];
    }
    for (let j = 0; j < 6; j++) expect(Math.abs(res.w[j] - w[j])).toBeLessThan(1e-10);
    expect(Math.abs(res.fstar - denseF(rows, y, w, l2))).toBeLessThan(1e-14);
  });

  test('λ1 > 0: F* matches a long proximal-gradient run; KKT holds by finite differences', () => {
    const { rows, y, ds } = denseProblem(2, 60, 8);
    const l1 = 0.02;
    const l2 = 1e-2;
    const res = solveReference(ds, l1, l2);
    expect(res.nnz).toBeGreaterThan(0);
    expect(res.nnz).toBeLessThan(8); // the l1 term is active: some coordinate is exactly 0

    const w = new Float64Array(8);
    const step = safeStep(rows, l2);
    for (let it = 0, moved = 1; it < 50000 && moved > 1e-17; it++) {
      const g = denseGrad(rows, y, w, l2);
      moved = 0;
      for (let j = 0; j < 8; j++) {
        const u = w[j] - step * g[j];
        const next = Math.sign(u) * Math.max(Math.abs(u) - step * l1, 0);
        moved = Math.max(moved, Math.abs(next - w[j]));
        w[j] = next;
      }
    }
    const Fista = denseF(rows, y, w, l2) + l1 * w.reduce((s, v) => s + Math.abs(v), 0);
    expect(Math.abs(res.fstar - Fista)).toBeLessThan(1e-14);
    for (let j = 0; j < 8; j++) {
      expect(Math.abs(res.w[j] - w[j])).toBeLessThan(1e-9);
      const gj = fdGrad(rows, y, res.w, l2, j);
      if (res.w[j] !== 0) expect(Math.abs(gj + l1 * Math.sign(res.w[j]))).toBeLessThan(1e-8);
      else expect(Math.abs(gj)).toBeLessThanOrEqual(l1 + 1e-8);
    }
    expect(kktViolation(ds, res.w, l1, l2)).toBeLessThanOrEqual(1e-13);
  });

  describe('1-D: x_j = 1, p positives and q negatives', () => {
    const p = 30;
    const q = 10;
    const m = p + q;
    const l2 = 0.05;
    const ds: Dataset = {
      X: csrFromDense(Array.from({ length: m }, () => [1])),
      y: Float64Array.from({ length: m }, (_, i) => (i < p ? 1 : -1)),
    };
    // F'(w) for w > 0: −(p/m)σ(−w) + (q/m)σ(w) + λ2 w + λ1; increasing, so bisection finds w*.
    const root = (l1: number): number => {
      let lo = 0;
      let hi = 50;
      for (let k = 0; k < 200; k++) {
        const mid = 0.5 * (lo + hi);
        if (mid === lo || mid === hi) break;
        const d = (-p * sigmoid(-mid) + q * sigmoid(mid)) / m + l2 * mid + l1;
        if (d > 0) hi = mid;
        else lo = mid;
      }
      return 0.5 * (lo + hi);
    };
    const threshold = (p - q) / (2 * m); // |f'(0)|: w* = 0 iff λ1 ≥ this

    test.each([0, 0.1, threshold * (1 - 1e-6)])('λ1 = %p below |f′(0)|: w* is the root of F′', (l1) => {
      const res = solveReference(ds, l1, l2);
      const w = root(l1);
      expect(w).toBeGreaterThan(0);
      expect(Math.abs(res.w[0] - w)).toBeLessThanOrEqual(4e-16 * Math.max(1, w) + 1e-14);
    });

    test('λ1 just above |f′(0)| = (p − q)/(2m): w* = 0 and F* = ln 2', () => {
      const res = solveReference(ds, threshold * (1 + 1e-9), l2);
      expect(res.w[0]).toBe(0);
      expect(res.fstar).toBeCloseTo(Math.LN2, 15);
    });
  });

  test('λ1 ≥ ‖∇f(0)‖∞ gives w* = 0 (closed form); just below, w* ≠ 0', () => {
    const { rows, y, ds } = denseProblem(3, 40, 7);
    const l2 = 1e-3;
    const g0 = Math.max(...denseGrad(rows, y, new Float64Array(7), l2).map(Math.abs));
    const at = solveReference(ds, g0, l2);
    expect(at.nnz).toBe(0);
    expect(at.iterations).toBe(0);
    expect(Math.abs(at.fstar - Math.LN2)).toBeLessThan(1e-15);
    const below = solveReference(ds, g0 * 0.98, l2);
    expect(below.nnz).toBeGreaterThan(0);
    expect(below.fstar).toBeLessThan(Math.LN2);
  });
});

// ---------- (2)–(3) precision on a sparse problem ----------

describe('solveReference on a random sparse problem (3000 × 2000)', () => {
  const ds = sparseProblem(4, 3000, 2000, 15);
  const l1 = 1e-4;
  const l2 = 1e-3;
  let res: ReturnType<typeof solveReference>;
  beforeAll(() => {
    res = solveReference(ds, l1, l2, { tol: 1e-13 });
  });

  test('reaches the 1e−13 KKT certificate, confirmed by the public helper', () => {
    expect(res.certificate).toBeLessThanOrEqual(1e-13);
    expect(kktViolation(ds, res.w, l1, l2)).toBeLessThanOrEqual(1e-13);
    expect(res.nnz).toBeGreaterThan(0);
    expect(res.nnz).toBeLessThan(2000);
    expect(res.supportPct).toBeCloseTo((100 * res.nnz) / 2000, 12);
    expect(res.gapBound).toBeLessThan(1e-18);
    expect(res.fstar).toBe(compositeObjective(ds.X, ds.y, res.w, l1, l2));
  });

  test('F* is stable: moving any coordinate by ±1e−8 never lowers F (beyond one ulp of rounding)', () => {
    const zeros: number[] = [];
    const nonzeros: number[] = [];
    for (let j = 0; j < 2000; j++) (res.w[j] === 0 ? zeros : nonzeros).push(j);
    const probe = [...nonzeros.slice(0, 6), ...zeros.slice(0, 6)];
    const ulp = Number.EPSILON * res.fstar;
    for (const j of probe) {
      for (const delta of [1e-8, -1e-8]) {
        const w = Float64Array.from(res.w);
        w[j] += delta;
        const F = compositeObjective(ds.X, ds.y, w, l1, l2);
        expect(F - res.fstar).toBeGreaterThanOrEqual(-ulp);
        // At a zero coordinate the l1 kink makes the rise first order: ≥ (λ1 − |∇_j f|)·1e−8 > 0.
        if (res.w[j] === 0) expect(F).toBeGreaterThan(res.fstar);
      }
    }
  });

  test('progress is reported and a warm start from w* needs no step', () => {
    const kinds: string[] = [];
    solveReference(ds, l1, l2, { onProgress: (info) => kinds.push(info.kind) });
    expect(kinds[0]).toBe('start');
    expect(kinds.length).toBe(res.iterations + 1);
    const warm = solveReference(ds, l1, l2, { w0: res.w });
    expect(warm.iterations).toBe(0);
  });
});

describe('solveReference errors', () => {
  const { ds } = denseProblem(5, 30, 4);

  test('E_SOLVER with the certificate reached when it cannot reach tol', () => {
    expect.assertions(3);
    try {
      solveReference(ds, 1e-3, 1e-3, { maxIter: 1 });
    } catch (e) {
      expect(e).toBeInstanceOf(SodaError);
      expect((e as SodaError).code).toBe('E_SOLVER');
      expect((e as SodaError).message).toMatch(/certificate \d\.\d+e-\d+ > tol 1e-13/);
    }
  });

  test('E_CONFIG for λ2 ≤ 0, negative λ1, wrong warm-start length', () => {
    expect(() => solveReference(ds, 1e-3, 0)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => solveReference(ds, -1, 1e-3)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => solveReference(ds, 0, 1e-3, { w0: new Float64Array(3) })).toThrow(/warm start/);
  });
});

// ---------- (4) cache ----------

describe('solveCached', () => {
  const ds = sparseProblem(6, 400, 300, 8);
  const l1 = 1e-3;
  const l2 = 1e-3;
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-solver-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('miss solves and writes one entry atomically; hit returns it without solving', async () => {
    const first = await solveCached(ds, l1, l2, { cacheDir: dir });
    expect(first.cached).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([path.basename(first.cacheFile)]); // no temp file left
    let steps = 0;
    const second = await solveCached(ds, l1, l2, { cacheDir: dir, onProgress: () => steps++ });
    expect(second.cached).toBe(true);
    expect(steps).toBe(0);
    expect(Object.is(second.fstar, first.fstar)).toBe(true);
    expect(Array.from(second.w)).toEqual(Array.from(first.w));
    expect(second.certificate).toBe(first.certificate);
    expect(second.key).toBe(first.key);
    const verified = await solveCached(ds, l1, l2, { cacheDir: dir, verify: true });
    expect(verified.cached).toBe(true);
  });

  test('keys: 1 ulp of λ1 or λ2, one value, one label or one index changes them; a copy does not', async () => {
    const k = datasetKey(ds);
    expect(solveKey(k, nextUp(l1), l2)).not.toBe(solveKey(k, l1, l2));
    expect(solveKey(k, l1, nextUp(l2))).not.toBe(solveKey(k, l1, l2));
    const copy: Dataset = {
      X: { ...ds.X, ptr: ds.X.ptr.slice(), ind: ds.X.ind.slice(), val: ds.X.val.slice() },
      y: ds.y.slice(),
    };
    expect(datasetKey(copy)).toBe(k);
    const val = ds.X.val.slice();
    val[7] = nextUp(val[7]);
    expect(datasetKey({ X: { ...ds.X, val }, y: ds.y })).not.toBe(k);
    const y = ds.y.slice();
    y[0] = -y[0];
    expect(datasetKey({ X: ds.X, y })).not.toBe(k);
    const ind = ds.X.ind.slice();
    ind[0] = ind[0] === 0 ? 1 : 0; // the key hashes bytes; whether X stays valid does not matter
    expect(datasetKey({ X: { ...ds.X, ind }, y: ds.y })).not.toBe(k);
  });

  test('a corrupt entry is a miss and is overwritten', async () => {
    const first = await solveCached(ds, l1, l2, { cacheDir: dir });
    fs.writeFileSync(first.cacheFile, '{"format": "soda-solve-cache", "trunc');
    const again = await solveCached(ds, l1, l2, { cacheDir: dir });
    expect(again.cached).toBe(false);
    expect(again.fstar).toBe(first.fstar);
    expect((await solveCached(ds, l1, l2, { cacheDir: dir })).cached).toBe(true);
  });

  test('an entry less precise than tol warm-starts a new solve; verify catches a tampered F*', async () => {
    const first = await solveCached(ds, l1, l2, { cacheDir: dir });
    const rec = JSON.parse(fs.readFileSync(first.cacheFile, 'utf8'));
    fs.writeFileSync(first.cacheFile, JSON.stringify({ ...rec, certificate: 1e-9 }));
    const resolved = await solveCached(ds, l1, l2, { cacheDir: dir });
    expect(resolved.cached).toBe(false);
    expect(resolved.iterations).toBe(0); // started from the stored w, already optimal

    fs.writeFileSync(first.cacheFile, JSON.stringify({ ...rec, fstar: rec.fstar * (1 + 1e-10) }));
    expect((await solveCached(ds, l1, l2, { cacheDir: dir })).cached).toBe(true); // trusted as stored
    const checked = await solveCached(ds, l1, l2, { cacheDir: dir, verify: true });
    expect(checked.cached).toBe(false);
    expect(checked.fstar).toBe(first.fstar);
  });
});
