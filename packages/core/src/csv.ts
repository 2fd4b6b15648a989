import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { parse } from 'csv-parse';
import { SodaError } from './errors';
import type { RowBatch } from './libsvm';
import type { CsrMatrix, Dataset } from './matrix';

/*
 * CSV input (dense rows, one example per line), parsed by csv-parse (quoting, CRLF, BOM) and
 * streamed: rows are turned into sparse batches as they arrive, so memory is bounded by the batch.
 *
 * Header: `header: true | false`, or auto (default): the first row is a header when one of its
 * fields is not a number. Label column: `labelColumn` is a header name or a 1-based position; by
 * default the column named `label` (or `y`, `target`, `class`), else column 1 when labels are
 * required, else none (all columns are features). Labels: {−1,+1} or {0,1} (0 → −1), as numbers.
 */

export interface CsvOptions {
  readonly header?: boolean;
  readonly labelColumn?: string | number;
  /** Data to predict on may have no label column; training data must. */
  readonly allowUnlabelled?: boolean;
  readonly batchRows?: number;
  /** Field separator (default ','). */
  readonly delimiter?: string;
  /**
   * Names that are features (a model's): never taken as the label by name (spam has a term "class").
   * An explicit labelColumn still wins.
   */
  readonly featureNames?: readonly string[];
}

const LABEL_NAMES = ['label', 'y', 'target', 'class'];

/** What the first rows of a CSV file told about its columns. */
export interface CsvLayout {
  /** 0-based position of the label column, or −1. */
  readonly label: number;
  /** Feature names (header minus label), or null without a header. */
  readonly featureNames: string[] | null;
  readonly columns: number;
}

function isNumber(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

function layoutOf(first: string[], opts: CsvOptions, file: string): { layout: CsvLayout; header: boolean } {
  const header = opts.header ?? first.some((f) => !isNumber(f));
  const names = header ? first.map((s) => s.trim()) : null;
  let label = -1;
  const want = opts.labelColumn;
  if (typeof want === 'number') {
    if (!(Number.isSafeInteger(want) && want >= 1 && want <= first.length))
      throw new SodaError(
        'E_CONFIG',
        `${file}: --label-column ${want} is not a column (the file has ${first.length})`,
        { field: 'label-column', value: want },
      );
    label = want - 1;
  } else if (typeof want === 'string') {
    if (/^\d+$/.test(want)) return layoutOf(first, { ...opts, labelColumn: Number(want) }, file);
    if (names === null)
      throw new SodaError(
        'E_CONFIG',
        `${file}: --label-column ${want} names a column, but the file has no header row`,
        {
          field: 'label-column',
          value: want,
        },
      );
    label = names.indexOf(want);
    if (label < 0)
      throw new SodaError(
        'E_CONFIG',
        `${file}: no column named "${want}" (header: ${names.slice(0, 8).join(', ')}…)`,
        {
          field: 'label-column',
          value: want,
        },
      );
  } else {
    const features = new Set(opts.featureNames ?? []);
    label = names ? names.findIndex((s) => LABEL_NAMES.includes(s.toLowerCase()) && !features.has(s)) : -1;
    if (label < 0 && !opts.allowUnlabelled) label = 0;
  }
  const featureNames = names ? names.filter((_, k) => k !== label) : null;
  return { layout: { label, featureNames, columns: first.length }, header };
}

/** Streams a CSV file (gzip when named *.gz) as sparse row batches; y is NaN without a label column. */
export async function* streamCsv(
  file: string,
  opts: CsvOptions = {},
  onLayout?: (layout: CsvLayout) => void,
): AsyncGenerator<RowBatch> {
  const batchRows = opts.batchRows ?? 8192;
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  let source: Readable = raw;
  if (file.endsWith('.gz')) {
    const gunzip = zlib.createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    source = raw.pipe(gunzip);
  }
  const parser = source.pipe(
    parse({ bom: true, delimiter: opts.delimiter ?? ',', skip_empty_lines: true, comment: '#', info: true }),
  );
  source.on('error', (e) => parser.destroy(e));
  let layout: CsvLayout | undefined;
  let b = new BatchBuilder();
  let firstRow = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record, info } = item;
      if (layout === undefined) {
        const got = layoutOf(record, opts, file);
        layout = got.layout;
        onLayout?.(layout);
        if (got.header) continue;
      }
      b.add(record, layout, file, info.lines);
      if (b.rows >= batchRows) {
        const batch = b.finish(firstRow, layout);
        firstRow += batch.X.rows;
        yield batch;
        b = new BatchBuilder();
      }
    }
  } catch (e) {
    if (e instanceof SodaError) throw e;
    const err = e as Error & { code?: string; lines?: number };
    const where = err.lines !== undefined ? `${file}:${err.lines}` : file;
    throw new SodaError('E_DATA_PARSE', `${where}: ${err.message}`, { file });
  } finally {
    raw.destroy();
  }
  if (layout === undefined || (firstRow === 0 && b.rows === 0))
    throw new SodaError('E_DATA_PARSE', `${file}: no examples (empty, or a header only)`, { file });
  if (b.rows > 0) yield b.finish(firstRow, layout);
}

/** Reads a whole CSV file as a dataset (labels required), with its feature names when it has a header. */
export async function readCsv(
  file: string,
  opts: CsvOptions = {},
): Promise<Dataset & { featureNames: string[] | null; source: string }> {
  const parts: RowBatch[] = [];
  let layout: CsvLayout | undefined;
  for await (const batch of streamCsv(file, { ...opts, allowUnlabelled: false }, (l) => (layout = l)))
    parts.push(batch);
  const cols = (layout as CsvLayout).columns - 1;
  const m = parts.reduce((s, p) => s + p.X.rows, 0);
  const nnz = parts.reduce((s, p) => s + p.X.ind.length, 0);
  const ptr = new Float64Array(m + 1);
  const ind = new Uint32Array(nnz);
  const val = new Float64Array(nnz);
  const y = new Float64Array(m);
  let r = 0;
  let k = 0;
  for (const p of parts) {
    for (let i = 0; i < p.X.rows; i++) ptr[r + i + 1] = k + p.X.ptr[i + 1];
    ind.set(p.X.ind, k);
    val.set(p.X.val, k);
    y.set(p.y, r);
    r += p.X.rows;
    k += p.X.ind.length;
  }
  return {
    X: { rows: m, cols, ptr, ind, val },
    y,
    featureNames: (layout as CsvLayout).featureNames,
    source: file,
  };
}

/** Accumulates parsed records as CSR rows (zeros dropped). */
class BatchBuilder {
  rows = 0;
  private readonly ptr: number[] = [0];
  private readonly ind: number[] = [];
  private readonly val: number[] = [];
  private readonly y: number[] = [];

  add(record: string[], layout: CsvLayout, file: string, line: number): void {
    if (record.length !== layout.columns)
      throw new SodaError(
        'E_DATA_PARSE',
        `${file}:${line}: ${record.length} fields, expected ${layout.columns} (as in the first row)`,
        { file, line },
      );
    let j = 0;
    for (let k = 0; k < record.length; k++) {
      const field = record[k].trim();
      if (k === layout.label) {
        this.y.push(parseLabel(field, file, line, k, layout));
        continue;
      }
      const v = field === '' ? NaN : Number(field);
      if (!Number.isFinite(v))
        throw new SodaError(
          'E_DATA_PARSE',
          `${file}:${line}: column ${columnName(k, layout)} is ${JSON.stringify(field)}; expected a finite number`,
          { file, line, column: k + 1 },
        );
      if (v !== 0) {
        this.ind.push(j);
        this.val.push(v);
      }
      j++;
    }
    if (layout.label < 0) this.y.push(NaN);
    this.ptr.push(this.ind.length);
    this.rows++;
  }

  finish(firstRow: number, layout: CsvLayout): RowBatch {
    const cols = layout.columns - (layout.label >= 0 ? 1 : 0);
    const X: CsrMatrix = {
      rows: this.rows,
      cols,
      ptr: Float64Array.from(this.ptr),
      ind: Uint32Array.from(this.ind),
      val: Float64Array.from(this.val),
    };
    return { X, y: Float64Array.from(this.y), firstRow };
  }
}

function columnName(k: number, layout: CsvLayout): string {
  if (layout.featureNames === null) return String(k + 1);
  const names = [...layout.featureNames];
  if (layout.label >= 0) names.splice(layout.label, 0, 'label');
  return `${k + 1} ("${names[k]}")`;
}

function parseLabel(field: string, file: string, line: number, k: number, layout: CsvLayout): number {
  const v = Number(field);
  if (field !== '' && (v === 1 || v === -1 || v === 0)) return v === 1 ? 1 : -1;
  throw new SodaError(
    'E_DATA_PARSE',
    `${file}:${line}: label (column ${columnName(k, layout)}) is ${JSON.stringify(field)}; expected -1/+1 or 0/1`,
    { file, line, column: k + 1 },
  );
}
