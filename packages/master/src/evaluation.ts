import { l1PenaltySparse, type SparseVector } from '@soda/core';

/**
 * One evaluation round: F(w^k) = Σ_i π_i f_i(w^k) + λ1‖w^k‖₁ computed exactly from every shard's
 * f_i, so the master never needs the data in one place. A round waits for every shard; a shard whose
 * worker dies is asked again when its replacement is ready.
 */
export class EvalRound {
  private readonly fi: Float64Array;
  private readonly correct: Float64Array;
  private readonly got: Uint8Array;
  private remaining: number;
  readonly startedAt = Date.now();

  constructor(
    readonly id: number,
    readonly k: number,
    readonly w: SparseVector,
    private readonly pi: Float64Array,
  ) {
    this.fi = new Float64Array(pi.length);
    this.correct = new Float64Array(pi.length);
    this.got = new Uint8Array(pi.length);
    this.remaining = pi.length;
  }

  has(shard: number): boolean {
    return this.got[shard] === 1;
  }

  /** Record f_i; returns true when the round is complete. Duplicates are ignored. */
  record(shard: number, fi: number, correct: number | undefined): boolean {
    if (this.got[shard] === 0) {
      this.got[shard] = 1;
      this.fi[shard] = fi;
      this.correct[shard] = correct ?? 0;
      this.remaining--;
    }
    return this.remaining === 0;
  }

  get complete(): boolean {
    return this.remaining === 0;
  }

  /**
   * F(w) = Σ π_i f_i(w) + λ1‖w‖₁ (compensated sum); the ℓ1 term skips coordinates ≥ unpenalizedFrom,
   * which defaults to what ModelState.current() put on w (the intercept column).
   */
  objective(lambda1: number, unpenalizedFrom = unpenalizedOf(this.w)): number {
    let s = 0;
    let c = 0;
    for (let i = 0; i < this.pi.length; i++) {
      const v = this.pi[i] * this.fi[i];
      const t = s + v;
      c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
      s = t;
    }
    return s + c + l1PenaltySparse(this.w.idx, this.w.val, lambda1, unpenalizedFrom);
  }

  /** Training accuracy of w over all shards. */
  accuracy(m: number): number {
    let c = 0;
    for (let i = 0; i < this.correct.length; i++) c += this.correct[i];
    return c / m;
  }
}

/** (F − F*)/F*: the paper's suboptimality. */
export function suboptimality(F: number, fstar: number): number {
  return (F - fstar) / fstar;
}

function unpenalizedOf(w: SparseVector): number {
  const u = (w as SparseVector & { unpenalizedFrom?: number }).unpenalizedFrom;
  return u ?? w.n;
}
