import type { SparseVector } from '@soda/core';
import type { ClaimVerdict } from './claims';

/** What off-column checking reads of a shard's stored w_i (master/shard-iterate.ts's ShardIterate). */
export interface StoredIterate {
  /** w_i[j] as the master stores it (0 where nothing is stored) */
  get(j: number): number;
  /** each coordinate's position in cols (−1 off them), searched once for the check and the apply */
  locate(delta: SparseVector): Int32Array;
  /** cols_i has a dense index: onColumns answers with one load (else use locate) */
  readonly indexed: boolean;
  /** j ∈ cols_i (only when indexed) */
  onColumns(j: number): boolean;
}

/**
 * H: the coordinates that have ever been in supp(w), as a bitset of n bits (n/8 bytes: 1.25 MB at
 * n = 10⁷). Monotone: a coordinate never leaves H. ModelState marks a coordinate as it enters the
 * support (O(1) a change of supp(w), not O(|supp(w)|) a reply), so H holds supp(w) of every w the master
 * sends, and the coordinates that were briefly in supp(w) between two replies too: a superset bounded
 * by the same |H| (DESIGN.md, "Where w_i lives").
 *
 * Why it bounds a worker's Δ: off its columns the data gradient of f_i is 0, so an honest step gives
 * w_i,j⁺ = (1 − γλ2) w_j for j in its mask and leaves w_i,j otherwise; Δ_j = w_i,j⁺ − w_i,j is non-zero
 * only where the worker's w had w_j ≠ 0 (then j ∈ H) or w_i,j ≠ 0 (the master's copy of w_i is the
 * worker's: every Δ is applied in order, and take-over, restart and resume hand the worker the
 * master's copy).
 */
export class SupportHistory {
  private readonly bits: Uint32Array;

  constructor(n: number) {
    this.bits = new Uint32Array(Math.ceil(n / 32));
  }

  /** j joins H. */
  mark(j: number): void {
    this.bits[j >>> 5] |= 1 << (j & 31);
  }

  /** supp(w) joins H (tests, and a w set wholesale). */
  markAll(w: SparseVector): void {
    const idx = w.idx;
    for (let t = 0; t < idx.length; t++) this.mark(idx[t]);
  }

  has(j: number): boolean {
    const bits = this.bits;
    return j >>> 5 < bits.length && (bits[j >>> 5] & (1 << (j & 31))) !== 0;
  }
}

/**
 * Refuses a Δ from shard i with a non-zero Δ_j at a coordinate j off cols_i that is not in H and
 * where the master's w_i,j = 0: no honest step produces it, and accepting it would make the master
 * store entries of w_i off its columns at a liar's choice (up to n per shard). Honest Δs pass: their
 * coordinates are in H, on cols_i (found by the shard's `locate`, which the apply then reuses), or
 * where w_i is already stored non-zero. Zeros are skipped, as the master skips them when it stores.
 */
export function checkOffColumns(delta: SparseVector, wi: StoredIterate, H: SupportHistory): ClaimVerdict {
  const t = firstOffColumn(delta, wi, H);
  return t < 0 ? { ok: true } : offColumnVerdict(delta, t);
}

/** checkOffColumns's answer as the place t in Δ of the first coordinate it refuses, or −1. */
export function firstOffColumn(delta: SparseVector, wi: StoredIterate, H: SupportHistory): number {
  const { idx, val } = delta;
  if (wi.indexed) {
    // one load a coordinate, and no positions written for an apply that does not need them
    for (let t = 0; t < idx.length; t++) {
      if (val[t] === 0) continue;
      const j = idx[t];
      if (wi.onColumns(j) || H.has(j) || wi.get(j) !== 0) continue;
      return t;
    }
    return -1;
  }
  const at = wi.locate(delta);
  for (let t = 0; t < idx.length; t++) {
    const d = val[t];
    if (d === 0 || at[t] >= 0) continue;
    const j = idx[t];
    if (H.has(j) || wi.get(j) !== 0) continue;
    return t;
  }
  return -1;
}

/** The refusal of Δ for its coordinate at place t (off cols_i, not in H, w_i = 0 there). */
export function offColumnVerdict(delta: SparseVector, t: number): ClaimVerdict {
  const j = delta.idx[t];
  return {
    ok: false,
    reason: 'delta-off-columns',
    detail:
      `delta[${j}] = ${delta.val[t]}, but column ${j} is not one of the shard's columns, has never been in ` +
      `supp(w) and w_i[${j}] = 0: an honest step leaves it 0`,
  };
}
