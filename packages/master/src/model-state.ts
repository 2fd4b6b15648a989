import { SodaError, softThreshold, type SparseVector } from '@soda/core';

/**
 * The master side of Algorithm 1 as a pure state machine (no I/O):
 *   w̄ ← w̄ + π_i Δ ;  w = prox_{γλ1}(w̄) ;  (the caller sends w to worker i).
 * Each update costs O(|Δ|): w̄, w, supp(w) and the shard's w_i are maintained incrementally, and so is
 * w as a sparse vector (sorted support and its values), which is only re-sorted when the support
 * changes (late in a run it rarely does): `view()` is O(1), `current()` one copy of |supp(w)| values. The invariant w̄ = Σ_i π_i w_i is kept exactly in
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
  /** supp(w) sorted, rebuilt only when the support changes (a fresh array each time: snapshots share it). */
  private sortedSupp: Uint32Array | null = null;
  /** sortedVal[t] = w[sortedSupp[t]], kept current by setW while the support is unchanged */
  private readonly sortedVal: Float64Array;
  /** j → its position in sortedSupp, or −1 (valid while sortedSupp !== null) */
  private readonly sortedPos: Int32Array;
  /** the sorted list the positions in sortedPos refer to (to clear them at the next rebuild) */
  private posOf: Uint32Array | null = null;
  private liveView: SparseVector | null = null;

  constructor(
    n: number,
    pi: ArrayLike<number>,
    private gammaValue: number,
    readonly lambda1: number,
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
    this.sortedVal = new Float64Array(n);
    this.sortedPos = new Int32Array(n).fill(-1);
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
      this.setW(j, softThreshold(this.wbar[j], this.threshold));
    }
    this.k++;
  }

  /**
   * w as a sparse vector (sorted indices): a snapshot, what an evaluation round keeps. The index array
   * is shared between calls while the support is unchanged: treat it as read-only.
   */
  current(): SparseVector {
    const v = this.view();
    return { n: this.n, idx: v.idx, val: v.val.slice() };
  }

  /**
   * w as a sparse vector without copying or allocating: a read-only view of the master's own arrays,
   * valid until the next apply/resum/setGamma (which update it in place). Meant for what is encoded at
   * once, like the model frame sent to a worker after each update.
   */
  view(): SparseVector {
    if (this.sortedSupp === null || this.liveView === null) this.rebuildSorted();
    return this.liveView!;
  }

  private rebuildSorted(): void {
    const old = this.posOf;
    if (old !== null) for (let t = 0; t < old.length; t++) this.sortedPos[old[t]] = -1;
    const idx = this.suppList.slice(0, this.suppCount).sort();
    for (let t = 0; t < idx.length; t++) {
      const j = idx[t];
      this.sortedPos[j] = t;
      this.sortedVal[t] = this.w[j];
    }
    this.sortedSupp = idx;
    this.posOf = idx;
    this.liveView = { n: this.n, idx, val: this.sortedVal.subarray(0, idx.length) };
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
      this.setW(j, softThreshold(exact, this.threshold));
    }
    return drift;
  }

  /** Change γ (and so the prox threshold γλ1); w is recomputed from w̄. */
  setGamma(gamma: number): void {
    if (!(gamma > 0)) throw new SodaError('E_CONFIG', `step size γ must be > 0, got ${gamma}`);
    this.gammaValue = gamma;
    this.threshold = gamma * this.lambda1;
    for (let j = 0; j < this.n; j++) this.setW(j, softThreshold(this.wbar[j], this.threshold));
  }

  /** Restore a shard's w_i (from a checkpoint); call resum() after restoring all of them. */
  loadShard(shard: number, wi: ArrayLike<number>): void {
    if (wi.length !== this.n)
      throw new SodaError('E_STATE', `w_${shard} has length ${wi.length}, expected ${this.n}`);
    this.wi[shard].set(wi);
  }

  private setW(j: number, v: number): void {
    this.w[j] = v;
    const pos = this.suppPos[j];
    if (v !== 0) {
      if (pos < 0) {
        this.sortedSupp = null;
        this.suppPos[j] = this.suppCount;
        this.suppList[this.suppCount++] = j;
      } else if (this.sortedSupp !== null) {
        this.sortedVal[this.sortedPos[j]] = v;
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
