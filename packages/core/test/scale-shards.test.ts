import { SodaError } from '../src/errors';
import { csrFromDense, selectRows } from '../src/matrix';
import { Rng } from '../src/rng';
import { applyScale, columnMaxAbsSparse, combineColumnMaxima, maxAbsScale } from '../src/scale';
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
