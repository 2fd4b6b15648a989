import {
  appendConstantColumn,
  columnMaxAbsSparse,
  csrToCsc,
  gapPartCsc,
  gradientCsr,
  logisticSmoothness,
  lossResiduals,
  marginsCsc,
  marginsCsr,
  Rng,
  smoothObjective,
  sparseFromDense,
  sparseToDense,
  type CscMatrix,
  type CsrMatrix,
  type SparseVector,
} from '@soda/core';
import {
  columnMaxima,
  LocalStep,
  localRows,
  localShard,
  prepareShard,
  type PositionMode,
} from '@soda/worker';
import { plantedProblem } from '../../../test/helpers/problems';

/** 4 planted weights of scale 2, label noise 0.3 */
const problem = (seed: number, m: number, n: number) => plantedProblem(seed, m, n, 4, 2, 0.3);

/**
 * The worker step as it was before local column renumbering (issue 17), kept as the reference: every
 * vector dense over n. It is given the mask the LocalStep drew (which only draws where w_i can change:
 * the tests below check that mask's distribution), and must give the same Δ and w_i bit for bit.
 */
class DenseReference {
  readonly wi: Float64Array;
  constructor(
    private readonly X: CscMatrix,
    private readonly y: Float64Array,
    private readonly lambda2: number,
    wi0: SparseVector,
  ) {
    this.wi = sparseToDense(wi0, new Float64Array(X.cols));
  }

  /** cols_i ∪ supp(w) ∪ supp(w_i): where a masked coordinate can change w_i (increasing). */
  changeable(w: SparseVector): number[] {
    const { X, wi } = this;
    const out: number[] = [];
    let s = 0;
    for (let j = 0; j < X.cols; j++) {
      const inW = s < w.idx.length && w.idx[s] === j;
      if (inW) s++;
      if (inW || X.ptr[j + 1] > X.ptr[j] || wi[j] !== 0) out.push(j);
    }
    return out;
  }

  step(w: SparseVector, gamma: number, mask: readonly number[]): SparseVector {
    const { X, y, wi } = this;
    const m = X.rows;
    const z = marginsCsc(X, w.idx, w.val);
    const r = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const yz = y[i] * z[i];
      const e = Math.exp(-Math.abs(yz));
      r[i] = yz > 0 ? (-y[i] * (e / (1 + e))) / m : -y[i] / (1 + e) / m;
    }
    const idx: number[] = [];
    const val: number[] = [];
    let s = 0;
    for (const j of mask) {
      while (s < w.idx.length && w.idx[s] < j) s++;
      const wj = s < w.idx.length && w.idx[s] === j ? w.val[s] : 0;
      let g = this.lambda2 * wj;
      for (let k = X.ptr[j]; k < X.ptr[j + 1]; k++) g += X.val[k] * r[X.ind[k]];
      const next = wj - gamma * g;
      const d = next - wi[j];
      wi[j] = next;
      if (d !== 0) {
        idx.push(j);
        val.push(d);
      }
    }
    return { n: X.cols, idx: Uint32Array.from(idx), val: Float64Array.from(val) };
  }
}

/**
 * A planted problem whose columns are spread over a wider n (column j → spread·j + 1), so that most
 * coordinates are columns the shard does not have; with the intercept, a constant last column.
 * Spread 3 keeps n ≤ 6·|cols_i| (LocalStep's 'auto' picks the dense position index), spread 8 does not.
 */
function spreadProblem(seed: number, m: number, n0: number, intercept: boolean, spread = 3) {
  const { X, y } = problem(seed, m, n0);
  const ind = Uint32Array.from(X.ind, (j) => spread * j + 1);
  let wide: CsrMatrix = { rows: X.rows, cols: spread * n0 + 2, ptr: X.ptr, ind, val: X.val };
  if (intercept) wide = appendConstantColumn(wide);
  return { X: wide, y };
}

/** A random sparse w over all n (on and off the shard's columns), sometimes with a large support. */
function randomW(rng: Rng, n: number, density: number): SparseVector {
  const w = new Float64Array(n);
  for (let j = 0; j < n; j++) if (rng.next() < density) w[j] = 0.3 * rng.normal();
  return sparseFromDense(w);
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  expect(Buffer.from(Float64Array.from(a).buffer).equals(Buffer.from(Float64Array.from(b).buffer))).toBe(
    true,
  );

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
    for (const j of w.idx) expect(local.wiAt(j)).toBeCloseTo(wDense[j] - gamma * g[j], 14); // supp(w) ⊆ M always
    for (let j = 0; j < 40; j++) {
      if (inDelta.has(j)) {
        expect(local.wiAt(j)).toBeCloseTo(wDense[j] - gamma * g[j], 14);
        expect(inDelta.get(j)!).toBeCloseTo(wDense[j] - gamma * g[j] - wi0[j], 14);
      } else {
        // Either outside the mask (w_i kept) or inside with a zero change.
        expect(local.wiAt(j)).toBe(wi0[j]);
      }
    }
  });

  // Both ways to find a local id: the dense index ('auto' at spread 3), the search of cols_i forced
  // ('sorted'), and the search picked by 'auto' itself (spread 8: n > 6·|cols_i|).
  const positions: [PositionMode, number, boolean][] = [
    ['auto', 3, true],
    ['sorted', 3, false],
    ['auto', 8, false],
  ];
  describe.each(
    positions.flatMap(([mode, spread, dense]) =>
      [
        [true, 0.2],
        [true, 1],
        [false, 0.2],
        [false, 1],
        [true, 0],
      ].map(([intercept, p]) => [intercept as boolean, p as number, mode, spread, dense] as const),
    ),
  )(
    'over its own columns = the dense algorithm, bit for bit (intercept %s, p = %s, positions %s, spread %i)',
    (intercept, p, mode, spread, dense) => {
      it.each([1, 2, 3])('planted problem %i: same masks, Δ, w_i, f_i and gap parts for 40 steps', (seed) => {
        const { X, y } = spreadProblem(seed, 50, 30, intercept, spread);
        const n = X.cols;
        const lambda2 = 0.02;
        const rng = new Rng(100 + seed);
        const wi0 = randomW(rng, n, 0.2); // a take-over: w_i non-zero on and off the shard's columns
        const { data, L } = prepareShard(X, y, lambda2);
        expect(data.cols.length).toBeLessThan(n / 2);
        expect(L).toBe(logisticSmoothness(X, lambda2));
        const local = new LocalStep(data, lambda2, wi0, 7 * seed, 64, mode);
        expect(local.densePositions).toBe(dense);
        local.recordMasks(true);
        const ref = new DenseReference(csrToCsc(X), y, lambda2, wi0);
        let offSeen = 0;
        for (let k = 0; k < 40; k++) {
          const w = randomW(rng, n, k % 7 === 0 ? 0.6 : 0.1);
          const gamma = 0.5 + rng.next();
          const R = ref.changeable(w);
          const got = local.step(w, gamma, p);
          const mask = local.lastMask();
          expect(got.maskSize).toBe(mask.length);
          // increasing, within R, supp(w) always; with p = 1 all of R, with p = 0 supp(w) alone
          for (let t = 1; t < mask.length; t++) expect(mask[t]).toBeGreaterThan(mask[t - 1]);
          const inR = new Set(R);
          for (const j of mask) expect(inR.has(j)).toBe(true);
          const inMask = new Set(mask);
          for (const j of w.idx) expect(inMask.has(j)).toBe(true);
          if (p === 1) expect(mask).toEqual(R);
          if (p === 0) expect(mask).toEqual(Array.from(w.idx));
          const want = ref.step(w, gamma, mask);
          expect(Array.from(got.delta.idx)).toEqual(Array.from(want.idx));
          same(got.delta.val, want.val);
          offSeen = Math.max(offSeen, local.offColumnSupport);
        }
        expect(offSeen).toBeGreaterThan(0); // the off-column w_i was exercised
        const wiGot = Float64Array.from({ length: n }, (_, j) => local.wiAt(j));
        same(wiGot, ref.wi);
        const w = randomW(rng, n, 0.3);
        const ev = local.evaluateWithGap(w);
        const z = marginsCsc(csrToCsc(X), w.idx, w.val);
        const gap = gapPartCsc(csrToCsc(X), y, z);
        expect(ev.gap.entropySum).toBe(gap.entropySum);
        expect(Array.from(ev.gap.u.idx)).toEqual(Array.from(gap.u.idx));
        same(ev.gap.u.val, gap.u.val);
        expect(ev.fi).toBe(smoothObjective(X, y, sparseToDense(w), lambda2));
      });
    },
  );

  it.each([0.2, 1])(
    'wire precision 32 (p = %s): the dense index and the search give the same Δ and w_i',
    (p) => {
      const { X, y } = spreadProblem(5, 50, 30, true);
      const n = X.cols;
      const lambda2 = 0.02;
      const rng = new Rng(9);
      const wi0 = randomW(rng, n, 0.2);
      const { data } = prepareShard(X, y, lambda2);
      const dense = new LocalStep(data, lambda2, wi0, 3, 32, 'dense');
      const sorted = new LocalStep(data, lambda2, wi0, 3, 32, 'sorted');
      expect(dense.densePositions && !sorted.densePositions).toBe(true);
      let rounded = 0;
      for (let k = 0; k < 40; k++) {
        const w = randomW(rng, n, k % 7 === 0 ? 0.6 : 0.1);
        const gamma = 0.5 + rng.next();
        const a = dense.step(w, gamma, p).delta;
        const b = sorted.step(w, gamma, p).delta;
        expect(Array.from(a.idx)).toEqual(Array.from(b.idx));
        same(a.val, b.val);
        same(a.val, Float32Array.from(a.val)); // every Δ is a float32
        rounded += a.idx.length;
      }
      expect(rounded).toBeGreaterThan(0);
      const wi = (s: LocalStep) => Float64Array.from({ length: n }, (_, j) => s.wiAt(j));
      same(wi(dense), wi(sorted));
    },
  );

  it('column maxima and L_i over its own columns are core’s over n, bit for bit', () => {
    for (const intercept of [false, true]) {
      const { X } = spreadProblem(4, 40, 25, intercept);
      const got = columnMaxima(localRows(X));
      const want = columnMaxAbsSparse(X);
      expect(got.n).toBe(want.n);
      expect(Array.from(got.idx)).toEqual(Array.from(want.idx));
      same(got.val, want.val);
    }
  });

  it('holds nothing of size n: a shard of 3 rows in n = 4·10⁹ columns steps and evaluates', () => {
    const n = 4e9;
    const X: CsrMatrix = {
      rows: 3,
      cols: n,
      ptr: Float64Array.of(0, 2, 3, 5),
      ind: Uint32Array.of(7, 3e9, 12, 7, n - 1),
      val: Float64Array.of(1, -2, 0.5, 1, 1),
    };
    const y = Float64Array.of(1, -1, 1);
    const data = localShard(localRows(X), y); // (L_i's power iteration would draw n start values)
    expect(Array.from(data.cols)).toEqual([7, 12, 3e9, n - 1]);
    const wi0: SparseVector = { n, idx: Uint32Array.of(5, 12, 2e9), val: Float64Array.of(1, 2, 3) };
    const local = new LocalStep(data, 0.1, wi0, 1);
    expect(local.densePositions).toBe(false); // 'auto': an index of n positions would not fit
    const w: SparseVector = { n, idx: Uint32Array.of(7, 1e9), val: Float64Array.of(0.5, 0.25) };
    // p = 1: every coordinate is in the mask; only cols_i ∪ supp(w) ∪ supp(w_i) can change
    const { delta, maskSize } = local.step(w, 1, 1);
    expect(maskSize).toBe(7); // cols_i ∪ supp(w) ∪ supp(w_i): the coordinates that can change
    expect(Array.from(delta.idx)).toEqual([5, 7, 12, 1e9, 2e9, 3e9, n - 1]);
    expect(delta.val[0]).toBe(-1); // off cols_i, out of supp(w): w_i,j → 0
    expect(delta.val[3]).toBe(0.25 - 0.1 * 0.25); // off cols_i, in supp(w): (1 − γλ2) w_j
    expect(delta.val[4]).toBe(-3);
    expect(local.offColumnSupport).toBe(1); // only coordinate 1e9 is kept off the columns
    // p < 1 draws only on cols_i ∪ supp(w_i) (p·n ≈ 400 coordinates elsewhere would change nothing)
    local.recordMasks(true);
    expect(local.step(w, 1, 1e-7).maskSize).toBe(2);
    expect(local.lastMask()).toEqual([7, 1e9]); // supp(w): 6 draws at 1e−7 take nothing (seeded)
    expect(local.evaluate(w).fi).toBeGreaterThan(0);
  });
  /**
   * The mask of one step from a fresh LocalStep per trial (seed = trial), over a shard whose columns
   * are spread over n and a w_i non-zero on and off them: how often each coordinate was computed.
   */
  function maskCounts(p: number, trials: number) {
    const { X, y } = spreadProblem(11, 40, 30, false);
    const n = X.cols;
    const rng = new Rng(5);
    const wi0 = randomW(rng, n, 0.25);
    const w = randomW(rng, n, 0.08);
    const { data } = prepareShard(X, y, 0.02);
    const R = new DenseReference(csrToCsc(X), y, 0.02, wi0).changeable(w);
    const inW = new Set(w.idx);
    const free = R.filter((j) => !inW.has(j)); // in the mask with probability p each
    const counts = new Float64Array(n);
    const pairs = new Float64Array(free.length - 1); // both of free[t] and free[t + 1]
    const at = new Map(free.map((j, t) => [j, t]));
    for (let t = 0; t < trials; t++) {
      const local = new LocalStep(data, 0.02, wi0, 1000 + t);
      local.recordMasks(true);
      local.step(w, 0.7, p);
      const mask = local.lastMask();
      let prev = -2;
      for (const j of mask) {
        counts[j]++;
        const k = at.get(j);
        if (k !== undefined) {
          if (k === prev + 1) pairs[prev]++;
          prev = k;
        }
      }
    }
    return { n, R, w, free, counts, pairs, offColumns: free.filter((j) => data.cols.indexOf(j) < 0) };
  }

  it.each([0.3, 0.05])(
    'its mask: supp(w) always, each other coordinate of cols_i ∪ supp(w_i) Binomial(trials, %p) times',
    (p) => {
      const trials = 4000;
      const { n, R, w, free, counts, offColumns } = maskCounts(p, trials);
      expect(offColumns.length).toBeGreaterThan(5); // the off-column list is sampled too
      expect(free.length).toBeGreaterThan(40);
      const inR = new Set(R);
      for (const j of w.idx) expect(counts[j]).toBe(trials);
      for (let j = 0; j < n; j++) if (!inR.has(j)) expect(counts[j]).toBe(0); // changes nothing: not drawn
      // each count within 5.5 sd (3.8e−8 each, Bonferroni < 1e−5 over all), and the chi-square over
      // them below its 1e−6 point and above its lower tail (not a sampler replaying expected counts)
      const mean = trials * p;
      const sd = Math.sqrt(trials * p * (1 - p));
      let chi2 = 0;
      for (const j of free) {
        expect(Math.abs(counts[j] - mean)).toBeLessThan(5.5 * sd);
        chi2 += ((counts[j] - mean) / sd) ** 2;
      }
      const df = free.length;
      expect(chi2).toBeLessThan(df * (1 - 2 / (9 * df) + 4.753 * Math.sqrt(2 / (9 * df))) ** 3);
      expect(chi2).toBeGreaterThan(df / 8);
    },
  );

  it('its mask draws neighbours independently: co-occurrence of consecutive places ≈ p²', () => {
    const p = 0.3;
    const trials = 4000;
    const { pairs } = maskCounts(p, trials);
    // each adjacent pair of free coordinates (across cols_i and the off-column list alike) is in the
    // mask together Binomial(trials, p²) times: 5.5 sd each
    const sd = Math.sqrt(trials * p * p * (1 - p * p));
    for (const c of pairs) expect(Math.abs(c - trials * p * p)).toBeLessThan(5.5 * sd);
    const mean = pairs.reduce((a, b) => a + b, 0) / pairs.length;
    expect(Math.abs(mean - trials * p * p)).toBeLessThan((5 * sd) / Math.sqrt(pairs.length));
  });
});
