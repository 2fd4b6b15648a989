import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { SodaError } from '@soda/core';
import type { Checkpoint, MasterConfig } from '@soda/master';
import { LOG_MSG } from '@soda/protocol';
import { exitCodeFor } from './exit-codes';

/**
 * --resume: `off` starts afresh; `on` (the bare flag) continues from the checkpoint, which must exist;
 * `auto` continues when it exists and starts afresh when it does not: one command line a supervisor
 * can repeat (first start, restart after a crash, restart of a run that is over).
 */
export type ResumeMode = 'off' | 'on' | 'auto';

export function resumeMode(value: unknown): ResumeMode {
  if (value === undefined || value === false || value === 'false' || value === '0') return 'off';
  // '' is the bare flag (`--resume` with no value)
  if (value === true || value === '' || value === 'true' || value === '1') return 'on';
  if (value === 'auto') return 'auto';
  throw new SodaError(
    'E_CONFIG',
    `--resume ${String(value)}: give it no value (continue from --checkpoint, which must exist) or ` +
      "'auto' (continue when the checkpoint exists, start afresh when it does not)",
  );
}

/**
 * The checkpoint to continue from, or undefined to start afresh. A master without data (the workers
 * hold it) restores it once the workers' stats round has rebuilt n, the π_i and the scale.
 */
export async function resumeFrom(
  mode: ResumeMode,
  file: string,
  log: Logger,
): Promise<{ file: string; checkpoint: Checkpoint } | undefined> {
  if (mode === 'off') return undefined;
  if (mode === 'auto' && !existsSync(file)) {
    log.info({ file }, 'no checkpoint yet: starting afresh (--resume auto)');
    return undefined;
  }
  const { readCheckpoint } = await import('@soda/master');
  const checkpoint = readCheckpoint(file);
  return { file, checkpoint };
}

/**
 * A resumed run that is already over: its summary again and the exit code it had, at once (no port,
 * no workers). null when there is nothing finished to replay. A checkpoint of another run is refused.
 */
export async function replayFinished(cfg: MasterConfig): Promise<number | null> {
  if (cfg.resume === undefined) return null;
  const { finishedRun } = await import('@soda/master');
  const { file, checkpoint } = cfg.resume;
  const end = finishedRun(cfg, checkpoint, file);
  if (end === null) return null;
  const { runId, k, createdAt } = checkpoint.meta;
  cfg.logger.info(
    { file, runId, k, reason: end.reason, finishedAt: createdAt },
    `this run is already over (${end.reason}): its summary again. To train again, start a new run ` +
      '(another --checkpoint or --out, or delete this checkpoint)',
  );
  cfg.logger.info({ ...end.summary, replayed: true }, LOG_MSG.summary);
  return exitCodeFor(end, end.tol);
}
