import { ProtocolError } from './errors';
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
  type Standby,
  type Stop,
  type Update,
} from './messages';
import {
  absent,
  bool,
  bytes,
  csrRows,
  fail,
  int,
  num,
  req,
  sparse,
  str,
  strValue,
  type Obj,
  type Where,
} from './validate';

/** What the receiver knows that a frame must agree with. */
export interface DecodeContext {
  /** the run's dimension: every sparse vector (and assign.n) must have exactly this n */
  readonly n?: number;
  /** frames longer than this are refused with E_TOO_BIG (defaults per direction, see codec.ts) */
  readonly maxBytes?: number;
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

function caps(o: Obj, w: Where): string[] {
  const v = req(o, 'caps', w);
  if (!Array.isArray(v)) fail(w, 'caps', `must be an array of strings`);
  if (v.length > LIMITS.caps) fail(w, 'caps', `has ${v.length} entries; at most ${LIMITS.caps} are allowed`);
  return v.map((c, i) => strValue(c, w, `caps[${i}]`, 1, LIMITS.cap));
}

const challenge: Schema<'challenge'> = (o) => {
  const w = where('challenge');
  const msg: Challenge = {
    t: 'challenge',
    version: version(o, w),
    nonce: bytes(o, 'nonce', w, LIMITS.nonceBytes),
    authRequired: bool(o, 'authRequired', w),
  };
  return msg;
};

const hello: Schema<'hello'> = (o) => {
  const w = where('hello');
  const msg: { -readonly [K in keyof Hello]: Hello[K] } = {
    t: 'hello',
    version: version(o, w),
    workerId: str(o, 'workerId', w, 1, LIMITS.workerId),
  };
  if (!absent(o, 'proof')) msg.proof = bytes(o, 'proof', w, LIMITS.proofBytes);
  if (!absent(o, 'caps')) msg.caps = caps(o, w);
  return msg;
};

const assign: Schema<'assign'> = (o, ctx) => {
  const w = where('assign');
  const shards = int(o, 'shards', w, 1, UINT32_MAX);
  const n = int(o, 'n', w, 1, UINT32_MAX);
  if (ctx.n !== undefined && n !== ctx.n) fail(w, 'n', `= ${n} does not match ${RUN_N} = ${ctx.n}`);
  const msg: { -readonly [K in keyof Assign]: Assign[K] } = {
    t: 'assign',
    runId: str(o, 'runId', w, 1, LIMITS.runId),
    shard: int(o, 'shard', w, 0, shards - 1),
    shards,
    n,
    pi: num(o, 'pi', w, unit),
    lambda1: num(o, 'lambda1', w, nonNegative),
    lambda2: num(o, 'lambda2', w, nonNegative),
    p: num(o, 'p', w, unit),
    seed: int(o, 'seed', w, 0, UINT32_MAX),
    gamma: num(o, 'gamma', w, positive),
    delayMs: num(o, 'delayMs', w, nonNegative),
    rows: req(o, 'rows', w) === null ? null : csrRows(o, 'rows', w, n),
    wi: sparse(o, 'wi', w, n, 'assign.n'),
  };
  if (!absent(o, 'path')) msg.path = str(o, 'path', w, 1, LIMITS.path);
  return msg;
};

const standby: Schema<'standby'> = (o) => {
  const msg: Standby = { t: 'standby', reason: str(o, 'reason', where('standby'), 0, LIMITS.reason) };
  return msg;
};

const ready: Schema<'ready'> = (o) => {
  const w = where('ready');
  const msg: Ready = {
    t: 'ready',
    shard: int(o, 'shard', w, 0, UINT32_MAX),
    m: int(o, 'm', w, 1),
    L: num(o, 'L', w, positive),
  };
  return msg;
};

const model: Schema<'model'> = (o, ctx) => {
  const w = where('model');
  const msg: Model = {
    t: 'model',
    k: int(o, 'k', w, 0),
    gamma: num(o, 'gamma', w, positive),
    p: num(o, 'p', w, unit),
    w: sparse(o, 'w', w, ctx.n, RUN_N),
  };
  return msg;
};

const update: Schema<'update'> = (o, ctx) => {
  const w = where('update');
  const msg: Update = {
    t: 'update',
    shard: int(o, 'shard', w, 0, UINT32_MAX),
    k: int(o, 'k', w, 0),
    delta: sparse(o, 'delta', w, ctx.n, RUN_N),
  };
  return msg;
};

const evalMsg: Schema<'eval'> = (o, ctx) => {
  const w = where('eval');
  const msg: Eval = { t: 'eval', id: int(o, 'id', w, 0), w: sparse(o, 'w', w, ctx.n, RUN_N) };
  return msg;
};

const evalResult: Schema<'evalResult'> = (o) => {
  const w = where('evalResult');
  const msg: { -readonly [K in keyof EvalResult]: EvalResult[K] } = {
    t: 'evalResult',
    id: int(o, 'id', w, 0),
    shard: int(o, 'shard', w, 0, UINT32_MAX),
    fi: num(o, 'fi', w),
  };
  if (!absent(o, 'correct')) msg.correct = int(o, 'correct', w, 0);
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
  hello,
  assign,
  standby,
  ready,
  model,
  update,
  eval: evalMsg,
  evalResult,
  stop,
  error,
};
