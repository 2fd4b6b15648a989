import { sparseToDense } from '@soda/core';
import { Harness, evalId, logs, only, rejects, sends } from './harness';

describe('Coordinator: takeover by a spare', () => {
  it('mid-round: the spare gets the shard, then w and the pending evaluation; its answer completes the round', () => {
    const h = new Harness();
    const id = evalId(h.start());
    h.hello(3); // spare
    h.update(1, 0, 0, { 0: 1 });
    h.answer(1, 0, id, 0.7);
    const left = h.close(2);
    expect(sends(left, 'assign')).toEqual([{ conn: 3, msg: expect.objectContaining({ shard: 1 }) }]);
    expect(h.shardKind(1)).toBe('loading');
    // the newcomer's update before its ready is a fault; stale-free answers wait for ready
    expect(rejects(h.update(3, 1, 1, { 0: 1 }))).toEqual([{ conn: 3, code: 'E_STATE', field: 't' }]);
    const ready = h.ready(3, 1);
    expect(logs(ready, 'shard taken over')[0]).toMatchObject({ shard: 1, worker: 'w3' });
    expect(sends(ready).map((s) => [s.conn, s.msg.t])).toEqual([
      [3, 'model'],
      [3, 'eval'],
    ]);
    expect(sends(ready, 'eval')[0].msg).toMatchObject({ id });
    const done = h.answer(3, 1, id, 0.3);
    // w of the round is w^0 = 0: F = Σ π_i f_i
    expect(logs(done, 'progress')[0].objective).toBeCloseTo(0.5 * 0.7 + 0.5 * 0.3, 15);
    expect(h.run.stats.departures).toBe(1);
  });

  it('a shard whose answer is in already is not asked again', () => {
    const h = new Harness();
    const id = evalId(h.start());
    h.hello(3);
    h.answer(2, 1, id, 0.3);
    h.close(2);
    expect(sends(h.ready(3, 1), 'eval')).toEqual([]);
  });
});

describe('Coordinator: divergence restarts', () => {
  const rule = { divergence: { rise: 0.1, patience: 1 }, evalEveryUpdates: 1 };

  it('a non-finite F restarts from the best evaluated w̄ with a larger p; stale updates are ignored', () => {
    const h = new Harness(rule);
    const id1 = evalId(h.start());
    h.answer(1, 0, id1, 0.5);
    h.answer(2, 1, id1, 0.5); // the best point: k = 0, w̄ = 0, F = 0.5
    const id2 = evalId(h.update(1, 0, 0, { 0: 1 })); // w̄ = (0.5, 0, 0, 0) at k = 1
    h.answer(1, 0, id2, Infinity); // (Σ π_i f_i is compensated: an infinite f_i makes F NaN)
    const out = h.answer(2, 1, id2, 1);
    expect(logs(out, 'divergence detected')[0].msg).toMatch(/F = NaN\); restarting$/);
    expect(logs(out, 'restart from')[0]).toMatchObject({ restarts: 1, fromK: 0, fromObjective: 0.5 });
    expect(logs(out, 'restart from')[0]).toMatchObject({ p: 1 }); // p ← min(1, max(2p, √p))
    const resets = sends(out, 'assign');
    expect(resets.map((s) => [s.conn, s.msg.t === 'assign' && s.msg.rows])).toEqual([
      [1, null],
      [2, null],
    ]);
    expect(Array.from(h.run.model.wbarDense())).toEqual([0, 0, 0, 0]);
    expect([0, 1].every((i) => h.run.model.wiDense(i).every((x) => x === 0))).toBe(true);
    expect(h.run.model.k).toBe(1); // k keeps counting
    expect([h.shardKind(0), h.shardKind(1)]).toEqual(['resetting', 'resetting']);
    expect(sends(out, 'eval')).toEqual([]); // a new round starts, but nobody can be asked yet
    // an update computed before the reset arrived: dropped, not an error
    expect(h.update(1, 0, 1, { 3: 5 })).toEqual([]);
    expect(h.run.model.k).toBe(1);
    const back = h.ready(1, 0);
    expect(h.shardKind(0)).toBe('ready');
    expect(sends(back).map((s) => s.msg.t)).toEqual(['model', 'eval']);
    expect(sends(back, 'model')[0].msg).toMatchObject({ k: 1, p: 1 });
  });

  it('a non-finite w is never sent; a restart reaching a still-loading worker makes it owe two readies', () => {
    const h = new Harness();
    h.start();
    h.hello(3);
    h.close(2); // the spare loads shard 1
    h.update(1, 0, 0, { 0: 1.7e308 });
    h.update(1, 0, 1, { 0: 1.7e308 });
    const out = h.update(1, 0, 2, { 0: 1.7e308 });
    expect(sends(out, 'model')).toEqual([]);
    expect(logs(out, 'divergence detected')[0].msg).toMatch(/w\[0\] = Infinity/);
    expect(h.run.restarts).toBe(1);
    expect(h.run.shards.shards[1].state).toEqual({ kind: 'resetting', owner: 3, owes: 2 });
    expect(sends(h.ready(3, 1))).toEqual([]); // the answer to the first assign
    expect(h.shardKind(1)).toBe('resetting');
    expect(sends(h.ready(3, 1)).map((s) => s.msg.t)).toEqual(['model', 'eval']);
  });

  it('stopping on divergence, or after maxRestarts, finishes as diverged', () => {
    const h = new Harness({ ...rule, onDivergence: 'stop' });
    const id = evalId(h.start());
    h.answer(1, 0, id, NaN);
    const out = h.answer(2, 1, id, 1);
    expect(logs(out, 'divergence detected')[0].msg).toMatch(/stopping$/);
    expect(only(out, 'finish')[0].outcome.reason).toBe('diverged'); // the final w was just evaluated
    const h2 = new Harness({ ...rule, maxRestarts: 0 });
    const id2 = evalId(h2.start());
    h2.answer(1, 0, id2, NaN);
    h2.answer(2, 1, id2, NaN);
    expect(h2.c.finishedReason()).toBe('diverged');
    expect(h2.run.restarts).toBe(0);
  });
});

describe('Coordinator: the sync-pg barrier', () => {
  it('applies all Δ of one w^k together, then broadcasts; stale and duplicate Δ are dropped', () => {
    const h = new Harness({ algo: 'sync-pg', p: 1 });
    h.start();
    expect(h.update(1, 0, 0, { 0: 1 })).toEqual([]);
    expect(h.run.model.k).toBe(0);
    expect(h.update(1, 0, 0, { 0: 5 })).toEqual([]); // duplicate
    const out = h.update(2, 1, 0, { 0: 1 });
    expect(h.run.model.k).toBe(2);
    expect(h.run.model.wbarAt(0)).toBeCloseTo(1, 15);
    expect(sends(out, 'model').map((s) => [s.conn, s.msg.t === 'model' && s.msg.k])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(h.update(1, 0, 1, { 0: 1 })).toEqual([]); // computed from w^1, which never was a round
    expect(h.run.stats.takeDelays().delayMax).toBe(0); // no staleness in a barrier
  });

  it('a takeover whose predecessor already sent this round Δ gets no model (it would send it twice)', () => {
    const h = new Harness({ algo: 'sync-pg', p: 1 });
    h.start();
    h.hello(3);
    h.update(1, 0, 0, { 0: 1 });
    h.close(1);
    expect(sends(h.ready(3, 0), 'model')).toEqual([]);
    h.hello(4);
    h.close(2);
    expect(sends(h.ready(4, 1), 'model')).toHaveLength(1);
    expect(sends(h.update(4, 1, 0, { 1: 1 }), 'model').map((s) => s.conn)).toEqual([3, 4]);
  });
});

describe('Coordinator: checkpoints', () => {
  const ck = { checkpoint: { file: 'ck', everyMs: 1000 } };

  it('a due checkpoint is the next round snapshot, written once its F is known', () => {
    const h = new Harness(ck);
    const id1 = evalId(h.start());
    h.update(1, 0, 0, { 0: 1 });
    expect(only(h.tick(1000), 'writeCheckpoint')).toEqual([]); // round 1 pending: the next one snapshots
    h.answer(1, 0, id1, 0.6);
    const next = h.answer(2, 1, id1, 0.6);
    const id2 = evalId(next); // started at once for the checkpoint
    h.update(2, 1, 1, { 1: 1 }); // after the snapshot: not in it
    h.answer(1, 0, id2, 0.4);
    const [w] = only(h.answer(2, 1, id2, 0.4), 'writeCheckpoint');
    expect(w.checkpoint.meta).toMatchObject({ k: 1, elapsedMs: 1000, evaluated: { subopt: null } });
    expect(w.checkpoint.meta.evaluated!.objective).toBeCloseTo(0.4 + 0.1 * (0.5 - 0.08), 14);
    expect(Array.from(sparseToDense(w.checkpoint.wbar))).toEqual([0.5, 0, 0, 0]);
  });

  it('a round stuck on a shard without a worker is written without F after a period, and only once', () => {
    const h = new Harness(ck);
    const id1 = evalId(h.start());
    h.answer(1, 0, id1, 0.6);
    h.answer(2, 1, id1, 0.6);
    h.tick(1000); // due: round 2 snapshots
    h.close(2); // shard 1 has no worker now: round 2 is stuck
    expect(only(h.tick(1000), 'writeCheckpoint')).toEqual([]); // 1000 ms old: not yet "stuck"
    const stuck = only(h.tick(1000), 'writeCheckpoint');
    expect(stuck).toHaveLength(1);
    expect(stuck[0].checkpoint.meta).toMatchObject({ k: 0, evaluated: null });
    h.hello(3);
    h.ready(3, 1);
    expect(only(h.tick(1000), 'writeCheckpoint')).toEqual([]);
    const id2 = id1 + 1;
    h.answer(1, 0, id2, 0.5);
    expect(only(h.answer(3, 1, id2, 0.5), 'writeCheckpoint')).toEqual([]); // the snapshot went already
  });

  it('finish: the final checkpoint carries F when the final w was evaluated', () => {
    const h = new Harness({ checkpoint: { file: 'ck', everyMs: 0 } });
    const id = evalId(h.start());
    h.answer(1, 0, id, 0.6);
    h.answer(2, 1, id, 0.6);
    expect(h.tick(60000)).toEqual([]); // everyMs 0: only the final one
    const fin = only(h.stop(), 'finish')[0];
    expect(fin.checkpoint!.meta).toMatchObject({ k: 0, elapsedMs: 60000, evaluated: { objective: 0.6 } });
  });
});
