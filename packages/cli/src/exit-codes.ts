/**
 * Every exit code of `soda`, documented in README ("Exit codes"). 0 means the run truly reached its
 * target: anything that stopped short, or failed to leave its outputs behind, says so.
 */
export const EXIT = Object.freeze({
  /**
   * done: the run reached --tol (or ran its whole budget when --tol is 0) and wrote its outputs;
   * also a graceful stop on SIGTERM/SIGINT (summary.reason 'signal …'; continue with --resume)
   */
  OK: 0,
  /** unexpected failure (a bug, or an error SODA does not classify) */
  FAILURE: 1,
  /** bad configuration or input: the message names the option or the file:line */
  BAD_INPUT: 2,
  /** the run diverged (and restarts were exhausted or --on-divergence stop) */
  DIVERGED: 3,
  /** --max-time or --max-epochs stopped the run before it reached --tol */
  BUDGET: 4,
  /** the model or the final checkpoint could not be written (disk full, permissions) */
  OUTPUT: 5,
  /** --wait-timeout passed before enough workers joined */
  NO_WORKERS: 6,
});

/** What the master's result must carry for the exit code (a subset of MasterResult). */
export interface RunOutcome {
  readonly reason: string;
  readonly summary?: { readonly writeErrors?: readonly string[] };
}

/**
 * The exit code of a finished master. `summary.writeErrors` (a non-empty array) marks an output that
 * failed; `reason` is 'tol', 'max-time', 'max-epochs', 'diverged', 'wait-timeout' or 'signal SIG…'.
 */
export function exitCodeFor(result: RunOutcome, tol: number): number {
  const writeErrors = result.summary?.writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0) return EXIT.OUTPUT;
  const reason = result.reason;
  // 'tol-gap': the certified duality gap reached --tol-gap (or --tol without F*): the target too
  if (reason === 'tol' || reason === 'tol-gap') return EXIT.OK;
  if (reason === 'diverged') return EXIT.DIVERGED;
  if (reason === 'wait-timeout') return EXIT.NO_WORKERS;
  if (reason === 'max-time' || reason === 'max-epochs') return tol > 0 ? EXIT.BUDGET : EXIT.OK;
  // SIGTERM/SIGINT is the operator's graceful stop (docker stop, Ctrl-C): outputs and the final
  // checkpoint are written and --resume continues; the summary's reason says it was a signal.
  if (reason.startsWith('signal ')) return EXIT.OK;
  return EXIT.FAILURE;
}
