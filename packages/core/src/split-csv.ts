import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { streamCsv, type CsvLayout, type CsvOptions } from './csv';
import { writeFileDurable } from './durable-write';
import { SodaError } from './errors';
import { contentHash, forEachChunk, LibsvmWriter, startsWithGzipMagic, type RowBatch } from './libsvm';
import { shardContiguous, shardShuffled } from './shard';
import {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  partFileName,
  type PartInfo,
  type SplitManifest,
  type SplitOptions,
} from './split';

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
  const M = opts.parts;
  if (!(Number.isSafeInteger(M) && M >= 1))
    throw new SodaError('E_CONFIG', `--parts must be a positive integer, got ${M}`);
  const shuffle = opts.shuffle ?? true;
  const seed = opts.seed ?? 1;
  const gzipIn = input.endsWith('.gz') || (await startsWithGzipMagic(input));
  const gzipOut = opts.gzip ?? gzipIn;
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
  if (rows < M)
    throw new SodaError('E_CONFIG', `${input} has ${rows} examples, fewer than --parts ${M}`, {
      file: input,
    });
  const owner = new Uint32Array(rows);
  const ids = shuffle ? shardShuffled(rows, M, seed) : shardContiguous(rows, M);
  ids.forEach((part, i) => part.forEach((r) => (owner[r] = i)));

  // pass 2: route each row, densely, to its part
  await fs.promises.mkdir(opts.outDir, { recursive: true });
  const files = Array.from({ length: M }, (_, i) => partFileName(i, gzipOut, 'csv'));
  const writers = files.map((f) => LibsvmWriter.create(path.join(opts.outDir, f)));
  const stats = Array.from({ length: M }, () => ({ rows: 0, n: 0, nnz: 0 }));
  const names = layout!.featureNames;
  const dense = new Array<string>(n);
  try {
    if (names !== null) {
      const header = ['label', ...names].map(csvField).join(',');
      for (const w of writers) await w.writeLine(header);
    }
    let r = 0;
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
    if (r !== rows)
      throw new SodaError('E_DATA_READ', `${input} changed while splitting: ${rows} rows, then ${r}`, {
        file: input,
      });
    for (const w of writers) await w.close();
  } catch (e) {
    await Promise.all(writers.map((w) => w.abort()));
    throw e;
  }
  const parts: PartInfo[] = [];
  for (let i = 0; i < M; i++)
    parts.push({
      shard: i,
      file: files[i],
      ...stats[i],
      sha256: await contentHash(path.join(opts.outDir, files[i])),
    });
  const manifest: SplitManifest = {
    format: MANIFEST_FORMAT,
    source: path.basename(input),
    sourceSha256: sourceHash.digest('hex'),
    rows,
    n,
    nnz,
    shuffle,
    seed,
    parts,
  };
  await writeFileDurable(path.join(opts.outDir, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
