import type { SummaryRecord } from '@soda/protocol';

/**
 * How a run ended, kept in its final checkpoint so that a supervisor restarting the same command
 * (`--resume auto`) finds the run over: the master prints the summary again and exits with the code
 * it had, at once, instead of waiting for workers that were told to stop long ago.
 */
export interface RunEnd {
  readonly reason: string;
  /** the target the exit code was judged against (--tol-gap, else --tol) */
  readonly tol: number;
  /** the summary line as it was logged (writeErrors included: the exit code depends on them) */
  readonly summary: SummaryRecord;
}

/**
 * Reasons that end a run for good. A signal (docker stop, Ctrl-C) or a --wait-timeout only pauses
 * it: a restart must continue training, so no end is recorded for them.
 */
const FINAL_REASONS: ReadonlySet<string> = new Set(['tol', 'tol-gap', 'max-time', 'max-epochs', 'diverged']);

/** The end to record for a run that stopped with `reason`, or null when it may go on. */
export function runEndOf(reason: string, tol: number, summary: SummaryRecord): RunEnd | null {
  return FINAL_REASONS.has(reason) ? { reason, tol, summary } : null;
}

/** A checkpoint's `end` as read from disk is a claim: its shape is checked before anything uses it. */
export function checkRunEnd(end: unknown, bad: (why: string) => never): asserts end is RunEnd {
  const e = end as Partial<RunEnd> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.reason !== 'string' ||
    !FINAL_REASONS.has(e.reason) ||
    typeof e.tol !== 'number' ||
    !(e.tol >= 0) ||
    typeof e.summary !== 'object' ||
    e.summary === null ||
    e.summary.reason !== e.reason ||
    !Array.isArray(e.summary.writeErrors)
  )
    bad(`has an invalid end record: ${JSON.stringify(end)?.slice(0, 200)}`);
}
