import { gallop, lowerBound, Rng } from '../src';

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
