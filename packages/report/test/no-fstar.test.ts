import { buildFigures } from '../src/figures';
import { parseLogText } from '../src/parse';
import { fig1MeasureOf, fig1Series, runLabels } from '../src/series';
import { fakeLog, fakePoints, type FakeRun } from './fixtures';

/*
 * A run with the data at the workers knows no F*: its log has no fstar and no subopt, only the
 * certified relative gap. Fig. 1 then draws gapRel (log scale) instead of three empty boxes.
 */

const spec: FakeRun = { algo: 'soda', p: 0.1, evals: 7, rate: 0.2, upPerEval: 9, downPerEval: 4 };

/** fakeLog without F*: fstar and subopt dropped, gapRel = 3·subopt (a gap bounds the suboptimality). */
function logWithoutFstar(r: FakeRun): string {
  return fakeLog(r)
    .map((line) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      delete o.fstar;
      if (typeof o.subopt === 'number') {
        if (o.msg === 'progress') o.gapRel = 3 * o.subopt;
        delete o.subopt;
      }
      return JSON.stringify(o);
    })
    .join('\n');
}

describe('the report of a run without F*', () => {
  const runs = parseLogText(logWithoutFstar(spec), 'w').runs;
  const labels = runLabels(runs);

  test('the log really has no subopt, and gapRel on every progress line', () => {
    expect(runs).toHaveLength(1);
    expect(runs[0].progress).toHaveLength(spec.evals);
    expect(runs[0].progress.every((pt) => pt.subopt === null && pt.gapRel !== null)).toBe(true);
    expect(fig1MeasureOf(runs)).toBe('gapRel');
  });

  test('Fig. 1 plots gapRel against time and exchanges, on a log axis', () => {
    const want = fakePoints(spec);
    const time = fig1Series(runs, labels, 'time', undefined, 'gapRel');
    expect(time.map((d) => d.x)).toEqual(want.map((p) => p.elapsedMs / 1000));
    time.forEach((d, i) => expect(d.y / (3 * want[i].subopt)).toBeCloseTo(1, 12));
    const coords = fig1Series(runs, labels, 'coords', undefined, 'gapRel');
    expect(coords.map((d) => d.x)).toEqual(want.map((p) => p.coordsUp + p.coordsDown));
    const figs = buildFigures(runs, labels);
    const fig1 = figs.filter((f) => f.id.startsWith('fig1-'));
    expect(fig1.map((f) => f.id)).toEqual(['fig1-time', 'fig1-epochs', 'fig1-coords']);
    for (const f of fig1) {
      expect(f.spec).not.toBeNull();
      expect(f.series).toBe(1);
      expect(f.title).toMatch(/relative duality gap/);
      expect(JSON.stringify(f.spec)).toMatch(/"type":"log"/);
    }
  });

  test('a run with F* still plots its suboptimality, not the gap', () => {
    const withF = parseLogText(fakeLog(spec).join('\n'), 'f').runs;
    expect(fig1MeasureOf(withF)).toBe('subopt');
    expect(buildFigures(withF, runLabels(withF))[0].title).toMatch(/suboptimality/);
  });
});
