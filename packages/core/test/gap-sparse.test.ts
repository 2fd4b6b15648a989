import { CompensatedSum } from '../src/compensated';
import { GapAccumulator, type GapPart } from '../src/gap';
import { Rng } from '../src/rng';
import type { SparseVector } from '../src/sparse';

/*
 * The master's gap accumulator keeps u = Σ_i u_i sparse (a merge per part) instead of a dense vector of
 * n: the certificate must be the same number. The reference here is the dense computation written out
 * independently: u[k] += each part's value in arrival order from 0, then D = −E/m − Σ_k S(u_k/m)²/(2λ2)
 * with the squares summed over every k in a Neumaier sum.
 */

function denseReference(
  parts: readonly GapPart[],
  n: number,
  objective: number,
  lambda1: number,
  lambda2: number,
  unpenalizedFrom: number,
): { u: Float64Array; dual: number; gap: number } {
  const u = new Float64Array(n);
  let rows = 0;
  const ent = new CompensatedSum();
  for (const p of parts) {
    for (let t = 0; t < p.u.idx.length; t++) u[p.u.idx[t]] += p.u.val[t];
    rows += p.m;
    ent.add(p.entropySum);
  }
  const sq = new CompensatedSum();
  for (let k = 0; k < n; k++) {
    const v = u[k] / rows;
    const s = k >= unpenalizedFrom ? v : v > lambda1 ? v - lambda1 : v < -lambda1 ? v + lambda1 : 0;
    sq.add(s * s);
  }
  const dual = -ent.value / rows - sq.value / (2 * lambda2);
  return { u, dual, gap: objective - dual };
}

/** A random sparse part: indices drawn from a few overlapping ranges, values of mixed sign and size. */
function randomPart(rng: Rng, n: number, pool: Uint32Array, intercept: boolean): GapPart {
  const m = 1 + rng.int(200);
  const picked = new Set<number>();
  const count = rng.int(Math.min(pool.length, 60));
  for (let t = 0; t < count; t++) picked.add(pool[rng.int(pool.length)]);
  if (intercept) picked.add(n - 1); // the constant column is in every shard's part
  const idx = Uint32Array.from(picked).sort();
  const val = Float64Array.from(idx, () => {
    const r = rng.next();
    if (r < 0.05) return -0;
    if (r < 0.1) return 0;
    return (rng.next() - 0.5) * m * Math.pow(10, rng.int(7) - 3);
  });
  return { m, entropySum: -rng.next() * m * Math.LN2, u: { n, idx, val } };
}

/** Parts that cancel exactly on shared coordinates (a, then −a), so some sums come back to 0. */
function cancellingParts(n: number): GapPart[] {
  const idx = Uint32Array.from([0, 3, n - 1]);
  const a: SparseVector = { n, idx, val: Float64Array.from([0.1, -2.5, 1e-300]) };
  const b: SparseVector = { n, idx, val: Float64Array.from([-0.1, 2.5, -1e-300]) };
  return [
    { m: 3, entropySum: -1, u: a },
    { m: 4, entropySum: -2, u: b },
  ];
}

describe('GapAccumulator: the sparse sum is the dense computation, bit for bit', () => {
  for (const intercept of [false, true])
    it(`random sparse parts in random orders, λ1 = 0 and > 0, intercept ${intercept ? 'on' : 'off'}`, () => {
      const rng = new Rng(intercept ? 17 : 71);
      for (let trial = 0; trial < 60; trial++) {
        const n = 5 + rng.int(3000);
        // overlapping supports: every part draws from one shared pool of columns
        const pool = Uint32Array.from({ length: 1 + rng.int(n - 1) }, () => rng.int(intercept ? n - 1 : n));
        const M = 1 + rng.int(20);
        const parts = Array.from({ length: M }, () => randomPart(rng, n, pool, intercept));
        if (trial % 7 === 0) parts.push(...cancellingParts(n));
        const unpenalizedFrom = intercept ? n - 1 : n;
        const objective = 1 + rng.next();
        for (const lambda1 of [0, 1e-4, 0.3]) {
          const lambda2 = 1e-3;
          const acc = new GapAccumulator(n);
          for (const p of parts) acc.add(p);
          const got = acc.result(objective, lambda1, lambda2, unpenalizedFrom);
          const want = denseReference(parts, n, objective, lambda1, lambda2, unpenalizedFrom);
          expect(Object.is(got.dual, want.dual)).toBe(true);
          expect(Object.is(got.gap, want.gap)).toBe(true);
          // the sparse u holds every non-zero of the dense one with the same bits, and nothing else
          const u = acc.u;
          const dense = new Float64Array(n);
          for (let t = 0; t < u.idx.length; t++) {
            if (t > 0) expect(u.idx[t]).toBeGreaterThan(u.idx[t - 1]);
            dense[u.idx[t]] = u.val[t];
          }
          for (let k = 0; k < n; k++)
            if (!Object.is(dense[k], want.u[k])) expect([k, dense[k]]).toEqual([k, want.u[k]]);
        }
      }
    });

  it('the order of the parts is kept per coordinate (a different order may round differently)', () => {
    const n = 4;
    const part = (v: number): GapPart => ({
      m: 1,
      entropySum: -0.5,
      u: { n, idx: Uint32Array.of(2), val: Float64Array.of(v) },
    });
    const parts = [part(1), part(1e-16), part(1e-16)];
    const acc = new GapAccumulator(n);
    for (const p of parts) acc.add(p);
    // ((1 + 1e−16) + 1e−16) = 1 in floating point, not 1 + 2e−16: the dense order, not a regrouping
    expect(acc.u.val[0]).toBe(1);
    const want = denseReference(parts, n, 1, 0, 1e-3, n);
    expect(Object.is(acc.result(1, 0, 1e-3, n).dual, want.dual)).toBe(true);
  });

  it('a part whose indices are not increasing is refused, naming the index', () => {
    const acc = new GapAccumulator(10);
    const bad: GapPart = {
      m: 2,
      entropySum: -1,
      u: { n: 10, idx: Uint32Array.of(4, 4), val: Float64Array.of(1, 2) },
    };
    expect(() => acc.add(bad)).toThrow(/u\.idx\[1\] = 4/);
  });
});
