import { SodaError, csrToDense } from '@soda/core';
import { collect, generateMadelon, MadelonOptions } from '@soda/datasets';
import { SlowSink, sameArrays } from './helpers';

const make = (opts: MadelonOptions) => collect((sink) => generateMadelon(opts, sink));

/** Column c of dense rows, centred. */
function centredColumn(D: Float64Array[], c: number): Float64Array {
  const x = Float64Array.from(D, (r) => r[c]);
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  return x.map((v) => v - mean);
}

/** Least-squares residual ‖b − Aβ‖/‖b‖ by the normal equations (Gaussian elimination, pivoting). */
function relativeResidual(A: Float64Array[], b: Float64Array): number {
  const p = A.length;
  const G = Array.from({ length: p }, (_, i) => [
    ...A.map((aj) => A[i].reduce((s, v, k) => s + v * aj[k], 0)),
    A[i].reduce((s, v, k) => s + v * b[k], 0),
  ]);
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(G[r][c]) > Math.abs(G[piv][c])) piv = r;
    [G[c], G[piv]] = [G[piv], G[c]];
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = G[r][c] / G[c][c];
      for (let k = c; k <= p; k++) G[r][k] -= f * G[c][k];
    }
  }
  const beta = G.map((row, i) => row[p] / row[i]);
  let res = 0;
  let nb = 0;
  for (let k = 0; k < b.length; k++) {
    let fit = 0;
    for (let i = 0; i < p; i++) fit += beta[i] * A[i][k];
    res += (b[k] - fit) ** 2;
    nb += b[k] ** 2;
  }
  return Math.sqrt(res / nb);
}

/** Leave-one-out 1-nearest-neighbour accuracy on the given (standardised) columns. */
function oneNnAccuracy(D: Float64Array[], y: Float64Array, cols: readonly number[]): number {
  const Z = cols.map((c) => {
    const x = centredColumn(D, c);
    const sd = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    return x.map((v) => v / sd);
  });
  let ok = 0;
  for (let i = 0; i < D.length; i++) {
    let best = Infinity;
    let label = 0;
    for (let j = 0; j < D.length; j++) {
      if (j === i) continue;
      let d = 0;
      for (const z of Z) d += (z[i] - z[j]) ** 2;
      if (d < best) {
        best = d;
        label = y[j];
      }
    }
    if (label === y[i]) ok++;
  }
  return ok / D.length;
}

describe('generateMadelon', () => {
  // The default-size set, made once for the structural checks.
  let full: Awaited<ReturnType<typeof make>>;
  beforeAll(async () => {
    full = await make({ seed: 1 });
  });

  it('makes a dense 2000 × 500 set by default, with exactly balanced labels and 1 % flipped', () => {
    const { data, info } = full;
    expect(data.X.rows).toBe(2000);
    expect(data.X.cols).toBe(500);
    expect(data.X.ind.length).toBe(2000 * 500);
    expect(info.nnz).toBe(2000 * 500);
    expect(data.y.filter((v) => v === 1).length).toBe(1000);
    expect(data.y.filter((v) => v === -1).length).toBe(1000);
    expect(info.flipped).toBe(20);
    expect(info.informative).toHaveLength(5);
    expect(info.redundant).toHaveLength(15);
    expect(new Set([...info.informative, ...info.redundant]).size).toBe(20);
  });

  it('is determined by its seed', async () => {
    const a = await make({ seed: 5, rows: 300, cols: 60 });
    const b = await make({ seed: 5, rows: 300, cols: 60 });
    const c = await make({ seed: 6, rows: 300, cols: 60 });
    expect(sameArrays(a.data.X.val, b.data.X.val)).toBe(true);
    expect(sameArrays(a.data.y, b.data.y)).toBe(true);
    expect(a.info).toEqual(b.info);
    expect(sameArrays(a.data.X.val, c.data.X.val)).toBe(false);
  });

  it('has 15 redundant features that are exact affine combinations of the 5 informative ones', () => {
    const { data, info } = full;
    const D = csrToDense(data.X);
    const inf = info.informative.map((c) => centredColumn(D, c));
    // The informative columns themselves are not degenerate: none is explained by the other four.
    for (let k = 0; k < 5; k++)
      expect(
        relativeResidual(
          inf.filter((_, i) => i !== k),
          inf[k],
        ),
      ).toBeGreaterThan(0.3);
    for (const c of info.redundant) expect(relativeResidual(inf, centredColumn(D, c))).toBeLessThan(1e-9);
    const relevant = new Set([...info.informative, ...info.redundant]);
    const noise = Array.from({ length: 500 }, (_, c) => c).filter((c) => !relevant.has(c));
    for (const c of noise.slice(0, 20))
      expect(relativeResidual(inf, centredColumn(D, c))).toBeGreaterThan(0.9);
  });

  it('puts the class structure in the informative features, none in the noise', () => {
    const { data, info } = full;
    const D = csrToDense(data.X);
    const relevant = new Set([...info.informative, ...info.redundant]);
    const noise = Array.from({ length: 500 }, (_, c) => c)
      .filter((c) => !relevant.has(c))
      .slice(0, 5);
    expect(oneNnAccuracy(D, data.y, info.informative)).toBeGreaterThan(0.65);
    const chance = oneNnAccuracy(D, data.y, noise);
    expect(chance).toBeGreaterThan(0.4);
    expect(chance).toBeLessThan(0.6);
  });

  it('applies the documented coding v = offset + s·(x + h): offsets shift every value exactly', async () => {
    const a = await make({ seed: 4, rows: 50, cols: 30, offset: 0 });
    const b = await make({ seed: 4, rows: 50, cols: 30, offset: 480 });
    expect(sameArrays(a.data.y, b.data.y)).toBe(true);
    let worst = 0;
    for (let k = 0; k < a.data.X.val.length; k++)
      worst = Math.max(worst, Math.abs(b.data.X.val[k] - a.data.X.val[k] - 480));
    expect(worst).toBeLessThan(1e-9);
  });

  it('keeps the classes balanced for odd sizes and awaits an asynchronous sink', async () => {
    const { data } = await make({ seed: 7, rows: 101, cols: 20, flipY: 0.1 });
    const pos = data.y.filter((v) => v === 1).length;
    expect(Math.abs(pos - (101 - pos))).toBeLessThanOrEqual(1);
    const slow = new SlowSink();
    const info = await generateMadelon({ seed: 7, rows: 40, cols: 25 }, slow);
    expect(slow.rows).toBe(40);
    expect(info.rows).toBe(40);
  });

  it('rejects impossible options with E_CONFIG', async () => {
    for (const bad of [{ cols: 19 }, { rows: 1 }, { flipY: 2 }, { classSep: 0 }, { rows: 10.5 }]) {
      await expect(make({ seed: 1, ...bad })).rejects.toThrow(SodaError);
      await expect(make({ seed: 1, ...bad })).rejects.toMatchObject({ code: 'E_CONFIG' });
    }
  });
});
