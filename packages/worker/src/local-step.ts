import {
  correctFromMargins,
  gapPartCsc,
  type GapPart,
  lossFromMargins,
  lossResiduals,
  marginsCsc,
  Rng,
  sampleMask,
  SodaError,
  sparseToDense,
  squaredNorm,
  type CscMatrix,
  type SparseVector,
} from '@soda/core';

// The step's loop over the mask is its own small function over fixed array types (monomorphic, int32
// indices); the margins and the residuals σ(−y_i z_i) are the loss module's (@soda/core), one copy.

/**
 * On every j of the mask: w_i[j] ← [w − γ∇f_i(w)]_j, and the non-zero changes into (dIdx, dVal).
 * Returns their number.
 */
function maskedStep(
  ptr: Int32Array,
  ind: Uint32Array,
  val: Float64Array,
  r: Float64Array,
  mask: Uint32Array,
  widx: Uint32Array,
  wval: Float64Array,
  wi: Float64Array,
  lambda2: number,
  gamma: number,
  dIdx: Uint32Array,
  dVal: Float64Array,
): number {
  let s = 0; // cursor in w (mask ⊇ supp(w), both sorted)
  let count = 0;
  const sn = widx.length;
  for (let t = 0; t < mask.length; t++) {
    const j = mask[t];
    let wj = 0;
    if (s < sn && widx[s] === j) wj = wval[s++];
    let g = lambda2 * wj;
    const end = ptr[j + 1];
    for (let k = ptr[j]; k < end; k++) g += val[k] * r[ind[k]];
    const next = wj - gamma * g; // [w − γ∇f_i(w)]_j
    const d = next - wi[j];
    wi[j] = next;
    if (d !== 0) {
      // Exact zeros carry no information for w̄ += π_i Δ: not sending them saves bytes.
      dIdx[count] = j;
      dVal[count++] = d;
    }
  }
  return count;
}

/** What a worker holds of its shard S_i: the rows column-major, so a step touches only masked columns. */
export interface LocalShard {
  readonly X: CscMatrix; // m_i × n
  readonly y: Float64Array; // ±1
}

export interface StepResult {
  /** Δ = w_i⁺ − w_i on the mask; a view into reused buffers, valid until the next step. */
  readonly delta: SparseVector;
  /** |M_p|: coordinates computed and considered for sending. */
  readonly maskSize: number;
}

/**
 * The worker side of Algorithm 1, as a pure state machine over typed arrays (no I/O):
 *   M_p ← supp(w) ∪ Bernoulli(p);  w_i⁺ = [w − γ∇f_i(w)]_{M_p} + [w_i]_{M̄_p};  Δ = w_i⁺ − w_i;  w_i ← w_i⁺.
 * One step costs nnz(X_i[:, supp(w)]) for the margins plus nnz(X_i[:, M_p]) for the gradient, plus
 * O(m_i): never nnz of the whole shard unless p = 1. f_i itself is not computed by a step (nobody
 * reads it; `evaluate` gives it exactly). The masked loop reads only Int32Array/Uint32Array/Float64Array
 * (the shard's column pointers are copied to an Int32Array once), so it stays monomorphic and int32-indexed.
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
  /** the shard's column pointers as int32 (X.ptr is a Float64Array): the loops over k stay in int32 */
  private readonly ptr: Int32Array;

  constructor(
    private readonly shard: LocalShard,
    private readonly lambda2: number,
    wi0: SparseVector,
    seed: number,
  ) {
    this.n = shard.X.cols;
    this.m = shard.X.rows;
    if (shard.X.ind.length > 0x7fffffff)
      throw new SodaError('E_DATA', `a shard of ${shard.X.ind.length} non-zeros is too large for a worker`);
    this.ptr = Int32Array.from(shard.X.ptr);
    this.wi = sparseToDense(wi0, new Float64Array(this.n));
    this.rng = new Rng(seed);
    this.z = new Float64Array(this.m);
    this.r = new Float64Array(this.m);
    this.maskBuf = new Uint32Array(this.n);
    this.deltaIdx = new Uint32Array(this.n);
    this.deltaVal = new Float64Array(this.n);
  }

  step(w: SparseVector, gamma: number, p: number): StepResult {
    const { ind, val } = this.shard.X;
    const { z, r, wi, ptr, deltaIdx, deltaVal } = this;
    marginsCsc(this.shard.X, w.idx, w.val, z);
    lossResiduals(z, this.shard.y, r); // r_i = y_i ℓ'(y_i z_i)/m
    const mask = sampleMask(w.idx, this.n, p, this.rng, this.maskBuf);
    const count = maskedStep(
      ptr,
      ind,
      val,
      r,
      mask,
      w.idx,
      w.val,
      wi,
      this.lambda2,
      gamma,
      deltaIdx,
      deltaVal,
    );
    return {
      delta: { n: this.n, idx: deltaIdx.subarray(0, count), val: deltaVal.subarray(0, count) },
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
