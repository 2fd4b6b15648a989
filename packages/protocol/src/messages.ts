import type { SparseVector } from '@soda/core';

/**
 * The SODA wire messages. One msgpack map per WebSocket binary frame; `t` names the type.
 * Typed arrays travel as msgpack `bin` holding their little-endian bytes (see bytes.ts); a sparse
 * vector's indices as varint gaps (varint.ts), so a non-zero costs 8 bytes and its index's gap (1–2
 * bytes on spam) on the wire.
 */
/**
 * 2: mutual, session-bound authentication (challenge/hello/welcome, per-frame MAC over ws://); update
 * frames no longer carry fi (the master never read it; f_i travels in evalResult); the data-at-scale
 * messages (assign without rows, stats, scale, gap parts in evalResult); assign lost its unread fields.
 * 3: every sparse vector's idx is the varint gap list of varint.ts instead of 4-byte indices (DESIGN.md,
 * "Wire format"). Later, without a version change (a 64-bit run's frames are unchanged): the opt-in
 * wire precision 32 (assign.wirePrecision, model.diff, a vector's valBits; DESIGN.md, "Wire precision
 * 32"), which a reader without it refuses (val's length then disagrees with idx's count), never misreads.
 */
export const PROTOCOL_VERSION = 3;

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
  /** the run the session is bound to (part of both proofs; absent: '') */
  readonly runId?: string;
  /** every frame after the handshake carries a MAC (session.ts): a token over plain ws:// */
  readonly mac?: boolean;
}

/**
 * worker → master, answer to the challenge. nonce: the worker's own; proof = proveSession(token,
 * 'worker->master', both nonces, runId, mac) — see auth.ts.
 */
export interface Hello {
  readonly t: 'hello';
  readonly version: number;
  readonly workerId: string;
  readonly nonce?: Uint8Array;
  readonly proof?: Uint8Array;
  /** a worker pinned to one shard (its --shard, a fixed file) asks for that shard */
  readonly shard?: number;
}

/** master → worker, after a hello with a valid proof: the master's proof ('master->worker'). */
export interface Welcome {
  readonly t: 'welcome';
  readonly proof: Uint8Array;
}

/**
 * master → worker: the shard this worker computes on, and what its local step needs. Three forms:
 * - rows present (the master holds the data): `n` and `wi` are required, `scale` is absent (the rows
 *   arrive scaled);
 * - rows null and `n` present: the worker restarts a shard it holds, or (a worker with its own data,
 *   e.g. a spare taking over) reads the shard's file; `wi` required, `scale` = the run's divisors
 *   (absent: no scaling);
 * - rows null and `n` absent (the master holds no data and has not learned n yet): the worker reads
 *   its file, answers `stats`, and waits for `scale`, which brings n, the divisors and w_i.
 */
export interface Assign {
  readonly t: 'assign';
  readonly runId: string;
  readonly shard: number;
  readonly n?: number;
  /** ℓ2 weight: the worker's f_i includes (λ2/2)‖w‖², and L_i depends on it */
  readonly lambda2: number;
  /** probability that a coordinate outside supp(w) joins the mask */
  readonly p: number;
  readonly seed: number;
  /** artificial delay a worker adds per step (experiments on stragglers) */
  readonly delayMs: number;
  /** the shard's rows, or null when the worker holds or reads them itself */
  readonly rows: ShardRows | null;
  /** the shard's current local variable w_i (w̄⁰ for a fresh run) */
  readonly wi?: SparseVector;
  /** max-abs divisors (length n, positive) for a worker that reads its own file; or sparse (1 elsewhere) */
  readonly scale?: Float64Array | SparseVector;
  /** a worker that reads its own file appends the intercept's constant column (index n − 1) after scaling */
  readonly intercept?: boolean;
  /**
   * 32: the run's step frames carry float32 values (absent: 64, every value a double). The worker then
   * sends Δ rounded to float32 and keeps w_i + that (what the master applies), and reads model frames
   * with `diff` as changes to the last w it was sent (DESIGN.md, "Wire precision 32").
   */
  readonly wirePrecision?: WirePrecision;
}

/** Bits of a value in the step frames (model, update): 64 (doubles, the default) or 32 (opt-in). */
export type WirePrecision = 32 | 64;

/** master → worker: every shard is taken; wait. */
export interface Standby {
  readonly t: 'standby';
  readonly reason: string;
}

/**
 * worker → master: shard loaded (and scaled); m_i rows, its dimension and non-zeros, smoothness
 * constant L_i, and, when the worker read a file, the SHA-256 of its bytes (to check against a manifest).
 */
export interface Ready {
  readonly t: 'ready';
  readonly shard: number;
  readonly m: number;
  readonly L: number;
  readonly n?: number;
  readonly nnz?: number;
  readonly hash?: string;
}

/**
 * worker → master, the stats round (data at scale): what the worker's own file holds, before any
 * scaling: m_i, n (the manifest's n, or the file's largest index), nnz_i, the file's SHA-256 and the
 * column maxima max_j |x_jk| (sparse, positive, dimension n). The master combines the maxima of all
 * shards (combineColumnMaxima) into the run's divisors.
 */
export interface Stats {
  readonly t: 'stats';
  readonly shard: number;
  readonly m: number;
  readonly n: number;
  readonly nnz: number;
  readonly hash?: string;
  readonly colMax: SparseVector;
}

/**
 * master → worker, answer to `stats`: the run's dimension n, the divisors to apply (absent: no
 * scaling) and the shard's w_i. The worker scales its rows, computes L_i and answers `ready`.
 */
export interface Scale {
  readonly t: 'scale';
  readonly shard: number;
  readonly n: number;
  /** dense (length n), or sparse: divisors at idx, 1 elsewhere (a worker needs only its columns') */
  readonly scale?: Float64Array | SparseVector;
  readonly wi: SparseVector;
  /**
   * true: the run fits an intercept. The worker appends a constant column of 1 after scaling its file's
   * n − 1 features (scale[n − 1] is then 1), so its rows have n columns like the run's w.
   */
  readonly intercept?: boolean;
}

/**
 * master → worker: the model w^k = prox_{γλ1}(w̄) to step from. With wire precision 32, `diff` set: `w`
 * holds changes to the last model this worker holds (ŵ ← ŵ + w, exact zeros dropped: applyModelDiff),
 * and ŵ is the model to step from; `diff` absent: `w` is the whole model (ŵ ← w).
 */
export interface Model {
  readonly t: 'model';
  readonly k: number;
  readonly gamma: number;
  readonly p: number;
  readonly w: SparseVector;
  readonly diff?: boolean;
  /** sender: send w's values as float32 when every one is exactly a float32; receiver: they were */
  readonly valBits?: 32;
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
  /** as Model.valBits (a worker of a 32-bit run has rounded Δ to float32 already) */
  readonly valBits?: 32;
}

/** master → worker: evaluate f_i at a snapshot w; `gap`: also return the duality-gap parts. */
export interface Eval {
  readonly t: 'eval';
  readonly id: number;
  readonly w: SparseVector;
  readonly gap?: boolean;
}

/**
 * worker → master: f_i(w) for snapshot `id`, how many of the shard's examples w classifies right,
 * and (when asked) the shard's duality-gap parts at w (see core's gap.ts): `entropy` = Σ_j H(θ_j) ≤ 0
 * and `u` = Σ_j θ_j y_j x_j (sparse, dimension n), both raw sums over the shard's m_i rows.
 */
export interface EvalResult {
  readonly t: 'evalResult';
  readonly id: number;
  readonly shard: number;
  readonly fi: number;
  readonly correct?: number;
  readonly entropy?: number;
  readonly u?: SparseVector;
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

export type FromWorker = Hello | Ready | Stats | Update | EvalResult | ErrorMsg;
export type FromMaster = Challenge | Welcome | Assign | Scale | Standby | Model | Eval | Stop | ErrorMsg;
export type Message = FromWorker | FromMaster;
export type MessageType = Message['t'];

// Keyed by every member's `t`: a type added to FromWorker/FromMaster and not listed here does not compile.
const WORKER_TYPE_SET: { readonly [T in FromWorker['t']]: true } = {
  hello: true,
  ready: true,
  stats: true,
  update: true,
  evalResult: true,
  error: true,
};
const MASTER_TYPE_SET: { readonly [T in FromMaster['t']]: true } = {
  challenge: true,
  welcome: true,
  assign: true,
  scale: true,
  standby: true,
  model: true,
  eval: true,
  stop: true,
  error: true,
};
export const WORKER_TYPES = Object.keys(WORKER_TYPE_SET) as readonly FromWorker['t'][];
export const MASTER_TYPES = Object.keys(MASTER_TYPE_SET) as readonly FromMaster['t'][];

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
  nonceBytes: 32,
  proofBytes: 32,
  /** msgpack nesting depth; our deepest message is 3 (assign.rows.ptr) */
  depth: 8,
});
