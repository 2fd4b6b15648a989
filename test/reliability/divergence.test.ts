import * as path from 'node:path';
import {
  defaultStepSize,
  logisticSmoothness,
  selectRows,
  shardContiguous,
  writeLibsvm,
  type Dataset,
} from '@soda/core';
import { Master, readCheckpoint, type MasterOptions } from '@soda/master';
import { Worker } from '@soda/worker';
import { masterConfig, memoryLogger, runCluster, workerConfig } from '../helpers/cluster';
import { plantedProblem, proxGradientOptimum } from '../helpers/problems';
import { freePort, killAll, masterArgs, Proc, tempDir, worker } from './helpers/procs';

/*
 * Divergence (paper §4, Fig. 2). What we found, and what these tests pin down:
 *  - With γ ≤ 2/(μ+L) we could not make SODA diverge on ℓ1+ℓ2 logistic regression, whatever p: on
 *    400 random small problems (ill-conditioned, heterogeneous shards, p down to 0.001) it always
 *    converged, small p only slowly. There is a reason: every w_i is a gradient step from some
 *    earlier w, so ‖w^k‖∞ ≤ max|x|/λ2 for ever (the logistic gradient is bounded and the ℓ2 part
 *    contracts) — the iterates cannot run off to infinity.
 *  - With a step size beyond the bound it does diverge: at γ = 6·2/(μ+L), p = 0.001, the objective
 *    climbs from 0.69 to 6 within 250 updates (at 3–4× the bound runs oscillate without converging
 *    or climbing; at 2× they converge). That is the divergence these tests provoke: detection, then a
 *    restart from the best evaluated point with p ← √p and γ ← 2/(μ+L), which converges.
 *  - Healthy runs (γ = 2/(μ+L), any p, stragglers, evaluations after every few updates) never trip
 *    the rule.
 */

const lambda1 = 0.01;
const lambda2 = 0.05;
const data = plantedProblem(21, 400, 40);
const { fstar } = proxGradientOptimum(data, lambda1, lambda2, 1, 3000);

/** 2/(μ + max L_i) for the contiguous shards runCluster uses (what the master derives from the workers). */
function safeGamma(ds: Dataset, M: number, parts = shardContiguous(ds.X.rows, M)): number {
  const L = Math.max(...parts.map((rows) => logisticSmoothness(selectRows(ds.X, rows), lambda2)));
  return defaultStepSize(lambda2, L);
}

const warnings = (lines: Record<string, unknown>[], what: string) =>
  lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(what));

describe('divergence, in process', () => {
  const g = safeGamma(data, 4);

  it('γ = 6·2/(μ+L), p = 0.001 diverges; it is detected and the run restarts from its best point with p = √p, γ = 2/(μ+L), and converges', async () => {
    const dir = tempDir('div');
    const file = path.join(dir, 'ck.soda');
    const common = { fstar, lambda1, lambda2, evalEveryUpdates: 50, tol: 1e-9 } as const;
    const run = await runCluster(data, {
      ...common,
      p: 0.001,
      gamma: 6 * g,
      checkpoint: { file, everyMs: 0 },
    } as Partial<MasterOptions>);
    const detected = warnings(run.lines, 'divergence detected');
    expect(detected).toHaveLength(1);
    // detected as a real climb: the objective is far above the best of a full round before
    expect(detected[0].objective as number).toBeGreaterThan(1.1 * (detected[0].reference as number));
    const restart = warnings(run.lines, 'restart from the best evaluated point')[0];
    expect(restart.p as number).toBeCloseTo(Math.sqrt(0.001), 12);
    expect(restart.gamma as number).toBeCloseTo(g, 12);
    // it went back to the best evaluation before the climb
    const before = run.lines.filter((l) => l.msg === 'progress' && (l.restarts as number) === 0);
    const best = Math.min(...before.map((l) => l.objective as number));
    expect(restart.fromObjective).toBe(best);
    // the first evaluation after the restart is (nearly) that point again: same w̄⁰, a smaller γ
    // only changes the prox threshold γλ1
    const after = run.lines.filter((l) => l.msg === 'progress' && l.restarts === 1);
    expect(after[0].p).toBe(restart.p);
    expect(after[0].objective as number).toBeLessThan(detected[0].objective as number);
    expect(run.result.reason).toBe('tol');
    expect(run.result.subopt!).toBeLessThanOrEqual(1e-9);
    const summary = run.lines.find((l) => l.msg === 'summary')!;
    expect(summary).toMatchObject({ restarts: 1, p: restart.p, gamma: restart.gamma });
    // w̄ = Σ π_i w_i still holds after the reset of every w_i
    const { model } = run.master;
    const wis = [0, 1, 2, 3].map((i) => model.wiDense(i));
    for (let j = 0; j < model.n; j++) {
      let s = 0;
      for (let i = 0; i < 4; i++) s += model.pi[i] * wis[i][j];
      expect(Math.abs(model.wbarAt(j) - s)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(s)));
    }
    // the final checkpoint remembers the restart (a resumed run keeps the raised p and halved γ)
    const ck = readCheckpoint(file);
    expect(ck.meta).toMatchObject({ restarts: 1, p: restart.p, gamma: restart.gamma, p0: 0.001 });
    console.log(
      `diverged at k = ${detected[0].k} (F = ${detected[0].objective}, reference ${detected[0].reference}); ` +
        `restart from F = ${restart.fromObjective} with p = ${restart.p}; tol at k = ${summary.k}`,
    );
  });

  it('--on-divergence stop: the run ends as diverged, without restarting', async () => {
    const run = await runCluster(data, {
      fstar,
      lambda1,
      lambda2,
      p: 0.001,
      gamma: 6 * g,
      evalEveryUpdates: 50,
      onDivergence: 'stop',
    } as Partial<MasterOptions>);
    expect(run.result.reason).toBe('diverged');
    expect(warnings(run.lines, 'divergence detected')[0].msg).toMatch(/; stopping$/);
    expect(run.lines.find((l) => l.msg === 'summary')).toMatchObject({ restarts: 0, p: 0.001 });
  });

  it('healthy runs never trip the rule: γ = 2/(μ+L), p from 1 to 0.01, κ ≈ 100, a straggler, an evaluation every 5 updates', async () => {
    // an ill-conditioned version of the problem (λ2 = 0.002): thousands of updates, much wandering
    const mu = 0.002;
    const L = logisticSmoothness(data.X, mu);
    const opt = proxGradientOptimum(data, lambda1, mu, defaultStepSize(mu, L), 4000);
    for (const p of [1, 0.3, 0.03, 0.01]) {
      const { logger, lines } = memoryLogger();
      const over = { logger, fstar: opt.fstar, lambda1, lambda2: mu, p, evalEveryUpdates: 5, tol: 1e-8 };
      const master = await Master.start(masterConfig(data, over));
      // one worker much slower than the others: stale updates, uneven rounds
      const ws = [0, 1, 2, 3].map((i) =>
        Worker.start(workerConfig(master.port, i === 0 ? { delayMs: 2 } : {})),
      );
      const result = await master.done;
      await Promise.all(ws.map((w) => w.done));
      expect(warnings(lines, 'divergence detected')).toHaveLength(0);
      expect(result.reason).toBe('tol');
      const progress = lines.filter((l) => l.msg === 'progress');
      expect(progress.length).toBeGreaterThan(50);
      // the runs were not monotone: the rule had something to tolerate
      const rises = progress.filter(
        (l, i) => i > 0 && (l.objective as number) > (progress[i - 1].objective as number),
      );
      console.log(
        `p = ${p}: ${progress.length} evaluations, ${rises.length} rises, tol at k = ${result.updates}`,
      );
    }
  });
});

describe('divergence, real processes', () => {
  const procs: Proc[] = [];
  afterAll(() => killAll(procs));

  it('soda master --on-divergence stop exits with code 3', async () => {
    const dir = tempDir('div-cli');
    // the in-process problem, as a file the master reads as is (no scaling, contiguous shards)
    const file = path.join(dir, 'planted.svm');
    await writeLibsvm(file, data);
    const port = await freePort();
    const args = masterArgs({
      data: file,
      out: dir,
      port,
      workers: 4,
      delayMs: 0,
      lambda1,
      lambda2,
      p: 0.001,
    });
    args.push('--no-normalize', '--no-shuffle', '--fstar', String(fstar), '--eval-every-updates', '50');
    args.push('--gamma', String(6 * safeGamma(data, 4)), '--on-divergence', 'stop');
    const master = new Proc('master', args);
    procs.push(master);
    for (const n of ['a', 'b', 'c', 'd'])
      procs.push(worker(n, `ws://127.0.0.1:${port}`, ['--give-up', '30']));
    const { code } = await master.exited;
    const summary = master.lines.find((l) => l.msg === 'summary')!;
    expect(summary.reason).toBe('diverged');
    expect(code).toBe(3);
    expect(master.lines.some((l) => String(l.msg).startsWith('divergence detected'))).toBe(true);
  });
});
