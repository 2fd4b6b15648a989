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
 * exact zeros (±0) dropped. The worker calls this (through applyModelDiffInto); the master's one-pass
 * version (master/model-replies.ts) is held to it bit for bit by the tests.
 */
export function applyModelDiff(hat: SparseVector, d: SparseVector): SparseVector {
  const cap = hat.idx.length + d.idx.length;
  const idx = new Uint32Array(cap);
  const val = new Float64Array(cap);
  const len = applyModelDiffInto(hat, d, idx, val);
  return { n: hat.n, idx: idx.subarray(0, len), val: val.subarray(0, len) };
}

/** applyModelDiff into idx/val (room for |ŵ| + |d| entries, not ŵ's own arrays); returns the length. */
export function applyModelDiffInto(
  hat: SparseVector,
  d: SparseVector,
  idx: Uint32Array,
  val: Float64Array,
): number {
  const hi = hat.idx;
  const hv = hat.val;
  const di = d.idx;
  const dv = d.val;
  const hl = hi.length;
  const dl = di.length;
  let a = 0;
  let b = 0;
  let c = 0;
  while (a < hl && b < dl) {
    const ja = hi[a];
    const jb = di[b];
    let j = ja;
    let x: number;
    if (ja === jb) {
      x = hv[a++] + dv[b++];
    } else if (ja < jb) x = hv[a++];
    else {
      j = jb;
      x = dv[b++];
    }
    if (x === 0) continue;
    idx[c] = j;
    val[c++] = x;
  }
  for (; a < hl; a++)
    if (hv[a] !== 0) {
      idx[c] = hi[a];
      val[c++] = hv[a];
    }
  for (; b < dl; b++)
    if (dv[b] !== 0) {
      idx[c] = di[b];
      val[c++] = dv[b];
    }
  return c;
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
