import { csrFromDense, Rng, type Dataset } from '@soda/core';
import type { Stats } from '@soda/protocol';
import { ShardIterate } from '../src/shard-iterate';
import { checkOffColumns, SupportHistory } from '../src/support-history';
import { Harness, only, rejects, sends, vec } from './harness';

/*
 * A worker's Δ off its columns cols_i can be non-zero only on H (coordinates that have been in a w the
 * workers were sent) or where the master's w_i is already non-zero (DESIGN.md, "Where w_i lives"):
 * anything else is a lie that would make the master store w_i entries of the liar's choosing.
 */

describe('checkOffColumns', () => {
  const n = 10;
  const wi = new ShardIterate(n, Uint32Array.of(1, 3, 9));
  const H = new SupportHistory(n);

  it('passes Δ on the columns, zeros anywhere, H, and coordinates where w_i is stored non-zero', () => {
    expect(checkOffColumns(vec(n, { 1: 0.5, 3: -1, 9: 2 }), wi, H)).toEqual({ ok: true });
    expect(checkOffColumns({ n, idx: Uint32Array.of(0, 6), val: Float64Array.of(0, -0) }, wi, H).ok).toBe(
      true,
    );
    expect(checkOffColumns(vec(n, { 5: 0.3 }), wi, H).ok).toBe(false);
    H.markAll(vec(n, { 5: 0.01 }));
    expect(checkOffColumns(vec(n, { 1: 1, 5: 0.3, 9: 1 }), wi, H)).toEqual({ ok: true });
    wi.load(vec(n, { 3: 1, 7: 0.2 })); // a restart or resume handed w_i an entry off the columns
    expect(checkOffColumns(vec(n, { 7: -0.2 }), wi, H)).toEqual({ ok: true });
  });

  it('refuses a non-zero off cols_i ∪ H where w_i is 0, naming the coordinate', () => {
    const v = checkOffColumns(vec(n, { 1: 0.5, 3: 1, 8: 1e-300 }), wi, H);
    expect(v).toMatchObject({ ok: false, reason: 'delta-off-columns' });
    if (!v.ok)
      expect(v.detail).toMatch(/^delta\[8\] = 1e-300, but column 8 is not one of the shard's columns/);
    expect(checkOffColumns(vec(n, { 0: -2 }), wi, H).ok).toBe(false);
  });

  it.each([
    ['indexed densely where it fits', undefined],
    ['always searched', false],
  ])(
    'agrees with a set-membership reference on random columns, H, stored entries and Δs (cols_i %s)',
    (_, dense) => {
      const rng = new Rng(99);
      for (let trial = 0; trial < 300; trial++) {
        const dim = 2 + rng.int(300);
        const pick = (k: number) => Array.from({ length: k }, () => rng.int(dim));
        const cols = new Set(pick(rng.int(dim)));
        const h = new Set(pick(rng.int(8)));
        const stored = pick(rng.int(4)).filter((j) => !cols.has(j));
        const it = new ShardIterate(dim, Uint32Array.from(cols).sort(), dense);
        it.load(vec(dim, Object.fromEntries(stored.map((j) => [j, 1 + j]))));
        const hist = new SupportHistory(dim);
        hist.markAll(vec(dim, Object.fromEntries([...h].map((j) => [j, 1]))));
        const d = vec(
          dim,
          Object.fromEntries(pick(rng.int(40)).map((j) => [j, rng.next() < 0.2 ? 0 : rng.normal()])),
        );
        const bad = Array.from(d.idx).find(
          (j, t) => d.val[t] !== 0 && !cols.has(j) && !h.has(j) && !stored.includes(j),
        );
        const v = checkOffColumns(d, it, hist);
        expect(v.ok).toBe(bad === undefined);
        if (!v.ok) expect(v.detail).toMatch(new RegExp(`^delta\\[${bad}\\]`));
      }
    },
  );
});

/** Shard 0's rows touch columns 0, 1; shard 1's 2, 3; column 4 is the intercept's (in both). */
function disjointData(): Dataset {
  const rows = [
    [1, 0.5, 0, 0, 1],
    [-0.5, 1, 0, 0, 1],
    [1, 0, 0, 0, 1],
    [0, 0, 1, -1, 1],
    [0, 0, 0.5, 1, 1],
    [0, 0, -1, 0.25, 1],
  ];
  return { X: csrFromDense(rows), y: Float64Array.of(1, -1, 1, -1, 1, -1) };
}

describe('Coordinator: Δ off a shard’s columns', () => {
  it('data at the master, intercept on: refused off cols_i ∪ H (state untouched), accepted once the coordinate was in a w sent', () => {
    const h = new Harness({ data: disjointData(), unpenalizedFrom: 4, lambda1: 1e-6, gamma: 1 });
    expect(Array.from(h.run.model.wi[0].cols)).toEqual([0, 1, 4]);
    expect(Array.from(h.run.model.wi[1].cols)).toEqual([2, 3, 4]);
    h.start();
    // the intercept's column is every shard's: both may move it
    expect(rejects(h.update(1, 0, 0, { 0: 0.1, 4: 0.2 }))).toEqual([]);
    const answer = h.update(2, 1, 1, { 2: 0.3, 4: -0.1 });
    expect(rejects(answer)).toEqual([]);
    const [model] = sends(answer, 'model');
    if (model.msg.t !== 'model') throw new Error('not a model frame');
    expect(Array.from(model.msg.w.idx)).toEqual([0, 2, 4]); // w_2 ≠ 0 was sent: 2 ∈ H now
    const state = () => ({
      k: h.run.model.k,
      wbar: Array.from(h.run.model.wbarDense()),
      w: Array.from(h.run.model.wDense()),
      wi: Array.from(h.run.model.wiDense(0)),
      support: h.run.model.supportSize,
    });
    const before = state();
    // column 3 is shard 1's and has never been in supp(w): shard 0 cannot move it (its coordinates 1 and
    // 4, before 3 in Δ, were applied in the same pass and are undone)
    const lie = h.update(1, 0, 2, { 1: 0.05, 3: 7, 4: 1 });
    expect(rejects(lie)).toEqual([{ conn: 1, code: 'E_FIELD', field: 'delta' }]);
    expect(only(lie, 'reject')[0].error.message).toMatch(/^delta-off-columns: delta\[3\] = 7, /);
    expect(state()).toEqual(before);
    expect(h.run.model.wi[0].overflow).toBe(0);
    // its replacement's honest Δ on coordinate 2 (lent by supp(w)) is stored off its columns
    h.close(1);
    h.hello(3);
    h.ready(3, 0);
    expect(rejects(h.update(3, 0, 2, { 0: 0.01, 2: -0.02 }))).toEqual([]);
    expect(h.run.model.wi[0].overflow).toBe(1);
    expect(h.run.model.wi[0].get(2)).toBe(-0.02);
  });

  it('data at the workers, intercept on: the columns are the stats round’s (and the constant column n)', () => {
    const HASH = ['a'.repeat(64), 'b'.repeat(64)];
    const colMax = [vec(4, { 0: 1, 1: 2 }), vec(4, { 2: 1, 3: 0.5 })];
    const stats = (shard: number): Stats => ({
      t: 'stats',
      shard,
      m: 3,
      n: 4,
      nnz: 6,
      hash: HASH[shard],
      colMax: colMax[shard],
    });
    const h = new Harness({ data: null, dataName: 'workers', dataHash: '', intercept: true });
    h.hello(1);
    h.hello(2);
    h.handle({ type: 'stats', conn: 1, msg: stats(0) });
    h.handle({ type: 'stats', conn: 2, msg: stats(1) });
    for (const [conn, shard] of [
      [1, 0],
      [2, 1],
    ])
      h.handle({
        type: 'ready',
        conn,
        msg: { t: 'ready', shard, m: 3, L: 2, n: 5, nnz: 9, hash: HASH[shard] },
      });
    expect(h.c.phase).toBe('running');
    expect(rejects(h.update(1, 0, 0, { 1: 0.1, 4: 0.3 }))).toEqual([]);
    expect(rejects(h.update(2, 1, 0, { 3: 0.1, 4: -0.3 }))).toEqual([]);
    expect(rejects(h.update(2, 1, 0, { 0: 0.5 }))).toEqual([{ conn: 2, code: 'E_FIELD', field: 'delta' }]);
  });

  it('sync-pg: a lie is refused as it reaches the barrier, before the round is applied', () => {
    const h = new Harness({
      data: disjointData(),
      unpenalizedFrom: 4,
      algo: 'sync-pg',
      lambda1: 1e-6,
      gamma: 1,
    });
    h.start();
    const wbar = Array.from(h.run.model.wbarDense());
    expect(rejects(h.update(2, 1, 0, { 2: 0.3 }))).toEqual([]); // honest: waits for shard 0
    const lie = h.update(1, 0, 0, { 1: 0.05, 3: 7 });
    expect(rejects(lie)).toEqual([{ conn: 1, code: 'E_FIELD', field: 'delta' }]);
    expect(only(lie, 'reject')[0].error.message).toMatch(/^delta-off-columns: delta\[3\] = 7, /);
    expect(h.run.model.k).toBe(0); // the round was not applied, with or without the lie
    expect(Array.from(h.run.model.wbarDense())).toEqual(wbar);
  });
});
