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
  marginsCsc,
  positionIndex,
  Rng,
  SodaError,
  squaredNorm,
  type CscMatrix,
  type SparseVector,
} from '@soda/core';
import { roundForWire } from '@soda/protocol';
import { compactCsc, localIndex, type LocalShard } from './columns';
import { OffColumns } from './off-columns';

export type { LocalShard } from './columns';

// The step's loop over the mask is its own small function over fixed array types (monomorphic, int32
// indices); the margins and the residuals σ(−y_i z_i) are the loss module's (@soda/core), one copy:
// w's in-shard coordinates are renumbered to local ids first (localW), in the same order, so the
// margins are core's marginsCsc over the local columns, bit for bit.

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
 * The mask is never materialised: the Bernoulli(p) process is walked with the very draws of core's
 * sampleMask (same masks, same Δ bit for bit as the dense algorithm, pinned by local-step.test.ts),
 * and a masked coordinate outside cols_i ∪ supp(w) ∪ supp(w_i) is skipped (its Δ is 0 − 0).
 *
 * One step costs nnz(X_i[:, supp(w)]) for the margins, nnz(X_i[:, M_p]) for the gradient, O(m_i),
 * O(p·n) draws, and a merge over cols_i. f_i itself is not computed by a step (`evaluate` gives it).
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
    marginsCsc(this.shard.X, local.idx, local.val, z);
    lossResiduals(z, this.shard.y, r); // r_i = y_i ℓ'(y_i z_i)/m
    const maskSize = this.maskedStep(w, gamma, p);
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
        a = gallop(cols, j, a, C); // O(log gap), where a search of cols_i costs log |cols_i|
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
   * On every j of M_p (walked in increasing order, as sampleMask builds it):
   * w_i[j] ← [w − γ∇f_i(w)]_j, the non-zero changes into Δ. Returns |M_p|.
   * With p ≥ 1 the mask is every coordinate: only cols_i ∪ supp(w) ∪ supp(w_i) can change, so only
   * those are walked (sampleMask draws nothing then either).
   */
  private maskedStep(w: SparseVector, gamma: number, p: number): number {
    const { n, cols, wiLocal, wiOff, rng, lambda2, delta, r, f32, pos } = this;
    const { ind, val } = this.shard.X;
    const ptr = this.ptr;
    const widx = w.idx;
    const wval = w.val;
    const sn = widx.length;
    const C = cols.length;
    const all = p >= 1;
    // p ≥ 1 enumerates cols_i with the cursor c, which then already stands on j or past it: no search
    const lookUp = pos !== null && !all;
    delta.reset(sn + C + wiOff.size);
    wiOff.reserve(wiOff.size + sn);
    const g = all || !(p > 0) ? null : geometricTable(p);
    // local bindings: an import is a getter on its package's exports, which profiles showed in this loop
    const skip = geometricSkip;
    const round = roundForWire;
    let next = g === null ? n : skip(rng, g); // next Bernoulli success
    let s = 0; // cursor in supp(w)
    let c = 0; // cursor in cols_i
    let size = 0;
    for (;;) {
      let j = next;
      if (s < sn && widx[s] < j) j = widx[s];
      if (all) {
        if (c < C && cols[c] < j) j = cols[c];
        const o = wiOff.peek();
        if (o < j) j = o;
      }
      if (j >= n) break;
      if (j === next) {
        next += 1 + skip(rng, g!);
        if (next > n) next = n;
      }
      size++;
      const inW = s < sn && widx[s] === j;
      const wj = inW ? wval[s++] : 0;
      let at: number; // j's local id, −1 off cols_i
      if (lookUp) at = pos[j];
      else {
        while (c < C && cols[c] < j) c++;
        at = c < C && cols[c] === j ? c++ : -1;
      }
      if (at >= 0) {
        let g = lambda2 * wj;
        const end = ptr[at + 1];
        for (let k = ptr[at]; k < end; k++) g += val[k] * r[ind[k]];
        const nextWi = wj - gamma * g; // [w − γ∇f_i(w)]_j
        if (f32) {
          const q = round(nextWi - wiLocal[at]);
          delta.push(j, q);
          if (q !== 0) wiLocal[at] += q; // what the master applies (ShardIterate.addSorted)
        } else {
          delta.push(j, nextWi - wiLocal[at]);
          wiLocal[at] = nextWi;
        }
      } else {
        // Off cols_i: the data part of ∇f_i is 0, so [w − γ∇f_i(w)]_j = w_j − γλ2 w_j (0 off supp(w)).
        const old = wiOff.take(j);
        if (!inW && old === 0) continue;
        const g = lambda2 * wj;
        const nextWi = wj - gamma * g;
        if (f32) {
          const q = round(nextWi - old);
          delta.push(j, q);
          wiOff.keep(j, q !== 0 ? old + q : old);
        } else {
          delta.push(j, nextWi - old);
          wiOff.keep(j, nextWi);
        }
      }
    }
    wiOff.swap();
    return all ? n : size;
  }

  /** f_i(w) accurately (compensated sums) and the number of correctly classified rows: an evaluation round. */
  evaluate(w: SparseVector): { fi: number; correct: number } {
    const { X, y } = this.shard;
    const local = this.localW(w);
    marginsCsc(X, local.idx, local.val, this.z);
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
