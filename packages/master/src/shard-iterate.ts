import {
  densePositionsFit,
  gallop as gallopExport,
  lowerBound,
  positionIndex,
  SodaError,
  type SparseVector,
} from '@soda/core';
import { CoordMap } from './coord-map';

// bound once, as model-state.ts's proxCoordinate: a call through the package's accessor is not inlined
const gallop = gallopExport;

/** pos[j] codes off cols_i (pos[j] ≥ 0 is j's place in cols_i): not stored, in `pending`, and the
 * overflow's position t as OVERFLOW − t */
export const NOT_STORED = -1;
export const PENDING = -2;
export const OVERFLOW = -3;

/**
 * The dense-index layout's arrays, for the master's fused apply (apply-delta.ts), which reads and adds
 * in them directly: pos (the codes above), w_i's values on cols_i and in the sorted overflow. Valid until
 * the shard's next flush (which may move the overflow); the shard refreshes it then.
 */
export interface IndexedStore {
  readonly n: number;
  readonly pos: Int32Array;
  readonly val: Float64Array;
  readonly ovVal: Float64Array;
  /** w_i,j of a coordinate in `pending` (pos[j] = PENDING) */
  pendingAt(j: number): number;
}

/**
 * The master's copy of one shard's local iterate w_i, stored only where it can be non-zero
 * (DESIGN.md, "Where w_i lives"): on the shard's columns cols_i (a sorted index list and its values,
 * fixed for the run) and, off them, on the few coordinates that have been in supp(w) while worker i
 * drew a mask (a sparse overflow). Memory O(|cols_i| + |overflow|), never O(n).
 *
 * The overflow is a sorted list (so a sorted Δ walks both lists forward, galloping: a cache-friendly
 * merge, not a hash probe per coordinate, which cost half the master's CPU per update on spam) plus a
 * small `pending` map of coordinates new to it, merged into the list once it holds more than
 * 32 + |list|/16 of them (amortised O(1) a new coordinate). A coordinate is in exactly one of the
 * three places.
 *
 * Where the columns are dense enough that an index of all n positions costs at most twice their list
 * (core's densePositionsFit: spam's shards hold a quarter of n), `pos` finds a coordinate's place in
 * cols_i with one load instead of a search, which was a quarter of the master's CPU per update there;
 * off cols_i it holds the coordinate's place in the overflow too (rewritten at each flush, amortised
 * O(1) a new coordinate), so supp(w)'s coordinates off the columns, in every Δ, need no search either.
 *
 * The layout is only a capacity hint: any coordinate can be stored (off cols_i it goes to the
 * overflow), so the values are exact whatever the workers send or a checkpoint holds.
 */
export class ShardIterate {
  /** w_i on cols_i: val[t] = w_i[cols[t]] */
  private readonly val: Float64Array;
  /** w_i off cols_i, sorted: ovVal[t] = w_i[ovIdx[t]] for t < ovLen */
  private ovIdx = new Uint32Array(0);
  private ovVal = new Float64Array(0);
  private ovLen = 0;
  /** w_i on coordinates off cols_i and not yet in the sorted overflow */
  private readonly pending = new CoordMap();
  /** locate()'s answer for the Δ `located` */
  private colPos = new Int32Array(16);
  private located: SparseVector | null = null;
  /** pos[j] = t where cols[t] = j, else NOT_STORED, PENDING or OVERFLOW − (place in the overflow);
   * null where it would not fit (then cols_i and the overflow are searched) */
  private readonly pos: Int32Array | null;
  /** the dense layout's arrays, as IndexedStore (null without the dense index) */
  private readonly indexedView: { -readonly [K in keyof IndexedStore]: IndexedStore[K] } | null;

  constructor(
    readonly n: number,
    /** the shard's columns, strictly increasing, < n */
    readonly cols: Uint32Array,
    /** index cols_i densely (tests force either layout); default: where core's densePositionsFit says */
    dense: boolean = densePositionsFit(n, cols.length),
  ) {
    for (let t = 1; t < cols.length; t++)
      if (!(cols[t] > cols[t - 1]))
        throw new SodaError('E_STATE', 'shard columns must be strictly increasing');
    if (cols.length > 0 && cols[cols.length - 1] >= n)
      throw new SodaError('E_STATE', `shard column ${cols[cols.length - 1]} ≥ n = ${n}`);
    this.val = new Float64Array(cols.length);
    this.pos = dense ? positionIndex(cols, n) : null;
    const pending = this.pending;
    this.indexedView =
      this.pos === null
        ? null
        : { n, pos: this.pos, val: this.val, ovVal: this.ovVal, pendingAt: (j) => pending.get(j) };
  }

  /** The dense layout's arrays for a fused apply, or null (cols_i is searched): valid until the next flush. */
  get store(): IndexedStore | null {
    return this.indexedView;
  }

  /**
   * w_i,j += d at a coordinate off cols_i that is not stored or is pending (the dense layout): into
   * `pending`. Call settle() after the last.
   */
  addFresh(j: number, d: number): void {
    const pos = this.pos!;
    if (j < this.n && pos[j] === NOT_STORED) pos[j] = PENDING;
    this.pending.add(j, d);
  }

  /** After adding to `pending`: merge it into the overflow once it holds 32 + |overflow|/16 entries. */
  settle(): void {
    if (this.pending.size > 32 + (this.ovLen >> 4)) this.flush();
  }

  /** Whether cols_i is indexed densely (one load a coordinate) rather than searched. */
  get indexed(): boolean {
    return this.pos !== null;
  }

  /** j ∈ cols_i, by the dense index (call only when `indexed`). */
  onColumns(j: number): boolean {
    return j < this.n && this.pos![j] >= 0;
  }

  /** Entries stored off cols_i (the overflow's size). */
  get overflow(): number {
    return this.ovLen + this.pending.size;
  }

  get(j: number): number {
    const pos = this.pos;
    if (pos !== null) {
      const c = j < this.n ? pos[j] : NOT_STORED;
      if (c >= 0) return this.val[c];
      if (c <= OVERFLOW) return this.ovVal[OVERFLOW - c];
      return c === PENDING ? this.pending.get(j) : 0;
    }
    const at = findIn(this.cols, this.cols.length, j, 0);
    if (at >= 0) return this.val[at];
    const o = findIn(this.ovIdx, this.ovLen, j, 0);
    return o >= 0 ? this.ovVal[o] : this.pending.get(j);
  }

  /**
   * w_i += Δ for a Δ whose indices are strictly increasing (every update): one forward gallop over
   * what is left of cols_i and of the overflow. A Δ_j = 0 is skipped (it leaves w_i as it is).
   */
  addSorted(delta: SparseVector): void {
    if (this.pos !== null) return this.addIndexed(delta);
    const { idx, val } = delta;
    const { ovIdx, ovVal, pending } = this;
    const at = this.locate(delta);
    const no = this.ovLen;
    const wv = this.val;
    // cursor: ovIdx[0, b) < the coordinate at hand, advanced by galloping (Δ is sorted)
    let b = 0;
    let prev = -1;
    for (let t = 0; t < idx.length; t++) {
      const d = val[t];
      const j = idx[t];
      if (j <= prev) b = 0; // not sorted after all: search from the start again
      prev = j;
      if (d === 0) continue;
      const c = at[t];
      if (c >= 0) {
        wv[c] += d;
        continue;
      }
      b = gallop(ovIdx, j, b, no);
      if (b < no && ovIdx[b] === j) ovVal[b++] += d;
      else pending.add(j, d);
    }
    this.settle();
  }

  /** addSorted through the dense index: one load a coordinate, sorted or not. */
  private addIndexed(delta: SparseVector): void {
    const { idx, val } = delta;
    const { ovVal, n } = this;
    const pos = this.pos!;
    const wv = this.val;
    for (let t = 0; t < idx.length; t++) {
      const d = val[t];
      if (d === 0) continue;
      const j = idx[t];
      const c = j < n ? pos[j] : NOT_STORED;
      if (c >= 0) wv[c] += d;
      else if (c <= OVERFLOW) ovVal[OVERFLOW - c] += d;
      else this.addFresh(j, d);
    }
    this.settle();
  }

  /**
   * Where each coordinate of Δ sits in cols_i (its position, or −1 off the columns), by one forward
   * gallop. Kept for the last Δ located (by identity: cols_i is fixed, so the answer never goes
   * stale), so the off-column claim check (support-history.ts) and the apply that follows it — at once,
   * or at sync-pg's barrier — search cols_i once between them. A view valid until the next call.
   * (With the dense index neither of them calls it: each reads `pos` directly.)
   */
  locate(delta: SparseVector): Int32Array {
    if (this.located === delta) return this.colPos;
    const idx = delta.idx;
    if (this.colPos.length < idx.length) this.colPos = new Int32Array(idx.length + (idx.length >> 1));
    const { cols, colPos } = this;
    const nc = cols.length;
    let a = 0; // cols[0, a) < the coordinate at hand
    let prev = -1;
    for (let t = 0; t < idx.length; t++) {
      const j = idx[t];
      if (j <= prev) a = 0;
      prev = j;
      a = gallop(cols, j, a, nc);
      colPos[t] = a < nc && cols[a] === j ? a : -1;
    }
    this.located = delta;
    return colPos;
  }

  /** Merge the pending coordinates into the sorted overflow: O(|overflow| + p log p), in place from the back. */
  flush(): void {
    const p = this.pending.size;
    if (p === 0) return;
    const keys = this.pending.sortedKeys();
    const need = this.ovLen + p;
    if (this.ovIdx.length < need) {
      const idx = new Uint32Array(2 * need);
      const val = new Float64Array(2 * need);
      idx.set(this.ovIdx.subarray(0, this.ovLen));
      val.set(this.ovVal.subarray(0, this.ovLen));
      this.ovIdx = idx;
      this.ovVal = val;
      if (this.indexedView !== null) this.indexedView.ovVal = val;
    }
    const { ovIdx, ovVal } = this;
    let o = this.ovLen - 1;
    let k = p - 1;
    for (let t = need - 1; k >= 0; t--) {
      if (o >= 0 && ovIdx[o] > keys[k]) {
        ovIdx[t] = ovIdx[o];
        ovVal[t] = ovVal[o--];
      } else {
        ovIdx[t] = keys[k];
        ovVal[t] = this.pending.get(keys[k--]);
      }
    }
    this.ovLen = need;
    this.pending.clear();
    const pos = this.pos;
    if (pos !== null) for (let t = 0; t < need; t++) if (ovIdx[t] < this.n) pos[ovIdx[t]] = OVERFLOW - t;
  }

  /** w_i = 0 */
  clear(): void {
    this.val.fill(0);
    const pos = this.pos;
    if (pos !== null) {
      for (let t = 0; t < this.ovLen; t++) if (this.ovIdx[t] < this.n) pos[this.ovIdx[t]] = NOT_STORED;
      this.pending.forEach((j) => {
        if (j < this.n) pos[j] = NOT_STORED;
      });
    }
    this.ovLen = 0;
    this.pending.clear();
  }

  /** w_i = v (v sparse; sorted indices are the fast path) */
  load(v: SparseVector): void {
    if (v.n !== this.n) throw new SodaError('E_STATE', `w_i has dimension ${v.n}, expected ${this.n}`);
    this.clear();
    const cols = this.cols;
    let from = 0;
    for (let t = 0; t < v.idx.length; t++) {
      const j = v.idx[t];
      const x = v.val[t];
      if (x === 0) continue;
      if (t > 0 && j <= v.idx[t - 1]) from = 0;
      const at = findIn(cols, cols.length, j, from);
      if (at >= 0) {
        this.val[at] = x;
        from = at + 1;
      } else {
        from = -at - 1;
        this.pending.set(j, x);
        if (this.pos !== null && j < this.n) this.pos[j] = PENDING;
      }
    }
    this.flush();
  }

  /** w_i as a sparse vector of its non-zeros (sorted): a fresh copy, O(|cols_i| + |overflow|). */
  toSparse(): SparseVector {
    this.flush();
    const { cols, val, ovIdx, ovVal, ovLen } = this;
    let nnz = 0;
    for (let t = 0; t < val.length; t++) if (val[t] !== 0) nnz++;
    for (let t = 0; t < ovLen; t++) if (ovVal[t] !== 0) nnz++;
    const idx = new Uint32Array(nnz);
    const out = new Float64Array(nnz);
    let a = 0;
    let b = 0;
    let k = 0;
    while (a < cols.length || b < ovLen) {
      let j: number;
      let x: number;
      if (b >= ovLen || (a < cols.length && cols[a] < ovIdx[b])) {
        j = cols[a];
        x = val[a++];
      } else {
        j = ovIdx[b];
        x = ovVal[b++];
      }
      if (x === 0) continue;
      idx[k] = j;
      out[k++] = x;
    }
    return { n: this.n, idx, val: out };
  }

  /** The cursor of forEachIn for a walk that starts at coordinate `from` (call flush() first). */
  cursorAt(from: number): { a: number; b: number } {
    return { a: lowerBound(this.cols, from), b: lowerBound(this.ovIdx, from, 0, this.ovLen) };
  }

  /**
   * Calls f(j, w_i[j]) for every stored coordinate in [from, to), in increasing j, starting at the
   * cursor `c` (reused across consecutive blocks: pass the cursor back). Call flush() before the first
   * block, and change nothing between blocks.
   */
  forEachIn(from: number, to: number, c: { a: number; b: number }, f: (j: number, x: number) => void): void {
    const { cols, val, ovIdx, ovVal, ovLen } = this;
    if (this.pending.size > 0) throw new SodaError('E_STATE', 'forEachIn before flush()');
    while (true) {
      const ja = c.a < cols.length ? cols[c.a] : Infinity;
      const jb = c.b < ovLen ? ovIdx[c.b] : Infinity;
      if (ja < jb) {
        if (ja >= to) return;
        if (ja >= from) f(ja, val[c.a]);
        c.a++;
      } else {
        if (jb >= to) return;
        if (jb >= from) f(jb, ovVal[c.b]);
        c.b++;
      }
    }
  }

  /** The coordinates stored off cols_i, sorted (a fresh array). */
  sortedOverflow(): Uint32Array {
    this.flush();
    return this.ovIdx.slice(0, this.ovLen);
  }

  /** w_i as a dense vector (tests and small n only: O(n)). */
  toDense(): Float64Array {
    const out = new Float64Array(this.n);
    for (let t = 0; t < this.cols.length; t++) out[this.cols[t]] = this.val[t];
    for (let t = 0; t < this.ovLen; t++) out[this.ovIdx[t]] = this.ovVal[t];
    this.pending.forEach((j, x) => (out[j] = x));
    return out;
  }

  /** Bytes held (the values, the column list and the overflow's arrays). */
  get bytes(): number {
    return (
      this.val.byteLength +
      this.cols.byteLength +
      this.ovIdx.byteLength +
      this.ovVal.byteLength +
      this.pending.bytes
    );
  }
}

/** Position of j in keys[0, len) (sorted; keys before `from` are < j), or −(insertion point + 1). */
function findIn(keys: Uint32Array, len: number, j: number, from: number): number {
  const lo = gallop(keys, j, from, len);
  return lo < len && keys[lo] === j ? lo : -(lo + 1);
}

/** The sorted distinct columns of a CSR shard (ind = column indices): O(nnz + c log c) with a reusable n-byte mark. */
export function columnsOf(ind: Uint32Array, n: number, mark: Uint8Array = new Uint8Array(n)): Uint32Array {
  const seen: number[] = [];
  for (let t = 0; t < ind.length; t++) {
    const j = ind[t];
    if (mark[j] === 0) {
      mark[j] = 1;
      seen.push(j);
    }
  }
  for (const j of seen) mark[j] = 0;
  return Uint32Array.from(seen).sort();
}

/**
 * The entries of a dense vector whose bits are not +0 (so −0 is kept): what a checkpoint stores of
 * w̄, for a resume that is bit for bit.
 */
export function sparseBits(x: Float64Array): SparseVector {
  const kept = (v: number) => v !== 0 || 1 / v < 0;
  let nnz = 0;
  for (let j = 0; j < x.length; j++) if (kept(x[j])) nnz++;
  const idx = new Uint32Array(nnz);
  const val = new Float64Array(nnz);
  for (let j = 0, k = 0; j < x.length; j++)
    if (kept(x[j])) {
      idx[k] = j;
      val[k++] = x[j];
    }
  return { n: x.length, idx, val };
}
