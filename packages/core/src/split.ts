import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SodaError } from './errors';
import { forEachChunk, LibsvmWriter } from './libsvm';
import { LibsvmParser } from './libsvm-parse';
import {
  MANIFEST_FORMAT,
  rowOwners,
  sameRows,
  splitSettings,
  writeManifest,
  writeParts,
  type PartInfo,
  type SplitManifest,
  type SplitOptions,
} from './split-common';

/*
 * `soda data split`: cut a LIBSVM file into M part files for workers that read their own data.
 *
 * Streaming in two passes, never holding the rows: pass 1 parses (and so validates, with file:line
 * errors) and counts the m rows and the label family; then the partition is drawn on row ids only
 * (O(m) 32-bit ints); pass 2 parses again and appends each row to its part's writer. 'Shuffle' means
 * the same seeded partition the master uses when it shards a file itself (shardShuffled(m, M, seed):
 * a uniform random partition into sizes differing by at most one, each part in file order), so a
 * split with the run's seed gives each worker exactly the rows it would have been sent.
 * Labels are written as −1/+1 (the family is a whole-file property: a {1,2} file's part holding only
 * 1s must still read as −1), values with the shortest round-trip decimal, so parsing a part back gives
 * the same doubles.
 */

export {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  type PartInfo,
  type SplitManifest,
  type SplitOptions,
} from './split-common';

/** part-00000.svm, part-00001.svm, …: the name `{shard}` expands to in a worker's --data. */
export function partFileName(shard: number, gzip = false, ext: 'svm' | 'csv' = 'svm'): string {
  return `part-${String(shard).padStart(5, '0')}.${ext}${gzip ? '.gz' : ''}`;
}

export async function splitLibsvm(input: string, opts: SplitOptions): Promise<SplitManifest> {
  const { M, shuffle, seed, gzipIn, gzipOut } = await splitSettings(input, opts);

  // pass 1: validate and count
  const limit = opts.maxFeatures !== undefined ? { maxFeatures: opts.maxFeatures } : {};
  const counter = new LibsvmParser(input, undefined, { onRow: () => {}, ...limit });
  const sourceHash = createHash('sha256');
  await forEachChunk(input, gzipIn, (chunk) => {
    sourceHash.update(chunk);
    counter.push(chunk);
  });
  const seen = counter.finishStream();
  const owner = rowOwners(input, seen.rows, M, shuffle, seed);

  // pass 2: route each row to its part
  await fs.promises.mkdir(opts.outDir, { recursive: true });
  const files = Array.from({ length: M }, (_, i) => partFileName(i, gzipOut));
  const writers = files.map((f) => LibsvmWriter.create(path.join(opts.outDir, f)));
  const stats = Array.from({ length: M }, () => ({ rows: 0, n: 0, nnz: 0 }));
  const waits: Promise<void>[] = [];
  let r = 0;
  const router = new LibsvmParser(input, undefined, {
    ...limit,
    onRow: (label, ind, val) => {
      const i = owner[r++];
      const s = stats[i];
      s.rows++;
      s.nnz += ind.length;
      if (ind.length > 0 && ind[ind.length - 1] + 1 > s.n) s.n = ind[ind.length - 1] + 1;
      const wait = writers[i].write(label === seen.positiveLabel ? 1 : -1, ind, val);
      if (wait) waits.push(wait);
    },
  });
  await writeParts(writers, async () => {
    await forEachChunk(input, gzipIn, async (chunk) => {
      router.push(chunk);
      // backpressure: at most one input chunk of output is buffered before the writers drain
      if (waits.length > 0) await Promise.all(waits.splice(0));
    });
    router.finishStream();
    await Promise.all(waits.splice(0));
  });
  sameRows(input, seen.rows, r);
  return writeManifest(input, opts.outDir, files, stats, {
    sourceSha256: sourceHash.digest('hex'),
    rows: seen.rows,
    n: seen.n,
    nnz: seen.nnz,
    shuffle,
    seed,
  });
}

/** Reads and checks a manifest; errors name the file and the field. */
export async function readManifest(file: string): Promise<SplitManifest> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw new SodaError('E_DATA_READ', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new SodaError('E_DATA_PARSE', `${file}: not JSON (${(e as Error).message})`, { file });
  }
  return checkManifest(o, file);
}

export function checkManifest(o: unknown, file = 'manifest'): SplitManifest {
  const bad = (field: string, rule: string): never => {
    throw new SodaError('E_DATA_PARSE', `${file}: ${field} ${rule}`, { file, field });
  };
  const rec = (v: unknown, at: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : bad(at, 'must be an object');
  const int = (v: unknown, at: string, min: number): number =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min
      ? v
      : bad(at, `= ${String(v)} must be an integer ≥ ${min}`);
  const hex = (v: unknown, at: string): string =>
    typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? v : bad(at, 'must be 64 hex digits (SHA-256)');
  const m = rec(o, '(top level)');
  if (m.format !== MANIFEST_FORMAT)
    bad('format', `= ${JSON.stringify(m.format)} must be "${MANIFEST_FORMAT}"`);
  if (!Array.isArray(m.parts) || m.parts.length === 0) bad('parts', 'must be a non-empty array');
  const n = int(m.n, 'n', 1);
  const parts = (m.parts as unknown[]).map((p, i): PartInfo => {
    const q = rec(p, `parts[${i}]`);
    if (q.shard !== i) bad(`parts[${i}].shard`, `= ${String(q.shard)} must be ${i}`);
    if (typeof q.file !== 'string' || q.file === '' || q.file.includes('/'))
      bad(`parts[${i}].file`, 'must be a file name');
    const pn = int(q.n, `parts[${i}].n`, 0);
    if (pn > n) bad(`parts[${i}].n`, `= ${pn} exceeds the dataset's n = ${n}`);
    return {
      shard: i,
      file: q.file as string,
      rows: int(q.rows, `parts[${i}].rows`, 1),
      n: pn,
      nnz: int(q.nnz, `parts[${i}].nnz`, 0),
      sha256: hex(q.sha256, `parts[${i}].sha256`),
    };
  });
  const rows = int(m.rows, 'rows', 1);
  if (parts.reduce((s, p) => s + p.rows, 0) !== rows)
    bad('rows', `= ${rows} is not the sum of the parts' rows`);
  return {
    format: MANIFEST_FORMAT,
    source: typeof m.source === 'string' ? m.source : '',
    sourceSha256: hex(m.sourceSha256, 'sourceSha256'),
    rows,
    n,
    nnz: int(m.nnz, 'nnz', 0),
    shuffle: m.shuffle === true,
    seed: int(m.seed, 'seed', 0),
    parts,
  };
}
