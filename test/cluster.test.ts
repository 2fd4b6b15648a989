import { proxL1, smoothValueGrad } from '@soda/core';
import { plantedProblem, proxGradientOptimum } from './helpers/problems';
import { runCluster } from './helpers/cluster';

const lambda1 = 0.01;
const lambda2 = 0.05;
const data = plantedProblem(21, 400, 40);
const { w: wStar, fstar } = proxGradientOptimum(data, lambda1, lambda2, 1, 3000);

function progress(lines: Record<string, unknown>[]) {
  return lines.filter((l) => l.msg === 'progress');
}

describe('SODA over real WebSockets, M = 4 workers in one process', () => {
  it('SODA (p = 0.5) and DAve-PG (p = 1) both reach suboptimality 1e−10; SODA sends fewer coordinates up', async () => {
    const soda = await runCluster(data, { algo: 'soda', p: 0.5, fstar, lambda1, lambda2 });
    const dave = await runCluster(data, { algo: 'dave-pg', p: 1, fstar, lambda1, lambda2 });
    for (const run of [soda, dave]) {
      expect(run.result.reason).toBe('tol');
      expect(run.result.subopt!).toBeLessThanOrEqual(1e-10);
      expect(run.result.subopt!).toBeGreaterThan(-1e-14); // F* really is the optimum
      const summary = run.lines.find((l) => l.msg === 'summary')!;
      expect(summary.workers).toBe(4);
    }
    // Coordinates sent up by the time each first reached 1e−10.
    const upAt = (lines: Record<string, unknown>[]) =>
      progress(lines).find((l) => (l.subopt as number) <= 1e-10)!.coordsUp as number;
    expect(upAt(soda.lines)).toBeLessThan(upAt(dave.lines));
  });

  it('identifies the support of w*: supp(w^k) settles on supp(w*) and the models sent down shrink to it', async () => {
    const suppStar = Array.from(wStar.keys()).filter((j) => wStar[j] !== 0);
    expect(suppStar.length).toBeGreaterThan(0);
    expect(suppStar.length).toBeLessThan(40);
    const run = await runCluster(data, {
      algo: 'soda',
      p: 0.3,
      fstar,
      lambda1,
      lambda2,
      tol: 1e-12,
      evalEveryUpdates: 20,
    });
    const lines = progress(run.lines);
    const last = lines[lines.length - 1];
    expect(last.nnz).toBe(suppStar.length);
    // The support is settled over the last stretch of the run: every late evaluation has |supp| = |supp(w*)|.
    for (const l of lines.slice(-3)) expect(l.nnz).toBe(suppStar.length);
    // Coordinates sent down per update late in the run ≈ |supp(w*)| (sparse downward messages).
    const a = lines[lines.length - 3];
    const perUpdate =
      ((last.coordsDown as number) - (a.coordsDown as number)) /
      ((last.updates as number) - (a.updates as number));
    expect(perUpdate).toBeCloseTo(suppStar.length, 0);
    const master = run.master;
    for (let j = 0; j < 40; j++) expect(master.model.wAt(j) !== 0).toBe(wStar[j] !== 0);
  });

  it('sync-PG on shards with different columns is proximal gradient on the whole data, step by step', async () => {
    // Shard s (rows 100s … 100s + 99, contiguous) uses columns 20s … 20s + 19 only: every shard's Δ has
    // indices of its own, so a barrier that kept views of the decoder's reused buffer would apply
    // one shard's values at another's columns (a dense data set cannot show that: same indices).
    const base = plantedProblem(22, 300, 20);
    const ind = Uint32Array.from(base.X.ind, (j, k) => {
      let row = 0;
      while (base.X.ptr[row + 1] <= k) row++;
      return 20 * Math.floor(row / 100) + j;
    });
    const X = { rows: 300, cols: 60, ptr: base.X.ptr, ind, val: base.X.val };
    const gamma = 0.7;
    const rounds = 25;
    const run = await runCluster(
      { X, y: base.y },
      { algo: 'sync-pg', p: 1, lambda1, lambda2, gamma, tol: 0, maxEpochs: rounds, evalEveryUpdates: 0 },
      3,
    );
    expect(run.result.reason).toBe('max-epochs');
    expect(run.result.updates).toBe(3 * rounds);
    let w = new Float64Array(60);
    for (let k = 0; k < rounds; k++) {
      const { grad } = smoothValueGrad(X, base.y, w, lambda2);
      w = proxL1(
        w.map((v, j) => v - gamma * grad[j]),
        gamma * lambda1,
      );
    }
    let nnz = 0;
    for (let j = 0; j < 60; j++) {
      expect(Math.abs(run.master.model.wAt(j) - w[j])).toBeLessThanOrEqual(1e-12);
      if (w[j] !== 0) nnz++;
    }
    expect(nnz).toBeGreaterThan(6); // non-zero weights on more than one shard's columns
  });

  it('sync-PG converges to the same optimum', async () => {
    const run = await runCluster(data, { algo: 'sync-pg', p: 1, fstar, lambda1, lambda2 });
    expect(run.result.reason).toBe('tol');
    expect(run.result.subopt!).toBeLessThanOrEqual(1e-10);
  });
});

describe('live endpoints of the master', () => {
  it('serves /healthz and Prometheus /metrics on the WebSocket port during a run', async () => {
    const { Master } = await import('@soda/master');
    const { Worker } = await import('@soda/worker');
    const { masterConfig, memoryLogger, workerConfig } = await import('./helpers/cluster');
    const { logger } = memoryLogger();
    const master = await Master.start(
      masterConfig(data, { logger, fstar, tol: -1, maxEpochs: 1e9, workers: 2 }),
    );
    const workers = [0, 1].map(() => Worker.start(workerConfig(master.port)));
    const base = `http://127.0.0.1:${master.port}`;
    let text = '';
    for (let i = 0; i < 200; i++) {
      text = await (await fetch(`${base}/metrics`)).text();
      const m = /^soda_updates_total (\d+)/m.exec(text);
      if (m && Number(m[1]) > 100) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(Number(/^soda_updates_total (\d+)/m.exec(text)![1])).toBeGreaterThan(100);
    expect(text).toMatch(/^# TYPE soda_suboptimality gauge$/m);
    expect(Number(/^soda_workers_ready (\d+)/m.exec(text)![1])).toBe(2);
    expect(Number(/^soda_received_coordinates_total (\d+)/m.exec(text)![1])).toBeGreaterThan(0);
    // the step frames' bytes are part of all the bytes each way, and a reply went with every update
    const total = (name: string) => Number(new RegExp(`^soda_${name}_total (\\d+)`, 'm').exec(text)![1]);
    expect(total('update_received_bytes')).toBeGreaterThan(0);
    expect(total('update_received_bytes')).toBeLessThanOrEqual(total('received_bytes'));
    expect(total('model_sent_bytes')).toBeGreaterThan(0);
    expect(total('model_sent_bytes')).toBeLessThanOrEqual(total('sent_bytes'));
    expect(total('eval_received_bytes')).toBeLessThanOrEqual(
      total('received_bytes') - total('update_received_bytes'),
    );
    expect(total('eval_sent_coordinates')).toBeGreaterThanOrEqual(0);
    // Prometheus conventions: counters end in _total, base units, ratios; process metrics; a histogram.
    expect(text).toMatch(/^# TYPE soda_updates_total counter$/m);
    expect(text).toMatch(/^# TYPE soda_sent_bytes_total counter$/m);
    expect(text).toMatch(/^# TYPE soda_support_ratio gauge$/m);
    expect(text).toMatch(/^# TYPE soda_update_staleness histogram$/m);
    for (const name of text.match(/^# TYPE \S+ gauge$/gm)!) expect(name).not.toMatch(/_total /);
    expect(Number(/^soda_support_ratio (\S+)/m.exec(text)![1])).toBeLessThanOrEqual(1);
    expect(Number(/^soda_update_staleness_count (\d+)/m.exec(text)![1])).toBeGreaterThan(0);
    expect(Number(/^soda_update_staleness_bucket\{le="\+Inf"\} (\d+)/m.exec(text)![1])).toBe(
      Number(/^soda_update_staleness_count (\d+)/m.exec(text)![1]),
    );
    expect(text).toMatch(/^process_cpu_seconds_total \S+/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { phase: string }).phase).toBe('running');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const result = await master.stop('test over');
    expect(result.reason).toBe('test over');
    await Promise.all(workers.map((w) => w.done));
  });
});
