import type { CsrMatrix, RowSink } from '@soda/core';

/** Counts rows, non-zeros and labels without keeping anything (for full-size streaming checks). */
export class CountingSink implements RowSink {
  rows = 0;
  nnz = 0;
  positives = 0;
  maxIndex = -1;
  write(y: number, idx: ArrayLike<number>): void {
    this.rows++;
    this.nnz += idx.length;
    if (y === 1) this.positives++;
    if (idx.length > 0) this.maxIndex = Math.max(this.maxIndex, idx[idx.length - 1]);
  }
}

/** An asynchronous sink that fails if a builder writes again before the previous write settled. */
export class SlowSink implements RowSink {
  rows = 0;
  private pending = false;
  write(): Promise<void> {
    if (this.pending) throw new Error('write called before the previous write settled');
    this.pending = true;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.pending = false;
        this.rows++;
        resolve();
      }),
    );
  }
}

export function rowNorms(X: CsrMatrix): Float64Array {
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (let k = X.ptr[i]; k < X.ptr[i + 1]; k++) s += X.val[k] * X.val[k];
    out[i] = Math.sqrt(s);
  }
  return out;
}

export function columnCounts(X: CsrMatrix): Uint32Array {
  const out = new Uint32Array(X.cols);
  for (let k = 0; k < X.ind.length; k++) out[X.ind[k]]++;
  return out;
}

export function sameArrays(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
