import { combineColumnMaxima, type SparseVector } from '@soda/core';
import type { Stats } from '@soda/protocol';
import { Harness, evalId, logs, rejects, sends, vec } from './harness';

/*
 * A master without data fitting the intercept (the default of soda master --data-at-workers): the
 * stats round reports n = 4 features, the run has n + 1 = 5 coordinates, the last unpenalised; the
 * workers are told to append the constant column (scale.intercept, n + 1 divisors, the last 1), and a
 * ready counts that column's m non-zeros.
 */

const HASH = ['a'.repeat(64), 'b'.repeat(64)];
const colMax = [vec(4, { 0: 1, 1: 2, 3: 0.5 }), vec(4, { 0: 4, 2: 1 })];
const stats = (shard: number): Stats => ({
  t: 'stats',
  shard,
  m: 3,
  n: 4,
  nnz: 7,
  hash: HASH[shard],
  colMax: colMax[shard],
});
const ready = (h: Harness, conn: number, shard: number, nnz: number) =>
  h.handle({ type: 'ready', conn, msg: { t: 'ready', shard, m: 3, L: 2, n: 5, nnz, hash: HASH[shard] } });

describe('Coordinator without data, with the intercept', () => {
  it('runs with n + 1 coordinates and tells each worker to append the constant column after scaling', () => {
    const h = new Harness({ data: null, dataName: 'workers', dataHash: '', intercept: true });
    h.hello(1);
    h.hello(2);
    h.handle({ type: 'stats', conn: 1, msg: stats(0) });
    const out = h.handle({ type: 'stats', conn: 2, msg: stats(1) });
    expect(h.run.model.n).toBe(5);
    expect(h.run.model.unpenalizedFrom).toBe(4);
    const features = combineColumnMaxima(colMax, 4);
    for (const s of sends(out, 'scale')) {
      if (s.msg.t !== 'scale') throw new Error('not scale');
      expect(s.msg).toMatchObject({ n: 5, intercept: true });
      // sparse: the divisors of the shard's own columns, the intercept's (index 4) among them, 1
      const scale = s.msg.scale as SparseVector;
      expect(scale.n).toBe(5);
      expect(scale.idx[scale.idx.length - 1]).toBe(4);
      expect(scale.val[scale.val.length - 1]).toBe(1);
      scale.idx.forEach((j, t) => j < 4 && expect(scale.val[t]).toBe(features[j]));
    }
    expect(logs(out, 'stats round complete')[0]).toMatchObject({ n: 4, intercept: true });
    // the file has 7 non-zeros; the worker's rows 7 + m = 10 with the intercept's column
    expect(rejects(ready(h, 1, 0, 7))).toEqual([{ conn: 1, code: 'E_FIELD', field: 'm' }]);
    h.close(1); // the refused worker leaves; a spare re-reads shard 0
    h.hello(3);
    ready(h, 3, 0, 10);
    const begun = ready(h, 2, 1, 10);
    expect(h.c.phase).toBe('running');
    expect(logs(begun, 'start')[0]).toMatchObject({ n: 4, intercept: true });
  });

  it('a spare taking a shard after the stats round gets n + 1 divisors and intercept: true', () => {
    const h = new Harness({ data: null, dataName: 'workers', dataHash: '', intercept: true });
    h.hello(1);
    h.hello(2);
    h.handle({ type: 'stats', conn: 1, msg: stats(0) });
    h.handle({ type: 'stats', conn: 2, msg: stats(1) });
    h.close(1);
    const [a] = sends(h.hello(3), 'assign');
    if (a.msg.t !== 'assign') throw new Error('not assign');
    expect(a.msg).toMatchObject({ shard: 0, n: 5, intercept: true, rows: null });
    const scale = a.msg.scale as SparseVector;
    expect(scale.n).toBe(5);
    expect(scale.idx[scale.idx.length - 1]).toBe(4);
    expect(scale.val[scale.val.length - 1]).toBe(1);
  });

  it('without the intercept nothing is appended: n, no flag', () => {
    const h = new Harness({ data: null, dataName: 'workers', dataHash: '' });
    h.hello(1);
    h.hello(2);
    h.handle({ type: 'stats', conn: 1, msg: stats(0) });
    const out = h.handle({ type: 'stats', conn: 2, msg: stats(1) });
    expect(h.run.model.n).toBe(4);
    expect(h.run.model.unpenalizedFrom).toBe(4);
    for (const s of sends(out, 'scale')) expect(s.msg).not.toHaveProperty('intercept');
  });

  it('refuses gap parts no shard of m_i scaled rows can have (entropy < −m_i log 2, |u_k| > m_i)', () => {
    const h = new Harness({ data: null, dataName: 'workers', dataHash: '', intercept: true });
    h.hello(1);
    h.hello(2);
    h.handle({ type: 'stats', conn: 1, msg: stats(0) });
    h.handle({ type: 'stats', conn: 2, msg: stats(1) });
    ready(h, 1, 0, 10);
    const id = evalId(ready(h, 2, 1, 10));
    const part = (entropy: number, u: Record<number, number>) => ({ entropy, u: vec(5, u) });
    // m_i = 3: Σ H(θ_j) ≥ −3 log 2 ≈ −2.079, and |u_k| ≤ 3 on rows scaled into [−1, 1]
    expect(rejects(h.answer(1, 0, id, 1, 0, part(-2.1, {})))).toEqual([
      { conn: 1, code: 'E_FIELD', field: 'entropy' },
    ]);
    expect(rejects(h.answer(2, 1, id, 1, 0, part(-2, { 4: 3.5 })))).toEqual([
      { conn: 2, code: 'E_FIELD', field: 'u' },
    ]);
    h.close(1, 1008); // the refused worker's connection closes; a spare takes shard 0
    h.hello(3);
    h.handle({
      type: 'ready',
      conn: 3,
      msg: { t: 'ready', shard: 0, m: 3, L: 2, n: 5, nnz: 10, hash: HASH[0] },
    });
    expect(rejects(h.answer(3, 0, id, 1, 0, part(-3 * Math.LN2, { 4: -3 })))).toEqual([]);
  });
});
