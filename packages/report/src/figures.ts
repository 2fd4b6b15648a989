import type { TopLevelSpec } from 'vega-lite';
import type { Run } from './parse';
import {
  datasetsOf,
  fig1MeasureOf,
  fig1Series,
  fig2Data,
  fig3Series,
  MAX_POINTS_PER_SERIES,
  type Fig1Axis,
  type XY,
} from './series';
import { fig2Spec, lineChartSpec } from './specs';

/** One figure of the report: its spec, or a note saying why there is nothing to draw. */
export interface Figure {
  /** Unique, file-name safe: also the .svg name under --svg. */
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  /** Lines (or p values, for Fig. 2) drawn: the browser test counts them. */
  readonly series: number;
  readonly spec: TopLevelSpec | null;
}

export interface FigureOptions {
  /** Fig. 2's target suboptimality; default: each run's logged tol, else its own stopping rule. */
  readonly target?: number;
  readonly maxPoints?: number;
}

const FIG1: { axis: Fig1Axis; key: string; x: string; what: string; format?: string }[] = [
  { axis: 'time', key: 'time', x: 'time (s)', what: 'wall-clock time' },
  { axis: 'epochs', key: 'epochs', x: 'epochs (updates / M)', what: 'epochs' },
  {
    axis: 'coords',
    key: 'coords',
    x: 'coordinates exchanged (up + down)',
    what: 'coordinates exchanged',
    format: '~s',
  },
];

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'data'
  );
}

function seriesIn(data: readonly XY[], labels: readonly string[]): string[] {
  const present = new Set(data.map((d) => d.series));
  return labels.filter((l) => present.has(l));
}

/** The report's figures, grouped by dataset (subopt of different problems do not share a scale). */
export function buildFigures(
  runs: readonly Run[],
  labels: readonly string[],
  opts: FigureOptions = {},
): Figure[] {
  const max = opts.maxPoints ?? MAX_POINTS_PER_SERIES;
  const datasets = datasetsOf(runs);
  const several = datasets.length > 1;
  const usedIds = new Set<string>();
  const idFor = (base: string, dataset: string): string => {
    let id = several ? `${base}-${slug(dataset)}` : base;
    for (let i = 2; usedIds.has(id); i++) id = `${several ? `${base}-${slug(dataset)}` : base}-${i}`;
    usedIds.add(id);
    return id;
  };
  const fig2ByDataset = new Map(fig2Data(runs, labels, opts.target).map((d) => [d.dataset, d]));
  const figures: Figure[] = [];
  for (const dataset of datasets) {
    const idx = runs.map((r, i) => (r.start.dataset === dataset ? i : -1)).filter((i) => i >= 0);
    const dsRuns = idx.map((i) => runs[i]);
    const dsLabels = idx.map((i) => labels[i]);
    const on = several ? ` · ${dataset}` : '';
    // without F* (data at the workers) the certified gap (F − D)/|D| ≥ (F − F*)/F*·F*/|D| is drawn instead
    const measure = fig1MeasureOf(dsRuns);
    const what = measure === 'subopt' ? 'suboptimality' : 'relative duality gap';
    for (const f of FIG1) {
      const data = fig1Series(dsRuns, dsLabels, f.axis, max, measure);
      const domain = seriesIn(data, dsLabels);
      const title = `Fig. 1 — ${what} vs ${f.what}${on}`;
      figures.push({
        id: idFor(`fig1-${f.key}`, dataset),
        title,
        caption:
          measure === 'subopt'
            ? `(F(w) − F*) / F* on a log scale against ${f.what}, one line per run. ` +
              'Points with no known F* or a non-positive suboptimality are left out.'
            : `No run of this dataset knew F*: the certified duality gap (F(w) − D(θ)) / |D(θ)|, an upper ` +
              `bound on the suboptimality, on a log scale against ${f.what}, one line per run.`,
        series: domain.length,
        spec:
          data.length === 0
            ? null
            : lineChartSpec(
                title,
                data,
                domain,
                { title: f.x, format: f.format },
                {
                  title: measure === 'subopt' ? 'suboptimality' : 'relative duality gap',
                  log: true,
                  format: '.0e',
                },
              ),
      });
    }
    const supp = fig3Series(dsRuns, dsLabels, max);
    const suppDomain = seriesIn(supp, dsLabels);
    const title3 = `Fig. 3 — support size vs epochs${on}`;
    figures.push({
      id: idFor('fig3-support', dataset),
      title: title3,
      caption: 'Non-zero coordinates of w, as a percentage of n, against epochs.',
      series: suppDomain.length,
      spec:
        supp.length === 0
          ? null
          : lineChartSpec(
              title3,
              supp,
              suppDomain,
              { title: 'epochs (updates / M)' },
              { title: 'support size (% of n)' },
            ),
    });
    const f2 = fig2ByDataset.get(dataset);
    if (f2 !== undefined) {
      const target =
        f2.target !== null ? `suboptimality ${f2.target.toExponential(0)}` : "each run's tolerance";
      const title2 = `Fig. 2 — exchanges to reach ${target}${on}`;
      figures.push({
        id: idFor('fig2-exchanges', dataset),
        title: title2,
        caption:
          `Dots: coordinates exchanged (up + down) until each run reached ${target}; star: their mean at ` +
          'each p. Below: runs that diverged or never reached the target, out of the runs at that p.',
        series: f2.groups.length,
        spec: fig2Spec(title2, f2),
      });
    }
  }
  return figures;
}
