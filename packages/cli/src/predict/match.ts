import {
  dataFormatOf,
  SodaError,
  streamCsv,
  streamLibsvm,
  type CsvLayout,
  type ModelFile,
  type RowBatch,
} from '@soda/core';
import { dataFileOptions } from '../rows';

/*
 * Data must match its model before `soda predict` scores it: a model's weight j means feature j of
 * the data it was trained on, and a row whose columns mean something else gets a confident wrong
 * answer. So:
 * - LIBSVM: an index beyond the model's n is refused (that feature was never trained on: the file is
 *   of other data, or the model is).
 * - CSV, the model knows its feature names (it was trained on a CSV with a header, or on spam): the
 *   columns are taken by header name, in any order. A name of the model missing from the file is
 *   refused; so is a column the model does not know (refused, not ignored: an unknown column is as
 *   likely a renamed feature as an extra one).
 * - CSV otherwise: the number of feature columns must be the model's n; they are taken in order.
 */

/** The rows of `file`, with their columns renumbered to the model's features, or an E_DATA_MISMATCH. */
export async function* rowsForModel(
  model: ModelFile,
  file: string,
  a: Record<string, unknown>,
): AsyncGenerator<RowBatch> {
  const opts = { ...dataFileOptions(a), allowUnlabelled: true };
  if (dataFormatOf(file, opts.format) === 'libsvm') {
    for await (const b of streamLibsvm(file, opts)) {
      refuseWideRows(b, model.n, file);
      yield b;
    }
    return;
  }
  let layout: CsvLayout | undefined;
  let columnOf: Int32Array | null | undefined;
  const csv = {
    ...opts,
    ...(/\.tsv(\.gz)?$/i.test(file) && opts.delimiter === undefined ? { delimiter: '\t' } : {}),
    // a model feature named like a label ("class": a spam term) is that feature, not the label
    ...(model.featureNames ? { featureNames: model.featureNames } : {}),
  };
  for await (const b of streamCsv(file, csv, (l) => (layout = l))) {
    columnOf ??= columnMap(model, layout!, file);
    yield columnOf === null ? b : renumber(b, columnOf, model.n);
  }
}

/**
 * The batch with column k renamed columnOf[k], each row kept in increasing column order (so margins
 * sum in the same order, and to the same bits, as for the file with its columns in the model's order).
 * CSV rows are dense: one scatter/gather of n per row costs what reading the row did.
 */
function renumber(b: RowBatch, columnOf: Int32Array, n: number): RowBatch {
  const { ptr, ind, val } = b.X;
  const at = new Float64Array(n);
  const seen = new Uint8Array(n);
  const ind2 = new Uint32Array(ind.length);
  const val2 = new Float64Array(ind.length);
  for (let i = 0; i < b.X.rows; i++) {
    for (let k = ptr[i]; k < ptr[i + 1]; k++) {
      at[columnOf[ind[k]]] = val[k];
      seen[columnOf[ind[k]]] = 1;
    }
    let t = ptr[i];
    for (let j = 0; j < n; j++)
      if (seen[j] === 1) {
        ind2[t] = j;
        val2[t++] = at[j];
        seen[j] = 0;
      }
  }
  return { ...b, X: { rows: b.X.rows, cols: n, ptr, ind: ind2, val: val2 } };
}

function refuseWideRows(b: RowBatch, n: number, file: string): void {
  const { ptr, ind } = b.X;
  for (let i = 0; i < b.X.rows; i++)
    for (let k = ptr[i]; k < ptr[i + 1]; k++)
      if (ind[k] >= n)
        throw new SodaError(
          'E_DATA_MISMATCH',
          `${file}: row ${b.firstRow + i + 1} has feature ${ind[k] + 1}, but the model has n = ${n} features: ` +
            'this file is not of the data the model was trained on',
          { file, field: 'n', value: ind[k] + 1, row: b.firstRow + i + 1 },
        );
}

/**
 * For each feature column of the file (in file order), the model feature it is; null when they are
 * the same (positional). Refuses what cannot be matched.
 */
function columnMap(model: ModelFile, layout: CsvLayout, file: string): Int32Array | null {
  const names = model.featureNames;
  const fileNames = layout.featureNames;
  const columns = layout.columns - (layout.label >= 0 ? 1 : 0);
  if (names === undefined || fileNames === null) {
    if (columns !== model.n)
      throw new SodaError(
        'E_DATA_MISMATCH',
        `${file} has ${columns} feature columns but the model has n = ${model.n} features` +
          (names === undefined
            ? ''
            : ' (the model names its features; give the file a header row to match them by name)'),
        { file, field: 'n', value: columns },
      );
    return null;
  }
  const index = new Map(names.map((s, j) => [s, j]));
  const unknown = fileNames.filter((s) => !index.has(s));
  if (unknown.length > 0)
    throw new SodaError(
      'E_DATA_MISMATCH',
      `${file}: column${unknown.length > 1 ? 's' : ''} ${list(unknown)} ${unknown.length > 1 ? 'are' : 'is'} not a feature of the model ` +
        '(remove extra columns; the label column is found by --label-column, default "label")',
      { file, field: 'featureNames', value: unknown.slice(0, 8) },
    );
  const present = new Set(fileNames);
  const missing = names.filter((s) => !present.has(s));
  if (missing.length > 0)
    throw new SodaError(
      'E_DATA_MISMATCH',
      `${file} lacks the model's feature${missing.length > 1 ? 's' : ''} ${list(missing)} (${missing.length} of ${names.length})`,
      { file, field: 'featureNames', value: missing.slice(0, 8) },
    );
  if (fileNames.length !== new Set(fileNames).size)
    throw new SodaError('E_DATA_MISMATCH', `${file}: a column name appears twice in the header`, {
      file,
      field: 'featureNames',
    });
  const map = Int32Array.from(fileNames, (s) => index.get(s)!);
  return map.every((j, k) => j === k) ? null : map;
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((s) => JSON.stringify(s));
  return shown.join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
}
