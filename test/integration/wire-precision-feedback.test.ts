import {
  compositeObjective,
  csrToCsc,
  defaultStepSize,
  emptySparse,
  logisticSmoothness,
  Rng,
  selectRows,
  withIntercept,
  type Dataset,
  type SparseVector,
} from '@soda/core';
import { columnsOf, ModelReplies, ModelState } from '@soda/master';
import {
  decodeFromMaster,
  decodeFromWorker,
  encode,
  type DecodeContext,
  type Model,
  type Update,
} from '@soda/protocol';
import { solveReference } from '@soda/solver';
import { HeldModel, LocalStep } from '@soda/worker';
import { plantedProblem } from '../helpers/problems';

/*
 * Wire precision 32's two error feedbacks, the worker's LocalStep and HeldModel against the master's
 * ModelState and ModelReplies, every frame encoded and decoded as on the wire (no sockets):
 *  - upstream: after every update the worker's w_i equals the master's w_i bit for bit (the worker
 *    keeps w_i + f32(Δ), the very sum the master applies);
 *  - downstream: the ŵ the worker rebuilds from whole and diff frames equals the master's ŵ for it,
 *    bit for bit, and is what it steps from;
 *  - a take-over mid-run (a new worker from the master's w_i, a whole model first) keeps both exact;
 *  - the run reaches the optimum as tightly as the 64-bit one (the reference solver's F*).
 */

const lambda1 = 0.01;
const lambda2 = 0.02;
const M = 3;

interface Outcome {
  readonly F: number;
  /** coordinates where a worker's w_i differed from the master's, summed over every check */
  readonly wiMismatches: number;
  /** model frames after which the worker's ŵ differed from the master's */
  readonly hatMismatches: number;
  readonly diffs: number;
  readonly whole: number;
}

const sameBits = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

function sameVector(a: SparseVector, b: SparseVector): boolean {
  if (a.idx.length !== b.idx.length) return false;
  for (let t = 0; t < a.idx.length; t++)
    if (a.idx[t] !== b.idx[t] || !sameBits(a.val[t], b.val[t])) return false;
  return true;
}

/** SODA over M shards in a random order (stale models), every frame through the codec. */
function run(ds: Dataset, unpenalizedFrom: number, p: number, bits: 32 | 64, updates: number): Outcome {
  const n = ds.X.cols;
  const rowsPer = Math.floor(ds.X.rows / M);
  const parts = Array.from({ length: M }, (_, i) =>
    Array.from({ length: i === M - 1 ? ds.X.rows - i * rowsPer : rowsPer }, (_, r) => i * rowsPer + r),
  );
  const shards = parts.map((rows) => ({
    X: selectRows(ds.X, rows),
    y: Float64Array.from(rows, (r) => ds.y[r]),
  }));
  const L = Math.max(...shards.map((s) => logisticSmoothness(s.X, lambda2)));
  const gamma = defaultStepSize(lambda2, L);
  const pi = parts.map((r) => r.length / ds.X.rows);
  const cols = shards.map((s) => columnsOf(s.X.ind, n));
  const master = new ModelState(n, pi, gamma, lambda1, unpenalizedFrom, cols);
  const replies = new ModelReplies(bits);
  const ctx: DecodeContext = { n, wirePrecision: bits };
  const newWorker = (i: number, seed: number) => ({
    step: new LocalStep(
      { X: csrToCsc(shards[i].X), y: shards[i].y },
      lambda2,
      master.wi[i].toSparse(),
      seed,
      bits,
    ),
    held: new HeldModel(),
  });
  const workers = shards.map((_, i) => newWorker(i, 10 + i));
  const wire = (m: Model | Update) => {
    const r = m.t === 'model' ? decodeFromMaster(encode(m), ctx) : decodeFromWorker(encode(m), ctx);
    if (!r.ok) throw r.error;
    return r.msg;
  };
  const send = (i: number) => wire(replies.frame(i, { k: master.k, gamma, p }, master.view())) as Model;
  const pending = workers.map((_, i) => send(i));
  const rng = new Rng(4);
  let wiMismatches = 0;
  let hatMismatches = 0;
  let diffs = 0;
  let whole = 0;
  for (let k = 0; k < updates; k++) {
    const i = rng.int(M);
    if (k === Math.floor(updates / 2)) {
      // take-over: shard 1's worker is replaced; the newcomer starts from the master's w_i
      workers[1] = newWorker(1, 99);
      replies.forget(1);
      pending[1] = send(1);
    }
    const msg = pending[i];
    if (msg.diff === true) diffs++;
    else whole++;
    const w = bits === 32 ? workers[i].held.receive(msg) : msg.w;
    if (bits === 32 && !sameVector(w, replies.heldBy(i)!)) hatMismatches++;
    const { delta } = workers[i].step.step(w, gamma, p);
    const up = wire({ t: 'update', shard: i, k: msg.k, delta, ...(bits === 32 ? { valBits: 32 } : {}) });
    master.apply(i, (up as Update).delta);
    if (bits === 32 || k % 50 === 0) {
      const mine = workers[i].step;
      for (let j = 0; j < n; j++) if (!sameBits(mine.wiAt(j), master.wi[i].get(j))) wiMismatches++;
    }
    pending[i] = send(i);
  }
  const F = compositeObjective(ds.X, ds.y, master.wDense(), lambda1, lambda2, unpenalizedFrom);
  return { F, wiMismatches, hatMismatches, diffs, whole };
}

describe('wire precision 32: error feedback both ways, bit for bit', () => {
  const base = plantedProblem(11, 240, 30);
  const cases = [
    { name: 'SODA p = 0.3, intercept on', ds: withIntercept(base), u: 30, p: 0.3 },
    { name: 'SODA p = 0.3, intercept off', ds: base, u: 30, p: 0.3 },
    { name: 'DAve-PG (p = 1), intercept on', ds: withIntercept(base), u: 30, p: 1 },
  ];

  it.each(cases)(
    '$name: w_i and ŵ agree on both ends, and F reaches F* like the 64-bit run',
    ({ ds, u, p }) => {
      const fstar = solveReference(ds, lambda1, lambda2, { unpenalizedFrom: u }).fstar;
      const r32 = run(ds, u, p, 32, 6000);
      const r64 = run(ds, u, p, 64, 6000);
      expect(r32.wiMismatches).toBe(0);
      expect(r32.hatMismatches).toBe(0);
      expect(r32.whole).toBe(M + 1); // one whole model per worker, and one for the take-over
      expect(r32.diffs).toBe(6000 - r32.whole);
      const sub32 = (r32.F - fstar) / fstar;
      const sub64 = (r64.F - fstar) / fstar;
      expect(sub64).toBeLessThan(1e-10);
      expect(sub32).toBeLessThan(1e-10);
      expect(sub32).toBeGreaterThan(-1e-13);
    },
  );

  it('a worker of a 32-bit run starting from w_i = 0 sends only float32 values', () => {
    const ds = withIntercept(base);
    const n = ds.X.cols;
    const step = new LocalStep({ X: csrToCsc(ds.X), y: ds.y }, lambda2, emptySparse(n), 1, 32);
    const w = { n, idx: Uint32Array.of(0, 3, 30), val: Float64Array.of(0.1, -0.2, 0.3) };
    const { delta } = step.step(w, 0.7, 0.5);
    expect(delta.idx.length).toBeGreaterThan(3);
    for (const x of delta.val) expect(Math.fround(x)).toBe(x);
    for (let t = 0; t < delta.idx.length; t++) expect(step.wiAt(delta.idx[t])).toBe(delta.val[t]);
  });
});
