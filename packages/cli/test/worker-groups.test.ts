import { workerGroups } from '../src/commands/worker-groups';

describe('workerGroups: the local workers split among processes', () => {
  it('one process a worker, or as even as can be', () => {
    expect(workerGroups(3, 0, 3)).toEqual([0, 1, 2].map((first) => ({ first, count: 1, slow: false })));
    expect(workerGroups(20, 0, 2)).toEqual([
      { first: 0, count: 10, slow: false },
      { first: 10, count: 10, slow: false },
    ]);
    expect(workerGroups(7, 0, 3).map((g) => g.count)).toEqual([3, 2, 2]);
    expect(workerGroups(2, 0, 5)).toHaveLength(2); // never an empty process
  });

  it('keeps slow and normal workers apart, the slow ones (the first) first', () => {
    expect(workerGroups(20, 4, 2)).toEqual([
      { first: 0, count: 4, slow: true },
      { first: 4, count: 16, slow: false },
    ]);
    expect(workerGroups(3, 3, 2)).toEqual([
      { first: 0, count: 2, slow: true },
      { first: 2, count: 1, slow: true },
    ]);
    // one process asked for and both kinds: two, since a process has one slowdown
    expect(workerGroups(5, 1, 1).map((g) => [g.count, g.slow])).toEqual([
      [1, true],
      [4, false],
    ]);
    expect(workerGroups(4, 9, 2).every((g) => g.slow)).toBe(true); // --slow-workers above M: all slow
  });

  it('covers every worker once, in order, for every M, slow count and process count up to 12', () => {
    for (let m = 1; m <= 12; m++)
      for (let s = 0; s <= m; s++)
        for (let p = 1; p <= 12; p++) {
          const gs = workerGroups(m, s, p);
          let at = 0;
          for (const g of gs) {
            expect(g.first).toBe(at);
            expect(g.count).toBeGreaterThan(0);
            // a group is all slow (first < s) or all normal
            expect(g.slow).toBe(g.first < s);
            expect(g.first + g.count <= s || g.first >= s).toBe(true);
            at += g.count;
          }
          expect(at).toBe(m);
          const both = s > 0 && s < m;
          expect(gs.length).toBe(both && p === 1 ? 2 : Math.min(p, m));
          for (const slow of [true, false]) {
            const sizes = gs.filter((g) => g.slow === slow).map((g) => g.count);
            if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          }
        }
  });
});
