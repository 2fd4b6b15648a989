import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { removeStaleTemps, Rng, sparseToDense, type SparseVector } from '@soda/core';
import {
  checkCompatible,
  decodeCheckpoint,
  encodeCheckpoint,
  encodeCheckpointChunks,
  readCheckpoint,
  writeCheckpointFile,
  type Checkpoint,
  type RunIdentity,
} from '../src/checkpoint';

const identity: RunIdentity = {
  dataName: 'planted.svm',
  dataHash: 'a'.repeat(64),
  m: 100,
  n: 7,
  workers: 3,
  shuffle: true,
  seed: 1,
  algo: 'soda',
  lambda1: 0.01,
  lambda2: 1e-3,
  p0: 0.1,
  gammaGiven: null,
};

/**
 * Sparse vectors with every awkward double: −0, subnormals, extremes, values that do not print short,
 * an odd number of entries (the index block is padded) and none at all.
 */
function sample(best: boolean): Checkpoint {
  const rng = new Rng(3);
  const vec = (): SparseVector => {
    const idx = Uint32Array.from([0, 1, 2, 3, 4, 5, 6].filter(() => rng.next() < 0.6));
    return { n: 7, idx, val: Float64Array.from(idx, () => rng.normal() / 3) };
  };
  const wbar: SparseVector = {
    n: 7,
    idx: Uint32Array.of(0, 1, 2, 3, 4, 5, 6),
    val: Float64Array.from([-0, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, -1 / 3, 2 ** -1074 * 3, 1e-17]),
  };
  return {
    meta: {
      ...identity,
      runId: 'run-1',
      createdAt: new Date(0).toISOString(),
      k: 12345,
      p: 0.2,
      gamma: 2 / 3,
      restarts: 1,
      elapsedMs: 999,
      stats: { updates: 12345, rejectedFrames: 2 },
      shardUpdates: [4000, 4000, 4345],
      L: [0.25, null, 0.3],
      evaluated: { objective: 0.123456789012345, subopt: 1e-9 },
      best: best ? { k: 100, objective: 0.2 } : null,
    },
    wbar,
    wi: [vec(), { n: 7, idx: new Uint32Array(0), val: new Float64Array(0) }, vec()],
    bestWbar: best ? vec() : null,
  };
}

const bits = (v: SparseVector) => [
  Array.from(v.idx),
  Array.from(new Uint32Array(v.val.buffer, v.val.byteOffset, v.val.length * 2)),
];

describe('checkpoint format', () => {
  it('round-trips every vector bit for bit and every scalar exactly', () => {
    for (const best of [true, false]) {
      const ck = sample(best);
      const back = decodeCheckpoint(encodeCheckpoint(ck));
      expect(back.meta).toEqual(ck.meta);
      expect(bits(back.wbar)).toEqual(bits(ck.wbar));
      expect(Object.is(back.wbar.val[0], -0)).toBe(true);
      ck.wi.forEach((v, i) => expect(bits(back.wi[i])).toEqual(bits(v)));
      if (best) expect(bits(back.bestWbar!)).toEqual(bits(ck.bestWbar!));
      else expect(back.bestWbar).toBeNull();
    }
  });

  it('refuses a truncated, corrupted or foreign file, saying which', () => {
    const buf = encodeCheckpoint(sample(true));
    expect(() => decodeCheckpoint(buf.subarray(0, buf.length - 9), 'ck')).toThrow(/ck is truncated/);
    expect(() => decodeCheckpoint(buf.subarray(0, 20), 'ck')).toThrow(/ck is truncated/);
    const flipped = Buffer.from(buf);
    flipped[buf.length - 100] ^= 1; // inside a vector: only the checksum can tell
    expect(() => decodeCheckpoint(flipped, 'ck')).toThrow(/ck is corrupt: its SHA-256 checksum/);
    expect(() => decodeCheckpoint(Buffer.from('{"format":"soda-model"}'), 'ck')).toThrow(
      /ck is not a SODA checkpoint/,
    );
    const other = Buffer.from(buf);
    other.writeUInt32LE(7, 8);
    expect(() => decodeCheckpoint(other, 'ck')).toThrow(/format 7; this master reads formats 1 and 2/);
  });

  it('the pieces written off the event loop are the same bytes as the one-buffer encoding', async () => {
    for (const best of [true, false]) {
      const ck = sample(best);
      const pieces = await encodeCheckpointChunks(ck);
      expect(Buffer.concat(pieces).equals(encodeCheckpoint(ck))).toBe(true);
    }
  });

  it('is O(non-zeros): a checkpoint of n = 10⁶ with a few non-zeros per vector is a few hundred bytes', () => {
    const n = 1_000_000;
    const one = (j: number): SparseVector => ({ n, idx: Uint32Array.of(j), val: Float64Array.of(0.5) });
    const ck = sample(false);
    const big: Checkpoint = {
      ...ck,
      meta: { ...ck.meta, n },
      wbar: one(999_999),
      wi: [one(0), one(1), one(999_999)],
    };
    const buf = encodeCheckpoint(big);
    expect(buf.length).toBeLessThan(2000);
    const back = decodeCheckpoint(buf);
    expect(Array.from(back.wi[2].idx)).toEqual([999_999]);
  });

  it('still reads format 1 (every vector dense), as sparse vectors', () => {
    const ck = sample(true);
    // format 1 as the previous master wrote it: magic, version 1, meta, pad, f64[n] per vector, SHA-256
    const json = Buffer.from(JSON.stringify(ck.meta), 'utf8');
    const start = (16 + json.length + 7) & ~7;
    const vectors = [ck.wbar, ...ck.wi, ck.bestWbar!].map((v) => sparseToDense(v));
    const body = Buffer.alloc(start + vectors.length * 7 * 8);
    body.write('SODACKPT', 0, 'latin1');
    body.writeUInt32LE(1, 8);
    body.writeUInt32LE(json.length, 12);
    json.copy(body, 16);
    vectors.forEach((v, i) => v.forEach((x, j) => body.writeDoubleLE(x, start + 8 * (7 * i + j))));
    const buf = Buffer.concat([body, createHash('sha256').update(body).digest()]);
    const back = decodeCheckpoint(buf);
    expect(back.meta).toEqual(ck.meta);
    [ck.wbar, ...ck.wi].forEach((v, i) =>
      expect(Array.from(sparseToDense([back.wbar, ...back.wi][i]))).toEqual(Array.from(sparseToDense(v))),
    );
    expect(Array.from(sparseToDense(back.bestWbar!))).toEqual(Array.from(sparseToDense(ck.bestWbar!)));
  });

  it('refuses a checkpoint of other data or settings, naming every difference', () => {
    const meta = sample(false).meta;
    expect(() => checkCompatible(meta, identity, 'f')).not.toThrow();
    const other = { ...identity, dataHash: 'b'.repeat(64), dataName: 'other.svm', lambda1: 0.02, workers: 4 };
    let message = '';
    try {
      checkCompatible(meta, other, 'f');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('checkpoint f belongs to another run');
    expect(message).toContain('data planted.svm (content hash aaaaaaaaaaaa…) vs this run');
    expect(message).toContain('other.svm (bbbbbbbbbbbb…)');
    expect(message).toContain("lambda1 0.01 vs this run's 0.02");
    expect(message).toContain("workers 3 vs this run's 4");
    expect(message).not.toContain('lambda2');
  });
});

describe('checkpoint files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'soda-ck-'));

  it('writes through a temporary file and rename; a failed write leaves the old checkpoint and no litter', async () => {
    const file = path.join(dir, 'run.soda');
    await writeCheckpointFile(file, encodeCheckpoint(sample(false)));
    const first = readFileSync(file);
    expect(readCheckpoint(file).meta.k).toBe(12345);
    // A write that cannot complete (a folder sits where the file goes) fails with a clear error,
    // leaves what was there untouched and no temporary file behind.
    const blocked = path.join(dir, 'blocked.soda');
    mkdirSync(path.join(blocked, 'inside'), { recursive: true });
    await expect(writeCheckpointFile(blocked, first)).rejects.toThrow(
      /cannot write checkpoint .*blocked\.soda/,
    );
    expect(readdirSync(blocked)).toEqual(['inside']);
    await expect(writeCheckpointFile(path.join(file, 'x.soda'), first)).rejects.toThrow(
      /cannot write checkpoint/,
    );
    expect(readFileSync(file).equals(first)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['blocked.soda', 'run.soda']);
  });

  it('sweeps temporary files a killed master left, and only those', async () => {
    const file = path.join(dir, 'sweep.soda');
    writeFileSync(file, 'keep');
    writeFileSync(`${file}.tmp-123-456`, 'half');
    writeFileSync(path.join(dir, 'other.tmp-1'), 'keep too');
    await removeStaleTemps(file);
    expect(existsSync(`${file}.tmp-123-456`)).toBe(false);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(path.join(dir, 'other.tmp-1'))).toBe(true);
  });

  it('a missing checkpoint is a clear error that says what --resume needs', () => {
    expect(() => readCheckpoint(path.join(dir, 'none.soda'))).toThrow(
      /none\.soda does not exist; --resume needs the checkpoint of an earlier run/,
    );
  });
});
