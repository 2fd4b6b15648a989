import type { SparseVector } from '@soda/core';
import type { EvalRound } from './eval-round';
import type { Logger } from 'pino';
import type { ProgressRecord, StartRecord, SummaryRecord } from '@soda/protocol';
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
  /** Scores on held-out examples, when the run has a test set. */
  readonly testAccuracy?: number;
  readonly testLogLoss?: number;
}

/**
 * The support of w among the features: the intercept (coordinates ≥ model.unpenalizedFrom) is not a
 * feature, so neither the count nor the denominator includes it.
 */
export function featureSupport(run: RunState, w: SparseVector): { nnz: number; n: number; pct: number } {
  const n = run.model.unpenalizedFrom;
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
    m: cfg.data.X.rows,
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
  const { model, stats } = run;
  const support = featureSupport(run, w);
  return {
    reason,
    objective: last?.objective ?? null,
    fstar: cfg.fstar ?? null,
    subopt: last?.subopt ?? null,
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
      dataHash: cfg.dataHash,
      objective,
      ...(cfg.unpenalizedFrom !== undefined ? { unpenalizedFrom: cfg.unpenalizedFrom } : {}),
      ...(cfg.scale ? { scale: Array.from(cfg.scale) } : {}),
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
