import type { GapResult, SparseVector } from '@soda/core';
import type { EvalResult } from '@soda/protocol';
import type { MasterConfig } from './config';
import { chooseStopRule, GapRound, stopReached, type StopRule } from './data-at-scale';
import type { Shard } from './shards';

/**
 * The duality gap in the evaluation rounds, and the stopping rule. Every round asks each worker for
 * its gap parts whenever λ2 > 0 (the gap then certifies F − F* with or without F*, so with the data on
 * the master it sits beside the suboptimality); the rule is chosen once (chooseStopRule).
 */
export class GapEvaluation {
  private readonly stop: { rule: StopRule; describe: string };
  private round: GapRound | null = null;
  /** the first coordinate without λ1 (the intercept's; n without one), fixed with the round */
  private unpenalizedFrom = 0;

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
   * split the round's F uses, so F and D are of one problem.
   */
  open(n: number, unpenalizedFrom: number, shards: readonly Shard[]): void {
    this.unpenalizedFrom = unpenalizedFrom;
    this.round =
      this.cfg.lambda2 > 0
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

  /** D and the gap at the round's w (undefined without λ2); the round must be complete. */
  result(objective: number): GapResult | undefined {
    return this.round?.result(objective, this.cfg.lambda1, this.cfg.lambda2, this.unpenalizedFrom);
  }

  /** The summary reason when the round's figures stop the run, else null. */
  stopReason(objective: number, subopt: number | null, gap: GapResult | undefined): string | null {
    if (!stopReached(this.stop.rule, objective, gap?.gapRel)) return null;
    return subopt !== null && subopt <= this.cfg.tol ? 'tol' : 'tol-gap';
  }
}
