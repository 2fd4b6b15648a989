import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { SodaError, sparseViolation, writeFileDurable, type SparseVector } from '@soda/core';
import type { Algo } from './algo';
import { checkRunEnd, type RunEnd } from './run-end';
import { sparseBits } from './shard-iterate';

/**
 * A checkpoint: everything the master needs to continue a run after it died. The vectors (w̄, every
 * shard's w_i, the best evaluated w̄) are stored sparse — their non-zeros, as raw little-endian u32
 * indices and f64 values — so a resumed run starts from bit-identical state and the file is
 * O(n + Σ_i |w_i|), never O(M·n); the scalars travel as JSON (a JS number prints and parses back exactly).
 *
 *   "SODACKPT" | u32 format version | u32 head length | head (UTF-8 JSON: meta and `nnz`, the vectors'
 *   non-zero counts) | zero pad to 8 bytes | per vector: u32 idx[nnz], zero pad to 8, f64 val[nnz] |
 *   SHA-256 of all the above
 *
 * Format 1 (every vector dense, f64[n]) is still read.
 */
export const CHECKPOINT_MAGIC = 'SODACKPT';
export const CHECKPOINT_VERSION = 2;

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
  /** w̄, sparse (its non-zeros) */
  readonly wbar: SparseVector;
  /** each shard's w_i, sparse */
  readonly wi: readonly SparseVector[];
  readonly bestWbar: SparseVector | null;
}

const HEAD = 16; // magic + version + head length
const SHA = 32;
/** hash this much between two turns of the event loop while a checkpoint is encoded */
const HASH_SLICE = 4 * 1024 * 1024;
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The checkpoint's bytes as a list of pieces (the head, then each vector's indices and values —
 * views of the snapshot's own arrays on a little-endian machine, no copy), without the trailing
 * SHA-256. The snapshot must not change until the pieces are written: snapshots are fresh copies.
 */
function pieces(ck: Checkpoint): Uint8Array[] {
  const { meta, wbar, wi, bestWbar } = ck;
  const n = meta.n;
  if (wbar.n !== n || wi.length !== meta.workers || wi.some((v) => v.n !== n))
    throw new SodaError('E_INTERNAL', 'checkpoint vectors do not match n and M');
  if ((meta.best === null) !== (bestWbar === null))
    throw new SodaError('E_INTERNAL', 'checkpoint best point and its w̄ must come together');
  const vectors = [wbar, ...wi, ...(bestWbar ? [bestWbar] : [])];
  const json = Buffer.from(JSON.stringify({ ...meta, nnz: vectors.map((v) => v.idx.length) }), 'utf8');
  const head = Buffer.alloc(align8(HEAD + json.length));
  head.write(CHECKPOINT_MAGIC, 0, 'latin1');
  head.writeUInt32LE(CHECKPOINT_VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  json.copy(head, HEAD);
  const out: Uint8Array[] = [head];
  const pad = new Uint8Array(4);
  for (const v of vectors) {
    out.push(leBytes(v.idx));
    if (v.idx.length % 2 === 1) out.push(pad);
    out.push(leBytes(v.val));
  }
  return out;
}

/** The little-endian bytes of a typed array: a view when the machine is little-endian, else a copy. */
function leBytes(a: Uint32Array | Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const b = Buffer.alloc(a.byteLength);
  if (a instanceof Uint32Array) a.forEach((x, t) => b.writeUInt32LE(x, 4 * t));
  else a.forEach((x, t) => b.writeDoubleLE(x, 8 * t));
  return b;
}

/** The whole checkpoint in one buffer (tests, small runs). */
export function encodeCheckpoint(ck: Checkpoint): Buffer {
  const body = Buffer.concat(pieces(ck));
  const h = createHash('sha256').update(body).digest();
  return Buffer.concat([body, h]);
}

/**
 * The checkpoint as pieces ready for a durable write, its SHA-256 computed a slice at a time with a
 * turn of the event loop between slices: a checkpoint of hundreds of MB never stalls the master
 * (updates keep flowing, /healthz answers, pings are answered) while it is hashed and written.
 */
export async function encodeCheckpointChunks(ck: Checkpoint): Promise<Uint8Array[]> {
  const out = pieces(ck);
  const h = createHash('sha256');
  for (const p of out)
    for (let off = 0; off < p.length; off += HASH_SLICE) {
      h.update(p.subarray(off, Math.min(p.length, off + HASH_SLICE)));
      await new Promise<void>((res) => setImmediate(res));
    }
  out.push(h.digest());
  return out;
}

/** Parse and verify a checkpoint; every failure is a SodaError naming the file and what is wrong. */
export function decodeCheckpoint(buf: Buffer, file = 'checkpoint'): Checkpoint {
  const bad = (why: string): never => {
    throw new SodaError('E_CHECKPOINT', `${file} ${why}`, { file });
  };
  if (buf.length < HEAD || buf.toString('latin1', 0, 8) !== CHECKPOINT_MAGIC)
    bad('is not a SODA checkpoint (no SODACKPT header)');
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION && version !== 1)
    bad(`has checkpoint format ${version}; this master reads formats 1 and ${CHECKPOINT_VERSION}`);
  const metaLen = buf.readUInt32LE(12);
  if (HEAD + metaLen + SHA > buf.length) bad(`is truncated (${buf.length} bytes)`);
  let head: CheckpointMeta & { nnz?: unknown };
  try {
    head = JSON.parse(buf.toString('utf8', HEAD, HEAD + metaLen)) as CheckpointMeta & { nnz?: unknown };
  } catch {
    return bad('has an unreadable header');
  }
  const { nnz, ...meta } = head;
  const { n, workers } = meta;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(workers) || workers < 1)
    bad(`has an invalid header (n = ${n}, workers = ${workers})`);
  if (meta.end !== undefined) checkRunEnd(meta.end, bad);
  const count = 1 + workers + (meta.best ? 1 : 0);
  const counts: number[] =
    version === 1 ? new Array<number>(count).fill(n) : Array.isArray(nnz) ? (nnz as number[]) : [];
  if (counts.length !== count || counts.some((c) => !Number.isInteger(c) || c < 0 || c > n))
    bad(`has an invalid header (nnz = ${JSON.stringify(nnz)} for ${count} vectors of n = ${n})`);
  const vecStart = align8(HEAD + metaLen);
  const size = (c: number) => (version === 1 ? 8 * c : align8(4 * c) + 8 * c);
  const expected = vecStart + counts.reduce((a, c) => a + size(c), 0) + SHA;
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
  let off = vecStart;
  const read = (c: number, what: string): SparseVector => {
    let v: SparseVector;
    if (version === 1) {
      const dense = new Float64Array(c);
      for (let j = 0; j < c; j++) dense[j] = buf.readDoubleLE(off + 8 * j);
      v = sparseBits(dense);
    } else {
      const idx = new Uint32Array(c);
      const val = new Float64Array(c);
      for (let t = 0; t < c; t++) idx[t] = buf.readUInt32LE(off + 4 * t);
      const at = off + align8(4 * c);
      for (let t = 0; t < c; t++) val[t] = buf.readDoubleLE(at + 8 * t);
      v = { n, idx, val };
    }
    off += size(c);
    const why = sparseViolation(v);
    return why === null ? v : bad(`has an invalid ${what}: ${why}`);
  };
  const wbar = read(counts[0], 'w̄');
  const wi = Array.from({ length: workers }, (_, i) => read(counts[1 + i], `w_${i}`));
  const bestWbar = meta.best ? read(counts[1 + workers], 'best w̄') : null;
  return { meta, wbar, wi, bestWbar };
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
export function writeCheckpointFile(file: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  return writeFileDurable(file, data, { code: 'E_CHECKPOINT', what: 'checkpoint' });
}

function align8(x: number): number {
  return (x + 7) & ~7;
}

/** `ck` with the F(w^k) an evaluation round found for it. */
export function withEvaluated(ck: Checkpoint, objective: number, subopt: number | null): Checkpoint {
  return { ...ck, meta: { ...ck.meta, evaluated: { objective, subopt } } };
}
