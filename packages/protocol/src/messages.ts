import type { SparseVector } from '@soda/core';

/**
 * The SODA wire messages. One msgpack map per WebSocket binary frame; `t` names the type.
 * Typed arrays travel as msgpack `bin` holding their little-endian bytes (see bytes.ts), so a
 * sparse vector costs 4 + 8 = 12 bytes per non-zero on the wire.
 */
/** 2: update frames no longer carry fi (the master never read it; f_i travels in evalResult). */
export const PROTOCOL_VERSION = 2;

/** Rows of one shard in CSR form, with their labels (y[r] ∈ {−1, +1}). The column count is Assign.n. */
export interface ShardRows {
  readonly m: number;
  readonly ptr: Float64Array;
  readonly ind: Uint32Array;
  readonly val: Float64Array;
  readonly y: Float64Array;
}

/** master → worker, first frame on a connection. */
export interface Challenge {
  readonly t: 'challenge';
  readonly version: number;
  readonly nonce: Uint8Array;
  readonly authRequired: boolean;
}

/** worker → master, answer to the challenge. proof = HMAC-SHA256(token, nonce). */
export interface Hello {
  readonly t: 'hello';
  readonly version: number;
  readonly workerId: string;
  readonly proof?: Uint8Array;
  readonly caps?: readonly string[];
}

/** master → worker: the shard this worker computes on, and Algorithm 1's parameters. */
export interface Assign {
  readonly t: 'assign';
  readonly runId: string;
  readonly shard: number;
  readonly shards: number;
  readonly n: number;
  /** π_i = |S_i| / m */
  readonly pi: number;
  readonly lambda1: number;
  readonly lambda2: number;
  /** probability that a coordinate outside supp(w) joins the mask */
  readonly p: number;
  readonly seed: number;
  /** step size γ */
  readonly gamma: number;
  /** artificial delay a worker adds per step (experiments on stragglers) */
  readonly delayMs: number;
  /** the shard's rows, or null when the worker reads them from `path` (or its own configuration) */
  readonly rows: ShardRows | null;
  readonly path?: string;
  /** the shard's current local variable w_i (w̄⁰ for a fresh run) */
  readonly wi: SparseVector;
}

/** master → worker: every shard is taken; wait. */
export interface Standby {
  readonly t: 'standby';
  readonly reason: string;
}

/** worker → master: shard loaded; m_i rows, smoothness constant L_i. */
export interface Ready {
  readonly t: 'ready';
  readonly shard: number;
  readonly m: number;
  readonly L: number;
}

/** master → worker: the model w^k = prox_{γλ1}(w̄) to step from. */
export interface Model {
  readonly t: 'model';
  readonly k: number;
  readonly gamma: number;
  readonly p: number;
  readonly w: SparseVector;
}

/**
 * worker → master: Δ = w_i⁺ − w_i computed from the model number k. (f_i is not sent with every
 * update: the master never used it, and evaluation rounds report it exactly in evalResult.)
 */
export interface Update {
  readonly t: 'update';
  readonly shard: number;
  readonly k: number;
  readonly delta: SparseVector;
}

/** master → worker: evaluate f_i at a snapshot w. */
export interface Eval {
  readonly t: 'eval';
  readonly id: number;
  readonly w: SparseVector;
}

/** worker → master: f_i(w) for snapshot `id`, and how many of the shard's examples w classifies right. */
export interface EvalResult {
  readonly t: 'evalResult';
  readonly id: number;
  readonly shard: number;
  readonly fi: number;
  readonly correct?: number;
}

/** master → worker: the run is over. */
export interface Stop {
  readonly t: 'stop';
  readonly reason: string;
}

/** either way: sent just before closing the connection for a fault. */
export interface ErrorMsg {
  readonly t: 'error';
  readonly code: string;
  readonly message: string;
}

export type FromWorker = Hello | Ready | Update | EvalResult | ErrorMsg;
export type FromMaster = Challenge | Assign | Standby | Model | Eval | Stop | ErrorMsg;
export type Message = FromWorker | FromMaster;
export type MessageType = Message['t'];

export const WORKER_TYPES: readonly FromWorker['t'][] = ['hello', 'ready', 'update', 'evalResult', 'error'];
export const MASTER_TYPES: readonly FromMaster['t'][] = [
  'challenge',
  'assign',
  'standby',
  'model',
  'eval',
  'stop',
  'error',
];

/** Largest frame the master accepts (updates and eval results are small; 64 MiB is ~5M non-zeros). */
export const DEFAULT_MAX_PAYLOAD_MASTER = 64 * 1024 * 1024;
/** Largest frame a worker accepts: an assign may carry a whole shard. */
export const DEFAULT_MAX_PAYLOAD_WORKER = 1024 * 1024 * 1024;

/** ws `maxPayload` for each receiving side. */
export const DEFAULT_MAX_PAYLOAD = Object.freeze({
  master: DEFAULT_MAX_PAYLOAD_MASTER,
  worker: DEFAULT_MAX_PAYLOAD_WORKER,
});

/** Bounds on strings and small arrays, so a peer cannot make us keep megabytes of names. */
export const LIMITS = Object.freeze({
  workerId: 128,
  runId: 128,
  reason: 1024,
  errorCode: 64,
  errorMessage: 4096,
  path: 4096,
  caps: 32,
  cap: 64,
  nonceBytes: 32,
  proofBytes: 32,
  /** msgpack nesting depth; our deepest message is 3 (assign.rows.ptr) */
  depth: 8,
});
