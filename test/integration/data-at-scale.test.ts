import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  compositeObjective,
  csrFromDense,
  defaultStepSize,
  divisorAt,
  emptySparse,
  maxAbsScale,
  readLibsvm,
  readManifest,
  Rng,
  splitLibsvm,
  writeLibsvm,
  type Dataset,
} from '@soda/core';
import { checkReady, chooseStopRule, GapRound, ModelState, StatsRound, stopReached } from '@soda/master';
import type { Stats } from '@soda/protocol';
import { solveReference } from '@soda/solver';
import { LocalStep } from '@soda/worker';
import { prepareOwnShard, readOwnShard, shardStats } from '@soda/worker';

/*
 * The master's side of data at scale, end to end without sockets: parts from `soda data split`, the
 * workers' stats, the stats round, Algorithm 1 (LocalStep + ModelState) on the workers' own scaled
 * shards, and a progress line every few updates whose duality gap is checked against the reference
 * solver's F*: it must bound F − F* on every line, and the run stops on it without F*.
 */

function problem(seed: number, m: number, n: number): Dataset {
  const rng = new Rng(seed);
  const rows = Array.from({ length: m }, () =>
    Array.from({ length: n }, () => (rng.next() < 0.3 ? rng.normal() * 10 ** rng.int(3) : 0)),
  );
  const y = Float64Array.from(rows, (r) => (r[0] - r[1] + r[2] * 0.01 + 0.5 * rng.normal() > 0 ? 1 : -1));
  return { X: csrFromDense(rows, n), y };
}

describe('data at scale: the master’s bookkeeping', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-das-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const M = 4;
  const lambda1 = 0.005;
  const lambda2 = 1e-3;
  const file = path.join(dir, 'all.svm');
  const parts = path.join(dir, 'parts');
  let stats: Stats[] = [];

  beforeAll(async () => {
    await writeLibsvm(file, problem(8, 400, 30));
    await splitLibsvm(file, { parts: M, outDir: parts, seed: 5 });
    const own = await Promise.all(
      Array.from({ length: M }, (_, i) => readOwnShard(path.join(parts, `part-0000${i}.svm`), i)),
    );
    stats = own.map((o, i) => ({ t: 'stats', shard: i, ...shardStats(o) }));
  });

  it('the stats round learns n, m_i, π_i and the central scaling, checked against the manifest', async () => {
    const manifest = await readManifest(path.join(parts, 'manifest.json'));
    const round = new StatsRound(M, { normalize: true, manifest });
    expect(round.offer({ ...stats[2], hash: 'f'.repeat(64) })).toEqual({
      ok: false,
      reason: `shard 2: the manifest says sha256 = ${manifest.parts[2].sha256}, the worker's file has ${'f'.repeat(64)}`,
    });
    expect(round.offer({ ...stats[1], m: 3 }).ok).toBe(false);
    for (const s of stats) expect(round.offer(s)).toEqual({ ok: true });
    expect(round.offer(stats[0])).toEqual({ ok: false, reason: 'shard 0 already reported' });
    // a worker that leaves before the round completes is replaced by a spare reporting again
    round.withdraw(3);
    expect(round.complete).toBe(false);
    expect(() => round.result()).toThrow(/3 of 4/);
    expect(round.offer(stats[3]).ok).toBe(true);
    const r = round.result();
    const full = await readLibsvm(file);
    expect(r.n).toBe(full.n);
    expect(r.m).toBe(400);
    expect(Array.from(r.pi)).toEqual(stats.map((s) => s.m / 400));
    // the divisors are kept sparse (those ≠ 1): each one is the central max-abs divisor, bit for bit
    const central = maxAbsScale(full.X).scale;
    for (let j = 0; j < full.n; j++) expect(Object.is(divisorAt(r.scale!, j), central[j])).toBe(true);
    expect(r.scale!.idx.length).toBe(central.filter((v) => v !== 1).length);
    expect(new StatsRound(M, { normalize: false, manifest }).offer(stats[0])).toEqual({ ok: true });
  });

  it('without a manifest, a shard whose n disagrees with the others’ is refused; ready is checked', () => {
    const round = new StatsRound(M, { normalize: false });
    expect(round.offer(stats[0]).ok).toBe(true);
    const v = round.offer({ ...stats[1], n: stats[1].n + 1 });
    expect(v.ok || v.reason).toMatch(/has n = \d+ but the run has n = \d+ \(from the other workers/);
    const facts = { m: stats[1].m, nnz: stats[1].nnz, hash: stats[1].hash! };
    const ready = {
      t: 'ready' as const,
      shard: 1,
      m: facts.m,
      L: 1,
      n: stats[1].n,
      nnz: facts.nnz,
      hash: facts.hash,
    };
    expect(checkReady(ready, facts, stats[1].n)).toEqual({ ok: true });
    expect(checkReady({ ...ready, hash: '0'.repeat(64) }, facts, stats[1].n).ok).toBe(false);
    expect(checkReady({ ...ready, m: 1 }, facts, stats[1].n).ok).toBe(false);
  });

  it('stopping rules: the gap without F*, the suboptimality with it, and the start line says which', () => {
    expect(chooseStopRule({ tol: 1e-8, lambda2 })).toEqual({
      rule: { kind: 'gap', tolGap: 1e-8 },
      describe: 'gap / |D| ≤ 1e-8 (no F*: certified duality gap)',
    });
    const both = chooseStopRule({ tol: 1e-8, tolGap: 1e-6, fstar: 0.5, lambda2 });
    expect(both.describe).toBe('(F − F*)/F* ≤ 1e-8 or gap / |D| ≤ 0.000001');
    expect(stopReached(both.rule, 0.6, 1e-7)).toBe(true);
    expect(stopReached(both.rule, 0.6, 1e-5)).toBe(false);
    expect(stopReached(both.rule, 0.5 + 1e-10, undefined)).toBe(true);
    expect(() => chooseStopRule({ tol: 1e-8, lambda2: 0 })).toThrow(/needs λ2 > 0/);
  });

  it('Algorithm 1 on the workers’ own shards: the gap bounds F − F* on every progress line and stops the run', async () => {
    const round = new StatsRound(M, { normalize: true });
    for (const s of stats) round.offer(s);
    const { n, pi, scale, shards } = round.result();
    const own = await Promise.all(
      Array.from({ length: M }, (_, i) => readOwnShard(path.join(parts, `part-0000${i}.svm`), i)),
    );
    const prepared = own.map((o) => prepareOwnShard(o, n, scale, lambda2));
    const L = Math.max(...prepared.map((p) => p.L));
    const model = new ModelState(n, pi, defaultStepSize(lambda2, L), lambda1);
    const locals = prepared.map((p, i) => new LocalStep(p.data, lambda2, emptySparse(n), 11 + i));

    // F* of the same (centrally scaled) problem, for the check only: the run itself never sees it
    const full = await readLibsvm(file);
    const central = maxAbsScale(full.X);
    const sol = solveReference({ X: central.X, y: full.y }, lambda1, lambda2);
    const { rule } = chooseStopRule({ tol: 1e-10, lambda2 });

    const rng = new Rng(3);
    let lines = 0;
    let last = { F: Infinity, gap: Infinity, gapRel: Infinity };
    for (let k = 0; k < 200000; k++) {
      const i = rng.int(M); // asynchronous: any worker may answer next
      const { delta } = locals[i].step(model.current(), model.gamma, 0.1);
      model.apply(i, delta);
      if (k % M !== 0) continue;
      // a progress line: an evaluation round with the gap parts
      const w = model.current();
      const gr = new GapRound(n, shards);
      let F = 0;
      locals.forEach((loc, s) => {
        const { fi, gap } = loc.evaluateWithGap(w);
        F += pi[s] * fi;
        gr.add({ t: 'evalResult', id: lines, shard: s, fi, entropy: gap.entropySum, u: gap.u });
      });
      let l1 = 0;
      for (const v of w.val) l1 += Math.abs(v);
      F += lambda1 * l1;
      const g = gr.result(F, lambda1, lambda2, n);
      lines++;
      expect(g.gap).toBeGreaterThanOrEqual(F - sol.fstar - 1e-15 * sol.fstar);
      expect(
        Math.abs(F - compositeObjective(central.X, full.y, model.wDense(), lambda1, lambda2)),
      ).toBeLessThan(1e-14);
      last = { F, gap: g.gap, gapRel: g.gapRel };
      if (stopReached(rule, F, g.gapRel)) break;
    }
    expect(lines).toBeGreaterThan(20);
    expect(last.gapRel).toBeLessThanOrEqual(1e-10);
    expect((last.F - sol.fstar) / sol.fstar).toBeLessThanOrEqual(1e-10);
  });
});
