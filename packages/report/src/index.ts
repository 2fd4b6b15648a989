import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SodaError } from '@soda/core';
import { writeFileDurable } from '@soda/core';
import { buildFigures } from './figures';
import { pageHtml, runRow, type RenderedFigure } from './html';
import { readRuns } from './parse';
import { prefixSvgIds, renderSvg } from './render';
import { runLabels } from './series';

export { parseLogText, readRuns, type ParseResult, type Run } from './parse';
export { runLabels, fig2Data, exchangesToTarget, downsample } from './series';

export interface ReportOptions {
  /** The HTML file to write. */
  readonly out: string;
  /** Also write each figure as DIR/<figure id>.svg. */
  readonly svgDir?: string;
  /** Fig. 2's target suboptimality (default: the runs' logged tol, else each run's own stop). */
  readonly target?: number;
}

/** What was written, for the CLI to print. */
export interface ReportInfo {
  readonly runs: number;
  readonly figures: { id: string; series: number; svg: string | null }[];
  readonly junkLines: number;
  readonly badLines: number;
}

/**
 * `soda report`: runs' JSON-lines logs → one self-contained HTML page with the paper's figures
 * (Fig. 1, 2, 3) and a table of the runs; optionally one .svg per figure.
 */
export async function writeReport(logFiles: string[], opts: ReportOptions): Promise<ReportInfo> {
  if (logFiles.length === 0) throw new SodaError('E_USAGE', 'soda report needs at least one log file');
  const parsed = await readRuns(logFiles);
  if (parsed.runs.length === 0)
    throw new SodaError(
      'E_DATA',
      `no run found in ${logFiles.join(', ')}: a run begins with a JSON line whose msg is 'start' ` +
        '(the master’s log on stdout)',
      { files: logFiles },
    );
  const labels = runLabels(parsed.runs);
  const figures = buildFigures(parsed.runs, labels, { target: opts.target });
  const rendered: RenderedFigure[] = [];
  for (const f of figures)
    rendered.push({ ...f, svg: f.spec === null ? null : prefixSvgIds(await renderSvg(f.spec), f.id) });
  const notes: string[] = [];
  if (parsed.junkLines > 0) notes.push(`${parsed.junkLines} line(s) that are not JSON were skipped.`);
  if (parsed.badLines > 0)
    notes.push(
      `${parsed.badLines} progress/summary line(s) with missing fields or outside a run were skipped.`,
    );
  const html = pageHtml({
    files: logFiles,
    rows: parsed.runs.map((r, i) => runRow(r, labels[i])),
    figures: rendered,
    notes,
    generatedAt: new Date().toISOString(),
  });
  await writeFileDurable(opts.out, html);
  if (opts.svgDir !== undefined) {
    await fs.mkdir(opts.svgDir, { recursive: true });
    for (const f of rendered)
      if (f.svg !== null) await writeFileDurable(path.join(opts.svgDir, `${f.id}.svg`), f.svg);
  }
  return {
    runs: parsed.runs.length,
    figures: rendered.map((f) => ({
      id: f.id,
      series: f.series,
      svg: f.svg === null || opts.svgDir === undefined ? null : path.join(opts.svgDir, `${f.id}.svg`),
    })),
    junkLines: parsed.junkLines,
    badLines: parsed.badLines,
  };
}
