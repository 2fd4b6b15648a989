import { SodaError } from './errors';

/**
 * Compressed sparse matrices. CSR is how data is read and sharded (rows = examples); CSC is how a
 * worker computes (columns = features), so a SODA step touches only the columns in supp(w) ∪ mask.
 *
 * Invariants: ptr has length (major + 1), ptr[0] = 0, non-decreasing, ptr[major] = nnz; within one
 * row (CSR) or column (CSC) the minor indices are strictly increasing and < the minor dimension.
 * ptr is a Float64Array so nnz may exceed 2^32 without a silent wrap.
 */
export interface CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly ptr: Float64Array;
  readonly ind: Uint32Array;
  readonly val: Float64Array;
}

export interface CscMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly ptr: Float64Array;
  readonly ind: Uint32Array;
  readonly val: Float64Array;
}

/** A labelled dataset: X (m × n, CSR) and labels y ∈ {−1, +1}^m. */
export interface Dataset {
  readonly X: CsrMatrix;
  readonly y: Float64Array;
}

export function nnz(A: CsrMatrix | CscMatrix): number {
  return A.ind.length;
}

/** Transpose of the storage order: the same matrix, column-major. O(nnz + cols). */
export function csrToCsc(A: CsrMatrix): CscMatrix {
  const { rows, cols } = A;
  const total = A.ind.length;
  const ptr = new Float64Array(cols + 1);
  for (let k = 0; k < total; k++) ptr[A.ind[k] + 1]++;
  for (let j = 0; j < cols; j++) ptr[j + 1] += ptr[j];
  const next = ptr.slice(0, cols);
  const ind = new Uint32Array(total);
  const val = new Float64Array(total);
  // Rows are visited in order, so row indices within each column come out sorted.
  for (let i = 0; i < rows; i++) {
    for (let k = A.ptr[i]; k < A.ptr[i + 1]; k++) {
      const j = A.ind[k];
      const dst = next[j]++;
      ind[dst] = i;
      val[dst] = A.val[k];
    }
  }
  return { rows, cols, ptr, ind, val };
}

/** The sub-matrix of the given rows (in the given order), as CSR. */
export function selectRows(A: CsrMatrix, rowIds: ArrayLike<number>): CsrMatrix {
  let total = 0;
  for (let r = 0; r < rowIds.length; r++) total += A.ptr[rowIds[r] + 1] - A.ptr[rowIds[r]];
  const ptr = new Float64Array(rowIds.length + 1);
  const ind = new Uint32Array(total);
  const val = new Float64Array(total);
  let dst = 0;
  for (let r = 0; r < rowIds.length; r++) {
    const i = rowIds[r];
    const start = A.ptr[i];
    const end = A.ptr[i + 1];
    ind.set(A.ind.subarray(start, end), dst);
    val.set(A.val.subarray(start, end), dst);
    dst += end - start;
    ptr[r + 1] = dst;
  }
  return { rows: rowIds.length, cols: A.cols, ptr, ind, val };
}

/** Dense row-major copy, for tests and tiny problems only. */
export function csrToDense(A: CsrMatrix): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < A.rows; i++) {
    const row = new Float64Array(A.cols);
    for (let k = A.ptr[i]; k < A.ptr[i + 1]; k++) row[A.ind[k]] = A.val[k];
    out.push(row);
  }
  return out;
}

/** CSR from dense rows (zeros dropped), for tests and tiny problems. */
export function csrFromDense(rowsData: ArrayLike<ArrayLike<number>>, cols?: number): CsrMatrix {
  const rows = rowsData.length;
  const n = cols ?? (rows > 0 ? rowsData[0].length : 0);
  const ptr = new Float64Array(rows + 1);
  const ind: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < rows; i++) {
    const row = rowsData[i];
    for (let j = 0; j < row.length; j++) {
      if (row[j] !== 0) {
        ind.push(j);
        val.push(row[j]);
      }
    }
    ptr[i + 1] = ind.length;
  }
  return { rows, cols: n, ptr, ind: Uint32Array.from(ind), val: Float64Array.from(val) };
}

/**
 * The examples (rows and their labels) with the given ids, in the given order: the one row selector
 * behind shards, hold-out splits and the master's shard table. `who` names the caller's set in errors.
 */
export function selectExamples(ds: Dataset, rowIds: ArrayLike<number>, who = 'selection'): Dataset {
  const { X, y } = ds;
  if (y.length !== X.rows) throw new SodaError('E_DATA', `dataset has ${X.rows} rows but ${y.length} labels`);
  const yi = new Float64Array(rowIds.length);
  for (let r = 0; r < rowIds.length; r++) {
    const row = rowIds[r];
    if (!(Number.isInteger(row) && row >= 0 && row < X.rows))
      throw new SodaError('E_CONFIG', `${who} names row ${row}, but the dataset has rows 0..${X.rows - 1}`, {
        row,
      });
    yi[r] = y[row];
  }
  return { X: selectRows(X, rowIds), y: yi };
}
