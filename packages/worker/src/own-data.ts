import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  appendConstantColumn,
  contentHash,
  dataFormatOf,
  MANIFEST_NAME,
  readDataFile,
  readLibsvm,
  readManifest,
  SodaError,
  type CsrMatrix,
  type SparseVector,
  type SplitManifest,
} from '@soda/core';
import { columnMaxima, localIndex, localRows, prepareShard, scaleRows, type LocalShard } from './columns';

/*
 * A worker that brings its own data (data at scale): it reads its shard from a file instead of
 * receiving rows, reports what it holds (m_i, n, nnz_i, the file's SHA-256 and its column maxima) and
 * scales with the divisors the master combined from every shard. Nothing here touches the network.
 */

/** The token in --data that the assigned shard number fills, zero-padded like `soda data split`'s names. */
export const SHARD_TOKEN = '{shard}';

/** /data/part-{shard}.svm with shard 3 → /data/part-00003.svm; a path without the token is used as is. */
export function shardPath(template: string, shard: number): string {
  return template.split(SHARD_TOKEN).join(String(shard).padStart(5, '0'));
}

/** A shard as read from its file, before scaling. */
export interface OwnShard {
  readonly file: string;
  readonly shard: number;
  /** rows with `n` columns (the manifest's n when there is one, else the file's largest index) */
  readonly X: CsrMatrix;
  readonly y: Float64Array;
  readonly n: number;
  readonly hash: string;
  /** the manifest that vouched for the file, if one sat beside it */
  readonly manifest?: string;
}

/**
 * Reads shard `shard` from `file`. When a `manifest.json` from `soda data split` sits in the same
 * folder, the file must be that manifest's part `shard` (same rows, non-zeros and SHA-256) and is read
 * with the dataset's n, so every worker reports the same n. Errors: E_DATA_PARSE with file:line for bad
 * content, E_DATA_READ for a missing file, E_DATA_MISMATCH naming the manifest field that disagrees.
 */
export async function readOwnShard(file: string, shard: number, maxFeatures?: number): Promise<OwnShard> {
  const manifestFile = path.join(path.dirname(file), MANIFEST_NAME);
  const manifest: SplitManifest | undefined = fs.existsSync(manifestFile)
    ? await readManifest(manifestFile)
    : undefined;
  const data =
    dataFormatOf(file) === 'csv'
      ? await readCsvShard(file)
      : await readLibsvm(file, {
          ...(manifest ? { n: manifest.n } : {}),
          ...(maxFeatures !== undefined ? { maxFeatures } : {}),
        });
  const hash = await contentHash(file);
  if (manifest) {
    const part = manifest.parts[shard];
    const mismatch = (field: string, want: unknown, got: unknown): never => {
      throw new SodaError(
        'E_DATA_MISMATCH',
        `${file} is not shard ${shard} of ${manifestFile}: parts[${shard}].${field} = ${String(want)}, the file has ${String(got)}`,
        { file, manifest: manifestFile, field: `parts[${shard}].${field}` },
      );
    };
    if (part === undefined) mismatch('shard', `absent (${manifest.parts.length} parts)`, `shard ${shard}`);
    if (path.basename(file) !== part.file) mismatch('file', part.file, path.basename(file));
    if (manifest.n !== data.n) mismatch('n', manifest.n, data.n);
    if (part.rows !== data.X.rows) mismatch('rows', part.rows, data.X.rows);
    if (part.nnz !== data.X.ind.length) mismatch('nnz', part.nnz, data.X.ind.length);
    if (part.sha256 !== hash) mismatch('sha256', part.sha256, hash);
  }
  return {
    file,
    shard,
    X: data.X,
    y: data.y,
    n: data.n,
    hash,
    ...(manifest ? { manifest: manifestFile } : {}),
  };
}

/** A CSV part (`soda data split` of a CSV file keeps the header): n is its number of feature columns. */
async function readCsvShard(file: string) {
  const d = await readDataFile(file); // dense: n is the column count, read before anything is sized
  return { X: d.X, y: d.y, n: d.X.cols };
}

/** The `stats` answer: what the file holds, and its column maxima (sparse, dimension n, over its own columns). */
export function shardStats(s: OwnShard): {
  m: number;
  n: number;
  nnz: number;
  hash: string;
  colMax: SparseVector;
} {
  return { m: s.X.rows, n: s.n, nnz: s.X.ind.length, hash: s.hash, colMax: columnMaxima(localRows(s.X)) };
}

/**
 * The shard ready to compute on: widened to the run's n (a file whose largest index is smaller), scaled
 * by the run's divisors when given, with the intercept's constant column appended after scaling when the
 * run fits one (it is then column n − 1, and the file's features must fit in n − 1), column-major over
 * its own columns (columns.ts), with its L_i. A file wider than the run is refused.
 */
export function prepareOwnShard(
  s: OwnShard,
  n: number,
  scale: Float64Array | SparseVector | undefined,
  lambda2: number,
  intercept = false,
): { data: LocalShard; L: number } {
  const features = intercept ? n - 1 : n;
  if (s.n > features)
    throw new SodaError(
      'E_DATA_MISMATCH',
      `${s.file} has features up to index ${s.n} but the run's dimension is n = ${n}` +
        (intercept ? ` (${features} features and the intercept)` : ''),
      { file: s.file, n: s.n, runN: n },
    );
  let X: CsrMatrix = { ...s.X, cols: features };
  if (scale !== undefined) {
    const length = scale instanceof Float64Array ? scale.length : scale.n;
    // the intercept's divisor (index n − 1) must be 1: its column is appended after scaling
    const last = !intercept ? 1 : scale instanceof Float64Array ? scale[n - 1] : sparseAt(scale, n - 1);
    if (length !== n || last !== 1)
      throw new SodaError(
        'E_DATA_MISMATCH',
        `scale has ${length} divisors for n = ${n}` + (intercept ? ', the last (intercept) must be 1' : ''),
        { file: s.file },
      );
    // a sparse scale is read only at the rows' own columns (< n − 1 with an intercept)
    X = scaleRows(X, scale instanceof Float64Array ? scale.subarray(0, features) : scale);
  }
  if (intercept) X = appendConstantColumn(X);
  return prepareShard(X, s.y, lambda2);
}

/** The value of a sparse vector at j (1 where it has none: a sparse scale's divisors are 1 off idx). */
function sparseAt(v: SparseVector, j: number): number {
  const t = localIndex(v.idx, j, 0);
  return t >= 0 ? v.val[t] : 1;
}
