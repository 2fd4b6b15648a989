import { proxCoordinate, SodaError, type SparseVector } from '@soda/core';
import { ShardIterate, sparseBits } from './shard-iterate';

/** A vector given dense (any array of n numbers) or sparse. */
export type VectorLike = ArrayLike<number> | SparseVector;

/**
 * The master side of Algorithm 1 as a pure state machine (no I/O):
 *   w̄ ← w̄ + π_i Δ ;  w = prox_{γλ1}(w̄) ;  (the caller sends w to worker i).
 * Each update costs O(|Δ|): w̄, w, supp(w) and the shard's w_i are maintained incrementally, and so is
 * w as a sparse vector (sorted support and its values), which is only re-sorted when the support
 * changes, by one merge of the old order with the few new coordinates (never a full sort after the
 * first): `view()` is O(1) while supp(w) is unchanged, `current()` one copy of |supp(w)| values. The invariant w̄ = Σ_i π_i w_i is kept exactly in
 * exact arithmetic; `resum()` restores it in floating point.
 *
 * Memory O(n + Σ_i |cols_i|): w̄ and the support's index maps are dense (O(n)), w is kept on its
 * support only (its values beside supp(w)'s list), each shard's w_i
 * is stored only on its columns plus the coordinates supp(w) lent it (ShardIterate; DESIGN.md derives
 * why w_i is zero elsewhere). The support's lists grow with |supp(w)|, not with n.
 */
export class ModelState {
  readonly n: number;
  readonly pi: Float64Array;
  readonly wbar: Float64Array;
  /** Last w_i of every shard, so w̄ can be re-summed, checkpointed and handed to a replacement worker. */
  readonly wi: ShardIterate[];
  /** Number of updates applied: the paper's k (changed only by apply() and restore()). */
  private kValue = 0;
  private threshold: number;
  private suppList: Uint32Array = new Uint32Array(16);
  /** suppVal[t] = w[suppList[t]]: w's values, on its support only (w is 0 elsewhere) */
  private suppVal: Float64Array = new Float64Array(16);
  private readonly suppPos: Int32Array;
  private suppCount = 0;
  /**
   * supp(w) sorted as of the last view(): a fresh array after each change (snapshots share it), so
   * it may hold coordinates that have since left the support (w[j] = 0), and misses those in `added`.
   */
  private sorted: Uint32Array = new Uint32Array(0);
  /** the support changed since `sorted` was built */
  private dirty = false;
  /** coordinates that entered the support and are not in `sorted` (no duplicates: see inAdded) */
  private added: Uint32Array = new Uint32Array(16);
  private addedCount = 0;
  private readonly inAdded: Uint8Array;
  /** sortedVal[t] = w[sorted[t]], kept current by setW */
  private sortedVal: Float64Array = new Float64Array(16);
  /** j → its position in `sorted`, or −1 */
  private readonly sortedPos: Int32Array;
  private liveView: SparseVector;
  /** a coordinate where w is ±∞ or NaN (a divergence), −1 when none: so a reply need not scan w */
  private nonFiniteAt = -1;

  constructor(
    n: number,
    pi: ArrayLike<number>,
    private gammaValue: number,
    readonly lambda1: number,
    /** Coordinates j ≥ this (the intercept column) skip the prox: w_j = w̄_j. Default n: none. */
    readonly unpenalizedFrom: number = n,
    /** each shard's columns cols_i (sorted): where its w_i is stored densely; default none (all sparse) */
    cols?: readonly Uint32Array[],
  ) {
    if (!(gammaValue > 0)) throw new SodaError('E_CONFIG', `step size γ must be > 0, got ${gammaValue}`);
    this.n = n;
    this.pi = Float64Array.from(pi);
    this.wbar = new Float64Array(n);
    if (cols !== undefined && cols.length !== this.pi.length)
      throw new SodaError('E_STATE', `${cols.length} column lists for ${this.pi.length} shards`);
    const none = new Uint32Array(0);
    this.wi = Array.from({ length: this.pi.length }, (_, i) => new ShardIterate(n, cols?.[i] ?? none));
    this.threshold = gammaValue * lambda1;
    this.suppPos = new Int32Array(n).fill(-1);
    this.sortedPos = new Int32Array(n).fill(-1);
    this.inAdded = new Uint8Array(n);
    this.liveView = { n, idx: this.sorted, val: this.sortedVal.subarray(0, 0) };
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

  /** A coordinate j where w_j is not finite (the run diverged), or −1: O(1), kept by every change of w. */
  get firstNonFinite(): number {
    return this.nonFiniteAt;
  }

  /** w_j = prox(w̄)_j */
  wAt(j: number): number {
    const pos = this.suppPos[j];
    return pos >= 0 ? this.suppVal[pos] : 0;
  }

  /** w as a dense vector of n (tests and small n only: O(n)). */
  wDense(): Float64Array {
    const out = new Float64Array(this.n);
    for (let t = 0; t < this.suppCount; t++) out[this.suppList[t]] = this.suppVal[t];
    return out;
  }

  /** w̄ += π_i Δ, w_i += Δ, and w = prox_{γλ1}(w̄) on the touched coordinates. */
  apply(shard: number, delta: SparseVector): void {
    const pi = this.pi[shard];
    this.wi[shard].addSorted(delta);
    const { idx, val } = delta;
    const { wbar, suppPos, sortedPos, sortedVal } = this;
    const thr = this.threshold;
    const u = this.unpenalizedFrom;
    for (let t = 0; t < idx.length; t++) {
      const j = idx[t];
      const d = val[t];
      const b = (wbar[j] += pi * d);
      const v = proxCoordinate(j, b, thr, u); // prox_{γλ1}(b): identity on the intercept (j ≥ u)
      const pos = suppPos[j];
      if (v - v !== 0 && this.nonFiniteAt < 0) this.nonFiniteAt = j; // ±∞ or NaN
      if (v !== 0 && pos >= 0) {
        // still in the support (the common case): only the value changes
        this.suppVal[pos] = v;
        const at = sortedPos[j];
        if (at >= 0) sortedVal[at] = v;
      } else if (v !== 0 || suppPos[j] >= 0) this.setW(j, v); // (0 outside the support: w_j stays 0)
    }
    this.kValue++;
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
    if (this.dirty) this.rebuildSorted();
    return this.liveView;
  }

  /** Merge the old order (minus what left the support) with the sorted new coordinates: O(s + a log a). */
  private rebuildSorted(): void {
    const { sortedPos, inAdded, suppPos, suppVal } = this;
    const add = this.added.subarray(0, this.addedCount).sort();
    const old = this.sorted;
    const idx = new Uint32Array(this.suppCount);
    if (this.sortedVal.length < idx.length) this.sortedVal = new Float64Array(2 * idx.length);
    const sortedVal = this.sortedVal;
    let a = 0;
    let o = 0;
    let t = 0;
    while (o < old.length || a < add.length) {
      let j: number;
      if (a >= add.length || (o < old.length && old[o] < add[a])) {
        j = old[o++];
        if (suppPos[j] < 0) {
          sortedPos[j] = -1; // left the support
          continue;
        }
      } else {
        j = add[a++];
        inAdded[j] = 0;
        if (suppPos[j] < 0) continue; // entered and left again
      }
      idx[t] = j;
      sortedPos[j] = t;
      sortedVal[t++] = suppVal[suppPos[j]];
    }
    if (t !== idx.length) throw new SodaError('E_STATE', `support bookkeeping: ${t} ≠ ${idx.length}`);
    this.addedCount = 0;
    this.sorted = idx;
    this.dirty = false;
    this.liveView = { n: this.n, idx, val: sortedVal.subarray(0, t) };
  }

  /**
   * Re-sum w̄ = Σ π_i w_i (Neumaier-compensated, shards in order: the same sums as one CompensatedSum
   * per coordinate) to shed the drift of many incremental updates. O(n + Σ_i |w_i|) time, in blocks of
   * coordinates so the scratch space is O(block), never O(n) per shard.
   */
  resum(): number {
    this.nonFiniteAt = -1; // every w_j is set again below
    const B = 1 << 16;
    const { n, pi, wbar } = this;
    const M = this.wi.length;
    const s = new Float64Array(B);
    const c = new Float64Array(B);
    const cursors = this.wi.map(() => ({ a: 0, b: 0 }));
    for (const x of this.wi) x.flush();
    let drift = 0;
    for (let from = 0; from < n; from += B) {
      const to = Math.min(n, from + B);
      s.fill(0);
      c.fill(0);
      for (let i = 0; i < M; i++) {
        const p = pi[i];
        this.wi[i].forEachIn(from, to, cursors[i], (j, x) => {
          const v = p * x;
          const k = j - from;
          const a = s[k];
          const t = a + v;
          c[k] += (a >= 0 ? a : -a) >= (v >= 0 ? v : -v) ? a - t + v : v - t + a;
          s[k] = t;
        });
      }
      for (let j = from; j < to; j++) {
        const exact = s[j - from] + c[j - from];
        drift = Math.max(drift, Math.abs(exact - wbar[j]));
        wbar[j] = exact;
        this.setW(j, this.prox(j, exact));
      }
    }
    return drift;
  }

  /** Change γ (and so the prox threshold γλ1); w is recomputed from w̄. */
  setGamma(gamma: number): void {
    if (!(gamma > 0)) throw new SodaError('E_CONFIG', `step size γ must be > 0, got ${gamma}`);
    this.gammaValue = gamma;
    this.threshold = gamma * this.lambda1;
    this.nonFiniteAt = -1; // every w_j is set again below
    for (let j = 0; j < this.n; j++) this.setW(j, this.prox(j, this.wbar[j]));
  }

  /** Restore a shard's w_i (from a checkpoint); call resum() after restoring all of them. */
  loadShard(shard: number, wi: VectorLike): void {
    this.wi[shard].load(this.sparse(wi, `w_${shard}`));
  }

  /** Shard i's w_i as a dense vector of n (tests and small n only). */
  wiDense(shard: number): Float64Array {
    return this.wi[shard].toDense();
  }

  /**
   * Continue from a checkpoint: every w_i, and w̄ bit for bit rather than re-summed (so w^k, and
   * F(w^k), are exactly as checkpointed), γ and k. w and supp(w) are rebuilt from w̄.
   */
  restore(state: {
    readonly wbar: VectorLike;
    readonly wi: readonly VectorLike[];
    readonly k: number;
    readonly gamma: number;
  }): void {
    if (state.wi.length !== this.wi.length)
      throw new SodaError('E_STATE', `${state.wi.length} shard vectors, expected ${this.wi.length}`);
    const wbar = this.sparse(state.wbar, 'w̄');
    if (!(Number.isInteger(state.k) && state.k >= 0))
      throw new SodaError('E_STATE', `k must be an integer ≥ 0, got ${state.k}`);
    state.wi.forEach((v, i) => this.loadShard(i, v));
    this.setWbar(wbar);
    this.kValue = state.k;
    this.setGamma(state.gamma);
  }

  /**
   * Algorithm 1 afresh from w̄⁰ with step γ: every w_i = w̄⁰, so w̄ = Σ π_i w_i exactly; k keeps counting.
   * (Each shard then stores w̄⁰ off its columns too: O(M·|supp w̄⁰|) until the run ends; restarts are rare.)
   */
  restartFrom(wbar0: VectorLike, gamma: number): void {
    const v = this.sparse(wbar0, 'w̄⁰');
    for (let i = 0; i < this.wi.length; i++) this.wi[i].load(v);
    this.setWbar(v);
    this.setGamma(gamma);
  }

  /** w̄ ← v (sparse), bit for bit. */
  private setWbar(v: SparseVector): void {
    this.wbar.fill(0);
    for (let t = 0; t < v.idx.length; t++) this.wbar[v.idx[t]] = v.val[t];
  }

  /** `v` as a sparse vector of dimension n (a dense one is converted), or a SodaError naming `what`. */
  private sparse(v: VectorLike, what: string): SparseVector {
    if ('idx' in v) {
      if (v.n !== this.n) throw new SodaError('E_STATE', `${what} has length ${v.n}, expected ${this.n}`);
      return v;
    }
    if (v.length !== this.n)
      throw new SodaError('E_STATE', `${what} has length ${v.length}, expected ${this.n}`);
    return sparseBits(Float64Array.from(v));
  }

  /** prox_{γλ1} on coordinate j, the identity on the unpenalised ones. */
  private prox(j: number, v: number): number {
    return proxCoordinate(j, v, this.threshold, this.unpenalizedFrom);
  }

  private setW(j: number, v: number): void {
    if (v - v !== 0 && this.nonFiniteAt < 0) this.nonFiniteAt = j;
    const pos = this.suppPos[j];
    if (v !== 0) {
      const at = this.sortedPos[j];
      if (at >= 0) this.sortedVal[at] = v;
      if (pos >= 0) this.suppVal[pos] = v;
      else {
        this.dirty = true;
        if (this.suppCount === this.suppList.length) {
          this.suppList = grow(this.suppList);
          const vals = new Float64Array(this.suppList.length);
          vals.set(this.suppVal);
          this.suppVal = vals;
        }
        this.suppPos[j] = this.suppCount;
        this.suppVal[this.suppCount] = v;
        this.suppList[this.suppCount++] = j;
        if (at < 0 && this.inAdded[j] === 0) {
          this.inAdded[j] = 1;
          this.pushAdded(j);
        }
      }
    } else if (pos >= 0) {
      this.dirty = true;
      const last = this.suppList[--this.suppCount];
      this.suppList[pos] = last;
      this.suppVal[pos] = this.suppVal[this.suppCount];
      this.suppPos[last] = pos;
      this.suppPos[j] = -1;
    }
  }

  private pushAdded(j: number): void {
    if (this.addedCount === this.added.length) this.added = grow(this.added);
    this.added[this.addedCount++] = j;
  }
}

/** A copy of `a` with twice the room (the support's lists grow with |supp(w)|, not with n). */
function grow(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(2 * a.length);
  b.set(a);
  return b;
}
