import {
  csrToCsc,
  logisticSmoothness,
  SodaError,
  type CscMatrix,
  type CsrMatrix,
  type SparseVector,
  lowerBound,
} from '@soda/core';

/*
 * Local column renumbering (issue 17): a shard touches cols_i, a sorted subset of the run's n columns,
 * and a worker stores everything over cols_i (local id c ↔ global column cols_i[c]). Nothing here
 * allocates an array of length n; the one O(n)-time pass (the power iteration's start vector) keeps
 * O(1) memory beyond |cols_i|.
 */

/** The shard as a worker computes on it: column-major over its own columns. */
export interface LocalShard {
  /** m_i × |cols_i|, local column ids */
  readonly X: CscMatrix;
  readonly y: Float64Array; // ±1
  /** global id of each local column, strictly increasing */
  readonly cols: Uint32Array;
  /** the run's dimension */
  readonly n: number;
}

/** Rows over global columns renumbered onto cols_i = the sorted set of columns they touch. */
export interface LocalRows {
  /** m_i × |cols_i|, local column ids (same entry order as the input) */
  readonly X: CsrMatrix;
  readonly cols: Uint32Array;
  readonly n: number;
}

/** cols_i and the rows renumbered onto it: O(nnz log nnz) time, O(nnz) memory. */
export function localRows(X: CsrMatrix): LocalRows {
  const sorted = X.ind.slice().sort();
  let count = 0;
  for (let k = 0; k < sorted.length; k++)
    if (count === 0 || sorted[k] !== sorted[count - 1]) sorted[count++] = sorted[k];
  const cols = sorted.slice(0, count);
  const ind = new Uint32Array(X.ind.length);
  for (let k = 0; k < ind.length; k++) ind[k] = localIndex(cols, X.ind[k], 0);
  return { X: { rows: X.rows, cols: count, ptr: X.ptr, ind, val: X.val }, cols, n: X.cols };
}

/** The shard over its own columns, column-major. */
export function localShard(rows: LocalRows, y: Float64Array): LocalShard {
  return { X: csrToCsc(rows.X), y, cols: rows.cols, n: rows.n };
}

/**
 * A column-major shard over all n columns (the library form: tests, benchmarks) over its non-empty
 * columns. O(n) time: the caller already holds n column pointers.
 */
export function compactCsc(X: CscMatrix, y: Float64Array): LocalShard {
  let count = 0;
  for (let j = 0; j < X.cols; j++) if (X.ptr[j + 1] > X.ptr[j]) count++;
  const cols = new Uint32Array(count);
  const ptr = new Float64Array(count + 1);
  for (let j = 0, c = 0; j < X.cols; j++)
    if (X.ptr[j + 1] > X.ptr[j]) {
      cols[c++] = j;
      ptr[c] = X.ptr[j + 1];
    }
  return { X: { rows: X.rows, cols: count, ptr, ind: X.ind, val: X.val }, y, cols, n: X.cols };
}

/**
 * The local id of global column j, searching cols[from..]: −1 when the shard does not have it.
 * Callers walking a sorted list pass the previous answer as `from`.
 */
export function localIndex(cols: Uint32Array, j: number, from: number): number {
  const lo = lowerBound(cols, j, from);
  return lo < cols.length && cols[lo] === j ? lo : -1;
}

/** max_k |x_kj| over the shard's rows, non-zero maxima only: core's columnMaxAbsSparse without n. */
export function columnMaxima(rows: LocalRows): SparseVector {
  const { ind, val } = rows.X;
  const max = new Float64Array(rows.cols.length);
  for (let k = 0; k < ind.length; k++) {
    const a = Math.abs(val[k]);
    if (a > max[ind[k]]) max[ind[k]] = a;
  }
  let count = 0;
  for (let c = 0; c < max.length; c++) if (max[c] !== 0) count++;
  const idx = new Uint32Array(count);
  const out = new Float64Array(count);
  for (let c = 0, t = 0; c < max.length; c++)
    if (max[c] !== 0) {
      idx[t] = rows.cols[c];
      out[t++] = max[c];
    }
  return { n: rows.n, idx, val: out };
}

/** L_i = λmax(X_iᵀX_i)/(4 m_i) + λ2 over the shard's own columns: core's, bit for bit, without n-arrays. */
export function localSmoothness(rows: LocalRows, lambda2: number): number {
  return logisticSmoothness(rows.X, lambda2, { columns: { ids: rows.cols, n: rows.n } });
}

/** Rows over the run's n columns (scaled) → the shard over its own columns and its L_i. */
export function prepareShard(
  X: CsrMatrix,
  y: Float64Array,
  lambda2: number,
): { data: LocalShard; L: number } {
  const rows = localRows(X);
  return { data: localShard(rows, y), L: localSmoothness(rows, lambda2) };
}

/**
 * Rows divided by the run's max-abs divisors, column by column (x_kj / scale_j, as core's applyScale:
 * bit for bit), the divisors dense (length n) or sparse (1 off idx: x/1 = x exactly). Only the
 * divisors of the rows' own columns are read, and checked.
 */
export function scaleRows(X: CsrMatrix, scale: Float64Array | SparseVector): CsrMatrix {
  const dense = scale instanceof Float64Array;
  const val = new Float64Array(X.val.length);
  for (let k = 0; k < val.length; k++) {
    const j = X.ind[k];
    let d = 1;
    if (dense) d = scale[j];
    else {
      const t = localIndex(scale.idx, j, 0);
      if (t >= 0) d = scale.val[t];
    }
    if (!(d > 0 && d <= Number.MAX_VALUE))
      throw new SodaError('E_DATA', `scale[${j}] = ${d} is not a positive finite divisor`, { column: j });
    val[k] = X.val[k] / d;
  }
  return { rows: X.rows, cols: X.cols, ptr: X.ptr, ind: X.ind, val };
}
