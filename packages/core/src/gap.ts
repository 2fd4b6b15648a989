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
 * The master's side: adds the parts of one evaluation round (O(n) state, whatever m and nnz are)
 * and turns them into D and the gap. Parts may arrive in any order; add each shard once.
 */
export class GapAccumulator {
  private readonly u: Float64Array;
  private readonly entropy: number[] = [];
  private rows = 0;
  private parts = 0;

  constructor(readonly n: number) {
    this.u = new Float64Array(n);
  }

  get count(): number {
    return this.parts;
  }

  add(part: GapPart): void {
    if (part.u.n !== this.n)
      throw new SodaError('E_DATA', `gap part of dimension ${part.u.n} in a run of dimension ${this.n}`);
    if (!(Number.isSafeInteger(part.m) && part.m > 0))
      throw new SodaError('E_DATA', `gap part with m = ${part.m} rows`);
    const { idx, val } = part.u;
    for (let t = 0; t < idx.length; t++) this.u[idx[t]] += val[t];
    this.entropy.push(part.entropySum);
    this.rows += part.m;
    this.parts++;
  }

  /** D and the gap at F = F(w) (the objective of the same round); coordinates ≥ unpenalizedFrom carry no λ1. */
  result(objective: number, lambda1: number, lambda2: number, unpenalizedFrom: number): GapResult {
    if (this.rows === 0) throw new SodaError('E_STATE', 'duality gap of an empty round');
    return dualityGapFrom(
      objective,
      sumAccurate(Float64Array.from(this.entropy)),
      this.u,
      this.rows,
      lambda1,
      lambda2,
      unpenalizedFrom,
    );
  }
}

/**
 * D(θ) = −(1/m) Σ_j H(θ_j) − (1/(2λ2)) [Σ_{k<u} S_{λ1}(v_k)² + Σ_{k≥u} v_k²], v = u/m, from the totals
 * entropySum = Σ_j H(θ_j) and u = Σ_j θ_j y_j x_j (dense) over m rows; u = unpenalizedFrom.
 */
export function dualObjective(
  entropySum: number,
  u: Float64Array,
  m: number,
  lambda1: number,
  lambda2: number,
  unpenalizedFrom: number,
): number {
  checkUnpenalizedFrom(unpenalizedFrom, u.length);
  const sq = new Float64Array(u.length);
  for (let k = 0; k < u.length; k++) {
    // S_{λ1}(v_k): the minimiser of (λ2/2)w² − v_k w + λ1|w| is S_{λ1}(v_k)/λ2; with λ1 = 0 it is v_k/λ2
    const s = proxCoordinate(k, u[k] / m, lambda1, unpenalizedFrom);
    sq[k] = s * s;
  }
  return -entropySum / m - sumAccurate(sq) / (2 * lambda2);
}

/**
 * D(θ) and the gap F − D from totals (see dualObjective). Needs λ2 > 0: with λ2 = 0 the dual is only
 * feasible when ‖v_{<u}‖∞ ≤ λ1 and v_{≥u} = 0, which a residual point is not in general.
 */
export function dualityGapFrom(
  objective: number,
  entropySum: number,
  u: Float64Array,
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
