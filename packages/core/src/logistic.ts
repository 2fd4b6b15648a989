import { CompensatedSum } from './compensated';
import type { CscMatrix, CsrMatrix } from './matrix';

// Module-level references: a global lookup per call is slow inside jest's vm sandbox.
const { exp, log1p, abs } = Math;

/*
 * THE loss module (as scikit-learn's LinearModelLoss serves every solver): the paper's objective
 * (eq. 1 with eq. 6) for ℓ1+ℓ2 logistic regression,
 *   F(w) = f(w) + λ1 Σ_{j < u} |w_j|,   f(w) = (1/m) Σ_j ℓ(y_j x_jᵀw) + (λ2/2)‖w‖²,   ℓ(z) = log(1 + e^{−z}),
 * and every piece of it the solver, the workers, the master, the gap and `soda predict` use: σ, ℓ, ℓ', ℓ'',
 * the margins kernels, the gradient, the soft-threshold (the prox of the ℓ1 term), the intercept's ℓ1
 * rule (coordinates j ≥ u = `unpenalizedFrom` are not penalised), F and the suboptimality. A second
 * loss, or a change to this one, is a change to this file. `npm run lint:copies` refuses a copy.
 * Every kernel is a plain loop over typed arrays. Sums that feed the reported objective use Neumaier
 * compensated summation, because suboptimalities down to 1e−15 are only meaningful if F(w) itself is
 * accurate to a few ulps.
 */

/** σ(z) = 1/(1 + e^{−z}), without overflow for any z. σ(−z) = −ℓ'(z) is the residual of a margin. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + exp(-z));
  const e = exp(z);
  return e / (1 + e);
}

/** ℓ(z) = log(1 + e^{−z}), exact for any z (no overflow at |z| = 1000). */
export function logLoss(z: number): number {
  return z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
}

/** ℓ'(z) = −σ(−z), without overflow. */
export function logLossDeriv(z: number): number {
  return -sigmoid(-z);
}

/** ℓ''(z) = σ(z)σ(−z) = e^{−|z|}/(1 + e^{−|z|})², without overflow for any z. */
export function logLossSecond(z: number): number {
  const e = exp(-abs(z));
  const s = 1 + e;
  return e / (s * s);
}

/** Compensated sum of a[0..len). */
export function sumAccurate(a: Float64Array, len = a.length): number {
  const sum = new CompensatedSum();
  for (let i = 0; i < len; i++) sum.add(a[i]);
  return sum.value;
}

/** ‖w‖² with compensation. */
export function squaredNorm(w: ArrayLike<number>): number {
  const sum = new CompensatedSum();
  for (let i = 0; i < w.length; i++) sum.add(w[i] * w[i]);
  return sum.value;
}

/** z = X w for a dense w (row-major X). */
export function marginsCsr(
  X: CsrMatrix,
  w: Float64Array,
  z: Float64Array = new Float64Array(X.rows),
): Float64Array {
  const { ptr, ind, val } = X;
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (let k = ptr[i], end = ptr[i + 1]; k < end; k++) s += val[k] * w[ind[k]];
    z[i] = s;
  }
  return z;
}

/**
 * z = X w for a sparse w given as (idx, val), touching only the columns in supp(w): the cost is
 * nnz(X[:, supp(w)]), which is what makes a SODA step cheap once the support is identified.
 */
export function marginsCsc(
  Xc: CscMatrix,
  idx: Uint32Array,
  wval: Float64Array,
  z: Float64Array = new Float64Array(Xc.rows),
): Float64Array {
  z.fill(0);
  const { ptr, ind, val } = Xc;
  for (let t = 0; t < idx.length; t++) {
    const j = idx[t];
    const wj = wval[t];
    for (let k = ptr[j], end = ptr[j + 1]; k < end; k++) z[ind[k]] += val[k] * wj;
  }
  return z;
}

/**
 * marginsCsc over column pointers held as int32 (a shard whose non-zeros fit int32, as a worker's
 * must): the same sums in the same order, bit for bit, with the loop counters kept in int32. V8 runs
 * the loop over a Float64Array of pointers ≈ 1.5× slower (a double-to-index conversion per access).
 */
export function marginsCscInt32(
  ptr: Int32Array,
  ind: Uint32Array,
  val: Float64Array,
  idx: Uint32Array,
  wval: Float64Array,
  z: Float64Array,
): Float64Array {
  z.fill(0);
  for (let t = 0; t < idx.length; t++) {
    const j = idx[t];
    const wj = wval[t];
    const end = ptr[j + 1];
    for (let k = ptr[j]; k < end; k++) z[ind[k]] += val[k] * wj;
  }
  return z;
}

/** (1/m) Σ_j ℓ(y_j z_j), compensated. `scratch` (length ≥ m) avoids an allocation on hot paths. */
export function lossFromMargins(z: Float64Array, y: Float64Array, scratch?: Float64Array): number {
  const m = y.length;
  const terms = scratch ?? new Float64Array(m);
  for (let i = 0; i < m; i++) terms[i] = logLoss(y[i] * z[i]);
  return sumAccurate(terms, m) / m;
}

/**
 * Number of examples whose predicted label (+1 when z_j > 0, else −1: a tie is −1, as `soda predict`,
 * LIBLINEAR and scikit-learn say) is y_j. At w = 0 that is the share of −1 labels, not 0.
 */
export function correctFromMargins(z: Float64Array, y: Float64Array): number {
  let c = 0;
  for (let i = 0; i < y.length; i++) if ((z[i] > 0 ? 1 : -1) === y[i]) c++;
  return c;
}

/** r_j = ∂/∂z_j of the mean loss = y_j ℓ'(y_j z_j) / m, so that ∇(loss) = Xᵀ r. */
export function lossResiduals(
  z: Float64Array,
  y: Float64Array,
  r: Float64Array = new Float64Array(y.length),
): Float64Array {
  const m = y.length;
  for (let i = 0; i < m; i++) r[i] = (y[i] * logLossDeriv(y[i] * z[i])) / m;
  return r;
}

/** g = Xᵀ r + λ2 w, all coordinates (row-major X). */
export function gradientCsr(
  X: CsrMatrix,
  r: Float64Array,
  w: Float64Array,
  lambda2: number,
  g: Float64Array = new Float64Array(X.cols),
): Float64Array {
  for (let j = 0; j < X.cols; j++) g[j] = lambda2 * w[j];
  const { ptr, ind, val } = X;
  for (let i = 0; i < X.rows; i++) {
    const ri = r[i];
    if (ri === 0) continue;
    for (let k = ptr[i], end = ptr[i + 1]; k < end; k++) g[ind[k]] += val[k] * ri;
  }
  return g;
}

/**
 * [∇f(w)]_j for j in `coords` only: g[t] = X[:, coords[t]]ᵀ r + λ2 wAt[t]. Cost nnz(X[:, coords]).
 * `wAt[t]` is w at coords[t].
 */
export function gradientOnCoords(
  Xc: CscMatrix,
  r: Float64Array,
  coords: Uint32Array,
  wAt: Float64Array,
  lambda2: number,
  g: Float64Array = new Float64Array(coords.length),
): Float64Array {
  const { ptr, ind, val } = Xc;
  for (let t = 0; t < coords.length; t++) {
    const j = coords[t];
    let s = 0;
    for (let k = ptr[j], end = ptr[j + 1]; k < end; k++) s += val[k] * r[ind[k]];
    g[t] = s + lambda2 * wAt[t];
  }
  return g;
}

/** f(w) = mean logistic loss + (λ2/2)‖w‖² for a dense w. */
export function smoothObjective(X: CsrMatrix, y: Float64Array, w: Float64Array, lambda2: number): number {
  const z = marginsCsr(X, w);
  return lossFromMargins(z, y) + 0.5 * lambda2 * squaredNorm(w);
}

/** f(w) and ∇f(w) in one pass over the data (dense w). */
export function smoothValueGrad(
  X: CsrMatrix,
  y: Float64Array,
  w: Float64Array,
  lambda2: number,
  g: Float64Array = new Float64Array(X.cols),
): { value: number; grad: Float64Array } {
  const z = marginsCsr(X, w);
  const value = lossFromMargins(z, y) + 0.5 * lambda2 * squaredNorm(w);
  lossResiduals(z, y, z); // z is dead after the loss: reuse it for r
  gradientCsr(X, z, w, lambda2, g);
  return { value, grad: g };
}

/*
 * The ℓ1 term and the intercept's rule, in one encoding: the intercept (a constant column appended last,
 * see intercept.ts) is not ℓ1-penalised, so coordinates j ≥ `unpenalizedFrom` (u) are left out of
 * λ1‖w‖₁ and of its prox. The default (length of w) penalises all.
 */

/** Soft-threshold of one scalar: sign(v)·max(|v| − t, 0), the prox of t|·|. */
export function softThreshold(v: number, t: number): number {
  if (v > t) return v - t;
  if (v < -t) return v + t;
  return 0;
}

/** λ1 on coordinate j, 0 on the unpenalised ones (j ≥ u): the intercept's ℓ1 rule. */
export function l1Weight(j: number, lambda1: number, unpenalizedFrom: number): number {
  return j < unpenalizedFrom ? lambda1 : 0;
}

/** prox_{γλ1|·|} on coordinate j: the soft-threshold at t = γλ1, the identity on j ≥ u. */
export function proxCoordinate(j: number, v: number, t: number, unpenalizedFrom: number): number {
  return j < unpenalizedFrom ? softThreshold(v, t) : v;
}

/** out = prox_{t‖·‖₁}(v) for dense vectors (out may alias v), the identity on j ≥ u. */
export function proxL1(
  v: Float64Array,
  t: number,
  out: Float64Array = new Float64Array(v.length),
  unpenalizedFrom = v.length,
): Float64Array {
  for (let j = 0; j < v.length; j++) out[j] = proxCoordinate(j, v[j], t, unpenalizedFrom);
  return out;
}

/** Count of non-zeros of a dense vector. */
export function countNonZeros(w: ArrayLike<number>): number {
  let c = 0;
  for (let j = 0; j < w.length; j++) if (w[j] !== 0) c++;
  return c;
}

/** λ1 Σ_{j < unpenalizedFrom} |w_j|, compensated. */
export function l1Penalty(w: ArrayLike<number>, lambda1: number, unpenalizedFrom = w.length): number {
  const sum = new CompensatedSum();
  const end = Math.min(unpenalizedFrom, w.length);
  for (let i = 0; i < end; i++) sum.add(abs(w[i]));
  return lambda1 * sum.value;
}

/** λ1 Σ |val_t| over the entries with idx_t < unpenalizedFrom (a sparse w), compensated. */
export function l1PenaltySparse(
  idx: ArrayLike<number>,
  val: ArrayLike<number>,
  lambda1: number,
  unpenalizedFrom = Infinity,
): number {
  const sum = new CompensatedSum();
  for (let i = 0; i < val.length; i++) if (idx[i] < unpenalizedFrom) sum.add(abs(val[i]));
  return lambda1 * sum.value;
}

/** F(w) = f(w) + λ1‖w_{<unpenalizedFrom}‖₁ over the whole dataset: the paper's eq. (1) with eq. (6). */
export function compositeObjective(
  X: CsrMatrix,
  y: Float64Array,
  w: Float64Array,
  lambda1: number,
  lambda2: number,
  unpenalizedFrom = w.length,
): number {
  return smoothObjective(X, y, w, lambda2) + l1Penalty(w, lambda1, unpenalizedFrom);
}

/** (F − F*)/|F*|: the paper's suboptimality (F* > 0 for the logistic loss, so this is (F − F*)/F*). */
export function suboptimality(F: number, fstar: number): number {
  return (F - fstar) / abs(fstar);
}
