import { parseLogText, type Run } from '../src/parse';
import { buildFigures } from '../src/figures';
import { fig1Series, fig2Data, fig3Series, runLabels } from '../src/series';
import { fakeLog, fakePoints, type FakeRun } from './fixtures';

function runsOf(specs: FakeRun[]): Run[] {
  return parseLogText(specs.flatMap(fakeLog).join('\n'), 'f').runs;
}

describe('Fig. 1 and Fig. 3 series', () => {
  const specs: FakeRun[] = [
    { algo: 'dave-pg', p: 1, evals: 6, rate: 0.3 },
    { algo: 'soda', p: 0.1, evals: 9, rate: 0.1, upPerEval: 7, downPerEval: 3 },
  ];
  const runs = runsOf(specs);
  const labels = runLabels(runs);

  test('subopt against time, epochs and coordinates exchanged, one series per run', () => {
    for (const axis of ['time', 'epochs', 'coords'] as const) {
      const got = fig1Series(runs, labels, axis);
      const want = specs.flatMap((s, r) =>
        fakePoints(s).map((pt) => ({
          series: labels[r],
          x:
            axis === 'time'
              ? pt.elapsedMs / 1000
              : axis === 'epochs'
                ? pt.epoch
                : pt.coordsUp + pt.coordsDown,
          y: pt.subopt,
        })),
      );
      expect(got).toHaveLength(want.length);
      got.forEach((g, i) => {
        expect(g.series).toBe(want[i].series);
        expect(g.x).toBeCloseTo(want[i].x, 12);
        expect(g.y / want[i].y).toBeCloseTo(1, 12);
      });
    }
  });

  test('points a log axis cannot show (null, zero, negative subopt) are left out', () => {
    const lines = fakeLog({ algo: 'soda', p: 0.5, evals: 4 });
    const edit = (i: number, subopt: number | null) => {
      const o = JSON.parse(lines[i]);
      o.subopt = subopt;
      lines[i] = JSON.stringify(o);
    };
    edit(1, null);
    edit(2, 0);
    edit(3, -1e-16);
    const r = parseLogText(lines.join('\n'), 'f').runs;
    const got = fig1Series(r, ['x'], 'epochs');
    expect(got).toHaveLength(1);
    expect(got[0].x).toBe(fakePoints({ algo: 'soda', p: 0.5, evals: 4 })[3].epoch);
  });

  test('series are bounded to the point budget', () => {
    const r = runsOf([{ algo: 'soda', p: 0.5, evals: 300, rate: 0.99 }]);
    const got = fig1Series(r, ['x'], 'epochs', 50);
    expect(got).toHaveLength(50);
    const pts = fakePoints({ algo: 'soda', p: 0.5, evals: 300 });
    expect(got[0].x).toBe(pts[0].epoch);
    expect(got[49].x).toBe(pts[299].epoch);
  });

  test('support size against epochs', () => {
    const got = fig3Series(runs, labels);
    const want = specs.flatMap((s, r) => fakePoints(s).map((pt) => [labels[r], pt.epoch, pt.supportPct]));
    expect(got.map((g) => [g.series, g.x, g.y])).toEqual(want);
  });
});

describe('Fig. 2 aggregation', () => {
  // madelon-like: 3 runs at each of three p, different speeds; the target 1e-4 needs
  // ceil(log(1e-4)/log(rate)) + 1 evaluations, if the run has that many.
  const specs: FakeRun[] = [
    { algo: 'soda', p: 0.01, evals: 20, rate: 0.5, upPerEval: 10 }, // reaches 1e-4 at eval 14
    { algo: 'soda', p: 0.01, evals: 20, rate: 0.4, upPerEval: 10 }, // at eval 11
    { algo: 'soda', p: 0.01, evals: 20, rate: 2, reason: 'diverged' }, // grows: never
    { algo: 'soda', p: 0.1, evals: 5, rate: 0.5, reason: 'max-epochs' }, // too short: never
    { algo: 'soda', p: 0.1, evals: 30, rate: 0.6, upPerEval: 20 },
    { algo: 'dave-pg', p: 1, evals: 40, rate: 0.7, upPerEval: 30 },
    { algo: 'dave-pg', p: 1, evals: 40, rate: 0.75, upPerEval: 30 },
    { algo: 'sync-pg', p: 1, evals: 40, rate: 0.1 }, // not Algorithm 1: not in Fig. 2
  ];
  const runs = runsOf(specs);
  const labels = runLabels(runs);

  /** Independent reference: walk the fake points and find the first ≤ target. */
  function expected(s: FakeRun, target: number): number | null {
    if (s.reason === 'diverged') return null;
    for (const pt of fakePoints(s)) if (pt.subopt <= target) return pt.coordsUp + pt.coordsDown;
    return null;
  }

  test('exchanges per run, mean per p, diverged count per p, with a given target', () => {
    const [d] = fig2Data(runs, labels, 1e-4);
    expect(d.dataset).toBe('madelon');
    expect(d.target).toBe(1e-4);
    expect(d.runs).toHaveLength(7);
    expect(d.groups.map((g) => g.p)).toEqual([0.01, 0.1, 1]);
    for (const g of d.groups) {
      const atP = specs.filter((s) => s.algo !== 'sync-pg' && s.p === g.p).map((s) => expected(s, 1e-4));
      const ok = atP.filter((v): v is number => v !== null);
      expect(g.runs).toBe(atP.length);
      expect(g.diverged).toBe(atP.length - ok.length);
      expect(g.exchanges).toEqual(ok);
      if (ok.length === 0) expect(g.mean).toBeNull();
      else expect(g.mean).toBeCloseTo(ok.reduce((a, b) => a + b, 0) / ok.length, 9);
    }
    expect(d.groups.map((g) => g.diverged)).toEqual([1, 1, 0]);
    // spot check one by hand: rate 0.5 reaches 1e-4 at eval 14 (0.5^14 ≈ 6.1e-5): 15 × (10 + 40)
    expect(d.groups[0].exchanges[0]).toBe(15 * 50);
  });

  test('without a target: the tol logged in each run’s start line', () => {
    const withTol = runsOf(specs.map((s) => ({ ...s, tol: 1e-3 })));
    const [d] = fig2Data(withTol, runLabels(withTol));
    expect(d.target).toBe(1e-3);
    const firstP = specs.filter((s) => s.p === 0.01).map((s) => expected(s, 1e-3));
    expect(d.groups[0].exchanges).toEqual(firstP.filter((v) => v !== null));
  });

  test('without any target: a run reached it iff it stopped for tol, with its final exchanges', () => {
    const [d] = fig2Data(runs, labels);
    expect(d.target).toBeNull();
    const byReason = specs
      .filter((s) => s.algo !== 'sync-pg')
      .map((s) => {
        if ((s.reason ?? 'tol') !== 'tol') return null;
        const last = fakePoints(s)[s.evals - 1];
        return last.coordsUp + last.coordsDown;
      });
    expect(d.runs.map((r) => r.exchanges)).toEqual(byReason);
  });

  test('no Fig. 2 without repeated runs at several p', () => {
    const single = runsOf([
      { algo: 'soda', p: 0.1, evals: 3 },
      { algo: 'soda', p: 0.1, evals: 3 },
    ]);
    expect(fig2Data(single, runLabels(single), 1e-2)).toEqual([]);
    const once = runsOf([
      { algo: 'soda', p: 0.1, evals: 3 },
      { algo: 'dave-pg', p: 1, evals: 3 },
    ]);
    expect(fig2Data(once, runLabels(once), 1e-2)).toEqual([]);
  });

  test('figures: Fig. 1 ×3 and Fig. 3 per dataset, Fig. 2 only where runs repeat', () => {
    const mixed = runsOf([
      ...specs,
      { algo: 'dave-pg', p: 1, evals: 5, dataset: 'rcv1' },
      { algo: 'soda', p: 0.1, evals: 5, dataset: 'rcv1' },
    ]);
    const figs = buildFigures(mixed, runLabels(mixed), { target: 1e-4 });
    expect(figs.map((f) => [f.id, f.series])).toEqual([
      ['fig1-time-madelon', 8],
      ['fig1-epochs-madelon', 8],
      ['fig1-coords-madelon', 8],
      ['fig3-support-madelon', 8],
      ['fig2-exchanges-madelon', 3],
      ['fig1-time-rcv1', 2],
      ['fig1-epochs-rcv1', 2],
      ['fig1-coords-rcv1', 2],
      ['fig3-support-rcv1', 2],
    ]);
  });
});
