import { columnMaxAbsSparse, combineColumnMaxima, csrToCsc, selectRows, SodaError } from '@soda/core';
import { prepareOwnShard, type OwnShard } from '@soda/worker';
import { digitsLike } from '../helpers/gap-problems';
import { centralProblem } from '../helpers/sim-cluster';

/*
 * A worker that reads its own part and fits the intercept holds exactly the rows the central mode
 * would have shipped it: scaled by the stats round's divisors, then the constant 1 appended as the
 * last column (bit for bit), so F, D and F* are of one problem in both modes.
 */

describe('prepareOwnShard with the intercept', () => {
  const raw = digitsLike(8, 60);
  const n = raw.X.cols;
  const rows = Uint32Array.from({ length: 25 }, (_, r) => 10 + r);
  const own: OwnShard = {
    file: 'part-00001.svm',
    shard: 1,
    X: selectRows(raw.X, rows),
    y: Float64Array.from(rows, (r) => raw.y[r]),
    n,
    hash: 'c'.repeat(64),
  };
  // the stats round's divisors from two halves, as the master combines them, plus the intercept's 1
  const halves = [0, 30].map((a) =>
    columnMaxAbsSparse(
      selectRows(
        raw.X,
        Uint32Array.from({ length: 30 }, (_, r) => a + r),
      ),
    ),
  );
  const scale = Float64Array.from([...combineColumnMaxima(halves, n), 1]);

  it('equals the central rows (scaled, then the constant column) bit for bit', () => {
    const { data } = prepareOwnShard(own, n + 1, scale, 0.01, true);
    const central = csrToCsc(selectRows(centralProblem(raw, true).data.X, rows));
    expect(data.X.cols).toBe(n + 1);
    expect(Array.from(data.X.ptr)).toEqual(Array.from(central.ptr));
    expect(Array.from(data.X.ind)).toEqual(Array.from(central.ind));
    expect(Buffer.from(data.X.val.buffer).equals(Buffer.from(central.val.buffer))).toBe(true);
  });

  it('refuses divisors whose intercept entry is not 1, and a part with as many features as n', () => {
    const bad = scale.slice();
    bad[n] = 2;
    expect(() => prepareOwnShard(own, n + 1, bad, 0.01, true)).toThrow(/the last \(intercept\) must be 1/);
    expect(() => prepareOwnShard(own, n, scale.subarray(0, n), 0.01, true)).toThrow(SodaError);
  });
});
