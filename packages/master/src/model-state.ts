import { CompensatedSum, SodaError, softThreshold, type SparseVector } from '@soda/core';

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
  /** Number of updates applied: the paper's k (changed only by apply() and restore()). */
  private kValue = 0;
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

  /** Number of updates applied: the paper's k. */
  get k(): number {
    return this.kValue;
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
    this.kValue++;
  }

  /**
   * w as a sparse vector (sorted indices): what is sent down to a worker. The index array is shared
   * between calls while the support is unchanged: treat it as read-only.
   */
  current(): SparseVector {
    if (this.sortedSupp === null) this.sortedSupp = this.suppList.slice(0, this.suppCount).sort();
    const idx = this.sortedSupp;
    const val = new Float64Array(idx.length);
    for (let t = 0; t < idx.length; t++) val[t] = this.w[idx[t]];
    return { n: this.n, idx, val };
  }

  /** Re-sum w̄ = Σ π_i w_i (compensated) to shed the drift of many incremental updates; O(M·n). */
  resum(): number {
    let drift = 0;
    const M = this.wi.length;
    for (let j = 0; j < this.n; j++) {
      const sum = new CompensatedSum();
      for (let i = 0; i < M; i++) sum.add(this.pi[i] * this.wi[i][j]);
      const exact = sum.value;
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

  /**
   * Continue from a checkpoint: every w_i, and w̄ bit for bit rather than re-summed (so w^k, and
   * F(w^k), are exactly as checkpointed), γ and k. w and supp(w) are rebuilt from w̄.
   */
  restore(state: {
    readonly wbar: ArrayLike<number>;
    readonly wi: readonly ArrayLike<number>[];
    readonly k: number;
    readonly gamma: number;
  }): void {
    if (state.wi.length !== this.wi.length)
      throw new SodaError('E_STATE', `${state.wi.length} shard vectors, expected ${this.wi.length}`);
    if (state.wbar.length !== this.n)
      throw new SodaError('E_STATE', `w̄ has length ${state.wbar.length}, expected ${this.n}`);
    if (!(Number.isInteger(state.k) && state.k >= 0))
      throw new SodaError('E_STATE', `k must be an integer ≥ 0, got ${state.k}`);
    state.wi.forEach((v, i) => this.loadShard(i, v));
    this.wbar.set(state.wbar);
    this.kValue = state.k;
    this.setGamma(state.gamma);
  }

  /** Algorithm 1 afresh from w̄⁰ with step γ: every w_i = w̄⁰, so w̄ = Σ π_i w_i exactly; k keeps counting. */
  restartFrom(wbar0: ArrayLike<number>, gamma: number): void {
    for (let i = 0; i < this.wi.length; i++) this.loadShard(i, wbar0);
    this.wbar.set(wbar0);
    this.setGamma(gamma);
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
