import type { Run } from './parse';
import { coordsExchanged } from './series';

/*
 * The report page: one self-contained HTML file (inline CSS, inline SVG, no script, no external
 * font), so it can be mailed, archived next to BENCHMARKS.md, or opened offline.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function fmtExp(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : v.toExponential(2);
}

function fmtBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${b} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A row of the runs table: the summary when the run finished, else its last progress line. */
export interface RunRow {
  readonly label: string;
  readonly algo: string;
  readonly p: number;
  readonly dataset: string;
  readonly workers: number;
  readonly subopt: number | null;
  readonly epochs: number | null;
  readonly seconds: number | null;
  readonly coords: number | null;
  readonly bytes: number | null;
  readonly reason: string;
}

export function runRow(run: Run, label: string): RunRow {
  const s = run.summary;
  const last = run.progress.length > 0 ? run.progress[run.progress.length - 1] : null;
  const base = {
    label,
    algo: run.start.algo,
    p: run.start.p,
    dataset: run.start.dataset,
    workers: run.start.workers,
  };
  if (s !== null)
    return {
      ...base,
      subopt: s.subopt,
      epochs: s.epochs,
      seconds: s.elapsedMs / 1000,
      coords: coordsExchanged(s),
      bytes: s.bytesUp + s.bytesDown,
      reason: s.reason,
    };
  return {
    ...base,
    subopt: last?.subopt ?? null,
    epochs: last?.epoch ?? null,
    seconds: last !== null ? last.elapsedMs / 1000 : null,
    coords: last !== null ? coordsExchanged(last) : null,
    bytes: last !== null ? last.bytesUp + last.bytesDown : null,
    reason: 'unfinished (no summary)',
  };
}

function tableHtml(rows: readonly RunRow[]): string {
  const head = [
    'run',
    'algo',
    'p',
    'dataset',
    'M',
    'final subopt',
    'epochs',
    'time (s)',
    'coords',
    'bytes',
    'reason',
  ];
  const body = rows.map((r) =>
    [
      r.label,
      r.algo,
      String(r.p),
      r.dataset,
      String(r.workers),
      fmtExp(r.subopt),
      r.epochs === null ? '—' : r.epochs.toFixed(1),
      r.seconds === null ? '—' : r.seconds.toFixed(2),
      r.coords === null ? '—' : INT.format(r.coords),
      r.bytes === null ? '—' : fmtBytes(r.bytes),
      r.reason,
    ]
      .map((c) => `<td>${escapeHtml(c)}</td>`)
      .join(''),
  );
  return (
    `<table id="runs"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${body.map((b) => `<tr>${b}</tr>`).join('\n')}</tbody></table>`
  );
}

export interface RenderedFigure {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly series: number;
  /** The SVG text, or null with a note when the figure has nothing to draw. */
  readonly svg: string | null;
}

function figureHtml(f: RenderedFigure): string {
  const body =
    f.svg !== null
      ? f.svg
      : `<p class="empty">Nothing to draw: no run logged a value for this figure (is F* known?).</p>`;
  return (
    `<figure id="${escapeHtml(f.id)}" data-series="${f.series}">\n${body}\n` +
    `<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`
  );
}

const CSS = `
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th { background: #f3f3f3; } td:first-child, td:nth-child(2), td:nth-child(4), td:last-child { text-align: left; }
figure { margin: 1.5em 0; } figcaption { font-size: 0.85em; color: #555; max-width: 900px; }
svg { max-width: 100%; height: auto; } .note, .empty { color: #a33; font-size: 0.9em; }
`;

export interface PageInput {
  readonly files: readonly string[];
  readonly rows: readonly RunRow[];
  readonly figures: readonly RenderedFigure[];
  readonly notes: readonly string[];
  readonly generatedAt: string;
}

export function pageHtml(input: PageInput): string {
  const notes = input.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
  const files = input.files.map((f) => `<code>${escapeHtml(f)}</code>`).join(', ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SODA report</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<h1>SODA report</h1>
<p>${input.rows.length} run(s) from ${files}; generated ${escapeHtml(input.generatedAt)}.</p>
${notes}
<h2>Runs</h2>
${tableHtml(input.rows)}
<h2>Figures</h2>
${input.figures.map(figureHtml).join('\n')}
</body>
</html>
`;
}
