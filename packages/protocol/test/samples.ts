import { Rng, type SparseVector } from '@soda/core';
import { PROTOCOL_VERSION, type Message, type ShardRows } from '@soda/protocol';

/** Test data: valid messages of every type, built from a seeded Rng, and independent invariant checks. */

/**
 * `nnz` distinct sorted indices in [0, n): one uniform pick in each of nnz equal strides (nnz draws,
 * not n: jest's sandbox makes per-element Rng calls slow), with normal values.
 */
export function randomSparse(rng: Rng, n: number, nnz: number): SparseVector {
  const idx = new Uint32Array(nnz);
  const val = new Float64Array(nnz);
  const stride = Math.floor(n / Math.max(nnz, 1));
  for (let k = 0; k < nnz; k++) {
    idx[k] = k * stride + rng.int(stride);
    val[k] = rng.normal();
  }
  return { n, idx, val };
}

/** m rows of 2..perRow non-zeros each, labels ±1. */
export function randomRows(rng: Rng, m: number, n: number, perRow: number): ShardRows {
  const ptr = new Float64Array(m + 1);
  const rows: SparseVector[] = [];
  for (let r = 0; r < m; r++) {
    rows.push(randomSparse(rng, n, Math.min(n, 2 + rng.int(perRow - 1))));
    ptr[r + 1] = ptr[r] + rows[r].idx.length;
  }
  const ind = new Uint32Array(ptr[m]);
  const val = new Float64Array(ptr[m]);
  rows.forEach((row, r) => {
    ind.set(row.idx, ptr[r]);
    val.set(row.val, ptr[r]);
  });
  const y = new Float64Array(m).map(() => (rng.next() < 0.5 ? -1 : 1));
  return { m, ptr, ind, val, y };
}

export function bytes32(rng: Rng): Uint8Array {
  return new Uint8Array(32).map(() => rng.int(256));
}

/** One valid message of each type (and a few optional-field variants), dimension n. */
export function sampleMessages(rng: Rng, n = 50, nnz = 8): Message[] {
  const v = (): SparseVector => randomSparse(rng, n, Math.min(n, nnz));
  return [
    { t: 'challenge', version: PROTOCOL_VERSION, nonce: bytes32(rng), authRequired: true },
    { t: 'hello', version: PROTOCOL_VERSION, workerId: 'worker-1' },
    { t: 'hello', version: PROTOCOL_VERSION, workerId: 'w', proof: bytes32(rng), shard: 3 },
    {
      t: 'challenge',
      version: PROTOCOL_VERSION,
      nonce: bytes32(rng),
      authRequired: true,
      runId: 'run-1',
      mac: true,
    },
    { t: 'hello', version: PROTOCOL_VERSION, workerId: 'w', nonce: bytes32(rng), proof: bytes32(rng) },
    { t: 'welcome', proof: bytes32(rng) },
    {
      t: 'assign',
      runId: 'run-2024',
      shard: 1,
      n,
      lambda2: 1e-3,
      p: 0.1,
      seed: 0xdeadbeef,
      delayMs: 0,
      rows: randomRows(rng, 6, n, 5),
      wi: v(),
    },
    {
      t: 'assign',
      runId: 'r',
      shard: 0,
      n,
      lambda2: 0,
      p: 1,
      seed: 0,
      delayMs: 12.5,
      rows: null,
      wi: { n, idx: new Uint32Array(0), val: new Float64Array(0) },
    },
    // a spare taking over a shard it reads itself: the run's divisors come with it
    {
      t: 'assign',
      runId: 'r',
      shard: 4,
      n,
      lambda2: 1e-3,
      p: 0.1,
      seed: 9,
      delayMs: 0,
      rows: null,
      scale: Float64Array.from({ length: n }, () => 0.5 + rng.next()),
      wi: v(),
    },
    // the stats round: no n yet
    { t: 'assign', runId: 'r', shard: 2, lambda2: 1e-3, p: 0.1, seed: 1, delayMs: 0, rows: null },
    {
      t: 'stats',
      shard: 2,
      m: 300,
      n,
      nnz: 4000,
      hash: 'ab'.repeat(32),
      colMax: { ...v(), val: Float64Array.from({ length: Math.min(n, nnz) }, () => 0.1 + rng.next()) },
    },
    {
      t: 'scale',
      shard: 2,
      n,
      scale: Float64Array.from({ length: n }, () => 1 + rng.next()),
      wi: v(),
    },
    { t: 'scale', shard: 0, n, wi: { n, idx: new Uint32Array(0), val: new Float64Array(0) } },
    { t: 'standby', reason: 'all 3 shards are taken' },
    { t: 'ready', shard: 2, m: 1000, L: 1.25 },
    { t: 'ready', shard: 2, m: 1000, L: 1.25, n, nnz: 12345, hash: '0f'.repeat(32) },
    { t: 'model', k: 17, gamma: 0.4, p: 0.05, w: v() },
    { t: 'update', shard: 0, k: 16, delta: v() },
    { t: 'eval', id: 3, w: v() },
    { t: 'eval', id: 4, w: v(), gap: true },
    { t: 'evalResult', id: 3, shard: 1, fi: 0.5 },
    // fi = 0, not -0: msgpackr writes -0 as the integer 0 (scalars only; typed arrays are bit-exact)
    { t: 'evalResult', id: 4, shard: 0, fi: 0, correct: 990 },
    { t: 'evalResult', id: 5, shard: 0, fi: 0.25, correct: 990, entropy: -123.5, u: v() },
    { t: 'stop', reason: 'target reached' },
    { t: 'error', code: 'E_FIELD', message: 'update.k = -1 must be ≥ 0' },
  ];
}

const WORKER = new Set(['hello', 'ready', 'stats', 'update', 'evalResult', 'error']);
export const fromWorker = (m: Message): boolean => WORKER.has(m.t);
export const fromMaster = (m: Message): boolean => !WORKER.has(m.t) || m.t === 'error';

/**
 * The invariants every accepted message must satisfy, written out again independently of the
 * decoder: returns the first broken one, or null.
 */
export function brokenInvariant(m: Message, n?: number): string | null {
  const isInt = (x: unknown, min: number): boolean => Number.isSafeInteger(x) && (x as number) >= min;
  const fin = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
  const unit = (x: number): boolean => fin(x) && x > 0 && x <= 1;
  const vec = (v: SparseVector, dim?: number): string | null => {
    if (!(v.idx instanceof Uint32Array) || !(v.val instanceof Float64Array)) return 'vector array types';
    if (!isInt(v.n, 1) || v.n > 0xffffffff || (dim !== undefined && v.n !== dim)) return 'vector n';
    if (v.idx.length !== v.val.length) return 'vector lengths';
    for (let k = 0; k < v.idx.length; k++) {
      if (v.idx[k] >= v.n || (k > 0 && v.idx[k] <= v.idx[k - 1])) return `idx[${k}]`;
      if (!Number.isFinite(v.val[k])) return `val[${k}]`;
    }
    return null;
  };
  switch (m.t) {
    case 'challenge':
      if (m.runId !== undefined && (typeof m.runId !== 'string' || m.runId.length > 128)) return 'runId';
      if (m.mac !== undefined && typeof m.mac !== 'boolean') return 'mac';
      return m.version === PROTOCOL_VERSION && m.nonce.length === 32 && typeof m.authRequired === 'boolean'
        ? null
        : 'challenge';
    case 'welcome':
      return m.proof instanceof Uint8Array && m.proof.length === 32 ? null : 'welcome';
    case 'hello':
      if (
        m.version !== PROTOCOL_VERSION ||
        typeof m.workerId !== 'string' ||
        m.workerId.length < 1 ||
        m.workerId.length > 128
      )
        return 'hello';
      if (m.proof !== undefined && m.proof.length !== 32) return 'proof';
      if (m.nonce !== undefined && m.nonce.length !== 32) return 'nonce';
      return m.shard === undefined || isInt(m.shard, 0) ? null : 'hello.shard';
    case 'assign': {
      if (!isInt(m.shard, 0) || m.shard > 0xffffffff) return 'assign ints';
      if (m.n === undefined)
        return m.rows === null && m.wi === undefined && m.scale === undefined ? null : 'assign.n';
      if (!isInt(m.n, 1) || (n !== undefined && m.n !== n)) return 'assign.n';
      if (!unit(m.p) || !(m.lambda2 >= 0 && m.delayMs >= 0) || !fin(m.lambda2 + m.delayMs))
        return 'assign ranges';
      if (
        m.scale !== undefined &&
        (m.rows !== null || m.scale.length !== m.n || !m.scale.every((d) => d > 0 && Number.isFinite(d)))
      )
        return 'assign.scale';
      if (!isInt(m.seed, 0) || m.seed > 0xffffffff) return 'seed';
      if (m.rows !== null) {
        const { m: rows, ptr, ind, val, y } = m.rows;
        if (ptr.length !== rows + 1 || y.length !== rows || ind.length !== val.length) return 'csr lengths';
        if (ptr[0] !== 0 || ptr[rows] !== ind.length) return 'csr ptr ends';
        for (let r = 0; r < rows; r++) {
          if (!Number.isInteger(ptr[r + 1]) || ptr[r + 1] < ptr[r]) return 'csr ptr';
          if (y[r] !== 1 && y[r] !== -1) return 'csr y';
          for (let k = ptr[r]; k < ptr[r + 1]; k++) {
            if (ind[k] >= m.n! || (k > ptr[r] && ind[k] <= ind[k - 1])) return 'csr ind';
            if (!Number.isFinite(val[k])) return 'csr val';
          }
        }
      }
      return m.wi === undefined ? 'assign.wi' : vec(m.wi, m.n);
    }
    case 'stats':
      if (!isInt(m.shard, 0) || !isInt(m.m, 1) || !isInt(m.n, 1) || !isInt(m.nnz, 0)) return 'stats ints';
      if (n !== undefined && m.n !== n) return 'stats.n';
      if (m.hash !== undefined && !/^[0-9a-f]{64}$/.test(m.hash)) return 'stats.hash';
      if (!m.colMax.val.every((x) => x > 0) || m.colMax.idx.length > m.nnz) return 'stats.colMax';
      return vec(m.colMax, m.n);
    case 'scale':
      if (!isInt(m.shard, 0) || !isInt(m.n, 1) || (n !== undefined && m.n !== n)) return 'scale ints';
      if (
        m.scale !== undefined &&
        (m.scale.length !== m.n || !m.scale.every((d) => d > 0 && Number.isFinite(d)))
      )
        return 'scale.scale';
      return vec(m.wi, m.n);
    case 'standby':
    case 'stop':
      return typeof m.reason === 'string' ? null : 'reason';
    case 'ready':
      if (m.n !== undefined && (!isInt(m.n, 1) || (n !== undefined && m.n !== n))) return 'ready.n';
      if (m.nnz !== undefined && !isInt(m.nnz, 0)) return 'ready.nnz';
      if (m.hash !== undefined && !/^[0-9a-f]{64}$/.test(m.hash)) return 'ready.hash';
      return isInt(m.shard, 0) && isInt(m.m, 1) && fin(m.L) && m.L > 0 ? null : 'ready';
    case 'model':
      return isInt(m.k, 0) && fin(m.gamma) && m.gamma > 0 && unit(m.p) ? vec(m.w, n) : 'model';
    case 'update':
      return isInt(m.shard, 0) && isInt(m.k, 0) ? vec(m.delta, n) : 'update';
    case 'eval':
      return isInt(m.id, 0) && (m.gap === undefined || typeof m.gap === 'boolean') ? vec(m.w, n) : 'eval';
    case 'evalResult':
      return isInt(m.id, 0) &&
        isInt(m.shard, 0) &&
        fin(m.fi) &&
        (m.correct === undefined || isInt(m.correct, 0)) &&
        (m.entropy === undefined) === (m.u === undefined) &&
        (m.entropy === undefined || (fin(m.entropy) && m.entropy <= 0))
        ? m.u === undefined
          ? null
          : vec(m.u, n)
        : 'evalResult';
    case 'error':
      return typeof m.code === 'string' && m.code.length > 0 && typeof m.message === 'string'
        ? null
        : 'error';
  }
}
