import { type CscMatrix, gradientOnCoords, logLossSecond, marginsCsc } from '@soda/core';

/*
 * Second-order pieces of the smooth part f(w) = (1/m) Σ_j ℓ(y_j x_jᵀw) + (λ2/2)‖w‖²:
 *   ∇²f(w) = Xᵀ diag(D) X + λ2 I,   D_j = ℓ''(y_j z_j)/m = σ(z_j)(1 − σ(z_j))/m   (y_j² = 1),
 * restricted to a working set W of coordinates (the Newton step never forms the matrix: it only needs
 * products H_WW v, each costing two passes over the columns X[:, W]).
 */

/** D_j = ℓ''(y_j z_j)/m: the diagonal weights of the logistic Hessian. */
export function curvatureWeights(
  z: Float64Array,
  y: Float64Array,
  D: Float64Array = new Float64Array(y.length),
): Float64Array {
  const m = y.length;
  for (let i = 0; i < m; i++) D[i] = logLossSecond(y[i] * z[i]) / m;
  return D;
}

/**
 * out = H_WW v = X_Wᵀ diag(D) X_W v + λ2 v, for v given on the working set W (v[t] ↔ coordinate W[t]).
 * `u` is an m-long scratch vector.
 */
export function hessianVector(
  Xc: CscMatrix,
  D: Float64Array,
  lambda2: number,
  W: Uint32Array,
  v: Float64Array,
  u: Float64Array,
  out: Float64Array,
): Float64Array {
  marginsCsc(Xc, W, v, u);
  for (let i = 0; i < u.length; i++) u[i] *= D[i];
  return gradientOnCoords(Xc, u, W, v, lambda2, out);
}

/** diag(H_WW)_t = Σ_j D_j X[j, W_t]² + λ2: the Jacobi preconditioner (columns are scaled unevenly). */
export function hessianDiagonal(
  Xc: CscMatrix,
  D: Float64Array,
  lambda2: number,
  W: Uint32Array,
  out: Float64Array = new Float64Array(W.length),
): Float64Array {
  const { ptr, ind, val } = Xc;
  for (let t = 0; t < W.length; t++) {
    const j = W[t];
    let s = 0;
    for (let k = ptr[j], end = ptr[j + 1]; k < end; k++) s += D[ind[k]] * val[k] * val[k];
    out[t] = s + lambda2;
  }
  return out;
}

export interface CgResult {
  readonly x: Float64Array;
  readonly iterations: number;
  /** ‖b − Hx‖₂ / ‖b‖₂ at exit (recursive residual). */
  readonly relResidual: number;
}

/**
 * Jacobi-preconditioned conjugate gradients for H x = b, H symmetric positive definite, given only as
 * a product. Stops when ‖r‖₂ ≤ rtol·‖b‖₂, after maxIter products, or on a non-positive curvature
 * (possible only through rounding when λ2 = 0), returning the iterate reached.
 */
export function conjugateGradient(
  apply: (p: Float64Array, out: Float64Array) => void,
  b: Float64Array,
  precond: Float64Array,
  rtol: number,
  maxIter: number,
): CgResult {
  const len = b.length;
  const x = new Float64Array(len);
  const r = Float64Array.from(b);
  const zv = new Float64Array(len);
  const p = new Float64Array(len);
  const Ap = new Float64Array(len);
  const bNorm = Math.sqrt(dot(b, b));
  if (bNorm === 0) return { x, iterations: 0, relResidual: 0 };
  for (let t = 0; t < len; t++) zv[t] = r[t] / precond[t];
  p.set(zv);
  let rz = dot(r, zv);
  let rNorm = bNorm;
  let it = 0;
  while (it < maxIter && rNorm > rtol * bNorm) {
    apply(p, Ap);
    it++;
    const pAp = dot(p, Ap);
    if (!(pAp > 0)) break;
    const alpha = rz / pAp;
    for (let t = 0; t < len; t++) {
      x[t] += alpha * p[t];
      r[t] -= alpha * Ap[t];
    }
    rNorm = Math.sqrt(dot(r, r));
    for (let t = 0; t < len; t++) zv[t] = r[t] / precond[t];
    const rzNext = dot(r, zv);
    const beta = rzNext / rz;
    rz = rzNext;
    for (let t = 0; t < len; t++) p[t] = zv[t] + beta * p[t];
  }
  return { x, iterations: it, relResidual: rNorm / bNorm };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let t = 0; t < a.length; t++) s += a[t] * b[t];
  return s;
}
