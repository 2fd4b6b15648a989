import { suboptimality, type SparseVector } from '@soda/core';
import type { EvalRound } from './eval-round';
import type { Holdout } from './holdout';
import type { Logger } from 'pino';
import type { ProgressRecord, StartRecord, SummaryRecord } from '@soda/protocol';
import type { GapResult } from '@soda/core';
import type { MasterConfig } from './config';
import { modelFileOf, writeModelFile } from '@soda/core';
import type { RunState } from './run-state';

/** F(w^k) of one evaluation round, and which state it judged. */
export interface Evaluated {
  readonly k: number;
  readonly restarts: number;
  readonly objective: number;
  readonly subopt: number | null;
  readonly accuracy: number;
  /** The duality gap at w (λ2 > 0): F − D ≥ F − F* */
  readonly gap?: GapResult;
  /** Scores on held-out examples, when the run has a test set. */
  readonly testAccuracy?: number;
  readonly testLogLoss?: number;
}

/** What a completed evaluation round found: F, the suboptimality (F* known), the gap, the accuracies. */
export function evaluatedOf(
  cfg: MasterConfig,
  round: EvalRound,
  m: number,
  objective: number,
  gap: GapResult | undefined,
  holdout: Holdout | null,
): Evaluated {
  return {
    k: round.k,
    restarts: round.restarts,
    objective,
    subopt: cfg.fstar !== undefined ? suboptimality(objective, cfg.fstar) : null,
    accuracy: round.accuracy(m),
    ...(gap ? { gap } : {}),
    ...holdout?.score(round.w),
  };
}

/**
 * The support of w among the features: the intercept (coordinates ≥ model.unpenalizedFrom) is not a
 * feature, so neither the count nor the denominator includes it.
 */
export function featureSupport(run: RunState, w: SparseVector): { nnz: number; n: number; pct: number } {
  // (a run without data that never finished its stats round has no model, and w is empty)
  const n = run.hasModel ? run.model.unpenalizedFrom : Math.max(w.n, 1);
  let nnz = 0;
  for (let t = 0; t < w.idx.length; t++) if (w.idx[t] < n && w.val[t] !== 0) nnz++;
  return { nnz, n, pct: (100 * nnz) / n };
}

/** The `start` log line: the run's settings and conditioning. */
export function startLine(cfg: MasterConfig, run: RunState, L: number): StartRecord {
  const mu = cfg.lambda2;
  return {
    algo: cfg.algo,
    p: run.p,
    workers: run.shards.size,
    dataset: cfg.dataName,
    m: run.m,
    n: run.model.unpenalizedFrom,
    intercept: run.model.unpenalizedFrom < run.model.n,
    lambda1: cfg.lambda1,
    lambda2: cfg.lambda2,
    L,
    mu,
    kappa: mu > 0 ? L / mu : null,
    gamma: run.model.gamma,
    fstar: cfg.fstar ?? null,
    tol: cfg.tol,
    k: run.model.k,
    resumed: !!cfg.resume,
    wirePrecision: cfg.wirePrecision,
  };
}

/** One `progress` log line per evaluation round (takes the delay statistics since the last one). */
export function progressLine(
  run: RunState,
  round: EvalRound,
  e: Evaluated,
  elapsedMs: number,
): ProgressRecord {
  const support = featureSupport(run, round.w);
  return {
    k: round.k,
    epoch: round.k / run.shards.size,
    objective: e.objective,
    subopt: e.subopt,
    ...(e.gap ? { gap: e.gap.gap, gapRel: e.gap.gapRel, dual: e.gap.dual } : {}),
    nnz: support.nnz,
    supportPct: support.pct,
    accuracy: e.accuracy,
    ...(e.testAccuracy !== undefined ? { testAccuracy: e.testAccuracy, testLogLoss: e.testLogLoss } : {}),
    ...run.stats.snapshot(),
    ...run.stats.takeDelays(),
    workers: run.shards.readyCount(),
    p: run.p,
    restarts: run.restarts,
    elapsedMs,
  };
}

/** The final `summary` log line. */
export function summaryOf(
  cfg: MasterConfig,
  run: RunState,
  w: SparseVector,
  last: Evaluated | null,
  reason: string,
  elapsedMs: number,
): SummaryRecord {
  const { stats } = run;
  // a run without data that never finished its stats round has no model
  const model = run.hasModel ? run.model : { k: 0, n: 1, gamma: 0 };
  const support = featureSupport(run, w);
  return {
    reason,
    objective: last?.objective ?? null,
    fstar: cfg.fstar ?? null,
    subopt: last?.subopt ?? null,
    ...(last?.gap ? { gap: last.gap.gap, gapRel: last.gap.gapRel } : {}),
    accuracy: last?.accuracy ?? null,
    testAccuracy: last?.testAccuracy ?? null,
    k: model.k,
    epochs: model.k / run.shards.size,
    ...stats.snapshot(),
    elapsedMs,
    nnz: support.nnz,
    supportPct: support.pct,
    algo: cfg.algo,
    p: run.p,
    restarts: run.restarts,
    workers: run.shards.size,
    gamma: model.gamma,
    modelOut: cfg.modelOut ?? null,
    checkpoint: cfg.checkpoint?.file ?? null,
    writeErrors: [],
  };
}

/**
 * Write the model file (durably). A failure is logged and returned, not thrown: the run's figures
 * stand, but the summary and the exit code must say the model is not on disk.
 */
export async function writeModel(
  cfg: MasterConfig,
  run: RunState,
  w: SparseVector,
  objective: number | null,
  summary: SummaryRecord,
  log: Logger,
): Promise<string | null> {
  if (cfg.modelOut === undefined) return null;
  try {
    const file = modelFileOf(w, {
      lambda1: cfg.lambda1,
      lambda2: cfg.lambda2,
      dataName: cfg.dataName,
      dataHash: run.dataHash,
      objective,
      // the intercept's column: cfg's when the master holds the data, the stats round's n otherwise
      ...(run.hasModel && run.model.unpenalizedFrom < run.model.n
        ? { unpenalizedFrom: run.model.unpenalizedFrom }
        : {}),
      // the scale the weights are in: the master's own, or the stats round's
      ...(run.scale ? { scale: run.scale } : {}),
      ...(cfg.featureNames ? { featureNames: [...cfg.featureNames] } : {}),
      training: {
        source: `soda ${summary.algo}`,
        reason: summary.reason,
        k: summary.k,
        epochs: summary.epochs,
        subopt: summary.subopt,
        accuracy: summary.accuracy,
        testAccuracy: summary.testAccuracy,
      },
    });
    await writeModelFile(cfg.modelOut, file);
    return null;
  } catch (e) {
    const err = (e as Error).message;
    log.error({ err, file: cfg.modelOut }, 'could not write the model');
    return err;
  }
}
