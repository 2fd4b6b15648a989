import type { SparseVector } from '@soda/core';
import { heldModel, type Model } from '@soda/protocol';

/**
 * The model frames of a run: with wire precision 64, w itself (doubles, as always); with 32, per
 * connected worker the model ŵ it holds (DESIGN.md, "Wire precision 32"). The first frame after an
 * assign (a new worker, a take-over, a restart, a resumed master) is the whole w in doubles and makes
 * ŵ = w; each later one carries d = f32(w − ŵ) on supp(w) ∪ supp(ŵ) without its exact zeros, and both
 * ends set ŵ ← ŵ + d (applyModelDiff). What is left, w − ŵ, is at most 2⁻²⁴ of what w moved since the
 * last reply, so it shrinks as the run converges. Memory: Σ over workers of |supp ŵ| ≤ |supp w| + the
 * few coordinates that have just left it; nothing of size n.
 */
export class ModelReplies {
  private readonly held = new Map<number, Held>();

  constructor(readonly wirePrecision: 32 | 64) {}

  /** Workers whose ŵ is kept (tests, memory accounting). */
  get size(): number {
    return this.held.size;
  }

  /** The ŵ connection `conn` holds, if any (tests). */
  heldBy(conn: number): SparseVector | undefined {
    const h = this.held.get(conn);
    return h === undefined
      ? undefined
      : { n: h.n, idx: h.idx.subarray(0, h.len), val: h.val.subarray(0, h.len) };
  }

  /** `conn` was sent an assign, or left: its next model is whole. */
  forget(conn: number): void {
    this.held.delete(conn);
  }

  /**
   * The model frame for `conn` at w (w may be the model's live view: the frame is encoded before the
   * next event changes it; ŵ is always a copy; d is this worker's buffer, valid until its next frame).
   */
  frame(conn: number, head: Omit<Model, 't' | 'w' | 'diff' | 'valBits'>, w: SparseVector): Model {
    if (this.wirePrecision !== 32) return { t: 'model', ...head, w }; // 64, the default
    const hat = this.held.get(conn);
    const d = hat === undefined ? null : diffAndApply(w, hat);
    if (d === null) {
      const h = heldModel(w);
      this.held.set(conn, {
        n: w.n,
        idx: h.idx,
        val: h.val,
        len: h.idx.length,
        spareIdx: null,
        spareVal: null,
        dIdx: null,
        dVal: null,
      });
      return { t: 'model', ...head, w, valBits: 32 };
    }
    return { t: 'model', ...head, w: d, diff: true, valBits: 32 };
  }
}

/**
 * A worker's ŵ: its first `len` entries; a second buffer the next ŵ is built in (then swapped); and the
 * buffer of the last diff sent to it (valid until its next frame: a frame is encoded before the next
 * event, and one event sends a worker at most one model).
 */
interface Held {
  readonly n: number;
  idx: Uint32Array;
  val: Float64Array;
  len: number;
  spareIdx: Uint32Array | null;
  spareVal: Float64Array | null;
  dIdx: Uint32Array | null;
  dVal: Float64Array | null;
}

/**
 * d = modelDiff(w, ŵ) and ŵ ← applyModelDiff(ŵ, d) in one pass (the same arithmetic: a coordinate of ŵ
 * that d leaves out keeps its value, one only in d takes d's, one in both takes ŵ_j + d_j, exact zeros
 * are dropped; the tests hold it to the worker's applyModelDiff bit for bit). null, ŵ untouched, when a
 * difference is not finite: the caller sends w whole. O(|w| + |ŵ|), no allocation once the buffers fit.
 */
function diffAndApply(w: SparseVector, h: Held): SparseVector | null {
  const wi = w.idx;
  const wv = w.val;
  const wl = wi.length;
  const hi = h.idx;
  const hv = h.val;
  const hl = h.len;
  const cap = wl + hl;
  if (h.spareIdx === null || h.spareVal === null || h.spareIdx.length < cap) {
    h.spareIdx = new Uint32Array(cap + (cap >> 2));
    h.spareVal = new Float64Array(h.spareIdx.length);
  }
  if (h.dIdx === null || h.dVal === null || h.dIdx.length < cap) {
    h.dIdx = new Uint32Array(cap + (cap >> 2));
    h.dVal = new Float64Array(h.dIdx.length);
  }
  const nIdx = h.spareIdx;
  const nVal = h.spareVal;
  const dIdx = h.dIdx;
  const dVal = h.dVal;
  let a = 0;
  let b = 0;
  let c = 0;
  let e = 0;
  // one coordinate: x = w_j − ŵ_j (old = ŵ_j), q = f32(x) into d, ŵ_j + q into the next ŵ; false: x not finite
  // (written out for each case below: a loop over both supports, then the tails, no sentinel values)
  const put = (j: number, old: number, x: number): boolean => {
    if (x - x !== 0) return false;
    let q = Math.fround(x);
    if (q - q !== 0) q = x; // beyond float32's range: kept as a double (roundForWire)
    let next = old;
    if (q !== 0) {
      dIdx[c] = j;
      dVal[c++] = q;
      next = old + q; // (0 + q = q off ŵ's support: applyModelDiff's value there)
    }
    if (next !== 0) {
      nIdx[e] = j;
      nVal[e++] = next;
    }
    return true;
  };
  while (a < wl && b < hl) {
    const ja = wi[a];
    const jb = hi[b];
    let ok: boolean;
    if (ja === jb) {
      const old = hv[b++];
      ok = put(ja, old, wv[a++] - old);
    } else if (ja < jb) ok = put(ja, 0, wv[a++]);
    else {
      const old = hv[b++];
      ok = put(jb, old, -old);
    }
    if (!ok) return null;
  }
  for (; a < wl; a++) if (!put(wi[a], 0, wv[a])) return null;
  for (; b < hl; b++) if (!put(hi[b], hv[b], -hv[b])) return null;
  h.spareIdx = h.idx;
  h.spareVal = h.val;
  h.idx = nIdx;
  h.val = nVal;
  h.len = e;
  return { n: w.n, idx: dIdx.subarray(0, c), val: dVal.subarray(0, c) };
}
