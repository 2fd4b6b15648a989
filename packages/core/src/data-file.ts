import { readCsv, streamCsv, type CsvOptions } from './csv';
import { readLibsvm, streamLibsvm, type RowBatch } from './libsvm';
import type { Dataset } from './matrix';

/*
 * Every command that reads examples accepts LIBSVM and CSV: the format is named, or taken from the
 * file name (*.csv, *.csv.gz, *.tsv → CSV; anything else → LIBSVM).
 */

export type DataFormat = 'libsvm' | 'csv';

export interface DataFileOptions extends CsvOptions {
  readonly format?: DataFormat;
  /** LIBSVM: refuse any index above this (readLibsvm's default otherwise) */
  readonly maxFeatures?: number;
}

export function dataFormatOf(file: string, format?: DataFormat): DataFormat {
  if (format !== undefined) return format;
  return /\.(csv|tsv)(\.gz)?$/i.test(file) ? 'csv' : 'libsvm';
}

function csvOptions(file: string, opts: DataFileOptions): CsvOptions {
  return /\.tsv(\.gz)?$/i.test(file) && opts.delimiter === undefined ? { ...opts, delimiter: '\t' } : opts;
}

/** A labelled dataset from a LIBSVM or CSV file, with feature names when the CSV has a header. */
export async function readDataFile(
  file: string,
  opts: DataFileOptions = {},
): Promise<Dataset & { featureNames: string[] | null }> {
  if (dataFormatOf(file, opts.format) === 'csv') return readCsv(file, csvOptions(file, opts));
  const d = await readLibsvm(file, opts.maxFeatures === undefined ? {} : { maxFeatures: opts.maxFeatures });
  return { X: d.X, y: d.y, featureNames: null };
}

/** Row batches of a LIBSVM or CSV file, streamed (labels optional with allowUnlabelled). */
export function streamDataFile(file: string, opts: DataFileOptions = {}): AsyncGenerator<RowBatch> {
  if (dataFormatOf(file, opts.format) === 'csv') return streamCsv(file, csvOptions(file, opts));
  return streamLibsvm(file, opts);
}
