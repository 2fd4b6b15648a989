import type { SparseVector } from '@soda/core';
import { ProtocolError } from './errors';
import type { IndexScratch } from './varint';
import {
  LIMITS,
  PROTOCOL_VERSION,
  type Assign,
  type Challenge,
  type ErrorMsg,
  type Eval,
  type EvalResult,
  type Hello,
  type Message,
  type MessageType,
  type Model,
  type Ready,
  type Scale,
  type Stats,
  type Standby,
  type Stop,
  type Update,
  type Welcome,
  type WirePrecision,
} from './messages';
import {
  absent,
  bool,
  bytes,
  csrRows,
  fail,
  int,
  isObj,
  num,
  req,
  sparse,
  sparseWire,
  str,
  typed,
  type Obj,
  type Where,
} from './validate';

/** What the receiver knows that a frame must agree with. */
export interface DecodeContext {
  /** the run's dimension: every sparse vector (and assign.n) must have exactly this n */
  readonly n?: number;
  /** frames longer than this are refused with E_TOO_BIG (defaults per direction, see codec.ts) */
  readonly maxBytes?: number;
  /** the session's frame MAC: every frame must carry a valid trailer, checked before parsing */
  readonly mac?: import('./session').FrameMac;
  /**
   * The run's wire precision (absent: 64). 32 lets model.w and update.delta carry float32 values and
   * model frames be diffs; a 64-bit run refuses both (a peer of another precision is misconfigured).
   */
  readonly wirePrecision?: WirePrecision;
  /**
   * Lent by a receiver that uses each step vector before it decodes the next frame: update.delta's
   * and model.w's indices are decoded into it, not into a fresh array (no allocation per frame), and
   * are valid only until the next decode with it. A receiver that keeps a vector copies it.
   */
  readonly indexScratch?: IndexScratch;
}

/** Why a float32 step vector or a model diff is refused in this context, or null (a 32-bit run). */
function no32(ctx: DecodeContext): string | null {
  return ctx.wirePrecision === 32 ? null : "this run's wire precision is 64 (--wire-precision)";
}

/**
 * One schema per message type: reads the fields it knows from the decoded map, checks them, and
 * builds a fresh message object (unknown keys are dropped, so nothing unchecked travels further).
 */
type Schema<T extends MessageType> = (o: Obj, ctx: DecodeContext) => Extract<Message, { t: T }>;

const UINT32_MAX = 0xffffffff;
const RUN_N = "the run's dimension n";
const unit = { gt: 0, le: 1 } as const;
const positive = { gt: 0 } as const;
const nonNegative = { ge: 0 } as const;

function where(t: MessageType): Where {
  return { t, prefix: '' };
}

function version(o: Obj, w: Where): number {
  const v = int(o, 'version', w, 0);
  if (v !== PROTOCOL_VERSION)
    throw new ProtocolError(
      'E_VERSION',
      `${w.t}.version = ${v} is not supported; this side speaks protocol version ${PROTOCOL_VERSION}`,
      'version',
    );
  return v;
}

/** A SHA-256 in lower-case hex (a shard file's content hash). */
function sha256(o: Obj, key: string, w: Where): string {
  const v = str(o, key, w, 64, 64);
  if (!/^[0-9a-f]{64}$/.test(v))
    fail(w, key, `= ${JSON.stringify(v.slice(0, 16))}… must be 64 lower-case hex digits`);
  return v;
}

/**
 * Max-abs divisors: exactly n positive finite doubles, or sparse (divisors at idx, 1 elsewhere: a
 * worker needs only its own columns' divisors, and nothing of size n — issue 17).
 */
function divisors(o: Obj, key: string, w: Where, n: number): Float64Array | SparseVector {
  if (isObj(o[key])) {
    const v = sparse(o, key, w, n, RUN_N);
    for (let t = 0; t < v.val.length; t++)
      if (!(v.val[t] > 0 && v.val[t] <= Number.MAX_VALUE))
        fail(w, `${key}.val[${t}]`, `= ${v.val[t]} must be positive and finite`);
    return v;
  }
  const v = typed(o, key, w, Float64Array);
  if (v.length !== n) fail(w, key, `has ${v.length} entries; it must have n = ${n}`);
  for (let j = 0; j < n; j++)
    if (!(v[j] > 0 && v[j] <= Number.MAX_VALUE))
      fail(w, `${key}[${j}]`, `= ${v[j]} must be positive and finite`);
  return v;
}

/** The run's n, when the receiver knows it, must match a dimension the peer states. */
function sameN(n: number, ctx: DecodeContext, w: Where, field = 'n'): void {
  if (ctx.n !== undefined && n !== ctx.n) fail(w, field, `= ${n} does not match ${RUN_N} = ${ctx.n}`);
}

const challenge: Schema<'challenge'> = (o) => {
  const w = where('challenge');
  const msg: Challenge = {
    t: 'challenge',
    version: version(o, w),
    nonce: bytes(o, 'nonce', w, LIMITS.nonceBytes),
    authRequired: bool(o, 'authRequired', w),
  };
  const out: { -readonly [K in keyof Challenge]: Challenge[K] } = msg;
  if (!absent(o, 'runId')) out.runId = str(o, 'runId', w, 0, LIMITS.runId);
  if (!absent(o, 'mac')) out.mac = bool(o, 'mac', w);
  return out;
};

const welcome: Schema<'welcome'> = (o) => {
  const msg: Welcome = { t: 'welcome', proof: bytes(o, 'proof', where('welcome'), LIMITS.proofBytes) };
  return msg;
};

const hello: Schema<'hello'> = (o) => {
  const w = where('hello');
  const msg: { -readonly [K in keyof Hello]: Hello[K] } = {
    t: 'hello',
    version: version(o, w),
    workerId: str(o, 'workerId', w, 1, LIMITS.workerId),
  };
  if (!absent(o, 'nonce')) msg.nonce = bytes(o, 'nonce', w, LIMITS.nonceBytes);
  if (!absent(o, 'proof')) msg.proof = bytes(o, 'proof', w, LIMITS.proofBytes);
  if (!absent(o, 'shard')) msg.shard = int(o, 'shard', w, 0, UINT32_MAX);
  return msg;
};

const assign: Schema<'assign'> = (o, ctx) => {
  const w = where('assign');
  const msg: { -readonly [K in keyof Assign]: Assign[K] } = {
    t: 'assign',
    runId: str(o, 'runId', w, 1, LIMITS.runId),
    shard: int(o, 'shard', w, 0, UINT32_MAX),
    lambda2: num(o, 'lambda2', w, nonNegative),
    p: num(o, 'p', w, unit),
    seed: int(o, 'seed', w, 0, UINT32_MAX),
    delayMs: num(o, 'delayMs', w, nonNegative),
    rows: null,
  };
  if (!absent(o, 'wirePrecision')) {
    // every form carries it: the stats round's assign too (its scale brings no other)
    const bits = int(o, 'wirePrecision', w, 0, UINT32_MAX);
    if (bits !== 32 && bits !== 64) fail(w, 'wirePrecision', `= ${bits} must be 32 or 64`);
    msg.wirePrecision = bits;
  }
  const hasRows = req(o, 'rows', w) !== null;
  if (absent(o, 'n')) {
    // the stats round: the worker reads its own file and reports; n, w_i and the scale come later
    if (hasRows) fail(w, 'n', 'is missing'); // rows need their dimension
    if (!absent(o, 'wi')) fail(w, 'wi', 'must be absent when n is (it comes with the scale frame)');
    if (!absent(o, 'scale')) fail(w, 'scale', 'must be absent when n is');
    return msg;
  }
  const n = int(o, 'n', w, 1, UINT32_MAX);
  sameN(n, ctx, w);
  msg.n = n;
  if (hasRows) {
    msg.rows = csrRows(o, 'rows', w, n);
    if (!absent(o, 'scale')) fail(w, 'scale', 'must be absent when rows are sent (they arrive scaled)');
  } else {
    if (!absent(o, 'scale')) msg.scale = divisors(o, 'scale', w, n);
    if (!absent(o, 'intercept')) msg.intercept = bool(o, 'intercept', w);
  }
  msg.wi = sparse(o, 'wi', w, n, 'assign.n');
  return msg;
};

const stats: Schema<'stats'> = (o, ctx) => {
  const w = where('stats');
  const n = int(o, 'n', w, 1, UINT32_MAX);
  sameN(n, ctx, w);
  const m = int(o, 'm', w, 1, UINT32_MAX);
  const msg: { -readonly [K in keyof Stats]: Stats[K] } = {
    t: 'stats',
    shard: int(o, 'shard', w, 0, UINT32_MAX),
    m,
    n,
    nnz: int(o, 'nnz', w, 0),
    colMax: sparse(o, 'colMax', w, n, 'stats.n'),
  };
  const { val } = msg.colMax;
  for (let k = 0; k < val.length; k++)
    if (!(val[k] > 0))
      fail(w, `colMax.val[${k}]`, `= ${val[k]} must be positive (a maximum of |x|; zeros are left out)`);
  if (msg.colMax.idx.length > msg.nnz)
    fail(w, 'colMax', `has ${msg.colMax.idx.length} columns but the shard has only nnz = ${msg.nnz} entries`);
  if (!absent(o, 'hash')) msg.hash = sha256(o, 'hash', w);
  return msg;
};

const scale: Schema<'scale'> = (o, ctx) => {
  const w = where('scale');
  const n = int(o, 'n', w, 1, UINT32_MAX);
  sameN(n, ctx, w);
  const msg: { -readonly [K in keyof Scale]: Scale[K] } = {
    t: 'scale',
    shard: int(o, 'shard', w, 0, UINT32_MAX),
    n,
    wi: sparse(o, 'wi', w, n, 'scale.n'),
  };
  if (!absent(o, 'scale')) msg.scale = divisors(o, 'scale', w, n);
  if (!absent(o, 'intercept')) msg.intercept = bool(o, 'intercept', w);
  return msg;
};

const standby: Schema<'standby'> = (o) => {
  const msg: Standby = { t: 'standby', reason: str(o, 'reason', where('standby'), 0, LIMITS.reason) };
  return msg;
};

const ready: Schema<'ready'> = (o, ctx) => {
  const w = where('ready');
  const msg: { -readonly [K in keyof Ready]: Ready[K] } = {
    t: 'ready',
    shard: int(o, 'shard', w, 0, UINT32_MAX),
    m: int(o, 'm', w, 1),
    L: num(o, 'L', w, positive),
  };
  if (!absent(o, 'n')) {
    msg.n = int(o, 'n', w, 1, UINT32_MAX);
    sameN(msg.n, ctx, w);
  }
  if (!absent(o, 'nnz')) msg.nnz = int(o, 'nnz', w, 0);
  if (!absent(o, 'hash')) msg.hash = sha256(o, 'hash', w);
  return msg;
};

const model: Schema<'model'> = (o, ctx) => {
  const w = where('model');
  const k = int(o, 'k', w, 0);
  const gamma = num(o, 'gamma', w, positive);
  const p = num(o, 'p', w, unit);
  const vec = sparseWire(o, 'w', w, ctx.n, RUN_N, no32(ctx), ctx.indexScratch);
  const msg: { -readonly [K in keyof Model]: Model[K] } = { t: 'model', k, gamma, p, w: vec.v };
  if (vec.bits === 32) msg.valBits = 32;
  if (!absent(o, 'diff') && bool(o, 'diff', w)) {
    const why = no32(ctx);
    if (why !== null) fail(w, 'diff', `= true is refused: ${why}`);
    msg.diff = true;
  }
  return msg;
};

const update: Schema<'update'> = (o, ctx) => {
  const w = where('update');
  const shard = int(o, 'shard', w, 0, UINT32_MAX);
  const k = int(o, 'k', w, 0);
  const vec = sparseWire(o, 'delta', w, ctx.n, RUN_N, no32(ctx), ctx.indexScratch);
  const msg: { -readonly [K in keyof Update]: Update[K] } = { t: 'update', shard, k, delta: vec.v };
  if (vec.bits === 32) msg.valBits = 32;
  return msg;
};

const evalMsg: Schema<'eval'> = (o, ctx) => {
  const w = where('eval');
  const msg: { -readonly [K in keyof Eval]: Eval[K] } = {
    t: 'eval',
    id: int(o, 'id', w, 0),
    w: sparse(o, 'w', w, ctx.n, RUN_N),
  };
  if (!absent(o, 'gap')) msg.gap = bool(o, 'gap', w);
  return msg;
};

const evalResult: Schema<'evalResult'> = (o, ctx) => {
  const w = where('evalResult');
  const msg: { -readonly [K in keyof EvalResult]: EvalResult[K] } = {
    t: 'evalResult',
    id: int(o, 'id', w, 0),
    shard: int(o, 'shard', w, 0, UINT32_MAX),
    fi: num(o, 'fi', w),
  };
  if (!absent(o, 'correct')) msg.correct = int(o, 'correct', w, 0);
  // the gap parts travel together: one without the other cannot be summed into D
  if (absent(o, 'entropy') !== absent(o, 'u'))
    fail(w, absent(o, 'u') ? 'u' : 'entropy', 'is missing; entropy and u are sent together');
  if (!absent(o, 'entropy')) {
    // H(θ) ∈ [−log 2, 0] per row
    msg.entropy = num(o, 'entropy', w, { le: 0 });
    msg.u = sparse(o, 'u', w, ctx.n, RUN_N);
  }
  return msg;
};

const stop: Schema<'stop'> = (o) => {
  const msg: Stop = { t: 'stop', reason: str(o, 'reason', where('stop'), 0, LIMITS.reason) };
  return msg;
};

const error: Schema<'error'> = (o) => {
  const w = where('error');
  const msg: ErrorMsg = {
    t: 'error',
    code: str(o, 'code', w, 1, LIMITS.errorCode),
    message: str(o, 'message', w, 0, LIMITS.errorMessage),
  };
  return msg;
};

export const SCHEMAS: { readonly [T in MessageType]: Schema<T> } = {
  challenge,
  welcome,
  hello,
  assign,
  standby,
  ready,
  stats,
  scale,
  model,
  update,
  eval: evalMsg,
  evalResult,
  stop,
  error,
};
