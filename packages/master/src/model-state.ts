import { SodaError, softThreshold, type SparseVector } from '@soda/core';

/** w as the master hands it out, with the first coordinate that is not ℓ1-penalised (the intercept). */
export interface ModelVector extends SparseVector {
  readonly unpenalizedFrom: number;
}

/**
 * The master side of Algorithm 1 as a pure state machine (no I/O):
 *   w̄ ← w̄ + π_i Δ ;  w = prox_{γλ1}(w̄) ;  (the caller sends w to worker i).
 * Each update costs O(|Δ|): w̄, w, supp(w) and the shard's w_i are maintained incrementally. Reading w
 * as a sparse vector costs O(|supp(w)| log |supp(w)|). The invariant w̄ = Σ_i π_i w_i is kept exactly in
 * exact arithmetic; `resum()` restores it in floating point.
 */
export class ModelState {
  readonly n: number;
  readonly pi: Float64Array;
  readonly wbar: Float64Array;
  readonly w: Float64Array;
  /** Last w_i of every shard, so w̄ can be re-summed, checkpointed and handed to a replacement worker. */
  readonly wi: Float64Array[];
  /** Number of updates applied: the paper's k. */
  k = 0;
  private threshold: number;
  private readonly suppList: Uint32Array;
  private readonly suppPos: Int32Array;
  private suppCount = 0;
  /** supp(w) sorted, rebuilt only when the support changes (late in a run it rarely does). */
  private sortedSupp: Uint32Array | null = null;

  constructor(
    n: number,
    pi: ArrayLike<number>,
    private gammaValue: number,
    readonly lambda1: number,
    /** Coordinates j ≥ this (the intercept column) skip the prox: w_j = w̄_j. Default n: none. */
    readonly unpenalizedFrom: number = n,
  ) {
    if (!(gammaValue > 0)) throw new SodaError('E_CONFIG', `step size γ must be > 0, got ${gammaValue}`);
    this.n = n;
    this.pi = Float64Array.from(pi);
    this.wbar = new Float64Array(n);
    this.w = new Float64Array(n);
    this.wi = Array.from({ length: this.pi.length }, () => new Float64Array(n));
    this.threshold = gammaValue * lambda1;
    this.suppList = new Uint32Array(n);
    this.suppPos = new Int32Array(n).fill(-1);
  }

  get gamma(): number {
    return this.gammaValue;
  }

  get supportSize(): number {
    return this.suppCount;
  }

  /** w̄ += π_i Δ, w_i += Δ, and w = prox_{γλ1}(w̄) on the touched coordinates. */
  apply(shard: number, delta: SparseVector): void {
    const pi = this.pi[shard];
    const wi = this.wi[shard];
    const { idx, val } = delta;
    for (let t = 0; t < idx.length; t++) {
      const j = idx[t];
      wi[j] += val[t];
      this.wbar[j] += pi * val[t];
      this.setW(j, this.prox(j, this.wbar[j]));
    }
    this.k++;
  }

  /**
   * w as a sparse vector (sorted indices): what is sent down to a worker. The index array is shared
   * between calls while the support is unchanged: treat it as read-only.
   */
  current(): ModelVector {
    if (this.sortedSupp === null) this.sortedSupp = this.suppList.slice(0, this.suppCount).sort();
    const idx = this.sortedSupp;
    const val = new Float64Array(idx.length);
    for (let t = 0; t < idx.length; t++) val[t] = this.w[idx[t]];
    return { n: this.n, idx, val, unpenalizedFrom: this.unpenalizedFrom };
  }

  /** Re-sum w̄ = Σ π_i w_i (compensated) to shed the drift of many incremental updates; O(M·n). */
  resum(): number {
    let drift = 0;
    const M = this.wi.length;
    for (let j = 0; j < this.n; j++) {
      let s = 0;
      let c = 0;
      for (let i = 0; i < M; i++) {
        const v = this.pi[i] * this.wi[i][j];
        const t = s + v;
        c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
        s = t;
      }
      const exact = s + c;
      drift = Math.max(drift, Math.abs(exact - this.wbar[j]));
      this.wbar[j] = exact;
      this.setW(j, this.prox(j, exact));
    }
    return drift;
  }

  /** Change γ (and so the prox threshold γλ1); w is recomputed from w̄. */
  setGamma(gamma: number): void {
    if (!(gamma > 0)) throw new SodaError('E_CONFIG', `step size γ must be > 0, got ${gamma}`);
    this.gammaValue = gamma;
    this.threshold = gamma * this.lambda1;
    for (let j = 0; j < this.n; j++) this.setW(j, this.prox(j, this.wbar[j]));
  }

  /** Restore a shard's w_i (from a checkpoint); call resum() after restoring all of them. */
  loadShard(shard: number, wi: ArrayLike<number>): void {
    if (wi.length !== this.n)
      throw new SodaError('E_STATE', `w_${shard} has length ${wi.length}, expected ${this.n}`);
    this.wi[shard].set(wi);
  }

  /** prox_{γλ1} on coordinate j, the identity on the unpenalised ones. */
  private prox(j: number, v: number): number {
    return j < this.unpenalizedFrom ? softThreshold(v, this.threshold) : v;
  }

  private setW(j: number, v: number): void {
    this.w[j] = v;
    const pos = this.suppPos[j];
    if (v !== 0) {
      if (pos < 0) {
        this.sortedSupp = null;
        this.suppPos[j] = this.suppCount;
        this.suppList[this.suppCount++] = j;
      }
    } else if (pos >= 0) {
      this.sortedSupp = null;
      const last = this.suppList[--this.suppCount];
      this.suppList[pos] = last;
      this.suppPos[last] = pos;
      this.suppPos[j] = -1;
    }
  }
}
