import type { SparseVector } from '@soda/core';

/*
 * Wire precision 32 (DESIGN.md, "Wire precision 32"): the step frames carry float32 values, and the
 * rounding never accumulates because both ends keep what was actually sent.
 *   upstream:   the worker sends q = f32(Δ) and sets w_i ← w_i + q, the very sum the master applies;
 *   downstream: the master sends d = f32(w − ŵ) and both ends set ŵ ← ŵ + d (applyModelDiff), ŵ being
 *               the model this worker holds; the error left, w − ŵ, is at most 2⁻²⁴ of the change.
 * Rounding happens here, in the algorithm's arithmetic; the codec never rounds (exactFloat32).
 */

/**
 * x rounded to the nearest float32, or x itself when that is not finite (|x| beyond float32's range, or
 * x not finite already): a value the frame then carries as a double, so nothing is ever clamped.
 */
export function roundForWire(x: number): number {
  const q = Math.fround(x);
  return q - q === 0 ? q : x;
}

/**
 * d = roundForWire(w − ŵ) on supp(w) ∪ supp(ŵ), exact zeros left out (indices increasing). O(|w| + |ŵ|).
 * null when some difference is not finite (|w_j − ŵ_j| beyond double range): send the whole w instead.
 */
export function modelDiff(w: SparseVector, hat: SparseVector): SparseVector | null {
  const wi = w.idx;
  const wv = w.val;
  const hi = hat.idx;
  const hv = hat.val;
  const cap = wi.length + hi.length;
  const idx = new Uint32Array(cap);
  const val = new Float64Array(cap);
  let a = 0;
  let b = 0;
  let c = 0;
  while (a < wi.length || b < hi.length) {
    let j: number;
    let x: number;
    if (b >= hi.length || (a < wi.length && wi[a] < hi[b])) {
      j = wi[a];
      x = wv[a++];
    } else if (a >= wi.length || hi[b] < wi[a]) {
      j = hi[b];
      x = -hv[b++];
    } else {
      j = wi[a];
      x = wv[a++] - hv[b++];
    }
    if (x - x !== 0) return null;
    const q = roundForWire(x);
    if (q === 0) continue;
    idx[c] = j;
    val[c++] = q;
  }
  return { n: w.n, idx: idx.subarray(0, c), val: val.subarray(0, c) };
}

/**
 * ŵ + d as a fresh sparse vector: the union of both supports, a sum where both have the coordinate,
 * exact zeros (±0) dropped. The master and the worker both call this, so they hold the same ŵ bit for bit.
 */
export function applyModelDiff(hat: SparseVector, d: SparseVector): SparseVector {
  const hi = hat.idx;
  const hv = hat.val;
  const di = d.idx;
  const dv = d.val;
  const cap = hi.length + di.length;
  const idx = new Uint32Array(cap);
  const val = new Float64Array(cap);
  let a = 0;
  let b = 0;
  let c = 0;
  while (a < hi.length || b < di.length) {
    let j: number;
    let x: number;
    if (b >= di.length || (a < hi.length && hi[a] < di[b])) {
      j = hi[a];
      x = hv[a++];
    } else if (a >= hi.length || di[b] < hi[a]) {
      j = di[b];
      x = dv[b++];
    } else {
      j = hi[a];
      x = hv[a++] + dv[b++];
    }
    if (x === 0) continue;
    idx[c] = j;
    val[c++] = x;
  }
  return { n: hat.n, idx: idx.subarray(0, c), val: val.subarray(0, c) };
}

/** A copy of v without its exact zeros: the ŵ a full (reset) model frame makes both ends hold. */
export function heldModel(v: SparseVector): SparseVector {
  let nnz = 0;
  for (let t = 0; t < v.val.length; t++) if (v.val[t] !== 0) nnz++;
  const idx = new Uint32Array(nnz);
  const val = new Float64Array(nnz);
  for (let t = 0, c = 0; t < v.val.length; t++)
    if (v.val[t] !== 0) {
      idx[c] = v.idx[t];
      val[c++] = v.val[t];
    }
  return { n: v.n, idx, val };
}
