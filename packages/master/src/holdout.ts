import {
  correctFromMargins,
  csrToCsc,
  lossFromMargins,
  marginsCsc,
  type CscMatrix,
  type Dataset,
  type SparseVector,
} from '@soda/core';

export interface HoldoutScores {
  readonly testAccuracy: number;
  /** Mean logistic loss on the held-out examples (no regularisation). */
  readonly testLogLoss: number;
}

/**
 * Held-out examples the master scores w against at each evaluation round. Column-major, so a score
 * costs nnz(X_test[:, supp(w)]): cheap once the support is identified.
 */
export class Holdout {
  private readonly X: CscMatrix;
  private readonly y: Float64Array;
  private readonly z: Float64Array;
  private readonly scratch: Float64Array;

  constructor(test: Dataset) {
    this.X = csrToCsc(test.X);
    this.y = test.y;
    this.z = new Float64Array(test.X.rows);
    this.scratch = new Float64Array(test.X.rows);
  }

  score(w: SparseVector): HoldoutScores {
    // Coordinates beyond the test set's columns have no data there: they add nothing to a margin.
    let len = w.idx.length;
    while (len > 0 && w.idx[len - 1] >= this.X.cols) len--;
    marginsCsc(this.X, w.idx.subarray(0, len), w.val.subarray(0, len), this.z);
    return {
      testAccuracy: correctFromMargins(this.z, this.y) / this.y.length,
      testLogLoss: lossFromMargins(this.z, this.y, this.scratch),
    };
  }
}
