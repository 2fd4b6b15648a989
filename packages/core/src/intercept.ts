import type { CsrMatrix, Dataset } from './matrix';

/*
 * The intercept b of z = xᵀw + b is trained as one more weight on a constant feature appended as the
 * last column (after max-abs scaling, so it stays 1). Everything that reads columns (shards, workers,
 * the reference solver) then handles it unchanged; only the ℓ1 term and its prox skip it
 * (`unpenalizedFrom` = that column's index). λ2 does apply to it: F stays λ2-strongly convex, which
 * keeps w* unique on separable data and keeps the gap bound ‖v‖²/(2λ2) of the stopping rule valid.
 */

/** Value of the constant column: 1, so its weight is b itself. */
export const INTERCEPT_VALUE = 1;

/** X with a constant column appended (index X.cols). */
export function appendConstantColumn(X: CsrMatrix, value = INTERCEPT_VALUE): CsrMatrix {
  const m = X.rows;
  const ptr = new Float64Array(m + 1);
  const ind = new Uint32Array(X.ind.length + m);
  const val = new Float64Array(X.val.length + m);
  let k = 0;
  for (let i = 0; i < m; i++) {
    ptr[i] = k;
    for (let t = X.ptr[i], end = X.ptr[i + 1]; t < end; t++) {
      ind[k] = X.ind[t];
      val[k++] = X.val[t];
    }
    ind[k] = X.cols;
    val[k++] = value;
  }
  ptr[m] = k;
  return { rows: m, cols: X.cols + 1, ptr, ind, val };
}

/** The dataset with the intercept's constant column appended. */
export function withIntercept(ds: Dataset): Dataset {
  return { X: appendConstantColumn(ds.X), y: ds.y };
}
