import { Rng, type SparseVector } from '@soda/core';
import { applyModelDiff, decodeFromMaster, encode, modelDiff } from '@soda/protocol';
import { ModelReplies } from '../src/model-replies';

/*
 * The master's per-worker ŵ (wire precision 32): its one-pass diff-and-apply gives the diff of
 * modelDiff and the ŵ of applyModelDiff (what the worker computes) bit for bit, over random supports
 * that grow, shrink and move; whole frames after forget; 64 sends w itself.
 */

const N = 500;

function randomW(rng: Rng, prev: Float64Array): SparseVector {
  for (let t = 0; t < 40; t++) prev[rng.int(N)] = rng.next() < 0.4 ? 0 : rng.normal();
  for (let j = 0; j < N; j++) if (prev[j] !== 0 && rng.next() < 0.5) prev[j] += 1e-5 * rng.normal();
  const idx = Uint32Array.from(Array.from(prev.keys()).filter((j) => prev[j] !== 0));
  return { n: N, idx, val: Float64Array.from(idx, (j) => prev[j]) };
}

const same = (a: SparseVector, b: SparseVector) =>
  a.idx.length === b.idx.length &&
  a.idx.every((j, t) => j === b.idx[t]) &&
  a.val.every((x, t) => Object.is(x, b.val[t]));

describe('ModelReplies', () => {
  it('32: whole first, then diffs equal to modelDiff, and ŵ equal to the worker’s applyModelDiff', () => {
    const rng = new Rng(3);
    const replies = new ModelReplies(32);
    const dense = new Float64Array(N);
    let worker: SparseVector | null = null;
    let diffs = 0;
    for (let r = 0; r < 300; r++) {
      if (r === 150) {
        replies.forget(7); // an assign: the next frame is whole
        worker = null;
      }
      const w = randomW(rng, dense);
      const before = replies.heldBy(7);
      const frame = replies.frame(7, { k: r, gamma: 1, p: 0.1 }, w);
      const wire = decodeFromMaster(encode(frame), { n: N, wirePrecision: 32 });
      if (!wire.ok) throw wire.error;
      if (worker === null) {
        expect(frame.diff).toBeUndefined();
        expect(same(frame.w, w)).toBe(true);
        worker = w;
      } else {
        diffs++;
        expect(frame.diff).toBe(true);
        expect(same(frame.w, modelDiff(w, before!)!)).toBe(true);
        expect(wire.msg.t === 'model' && wire.msg.valBits).toBe(32);
        worker = applyModelDiff(worker, wire.ok && wire.msg.t === 'model' ? wire.msg.w : frame.w);
      }
      expect(same(replies.heldBy(7)!, worker)).toBe(true);
    }
    expect(diffs).toBe(298);
    replies.forget(7);
    expect(replies.size).toBe(0);
  });

  it('64: the model frame is w itself, and nothing is kept', () => {
    const replies = new ModelReplies(64);
    const w = { n: N, idx: Uint32Array.of(1, 2), val: Float64Array.of(0.1, 0.2) };
    const frame = replies.frame(1, { k: 0, gamma: 1, p: 1 }, w);
    expect(frame).toStrictEqual({ t: 'model', k: 0, gamma: 1, p: 1, w });
    expect(replies.size).toBe(0);
  });
});
