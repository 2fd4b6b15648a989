import { FINAL_EVAL_TIMEOUT_MS } from '../src/coordinator';
import { Harness, evalId, logs, only, rejects, sends, soft } from './harness';

// γ = 2/(λ2 + L) = 2/(0.5 + 2) with L = 2; prox threshold γλ1
const GAMMA = 0.8;
const T = GAMMA * 0.1;

describe('Coordinator, waiting for workers', () => {
  it('hello: assigns the lowest free shard with its rows, then puts extra workers on standby', () => {
    const h = new Harness();
    const a = h.hello(1);
    const assign = sends(a, 'assign');
    expect(assign).toHaveLength(1);
    expect(assign[0].conn).toBe(1);
    expect(assign[0].msg).toMatchObject({ t: 'assign', shard: 0, lambda2: 0.5, p: 0.5 });
    expect(assign[0].msg.t === 'assign' && assign[0].msg.rows?.m).toBe(3);
    expect(h.shardKind(0)).toBe('loading');
    expect(sends(h.hello(2), 'assign')[0].msg).toMatchObject({ shard: 1 });
    const spare = h.hello(3);
    expect(sends(spare, 'standby')).toHaveLength(1);
    expect(logs(spare, 'worker on standby')[0]).toMatchObject({ conn: 3, standbys: 1 });
    expect(h.c.phase).toBe('waiting');
  });

  it('ready: counts shards, and the last one starts the run: γ from L, start record, eval and model to all', () => {
    const h = new Harness();
    h.hello(1);
    h.hello(2);
    const first = h.ready(1, 0, 1.5);
    expect(logs(first, 'waiting for workers')[0]).toMatchObject({ msg: 'waiting for workers 1/2', L: 1.5 });
    expect(h.shardKind(0)).toBe('ready');
    expect(h.c.phase).toBe('waiting');
    const last = h.ready(2, 1, 2);
    expect(h.c.phase).toBe('running');
    expect(h.run.model.gamma).toBeCloseTo(GAMMA, 15);
    const [start] = logs(last, 'start');
    expect(start).toMatchObject({ algo: 'soda', workers: 2, m: 6, n: 4, L: 2, mu: 0.5, kappa: 4, k: 0 });
    expect(sends(last, 'eval').map((s) => s.conn)).toEqual([1, 2]);
    expect(sends(last, 'model').map((s) => s.conn)).toEqual([1, 2]);
  });

  it('ready: a second ready, a wrong m, or a shard not owned are rejected with the state untouched', () => {
    const h = new Harness();
    h.hello(1);
    h.hello(2);
    h.hello(3); // spare
    expect(rejects(h.ready(1, 0, 2, 99))).toEqual([{ conn: 1, code: 'E_FIELD', field: 'm' }]);
    expect(h.shardKind(0)).toBe('loading');
    h.ready(1, 0);
    expect(rejects(h.ready(1, 0))).toEqual([{ conn: 1, code: 'E_STATE', field: 't' }]);
    expect(rejects(h.ready(1, 1))).toEqual([{ conn: 1, code: 'E_STATE', field: 'shard' }]);
    expect(rejects(h.ready(3, 1))).toEqual([{ conn: 3, code: 'E_STATE', field: 't' }]);
    expect(h.shardKind(1)).toBe('loading');
  });

  it('update and evalResult before the run starts are dropped; tick does nothing', () => {
    const h = new Harness({ maxTimeMs: 10, checkpoint: { file: 'x', everyMs: 5 } });
    h.hello(1);
    h.ready(1, 0);
    expect(h.update(1, 0, 0, { 0: 1 })).toEqual([]);
    expect(h.answer(1, 0, 1, 0.5)).toEqual([]);
    expect(h.tick(1000)).toEqual([]);
    expect(h.run.model.k).toBe(0);
  });

  it('close: frees the shard, counts a departure and hands the shard to the first standby', () => {
    const h = new Harness();
    h.hello(1);
    h.hello(2);
    h.hello(3);
    h.ready(1, 0);
    const out = h.close(1);
    expect(h.run.stats.departures).toBe(1);
    expect(logs(out, 'worker left')[0]).toMatchObject({ conn: 1, worker: 'w1', shard: 0, code: 1006 });
    expect(sends(out, 'assign')).toEqual([{ conn: 3, msg: expect.objectContaining({ shard: 0 }) }]);
    expect(h.shardKind(0)).toBe('loading');
    // a standby leaving is no departure
    h.hello(4);
    expect(h.close(4)).toEqual([]);
    expect(h.run.stats.departures).toBe(1);
  });

  it('stop: completes at once, without a final checkpoint (training never started)', () => {
    const h = new Harness({ checkpoint: { file: 'x', everyMs: 0 } });
    h.hello(1);
    const out = h.stop('signal SIGTERM');
    expect(out.map((c) => c.type)).toEqual(['close', 'finish']);
    const fin = only(out, 'finish')[0];
    expect(fin.checkpoint).toBeNull();
    expect(fin.outcome).toEqual({ reason: 'signal SIGTERM', objective: null, subopt: null, updates: 0 });
    expect(fin.summary).toMatchObject({ reason: 'signal SIGTERM', k: 0, objective: null });
    expect(h.c.phase).toBe('done');
    expect(h.c.finishedReason()).toBe('signal SIGTERM');
    expect(h.stop()).toEqual([]);
  });
});

describe('Coordinator, running (async SODA)', () => {
  it('update: w̄ += π_i Δ, w = prox_{γλ1}(w̄), and only that worker gets w^{k+1}', () => {
    const h = new Harness();
    h.start();
    const out = h.update(1, 0, 0, { 0: 1, 2: 0.1 });
    expect(h.run.model.k).toBe(1);
    const models = sends(out, 'model');
    expect(models.map((s) => s.conn)).toEqual([1]);
    const w = models[0].msg.t === 'model' ? models[0].msg.w : null;
    // w̄ = (0.5, 0, 0.05, 0): coordinate 2 is under the threshold 0.08
    expect(Array.from(w!.idx)).toEqual([0]);
    expect(w!.val[0]).toBeCloseTo(soft(0.5, T), 15);
    expect(models[0].msg).toMatchObject({ k: 1, p: 0.5 });
    expect(h.run.stats).toMatchObject({ updates: 1, coordsUp: 2 });
    // stale by one: applied all the same, and its delay recorded
    h.update(2, 1, 0, { 0: 1 });
    expect(h.run.model.wbarAt(0)).toBeCloseTo(1, 15);
    expect(h.run.stats.takeDelays()).toEqual({ delayMean: 0.5, delayMax: 1 });
  });

  it('update: ahead of the master, from a shard not owned, or from a worker with no shard is rejected', () => {
    const h = new Harness();
    h.start();
    h.hello(3);
    expect(rejects(h.update(1, 0, 5, { 0: 1 }))).toEqual([{ conn: 1, code: 'E_STATE', field: 'k' }]);
    expect(rejects(h.update(1, 1, 0, { 0: 1 }))).toEqual([{ conn: 1, code: 'E_STATE', field: 'shard' }]);
    expect(rejects(h.update(3, 0, 0, { 0: 1 }))).toEqual([{ conn: 3, code: 'E_STATE', field: 't' }]);
    expect(h.run.model.k).toBe(0);
  });

  it('evalResult: F(w) = Σ π_i f_i + λ1‖w‖₁ of the w sent, a progress record, late answers ignored', () => {
    const h = new Harness({ fstar: 0.5 });
    h.start();
    h.update(1, 0, 0, { 0: 1, 1: -0.6 }); // w̄ = (0.5, -0.3, 0, 0)
    h.tick(250);
    const ev = h.stop(); // the final w is not evaluated yet: one more round
    const id = evalId(ev);
    expect(h.c.phase).toBe('finishing');
    const w = [soft(0.5, T), soft(-0.3, T)];
    expect(h.answer(1, 0, id - 1, 99)).toEqual([]); // the first round's late answer
    expect(only(h.answer(1, 0, id, 0.6, 2), 'log')).toEqual([]);
    const out = h.answer(2, 1, id, 0.5, 1);
    const F = 0.5 * 0.6 + 0.5 * 0.5 + 0.1 * (Math.abs(w[0]) + Math.abs(w[1]));
    const [progress] = logs(out, 'progress');
    expect(progress.objective).toBeCloseTo(F, 14);
    expect(progress.subopt).toBeCloseTo((F - 0.5) / 0.5, 14);
    expect(progress).toMatchObject({
      k: 1,
      epoch: 0.5,
      nnz: 2,
      supportPct: 50,
      accuracy: 0.5,
      elapsedMs: 250,
    });
    const fin = only(out, 'finish')[0];
    expect(fin.modelObjective).toBeCloseTo(F, 14);
    expect(fin.summary).toMatchObject({ reason: 'stopped', k: 1, epochs: 0.5, nnz: 2, elapsedMs: 250 });
  });

  it('evaluation rounds are due by updates and by time, one at a time', () => {
    const h = new Harness({ evalEveryUpdates: 3, evalEveryMs: 1000 });
    const started = h.start();
    const id1 = evalId(started);
    expect(sends(h.update(1, 0, 0, { 0: 1 }), 'eval')).toEqual([]); // round 1 is pending
    h.answer(1, 0, id1, 1);
    h.answer(2, 1, id1, 1);
    expect(sends(h.update(2, 1, 1, { 0: 1 }), 'eval')).toEqual([]);
    const due = sends(h.update(1, 0, 2, { 0: 1 }), 'eval'); // 3 updates since round 1
    expect(due.map((s) => [s.conn, s.msg.t === 'eval' && s.msg.id])).toEqual([
      [1, id1 + 1],
      [2, id1 + 1],
    ]);
    h.answer(1, 0, id1 + 1, 1);
    h.answer(2, 1, id1 + 1, 1);
    expect(sends(h.update(1, 0, 3, { 1: 1 }), 'eval')).toEqual([]);
    h.now += 1000;
    const byTime = sends(h.update(1, 0, 4, { 1: 1 }), 'eval');
    expect(byTime).toHaveLength(2); // by time: 2 updates since
    // every w an evaluation request carried is counted, as coordsDown counts the model replies'
    const carried = [...sends(started, 'eval'), ...due, ...byTime].map((x) =>
      x.msg.t === 'eval' ? x.msg.w.idx.length : NaN,
    );
    expect(carried).toHaveLength(6);
    expect(carried.some((c) => c > 0)).toBe(true);
    expect(h.run.stats.evalCoordsDown).toBe(carried.reduce((a, b) => a + b, 0));
  });

  it('max-epochs: training stops at k/M epochs and the final w is evaluated before finishing', () => {
    const h = new Harness({ maxEpochs: 1 });
    const id1 = evalId(h.start());
    h.update(1, 0, 0, { 0: 1 });
    const out = h.update(2, 1, 0, { 0: 1 });
    expect(h.c.phase).toBe('finishing');
    expect(sends(out, 'model')).toEqual([]); // no more models once finishing
    const id2 = evalId(out);
    expect(id2).toBe(id1 + 1); // the stale round 1 (k = 0) is replaced
    expect(h.update(1, 0, 2, { 0: 1 })).toEqual([]); // in-flight updates are dropped
    h.answer(1, 0, id2, 0.3);
    const fin = only(h.answer(2, 1, id2, 0.3), 'finish')[0];
    expect(fin.outcome).toMatchObject({ reason: 'max-epochs', updates: 2 });
    expect(fin.summary).toMatchObject({ k: 2, epochs: 1 });
  });

  it('tol: a round whose suboptimality reaches tol finishes at once (w just evaluated)', () => {
    const h = new Harness({ fstar: 0.5, tol: 0.01 });
    const id = evalId(h.start());
    h.answer(1, 0, id, 0.502);
    const out = h.answer(2, 1, id, 0.502);
    expect(out.map((c) => c.type)).toEqual(['log', 'close', 'finish']);
    expect(only(out, 'finish')[0]).toMatchObject({ outcome: { reason: 'tol' }, modelObjective: 0.502 });
  });

  it('max-time: a tick past the deadline finishes; the final evaluation then has 10 s', () => {
    const h = new Harness({ maxTimeMs: 5000 });
    h.start();
    h.update(1, 0, 0, { 0: 1 });
    expect(h.tick(4999)).toEqual([]);
    const out = h.tick(1);
    expect(h.c.phase).toBe('finishing');
    const id = evalId(out);
    h.answer(1, 0, id, 0.4); // shard 1's worker never answers
    expect(h.tick(FINAL_EVAL_TIMEOUT_MS - 1)).toEqual([]);
    const done = h.tick(1);
    expect(done.map((c) => c.type)).toEqual(['close', 'finish']);
    const fin = only(done, 'finish')[0];
    expect(fin.outcome).toEqual({ reason: 'max-time', objective: null, subopt: null, updates: 1 });
    expect(fin.modelObjective).toBeNull();
    expect(fin.summary.elapsedMs).toBe(5000 + FINAL_EVAL_TIMEOUT_MS);
    expect(h.c.phase).toBe('done');
    expect(h.answer(2, 1, id, 0.4)).toEqual([]); // too late
    expect(h.close(1)).toEqual([]); // closes after the end are no departures
    expect(h.run.stats.departures).toBe(0);
  });

  it('finish keeps a pending round that already judges the final w', () => {
    const h = new Harness();
    const id = evalId(h.start());
    const out = h.stop();
    expect(sends(out, 'eval')).toEqual([]);
    h.answer(1, 0, id, 1);
    expect(only(h.answer(2, 1, id, 1), 'finish')[0].modelObjective).toBeCloseTo(1, 15);
  });
});
