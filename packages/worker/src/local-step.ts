import {
  correctFromMargins,
  gapPartCsc,
  type GapPart,
  lossFromMargins,
  marginsCsc,
  Rng,
  sampleMask,
  sparseToDense,
  squaredNorm,
  type CscMatrix,
  type SparseVector,
} from '@soda/core';

// Module-level references: a global lookup per call is slow inside jest's vm sandbox.
const { exp, abs, log1p } = Math;

/** What a worker holds of its shard S_i: the rows column-major, so a step touches only masked columns. */
export interface LocalShard {
  readonly X: CscMatrix; // m_i × n
  readonly y: Float64Array; // ±1
}

export interface StepResult {
  /** Δ = w_i⁺ − w_i on the mask; a view into reused buffers, valid until the next step. */
  readonly delta: SparseVector;
  /** f_i at the received w (paper eq. 6, including λ2/2‖w‖²). */
  readonly fi: number;
  /** |M_p|: coordinates computed and considered for sending. */
  readonly maskSize: number;
}

/**
 * The worker side of Algorithm 1, as a pure state machine over typed arrays (no I/O):
 *   M_p ← supp(w) ∪ Bernoulli(p);  w_i⁺ = [w − γ∇f_i(w)]_{M_p} + [w_i]_{M̄_p};  Δ = w_i⁺ − w_i;  w_i ← w_i⁺.
 * One step costs nnz(X_i[:, supp(w)]) for the margins plus nnz(X_i[:, M_p]) for the gradient, plus
 * O(m_i): never nnz of the whole shard unless p = 1.
 */
export class LocalStep {
  readonly n: number;
  readonly m: number;
  /** w_i, the worker's local variable (dense: it is read and written at arbitrary mask coordinates). */
  readonly wi: Float64Array;
  private readonly rng: Rng;
  private readonly z: Float64Array;
  private readonly r: Float64Array;
  private readonly maskBuf: Uint32Array;
  private readonly deltaIdx: Uint32Array;
  private readonly deltaVal: Float64Array;

  constructor(
    private readonly shard: LocalShard,
    private readonly lambda2: number,
    wi0: SparseVector,
    seed: number,
  ) {
    this.n = shard.X.cols;
    this.m = shard.X.rows;
    this.wi = sparseToDense(wi0, new Float64Array(this.n));
    this.rng = new Rng(seed);
    this.z = new Float64Array(this.m);
    this.r = new Float64Array(this.m);
    this.maskBuf = new Uint32Array(this.n);
    this.deltaIdx = new Uint32Array(this.n);
    this.deltaVal = new Float64Array(this.n);
  }

  step(w: SparseVector, gamma: number, p: number): StepResult {
    const { X, y } = this.shard;
    const { z, r, wi, lambda2, m } = this;
    marginsCsc(X, w.idx, w.val, z);
    // Fused pass: the loss (informational, plain sum) and the residuals r_j = y_j ℓ'(y_j z_j)/m.
    let loss = 0;
    for (let i = 0; i < m; i++) {
      const yz = y[i] * z[i];
      const e = exp(-abs(yz));
      if (yz > 0) {
        loss += log1p(e);
        r[i] = (-y[i] * (e / (1 + e))) / m;
      } else {
        loss += -yz + log1p(e);
        r[i] = -y[i] / (1 + e) / m;
      }
    }
    const fi = loss / m + 0.5 * lambda2 * squaredNorm(w.val);

    const mask = sampleMask(w.idx, this.n, p, this.rng, this.maskBuf);
    const { ptr, ind, val } = X;
    const widx = w.idx;
    const wval = w.val;
    let s = 0; // cursor in w (mask ⊇ supp(w), both sorted)
    let count = 0;
    for (let t = 0; t < mask.length; t++) {
      const j = mask[t];
      let wj = 0;
      if (s < widx.length && widx[s] === j) wj = wval[s++];
      let g = lambda2 * wj;
      for (let k = ptr[j], end = ptr[j + 1]; k < end; k++) g += val[k] * r[ind[k]];
      const next = wj - gamma * g; // [w − γ∇f_i(w)]_j
      const d = next - wi[j];
      wi[j] = next;
      if (d !== 0) {
        // Exact zeros carry no information for w̄ += π_i Δ: not sending them saves bytes.
        this.deltaIdx[count] = j;
        this.deltaVal[count++] = d;
      }
    }
    return {
      delta: { n: this.n, idx: this.deltaIdx.subarray(0, count), val: this.deltaVal.subarray(0, count) },
      fi,
      maskSize: mask.length,
    };
  }

  /** f_i(w) accurately (compensated sums) and the number of correctly classified rows: an evaluation round. */
  evaluate(w: SparseVector): { fi: number; correct: number } {
    marginsCsc(this.shard.X, w.idx, w.val, this.z);
    const fi = lossFromMargins(this.z, this.shard.y, this.r) + 0.5 * this.lambda2 * squaredNorm(w.val);
    return { fi, correct: correctFromMargins(this.z, this.shard.y) };
  }

  /**
   * The same, plus this shard's duality-gap parts at w (Σ H(θ_j) and Σ θ_j y_j x_j over its rows):
   * one more pass over the whole shard, O(m_i + nnz(X_i)), only when the master asks.
   */
  evaluateWithGap(w: SparseVector): { fi: number; correct: number; gap: GapPart } {
    const { fi, correct } = this.evaluate(w); // leaves the margins in this.z
    return { fi, correct, gap: gapPartCsc(this.shard.X, this.shard.y, this.z, this.r) };
  }
}
