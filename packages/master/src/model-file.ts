import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SparseVector } from '@soda/core';

/** A trained model as written to disk: JSON, sparse weights, with what is needed to score new data. */
export interface ModelFile {
  readonly format: 'soda-model';
  readonly version: 1;
  readonly n: number;
  readonly lambda1: number;
  readonly lambda2: number;
  readonly dataName: string;
  readonly dataHash: string;
  readonly objective: number | null;
  readonly idx: number[];
  readonly val: number[];
  /** Max-abs column divisors applied to the training data (absent: none). */
  readonly scale?: number[];
}

export function modelFileOf(
  w: SparseVector,
  meta: Omit<ModelFile, 'format' | 'version' | 'n' | 'idx' | 'val'>,
): ModelFile {
  return {
    format: 'soda-model',
    version: 1,
    n: w.n,
    ...meta,
    idx: Array.from(w.idx),
    val: Array.from(w.val),
  };
}

/** Write atomically: a temporary file in the same folder, then rename, so no reader sees half a file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
