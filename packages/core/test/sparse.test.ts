import { densePositionsFit, gallop, lowerBound, positionIndex, Rng } from '../src';

describe('gallop: lowerBound by steps from a cursor', () => {
  it('equals lowerBound for every target and every valid cursor, on random sorted lists', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 200; trial++) {
      const a = Uint32Array.from(new Set(Array.from({ length: rng.int(60) }, () => rng.int(500)))).sort();
      const len = rng.int(a.length + 1); // a prefix of a, as the master's overflow list is
      for (let q = 0; q < 30; q++) {
        const j = rng.int(520);
        const lb = lowerBound(a, j, 0, len);
        const from = rng.int(lb + 1); // any cursor with a[t] < j before it
        expect(gallop(a, j, from, len)).toBe(lb);
      }
    }
  });
});

describe('positionIndex: where each coordinate sits in a sorted column list', () => {
  it('agrees with lowerBound on and off the columns', () => {
    const rng = new Rng(5);
    const n = 300;
    const cols = Uint32Array.from(new Set(Array.from({ length: 90 }, () => rng.int(n)))).sort();
    const pos = positionIndex(cols, n);
    for (let j = 0; j < n; j++) {
      const lb = lowerBound(cols, j);
      expect(pos[j]).toBe(lb < cols.length && cols[lb] === j ? lb : -1);
    }
  });

  it('is chosen only where it costs at most twice the columns list (n ≤ 6·|cols|)', () => {
    expect(densePositionsFit(47_512, 13_000)).toBe(true);
    expect(densePositionsFit(10_000_000, 200_000)).toBe(false);
    expect(densePositionsFit(600, 100)).toBe(true);
    expect(densePositionsFit(601, 100)).toBe(false);
  });
});
