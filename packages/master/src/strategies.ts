import type { Update } from '@soda/protocol';
import type { SparseVector } from '@soda/core';
import type { ClaimVerdict } from './claims';

/** A Δ that fails the off-column claim check (support-history.ts): its worker is expelled. */
export interface Refused {
  readonly refused: Extract<ClaimVerdict, { ok: false }>;
}

/**
 * How the master applies the Δ it receives: the algorithm variants (algo.ts's registry) differ here.
 *   soda, dave-pg: asynchronous — apply each Δ as it arrives, answer its worker alone.
 *   sync-pg:       a barrier — keep every shard's Δ computed at the same w^k, apply them all at
 *                  once, then broadcast the new w (synchronous proximal gradient).
 */
export interface ApplyStrategy {
  /**
   * A Δ from a ready shard, k already checked (≤ the master's). Returns the shards that should now
   * be sent w, null when nothing was applied (a sync round still waits, or the Δ is stale), or the
   * refusal of a Δ no honest worker sends (nothing of it is applied).
   */
  update(msg: Update): readonly number[] | null | Refused;
  /** May a shard that has just become ready (a takeover) be sent w at once? */
  modelOnTakeover(shard: number): boolean;
  /** A restart: forget whatever round is pending. */
  reset(): void;
}

/** What a strategy reads and changes of the run (RunState has it; named here so no import cycle forms). */
export interface StrategyHost {
  readonly model: { readonly k: number };
  readonly shards: { readonly size: number };
  readonly stats: { recordDelay(d: number): void };
  /** w̄ += π_i Δ, w_i += Δ, w = prox(w̄) */
  apply(shard: number, delta: SparseVector): void;
  /** apply(), unless Δ fails the off-column claim check: then nothing changes */
  applyChecked(shard: number, delta: SparseVector): ClaimVerdict;
  /** the off-column claim check alone (for a Δ kept to apply later) */
  check(shard: number, delta: SparseVector): ClaimVerdict;
}

/** Algorithm 1 as in the paper: w̄ ← w̄ + π_i Δ at once, whatever model number Δ was computed from. */
export class AsyncApply implements ApplyStrategy {
  constructor(private readonly run: StrategyHost) {}

  update(msg: Update): readonly number[] | Refused {
    const delay = this.run.model.k - msg.k;
    const verdict = this.run.applyChecked(msg.shard, msg.delta);
    if (!verdict.ok) return { refused: verdict };
    this.run.stats.recordDelay(delay);
    return [msg.shard];
  }

  modelOnTakeover(): boolean {
    return true;
  }

  reset(): void {}
}

/** The sync-pg barrier: one Δ per shard, all from the same w^k. */
export class SyncBarrier implements ApplyStrategy {
  private readonly deltas: (Update | null)[];

  constructor(private readonly run: StrategyHost) {
    this.deltas = Array.from({ length: run.shards.size }, () => null);
  }

  update(msg: Update): readonly number[] | null | Refused {
    // checked as it arrives (at the barrier a refusal could no longer leave the round unapplied), and
    // whether it is kept or not: a liar is expelled either way
    const verdict = this.run.check(msg.shard, msg.delta);
    if (!verdict.ok) return { refused: verdict };
    // Computed from an older w (before the last barrier), or a second Δ in one round: dropped.
    if (msg.k !== this.run.model.k || this.deltas[msg.shard] !== null) return null;
    // Δ's indices live in the decoder's scratch until the next frame (Connections): keep a copy (its
    // values are a view of the frame's own buffer, which nothing reuses)
    const { n, idx, val } = msg.delta;
    this.deltas[msg.shard] = { ...msg, delta: { n, idx: idx.slice(), val } };
    if (this.deltas.some((d) => d === null)) return null;
    for (let i = 0; i < this.deltas.length; i++) {
      this.run.apply(i, this.deltas[i]!.delta);
      this.deltas[i] = null;
    }
    return this.deltas.map((_, i) => i);
  }

  /** A replacement whose predecessor's Δ is already in the round would only compute it twice. */
  modelOnTakeover(shard: number): boolean {
    return this.deltas[shard] === null;
  }

  reset(): void {
    this.deltas.fill(null);
  }
}
