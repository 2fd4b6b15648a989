import { Rng, type SparseVector } from '@soda/core';
import { CoordMap } from '../src/coord-map';
import { ShardIterate } from '../src/shard-iterate';

/** k distinct sorted coordinates of [0, n) */
function sortedSample(rng: Rng, n: number, k: number): Uint32Array {
  const s = new Set<number>();
  while (s.size < k) s.add(Math.floor(rng.next() * n));
  return Uint32Array.from(s).sort();
}

describe('CoordMap: a typed open-addressing map of coordinates', () => {
  it('agrees with a Map through random adds, sets and gets, across growth', () => {
    const rng = new Rng(7);
    const m = new CoordMap(2);
    const ref = new Map<number, number>();
    for (let t = 0; t < 20_000; t++) {
      // keys from a small range (collisions, repeats) and a huge one (up to 2³² − 2)
      const j = rng.next() < 0.5 ? Math.floor(rng.next() * 3000) : Math.floor(rng.next() * 0xfffffffe);
      const x = rng.next() - 0.5;
      const op = rng.next();
      if (op < 0.5) {
        m.add(j, x);
        ref.set(j, (ref.get(j) ?? 0) + x);
      } else if (op < 0.7) {
        m.set(j, x);
        ref.set(j, x);
      } else expect(m.get(j)).toBe(ref.get(j) ?? 0);
      expect(m.has(j)).toBe(ref.has(j));
    }
    expect(m.size).toBe(ref.size);
    expect(Array.from(m.sortedKeys())).toEqual([...ref.keys()].sort((a, b) => a - b));
    const seen = new Map<number, number>();
    m.forEach((j, v) => seen.set(j, v));
    expect(seen).toEqual(ref);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get([...ref.keys()][0])).toBe(0);
  });

  it('refuses a key that is not a coordinate', () => {
    const m = new CoordMap();
    expect(() => m.set(0xffffffff, 1)).toThrow(/not an integer in \[0, 2³² − 1\)/);
    expect(() => m.add(-1, 1)).toThrow(/-1 is not an integer/);
    expect(() => m.add(1.5, 1)).toThrow(/1.5 is not an integer/);
  });
});

describe('ShardIterate: w_i on its columns plus an overflow', () => {
  it.each([
    ['searched', false],
    ['indexed densely', true],
  ])(
    'addSorted/get/toSparse/forEachIn equal a dense w_i through random sorted and unsorted Δ (cols_i %s)',
    (_, layout) => {
      const rng = new Rng(11);
      for (const [n, c] of [
        [500, 0],
        [500, 37],
        [5000, 4000],
        [100_000, 3000],
      ]) {
        const cols = sortedSample(rng, n, c);
        const wi = new ShardIterate(n, cols, layout);
        expect(wi.indexed).toBe(layout);
        const dense = new Float64Array(n);
        for (let u = 0; u < 60; u++) {
          if (u === 20 || u === 40) {
            // a take-over or restart loads w_i wholesale (u = 40: to 0), the overflow's places change
            const keep = u === 20 ? sortedSample(rng, n, Math.min(n, 50)) : new Uint32Array(0);
            const v = Float64Array.from(keep, () => rng.next() - 0.5);
            wi.load({ n, idx: keep, val: v });
            dense.fill(0);
            keep.forEach((j, t) => (dense[j] = v[t]));
          }
          // Δ mostly on the columns, some off them (the overflow), sometimes dense runs
          const k = 1 + Math.floor(rng.next() * Math.min(n, 400));
          const idx = rng.next() < 0.8 && c > 0 ? pick(rng, cols, k) : sortedSample(rng, n, k);
          const val = Float64Array.from(idx, () => (rng.next() < 0.1 ? 0 : rng.next() - 0.5));
          const unsorted = rng.next() < 0.1; // addSorted tolerates an unsorted Δ (searches afresh)
          const delta: SparseVector = unsorted
            ? { n, idx: idx.slice().reverse(), val: val.slice().reverse() }
            : { n, idx, val };
          // locate: each coordinate's position in cols_i, −1 off them (what the claim check and addSorted share)
          const at = wi.locate(delta);
          for (let t = 0; t < delta.idx.length; t++) expect(at[t]).toBe(cols.indexOf(delta.idx[t]));
          wi.addSorted(delta);
          for (let t = 0; t < idx.length; t++) dense[idx[t]] += val[t];
        }
        for (let t = 0; t < 200; t++) {
          const j = Math.floor(rng.next() * n);
          expect(wi.get(j)).toBe(dense[j]);
        }
        expect(wi.toDense()).toEqual(dense);
        const sp = wi.toSparse();
        const nz = [...dense.keys()].filter((j) => dense[j] !== 0);
        expect(Array.from(sp.idx)).toEqual(nz);
        expect(Array.from(sp.val)).toEqual(nz.map((j) => dense[j]));
        // forEachIn over blocks visits every stored coordinate once, in order
        const seen: number[] = [];
        const cur = { a: 0, b: 0 };
        wi.flush();
        for (let from = 0; from < n; from += 777)
          wi.forEachIn(from, Math.min(n, from + 777), cur, (j, x) => {
            expect(x).toBe(dense[j]);
            seen.push(j);
          });
        expect(seen).toEqual([...seen].sort((a, b) => a - b));
        expect(new Set(seen).size).toBe(seen.length);
        for (const j of nz) expect(seen).toContain(j);
      }
    },
  );

  it('indexes cols_i densely only where core’s rule says it fits (n ≤ 6·|cols_i|)', () => {
    expect(new ShardIterate(600, sortedSample(new Rng(1), 600, 100)).indexed).toBe(true);
    expect(new ShardIterate(100_000, sortedSample(new Rng(1), 100_000, 3000)).indexed).toBe(false);
  });
});

/** k distinct entries of the sorted list `from`, sorted */
function pick(rng: Rng, from: Uint32Array, k: number): Uint32Array {
  const at = sortedSample(rng, from.length, Math.min(k, from.length));
  return Uint32Array.from(at, (t) => from[t]);
}
