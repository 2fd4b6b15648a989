import { proxCoordinate as proxCoordinateExport, SodaError, type SparseVector } from '@soda/core';
import { ShardIterate, sparseBits } from './shard-iterate';
import { ApplyScratch, applyIndexed, applySearched } from './apply-delta';
import { SupportHistory } from './support-history';

// Bound once: a call through @soda/core's export (an accessor on a module object of ~150 of them,
// which V8 keeps in dictionary mode) is not inlined, and cost 7 % of apply() per Δ coordinate.
const proxCoordinate = proxCoordinateExport;

/** A vector given dense (any array of n numbers) or sparse. */
export type VectorLike = ArrayLike<number> | SparseVector;

/** flags[j]: j is in `sorted` (the support's order as of the last view) / in `added` (entered since) */
const IN_SORTED = 1;
const IN_ADDED = 2;
/** coordinates a resumBlock covers */
const RESUM_BLOCK = 1 << 16;

/**
 * The master side of Algorithm 1 as a pure state machine (no I/O):
 *   w̄ ← w̄ + π_i Δ ;  w = prox_{γλ1}(w̄) ;  (the caller sends w to worker i).
 * Each update costs O(|Δ|): w̄, w, |supp(w)| and the shard's w_i are maintained incrementally. w̄_j and
 * w_j sit side by side in one record (`rec[2j]`, `rec[2j + 1]`), so a Δ coordinate touches one cache
 * line of the O(n) state, not one per array (the apply loop is memory-bound: `npm run bench:master`).
 * w as a sparse vector (sorted support and its values) is rebuilt only on demand: the order when the
 * support changed, by one merge of the old order with the few new coordinates (never a full sort
 * after the first), and the values by one ascending gather of |supp(w)|. The invariant
 * w̄ = Σ_i π_i w_i is kept exactly in exact arithmetic; `resum()` restores it in floating point.
 *
 * Memory O(n + Σ_i |cols_i|): 17 bytes a coordinate (w̄, w, a flag byte), the support's order
 * O(|supp(w)|), and each shard's w_i only on its columns plus the coordinates supp(w) lent it
 * (ShardIterate; DESIGN.md derives why w_i is zero elsewhere).
 */
export class ModelState {
  readonly n: number;
  readonly pi: Float64Array;
  /** Last w_i of every shard, so w̄ can be re-summed, checkpointed and handed to a replacement worker. */
  readonly wi: ShardIterate[];
  /** H: every coordinate that has been in supp(w) (where a worker's Δ may leave its columns) */
  readonly history: SupportHistory;
  /** rec[2j] = w̄_j, rec[2j + 1] = w_j = prox(w̄)_j */
  private readonly rec: Float64Array;
  private readonly flags: Uint8Array;
  /** Number of updates applied: the paper's k (changed only by apply() and restore()). */
  private kValue = 0;
  /** w̄ and w with the prox's threshold γλ1: what the fused apply changes (apply-delta.ts) */
  private readonly records: {
    readonly rec: Float64Array;
    threshold: number;
    readonly unpenalizedFrom: number;
  };
  /** the fused apply's reused buffers */
  private readonly scratch = new ApplyScratch();
  /** |supp(w)| */
  private count = 0;
  /**
   * supp(w) sorted as of the last view(), in `sorted` (a view of one of two buffers, which rebuildSorted
   * alternates: the old order is read while the new one is written, and no update allocates). It may
   * hold coordinates that have since left the support (w_j = 0), and misses those in `added`.
   */
  private sorted: Uint32Array = new Uint32Array(0);
  /** the buffer `sorted` views, and the other one, which the next rebuild writes */
  private sortedBuf: Uint32Array = new Uint32Array(16);
  private spareSorted: Uint32Array = new Uint32Array(16);
  /** the support changed since `sorted` was built */
  private dirty = false;
  /** w changed since sortedVal was gathered */
  private stale = false;
  /** coordinates that entered the support and are not in `sorted` (no duplicates: flag IN_ADDED) */
  private added: Uint32Array = new Uint32Array(16);
  private addedCount = 0;
  /** sortedVal[t] = w[sorted[t]] as of the last view() */
  private sortedVal: Float64Array = new Float64Array(16);
  private liveView: SparseVector;
  /** how many w_j are ±∞ or NaN (a divergence): so a reply need not scan w */
  private nonFinite = 0;
  /** resumBlock's scratch (one block) */
  private resumSum: Float64Array | null = null;
  private resumComp: Float64Array | null = null;

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
    this.rec = new Float64Array(2 * n);
    this.flags = new Uint8Array(n);
    this.history = new SupportHistory(n);
    if (cols !== undefined && cols.length !== this.pi.length)
      throw new SodaError('E_STATE', `${cols.length} column lists for ${this.pi.length} shards`);
    const none = new Uint32Array(0);
    this.wi = Array.from({ length: this.pi.length }, (_, i) => new ShardIterate(n, cols?.[i] ?? none));
    this.records = { rec: this.rec, threshold: gammaValue * lambda1, unpenalizedFrom };
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
    return this.count;
  }

  /**
   * A coordinate j where w_j is not finite (the run diverged), or −1: O(1) while w is finite (a count
   * kept by every change of w), O(|supp(w)|) to name one when it is not.
   */
  get firstNonFinite(): number {
    if (this.nonFinite === 0) return -1;
    const w = this.view();
    for (let t = 0; t < w.idx.length; t++) if (!Number.isFinite(w.val[t])) return w.idx[t];
    throw new SodaError('E_STATE', `${this.nonFinite} non-finite w_j counted, none in supp(w)`);
  }

  /** w_j = prox(w̄)_j */
  wAt(j: number): number {
    return this.rec[2 * j + 1];
  }

  /** w̄_j */
  wbarAt(j: number): number {
    return this.rec[2 * j];
  }

  /** w as a dense vector of n (tests and small n only: O(n)). */
  wDense(): Float64Array {
    return Float64Array.from({ length: this.n }, (_, j) => this.rec[2 * j + 1]);
  }

  /** w̄ as a dense vector of n (tests and small n only: O(n)). */
  wbarDense(): Float64Array {
    return Float64Array.from({ length: this.n }, (_, j) => this.rec[2 * j]);
  }

  /** w̄ += π_i Δ, w_i += Δ, and w = prox_{γλ1}(w̄) on the touched coordinates. */
  apply(shard: number, delta: SparseVector): void {
    this.applyWith(shard, delta, null);
  }

  /**
   * apply(), unless Δ has a non-zero Δ_j off cols_i that is neither in H nor where w_i,j ≠ 0 (the claim
   * check of support-history.ts: no honest step makes one). Returns −1 when applied; else the place t of
   * the first such coordinate in Δ, and the state is exactly as before the call.
   */
  applyChecked(shard: number, delta: SparseVector): number {
    return this.applyWith(shard, delta, this.history);
  }

  private applyWith(shard: number, delta: SparseVector, H: SupportHistory | null): number {
    const wi = this.wi[shard];
    const store = wi.store;
    const s = this.scratch;
    // cols_i indexed densely: the check, w_i, w̄ and w in one pass; else w_i by a search (apply-delta.ts)
    const bad =
      store !== null
        ? applyIndexed(delta, this.pi[shard], this.records, store, H, s)
        : applySearched(delta, this.pi[shard], this.records, wi, H, s);
    if (bad >= 0) return bad;
    const { idx, val } = delta;
    for (let q = 0; q < s.freshCount; q++) wi.addFresh(idx[s.fresh[q]], val[s.fresh[q]]);
    wi.settle();
    for (let q = 0; q < s.changedCount; q++) {
      const j = idx[s.changed[q]];
      this.changed(j, this.rec[2 * j + 1], s.changedOld[q]);
    }
    this.stale = true;
    this.kValue++;
    return -1;
  }

  /**
   * w as a sparse vector (sorted indices): a snapshot, what an evaluation round keeps (a copy: the
   * master's own arrays are reused as w changes).
   */
  current(): SparseVector {
    const v = this.view();
    return { n: this.n, idx: v.idx.slice(), val: v.val.slice() };
  }

  /**
   * w as a sparse vector without copying or allocating: a read-only view of the master's own arrays,
   * valid until the next apply/resum/setGamma (after which the next view() brings it up to date in place).
   * Meant for what is encoded at once, like the model frame sent to a worker after each update.
   */
  view(): SparseVector {
    if (this.dirty) this.rebuildSorted();
    if (this.stale) {
      const { sorted, sortedVal, rec } = this;
      for (let t = 0; t < sorted.length; t++) sortedVal[t] = rec[2 * sorted[t] + 1];
      this.stale = false;
    }
    return this.liveView;
  }

  /** Merge the old order (minus what left the support) with the sorted new coordinates: O(s + a log a). */
  private rebuildSorted(): void {
    const { rec, flags } = this;
    const add = this.added.subarray(0, this.addedCount).sort();
    const old = this.sorted;
    if (this.spareSorted.length < this.count) this.spareSorted = new Uint32Array(2 * this.count);
    const buf = this.spareSorted;
    this.spareSorted = this.sortedBuf;
    this.sortedBuf = buf;
    const idx = buf.subarray(0, this.count);
    if (this.sortedVal.length < idx.length) this.sortedVal = new Float64Array(2 * idx.length);
    const sortedVal = this.sortedVal;
    let a = 0;
    let o = 0;
    let t = 0;
    while (o < old.length || a < add.length) {
      const j = a >= add.length || (o < old.length && old[o] < add[a]) ? old[o++] : add[a++];
      const w = rec[2 * j + 1];
      if (w === 0) {
        flags[j] = 0; // left the support (or entered and left again)
        continue;
      }
      flags[j] = IN_SORTED;
      sortedVal[t] = w; // the values too: one pass, not a merge and then a gather
      idx[t++] = j;
    }
    if (t !== idx.length) throw new SodaError('E_STATE', `support bookkeeping: ${t} ≠ ${idx.length}`);
    this.addedCount = 0;
    this.sorted = idx;
    this.dirty = false;
    this.stale = false;
    this.liveView = { n: this.n, idx, val: this.sortedVal.subarray(0, t) };
  }

  /**
   * Re-sum w̄ = Σ π_i w_i (Neumaier-compensated, shards in order: the same sums as one CompensatedSum
   * per coordinate) to shed the drift of many incremental updates. O(n + Σ_i |w_i|) time, in blocks of
   * coordinates (resumBlock) so the scratch space is O(block), never O(n) per shard. Returns the drift.
   */
  resum(): number {
    let drift = 0;
    for (let from = 0; from < this.n;) {
      const r = this.resumBlock(from);
      drift = Math.max(drift, r.drift);
      from = r.next;
    }
    return drift;
  }

  /**
   * resum() on the coordinates [from, from + 2¹⁶) alone; returns where the next block starts (n after
   * the last) and the block's drift. Each block is exact on its own — w̄_j = Σ_i π_i w_i,j from the w_i
   * as they are now — so updates may be applied between blocks: the master re-sums a block per update
   * rather than stalling its event loop for all of n at once (≈ 10⁷ coordinates).
   */
  resumBlock(from: number): { next: number; drift: number } {
    const { n, pi, rec } = this;
    const to = Math.min(n, from + RESUM_BLOCK);
    const s = (this.resumSum ??= new Float64Array(RESUM_BLOCK));
    const c = (this.resumComp ??= new Float64Array(RESUM_BLOCK));
    s.fill(0);
    c.fill(0);
    for (let i = 0; i < this.wi.length; i++) {
      const p = pi[i];
      const wi = this.wi[i];
      wi.flush();
      wi.forEachIn(from, to, wi.cursorAt(from), (j, x) => {
        const v = p * x;
        const k = j - from;
        const a = s[k];
        const t = a + v;
        c[k] += (a >= 0 ? a : -a) >= (v >= 0 ? v : -v) ? a - t + v : v - t + a;
        s[k] = t;
      });
    }
    let drift = 0;
    for (let j = from; j < to; j++) {
      const exact = s[j - from] + c[j - from];
      drift = Math.max(drift, Math.abs(exact - rec[2 * j]));
      rec[2 * j] = exact;
      this.setW(j, this.prox(j, exact));
    }
    return { next: to, drift };
  }

  /** Change γ (and so the prox threshold γλ1); w is recomputed from w̄. */
  setGamma(gamma: number): void {
    if (!(gamma > 0)) throw new SodaError('E_CONFIG', `step size γ must be > 0, got ${gamma}`);
    this.gammaValue = gamma;
    this.records.threshold = gamma * this.lambda1;
    for (let j = 0; j < this.n; j++) this.setW(j, this.prox(j, this.rec[2 * j]));
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
    const rec = this.rec;
    for (let j = 0; j < this.n; j++) rec[2 * j] = 0;
    for (let t = 0; t < v.idx.length; t++) rec[2 * v.idx[t]] = v.val[t];
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
    return proxCoordinate(j, v, this.records.threshold, this.unpenalizedFrom);
  }

  private setW(j: number, v: number): void {
    const old = this.rec[2 * j + 1];
    this.rec[2 * j + 1] = v;
    this.stale = true;
    if ((v === 0) !== (old === 0) || v - v !== 0 || old - old !== 0) this.changed(j, v, old);
  }

  /** w_j went from `old` to `v` and one of them is 0 (the support changed), or one is not finite. */
  private changed(j: number, v: number, old: number): void {
    this.nonFinite += (v - v !== 0 ? 1 : 0) - (old - old !== 0 ? 1 : 0);
    if ((v === 0) === (old === 0)) return;
    this.dirty = true;
    if (v === 0) {
      this.count--;
      return;
    }
    this.count++;
    this.history.mark(j);
    if (this.flags[j] === 0) {
      this.flags[j] = IN_ADDED;
      if (this.addedCount === this.added.length) this.added = grow(this.added);
      this.added[this.addedCount++] = j;
    }
  }
}

/** A copy of `a` with twice the room (the support's lists grow with |supp(w)|, not with n). */
function grow(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(2 * a.length);
  b.set(a);
  return b;
}
