import { SodaError } from './errors';
import type { CsrMatrix } from './matrix';
import { Rng } from './rng';

/*
 * f_i is L_i-smooth with L_i = λmax(X_iᵀX_i)/(4 m_i) + λ2 (the logistic loss has ℓ'' ≤ 1/4) and
 * μ-strongly convex with μ = λ2. The paper's step size is γ ∈ (0, 2/(μ + L)], L = max_i L_i.
 */

export interface PowerIterationOptions {
  readonly maxIter?: number;
  readonly tol?: number;
  readonly seed?: number;
  /**
   * X's columns are local ids of these global columns (`ids` increasing) of a matrix with n columns (a
   * worker's shard over its own columns): the result is bit for bit the n-column matrix's, in O(|ids|)
   * memory. The start vector is drawn and normalised over all n (streamed, O(1) memory); off `ids`, X v
   * ignores v and (Xᵀu)_j = 0, so v is 0 there after one product, and +0 terms leave every sum unchanged.
   */
  readonly columns?: { readonly ids: Uint32Array; readonly n: number };
}

/**
 * λmax(XᵀX) by power iteration on v ← Xᵀ(Xv). Rayleigh quotients approach λmax from below; we stop
 * when the relative change is below tol and return the last quotient.
 */
export function largestEigenvalueXtX(X: CsrMatrix, opts: PowerIterationOptions = {}): number {
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-10;
  const rng = new Rng(opts.seed ?? 12345);
  const n = X.cols;
  let v = new Float64Array(n);
  const s0 = startVector(v, rng, opts.columns);
  for (let j = 0; j < n; j++) v[j] /= s0;
  const u = new Float64Array(X.rows);
  let next = new Float64Array(n);
  let lambda = 0;
  const { ptr, ind, val } = X;
  for (let it = 0; it < maxIter; it++) {
    for (let i = 0; i < X.rows; i++) {
      let s = 0;
      for (let k = ptr[i]; k < ptr[i + 1]; k++) s += val[k] * v[ind[k]];
      u[i] = s;
    }
    next.fill(0);
    for (let i = 0; i < X.rows; i++) {
      const ui = u[i];
      for (let k = ptr[i]; k < ptr[i + 1]; k++) next[ind[k]] += val[k] * ui;
    }
    let rq = 0; // vᵀXᵀXv with ‖v‖ = 1
    for (let j = 0; j < n; j++) rq += v[j] * next[j];
    const norm = Math.sqrt(normSq(next));
    if (norm === 0) return 0;
    for (let j = 0; j < n; j++) next[j] /= norm;
    const tmp = v;
    v = next;
    next = tmp;
    if (it > 0 && Math.abs(rq - lambda) <= tol * rq) return rq;
    lambda = rq;
  }
  return lambda;
}

/** L_i = λmax(X_iᵀX_i)/(4 m_i) + λ2. */
export function logisticSmoothness(X: CsrMatrix, lambda2: number, opts?: PowerIterationOptions): number {
  if (X.rows === 0) throw new SodaError('E_DATA', 'cannot compute the smoothness of an empty shard');
  return largestEigenvalueXtX(X, opts) / (4 * X.rows) + lambda2;
}

/** γ = 2/(μ + L): the largest step of Lemma 1, the fastest contraction of the prox-gradient step. */
export function defaultStepSize(mu: number, L: number): number {
  if (!(L > 0) || !(mu >= 0) || mu > L)
    throw new SodaError('E_CONFIG', `step size needs 0 ≤ μ ≤ L and L > 0, got μ = ${mu}, L = ${L}`);
  return 2 / (mu + L);
}

/**
 * v_j = U_j + 1/2 (positive: overlaps the Perron vector of non-negative data), drawn for every one of
 * the n columns; returns ‖v‖ over all n (the squares summed in column order either way).
 */
function startVector(v: Float64Array, rng: Rng, columns: PowerIterationOptions['columns']): number {
  if (columns === undefined) {
    for (let j = 0; j < v.length; j++) v[j] = rng.next() + 0.5;
    return Math.sqrt(normSq(v));
  }
  const { ids, n } = columns;
  if (ids.length !== v.length)
    throw new SodaError('E_DATA', `${ids.length} column ids for a matrix of ${v.length} columns`);
  let ss = 0;
  for (let j = 0, c = 0; j < n; j++) {
    const vj = rng.next() + 0.5;
    ss += vj * vj;
    if (c < ids.length && ids[c] === j) v[c++] = vj;
  }
  return Math.sqrt(ss);
}

function normSq(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return s;
}
