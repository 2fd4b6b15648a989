import { countNonZeros, type SparseVector } from '@soda/core';
import { suboptimality, type EvalRound } from './eval-round';
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

/** The `start` log line: the run's settings and conditioning. */
export function startLine(cfg: MasterConfig, run: RunState, L: number): StartRecord {
  const mu = cfg.lambda2;
  return {
    algo: cfg.algo,
    p: run.p,
    workers: run.shards.size,
    dataset: cfg.dataName,
    m: run.m,
    n: run.model.n,
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
  };
}

/** One `progress` log line per evaluation round (takes the delay statistics since the last one). */
export function progressLine(
  run: RunState,
  round: EvalRound,
  e: Evaluated,
  elapsedMs: number,
): ProgressRecord {
  const nnz = countNonZeros(round.w.val);
  return {
    k: round.k,
    epoch: round.k / run.shards.size,
    objective: e.objective,
    subopt: e.subopt,
    ...(e.gap ? { gap: e.gap.gap, gapRel: e.gap.gapRel, dual: e.gap.dual } : {}),
    nnz,
    supportPct: (100 * nnz) / run.model.n,
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
    nnz: w.idx.length,
    supportPct: (100 * w.idx.length) / model.n,
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
      // the scale the weights are in: the master's own, or the stats round's
      ...(run.scale ? { scale: Array.from(run.scale) } : {}),
    });
    await writeModelFile(cfg.modelOut, file);
    return null;
  } catch (e) {
    const err = (e as Error).message;
    log.error({ err, file: cfg.modelOut }, 'could not write the model');
    return err;
  }
}
