import { SodaError } from './errors';
import type { CsrMatrix } from './matrix';
import type { SparseVector } from './sparse';

/**
 * Max-abs column scaling (scikit-learn's MaxAbsScaler): x_ij ← x_ij / max_i |x_ij|. It keeps zeros
 * zero, so sparsity is preserved, and maps every column into [−1, 1]. The paper scales its datasets
 * this way (Table 1). We divide rather than multiply by the reciprocal (scikit-learn's sparse path),
 * so each column's extreme entry becomes exactly ±1.
 */

export interface ScaleOptions {
  /**
   * What to do with columns j ≥ scale.length (features the training data never had): by default
   * that is a dimension mismatch and throws E_DATA; with `truncate: true` those entries are dropped,
   * which is what a model trained on scale.length features would ignore anyway.
   */
  truncate?: boolean;
}

/** Returns the scaled copy of X and the divisors: scale[j] = max |X[:, j]|, or 1 for an all-zero column. */
export function maxAbsScale(X: CsrMatrix): { X: CsrMatrix; scale: Float64Array } {
  const scale = columnMaxAbs(X);
  for (let j = 0; j < scale.length; j++) if (scale[j] === 0) scale[j] = 1;
  return { X: applyScale(X, scale), scale };
}

/** max_i |X_ij| per column; throws E_DATA on a non-finite entry (it would poison the whole column). */
export function columnMaxAbs(X: CsrMatrix): Float64Array {
  const out = new Float64Array(X.cols);
  const { ind, val } = X;
  for (let k = 0; k < ind.length; k++) {
    const a = Math.abs(val[k]);
    if (!(a <= Number.MAX_VALUE))
      throw new SodaError('E_DATA', `cannot scale: column ${ind[k]} holds the non-finite value ${val[k]}`, {
        column: ind[k],
        value: val[k],
      });
    if (a > out[ind[k]]) out[ind[k]] = a;
  }
  return out;
}

/**
 * Applies stored divisors to other data (a test set, rows to predict). The result always has
 * scale.length columns: a matrix with fewer columns (a LIBSVM file whose largest index is smaller)
 * is widened; one with more is an error unless `opts.truncate` (see ScaleOptions).
 */
export function applyScale(X: CsrMatrix, scale: Float64Array, opts: ScaleOptions = {}): CsrMatrix {
  for (let j = 0; j < scale.length; j++) {
    if (!(scale[j] > 0 && scale[j] <= Number.MAX_VALUE))
      throw new SodaError('E_DATA', `scale[${j}] = ${scale[j]} is not a positive finite divisor`, {
        column: j,
      });
  }
  const n = scale.length;
  if (X.cols > n && !opts.truncate)
    throw new SodaError(
      'E_DATA',
      `dimension mismatch: the data has ${X.cols} columns but the scale covers ${n}; ` +
        `pass { truncate: true } to drop columns ${n}..${X.cols - 1}`,
      { cols: X.cols, scaleLength: n },
    );
  if (X.cols <= n) {
    const val = new Float64Array(X.val.length);
    for (let k = 0; k < val.length; k++) val[k] = X.val[k] / scale[X.ind[k]];
    return { rows: X.rows, cols: n, ptr: X.ptr.slice(), ind: X.ind.slice(), val };
  }
  return truncateAndScale(X, scale);
}

/** Keeps entries with column < scale.length (indices are sorted, so a row's kept entries are a prefix). */
function truncateAndScale(X: CsrMatrix, scale: Float64Array): CsrMatrix {
  const n = scale.length;
  let total = 0;
  for (let k = 0; k < X.ind.length; k++) if (X.ind[k] < n) total++;
  const ptr = new Float64Array(X.rows + 1);
  const ind = new Uint32Array(total);
  const val = new Float64Array(total);
  let dst = 0;
  for (let i = 0; i < X.rows; i++) {
    for (let k = X.ptr[i]; k < X.ptr[i + 1] && X.ind[k] < n; k++) {
      ind[dst] = X.ind[k];
      val[dst++] = X.val[k] / scale[X.ind[k]];
    }
    ptr[i + 1] = dst;
  }
  return { rows: X.rows, cols: n, ptr, ind, val };
}

/*
 * Scaling without the rows (data at scale): each worker sends the column maxima of its own shard,
 * sparse (only columns it has), the master takes the element-wise maximum and broadcasts the divisors.
 * max is exact in floating point and order-free, so the result is bit-for-bit maxAbsScale's scale.
 */

/** max_i |X_ij| for the columns this shard has (non-zero maxima only), as a sparse vector of length X.cols. */
export function columnMaxAbsSparse(X: CsrMatrix): SparseVector {
  const dense = columnMaxAbs(X);
  let count = 0;
  for (let j = 0; j < dense.length; j++) if (dense[j] !== 0) count++;
  const idx = new Uint32Array(count);
  const val = new Float64Array(count);
  let t = 0;
  for (let j = 0; j < dense.length; j++)
    if (dense[j] !== 0) {
      idx[t] = j;
      val[t++] = dense[j];
    }
  return { n: X.cols, idx, val };
}

/**
 * combineColumnMaxima kept sparse: the divisors that are not 1 (columns no shard has, or whose largest
 * |x| is exactly 1, divide by 1 and are left out), sorted. O(T log M) for M parts of T entries in all
 * (merged in pairs; a maximum does not depend on the order), never O(n): what the master keeps of the
 * scale when the workers hold the data. divisorAt reads it; the same E_DATA errors as the dense form.
 */
export function divisorsFromMaxima(parts: readonly SparseVector[], n: number): SparseVector {
  let lists: SparseVector[] = parts.map((p, i) => {
    checkMaxima(p, i, n);
    return p;
  });
  if (lists.length === 0) return { n, idx: new Uint32Array(0), val: new Float64Array(0) };
  while (lists.length > 1) {
    const next: SparseVector[] = [];
    for (let t = 0; t + 1 < lists.length; t += 2) next.push(mergeMax(lists[t], lists[t + 1], n));
    if (lists.length % 2 === 1) next.push(lists[lists.length - 1]);
    lists = next;
  }
  const all = lists[0];
  let k = 0;
  for (let t = 0; t < all.idx.length; t++) if (all.val[t] !== 0 && all.val[t] !== 1) k++;
  const idx = new Uint32Array(k);
  const val = new Float64Array(k);
  k = 0;
  for (let t = 0; t < all.idx.length; t++)
    if (all.val[t] !== 0 && all.val[t] !== 1) {
      idx[k] = all.idx[t];
      val[k++] = all.val[t];
    }
  return { n, idx, val };
}

/** Column j's divisor in a sparse scale (divisorsFromMaxima): its entry, or 1 when it has none. */
export function divisorAt(divisors: SparseVector, j: number): number {
  const idx = divisors.idx;
  let lo = 0;
  let hi = idx.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (idx[mid] < j) lo = mid + 1;
    else hi = mid;
  }
  return lo < idx.length && idx[lo] === j ? divisors.val[lo] : 1;
}

/** A part's column maxima: dimension ≤ n, every maximum finite and ≥ 0 (E_DATA naming the part). */
function checkMaxima(p: SparseVector, i: number, n: number): void {
  if (p.n > n)
    throw new SodaError('E_DATA', `column maxima of part ${i} have dimension ${p.n} > n = ${n}`, { part: i });
  for (let t = 0; t < p.idx.length; t++) {
    const a = p.val[t];
    if (!(a >= 0 && a <= Number.MAX_VALUE))
      throw new SodaError('E_DATA', `column maxima of part ${i}: column ${p.idx[t]} has ${a}`, {
        part: i,
        column: p.idx[t],
      });
  }
}

/** The entry-wise maximum of two sorted sparse vectors of maxima (absent = 0). */
function mergeMax(a: SparseVector, b: SparseVector, n: number): SparseVector {
  const idx = new Uint32Array(a.idx.length + b.idx.length);
  const val = new Float64Array(idx.length);
  let p = 0;
  let q = 0;
  let k = 0;
  while (p < a.idx.length || q < b.idx.length) {
    const ja = p < a.idx.length ? a.idx[p] : Infinity;
    const jb = q < b.idx.length ? b.idx[q] : Infinity;
    if (ja < jb) {
      idx[k] = ja;
      val[k++] = a.val[p++];
    } else if (jb < ja) {
      idx[k] = jb;
      val[k++] = b.val[q++];
    } else {
      idx[k] = ja;
      const x = a.val[p++];
      const y = b.val[q++];
      val[k++] = y > x ? y : x;
    }
  }
  return { n, idx: idx.subarray(0, k), val: val.subarray(0, k) };
}

/**
 * The divisors of the whole dataset from every shard's column maxima: scale[j] = max over parts, or 1
 * for a column no shard has. A part may be shorter than n (a shard whose largest index is smaller);
 * a longer one, or a negative or non-finite maximum, is an E_DATA error naming the part.
 */
export function combineColumnMaxima(parts: readonly SparseVector[], n: number): Float64Array {
  const scale = new Float64Array(n);
  parts.forEach((p, i) => {
    checkMaxima(p, i, n);
    for (let t = 0; t < p.idx.length; t++) if (p.val[t] > scale[p.idx[t]]) scale[p.idx[t]] = p.val[t];
  });
  for (let j = 0; j < n; j++) if (scale[j] === 0) scale[j] = 1;
  return scale;
}
