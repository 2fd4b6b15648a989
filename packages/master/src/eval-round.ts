import { CompensatedSum, l1PenaltySparse, type SparseVector } from '@soda/core';
import type { Checkpoint } from './checkpoint';

/** What a round fixes when it starts, besides w: the state it judges. */
export interface RoundStart {
  readonly id: number;
  /** k of the evaluated w^k */
  readonly k: number;
  readonly w: SparseVector;
  readonly pi: Float64Array;
  /** monotonic ms */
  readonly startedAt: number;
  /** restarts so far: a result is of this restart's iterate */
  readonly restarts: number;
  /** w̄ at w^k, sparse (the best point a restart goes back to, if F(w^k) turns out the best) */
  readonly wbar: SparseVector;
  /** updates per shard when w^k was fixed (the divergence rule's full rounds) */
  readonly counts: Uint32Array;
  /** a checkpoint of exactly this state, to write once F is known (null: none due) */
  readonly snapshot: Checkpoint | null;
}

/**
 * One evaluation round: F(w^k) = Σ_i π_i f_i(w^k) + λ1‖w^k‖₁ computed exactly from every shard's
 * f_i, so the master never needs the data in one place. A round waits for every shard; a shard whose
 * worker dies is asked again when its replacement is ready. The round owns the snapshot of the state
 * it judges: it is written with F when the round completes, or without F if the round is stuck
 * (takeSnapshot), never twice.
 */
export class EvalRound {
  private readonly fi: Float64Array;
  private readonly correct: Float64Array;
  private readonly got: Uint8Array;
  private remaining: number;
  readonly id: number;
  readonly k: number;
  readonly w: SparseVector;
  readonly startedAt: number;
  readonly restarts: number;
  readonly wbar: SparseVector;
  readonly counts: Uint32Array;
  private readonly pi: Float64Array;
  private snapshot: Checkpoint | null;

  constructor(start: RoundStart) {
    this.id = start.id;
    this.k = start.k;
    this.w = start.w;
    this.startedAt = start.startedAt;
    this.restarts = start.restarts;
    this.wbar = start.wbar;
    this.counts = start.counts;
    this.snapshot = start.snapshot;
    const pi = (this.pi = start.pi);
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

  /** The f_i recorded so far, by shard (read-only: for checking a total that does not add up). */
  get values(): Readonly<Float64Array> {
    return this.fi;
  }

  /** The round's checkpoint, handed out once (null if none was due or it was taken already). */
  takeSnapshot(): Checkpoint | null {
    const s = this.snapshot;
    this.snapshot = null;
    return s;
  }

  get hasSnapshot(): boolean {
    return this.snapshot !== null;
  }

  /**
   * F(w) = Σ π_i f_i(w) + λ1‖w‖₁ (compensated sum); coordinates ≥ unpenalizedFrom (the intercept)
   * are not in the ℓ1 term.
   */
  objective(lambda1: number, unpenalizedFrom = this.w.n): number {
    const sum = new CompensatedSum();
    for (let i = 0; i < this.pi.length; i++) sum.add(this.pi[i] * this.fi[i]);
    return sum.value + l1PenaltySparse(this.w.idx, this.w.val, lambda1, unpenalizedFrom);
  }

  /** Training accuracy of w over all shards. */
  accuracy(m: number): number {
    let c = 0;
    for (let i = 0; i < this.correct.length; i++) c += this.correct[i];
    return c / m;
  }
}
