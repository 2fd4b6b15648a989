import type { GapResult, SparseVector } from '@soda/core';
import type { EvalResult } from '@soda/protocol';
import type { MasterConfig } from './config';
import { chooseStopRule, GapRound, stopReached, type StopRule } from './data-at-scale';
import type { Shard } from './shards';

/**
 * A round asks the workers for fresh gap parts (each an O(|cols_i|) upload, and an O(Σ_i |u_i|) merge on the
 * master) once every this many rounds; the rounds between certify with the best dual value so far.
 */
export const FRESH_DUAL_EVERY = 4;

/**
 * The duality gap in the evaluation rounds, and the stopping rule. When λ2 > 0 the gap certifies
 * F − F* with or without F* (with the data on the master it sits beside the suboptimality); the rule
 * is chosen once (chooseStopRule). Weak duality, D(θ) ≤ F* for every θ, makes the best dual value
 * found so far a certificate for every later w: gap = F(w^k) − max_r D(θ_r) ≥ F(w^k) − F*. So only one
 * round in FRESH_DUAL_EVERY asks the workers for their gap parts; every round reports a certified gap.
 */
export class GapEvaluation {
  private readonly stop: { rule: StopRule; describe: string };
  private round: GapRound | null = null;
  /** the first coordinate without λ1 (the intercept's; n without one), fixed with the round */
  private unpenalizedFrom = 0;
  /** max D(θ) over the fresh rounds so far (a lower bound on F*), −∞ before the first */
  private bestDual = -Infinity;
  private sinceFresh = Infinity;

  constructor(private readonly cfg: MasterConfig) {
    this.stop = chooseStopRule({
      fstar: cfg.fstar,
      tol: cfg.tol,
      lambda2: cfg.lambda2,
      ...(cfg.tolGap !== undefined ? { tolGap: cfg.tolGap } : {}),
    });
  }

  /** The rule in words, for the start line. */
  get describe(): string {
    return this.stop.describe;
  }

  /**
   * A new evaluation round over `shards` (their m_i weigh the parts), for the problem of dimension n
   * whose coordinates ≥ unpenalizedFrom (the intercept) are not ℓ1-penalised: ModelState's, the same
   * split the round's F uses, so F and D are of one problem. Fresh gap parts one round in
   * FRESH_DUAL_EVERY; the rounds between certify with the best dual so far.
   */
  open(n: number, unpenalizedFrom: number, shards: readonly Shard[]): void {
    this.unpenalizedFrom = unpenalizedFrom;
    const fresh = this.cfg.lambda2 > 0 && this.sinceFresh >= FRESH_DUAL_EVERY - 1;
    this.sinceFresh = fresh ? 0 : this.sinceFresh + 1;
    this.round = fresh
      ? new GapRound(
          n,
          shards.map((s) => ({ m: s.m, nnz: 0 })),
        )
      : null;
  }

  /** The eval frame of round `id` at w, asking for the gap parts when there is a gap. */
  frame(id: number, w: SparseVector) {
    return { t: 'eval', id, w, ...(this.round ? { gap: true } : {}) } as const;
  }

  /**
   * Why `r` is refused (its worker then expelled): it lacks the parts this round asked for, or they
   * cannot be true (GapRound.implausible); null when they are fine or no gap was asked for.
   */
  refusal(r: EvalResult): { reason: string; field: 'entropy' | 'u' } | null {
    if (this.round === null) return null;
    if (r.entropy === undefined || r.u === undefined)
      return { reason: `evalResult without the gap's parts (entropy, u)`, field: 'entropy' };
    // the rows are max-abs scaled (|x| ≤ 1): the master's own when it has a scale, else the stats round's
    const unitRows = this.cfg.data === null ? this.cfg.normalize !== false : this.cfg.scale !== undefined;
    return this.round.implausible(r.shard, r.entropy, r.u, unitRows);
  }

  add(r: EvalResult): void {
    this.round?.add(r);
  }

  /**
   * D (the best so far) and the gap F − D at the round's w: undefined without λ2, or before any fresh
   * round completed. The round must be complete.
   */
  result(objective: number): GapResult | undefined {
    const fresh = this.round?.result(objective, this.cfg.lambda1, this.cfg.lambda2, this.unpenalizedFrom);
    if (fresh !== undefined && fresh.dual > this.bestDual) this.bestDual = fresh.dual;
    if (!Number.isFinite(this.bestDual)) return fresh;
    const dual = this.bestDual;
    const gap = objective - dual;
    return { dual, gap, gapRel: gap / Math.abs(dual) };
  }

  /** The summary reason when the round's figures stop the run, else null. */
  stopReason(objective: number, subopt: number | null, gap: GapResult | undefined): string | null {
    if (!stopReached(this.stop.rule, objective, gap?.gapRel)) return null;
    return subopt !== null && subopt <= this.cfg.tol ? 'tol' : 'tol-gap';
  }
}
