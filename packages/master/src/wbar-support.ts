import type { SparseVector } from '@soda/core';
import type { ModelState } from './model-state';

/**
 * w̄'s non-zeros without scanning n: what every evaluation round keeps (the best point's w̄) and every
 * checkpoint writes. The master's w̄ is dense (ModelState), but it can be non-zero only where some
 * w_i is stored (w̄ = Σ π_i w_i):
 *   - apply() changes w̄_j only for a Δ_j ≠ 0, which ShardIterate stores at j (on cols_i, or as an
 *     overflow key that stays until the shard is reloaded);
 *   - resum() writes Σ_i π_i w_i,j, +0 where no shard stores j;
 *   - restore() and restartFrom() write a given w̄ directly: those indices are noted here (`written`).
 * So supp(w̄) ⊆ C = ∪_i cols_i ∪ ∪_i overflow_i ∪ written, kept as a bitset of n bits (n/8 bytes:
 * 1.25 MB at n = 10⁷). Reading w̄ is O(n/32 + |C|): a word scan of the bitset (0.3 M words at 10⁷)
 * and one look at w̄_j per candidate, in increasing j, instead of two passes over n doubles (18 vs
 * 41 ms at n = 10⁷ with 10⁶ candidates, measured alone).
 */
export class WbarSupport {
  private readonly bits: Uint32Array;
  /** |C|: the candidates marked */
  private count = 0;

  constructor(private readonly model: ModelState) {
    this.bits = new Uint32Array(Math.ceil(model.n / 32));
    for (const wi of model.wi) this.markAll(wi.cols);
  }

  /** A restore or a restart wrote w̄ = v directly: v's indices are candidates from now on. */
  noteWritten(v: SparseVector): void {
    this.markAll(v.idx);
  }

  /**
   * w̄'s entries, sorted: those whose bits are not +0 (`keepNegZero`: −0 kept, what a checkpoint stores
   * for a bit-for-bit resume, as sparseBits) or those ≠ 0 (as sparseFromDense). One pass over the
   * candidates in plain loops (a callback per candidate cost 4× as much at n = 10⁷).
   */
  nonZeros(keepNegZero: boolean): SparseVector {
    const model = this.model;
    for (const wi of model.wi) this.markAll(wi.sortedOverflow());
    const { bits, count } = this;
    const idx = new Uint32Array(count);
    const val = new Float64Array(count);
    let k = 0;
    for (let w = 0; w < bits.length; w++) {
      let word = bits[w];
      while (word !== 0) {
        const low = word & -word; // the lowest set bit
        word ^= low;
        const j = w * 32 + (31 - Math.clz32(low));
        const v = model.wbarAt(j);
        if (v !== 0 || (keepNegZero && 1 / v < 0)) {
          idx[k] = j;
          val[k++] = v;
        }
      }
    }
    // w̄ is non-zero on nearly every candidate (every column some Δ touched): no counting pass first
    return { n: model.n, idx: idx.subarray(0, k), val: val.subarray(0, k) };
  }

  private markAll(idx: ArrayLike<number>): void {
    const bits = this.bits;
    let count = this.count;
    for (let t = 0; t < idx.length; t++) {
      const j = idx[t];
      const bit = 1 << (j & 31);
      if ((bits[j >>> 5] & bit) === 0) {
        bits[j >>> 5] |= bit;
        count++;
      }
    }
    this.count = count;
  }
}
