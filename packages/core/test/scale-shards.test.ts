import { SodaError } from '../src/errors';
import { csrFromDense, selectRows } from '../src/matrix';
import { Rng } from '../src/rng';
import { modelFileOf } from '../src/model-file';
import {
  applyScale,
  columnMaxAbsSparse,
  combineColumnMaxima,
  divisorAt,
  divisorsFromMaxima,
  maxAbsScale,
} from '../src/scale';
import { shardShuffled } from '../src/shard';

/** The stats round (column maxima per shard, combined) must give exactly the central max-abs scaling. */
describe('column maxima per shard', () => {
  const rng = new Rng(5);
  const A = Array.from({ length: 97 }, () =>
    Array.from({ length: 23 }, (_, j) =>
      j === 7 || rng.next() < 0.7 ? 0 : rng.normal() * 10 ** (rng.int(9) - 4),
    ),
  );
  const X = csrFromDense(A, 23);

  it('combine over shards = maxAbsScale of the whole matrix, bit for bit, and so are the scaled rows', () => {
    const central = maxAbsScale(X);
    for (const M of [1, 4, 10]) {
      const parts = shardShuffled(97, M, 3);
      const shards = parts.map((ids) => selectRows(X, ids));
      const maxima = shards.map((S) => columnMaxAbsSparse(S));
      const scale = combineColumnMaxima(maxima, 23);
      expect(Buffer.from(scale.buffer).equals(Buffer.from(central.scale.buffer))).toBe(true);
      shards.forEach((S, i) => {
        const mine = applyScale(S, scale);
        const theirs = selectRows(central.X, parts[i]);
        expect(Buffer.from(mine.val.buffer).equals(Buffer.from(theirs.val.buffer))).toBe(true);
        expect(Array.from(mine.ind)).toEqual(Array.from(theirs.ind));
      });
    }
  });

  it('is sparse (only columns the shard has), dimension-checked, and refuses bad maxima', () => {
    const S = selectRows(X, [0, 1]);
    const mx = columnMaxAbsSparse(S);
    const nonzeroCols = new Set(Array.from(S.ind));
    expect(mx.idx.length).toBe(nonzeroCols.size);
    expect(Array.from(mx.val).every((v) => v > 0)).toBe(true);
    expect(combineColumnMaxima([{ n: 3, idx: Uint32Array.of(1), val: Float64Array.of(2) }], 5)).toEqual(
      Float64Array.of(1, 2, 1, 1, 1),
    );
    expect(() =>
      combineColumnMaxima([{ n: 6, idx: new Uint32Array(0), val: new Float64Array(0) }], 5),
    ).toThrow(SodaError);
    expect(() =>
      combineColumnMaxima([mx, { n: 23, idx: Uint32Array.of(2), val: Float64Array.of(NaN) }], 23),
    ).toThrow(/part 1: column 2 has NaN/);
  });
});

/*
 * The master that learns the scale from its workers keeps it sparse (the divisors ≠ 1): every divisor,
 * and so the model file written from it, must be what the dense combination gives.
 */
describe('sparse divisors (divisorsFromMaxima)', () => {
  it('equal the dense combination at every column, bit for bit, for any number of parts', () => {
    const rng = new Rng(17);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + rng.int(400);
      const M = 1 + rng.int(9);
      const parts = Array.from({ length: M }, () => {
        const dim = 1 + rng.int(n); // a part may end before n (its largest index is smaller)
        const idx = Uint32Array.from(
          new Set(Array.from({ length: rng.int(dim) }, () => rng.int(dim))),
        ).sort();
        const val = Float64Array.from(idx, () => {
          const r = rng.next();
          return r < 0.1 ? 1 : r < 0.15 ? 0 : r < 0.2 ? 2 ** 60 : rng.next() * 10 ** (rng.int(9) - 4);
        });
        return { n: dim, idx, val };
      });
      const dense = combineColumnMaxima(parts, n);
      const sparse = divisorsFromMaxima(parts, n);
      expect(sparse.n).toBe(n);
      for (let j = 0; j < n; j++) expect(Object.is(divisorAt(sparse, j), dense[j])).toBe(true);
      // only the divisors that are not 1 are kept, sorted
      expect(Array.from(sparse.val).every((v) => v !== 1 && v > 0)).toBe(true);
      for (let t = 1; t < sparse.idx.length; t++) expect(sparse.idx[t]).toBeGreaterThan(sparse.idx[t - 1]);
      expect(sparse.idx.length).toBe(Array.from(dense).filter((v) => v !== 1).length);
    }
    expect(divisorsFromMaxima([], 4)).toEqual({ n: 4, idx: new Uint32Array(0), val: new Float64Array(0) });
  });

  it('refuse what the dense combination refuses', () => {
    expect(() =>
      divisorsFromMaxima([{ n: 6, idx: new Uint32Array(0), val: new Float64Array(0) }], 5),
    ).toThrow(/part 0 have dimension 6 > n = 5/);
    expect(() => divisorsFromMaxima([{ n: 5, idx: Uint32Array.of(2), val: Float64Array.of(-1) }], 5)).toThrow(
      /part 0: column 2 has -1/,
    );
  });

  it('give the same model file as the dense scale: first and last feature, divisor 1, empty column, intercept', () => {
    const n = 6;
    // column 0: divisor 4; 1: max exactly 1; 2: in no part; 3: 0.5; 5 (the last feature): 8
    const parts = [
      { n, idx: Uint32Array.of(0, 1, 5), val: Float64Array.of(4, 1, 3) },
      { n: 4, idx: Uint32Array.of(0, 3), val: Float64Array.of(2, 0.5) },
      { n, idx: Uint32Array.of(4, 5), val: Float64Array.of(0, 8) },
    ];
    const dense = combineColumnMaxima(parts, n);
    const sparse = divisorsFromMaxima(parts, n);
    expect(Array.from(sparse.idx)).toEqual([0, 3, 5]);
    // w over n features and the intercept's column n (not scaled)
    const w = {
      n: n + 1,
      idx: Uint32Array.of(0, 1, 2, 3, 4, 5, 6),
      val: Float64Array.of(1, -2, 3, 0.25, 5, -6, 0.7),
    };
    const meta = {
      lambda1: 0.1,
      lambda2: 0.01,
      dataName: 'd',
      dataHash: 'h',
      objective: 0.5,
      unpenalizedFrom: n,
    };
    const a = modelFileOf(w, { ...meta, scale: dense });
    const b = modelFileOf(w, { ...meta, scale: sparse });
    expect(b).toEqual(a);
    expect(b.val).toEqual([1 / 4, -2, 3, 0.25 / 0.5, 5, -6 / 8]);
    expect(b.intercept).toBe(0.7);
    // without the intercept the last coordinate is a feature like the others
    const wNo = { n, idx: Uint32Array.of(5), val: Float64Array.of(-6) };
    expect(modelFileOf(wNo, { ...meta, unpenalizedFrom: n, scale: sparse })).toEqual(
      modelFileOf(wNo, { ...meta, unpenalizedFrom: n, scale: dense }),
    );
  });
});
