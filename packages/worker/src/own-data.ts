import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  applyScale,
  columnMaxAbsSparse,
  contentHash,
  csrToCsc,
  logisticSmoothness,
  MANIFEST_NAME,
  readLibsvm,
  readManifest,
  SodaError,
  type CsrMatrix,
  type SparseVector,
  type SplitManifest,
} from '@soda/core';
import type { LocalShard } from './local-step';

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
export async function readOwnShard(file: string, shard: number): Promise<OwnShard> {
  const manifestFile = path.join(path.dirname(file), MANIFEST_NAME);
  const manifest: SplitManifest | undefined = fs.existsSync(manifestFile)
    ? await readManifest(manifestFile)
    : undefined;
  const data = await readLibsvm(file, manifest ? { n: manifest.n } : {});
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

/** The `stats` answer: what the file holds, and its column maxima (sparse, dimension n). */
export function shardStats(s: OwnShard): {
  m: number;
  n: number;
  nnz: number;
  hash: string;
  colMax: SparseVector;
} {
  return { m: s.X.rows, n: s.n, nnz: s.X.ind.length, hash: s.hash, colMax: columnMaxAbsSparse(s.X) };
}

/**
 * The shard ready to compute on: widened to the run's n (a file whose largest index is smaller), scaled
 * by the run's divisors when given, column-major, with its L_i. A file wider than the run is refused.
 */
export function prepareOwnShard(
  s: OwnShard,
  n: number,
  given: Float64Array | SparseVector | undefined,
  lambda2: number,
): { data: LocalShard; L: number } {
  // sparse divisors (this shard's columns only, from the master): 1 elsewhere, where the shard has no entry
  const scale = given !== undefined && 'idx' in given ? sparseDivisors(given) : given;
  if (s.n > n)
    throw new SodaError(
      'E_DATA_MISMATCH',
      `${s.file} has features up to index ${s.n} but the run's dimension is n = ${n}`,
      { file: s.file, n: s.n, runN: n },
    );
  let X: CsrMatrix = { ...s.X, cols: n };
  if (scale !== undefined) {
    if (scale.length !== n)
      throw new SodaError('E_DATA_MISMATCH', `scale has ${scale.length} divisors for n = ${n}`, {
        file: s.file,
      });
    X = applyScale(X, scale);
  }
  return { data: { X: csrToCsc(X), y: s.y }, L: logisticSmoothness(X, lambda2) };
}

/** Dense divisors from the sparse ones a master sends (1 on the columns it leaves out). */
function sparseDivisors(v: SparseVector): Float64Array {
  const out = new Float64Array(v.n).fill(1);
  for (let t = 0; t < v.idx.length; t++) out[v.idx[t]] = v.val[t];
  return out;
}
