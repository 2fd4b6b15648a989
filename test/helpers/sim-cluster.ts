import { createHash } from 'node:crypto';
import pino from 'pino';
import {
  csrToCsc,
  logisticSmoothness,
  maxAbsScale,
  Rng,
  selectRows,
  withIntercept,
  type CsrMatrix,
  type Dataset,
} from '@soda/core';
import { Coordinator, RunState, type Command, type MasterConfig } from '@soda/master';
import {
  decodeFromMaster,
  decodeFromWorker,
  encode,
  type FromMaster,
  type FromWorker,
  type SparseVector,
} from '@soda/protocol';
import { LocalStep, prepareOwnShard, shardStats, type OwnShard } from '@soda/worker';

/*
 * A whole run without sockets or clocks: the real Coordinator (master), M in-process workers doing
 * exactly what `soda worker` does with each frame (LocalStep, and for data at the workers the same
 * prepareOwnShard that scales the part and appends the intercept's column), and every frame in both
 * directions encoded and decoded by the wire codec, so a field the decoder drops is dropped here too.
 * Frames are delivered one connection at a time in a seeded random order (FIFO per connection, as a
 * WebSocket is): asynchrony without timing.
 */

export type Mode = 'central' | 'at-workers';

export interface SimOptions {
  readonly raw: Dataset;
  readonly mode: Mode;
  readonly intercept: boolean;
  readonly algo: MasterConfig['algo'];
  readonly workers: number;
  readonly lambda1: number;
  readonly lambda2: number;
  readonly tolGap: number;
  readonly maxEpochs: number;
  readonly evalEveryUpdates: number;
  readonly seed?: number;
}

export interface SimResult {
  readonly progress: Record<string, unknown>[];
  readonly start: Record<string, unknown>;
  readonly reason: string;
  /** F of the final w (the last progress line) */
  readonly objective: number;
}

/** The problem as `soda run` builds it centrally: max-abs scaled, the intercept's column appended after. */
export function centralProblem(raw: Dataset, intercept: boolean): { data: Dataset; unpenalizedFrom: number } {
  const { X } = maxAbsScale(raw.X);
  const scaled = { X, y: raw.y };
  return intercept
    ? { data: withIntercept(scaled), unpenalizedFrom: X.cols }
    : { data: scaled, unpenalizedFrom: X.cols };
}

/**
 * Contiguous parts of the raw rows of unequal sizes, 1 : 2 : … : M (a user's own files need not be
 * balanced), so π_i = m_i/m really differ: the gap's m and the objective's π_i are put to the test.
 */
function ownParts(raw: Dataset, M: number): OwnShard[] {
  const m = raw.X.rows;
  const cut = (i: number) => Math.floor((m * i * (i + 1)) / (M * (M + 1)));
  return Array.from({ length: M }, (_, i) => {
    const a = cut(i);
    const b = cut(i + 1);
    const rows = Uint32Array.from({ length: b - a }, (_, r) => a + r);
    return {
      file: `part-${i}.svm`,
      shard: i,
      X: selectRows(raw.X, rows),
      y: raw.y.slice(a, b),
      n: raw.X.cols,
      hash: createHash('sha256').update(`part ${i}`).digest('hex'),
    };
  });
}

function copySparse(v: SparseVector): SparseVector {
  return { n: v.n, idx: v.idx.slice(), val: v.val.slice() };
}

/** One simulated `soda worker`: its answers to each frame from the master. */
class SimWorker {
  private local: LocalStep | null = null;
  private shard = -1;
  private seed = 0;

  constructor(
    private readonly parts: readonly OwnShard[] | null,
    private readonly lambda2: number,
  ) {}

  onFrame(msg: FromMaster): FromWorker | null {
    switch (msg.t) {
      case 'assign': {
        this.shard = msg.shard;
        this.seed = msg.seed;
        if (msg.rows !== null) {
          const { m, ptr, ind, val, y } = msg.rows;
          const X: CsrMatrix = { rows: m, cols: msg.n!, ptr, ind, val };
          this.local = new LocalStep({ X: csrToCsc(X), y }, this.lambda2, msg.wi!, msg.seed);
          return { t: 'ready', shard: msg.shard, m, L: logisticSmoothness(X, this.lambda2) };
        }
        const own = this.parts![msg.shard];
        if (msg.n === undefined) return { t: 'stats', shard: msg.shard, ...shardStats(own) };
        return this.prepare(own, msg.n, msg.scale, msg.intercept, msg.wi!);
      }
      case 'scale':
        return this.prepare(this.parts![msg.shard], msg.n, msg.scale, msg.intercept, msg.wi);
      case 'model': {
        const { delta } = this.local!.step(msg.w, msg.gamma, msg.p);
        return { t: 'update', shard: this.shard, k: msg.k, delta: copySparse(delta) };
      }
      case 'eval': {
        const { fi, correct, gap } = this.local!.evaluateWithGap(msg.w);
        return {
          t: 'evalResult',
          id: msg.id,
          shard: this.shard,
          fi,
          correct,
          ...(msg.gap ? { entropy: gap.entropySum, u: gap.u } : {}),
        };
      }
      default:
        return null;
    }
  }

  private prepare(
    own: OwnShard,
    n: number,
    scale: Float64Array | undefined,
    intercept: boolean | undefined,
    wi: SparseVector,
  ): FromWorker {
    const { data, L } = prepareOwnShard(own, n, scale, this.lambda2, intercept === true);
    this.local = new LocalStep(data, this.lambda2, wi, this.seed);
    const m = data.X.rows;
    return { t: 'ready', shard: own.shard, m, L, n, nnz: data.X.ind.length, hash: own.hash };
  }
}

/** Runs the master and M workers until the coordinator finishes (tol-gap or max-epochs). */
export function simulateRun(o: SimOptions): SimResult {
  const M = o.workers;
  const central = o.mode === 'central' ? centralProblem(o.raw, o.intercept) : null;
  const cfg: MasterConfig = {
    host: '127.0.0.1',
    port: 0,
    data: central ? central.data : null,
    ...(central && o.intercept ? { unpenalizedFrom: central.unpenalizedFrom } : {}),
    ...(central === null && o.intercept ? { intercept: true } : {}),
    normalize: true,
    dataName: 'sim',
    dataHash: 'sim',
    workers: M,
    shuffle: false,
    seed: o.seed ?? 1,
    algo: o.algo,
    p: o.algo === 'soda' ? 0.5 : 1,
    lambda1: o.lambda1,
    lambda2: o.lambda2,
    tol: 0,
    tolGap: o.tolGap,
    maxEpochs: o.maxEpochs,
    maxTimeMs: 0,
    evalEveryUpdates: o.evalEveryUpdates,
    evalEveryMs: 0,
    resumEvery: 1000,
    delayMs: 0,
    heartbeatMs: 5000,
    logger: pino({ level: 'silent' }),
  };
  const run = new RunState(cfg);
  let now = 0;
  const coordinator = new Coordinator(cfg, run, now);
  const parts = central === null ? ownParts(o.raw, M) : null;
  const workers = Array.from({ length: M }, () => new SimWorker(parts, o.lambda2));
  const queues: Buffer[][] = Array.from({ length: M }, () => []);
  const progress: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | null = null;
  let finish: Extract<Command, { type: 'finish' }> | null = null;

  const apply = (cmds: readonly Command[]) => {
    for (const c of cmds) {
      if (c.type === 'send') queues[c.conn].push(encode(c.msg));
      else if (c.type === 'reject') throw new Error(`worker ${c.conn} refused: ${c.error.message}`);
      else if (c.type === 'finish') finish = c;
      else if (c.type === 'log' && c.msg === 'progress') progress.push({ ...c.fields });
      else if (c.type === 'log' && c.msg === 'start') start = { ...c.fields };
    }
  };
  for (let conn = 0; conn < M; conn++)
    apply(coordinator.handle({ type: 'hello', now: ++now, conn, worker: `sim-${conn}` }));

  const rng = new Rng(o.seed ?? 1);
  while (finish === null) {
    const busy = queues.flatMap((q, conn) => (q.length > 0 ? [conn] : []));
    if (busy.length === 0) throw new Error('the run stalled: no frame in flight and no finish');
    const conn = busy[rng.int(busy.length)];
    const got = decodeFromMaster(queues[conn].shift()!, { n: run.hasModel ? run.model.n : undefined });
    if (!got.ok) throw new Error(`the master sent a bad frame: ${got.error.message}`);
    const answer = workers[conn].onFrame(got.msg);
    if (answer === null) continue;
    const back = decodeFromWorker(encode(answer), { n: run.hasModel ? run.model.n : undefined });
    if (!back.ok) throw new Error(`a worker sent a bad frame: ${back.error.message}`);
    const msg = back.msg;
    if (msg.t === 'hello' || msg.t === 'error') continue;
    apply(coordinator.handle({ type: msg.t, now: ++now, conn, msg } as Parameters<Coordinator['handle']>[0]));
  }
  const done = finish as Extract<Command, { type: 'finish' }>;
  if (start === null || progress.length === 0) throw new Error('no start or progress line');
  return {
    progress,
    start,
    reason: done.summary.reason,
    objective: progress[progress.length - 1].objective as number,
  };
}
