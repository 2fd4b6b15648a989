import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { streamCsv, type CsvLayout, type CsvOptions } from './csv';
import { forEachChunk, LibsvmWriter, type RowBatch } from './libsvm';
import { partFileName } from './split';
import {
  rowOwners,
  sameRows,
  splitSettings,
  writeManifest,
  writeParts,
  type SplitManifest,
  type SplitOptions,
} from './split-common';

/*
 * `soda data split` of a CSV file: the same partition and manifest as splitLibsvm, with CSV parts
 * (part-00000.csv …). Each part starts with the header when the input has one (`label` then the
 * feature names, so a worker's part names its columns as the training file did), then one dense row
 * per example: the label as −1/+1, then the n feature values, printed with String(v) (round-trips).
 * Streaming: pass 1 counts (and validates, file:line), pass 2 routes; the rows are never all held.
 */

/** A header field, quoted when it holds the delimiter, a quote or a line break. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function splitCsv(
  input: string,
  opts: SplitOptions & { readonly csv?: CsvOptions },
): Promise<SplitManifest> {
  const { M, shuffle, seed, gzipIn, gzipOut } = await splitSettings(input, opts);
  const csv: CsvOptions = { ...opts.csv, allowUnlabelled: false };

  // pass 1: validate, count, and hash the (decompressed) source
  let layout: CsvLayout | undefined;
  let rows = 0;
  let nnz = 0;
  for await (const b of streamCsv(input, csv, (l) => (layout = l))) {
    rows += b.X.rows;
    nnz += b.X.ind.length;
  }
  const n = layout!.columns - (layout!.label >= 0 ? 1 : 0);
  const sourceHash = createHash('sha256');
  await forEachChunk(input, gzipIn, (chunk) => void sourceHash.update(chunk));
  const owner = rowOwners(input, rows, M, shuffle, seed);

  // pass 2: route each row, densely, to its part
  await fs.promises.mkdir(opts.outDir, { recursive: true });
  const files = Array.from({ length: M }, (_, i) => partFileName(i, gzipOut, 'csv'));
  const writers = files.map((f) => LibsvmWriter.create(path.join(opts.outDir, f)));
  const stats = Array.from({ length: M }, () => ({ rows: 0, n: 0, nnz: 0 }));
  const names = layout!.featureNames;
  const dense = new Array<string>(n);
  let r = 0;
  await writeParts(writers, async () => {
    if (names !== null) {
      const header = ['label', ...names].map(csvField).join(',');
      for (const w of writers) await w.writeLine(header);
    }
    for await (const b of streamCsv(input, csv) as AsyncGenerator<RowBatch>) {
      const waits: Promise<void>[] = [];
      for (let i = 0; i < b.X.rows; i++, r++) {
        const part = owner[r];
        const s = stats[part];
        dense.fill('0');
        for (let k = b.X.ptr[i]; k < b.X.ptr[i + 1]; k++) {
          const j = b.X.ind[k];
          dense[j] = String(b.X.val[k]);
          if (j + 1 > s.n) s.n = j + 1;
        }
        s.rows++;
        s.nnz += b.X.ptr[i + 1] - b.X.ptr[i];
        const wait = writers[part].writeLine(`${b.y[i] > 0 ? 1 : -1},${dense.join(',')}`);
        if (wait) waits.push(wait);
      }
      await Promise.all(waits);
    }
  });
  sameRows(input, rows, r);
  return writeManifest(input, opts.outDir, files, stats, {
    sourceSha256: sourceHash.digest('hex'),
    rows,
    n,
    nnz,
    shuffle,
    seed,
  });
}
