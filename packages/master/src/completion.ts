import type { SparseVector } from '@soda/core';
import { withEvaluated, type Checkpoint } from './checkpoint';
import type { MasterConfig } from './config';
import type { Command } from './events';
import { summaryOf, type Evaluated } from './outputs';
import type { RunState } from './run-state';

/** w = 0 in no dimension: the model of a run without data that never finished its stats round. */
const NO_MODEL: SparseVector = { n: 0, idx: new Uint32Array(0), val: new Float64Array(0) };

/**
 * The `finish` command of a run that is over: the final w, F when the last evaluation judged that very
 * w (`current`), the final checkpoint (none when training never started: an older checkpoint on disk
 * is then kept as is) and the summary.
 */
export function finishCommand(
  cfg: MasterConfig,
  run: RunState,
  o: {
    readonly reason: string;
    readonly last: Evaluated | null;
    readonly current: Evaluated | null;
    readonly elapsedMs: number;
    readonly writeCheckpoint: boolean;
  },
): Extract<Command, { type: 'finish' }> {
  const { reason, last, current, elapsedMs } = o;
  const w = run.hasModel ? run.model.current() : NO_MODEL;
  let checkpoint: Checkpoint | null = null;
  if (o.writeCheckpoint) {
    const ck = run.snapshot(elapsedMs);
    checkpoint = current ? withEvaluated(ck, current.objective, current.subopt) : ck;
  }
  return {
    type: 'finish',
    outcome: {
      reason,
      objective: last?.objective ?? null,
      subopt: last?.subopt ?? null,
      updates: run.stats.updates,
    },
    w,
    modelObjective: current?.objective ?? null,
    checkpoint,
    summary: summaryOf(cfg, run, w, last, reason, elapsedMs),
  };
}
