import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import { readCheckpoint } from '@soda/master';
import { freePort, killAll, masterArgs, Proc, problemFile, tempDir, worker } from './helpers/procs';

/*
 * `soda master --resume auto`: the one command line a supervisor repeats (Compose/Swarm restart on
 * failure, a Kubernetes Job's OnFailure). The same command, three times on one checkpoint path: it
 * starts afresh, resumes after a SIGKILL, and — once the run is over — prints the summary again and
 * exits with the code it had, at once, without waiting for workers.
 */

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

function track<T extends Proc>(p: T): T {
  procs.push(p);
  return p;
}

/** Run `args` to its exit; returns the process and its wall time (ms). */
async function timed(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ p: Proc; ms: number; code: number | null }> {
  const t0 = performance.now();
  const p = track(new Proc(name, args, env));
  const { code } = await p.exited;
  return { p, ms: performance.now() - t0, code };
}

describe('soda master --resume auto (real processes)', () => {
  it('the same command three times: trains, resumes after SIGKILL to the target, then replays the summary at once', async () => {
    const dir = tempDir('resume-auto');
    const data = await problemFile(dir);
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}`;
    const ckFile = path.join(dir, 'run.ckpt');
    // the CLI's defaults (intercept on); a loose target, 10 ms per step: a few seconds of training
    const command = (lambda2: number, algo: string) => [
      ...masterArgs({
        data,
        out: dir,
        port,
        workers: 2,
        lambda1: 1e-3,
        lambda2,
        tol: 1e-4,
        delayMs: 10,
        intercept: true,
      }),
      ...['--algo', algo, '--checkpoint', ckFile, '--checkpoint-every', '0.3', '--resume', 'auto'],
    ];
    const args = command(1e-4, 'soda');

    // 1. no checkpoint yet: a fresh run
    const first = track(new Proc('master-1', args));
    await first.waitFor(
      (l) => l.msg === 'no checkpoint yet: starting afresh (--resume auto)',
      30000,
      'fresh',
    );
    const workers = ['a', 'b'].map((n) => track(worker(n, url, ['--give-up', '60'])));
    expect(await first.waitFor((l) => l.msg === 'start', 30000, 'start')).toMatchObject({
      resumed: false,
      k: 0,
    });
    await first.waitFor((l) => l.msg === 'checkpoint written' && (l.k as number) > 100, 30000, 'checkpoints');
    first.signal('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(first.msg('summary')).toHaveLength(0);
    const killed = readCheckpoint(ckFile);
    expect(killed.meta.end).toBeUndefined(); // a run killed mid-way is not over

    // 2. the same command: resumes from the checkpoint, the workers find it, the run reaches its target
    const second = track(new Proc('master-2', args));
    const resumed = await second.waitFor((l) => l.msg === 'resuming from checkpoint', 30000, 'resume');
    expect(resumed).toMatchObject({ k: killed.meta.k, runId: killed.meta.runId });
    const summary = await second.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-4);
    expect(summary.k as number).toBeGreaterThan(killed.meta.k);
    for (const w of workers) expect(await w.exited).toEqual({ code: 0, signal: null });
    const final = readCheckpoint(ckFile);
    expect(final.meta.k).toBe(summary.k);
    expect(final.meta.end).toMatchObject({ reason: 'tol', tol: 1e-4 });

    // 3. the same command once more: the run is over; no port, no workers, the summary again, exit 0
    const third = await timed('master-3', args);
    expect(third.code).toBe(0);
    expect(third.ms).toBeLessThan(5000);
    expect(third.p.lines.some((l) => String(l.msg).startsWith('waiting for workers'))).toBe(false);
    const again = third.p.msg('summary');
    expect(again).toHaveLength(1);
    const { time: _t1, pid: _p1, replayed, ...replay } = again[0];
    const { time: _t2, pid: _p2, ...orig } = summary;
    expect(replayed).toBe(true);
    expect(replay).toEqual(orig);
    console.log(
      `resume auto: killed at k = ${killed.meta.k}; resumed to k = ${summary.k as number}, subopt ` +
        `${summary.subopt as number}; the finished run replayed in ${Math.round(third.ms)} ms`,
    );

    // 4. other settings on the finished checkpoint: refused by name (exit 2), not replayed
    const other = await timed('master-other', command(2e-4, 'dave-pg'));
    expect(other.code).toBe(2);
    expect(other.p.stderr).toMatch(/run\.ckpt belongs to another run/);
    expect(other.p.stderr).toMatch(/lambda2 0\.0001 vs this run's 0\.0002/);
    expect(other.p.stderr).toMatch(/algo soda vs this run's dave-pg/);
    expect(other.p.msg('summary')).toHaveLength(0);
  });

  it('a run that ended short of its target replays its exit code (max-epochs: 4); sync-pg without intercept', async () => {
    const dir = tempDir('resume-auto-budget');
    const data = await problemFile(dir);
    const port = await freePort();
    const base = [
      ...masterArgs({ data, out: dir, port, workers: 2, delayMs: 0, tol: 1e-12 }),
      ...['--algo', 'sync-pg', '--max-epochs', '3'],
    ];
    const first = track(new Proc('master-1', [...base, '--resume', 'auto']));
    await first.waitFor((l) => String(l.msg).startsWith('waiting for workers'), 30000, 'listening');
    const ws = ['a', 'b'].map((n) => track(worker(n, `ws://127.0.0.1:${port}`, ['--give-up', '30'])));
    expect((await first.exited).code).toBe(4);
    const summary = first.msg('summary')[0];
    expect(summary.reason).toBe('max-epochs');
    for (const w of ws) expect((await w.exited).code).toBe(0);
    expect(readCheckpoint(path.join(dir, 'checkpoint.soda')).meta.end?.reason).toBe('max-epochs');

    // SODA_RESUME=auto is the same as the flag (the compose and Kubernetes files set it so)
    const again = await timed('master-2', base, { SODA_RESUME: 'auto' });
    expect(again.code).toBe(4);
    expect(again.ms).toBeLessThan(5000);
    expect(again.p.msg('summary')[0]).toMatchObject({ reason: 'max-epochs', k: summary.k, replayed: true });

    // the bare flag keeps its meaning: a checkpoint must exist
    const none = await timed('master-none', [
      ...base,
      '--checkpoint',
      path.join(dir, 'none.soda'),
      '--resume',
    ]);
    expect(none.code).toBe(2);
    expect(none.p.stderr).toMatch(/none\.soda does not exist; --resume needs the checkpoint/);
  });
});

describe('soda worker --give-up (real processes)', () => {
  it('a worker that reaches no master for S seconds exits non-zero, saying so', async () => {
    const port = await freePort(); // nothing listens there
    const t0 = performance.now();
    const w = track(worker('lonely', `ws://127.0.0.1:${port}`, ['--give-up', '1']));
    const { code } = await w.exited;
    const ms = performance.now() - t0;
    expect(code).not.toBe(0);
    expect(w.stderr).toMatch(
      new RegExp(
        `could not reach the master at ws://127\\.0\\.0\\.1:${port} for 1000 ms \\(last error: .*ECONNREFUSED`,
      ),
    );
    expect(ms).toBeGreaterThan(1000); // it did retry for the whole second
  });
});
