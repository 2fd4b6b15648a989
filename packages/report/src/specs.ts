import type { TopLevelSpec } from 'vega-lite';
import type { Fig2Data, XY } from './series';

/*
 * Vega-Lite specifications of the paper's figures. Data is inline (no loader, no network), the
 * font is the generic sans-serif (nothing to fetch), and every line chart names its series
 * explicitly so the legend keeps the runs' order and lists each run once.
 */

const WIDTH = 560;
const HEIGHT = 300;

/** A five-pointed star in Vega's unit square: the paper marks the mean of Fig. 2 with a star. */
export const STAR_PATH = starPath();

function starPath(): string {
  const pts: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = i % 2 === 0 ? 1 : 0.4;
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    pts.push(`${(r * Math.cos(a)).toFixed(4)},${(r * Math.sin(a)).toFixed(4)}`);
  }
  return `M${pts.join('L')}Z`;
}

const CONFIG = {
  font: 'sans-serif',
  background: 'white',
  legend: { labelLimit: 320 },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
};

export interface AxisSpec {
  readonly title: string;
  readonly log?: boolean;
  readonly format?: string;
}

/** Colours: ten distinct hues while they last, twenty after. */
function colorScale(domain: readonly string[]) {
  return {
    domain: [...domain],
    scheme: domain.length <= 10 ? ('category10' as const) : ('tableau20' as const),
  };
}

/** One line per series, x and y as given; `domain` lists the series in legend order. */
export function lineChartSpec(
  title: string,
  data: readonly XY[],
  domain: readonly string[],
  x: AxisSpec,
  y: AxisSpec,
): TopLevelSpec {
  const axisOf = (field: 'x' | 'y', a: AxisSpec) => ({
    field,
    type: 'quantitative' as const,
    title: a.title,
    scale: a.log ? { type: 'log' as const } : { zero: false },
    axis: a.format !== undefined ? { format: a.format } : {},
  });
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values: data.map((d) => ({ ...d })) },
    mark: { type: 'line', clip: true, strokeWidth: 1.6 },
    encoding: {
      x: axisOf('x', x),
      y: axisOf('y', y),
      color: {
        field: 'series',
        type: 'nominal',
        title: 'run',
        scale: colorScale(domain),
        legend: { symbolLimit: domain.length + 1, symbolType: 'stroke' },
      },
      order: { field: 'x', type: 'quantitative' },
    },
  };
}

/** Log-scale x domain around the p values, with room for the marks at both ends. */
function pDomain(ps: readonly number[]): [number, number] {
  return [Math.min(...ps) / 2, Math.max(...ps) * 2];
}

/**
 * Fig. 2: for each p, the exchanges each run needed to reach the target (dots), their mean (star),
 * and below, how many runs diverged or never reached it.
 */
export function fig2Spec(title: string, d: Fig2Data): TopLevelSpec {
  const ps = d.groups.map((g) => g.p);
  const x = {
    field: 'p',
    type: 'quantitative' as const,
    title: 'p (probability of sampling a coordinate outside the support)',
    scale: { type: 'log' as const, domain: pDomain(ps) },
  };
  const dots = d.runs
    .filter((r) => !r.diverged)
    .map((r) => ({ p: r.p, exchanges: r.exchanges, run: r.label }));
  const means = d.groups
    .filter((g) => g.mean !== null)
    .map((g) => ({ p: g.p, exchanges: g.mean, runs: g.runs }));
  const counts = d.groups.map((g) => ({ p: g.p, diverged: g.diverged, text: `${g.diverged}/${g.runs}` }));
  const yTitle = 'coordinates exchanged to reach the target';
  return {
    title,
    config: CONFIG,
    vconcat: [
      {
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: dots },
            mark: { type: 'point', filled: true, size: 45, opacity: 0.6, color: '#1f77b4' },
            encoding: { x, y: { field: 'exchanges', type: 'quantitative', title: yTitle } },
          },
          {
            data: { values: means },
            mark: { type: 'point', shape: STAR_PATH, filled: true, size: 260, color: '#d62728' },
            encoding: { x, y: { field: 'exchanges', type: 'quantitative', title: yTitle } },
          },
        ],
      },
      {
        width: WIDTH,
        height: 110,
        data: { values: counts },
        layer: [
          {
            mark: { type: 'bar', size: 12, color: '#7f7f7f' },
            encoding: {
              x,
              y: {
                field: 'diverged',
                type: 'quantitative',
                title: 'diverged runs',
                axis: { tickMinStep: 1 },
              },
            },
          },
          {
            mark: { type: 'text', dy: -7, fontSize: 11 },
            encoding: { x, y: { field: 'diverged', type: 'quantitative' }, text: { field: 'text' } },
          },
        ],
      },
    ],
  };
}
