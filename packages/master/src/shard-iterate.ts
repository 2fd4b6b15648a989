import { lowerBound, SodaError, type SparseVector } from '@soda/core';

/**
 * The master's copy of one shard's local iterate w_i, stored only where it can be non-zero
 * (DESIGN.md, "Where w_i lives"): on the shard's columns cols_i (a sorted index list and its values,
 * fixed for the run) and, off them, on the few coordinates that have been in supp(w) while worker i
 * drew a mask (a sparse overflow). Memory O(|cols_i| + |overflow|), never O(n).
 *
 * The layout is only a capacity hint: any coordinate can be stored (off cols_i it goes to the
 * overflow), so the values are exact whatever the workers send or a checkpoint holds.
 */
export class ShardIterate {
  /** w_i on cols_i: val[t] = w_i[cols[t]] */
  private readonly val: Float64Array;
  /** w_i off cols_i where it is non-zero (or was set): coordinate → value */
  private readonly extra = new Map<number, number>();

  constructor(
    readonly n: number,
    /** the shard's columns, strictly increasing, < n */
    readonly cols: Uint32Array,
  ) {
    for (let t = 1; t < cols.length; t++)
      if (!(cols[t] > cols[t - 1]))
        throw new SodaError('E_STATE', 'shard columns must be strictly increasing');
    if (cols.length > 0 && cols[cols.length - 1] >= n)
      throw new SodaError('E_STATE', `shard column ${cols[cols.length - 1]} ≥ n = ${n}`);
    this.val = new Float64Array(cols.length);
  }

  /** Entries stored off cols_i (the overflow's size). */
  get overflow(): number {
    return this.extra.size;
  }

  /** Position of j in cols at or after `from` (cols is sorted), or −1 when j is not a column. */
  private find(j: number, from = 0): number {
    const cols = this.cols;
    const lo = lowerBound(cols, j, from);
    return lo < cols.length && cols[lo] === j ? lo : -(lo + 1);
  }

  get(j: number): number {
    const at = this.find(j);
    return at >= 0 ? this.val[at] : (this.extra.get(j) ?? 0);
  }

  /**
   * w_i += Δ for a Δ whose indices are strictly increasing (every update): one binary search per
   * coordinate over what is left of cols_i. A Δ_j = 0 is skipped (it leaves w_i as it is).
   */
  addSorted(delta: SparseVector): void {
    const { idx, val } = delta;
    let from = 0;
    let prev = -1;
    for (let t = 0; t < idx.length; t++) {
      const d = val[t];
      const j = idx[t];
      if (j <= prev) from = 0; // not sorted after all: search from the start again
      prev = j;
      if (d === 0) continue;
      const at = this.find(j, from);
      if (at >= 0) {
        this.val[at] += d;
        from = at + 1;
      } else {
        from = -at - 1;
        this.extra.set(j, (this.extra.get(j) ?? 0) + d);
      }
    }
  }

  /** w_i = 0 */
  clear(): void {
    this.val.fill(0);
    this.extra.clear();
  }

  /** w_i = v (v sparse, sorted indices) */
  load(v: SparseVector): void {
    if (v.n !== this.n) throw new SodaError('E_STATE', `w_i has dimension ${v.n}, expected ${this.n}`);
    this.clear();
    let from = 0;
    for (let t = 0; t < v.idx.length; t++) {
      const j = v.idx[t];
      const x = v.val[t];
      if (x === 0) continue;
      const at = this.find(j, from);
      if (at >= 0) {
        this.val[at] = x;
        from = at + 1;
      } else {
        from = -at - 1;
        this.extra.set(j, x);
      }
    }
  }

  /** w_i as a sparse vector of its non-zeros (sorted): a fresh copy, O(|cols_i| + o log o). */
  toSparse(): SparseVector {
    const keys = Float64Array.from(this.extra.keys()).sort();
    const { cols, val, extra } = this;
    let nnz = 0;
    for (let t = 0; t < val.length; t++) if (val[t] !== 0) nnz++;
    for (const j of keys) if (extra.get(j) !== 0) nnz++;
    const idx = new Uint32Array(nnz);
    const out = new Float64Array(nnz);
    let a = 0;
    let b = 0;
    let k = 0;
    while (a < cols.length || b < keys.length) {
      let j: number;
      let x: number;
      if (b >= keys.length || (a < cols.length && cols[a] < keys[b])) {
        j = cols[a];
        x = val[a++];
      } else {
        j = keys[b++];
        x = extra.get(j)!;
      }
      if (x === 0) continue;
      idx[k] = j;
      out[k++] = x;
    }
    return { n: this.n, idx, val: out };
  }

  /**
   * Calls f(j, w_i[j]) for every stored coordinate in [from, to), in increasing j, starting at the
   * cursor `c` (reused across consecutive blocks: pass the cursor back); returns the new cursor.
   * `extraSorted` is the overflow's keys, sorted (from sortedOverflow()).
   */
  forEachIn(
    from: number,
    to: number,
    c: { a: number; b: number },
    extraSorted: Float64Array,
    f: (j: number, x: number) => void,
  ): void {
    const { cols, val, extra } = this;
    while (true) {
      const ja = c.a < cols.length ? cols[c.a] : Infinity;
      const jb = c.b < extraSorted.length ? extraSorted[c.b] : Infinity;
      if (ja < jb) {
        if (ja >= to) return;
        if (ja >= from) f(ja, val[c.a]);
        c.a++;
      } else {
        if (jb >= to) return;
        if (jb >= from) f(jb, extra.get(jb)!);
        c.b++;
      }
    }
  }

  sortedOverflow(): Float64Array {
    return Float64Array.from(this.extra.keys()).sort();
  }

  /** w_i as a dense vector (tests and small n only: O(n)). */
  toDense(): Float64Array {
    const out = new Float64Array(this.n);
    for (let t = 0; t < this.cols.length; t++) out[this.cols[t]] = this.val[t];
    for (const [j, x] of this.extra) out[j] = x;
    return out;
  }

  /** Bytes held (the values, the column list and an estimate for the overflow map). */
  get bytes(): number {
    return this.val.byteLength + this.cols.byteLength + this.extra.size * 40;
  }
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
