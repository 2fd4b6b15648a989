import { CompensatedSum, csrToCsc, emptySparse, Rng, type CsrMatrix } from '@soda/core';
import { columnsOf, ModelState } from '@soda/master';
import { LocalStep } from '@soda/worker';

/*
 * The master stores each shard's w_i on the shard's columns plus the coordinates that have been in
 * supp(w) (DESIGN.md, "Where w_i lives"). Checked against the workers' own w_i (LocalStep, dense), an
 * independent Algorithm 1 run: the master's copy is exact, what it stores off cols_i lies in H (every
 * coordinate ever in a w sent to a worker), and resum() equals one CompensatedSum per coordinate.
 */

/** M shards over n columns: each row draws 6 columns from its shard's own block and 2 from a shared block. */
function blockProblem(seed: number, M: number, rowsPer: number, block: number, shared: number) {
  const rng = new Rng(seed);
  const n = shared + M * block;
  const wTrue = Float64Array.from({ length: n }, (_, j) => (j % 37 === 0 ? rng.normal() * 2 : 0));
  return Array.from({ length: M }, (_, i) => {
    const ptr = [0];
    const ind: number[] = [];
    const val: number[] = [];
    const y = new Float64Array(rowsPer);
    for (let r = 0; r < rowsPer; r++) {
      const cols = new Set<number>();
      while (cols.size < 2) cols.add(rng.int(shared));
      while (cols.size < 8) cols.add(shared + i * block + rng.int(block));
      let score = 0;
      for (const j of [...cols].sort((a, b) => a - b)) {
        const x = 0.2 + rng.next();
        ind.push(j);
        val.push(x);
        score += x * wTrue[j];
      }
      ptr.push(ind.length);
      y[r] = score + 0.3 * rng.normal() >= 0 ? 1 : -1;
    }
    const X: CsrMatrix = {
      rows: rowsPer,
      cols: n,
      ptr: Float64Array.from(ptr),
      ind: Uint32Array.from(ind),
      val: Float64Array.from(val),
    };
    return { X, y, n };
  });
}

describe("the master's w_i: stored where it can be non-zero, exactly", () => {
  it('matches every worker’s own w_i; off cols_i only coordinates that were in supp(w); resum is exact', () => {
    const M = 4;
    const shards = blockProblem(7, M, 60, 700, 100);
    const n = shards[0].n;
    const gamma = 1;
    const lambda1 = 0.004;
    const lambda2 = 0.01;
    const cols = shards.map((s) => columnsOf(s.X.ind, n));
    const master = new ModelState(n, [0.25, 0.25, 0.25, 0.25], gamma, lambda1, n, cols);
    const workers = shards.map(
      (s, i) => new LocalStep({ X: csrToCsc(s.X), y: s.y }, lambda2, emptySparse(n), 3 + i),
    );
    const H = new Uint8Array(n); // every coordinate of a w a worker received
    const send = () => {
      const w = master.current();
      w.idx.forEach((j) => (H[j] = 1));
      return w;
    };
    const pending = workers.map(() => send());
    const rng = new Rng(11);
    for (let k = 0; k < 3000; k++) {
      const i = rng.int(M); // random order: stale w, as over a network
      const { delta } = workers[i].step(pending[i], gamma, 0.2);
      master.apply(i, delta);
      pending[i] = send();
    }
    let everInSupport = 0;
    H.forEach((h) => (everInSupport += h));
    expect(everInSupport).toBeGreaterThan(0);
    expect(everInSupport).toBeLessThan(n / 4); // ℓ1 keeps H small: the point of the layout
    let stored = 0;
    for (let i = 0; i < M; i++) {
      // the master's copy is the worker's own w_i, bit for bit (Δ = w_i⁺ − w_i, added back)
      const mine = master.wiDense(i);
      const theirs = Float64Array.from({ length: n }, (_, j) => workers[i].wiAt(j));
      let maxDiff = 0;
      for (let j = 0; j < n; j++) maxDiff = Math.max(maxDiff, Math.abs(mine[j] - theirs[j]));
      expect(maxDiff).toBeLessThanOrEqual(1e-15);
      // a worker's w_i is non-zero off its columns only where w was non-zero (DESIGN.md's derivation)
      const own = new Set(cols[i]);
      for (let j = 0; j < n; j++) if (theirs[j] !== 0 && !own.has(j)) expect(H[j]).toBe(1);
      const extra = master.wi[i].sortedOverflow();
      for (const j of extra) expect(H[j]).toBe(1);
      stored += cols[i].length + extra.length;
    }
    expect(stored).toBeLessThanOrEqual(cols.reduce((a, c) => a + c.length, 0) + M * everInSupport);
    expect(stored).toBeLessThan((M * n) / 3);

    // resum(): one Neumaier sum per coordinate over the shards in order, as the dense master did
    const dense = Array.from({ length: M }, (_, i) => master.wiDense(i));
    const expected = Float64Array.from({ length: n }, (_, j) => {
      const s = new CompensatedSum();
      for (let i = 0; i < M; i++) s.add(master.pi[i] * dense[i][j]);
      return s.value;
    });
    master.resum();
    for (let j = 0; j < n; j++) expect(master.wbarAt(j)).toBe(expected[j]);
  });
});
