import { combineColumnMaxima, type SplitManifest } from '@soda/core';
import type { Stats } from '@soda/protocol';
import { Harness, evalId, logs, only, rejects, sends, vec } from './harness';

/*
 * A master without data (--data-at-workers) on the fake clock: the stats round (assign without n,
 * stats offered, refused, withdrawn), the run's state built from it, `scale` to the owners, `ready`
 * checked against the round, a spare after the round, and the duality gap as the stopping rule.
 * The tiny problem has 2 shards of 3 rows and n = 4.
 */

const LOG2 = Math.log(2);
const HASH = ['a'.repeat(64), 'b'.repeat(64)];

function stats(shard: number, over: Partial<Stats> = {}): Stats {
  const colMax = shard === 0 ? vec(4, { 0: 1, 1: 2, 3: 0.5 }) : vec(4, { 0: 4, 2: 1 });
  return { t: 'stats', shard, m: 3, n: 4, nnz: 7, hash: HASH[shard], colMax, ...over };
}

const noData = (over = {}) => new Harness({ data: null, dataName: 'workers', dataHash: '', ...over });

function sendStats(h: Harness, conn: number, s: Stats) {
  return h.handle({ type: 'stats', conn, msg: s });
}

function ready(h: Harness, conn: number, shard: number, over: { hash?: string; L?: number } = {}) {
  const msg = {
    t: 'ready',
    shard,
    m: 3,
    L: over.L ?? 2,
    n: 4,
    nnz: 7,
    hash: over.hash ?? HASH[shard],
  } as const;
  return h.handle({ type: 'ready', conn, msg });
}

/** Workers 1 and 2 join, report, get their scale and answer ready: the run starts. */
function startNoData(h: Harness) {
  h.hello(1);
  h.hello(2);
  sendStats(h, 1, stats(0));
  sendStats(h, 2, stats(1));
  ready(h, 1, 0);
  return ready(h, 2, 1);
}

describe('Coordinator without data: the stats round', () => {
  it('assigns without n, rows or w_i; builds the run from the stats; sends scale; starts on ready', () => {
    const h = noData();
    const [assign] = sends(h.hello(1), 'assign');
    expect(assign.msg).toMatchObject({ t: 'assign', shard: 0, rows: null });
    expect(assign.msg).not.toHaveProperty('n');
    expect(assign.msg).not.toHaveProperty('wi');
    h.hello(2);
    expect(sends(sendStats(h, 1, stats(0)))).toEqual([]);
    expect(h.run.hasModel).toBe(false);
    const out = sendStats(h, 2, stats(1));
    expect(h.run.hasModel).toBe(true);
    expect(h.run.n).toBe(4);
    expect(h.run.m).toBe(6);
    expect(Array.from(h.run.model.pi)).toEqual([0.5, 0.5]);
    const scale = combineColumnMaxima([stats(0).colMax, stats(1).colMax], 4);
    const sc = sends(out, 'scale');
    expect(sc.map((s) => s.conn)).toEqual([1, 2]);
    for (const [i, s] of sc.entries()) {
      expect(s.msg).toMatchObject({ t: 'scale', shard: i, n: 4 });
      if (s.msg.t !== 'scale') throw new Error('not scale');
      // sparse: the divisors of this shard's columns only (those of its column maxima)
      const cols = stats(i).colMax.idx;
      expect(s.msg.scale).toEqual({ n: 4, idx: cols, val: Float64Array.from(cols, (j) => scale[j]) });
      expect(s.msg.wi.idx.length).toBe(0);
    }
    expect(logs(out, 'stats round complete')).toHaveLength(1);
    ready(h, 1, 0);
    const begun = ready(h, 2, 1);
    expect(h.c.phase).toBe('running');
    const start = logs(begun, 'start')[0];
    expect(start).toMatchObject({ m: 6, n: 4, fstar: null });
    expect(String(start.stopRule)).toContain('gap');
    const ev = sends(begun, 'eval');
    expect(ev).toHaveLength(2);
    expect(ev[0].msg).toMatchObject({ gap: true });
    // γ = 2/(λ2 + max L_i)
    expect(h.run.model.gamma).toBe(2 / (h.cfg.lambda2 + 2));
    // the data's identity: the shards' hashes (no manifest), the same for the same files
    expect(h.run.dataHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a ready before the stats round is over is refused', () => {
    const h = noData();
    h.hello(1);
    expect(rejects(ready(h, 1, 0))).toEqual([{ conn: 1, code: 'E_FIELD', field: 'm' }]);
  });

  it('refuses stats that contradict the manifest or the other shards; the shard goes to a spare', () => {
    const manifest: SplitManifest = {
      format: 'soda-split-1',
      source: 'all.svm',
      sourceSha256: 'c'.repeat(64),
      rows: 6,
      n: 4,
      nnz: 14,
      shuffle: false,
      seed: 1,
      parts: [0, 1].map((i) => ({ file: `part-${i}.svm`, rows: 3, nnz: 7, sha256: HASH[i], maxIndex: 4 })),
    } as unknown as SplitManifest;
    const h = noData({ manifest });
    h.hello(1);
    h.hello(2);
    h.hello(3); // spare
    expect(rejects(sendStats(h, 1, stats(0, { hash: 'd'.repeat(64) })))).toEqual([
      { conn: 1, code: 'E_FIELD', field: 'shard' },
    ]);
    expect(rejects(sendStats(h, 2, stats(1, { n: 5 })))).toEqual([
      { conn: 2, code: 'E_FIELD', field: 'shard' },
    ]);
    expect(h.run.hasModel).toBe(false);
    // the refused worker's close frees its shard: the spare gets it, again without n
    const [a] = sends(h.close(1, 1008), 'assign');
    expect(a).toMatchObject({ conn: 3, msg: { shard: 0, rows: null } });
    expect(a.msg).not.toHaveProperty('n');
    sendStats(h, 3, stats(0));
    h.close(2, 1008);
    h.hello(4);
    sendStats(h, 4, stats(1));
    expect(h.run.hasModel).toBe(true);
    expect(h.run.dataHash).toBe('c'.repeat(64)); // the manifest's source
  });

  it('a worker that leaves mid-round withdraws its stats: the round waits for its successor', () => {
    const h = noData();
    h.hello(1);
    h.hello(2);
    sendStats(h, 1, stats(0));
    h.close(1);
    expect(sends(sendStats(h, 2, stats(1)), 'scale')).toEqual([]);
    expect(h.run.hasModel).toBe(false);
    h.hello(3);
    const out = sendStats(h, 3, stats(0));
    expect(sends(out, 'scale').map((s) => s.conn)).toEqual([3, 2]); // in shard order
    // stats for a shard already reported, or after the round: refused
    expect(rejects(sendStats(h, 3, stats(0)))).toEqual([{ conn: 3, code: 'E_STATE', field: 't' }]);
  });

  it('a pinned worker (hello.shard) takes its shard or waits for it', () => {
    const h = noData();
    expect(sends(h.hello(1, 1), 'assign')[0].msg).toMatchObject({ shard: 1 });
    expect(sends(h.hello(2, 1), 'standby')).toHaveLength(1);
    expect(sends(h.hello(3), 'assign')[0].msg).toMatchObject({ shard: 0 });
    // shard 0 frees: the standby pinned to shard 1 must not take it
    expect(sends(h.close(3), 'assign')).toEqual([]);
    expect(sends(h.close(1), 'assign')[0]).toMatchObject({ conn: 2, msg: { shard: 1 } });
    // pinned to a shard the run does not have: refused, not left waiting
    expect(rejects(h.hello(5, 7))).toEqual([{ conn: 5, code: 'E_FIELD', field: 'shard' }]);
  });
});

describe('Coordinator without data: after the stats round', () => {
  it('a spare gets n, the scale and w_i and must re-read the same file', () => {
    const h = noData();
    startNoData(h);
    h.hello(3); // standby
    const [a] = sends(h.close(1), 'assign');
    expect(a.conn).toBe(3);
    expect(a.msg).toMatchObject({ shard: 0, n: 4, rows: null });
    if (a.msg.t !== 'assign') throw new Error('not assign');
    expect(a.msg.scale).toBeDefined();
    expect(a.msg.wi).toBeDefined();
    expect(rejects(ready(h, 3, 0, { hash: 'e'.repeat(64) }))).toEqual([
      { conn: 3, code: 'E_FIELD', field: 'm' },
    ]);
    h.close(3, 1008);
    h.hello(4);
    expect(logs(ready(h, 4, 0), 'shard taken over')).toHaveLength(1);
  });

  it('without rows, an L_i below λ2 or not finite is refused', () => {
    const h = noData();
    h.hello(1);
    h.hello(2);
    sendStats(h, 1, stats(0));
    sendStats(h, 2, stats(1));
    expect(rejects(ready(h, 1, 0, { L: h.cfg.lambda2 / 2 }))).toEqual([
      { conn: 1, code: 'E_FIELD', field: 'L' },
    ]);
    expect(rejects(ready(h, 2, 1, { L: Infinity }))).toEqual([{ conn: 2, code: 'E_FIELD', field: 'L' }]);
  });

  it('stops on the duality gap (reason tol-gap) with no F*; gap, gapRel and dual in the progress line', () => {
    const h = noData();
    const id = evalId(startNoData(h));
    // at w = 0: f_i = log 2 and θ_j = 1/2, so D = log 2 = F and the gap is 0
    const half = { entropy: -3 * LOG2, u: vec(4, {}) };
    h.answer(1, 0, id, LOG2, 3, half);
    const out = h.answer(2, 1, id, LOG2, 3, half);
    const progress = logs(out, 'progress')[0];
    expect(progress).toMatchObject({ objective: LOG2, subopt: null, gap: 0, gapRel: 0, dual: LOG2 });
    const fin = only(out, 'finish')[0];
    expect(fin.outcome.reason).toBe('tol-gap');
    expect(fin.summary).toMatchObject({ reason: 'tol-gap', gap: 0 });
  });

  it('an evaluation answer without the gap parts is refused', () => {
    const h = noData();
    const id = evalId(startNoData(h));
    expect(rejects(h.answer(1, 0, id, LOG2, 3, null))).toEqual([
      { conn: 1, code: 'E_FIELD', field: 'entropy' },
    ]);
  });

  it('a master with the data refuses stats', () => {
    const h = new Harness();
    h.hello(1);
    expect(rejects(sendStats(h, 1, stats(0)))).toEqual([{ conn: 1, code: 'E_STATE', field: 't' }]);
  });
});
