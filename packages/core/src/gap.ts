import { CompensatedSum } from './compensated';
import { SodaError } from './errors';
import { compositeObjective, logLoss, marginsCsr, proxCoordinate, sigmoid, sumAccurate } from './logistic';
import type { CscMatrix, CsrMatrix } from './matrix';
import type { SparseVector } from './sparse';

// Module-level references: a global lookup per call is slow inside jest's vm sandbox.
const { abs } = Math;

/*
 * A certified stopping rule without F*: the Fenchel duality gap of the problem as it is solved,
 *   F(w) = (1/m) Σ_j ℓ(y_j x_jᵀw) + (λ2/2)‖w‖² + λ1 Σ_{k<u} |w_k|,   ℓ(z) = log(1 + e^{−z}),
 * on the max-abs scaled rows, whose columns k ≥ u (u = `unpenalizedFrom`: the intercept's constant
 * column, appended after scaling; u = n without one) carry λ2 but no λ1. Writing
 * ℓ(z) = max_{θ∈[0,1]} −θz − H(θ), H(θ) = θ log θ + (1−θ) log(1−θ), and minimising over w gives
 *   D(θ) = −(1/m) Σ_j H(θ_j) − (1/(2λ2)) [Σ_{k<u} S_{λ1}(v_k)² + Σ_{k≥u} v_k²],   v = (1/m) Σ_j θ_j y_j x_j,
 * with S_t the soft-threshold, and D(θ) ≤ F* ≤ F(w) for every θ ∈ [0,1]^m (λ2 > 0). The residual point
 * θ_j = σ(−y_j x_jᵀw) = −ℓ'(y_j x_jᵀw) is optimal at w = w*, so gap = F(w) − D(θ(w)) → 0 there.
 * Derivation in DESIGN.md ("The duality gap"). `soda solve`, the central evaluation rounds and the
 * data-at-workers rounds all end in dualityGapFrom, with the run's u: thresholding the intercept's v_u
 * too would make D too large (above F*) and the gap negative.
 *
 * Distributed form: each worker i returns the raw sums over its rows (entropySum_i = Σ_{j∈S_i} H(θ_j)
 * and u_i = Σ_{j∈S_i} θ_j y_j x_j, sparse); the master adds them (m = Σ m_i, π_i = m_i/m), so
 * −(1/m) Σ_i entropySum_i and v = (1/m) Σ_i u_i. No rows, no F*.
 */

/** One shard's share of the dual point at w: raw (unnormalised) sums over its m rows. */
export interface GapPart {
  /** m_i: rows of the shard */
  readonly m: number;
  /** Σ_j H(θ_j) ≤ 0, compensated */
  readonly entropySum: number;
  /** u_i = Σ_j θ_j y_j x_j (length n, only columns with a non-zero sum) */
  readonly u: SparseVector;
}

/** `unpenalizedFrom` must be a coordinate index in [0, n] (n: every coordinate is ℓ1-penalised). */
function checkUnpenalizedFrom(unpenalizedFrom: number, n: number): void {
  if (!(Number.isSafeInteger(unpenalizedFrom) && unpenalizedFrom >= 0 && unpenalizedFrom <= n))
    throw new SodaError('E_CONFIG', `unpenalizedFrom = ${unpenalizedFrom} is not in [0, ${n}]`, {
      unpenalizedFrom,
      n,
    });
}

/**
 * H(θ) at θ = σ(−z), written through log-losses so it never forms log 0:
 * log θ = −ℓ(−z), log(1−θ) = −ℓ(z), hence H = −θ ℓ(−z) − (1−θ) ℓ(z). Exact at |z| = 1000 (→ 0⁻).
 */
export function entropyAtMargin(z: number): number {
  const theta = sigmoid(-z);
  return -(theta * logLoss(-z) + (1 - theta) * logLoss(z));
}

/** θ = σ(−z) without overflow. */
export function dualResidual(z: number): number {
  return sigmoid(-z);
}

/**
 * A worker's part from its margins z_j = x_jᵀw (as computed for f_i): Σ H(θ_j) and u_i = X_iᵀ(θ∘y).
 * Costs O(m_i + nnz(X_i)): every column of the shard, since v is needed on all coordinates.
 * `scratch` (length ≥ m) avoids allocations.
 */
export function gapPartCsc(X: CscMatrix, y: Float64Array, z: Float64Array, scratch?: Float64Array): GapPart {
  const m = X.rows;
  if (y.length !== m || z.length < m)
    throw new SodaError('E_DATA', `gap part: ${m} rows but ${y.length} labels and ${z.length} margins`);
  const h = scratch ?? new Float64Array(m);
  for (let j = 0; j < m; j++) h[j] = entropyAtMargin(y[j] * z[j]);
  const entropySum = sumAccurate(h, m);
  for (let j = 0; j < m; j++) h[j] = dualResidual(y[j] * z[j]) * y[j]; // θ_j y_j
  const { ptr, ind, val } = X;
  let count = 0;
  const idxBuf = new Uint32Array(X.cols);
  const valBuf = new Float64Array(X.cols);
  for (let k = 0; k < X.cols; k++) {
    let s = 0;
    for (let q = ptr[k], end = ptr[k + 1]; q < end; q++) s += val[q] * h[ind[q]];
    if (s !== 0) {
      idxBuf[count] = k;
      valBuf[count++] = s;
    }
  }
  return { m, entropySum, u: { n: X.cols, idx: idxBuf.slice(0, count), val: valBuf.slice(0, count) } };
}

/** The same part from row-major data and a dense w (central use: `soda solve`, tests). */
export function gapPartCsr(X: CsrMatrix, y: Float64Array, w: Float64Array): GapPart {
  const z = marginsCsr(X, w);
  const m = X.rows;
  const h = new Float64Array(m);
  for (let j = 0; j < m; j++) h[j] = entropyAtMargin(y[j] * z[j]);
  const entropySum = sumAccurate(h, m);
  const u = new Float64Array(X.cols);
  for (let j = 0; j < m; j++) {
    const ty = dualResidual(y[j] * z[j]) * y[j];
    for (let q = X.ptr[j], end = X.ptr[j + 1]; q < end; q++) u[X.ind[q]] += X.val[q] * ty;
  }
  const idx: number[] = [];
  const val: number[] = [];
  for (let k = 0; k < u.length; k++)
    if (u[k] !== 0) {
      idx.push(k);
      val.push(u[k]);
    }
  return { m, entropySum, u: { n: X.cols, idx: Uint32Array.from(idx), val: Float64Array.from(val) } };
}

export interface GapResult {
  /** D(θ) ≤ F* */
  readonly dual: number;
  /** F(w) − D(θ) ≥ F(w) − F* ≥ 0 (up to rounding) */
  readonly gap: number;
  /** gap / |D| */
  readonly gapRel: number;
}

/**
 * The master's side: adds the parts of one evaluation round and turns them into D and the gap. The
 * total u = Σ_i u_i is kept sparse, on the union of the parts' indices (each u_i lives on its shard's
 * columns): adding a part is one merge of two sorted lists, O(|u| + |u_i|), and the result is O(|u|),
 * never O(n). Each coordinate's sum runs in arrival order from +0, and D's squares are summed in
 * increasing index, so every figure is bit for bit what a dense accumulation of the same parts gives
 * (a zero adds nothing to a compensated sum). Parts may arrive in any order; add each shard once.
 */
export class GapAccumulator {
  /** u on its stored indices (strictly increasing): idx[0..len), val[0..len) */
  private idx = new Uint32Array(0);
  private val = new Float64Array(0);
  private len = 0;
  /** the next merge's output (the lists swap roles after each add) */
  private spareIdx = new Uint32Array(0);
  private spareVal = new Float64Array(0);
  private readonly entropy: number[] = [];
  private rows = 0;
  private parts = 0;

  constructor(readonly n: number) {}

  get count(): number {
    return this.parts;
  }

  /** u = Σ of the parts so far, sparse (a copy; a coordinate whose sum cancelled to 0 may be kept). */
  get u(): SparseVector {
    return { n: this.n, idx: this.idx.slice(0, this.len), val: this.val.slice(0, this.len) };
  }

  add(part: GapPart): void {
    if (part.u.n !== this.n)
      throw new SodaError('E_DATA', `gap part of dimension ${part.u.n} in a run of dimension ${this.n}`);
    if (!(Number.isSafeInteger(part.m) && part.m > 0))
      throw new SodaError('E_DATA', `gap part with m = ${part.m} rows`);
    this.merge(part.u);
    this.entropy.push(part.entropySum);
    this.rows += part.m;
    this.parts++;
  }

  /** u ← u + v, one merge of the sorted lists (a coordinate new to u starts from +0, as in a dense sum). */
  private merge(v: SparseVector): void {
    const { idx: bi, val: bv } = v;
    const a = this.len;
    const need = a + bi.length;
    if (this.spareIdx.length < need) {
      const cap = Math.max(need, 2 * this.spareIdx.length);
      this.spareIdx = new Uint32Array(cap);
      this.spareVal = new Float64Array(cap);
    }
    const { idx: ai, val: av, spareIdx: oi, spareVal: ov, n } = this;
    let p = 0;
    let k = 0;
    let prev = -1;
    for (let q = 0; q < bi.length; q++) {
      const j = bi[q];
      if (!(j > prev && j < n))
        throw new SodaError('E_DATA', `gap part: u.idx[${q}] = ${j} is not increasing and below n = ${n}`);
      prev = j;
      while (p < a && ai[p] < j) {
        oi[k] = ai[p];
        ov[k++] = av[p++];
      }
      oi[k] = j;
      ov[k++] = (p < a && ai[p] === j ? av[p++] : 0) + bv[q];
    }
    while (p < a) {
      oi[k] = ai[p];
      ov[k++] = av[p++];
    }
    this.idx = oi;
    this.val = ov;
    this.spareIdx = ai;
    this.spareVal = av;
    this.len = k;
  }

  /** D and the gap at F = F(w) (the objective of the same round); coordinates ≥ unpenalizedFrom carry no λ1. */
  result(objective: number, lambda1: number, lambda2: number, unpenalizedFrom: number): GapResult {
    if (this.rows === 0) throw new SodaError('E_STATE', 'duality gap of an empty round');
    const u = { n: this.n, idx: this.idx.subarray(0, this.len), val: this.val.subarray(0, this.len) };
    return dualityGapFrom(
      objective,
      sumAccurate(Float64Array.from(this.entropy)),
      u,
      this.rows,
      lambda1,
      lambda2,
      unpenalizedFrom,
    );
  }
}

/**
 * D(θ) = −(1/m) Σ_j H(θ_j) − (1/(2λ2)) [Σ_{k<u} S_{λ1}(v_k)² + Σ_{k≥u} v_k²], v = u/m, from the totals
 * entropySum = Σ_j H(θ_j) and u = Σ_j θ_j y_j x_j over m rows (dense, or sparse with increasing
 * indices); u = unpenalizedFrom. The squares are summed in increasing k, compensated: a zero u_k adds
 * an exact +0, so the dense and the sparse form of one u give the same number bit for bit.
 */
export function dualObjective(
  entropySum: number,
  u: Float64Array | SparseVector,
  m: number,
  lambda1: number,
  lambda2: number,
  unpenalizedFrom: number,
): number {
  const sum = new CompensatedSum();
  // S_{λ1}(v_k): the minimiser of (λ2/2)w² − v_k w + λ1|w| is S_{λ1}(v_k)/λ2; with λ1 = 0 it is v_k/λ2
  if (u instanceof Float64Array) {
    checkUnpenalizedFrom(unpenalizedFrom, u.length);
    for (let k = 0; k < u.length; k++) {
      const s = proxCoordinate(k, u[k] / m, lambda1, unpenalizedFrom);
      sum.add(s * s);
    }
  } else {
    checkUnpenalizedFrom(unpenalizedFrom, u.n);
    const { idx, val } = u;
    for (let t = 0; t < idx.length; t++) {
      const s = proxCoordinate(idx[t], val[t] / m, lambda1, unpenalizedFrom);
      sum.add(s * s);
    }
  }
  return -entropySum / m - sum.value / (2 * lambda2);
}

/**
 * D(θ) and the gap F − D from totals (see dualObjective). Needs λ2 > 0: with λ2 = 0 the dual is only
 * feasible when ‖v_{<u}‖∞ ≤ λ1 and v_{≥u} = 0, which a residual point is not in general.
 */
export function dualityGapFrom(
  objective: number,
  entropySum: number,
  u: Float64Array | SparseVector,
  m: number,
  lambda1: number,
  lambda2: number,
  unpenalizedFrom: number,
): GapResult {
  if (!(lambda2 > 0))
    throw new SodaError('E_CONFIG', `the duality gap needs λ2 > 0 (strong convexity), got λ2 = ${lambda2}`);
  const dual = dualObjective(entropySum, u, m, lambda1, lambda2, unpenalizedFrom);
  const gap = objective - dual;
  return { dual, gap, gapRel: gap / abs(dual) };
}

/**
 * The whole gap from row-major data and a dense w, with F(w) (compositeObjective, the same u)
 * computed here too: `soda solve`'s certificate, and tests.
 */
export function dualityGap(
  X: CsrMatrix,
  y: Float64Array,
  w: Float64Array,
  lambda1: number,
  lambda2: number,
  unpenalizedFrom: number,
): GapResult & { objective: number } {
  const objective = compositeObjective(X, y, w, lambda1, lambda2, unpenalizedFrom);
  const acc = new GapAccumulator(X.cols);
  acc.add(gapPartCsr(X, y, w));
  return { objective, ...acc.result(objective, lambda1, lambda2, unpenalizedFrom) };
}
