import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SodaError, writeFileDurable } from '@soda/core';
import type { Algo } from './algo';
import { checkRunEnd, type RunEnd } from './run-end';

/**
 * A checkpoint: everything the master needs to continue a run after it died. The vectors (w̄, every
 * shard's w_i, the best evaluated w̄) are stored as raw little-endian Float64 so a resumed run starts
 * from bit-identical state; the scalars travel as JSON (a JS number prints and parses back exactly).
 *
 *   "SODACKPT" | u32 format version | u32 meta length | meta (UTF-8 JSON) | zero pad to 8 bytes |
 *   f64 w̄[n] | f64 w_0[n] … w_{M−1}[n] | f64 best w̄[n] (when meta.best) | SHA-256 of all the above
 */
export const CHECKPOINT_MAGIC = 'SODACKPT';
export const CHECKPOINT_VERSION = 1;

/** What identifies the run: a checkpoint is only resumed by a master with the same data and settings. */
export interface RunIdentity {
  readonly dataName: string;
  readonly dataHash: string;
  readonly m: number;
  readonly n: number;
  readonly workers: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly algo: Algo;
  readonly lambda1: number;
  readonly lambda2: number;
  /** p as configured (restarts may have raised the current p since). */
  readonly p0: number;
  /** γ given by the user, or null when derived from the shards' L_i. */
  readonly gammaGiven: number | null;
}

export interface CheckpointMeta extends RunIdentity {
  readonly runId: string;
  readonly createdAt: string;
  /** updates applied (the paper's k) */
  readonly k: number;
  /** current mask probability and step size (restarts may have changed them) */
  readonly p: number;
  readonly gamma: number;
  readonly restarts: number;
  readonly elapsedMs: number;
  readonly stats: Readonly<Record<string, number>>;
  /** updates applied per shard (full rounds for divergence detection) */
  readonly shardUpdates: readonly number[];
  /** L_i reported per shard (null: never reported) */
  readonly L: readonly (number | null)[];
  /** F at exactly this state when it was evaluated, else null */
  readonly evaluated: { readonly objective: number; readonly subopt: number | null } | null;
  /** the best evaluated point (its w̄ follows the w_i in the file) */
  readonly best: { readonly k: number; readonly objective: number } | null;
  /** how the run ended, in its final checkpoint only (absent: it can go on); see run-end.ts */
  readonly end?: RunEnd;
}

export interface Checkpoint {
  readonly meta: CheckpointMeta;
  readonly wbar: Float64Array;
  readonly wi: readonly Float64Array[];
  readonly bestWbar: Float64Array | null;
}

const HEAD = 16; // magic + version + meta length
const SHA = 32;

export function encodeCheckpoint(ck: Checkpoint): Buffer {
  const { meta, wbar, wi, bestWbar } = ck;
  const n = meta.n;
  if (wbar.length !== n || wi.length !== meta.workers || wi.some((v) => v.length !== n))
    throw new SodaError('E_INTERNAL', 'checkpoint vectors do not match n and M');
  if ((meta.best === null) !== (bestWbar === null))
    throw new SodaError('E_INTERNAL', 'checkpoint best point and its w̄ must come together');
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const vecStart = align8(HEAD + json.length);
  const vectors = 1 + wi.length + (bestWbar ? 1 : 0);
  const buf = Buffer.alloc(vecStart + vectors * n * 8 + SHA);
  buf.write(CHECKPOINT_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(CHECKPOINT_VERSION, 8);
  buf.writeUInt32LE(json.length, 12);
  json.copy(buf, HEAD);
  let off = vecStart;
  for (const v of [wbar, ...wi, ...(bestWbar ? [bestWbar] : [])]) {
    for (let j = 0; j < n; j++, off += 8) buf.writeDoubleLE(v[j], off);
  }
  createHash('sha256').update(buf.subarray(0, off)).digest().copy(buf, off);
  return buf;
}

/** Parse and verify a checkpoint; every failure is a SodaError naming the file and what is wrong. */
export function decodeCheckpoint(buf: Buffer, file = 'checkpoint'): Checkpoint {
  const bad = (why: string): never => {
    throw new SodaError('E_CHECKPOINT', `${file} ${why}`, { file });
  };
  if (buf.length < HEAD || buf.toString('latin1', 0, 8) !== CHECKPOINT_MAGIC)
    bad('is not a SODA checkpoint (no SODACKPT header)');
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION)
    bad(`has checkpoint format ${version}; this master reads format ${CHECKPOINT_VERSION}`);
  const metaLen = buf.readUInt32LE(12);
  if (HEAD + metaLen + SHA > buf.length) bad(`is truncated (${buf.length} bytes)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(buf.toString('utf8', HEAD, HEAD + metaLen)) as CheckpointMeta;
  } catch {
    return bad('has an unreadable header');
  }
  const { n, workers } = meta;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(workers) || workers < 1)
    bad(`has an invalid header (n = ${n}, workers = ${workers})`);
  if (meta.end !== undefined) checkRunEnd(meta.end, bad);
  const vecStart = align8(HEAD + metaLen);
  const vectors = 1 + workers + (meta.best ? 1 : 0);
  const expected = vecStart + vectors * n * 8 + SHA;
  if (buf.length !== expected)
    bad(`is truncated or padded: ${buf.length} bytes where its header implies ${expected}`);
  const body = buf.subarray(0, expected - SHA);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(buf.subarray(expected - SHA))
  )
    bad('is corrupt: its SHA-256 checksum does not match its content');
  const read = (i: number): Float64Array => {
    const v = new Float64Array(n);
    const off = vecStart + i * n * 8;
    for (let j = 0; j < n; j++) v[j] = buf.readDoubleLE(off + 8 * j);
    return v;
  };
  return {
    meta,
    wbar: read(0),
    wi: Array.from({ length: workers }, (_, i) => read(1 + i)),
    bestWbar: meta.best ? read(1 + workers) : null,
  };
}

export function readCheckpoint(file: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'does not exist; --resume needs the checkpoint of an earlier run (run without --resume to start afresh)'
        : `cannot be read: ${err.message}`;
    throw new SodaError('E_CHECKPOINT', `checkpoint ${file} ${why}`, { file, reason: err.code });
  }
  return decodeCheckpoint(buf, `checkpoint ${file}`);
}

/** Refuse a checkpoint of another dataset or other settings, naming every difference. */
export function checkCompatible(meta: CheckpointMeta, run: RunIdentity, file: string): void {
  const diffs: string[] = [];
  const same = (a: unknown, b: unknown): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (meta.dataHash !== run.dataHash)
    diffs.push(
      `data ${meta.dataName} (content hash ${meta.dataHash.slice(0, 12)}…) vs this run's ` +
        `${run.dataName} (${run.dataHash.slice(0, 12)}…)`,
    );
  const keys: (keyof RunIdentity)[] = [
    'm',
    'n',
    'workers',
    'shuffle',
    'seed',
    'algo',
    'lambda1',
    'lambda2',
    'p0',
    'gammaGiven',
  ];
  for (const key of keys)
    if (!same(meta[key], run[key]))
      diffs.push(`${key === 'p0' ? 'p' : key} ${String(meta[key])} vs this run's ${String(run[key])}`);
  if (diffs.length > 0)
    throw new SodaError(
      'E_CHECKPOINT',
      `checkpoint ${file} belongs to another run: ${diffs.join('; ')}. ` +
        'Resume with the data and settings it was made with, or start without --resume.',
      { file, differences: diffs },
    );
}

/** A checkpoint is written durably: a reader sees the old one or the new one, never half. */
export function writeCheckpointFile(file: string, data: Uint8Array): Promise<void> {
  return writeFileDurable(file, data, { code: 'E_CHECKPOINT', what: 'checkpoint' });
}

function align8(x: number): number {
  return (x + 7) & ~7;
}

/** `ck` with the F(w^k) an evaluation round found for it. */
export function withEvaluated(ck: Checkpoint, objective: number, subopt: number | null): Checkpoint {
  return { ...ck, meta: { ...ck.meta, evaluated: { objective, subopt } } };
}
