import type { SparseVector } from '@soda/core';
import { decodeFromWorker, encode, IndexScratch, type Update } from '@soda/protocol';
import type { ClaimVerdict } from '../src/claims';
import { AsyncApply, SyncBarrier, type StrategyHost } from '../src/strategies';

type Host = StrategyHost & {
  applied: { shard: number; idx: number[]; val: number[] }[];
  checked: number[];
  delays: number[];
};

/**
 * A host that records what each apply received (copied at the call, as ModelState reads it then); its
 * off-column check refuses any Δ of a shard in `liars`.
 */
function host(M: number, liars: readonly number[] = []): Host {
  const applied: { shard: number; idx: number[]; val: number[] }[] = [];
  const checked: number[] = [];
  const delays: number[] = [];
  const verdict = (shard: number): ClaimVerdict =>
    liars.includes(shard)
      ? { ok: false, reason: 'delta-off-columns', detail: `shard ${shard}` }
      : { ok: true };
  const apply = (shard: number, delta: SparseVector): void => {
    applied.push({ shard, idx: Array.from(delta.idx), val: Array.from(delta.val) });
  };
  return {
    applied,
    checked,
    delays,
    model: { k: 5 },
    shards: { size: M },
    stats: { recordDelay: (d) => delays.push(d) },
    apply,
    applyChecked(shard, delta) {
      const v = verdict(shard);
      if (v.ok) apply(shard, delta);
      return v;
    },
    check(shard) {
      checked.push(shard);
      return verdict(shard);
    },
  };
}

/** Δ_i on shard i's own columns {10i, 10i + 1, …}: every shard's indices differ. */
const deltaOf = (i: number): SparseVector => ({
  n: 100,
  idx: Uint32Array.from({ length: 3 + i }, (_, t) => 10 * i + t),
  val: Float64Array.from({ length: 3 + i }, (_, t) => i + t / 8),
});

/** Each Δ through the real decoder with one index scratch, as Connections decodes every frame. */
function decodedInOneScratch(M: number): Update[] {
  const scratch = new IndexScratch();
  scratch.take(64); // large enough for all: no growth, so every Δ shares the same memory
  return Array.from({ length: M }, (_, i) => {
    const r = decodeFromWorker(encode({ t: 'update', shard: i, k: 5, delta: deltaOf(i) }), {
      indexScratch: scratch,
    });
    if (!r.ok) throw r.error;
    return r.msg as Update;
  });
}

describe('apply strategies and the decoder’s index scratch', () => {
  it('sync-pg: a round keeps its Δs intact while later frames are decoded into the same scratch', () => {
    const M = 4;
    const run = host(M);
    const barrier = new SyncBarrier(run);
    const scratch = new IndexScratch();
    scratch.take(64);
    for (let i = 0; i < M; i++) {
      const r = decodeFromWorker(encode({ t: 'update', shard: i, k: 5, delta: deltaOf(i) }), {
        indexScratch: scratch,
      });
      if (!r.ok) throw r.error;
      const answer = barrier.update(r.msg as Update);
      expect(answer === null).toBe(i < M - 1);
    }
    expect(run.applied.map((a) => a.shard)).toEqual([0, 1, 2, 3]);
    for (const a of run.applied) {
      const want = deltaOf(a.shard);
      expect(a.idx).toEqual(Array.from(want.idx));
      expect(a.val).toEqual(Array.from(want.val));
    }
  });

  it('the scratch does overwrite an earlier Δ (why the barrier copies): the hazard is real', () => {
    const msgs = decodedInOneScratch(2);
    expect(Array.from(msgs[0].delta.idx)).not.toEqual(Array.from(deltaOf(0).idx));
  });

  it('soda and dave-pg: each Δ is applied before the next frame is decoded', () => {
    const run = host(3);
    const apply = new AsyncApply(run);
    const scratch = new IndexScratch();
    for (let i = 0; i < 3; i++) {
      const r = decodeFromWorker(encode({ t: 'update', shard: i, k: 5, delta: deltaOf(i) }), {
        indexScratch: scratch,
      });
      if (!r.ok) throw r.error;
      expect(apply.update(r.msg as Update)).toEqual([i]);
    }
    for (const a of run.applied) expect(a.idx).toEqual(Array.from(deltaOf(a.shard).idx));
  });

  it('a refused Δ is named and applies nothing: at once (soda, dave-pg) or as it reaches the barrier (sync-pg)', () => {
    const run = host(3, [1]);
    const apply = new AsyncApply(run);
    const at = (i: number, k = 5): Update => ({ t: 'update', shard: i, k, delta: deltaOf(i) });
    expect(apply.update(at(0, 3))).toEqual([0]);
    expect(apply.update(at(1, 4))).toEqual({
      refused: { ok: false, reason: 'delta-off-columns', detail: 'shard 1' },
    });
    expect(run.applied.map((a) => a.shard)).toEqual([0]);
    expect(run.delays).toEqual([2]); // the refused Δ's delay is not a statistic of the run

    const sync = host(3, [1]);
    const barrier = new SyncBarrier(sync);
    expect(barrier.update(at(0))).toBeNull();
    // a liar is refused even when its Δ is stale and would be dropped
    expect(barrier.update(at(1, 4))).toMatchObject({ refused: { reason: 'delta-off-columns' } });
    expect(barrier.update(at(1))).toMatchObject({ refused: { reason: 'delta-off-columns' } });
    expect(barrier.update(at(2))).toBeNull(); // shard 1's place in the round is still open
    expect(sync.applied).toEqual([]);
    expect(sync.checked).toEqual([0, 1, 1, 2]);
  });
});
