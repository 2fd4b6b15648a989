import { SodaError } from './errors';
import { selectExamples, type Dataset } from './matrix';
import { Rng } from './rng';

/**
 * Splitting the m examples into M shards S_1 ⊔ … ⊔ S_M (paper §2). A shard is the ascending list of
 * its row ids; sizes differ by at most one, so the π_i = |S_i| / m are as equal as m allows.
 */

/** Rows 0..m−1 cut into M consecutive blocks, in order; the first (m mod M) blocks get one extra row. */
export function shardContiguous(m: number, M: number): Uint32Array[] {
  checkShardCounts(m, M);
  const parts: Uint32Array[] = [];
  let next = 0;
  for (const size of shardSizes(m, M)) {
    const part = new Uint32Array(size);
    for (let r = 0; r < size; r++) part[r] = next++;
    parts.push(part);
  }
  return parts;
}

/**
 * A seeded random partition: a uniform permutation of 0..m−1 cut into blocks of the contiguous sizes.
 * Each part is then sorted ascending, so a worker reads its rows in file order (locality).
 */
export function shardShuffled(m: number, M: number, seed: number): Uint32Array[] {
  checkShardCounts(m, M);
  if (!Number.isSafeInteger(seed))
    throw new SodaError('E_CONFIG', `shard seed must be an integer, got ${seed}`);
  const perm = new Uint32Array(m);
  for (let r = 0; r < m; r++) perm[r] = r;
  new Rng(seed).shuffle(perm);
  const parts: Uint32Array[] = [];
  let start = 0;
  for (const size of shardSizes(m, M)) {
    parts.push(perm.slice(start, start + size).sort());
    start += size;
  }
  return parts;
}

/** π_i = |S_i| / m with m = Σ |S_i|: the weights of the f_i in F (paper eq. 1). */
export function shardWeights(parts: readonly ArrayLike<number>[]): Float64Array {
  let m = 0;
  for (const p of parts) m += p.length;
  if (m === 0) throw new SodaError('E_CONFIG', 'cannot weight shards that hold no rows at all');
  const pi = new Float64Array(parts.length);
  for (let i = 0; i < parts.length; i++) pi[i] = parts[i].length / m;
  return pi;
}

/** The sub-datasets (X_i, y_i) of the given parts, rows in each part's order. */
export function shardDataset(ds: Dataset, parts: readonly ArrayLike<number>[]): Dataset[] {
  return parts.map((part, i) => selectExamples(ds, part, `shard ${i}`));
}

/** ⌈m/M⌉ for the first (m mod M) shards, ⌊m/M⌋ for the rest. */
function shardSizes(m: number, M: number): number[] {
  const base = Math.floor(m / M);
  const extra = m % M;
  return Array.from({ length: M }, (_, i) => base + (i < extra ? 1 : 0));
}

function checkShardCounts(m: number, M: number): void {
  if (!Number.isInteger(m) || m < 1 || m > 0xffffffff)
    throw new SodaError('E_CONFIG', `number of rows m must be a positive integer, got ${m}`, { m });
  if (!Number.isInteger(M) || M < 1)
    throw new SodaError('E_CONFIG', `number of shards M must be a positive integer, got ${M}`, { M });
  if (M > m)
    throw new SodaError(
      'E_CONFIG',
      `cannot split ${m} rows into ${M} shards: every shard needs at least one row`,
      {
        m,
        M,
      },
    );
}
