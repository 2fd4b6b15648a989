import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  combineColumnMaxima,
  csrFromDense,
  csrToCsc,
  dualityGap,
  emptySparse,
  GapAccumulator,
  gapPartCsr,
  logisticSmoothness,
  maxAbsScale,
  readLibsvm,
  Rng,
  selectRows,
  shardShuffled,
  sparseFromDense,
  splitLibsvm,
  writeLibsvm,
  type Dataset,
} from '@soda/core';
import { decodeFromMaster, encode } from '@soda/protocol';
import { LocalStep } from '@soda/worker';
import { prepareOwnShard, readOwnShard, shardPath, shardStats } from '../src/own-data';

/*
 * A worker's own shard, read from a part of `soda data split`, must give exactly the rows, scaling,
 * L_i and gap parts that the master's central path gives (maxAbsScale of the whole file, then sharding).
 */

function problem(seed: number, m: number, n: number): Dataset {
  const rng = new Rng(seed);
  const rows = Array.from({ length: m }, () =>
    Array.from({ length: n }, (_, j) =>
      j === n - 1 || rng.next() > 0.3 ? 0 : rng.normal() * 10 ** rng.int(3),
    ),
  );
  rows[0][n - 1] = 0.5; // only one row has the last column: most parts are narrower than n
  const y = Float64Array.from(rows, (r) => (r[0] + r[1] - r[2] + 0.3 * rng.normal() > 0 ? 1 : -1));
  return { X: csrFromDense(rows, n), y };
}

describe('a worker’s own shard', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-own-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ds = problem(3, 120, 25);
  const file = path.join(dir, 'all.svm');
  const out = path.join(dir, 'parts');
  const M = 4;
  const lambda1 = 0.02;
  const lambda2 = 0.01;

  beforeAll(async () => {
    await writeLibsvm(file, ds);
    await splitLibsvm(file, { parts: M, outDir: out, seed: 7 });
  });

  it('{shard} expands to the zero-padded part number', () => {
    expect(shardPath('/data/part-{shard}.svm', 3)).toBe('/data/part-00003.svm');
    expect(shardPath('/data/fixed.svm', 3)).toBe('/data/fixed.svm');
  });

  it('stats → combined scale → scaled shard: the central rows, L_i and gap, bit for bit', async () => {
    const full = await readLibsvm(file);
    const central = maxAbsScale(full.X);
    const ids = shardShuffled(full.X.rows, M, 7);
    const own = await Promise.all(
      ids.map((_, i) => readOwnShard(shardPath(path.join(out, 'part-{shard}.svm'), i), i)),
    );
    own.forEach((s) => expect(s.n).toBe(25)); // the manifest's n, also for parts without column 25
    const stats = own.map(shardStats);
    expect(stats.reduce((a, s) => a + s.m, 0)).toBe(120);
    const scale = combineColumnMaxima(
      stats.map((s) => s.colMax),
      25,
    );
    expect(Buffer.from(scale.buffer).equals(Buffer.from(central.scale.buffer))).toBe(true);

    const rng = new Rng(1);
    const w = Float64Array.from({ length: 25 }, (_, j) => (j % 3 === 0 ? 0.4 * rng.normal() : 0));
    const acc = new GapAccumulator(25);
    let objective = 0;
    own.forEach((s, i) => {
      const { data, L } = prepareOwnShard(s, 25, scale, lambda2);
      const mine = selectRows(central.X, ids[i]);
      expect(Buffer.from(data.X.val.buffer).equals(Buffer.from(csrToCsc(mine).val.buffer))).toBe(true);
      expect(L).toBe(logisticSmoothness(mine, lambda2));
      const local = new LocalStep(data, lambda2, emptySparse(25), 1);
      const { fi, gap } = local.evaluateWithGap(sparseFromDense(w));
      const want = gapPartCsr(
        mine,
        Float64Array.from(ids[i], (r) => full.y[r]),
        w,
      );
      expect(gap.entropySum).toBeCloseTo(want.entropySum, 12);
      expect(Array.from(gap.u.idx)).toEqual(Array.from(want.u.idx));
      gap.u.val.forEach((v, t) => expect(Math.abs(v - want.u.val[t])).toBeLessThan(1e-13));
      acc.add(gap);
      objective += (s.X.rows / 120) * fi;
    });
    let l1 = 0;
    for (const v of w) l1 += Math.abs(v);
    objective += lambda1 * l1;
    const whole = dualityGap(central.X, full.y, w, lambda1, lambda2, 25);
    expect(objective).toBeCloseTo(whole.objective, 13);
    const g = acc.result(objective, lambda1, lambda2, 25);
    expect(Math.abs(g.gap - whole.gap)).toBeLessThan(1e-13);
  });

  it('sparse divisors (the shard’s columns only, 1 elsewhere) scale the rows exactly as the dense ones', async () => {
    const full = await readLibsvm(file);
    const central = maxAbsScale(full.X);
    for (let i = 0; i < M; i++) {
      const s = await readOwnShard(shardPath(path.join(out, 'part-{shard}.svm'), i), i);
      const mine = shardStats(s).colMax.idx; // what a master knows of this shard's columns
      const sparseScale = { n: 25, idx: mine, val: Float64Array.from(mine, (j) => central.scale[j]) };
      const dense = prepareOwnShard(s, 25, central.scale, lambda2);
      const sparse = prepareOwnShard(s, 25, sparseScale, lambda2);
      expect(Buffer.from(sparse.data.X.val.buffer).equals(Buffer.from(dense.data.X.val.buffer))).toBe(true);
      expect(Array.from(sparse.data.cols)).toEqual(Array.from(dense.data.cols));
      expect(sparse.L).toBe(dense.L);
    }
    // on the wire: a scale frame with sparse divisors is decoded as such, a bad divisor named
    const frame = (val: number) =>
      encode({
        t: 'scale',
        shard: 0,
        n: 25,
        scale: { n: 25, idx: Uint32Array.of(3, 9), val: Float64Array.of(2, val) },
        wi: emptySparse(25),
      });
    const ok = decodeFromMaster(frame(0.5), { n: 25 });
    expect(
      ok.ok && ok.msg.t === 'scale' && !(ok.msg.scale instanceof Float64Array) && ok.msg.scale?.idx,
    ).toEqual(Uint32Array.of(3, 9));
    const bad = decodeFromMaster(frame(-1), { n: 25 });
    expect(bad.ok ? null : bad.error.message).toMatch(/scale\.val\[1\] = -1 must be positive and finite/);
  });

  it('refuses a part that disagrees with its manifest, naming the field, and a file wider than n', async () => {
    const bad = path.join(out, 'part-00001.svm');
    const keep = fs.readFileSync(bad);
    fs.appendFileSync(bad, '1 2:0.5\n');
    await expect(readOwnShard(bad, 1)).rejects.toMatchObject({
      code: 'E_DATA_MISMATCH',
      details: { field: 'parts[1].rows' },
    });
    fs.writeFileSync(bad, keep);
    await expect(readOwnShard(bad, 2)).rejects.toThrow(
      /is not shard 2 of .*parts\[2\]\.file = part-00002\.svm/,
    );
    const loose = path.join(dir, 'loose.svm');
    fs.writeFileSync(loose, '1 3:1\n-1 30:2\n');
    const s = await readOwnShard(loose, 0); // no manifest beside it: n = its largest index
    expect(s.n).toBe(30);
    expect(() => prepareOwnShard(s, 25, undefined, lambda2)).toThrow(
      /up to index 30 but the run's dimension is n = 25/,
    );
    fs.writeFileSync(loose, '1 3:1\n-1 x:2\n');
    await expect(readOwnShard(loose, 0)).rejects.toThrow(`${loose}:2:`);
  });
});
