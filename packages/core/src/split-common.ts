import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurable } from './durable-write';
import { SodaError } from './errors';
import { contentHash, startsWithGzipMagic, type LibsvmWriter } from './libsvm';
import { shardContiguous, shardShuffled } from './shard';

/* What splitLibsvm and splitCsv share: the manifest's format, the settings, the partition of row ids. */

export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_FORMAT = 'soda-split-1';

export interface PartInfo {
  readonly shard: number;
  /** file name inside the manifest's folder */
  readonly file: string;
  readonly rows: number;
  /** largest 1-based feature index in this part (≤ the manifest's n) */
  readonly n: number;
  readonly nnz: number;
  /** SHA-256 (hex) of the part file's bytes, as `contentHash` computes it */
  readonly sha256: string;
}

export interface SplitManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly source: string;
  /** SHA-256 of the source's (decompressed) content */
  readonly sourceSha256: string;
  readonly rows: number;
  /** the dataset's dimension: every worker reads its part with this n */
  readonly n: number;
  readonly nnz: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly parts: readonly PartInfo[];
}

export interface SplitOptions {
  readonly parts: number;
  readonly outDir: string;
  /** seeded random partition (default) or contiguous blocks */
  readonly shuffle?: boolean;
  readonly seed?: number;
  /** gzip the parts (default: when the input is gzip) */
  readonly gzip?: boolean;
  /** refuse an index above this (the parser's default otherwise) */
  readonly maxFeatures?: number;
}

export async function splitSettings(input: string, opts: SplitOptions) {
  const M = opts.parts;
  if (!(Number.isSafeInteger(M) && M >= 1))
    throw new SodaError('E_CONFIG', `--parts must be a positive integer, got ${M}`);
  const gzipIn = input.endsWith('.gz') || (await startsWithGzipMagic(input));
  return { M, shuffle: opts.shuffle ?? true, seed: opts.seed ?? 1, gzipIn, gzipOut: opts.gzip ?? gzipIn };
}

/** owner[r] = the part of row r: the master's own seeded partition (or contiguous blocks). */
export function rowOwners(
  input: string,
  rows: number,
  M: number,
  shuffle: boolean,
  seed: number,
): Uint32Array {
  if (rows < M)
    throw new SodaError('E_CONFIG', `${input} has ${rows} examples, fewer than --parts ${M}`, {
      file: input,
    });
  const owner = new Uint32Array(rows);
  const ids = shuffle ? shardShuffled(rows, M, seed) : shardContiguous(rows, M);
  ids.forEach((part, i) => part.forEach((r) => (owner[r] = i)));
  return owner;
}

export interface PartStats {
  rows: number;
  n: number;
  nnz: number;
}

/** The second pass must see the rows the first one counted. */
export function sameRows(input: string, counted: number, routed: number): void {
  if (routed !== counted)
    throw new SodaError('E_DATA_READ', `${input} changed while splitting: ${counted} rows, then ${routed}`, {
      file: input,
    });
}

/** Runs `route` (the pass that writes the parts), then publishes every part, or removes them all. */
export async function writeParts(
  writers: readonly LibsvmWriter[],
  route: () => Promise<void>,
): Promise<void> {
  try {
    await route();
    for (const w of writers) await w.close();
  } catch (e) {
    await Promise.all(writers.map((w) => w.abort()));
    throw e;
  }
}

/** Hashes the written parts and writes manifest.json beside them (durably, last). */
export async function writeManifest(
  input: string,
  outDir: string,
  files: readonly string[],
  stats: readonly PartStats[],
  head: Omit<SplitManifest, 'format' | 'parts' | 'source'>,
): Promise<SplitManifest> {
  const parts: PartInfo[] = [];
  for (let i = 0; i < files.length; i++)
    parts.push({
      shard: i,
      file: files[i],
      ...stats[i],
      sha256: await contentHash(path.join(outDir, files[i])),
    });
  const manifest: SplitManifest = { format: MANIFEST_FORMAT, source: path.basename(input), ...head, parts };
  await fs.promises.mkdir(outDir, { recursive: true });
  await writeFileDurable(path.join(outDir, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
