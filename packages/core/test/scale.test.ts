import { SodaError } from '../src/errors';
import { csrFromDense, csrToDense, type CsrMatrix } from '../src/matrix';
import { Rng } from '../src/rng';
import { applyScale, maxAbsScale } from '../src/scale';

/** Dense random matrix with mixed signs and magnitudes; `zeroCols` stay entirely zero. */
function randomDense(rows: number, cols: number, seed: number, zeroCols: number[] = []): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: rows }, () =>
    Array.from({ length: cols }, (_, j) =>
      zeroCols.includes(j) || rng.next() < 0.6 ? 0 : rng.normal() * 10 ** (rng.int(7) - 3),
    ),
  );
}

/** The reference: column max |x| by a dense scan, divisors 1 for all-zero columns, then x / divisor. */
function denseReference(A: number[][], cols: number): { scaled: number[][]; scale: number[] } {
  const scale = new Array<number>(cols).fill(0);
  for (const row of A) for (let j = 0; j < cols; j++) scale[j] = Math.max(scale[j], Math.abs(row[j] ?? 0));
  for (let j = 0; j < cols; j++) if (scale[j] === 0) scale[j] = 1;
  return { scaled: A.map((row) => scale.map((s, j) => (row[j] ?? 0) / s)), scale };
}

const dense = (X: CsrMatrix): number[][] => csrToDense(X).map((r) => Array.from(r));

describe('maxAbsScale', () => {
  it('matches the dense reference, keeps structure and leaves the input alone', () => {
    const A = randomDense(40, 12, 1, [3, 11]);
    const X = csrFromDense(A);
    const before = { ptr: X.ptr.slice(), ind: X.ind.slice(), val: X.val.slice() };
    const { X: S, scale } = maxAbsScale(X);
    const ref = denseReference(A, 12);
    expect(Array.from(scale)).toEqual(ref.scale);
    expect(dense(S)).toEqual(ref.scaled);
    expect(S.cols).toBe(12);
    expect(Array.from(S.ptr)).toEqual(Array.from(X.ptr));
    expect(Array.from(S.ind)).toEqual(Array.from(X.ind));
    expect(X.val).toEqual(before.val);
    expect(X.ind).toEqual(before.ind);
  });

  it('gives all-zero columns scale 1 and puts every other column exactly into [-1, 1] with a ±1', () => {
    const A = randomDense(30, 8, 2, [0, 5]);
    const { X: S, scale } = maxAbsScale(csrFromDense(A));
    expect(scale[0]).toBe(1);
    expect(scale[5]).toBe(1);
    const D = dense(S);
    for (let j = 0; j < 8; j++) {
      const col = D.map((r) => Math.abs(r[j]));
      if (j === 0 || j === 5) expect(col.every((v) => v === 0)).toBe(true);
      else expect(Math.max(...col)).toBe(1);
    }
    // Scaling is idempotent: the scaled matrix needs no further scaling.
    expect(Array.from(maxAbsScale(S).scale)).toEqual(new Array(8).fill(1));
  });

  it('rejects non-finite entries', () => {
    const X = csrFromDense([[1, Infinity]]);
    expect(() => maxAbsScale(X)).toThrow(SodaError);
    expect(() => maxAbsScale(X)).toThrow(/column 1/);
  });
});

describe('applyScale', () => {
  const train = randomDense(25, 6, 3);
  const { scale } = maxAbsScale(csrFromDense(train));

  it('applies stored divisors to other data like the dense reference', () => {
    const test = randomDense(10, 6, 4);
    expect(dense(applyScale(csrFromDense(test), scale))).toEqual(
      test.map((r) => r.map((v, j) => v / scale[j])),
    );
  });

  it('widens a matrix with fewer columns to the scale dimension', () => {
    const test = randomDense(7, 4, 5);
    const out = applyScale(csrFromDense(test), scale);
    expect(out.cols).toBe(6);
    expect(dense(out)).toEqual(test.map((r) => [...r.map((v, j) => v / scale[j]), 0, 0]));
  });

  it('throws on a wider matrix unless truncation is asked for, then drops the extra columns', () => {
    const test = randomDense(9, 9, 6);
    test[0][8] = 5; // make sure an extra column is really present
    const X = csrFromDense(test);
    try {
      applyScale(X, scale);
      throw new Error('expected a throw');
    } catch (e) {
      expect((e as SodaError).code).toBe('E_DATA');
      expect((e as SodaError).message).toContain('9 columns');
      expect((e as SodaError).message).toContain('covers 6');
    }
    const out = applyScale(X, scale, { truncate: true });
    expect(out.cols).toBe(6);
    expect(dense(out)).toEqual(test.map((r) => r.slice(0, 6).map((v, j) => v / scale[j])));
  });

  it('rejects a scale with a zero, negative or non-finite divisor', () => {
    const X = csrFromDense([[1, 2]]);
    for (const bad of [0, -1, NaN, Infinity]) {
      expect(() => applyScale(X, Float64Array.of(1, bad))).toThrow(/scale\[1\]/);
    }
  });
});
