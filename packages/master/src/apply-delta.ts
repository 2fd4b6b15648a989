import { softThreshold as softThresholdExport, type SparseVector } from '@soda/core';
import { NOT_STORED, OVERFLOW, type IndexedStore, type ShardIterate } from './shard-iterate';
import { firstOffColumn, type SupportHistory } from './support-history';

// bound once, as model-state.ts's proxCoordinate: a call through the package's accessor is not inlined
const softThreshold = softThresholdExport;

/**
 * What one fused apply leaves for its caller, and what it needs to undo itself: reused across updates
 * (it grows with the largest Δ, never with n).
 */
export class ApplyScratch {
  /** the places t of Δ where w_j went to or from 0, or is or was not finite, in order */
  changed = new Int32Array(64);
  changedCount = 0;
  /** old values of w_j at each such place (the new one is in the records) */
  changedOld = new Float64Array(64);
  /** the places t of Δ off cols_i and not yet stored (the caller stores them after the pass) */
  fresh = new Int32Array(64);
  freshCount = 0;
  /** w̄_j, w_j and w_i,j before the pass, for an exact undo */
  oldBar = new Float64Array(64);
  oldW = new Float64Array(64);
  oldWi = new Float64Array(64);
  /** touchRecords's sum (kept only so that its loads are not optimised away) */
  touched = 0;

  /** Room for a Δ of `len` coordinates. */
  fit(len: number): void {
    if (this.oldBar.length >= len) return;
    const size = len + (len >> 1);
    this.changed = new Int32Array(size);
    this.changedOld = new Float64Array(size);
    this.fresh = new Int32Array(size);
    this.oldBar = new Float64Array(size);
    this.oldW = new Float64Array(size);
    this.oldWi = new Float64Array(size);
  }
}

/** The master's state an apply changes: w̄_j, w_j = prox(w̄)_j in records, and the prox's parameters. */
export interface Records {
  /** rec[2j] = w̄_j, rec[2j + 1] = w_j */
  readonly rec: Float64Array;
  /** γλ1 */
  readonly threshold: number;
  /** coordinates j ≥ this skip the prox (the intercept) */
  readonly unpenalizedFrom: number;
}

/**
 * Algorithm 1's master step for one Δ of shard i through cols_i's dense index, in one pass over Δ:
 *   w_i += Δ,  w̄ += π_i Δ,  w = prox_{γλ1}(w̄) on Δ's coordinates,
 * the same arithmetic, in the same order, as ShardIterate.addSorted followed by ModelState's loop. One
 * pass, not three (the claim check, w_i, w̄), because each is a walk over cache lines of arrays of n
 * that the others have just left: `npm run bench:master`.
 *
 * With H given, the off-column claim check (support-history.ts's checkOffColumns) is made in the same
 * pass: a non-zero Δ_j off cols_i, not in H, where w_i,j = 0. Then every change made so far is undone
 * from the saved old values — bit for bit, nothing of the refused Δ stays — and its place t is returned.
 * −1: applied. Left to the caller (after the pass, when it cannot be refused any more): the places in
 * `s.changed` (supp(w) bookkeeping) and in `s.fresh` (w_i's new off-column entries).
 */
export function applyIndexed(
  delta: SparseVector,
  pi: number,
  m: Records,
  wi: IndexedStore,
  H: SupportHistory | null,
  s: ApplyScratch,
): number {
  const { idx, val } = delta;
  const len = idx.length;
  s.fit(len);
  const { rec, threshold: thr, unpenalizedFrom: u } = m;
  const { pos, val: wv, ovVal, n } = wi;
  const { oldBar, oldW, oldWi, fresh } = s;
  let nc = 0;
  let nf = 0;
  for (let t = 0; t < len; t++) {
    const x = val[t];
    const j = idx[t];
    if (x !== 0) {
      const c = j < n ? pos[j] : NOT_STORED;
      if (c >= 0) {
        oldWi[t] = wv[c];
        wv[c] += x;
      } else if (c <= OVERFLOW) {
        const o = ovVal[OVERFLOW - c];
        if (H !== null && o === 0 && !H.has(j)) return undo(delta, t, m, wi, s);
        oldWi[t] = o;
        ovVal[OVERFLOW - c] = o + x;
      } else {
        if (H !== null && !H.has(j) && (c === NOT_STORED || wi.pendingAt(j) === 0))
          return undo(delta, t, m, wi, s);
        fresh[nf++] = t;
      }
    }
    const r = 2 * j;
    const b0 = rec[r];
    oldBar[t] = b0;
    const b = b0 + pi * x;
    rec[r] = b;
    const v = j < u ? softThreshold(b, thr) : b; // prox_{γλ1}(b): identity on the intercept (j ≥ u)
    const old = rec[r + 1];
    oldW[t] = old;
    rec[r + 1] = v;
    if (supportOrFinitenessChanges(v, old)) nc = note(s, nc, t, old);
  }
  s.changedCount = nc;
  s.freshCount = nf;
  return -1;
}

/**
 * applyIndexed for a shard whose cols_i is searched, not indexed (too sparse in n for an index of n
 * positions): the claim check first (it locates Δ in cols_i, and w_i's add reuses that), then w_i,
 * then w̄ and w. Nothing is changed before the check has passed. Leaves `s.changed`; nothing fresh.
 */
export function applySearched(
  delta: SparseVector,
  pi: number,
  m: Records,
  wi: ShardIterate,
  H: SupportHistory | null,
  s: ApplyScratch,
): number {
  touchRecords(delta.idx, m.rec, s);
  if (H !== null) {
    const bad = firstOffColumn(delta, wi, H);
    if (bad >= 0) return bad;
  }
  wi.addSorted(delta);
  const { idx, val } = delta;
  s.fit(idx.length);
  const { rec, threshold: thr, unpenalizedFrom: u } = m;
  let nc = 0;
  for (let t = 0; t < idx.length; t++) {
    const j = idx[t];
    const b = (rec[2 * j] += pi * val[t]);
    const old = rec[2 * j + 1];
    const v = (rec[2 * j + 1] = j < u ? softThreshold(b, thr) : b);
    if (supportOrFinitenessChanges(v, old)) nc = note(s, nc, t, old);
  }
  s.changedCount = nc;
  s.freshCount = 0;
  return -1;
}

/**
 * Load every record Δ will change, in a loop that does nothing else: with n large (16 MB of records at
 * n = 10⁶) each is a cache miss, and this loop keeps many in flight at once, where the apply's longer
 * body (prox, branches) waits for them one or two at a time. The sum is kept so the loads stay.
 */
function touchRecords(idx: Uint32Array, rec: Float64Array, s: ApplyScratch): void {
  let z = 0;
  for (let t = 0; t < idx.length; t++) z += rec[2 * idx[t]];
  s.touched = z;
}

/** w_j went from `old` to `v` and the support changed, or w_j is or was ±∞ or NaN (x − x ≠ 0): rare. */
function supportOrFinitenessChanges(v: number, old: number): boolean {
  return (v === 0) !== (old === 0) || v - v !== 0 || old - old !== 0;
}

/** Keep place t (and w_j's old value) for the caller's supp(w) bookkeeping; returns the new count. */
function note(s: ApplyScratch, nc: number, t: number, old: number): number {
  s.changed[nc] = t;
  s.changedOld[nc] = old;
  return nc + 1;
}

/** Restore what applyIndexed changed at Δ's places [0, t) from the saved values; returns t. */
function undo(delta: SparseVector, t: number, m: Records, wi: IndexedStore, s: ApplyScratch): number {
  const { idx, val } = delta;
  const { rec } = m;
  const { pos, val: wv, ovVal, n } = wi;
  // backwards, so a coordinate given twice (tests may; decoded frames never do) ends at its first old value
  for (let q = t - 1; q >= 0; q--) {
    const j = idx[q];
    rec[2 * j] = s.oldBar[q];
    rec[2 * j + 1] = s.oldW[q];
    if (val[q] === 0) continue;
    const c = j < n ? pos[j] : NOT_STORED;
    if (c >= 0) wv[c] = s.oldWi[q];
    else if (c <= OVERFLOW) ovVal[OVERFLOW - c] = s.oldWi[q];
  }
  s.changedCount = 0;
  s.freshCount = 0;
  return t;
}
