import {
  defaultStepSize,
  logisticSmoothness,
  smoothObjective,
  sparseToDense,
  type CsrMatrix,
} from '@soda/core';
import { Harness, evalId, logs, only, rejects, sends } from './harness';

/*
 * Issue 9, attacks 3 and 4 at the coordinator: when the master holds the rows it trusts no L_i and
 * no f_i it can recompute. f_i here comes from core's smoothObjective on the shard's rows, an
 * independent computation from the master's spot check.
 */

function shardX(h: Harness, i: number): { X: CsrMatrix; y: Float64Array } {
  const r = h.run.shards.shards[i].rows!;
  return { X: { rows: r.m, cols: h.n, ptr: r.ptr, ind: r.ind, val: r.val }, y: r.y };
}

const trueL = (h: Harness, i: number) => logisticSmoothness(shardX(h, i).X, h.cfg.lambda2);

function trueFi(h: Harness, i: number, id: number, cmds: ReturnType<Harness['tick']>): number {
  const e = sends(cmds, 'eval').find((s) => s.msg.t === 'eval' && s.msg.id === id)!;
  if (e.msg.t !== 'eval') throw new Error('not an eval');
  const { X, y } = shardX(h, i);
  return smoothObjective(X, y, sparseToDense(e.msg.w), h.cfg.lambda2);
}

function startHonestly(h: Harness): ReturnType<Harness['tick']> {
  h.hello(1);
  h.hello(2);
  h.ready(1, 0, trueL(h, 0));
  return h.ready(2, 1, trueL(h, 1));
}

describe('Coordinator: claims checked against the rows the master holds', () => {
  it("ready: an L_i that is not the shard's is refused (L-mismatch); γ comes from the master's own L", () => {
    const h = new Harness({}, true);
    h.hello(1);
    h.hello(2);
    const lie = h.ready(1, 0, 1e9); // a relay rewriting ready.L to make γ ≈ 0
    expect(rejects(lie)).toEqual([{ conn: 1, code: 'E_FIELD', field: 'L' }]);
    expect(only(lie, 'reject')[0].error.message).toMatch(/^L-mismatch: /);
    expect(h.shardKind(0)).toBe('loading');
    // a tiny rounding difference (another power-iteration order) is not a lie
    h.ready(1, 0, trueL(h, 0) * (1 + 1e-9));
    h.ready(2, 1, trueL(h, 1));
    expect(h.c.phase).toBe('running');
    const L = Math.max(trueL(h, 0), trueL(h, 1));
    expect(h.run.model.gamma).toBe(defaultStepSize(h.cfg.lambda2, L));
  });

  it('evalResult: f_i = 0 at w = 0 (where f_i = log 2 exactly) is refused as fi-below-bound; the round waits for the replacement', () => {
    const h = new Harness({}, true);
    const start = startHonestly(h);
    const id = evalId(start);
    const forged = h.answer(1, 0, id, 0);
    expect(rejects(forged)).toEqual([{ conn: 1, code: 'E_FIELD', field: 'fi' }]);
    expect(only(forged, 'reject')[0].error.message).toMatch(/^fi-below-bound: /);
    expect(logs(h.answer(2, 1, id, trueFi(h, 1, id, start)), 'progress')).toEqual([]); // shard 0 still owed
    h.close(1);
    h.hello(3); // the spare takes shard 0 and is asked the pending round
    const taken = h.ready(3, 0, trueL(h, 0));
    expect(sends(taken, 'eval').map((s) => s.conn)).toEqual([3]);
    const done = h.answer(3, 0, id, trueFi(h, 0, id, start));
    const [progress] = logs(done, 'progress');
    expect(progress.objective).toBeCloseTo(Math.LN2, 15); // F(0) = Σ π_i log 2
  });

  it('evalResult: a plausible but false f_i is caught by the spot check on the shard the round recomputes', () => {
    let caught = 0;
    // the spot-checked shard depends on the round and the run's salt (random in production, set
    // here): over runs with 20 salts both shards are checked
    for (let run = 0; run < 20; run++) {
      const h = new Harness({ evalEveryUpdates: 1, spotCheckSalt: 7919 * run }, true);
      const start = startHonestly(h);
      const id = evalId(start);
      h.answer(1, 0, id, trueFi(h, 0, id, start));
      h.answer(2, 1, id, trueFi(h, 1, id, start));
      // w ≠ 0: the bounds are loose, and only a recomputation tells 1e−6 from the truth
      const next = h.update(1, 0, 0, { 0: 0.7, 2: -0.4 });
      const id2 = evalId(next);
      const f0 = trueFi(h, 0, id2, next);
      const f1 = trueFi(h, 1, id2, next);
      const out = [...h.answer(1, 0, id2, f0 * (1 - 1e-6)), ...h.answer(2, 1, id2, f1 * (1 - 1e-6))];
      const refused = only(out, 'reject').map((r) => r.error.message);
      expect(refused).toHaveLength(1); // exactly the round's spot-checked shard
      expect(refused[0]).toMatch(/^spot-check-mismatch: /);
      expect(logs(out, 'progress')).toEqual([]); // the lying shard's answer is not counted
      caught += only(out, 'reject')[0].conn === 1 ? 1 : 0;
    }
    expect(caught).toBeGreaterThan(0); // over 20 rounds both shards were checked at some point
    expect(caught).toBeLessThan(20);
  });

  it('the spot-checked shard is a function of the config: the same salt checks the same shard', () => {
    const checked = (salt: number): number[] => {
      const h = new Harness({ evalEveryUpdates: 1, spotCheckSalt: salt }, true);
      const start = startHonestly(h);
      const id = evalId(start);
      h.answer(1, 0, id, trueFi(h, 0, id, start));
      h.answer(2, 1, id, trueFi(h, 1, id, start));
      const next = h.update(1, 0, 0, { 0: 0.7, 2: -0.4 }); // w ≠ 0: only a recomputation tells
      const id2 = evalId(next);
      const out = [
        ...h.answer(1, 0, id2, trueFi(h, 0, id2, next) * (1 - 1e-6)),
        ...h.answer(2, 1, id2, trueFi(h, 1, id2, next) * (1 - 1e-6)),
      ];
      return only(out, 'reject').map((r) => r.conn);
    };
    for (const salt of [1, 2, 99]) {
      expect(checked(salt)).toHaveLength(1);
      expect(checked(salt)).toEqual(checked(salt));
    }
    expect(checked(1)).not.toEqual(checked(2)); // the lowest bit of the salt picks between 2 shards
  });

  it('a round total below F* is refused, the liars found by recomputing every shard, the round repeated', () => {
    const h = new Harness({}, true);
    const start = startHonestly(h);
    const id = evalId(start);
    // F* above the true F(0): any honest total is "below F*" — the master must find no liar then
    const h2 = new Harness({ fstar: 10 }, true);
    const start2 = startHonestly(h2);
    const id2 = evalId(start2);
    h2.answer(1, 0, id2, trueFi(h2, 0, id2, start2));
    const out = h2.answer(2, 1, id2, trueFi(h2, 1, id2, start2));
    expect(logs(out, 'evaluation round refused')[0]).toMatchObject({ reason: 'objective-below-fstar' });
    expect(rejects(out)).toEqual([]); // nobody lied: F* was wrong, and the round is simply asked again
    expect(sends(out, 'eval').map((s) => s.msg.t === 'eval' && s.msg.id)).toEqual([id2 + 1, id2 + 1]);
    // the honest run evaluates normally
    h.answer(1, 0, id, trueFi(h, 0, id, start));
    expect(logs(h.answer(2, 1, id, trueFi(h, 1, id, start)), 'progress')).toHaveLength(1);
  });
});
