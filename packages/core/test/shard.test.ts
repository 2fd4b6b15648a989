import { SodaError } from '../src/errors';
import { csrToDense } from '../src/matrix';
import { Rng } from '../src/rng';
import { shardContiguous, shardDataset, shardShuffled, shardWeights } from '../src/shard';

const CASES: [number, number][] = [
  [1, 1],
  [10, 1],
  [10, 3],
  [10, 10],
  [97, 8],
  [1000, 7],
];

/** Every row 0..m−1 appears in exactly one part. */
function expectPartition(parts: Uint32Array[], m: number): void {
  const seen = new Uint8Array(m);
  for (const part of parts) for (const r of part) seen[r]++;
  expect(seen.every((c) => c === 1)).toBe(true);
  expect(parts.reduce((s, p) => s + p.length, 0)).toBe(m);
}

function expectBalanced(parts: Uint32Array[], M: number): void {
  expect(parts.length).toBe(M);
  const sizes = parts.map((p) => p.length);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
}

describe('shardContiguous', () => {
  it.each(CASES)('m = %d, M = %d: balanced partition in order', (m, M) => {
    const parts = shardContiguous(m, M);
    expectPartition(parts, m);
    expectBalanced(parts, M);
    const flat = parts.flatMap((p) => Array.from(p));
    expect(flat).toEqual(Array.from({ length: m }, (_, i) => i));
  });
});

describe('shardShuffled', () => {
  it.each(CASES)('m = %d, M = %d: balanced partition, each part ascending', (m, M) => {
    const parts = shardShuffled(m, M, 42);
    expectPartition(parts, m);
    expectBalanced(parts, M);
    for (const p of parts) for (let k = 1; k < p.length; k++) expect(p[k]).toBeGreaterThan(p[k - 1]);
  });

  it('is determined by the seed', () => {
    const a = shardShuffled(1000, 7, 1);
    expect(shardShuffled(1000, 7, 1)).toEqual(a);
    expect(shardShuffled(1000, 7, 2)).not.toEqual(a);
    expect(a).not.toEqual(shardContiguous(1000, 7));
  });

  it('reaches every split of 4 rows into 2 pairs across seeds', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) seen.add(shardShuffled(4, 2, seed)[0].join(','));
    expect(seen.size).toBe(6); // C(4, 2) choices of the first part
  });
});

describe('shardWeights', () => {
  it('gives π_i = |S_i| / m summing to 1', () => {
    for (const [m, M] of CASES) {
      const parts = shardShuffled(m, M, 3);
      const pi = shardWeights(parts);
      expect(pi.length).toBe(M);
      parts.forEach((p, i) => expect(pi[i]).toBe(p.length / m));
      expect(pi.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
    }
  });

  it('rejects shards without rows', () => {
    expect(() => shardWeights([new Uint32Array(0)])).toThrow(SodaError);
  });
});

describe('shardDataset', () => {
  const rng = new Rng(9);
  const rows = 23;
  const cols = 6;
  const D = Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => (rng.next() < 0.5 ? 0 : rng.normal())),
  );
  const ptr = new Float64Array(rows + 1);
  const ind: number[] = [];
  const val: number[] = [];
  D.forEach((row, i) => {
    row.forEach((v, j) => {
      if (v !== 0) {
        ind.push(j);
        val.push(v);
      }
    });
    ptr[i + 1] = ind.length;
  });
  const ds = {
    X: { rows, cols, ptr, ind: Uint32Array.from(ind), val: Float64Array.from(val) },
    y: Float64Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 1 : -1)),
  };

  it('gives each shard exactly its rows and labels', () => {
    const parts = shardShuffled(rows, 4, 5);
    const shards = shardDataset(ds, parts);
    shards.forEach((s, i) => {
      const ids = Array.from(parts[i]);
      expect(csrToDense(s.X).map((r) => Array.from(r))).toEqual(ids.map((r) => D[r]));
      expect(Array.from(s.y)).toEqual(ids.map((r) => ds.y[r]));
      expect(s.X.cols).toBe(cols);
    });
    expect(shards.reduce((s, d) => s + d.X.ind.length, 0)).toBe(ind.length);
  });

  it('rejects a part naming a row outside the dataset', () => {
    expect(() => shardDataset(ds, [Uint32Array.of(0, rows)])).toThrow(/row 23/);
  });
});

describe('argument checks', () => {
  it.each([
    [0, 1],
    [5, 0],
    [5, 6],
    [5.5, 2],
    [5, 1.5],
    [NaN, 1],
    [-3, 1],
  ])('m = %d, M = %d is E_CONFIG', (m, M) => {
    for (const f of [() => shardContiguous(m, M), () => shardShuffled(m, M, 1)]) {
      expect(f).toThrow(SodaError);
      try {
        f();
      } catch (e) {
        expect((e as SodaError).code).toBe('E_CONFIG');
      }
    }
  });

  it('rejects a non-integer seed', () => {
    expect(() => shardShuffled(10, 2, 0.5)).toThrow(/seed/);
  });
});
