import { CompensatedSum } from './compensated';
import type { CscMatrix, CsrMatrix } from './matrix';

// Module-level references: a global lookup per call is slow inside jest's vm sandbox.
const { exp, log1p, abs } = Math;

/*
 * The smooth part of the paper's objective (eq. 6) for logistic regression:
 *   f(w) = (1/m) Σ_j ℓ(y_j x_jᵀw) + (λ2/2)‖w‖²,   ℓ(z) = log(1 + e^{−z}).
 * Every kernel is a plain loop over typed arrays. Sums that feed the reported objective use Neumaier
 * compensated summation, because suboptimalities down to 1e−15 are only meaningful if F(w) itself is
 * accurate to a few ulps.
 */

/** ℓ(z) = log(1 + e^{−z}), exact for any z (no overflow at |z| = 1000). */
export function logLoss(z: number): number {
  return z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
}

/** ℓ'(z) = −1/(1 + e^{z}) = −σ(−z), without overflow. */
export function logLossDeriv(z: number): number {
  if (z >= 0) {
    const e = exp(-z);
    return -e / (1 + e);
  }
  return -1 / (1 + exp(z));
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
 * The intercept (a constant column appended last, see intercept.ts) is not ℓ1-penalised: coordinates
 * j ≥ `unpenalizedFrom` are left out of λ1‖w‖₁ and of its prox. The default (length of w) penalises all.
 */

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
