import {
  correctFromMargins,
  densePositionsFit,
  gapPartCsc,
  gallop,
  geometricSkip,
  type GapPart,
  lossFromMargins,
  geometricTable,
  lossResiduals,
  marginsCscInt32,
  positionIndex,
  Rng,
  SodaError,
  squaredNorm,
  type CscMatrix,
  type SparseVector,
} from '@soda/core';
import { roundForWire } from '@soda/protocol';
import { compactCsc, localIndex, type LocalShard } from './columns';
import { END, OffColumns } from './off-columns';

export type { LocalShard } from './columns';

// The step's loop over the mask is its own small function over fixed array types (monomorphic, int32
// indices); the margins and the residuals σ(−y_i z_i) are the loss module's (@soda/core), one copy:
// w's in-shard coordinates are renumbered to local ids first (localW), in the same order, so the
// margins are core's marginsCsc over the local columns, bit for bit (its int32-pointer form).

// Bound once: an import is a getter on its package's exports, which V8 does not inline in a hot loop.
const gallopCols = gallop;
const roundWire = roundForWire;

/** Δ = w_i⁺ − w_i on the mask, over global column ids: a view into reused buffers. */
class DeltaBuffer {
  idx = new Uint32Array(16);
  val = new Float64Array(16);
  count = 0;

  /** Room for `cap` entries (a step writes at most |supp(w)| + |cols_i| + |off-column w_i|). */
  reset(cap: number): void {
    if (this.idx.length < cap) {
      this.idx = new Uint32Array(cap + (cap >> 1));
      this.val = new Float64Array(cap + (cap >> 1));
    }
    this.count = 0;
  }

  /** Exact zeros carry no information for w̄ += π_i Δ: not sending them saves bytes. */
  push(j: number, d: number): void {
    if (d === 0) return;
    this.idx[this.count] = j;
    this.val[this.count++] = d;
  }
}

/**
 * How a global coordinate finds its local id: 'dense', one load from an index of n positions;
 * 'sorted', a search of cols_i (nothing of size n); 'auto', dense when core's densePositionsFit says
 * the 4n bytes cost at most twice cols_i itself. The same Δ bit for bit either way (tests force each).
 */
export type PositionMode = 'auto' | 'dense' | 'sorted';

export interface StepResult {
  /** Δ = w_i⁺ − w_i on the mask; a view into reused buffers, valid until the next step. */
  readonly delta: SparseVector;
  /** |M_p|: coordinates in the mask (computed or known to be unchanged). */
  readonly maskSize: number;
}

/**
 * The worker side of Algorithm 1, as a pure state machine over typed arrays (no I/O):
 *   M_p ← supp(w) ∪ Bernoulli(p);  w_i⁺ = [w − γ∇f_i(w)]_{M_p} + [w_i]_{M̄_p};  Δ = w_i⁺ − w_i;  w_i ← w_i⁺.
 * (Wire precision 32: Δ ← f32(Δ) and w_i ← w_i + Δ, the sum the master applies: DESIGN.md.)
 *
 * Memory O(nnz_i + |cols_i| + |off-column supp(w_i)|), nothing of size n (issue 17; DESIGN.md,
 * "A worker's memory"): the shard, w_i and the scratch live over the shard's own columns cols_i. The
 * one exception, the dense index of positions (4n bytes), is only built when n ≤ 6·|cols_i|, where
 * it is O(|cols_i|) too (issue 18: on spam the searches of cols_i were the step's cost at p = 0.1).
 * Off cols_i the data gradient is 0, so there [w − γ∇f_i(w)]_j = w_j − γλ2 w_j: non-zero only on
 * supp(w), and w_i off cols_i is a sparse list (OffColumns) bounded by what has been in supp(w).
 * The mask is never materialised, and Bernoulli(p) is only drawn where a masked coordinate can change
 * w_i — on cols_i ∪ supp(w_i) (maskedStep) —, with the paper's distribution there (checked by the
 * statistical tests of local-step.test.ts); given the mask, Δ is the dense algorithm's bit for bit.
 *
 * One step costs nnz(X_i[:, supp(w)]) for the margins, nnz(X_i[:, M_p]) for the gradient, O(m_i),
 * O(|supp(w)| + p·|cols_i ∪ supp(w_i)|) draws and merges. f_i is not computed by a step (`evaluate`).
 */
export class LocalStep {
  readonly n: number;
  readonly m: number;
  /** the shard's own columns (global ids, increasing) */
  readonly cols: Uint32Array;
  /** w_i on cols_i (local ids) */
  private readonly wiLocal: Float64Array;
  /** w_i off cols_i, sparse */
  private readonly wiOff: OffColumns;
  private readonly shard: LocalShard;
  private readonly rng: Rng;
  private readonly z: Float64Array;
  private readonly r: Float64Array;
  private wLocIdx = new Uint32Array(16);
  private wLocVal = new Float64Array(16);
  private readonly delta = new DeltaBuffer();
  /** the shard's column pointers as int32 (X.ptr is a Float64Array): the loops over k stay in int32 */
  private readonly ptr: Int32Array;
  /** wire precision 32: Δ rounded to float32, with error feedback */
  private readonly f32: boolean;
  /** pos[j] = local id of global column j, −1 off cols_i; null: search cols_i instead (PositionMode) */
  private readonly pos: Int32Array | null;
  /** recordMasks: the coordinates the current step computes */
  private record: number[] | null = null;

  /** `shard`: over its own columns (columns.ts), or column-major over all n (compacted here, O(n)). */
  constructor(
    shard: LocalShard | { readonly X: CscMatrix; readonly y: Float64Array },
    private readonly lambda2: number,
    wi0: SparseVector,
    seed: number,
    /**
     * 32: Δ is rounded to float32 (roundForWire) and w_i ← w_i + that, never w_i⁺: the worker keeps
     * exactly what the master applies, and the rounding error is fed back into the next Δ.
     */
    wirePrecision: 32 | 64 = 64,
    positions: PositionMode = 'auto',
  ) {
    this.f32 = wirePrecision === 32;
    this.shard = 'cols' in shard ? shard : compactCsc(shard.X, shard.y);
    const { X, cols, n } = this.shard;
    this.n = n;
    this.m = X.rows;
    this.cols = cols;
    if (X.ind.length > 0x7fffffff)
      throw new SodaError('E_DATA', `a shard of ${X.ind.length} non-zeros is too large for a worker`);
    if (wi0.n !== n) throw new SodaError('E_DATA', `w_i has dimension ${wi0.n}, the shard n = ${n}`);
    this.ptr = Int32Array.from(X.ptr);
    const dense = positions === 'dense' || (positions === 'auto' && densePositionsFit(n, cols.length));
    this.pos = dense ? positionIndex(cols, n) : null;
    this.wiLocal = new Float64Array(cols.length);
    this.wiOff = new OffColumns();
    this.wiOff.reserve(wi0.idx.length);
    let c = 0;
    for (let t = 0; t < wi0.idx.length; t++) {
      const j = wi0.idx[t];
      const at = this.pos !== null ? this.pos[j] : localIndex(cols, j, c);
      if (at >= 0) this.wiLocal[(c = at)] = wi0.val[t];
      else this.wiOff.keep(j, wi0.val[t]);
    }
    this.wiOff.swap();
    this.rng = new Rng(seed);
    this.z = new Float64Array(this.m);
    this.r = new Float64Array(this.m);
  }

  /** w_i at global coordinate j. */
  wiAt(j: number): number {
    const c = this.pos !== null ? this.pos[j] : localIndex(this.cols, j, 0);
    return c >= 0 ? this.wiLocal[c] : this.wiOff.get(j);
  }

  /** Whether global coordinates find their local ids in a dense index of n positions (PositionMode). */
  get densePositions(): boolean {
    return this.pos !== null;
  }

  /** Non-zero coordinates of w_i kept off the shard's columns (bounded by supp(w)'s history). */
  get offColumnSupport(): number {
    return this.wiOff.size;
  }

  step(w: SparseVector, gamma: number, p: number): StepResult {
    const { z, r } = this;
    const local = this.localW(w);
    const { ind, val } = this.shard.X;
    marginsCscInt32(this.ptr, ind, val, local.idx, local.val, z);
    if (this.record !== null) this.record.length = 0;
    lossResiduals(z, this.shard.y, r); // r_i = y_i ℓ'(y_i z_i)/m
    const maskSize = this.maskedStep(w, local.idx, gamma, p);
    const d = this.delta;
    return {
      delta: { n: this.n, idx: d.idx.subarray(0, d.count), val: d.val.subarray(0, d.count) },
      maskSize,
    };
  }

  /** w's coordinates on the shard's columns, renumbered to local ids (increasing), in reused buffers. */
  private localW(w: SparseVector): { idx: Uint32Array; val: Float64Array } {
    if (this.wLocIdx.length < w.idx.length) {
      this.wLocIdx = new Uint32Array(w.idx.length + (w.idx.length >> 1));
      this.wLocVal = new Float64Array(this.wLocIdx.length);
    }
    const { wLocIdx, wLocVal, cols, pos } = this;
    const C = cols.length;
    const widx = w.idx;
    let a = 0; // cols[0, a) < the coordinate at hand: w is sorted, so a only moves forward
    let count = 0;
    for (let t = 0; t < widx.length; t++) {
      const j = widx[t];
      let at: number;
      if (pos !== null) at = pos[j];
      else {
        a = gallopCols(cols, j, a, C); // O(log gap), where a search of cols_i costs log |cols_i|
        at = a < C && cols[a] === j ? a : -1;
      }
      if (at >= 0) {
        wLocIdx[count] = at;
        wLocVal[count++] = w.val[t];
      }
    }
    return { idx: wLocIdx.subarray(0, count), val: wLocVal.subarray(0, count) };
  }

  /**
   * On every j of M_p that can change (walked in increasing order): w_i[j] ← [w − γ∇f_i(w)]_j, the
   * non-zero changes into Δ. Returns how many coordinates it computed. `wLocal`: the local ids of
   * supp(w) ∩ cols_i, increasing (localW).
   *
   * M_p = supp(w) ∪ B, B ~ Bernoulli(p) on every coordinate independently (the paper's mask). Off
   * R = cols_i ∪ supp(w) ∪ supp(w_i) a masked coordinate changes nothing (its Δ is 0 − 0), so B is
   * only drawn on R: a geometric skip over the places of cols_i (whose local ids it then knows without
   * a look-up) and one over the places of the off-column list; supp(w) is in M_p always. Each place of
   * R is in B independently with probability p, so M_p ∩ R has the paper's distribution (the statistical
   * tests of local-step.test.ts), at O(|supp(w)| + p·|R|) draws instead of O(|supp(w)| + p·n).
   * With p ≥ 1 every place of R is taken and none drawn.
   */
  private maskedStep(w: SparseVector, wLocal: Uint32Array, gamma: number, p: number): number {
    const { cols, wiOff, rng, record, wiLocal, r, ptr, lambda2, f32, delta } = this;
    const { ind, val } = this.shard.X;
    const widx = w.idx;
    const wval = w.val;
    const sn = widx.length;
    const C = cols.length;
    const all = p >= 1;
    delta.reset(sn + C + wiOff.size);
    wiOff.reserve(wiOff.size + sn);
    const g = all || !(p > 0) ? null : geometricTable(p);
    const skip = geometricSkip; // (a local binding: see gallopCols)
    // the next place of cols_i in B and the next place of the off-column list in B (p = 0: none)
    let c = all ? 0 : g === null ? C : skip(rng, g);
    let o = all ? 0 : g === null ? wiOff.size : skip(rng, g);
    let s = 0; // cursor in supp(w)
    let l = 0; // cursor in wLocal
    let size = 0;
    const end = END;
    for (;;) {
      const jW = s < sn ? widx[s] : end;
      const jC = c < C ? cols[c] : end;
      const jO = wiOff.coordinate(o);
      let j = jW < jC ? jW : jC;
      if (jO < j) j = jO;
      if (j === end) break;
      size++;
      if (record !== null) record.push(j);
      const inW = j === jW;
      const wj = inW ? wval[s++] : 0;
      if (j === jO) o = all ? o + 1 : o + 1 + skip(rng, g!);
      // j's local id, −1 off cols_i: localW has found those of supp(w), in this order
      let at = -1;
      if (j === jC) {
        at = c;
        if (inW) l++; // (j is on cols_i: it is wLocal[l])
        c = all ? c + 1 : c + 1 + skip(rng, g!);
      } else if (inW && l < wLocal.length && cols[wLocal[l]] === j) at = wLocal[l++];
      if (at >= 0) {
        let gj = lambda2 * wj;
        const e = ptr[at + 1];
        for (let k = ptr[at]; k < e; k++) gj += val[k] * r[ind[k]];
        const nextWi = wj - gamma * gj; // [w − γ∇f_i(w)]_j
        if (f32) {
          const q = roundWire(nextWi - wiLocal[at]);
          delta.push(j, q);
          if (q !== 0) wiLocal[at] += q; // what the master applies (ShardIterate.addSorted)
        } else {
          delta.push(j, nextWi - wiLocal[at]);
          wiLocal[at] = nextWi;
        }
      } else this.offColumn(j, wj, inW, gamma);
    }
    wiOff.swap();
    return size;
  }

  /** Off cols_i the data part of ∇f_i is 0, so [w − γ∇f_i(w)]_j = w_j − γλ2 w_j (0 off supp(w)). */
  private offColumn(j: number, wj: number, inW: boolean, gamma: number): void {
    const old = this.wiOff.take(j);
    if (!inW && old === 0) return;
    const nextWi = wj - gamma * (this.lambda2 * wj);
    if (this.f32) {
      const q = roundWire(nextWi - old);
      this.delta.push(j, q);
      this.wiOff.keep(j, q !== 0 ? old + q : old);
    } else {
      this.delta.push(j, nextWi - old);
      this.wiOff.keep(j, nextWi);
    }
  }

  /**
   * Tests: record the coordinates each step computes (M_p ∩ R, see maskedStep), for a reference to
   * recompute Δ on and for the mask's distribution to be checked. Off by default (no cost but a branch).
   */
  recordMasks(on: boolean): void {
    this.record = on ? [] : null;
  }

  /** The coordinates the last step computed, in increasing order (recordMasks(true) first). */
  lastMask(): number[] {
    if (this.record === null) throw new SodaError('E_INTERNAL', 'lastMask: recordMasks(true) was not called');
    return this.record;
  }

  /** f_i(w) accurately (compensated sums) and the number of correctly classified rows: an evaluation round. */
  evaluate(w: SparseVector): { fi: number; correct: number } {
    const { X, y } = this.shard;
    const local = this.localW(w);
    marginsCscInt32(this.ptr, X.ind, X.val, local.idx, local.val, this.z);
    const fi = lossFromMargins(this.z, y, this.r) + 0.5 * this.lambda2 * squaredNorm(w.val);
    return { fi, correct: correctFromMargins(this.z, y) };
  }

  /**
   * The same, plus this shard's duality-gap parts at w (Σ H(θ_j) and Σ θ_j y_j x_j over its rows):
   * one more pass over the whole shard, O(m_i + nnz(X_i)), only when the master asks. u is computed
   * over local columns and renumbered to global ones (increasing, like cols_i).
   */
  evaluateWithGap(w: SparseVector): { fi: number; correct: number; gap: GapPart } {
    const { fi, correct } = this.evaluate(w); // leaves the margins in this.z
    const part = gapPartCsc(this.shard.X, this.shard.y, this.z, this.r);
    const idx = part.u.idx;
    for (let t = 0; t < idx.length; t++) idx[t] = this.cols[idx[t]];
    return { fi, correct, gap: { ...part, u: { n: this.n, idx, val: part.u.val } } };
  }
}
