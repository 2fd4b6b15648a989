import type { ProgressPoint, Run } from './parse';

/*
 * From runs to the numbers each figure plots. Everything here is plain data, so the tests check
 * the figures' content without rendering anything.
 */

/** At most this many points per line: a long run logs tens of thousands of progress lines. */
export const MAX_POINTS_PER_SERIES = 2000;

/** The paper's names: DAve-PG is SODA at p = 1; the synchronous baseline is sync-PG. */
export function baseLabel(algo: string, p: number): string {
  if (algo === 'dave-pg') return 'DAve-PG';
  if (algo === 'soda') return `SODA p=${p}`;
  if (algo === 'sync-pg') return 'sync-PG';
  return `${algo} p=${p}`;
}

/** Distinct datasets in order of first appearance. */
export function datasetsOf(runs: readonly Run[]): string[] {
  return [...new Set(runs.map((r) => r.start.dataset))];
}

/**
 * One unique label per run: algorithm and p, the dataset when the runs span several, and `#i`
 * when the same label repeats (repeated runs at one p), so every run keeps its own line and colour.
 */
export function runLabels(runs: readonly Run[]): string[] {
  const several = datasetsOf(runs).length > 1;
  const base = runs.map((r) => {
    const b = baseLabel(r.start.algo, r.start.p);
    return several ? `${b} · ${r.start.dataset}` : b;
  });
  const total = new Map<string, number>();
  for (const b of base) total.set(b, (total.get(b) ?? 0) + 1);
  const seen = new Map<string, number>();
  return base.map((b) => {
    if (total.get(b)! === 1) return b;
    const i = (seen.get(b) ?? 0) + 1;
    seen.set(b, i);
    return `${b} #${i}`;
  });
}

/** Evenly spaced picks that always keep the first and the last point (where a run ends matters). */
export function downsample<T>(pts: readonly T[], max = MAX_POINTS_PER_SERIES): T[] {
  if (pts.length <= max) return pts.slice();
  if (max < 2) return pts.slice(-max);
  const out: T[] = [];
  const last = pts.length - 1;
  for (let j = 0; j < max; j++) out.push(pts[Math.round((j * last) / (max - 1))]);
  return out;
}

export interface XY {
  readonly series: string;
  readonly x: number;
  readonly y: number;
}

export type Fig1Axis = 'time' | 'epochs' | 'coords';

/** Coordinates exchanged so far: both directions, as in the paper's Fig. 1 (right). */
export function coordsExchanged(pt: { coordsUp: number; coordsDown: number }): number {
  return pt.coordsUp + pt.coordsDown;
}

function xOf(pt: ProgressPoint, axis: Fig1Axis): number {
  if (axis === 'time') return pt.elapsedMs / 1000;
  if (axis === 'epochs') return pt.epoch;
  return coordsExchanged(pt);
}

const positive = (v: number | null | undefined): boolean => typeof v === 'number' && v > 0;

/** What Fig. 1 plots: the suboptimality (F* known), or the certified relative duality gap (F* unknown). */
export type Fig1Measure = 'subopt' | 'gapRel';

/**
 * Fig. 1: suboptimality (or, without F*, the relative duality gap (F − D)/|D|, which bounds it) against
 * time (s), epochs or coordinates exchanged. Only values > 0 can sit on a log axis; a null (not known,
 * or a diverged objective) or non-positive value is left out.
 */
export function fig1Series(
  runs: readonly Run[],
  labels: readonly string[],
  axis: Fig1Axis,
  max?: number,
  measure: Fig1Measure = 'subopt',
): XY[] {
  const out: XY[] = [];
  runs.forEach((run, r) => {
    const pts = run.progress.filter((pt) => positive(pt[measure]));
    for (const pt of downsample(pts, max))
      out.push({ series: labels[r], x: xOf(pt, axis), y: pt[measure] as number });
  });
  return out;
}

/** 'subopt' when some run of these logged a positive suboptimality, else 'gapRel' (no F*: data at the workers). */
export function fig1MeasureOf(runs: readonly Run[]): Fig1Measure {
  const some = (m: Fig1Measure) => runs.some((run) => run.progress.some((pt) => positive(pt[m])));
  return some('subopt') || !some('gapRel') ? 'subopt' : 'gapRel';
}

/** Fig. 3: support size (% of non-zero coordinates of w) against epochs. */
export function fig3Series(runs: readonly Run[], labels: readonly string[], max?: number): XY[] {
  const out: XY[] = [];
  runs.forEach((run, r) => {
    const pts = run.progress.filter((pt) => Number.isFinite(pt.supportPct));
    for (const pt of downsample(pts, max)) out.push({ series: labels[r], x: pt.epoch, y: pt.supportPct });
  });
  return out;
}

// ---- Fig. 2: exchanges to reach the target, per run and per p --------------------------------------

export interface Fig2Run {
  readonly label: string;
  readonly p: number;
  /** Coordinates exchanged when the target was first reached; null when it never was. */
  readonly exchanges: number | null;
  /** summary.reason 'diverged', or the target never reached. */
  readonly diverged: boolean;
}

export interface Fig2Group {
  readonly p: number;
  readonly runs: number;
  readonly exchanges: number[];
  /** Mean exchanges over the runs that reached the target; null when none did. */
  readonly mean: number | null;
  readonly diverged: number;
}

export interface Fig2Data {
  readonly dataset: string;
  /** The suboptimality target used, or null when each run's own stopping rule ('tol') decided. */
  readonly target: number | null;
  readonly runs: Fig2Run[];
  readonly groups: Fig2Group[];
}

/**
 * When was the target reached? With a target t (given, or logged in the run's start line): at the
 * first progress line with subopt ≤ t. Without one: the run reached its own tolerance iff it
 * stopped for 'tol', and the exchanges are those at the end of the run.
 */
export function exchangesToTarget(run: Run, target: number | null): number | null {
  const t = target ?? run.start.tol;
  if (t !== null) {
    const hit = run.progress.find((pt) => pt.subopt !== null && pt.subopt <= t);
    return hit === undefined ? null : coordsExchanged(hit);
  }
  if (run.summary?.reason !== 'tol') return null;
  return coordsExchanged(run.summary);
}

/** Only SODA and DAve-PG runs (the p-family of Algorithm 1) enter Fig. 2. */
function isAlgorithm1(run: Run): boolean {
  return run.start.algo === 'soda' || run.start.algo === 'dave-pg';
}

/**
 * One Fig. 2 per dataset that has repeated runs: at least two distinct p and some p run more than
 * once. Groups are sorted by p.
 */
export function fig2Data(runs: readonly Run[], labels: readonly string[], target?: number): Fig2Data[] {
  const out: Fig2Data[] = [];
  for (const dataset of datasetsOf(runs)) {
    const picked: Fig2Run[] = [];
    runs.forEach((run, r) => {
      if (run.start.dataset !== dataset || !isAlgorithm1(run)) return;
      const exchanges = exchangesToTarget(run, target ?? null);
      const diverged = run.summary?.reason === 'diverged' || exchanges === null;
      picked.push({ label: labels[r], p: run.start.p, exchanges: diverged ? null : exchanges, diverged });
    });
    const byP = new Map<number, Fig2Run[]>();
    for (const fr of picked) byP.set(fr.p, [...(byP.get(fr.p) ?? []), fr]);
    const repeated = [...byP.values()].some((g) => g.length > 1);
    if (byP.size < 2 || !repeated) continue;
    const groups = [...byP.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([p, g]) => {
        const exchanges = g.filter((fr) => !fr.diverged).map((fr) => fr.exchanges!);
        const mean = exchanges.length > 0 ? exchanges.reduce((s, v) => s + v, 0) / exchanges.length : null;
        return { p, runs: g.length, exchanges, mean, diverged: g.length - exchanges.length };
      });
    const tols = new Set(
      runs.filter((run) => run.start.dataset === dataset && isAlgorithm1(run)).map((run) => run.start.tol),
    );
    const shownTarget = target ?? (tols.size === 1 ? [...tols][0] : null);
    out.push({ dataset, target: shownTarget, runs: picked, groups });
  }
  return out;
}
