import { EXIT, exitCodeFor } from '../src/exit-codes';

describe('exit codes', () => {
  it('0 only for a run that reached its target', () => {
    expect(exitCodeFor({ reason: 'tol' }, 1e-8)).toBe(EXIT.OK);
    // the certified duality gap reached --tol-gap (or --tol without F*)
    expect(exitCodeFor({ reason: 'tol-gap' }, 1e-8)).toBe(EXIT.OK);
    expect(exitCodeFor({ reason: 'max-time' }, 1e-8)).toBe(EXIT.BUDGET);
    expect(exitCodeFor({ reason: 'max-epochs' }, 1e-8)).toBe(EXIT.BUDGET);
    // --tol 0: the budget was the target
    expect(exitCodeFor({ reason: 'max-epochs' }, 0)).toBe(EXIT.OK);
    expect(exitCodeFor({ reason: 'diverged' }, 1e-8)).toBe(EXIT.DIVERGED);
    expect(exitCodeFor({ reason: 'wait-timeout' }, 1e-8)).toBe(EXIT.NO_WORKERS);
    // the operator's graceful stop (docker stop): outputs written, --resume continues
    expect(exitCodeFor({ reason: 'signal SIGTERM' }, 1e-8)).toBe(EXIT.OK);
    expect(exitCodeFor({ reason: 'something else' }, 1e-8)).toBe(EXIT.FAILURE);
  });

  it('a failed model or final-checkpoint write wins over everything: exit 5', () => {
    expect(exitCodeFor({ reason: 'tol', summary: { writeErrors: ['model: ENOSPC'] } }, 1e-8)).toBe(
      EXIT.OUTPUT,
    );
    expect(exitCodeFor({ reason: 'tol', summary: { writeErrors: [] } }, 1e-8)).toBe(EXIT.OK);
  });
});
