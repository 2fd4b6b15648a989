import { promises as fs } from 'node:fs';
import { SodaError } from '@soda/core';
import { LOG_MSG, type ProgressRecord, type StartRecord, type SummaryRecord } from '@soda/protocol';

/*
 * Reading runs back from the master's pino JSON lines. A run is one 'start' line, the 'progress'
 * lines after it and, when it finished, one 'summary' line; a new 'start' begins the next run, so a
 * file may hold several runs (a benchmark appends them). Other messages (worker joined, F* cached...)
 * are valid lines that a report does not need and are ignored.
 */

/*
 * What a report reads of the master's start/progress/summary records (declared with the master's
 * types in @soda/protocol): required fields keep their type, the rest may be missing in an older or
 * hand-made log and read as null (or a default).
 */
type Nullable<T> = { readonly [K in keyof T]: T[K] | null };

export type RunStart = Pick<StartRecord, 'algo' | 'p' | 'workers' | 'dataset'> &
  Nullable<Pick<StartRecord, 'm' | 'n' | 'lambda1' | 'lambda2' | 'L' | 'kappa' | 'fstar'>> & {
    /** The run's target suboptimality, when the master logs it (used by Fig. 2 without --target). */
    readonly tol: number | null;
  };

export type ProgressPoint = Pick<
  ProgressRecord,
  | 'k'
  | 'epoch'
  | 'objective'
  | 'subopt'
  | 'gapRel'
  | 'supportPct'
  | 'coordsUp'
  | 'coordsDown'
  | 'bytesUp'
  | 'bytesDown'
  | 'elapsedMs'
>;

export type RunSummary = Pick<
  SummaryRecord,
  'reason' | 'objective' | 'subopt' | 'coordsUp' | 'coordsDown' | 'bytesUp' | 'bytesDown' | 'elapsedMs'
> &
  Nullable<Pick<SummaryRecord, 'epochs'>>;

export interface Run {
  /** Where the run's 'start' line is, for messages and the table. */
  readonly file: string;
  readonly line: number;
  readonly start: RunStart;
  readonly progress: ProgressPoint[];
  summary: RunSummary | null;
}

export interface ParseResult {
  readonly runs: Run[];
  /** Lines that are not JSON objects (a stray console.log, a torn last line). */
  readonly junkLines: number;
  /** 'progress'/'summary' lines with a missing or ill-typed field, or outside any run. */
  readonly badLines: number;
}

type Obj = Record<string, unknown>;
/** A field of one of the typed records. */
type Key = keyof StartRecord | keyof ProgressRecord | keyof SummaryRecord;

function num(o: Obj, key: Key): number | undefined {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** A number or null (JSON has no NaN/Infinity: pino writes a diverged objective as null). */
function numOrNull(o: Obj, key: Key): number | null {
  return num(o, key) ?? null;
}

function parseStart(o: Obj): RunStart | null {
  const p = num(o, 'p');
  if (typeof o.algo !== 'string' || p === undefined) return null;
  return {
    algo: o.algo,
    p,
    workers: num(o, 'workers') ?? 0,
    dataset: typeof o.dataset === 'string' ? o.dataset : '?',
    m: numOrNull(o, 'm'),
    n: numOrNull(o, 'n'),
    lambda1: numOrNull(o, 'lambda1'),
    lambda2: numOrNull(o, 'lambda2'),
    L: numOrNull(o, 'L'),
    kappa: numOrNull(o, 'kappa'),
    fstar: numOrNull(o, 'fstar'),
    tol: numOrNull(o, 'tol'),
  };
}

function parseProgress(o: Obj): ProgressPoint | null {
  const k = num(o, 'k');
  const epoch = num(o, 'epoch');
  const elapsedMs = num(o, 'elapsedMs');
  const coordsUp = num(o, 'coordsUp');
  const coordsDown = num(o, 'coordsDown');
  if (k === undefined || epoch === undefined || elapsedMs === undefined) return null;
  if (coordsUp === undefined || coordsDown === undefined) return null;
  return {
    k,
    epoch,
    objective: numOrNull(o, 'objective'),
    subopt: numOrNull(o, 'subopt'),
    // the certified duality gap / |D| (runs with λ2 > 0; the only measure of a run without F*)
    gapRel: numOrNull(o, 'gapRel'),
    supportPct: num(o, 'supportPct') ?? NaN,
    coordsUp,
    coordsDown,
    bytesUp: num(o, 'bytesUp') ?? 0,
    bytesDown: num(o, 'bytesDown') ?? 0,
    elapsedMs,
  };
}

function parseSummary(o: Obj): RunSummary | null {
  if (typeof o.reason !== 'string') return null;
  return {
    reason: o.reason,
    objective: numOrNull(o, 'objective'),
    subopt: numOrNull(o, 'subopt'),
    epochs: numOrNull(o, 'epochs'),
    coordsUp: num(o, 'coordsUp') ?? 0,
    coordsDown: num(o, 'coordsDown') ?? 0,
    bytesUp: num(o, 'bytesUp') ?? 0,
    bytesDown: num(o, 'bytesDown') ?? 0,
    elapsedMs: num(o, 'elapsedMs') ?? 0,
  };
}

/** Splits one file's text into runs. `file` only names the source in the result. */
export function parseLogText(text: string, file: string): ParseResult {
  const runs: Run[] = [];
  let current: Run | null = null;
  let junkLines = 0;
  let badLines = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch {
      junkLines++;
      continue;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      junkLines++;
      continue;
    }
    const rec = o as Obj;
    if (rec.msg === LOG_MSG.start) {
      const start = parseStart(rec);
      if (start === null) {
        badLines++;
        current = null; // a broken start: its progress lines belong to no run we can label
        continue;
      }
      current = { file, line: i + 1, start, progress: [], summary: null };
      runs.push(current);
    } else if (rec.msg === LOG_MSG.progress) {
      const pt = parseProgress(rec);
      if (pt === null || current === null || current.summary !== null) badLines++;
      else current.progress.push(pt);
    } else if (rec.msg === LOG_MSG.summary) {
      const s = parseSummary(rec);
      if (s === null || current === null || current.summary !== null) badLines++;
      else current.summary = s;
    }
  }
  return { runs, junkLines, badLines };
}

/** Reads and parses several files, in order; a file that cannot be read is an E_IO naming it. */
export async function readRuns(files: readonly string[]): Promise<ParseResult> {
  const runs: Run[] = [];
  let junkLines = 0;
  let badLines = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      throw new SodaError('E_IO', `cannot read the log file ${file}: ${(e as Error).message}`, { file });
    }
    const r = parseLogText(text, file);
    runs.push(...r.runs);
    junkLines += r.junkLines;
    badLines += r.badLines;
  }
  return { runs, junkLines, badLines };
}
