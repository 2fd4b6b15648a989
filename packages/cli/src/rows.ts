import type { Argv } from 'yargs';
import { DEFAULT_MAX_FEATURES, MAX_INDEX, type DataFileOptions, type DataFormat } from '@soda/core';
import * as v from './validate';

/**
 * The options every command that reads a data file shares (solve, predict, data split, master, run):
 * its format, for CSV its layout, and the widest LIBSVM index accepted.
 */
export function rowFormatOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('max-features', {
      type: 'number',
      default: DEFAULT_MAX_FEATURES,
      describe: 'refuse a data file with a feature index above this (each index costs memory)',
    })
    .option('input-format', {
      choices: ['libsvm', 'csv'],
      describe: 'format of the data files (default: csv for *.csv, *.tsv (.gz), else libsvm)',
    })
    .option('label-column', {
      type: 'string',
      describe: 'CSV: the label column, by header name or 1-based position (default: "label", else column 1)',
    })
    .option('header', {
      type: 'boolean',
      describe: 'CSV: the first row is a header (default: when one of its fields is not a number)',
    }) as unknown as Argv<T>;
}

/** DataFileOptions from parsed arguments. */
export function dataFileOptions(a: Record<string, unknown>): DataFileOptions {
  return {
    ...(a.inputFormat !== undefined ? { format: a.inputFormat as DataFormat } : {}),
    ...(a.labelColumn !== undefined ? { labelColumn: String(a.labelColumn) } : {}),
    ...(a.header !== undefined ? { header: a.header as boolean } : {}),
    ...(a.maxFeatures !== undefined
      ? { maxFeatures: v.positiveInt('max-features', a.maxFeatures, MAX_INDEX) }
      : {}),
  };
}
