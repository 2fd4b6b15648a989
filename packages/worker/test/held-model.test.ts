import { ProtocolError, type Model } from '@soda/protocol';
import { HeldModel } from '../src/held-model';

/* The worker's ŵ (wire precision 32): whole frames reset it, diffs add to it, a diff first is refused. */

const N = 100;
const model = (idx: number[], val: number[], diff?: true): Model => ({
  t: 'model',
  k: 0,
  gamma: 1,
  p: 1,
  w: { n: N, idx: Uint32Array.from(idx), val: Float64Array.from(val) },
  ...(diff ? { diff } : {}),
});

describe('HeldModel', () => {
  it('a diff before any whole model since the assign is the master’s fault (E_STATE)', () => {
    const h = new HeldModel();
    let err: unknown;
    try {
      h.receive(model([1], [0.5], true));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('E_STATE');
    expect((err as ProtocolError).message).toContain('model.diff = true before a whole model');
  });

  it('whole, then diffs: sums on the union, exact zeros dropped, a whole frame resets', () => {
    const h = new HeldModel();
    const view = (v: { idx: Uint32Array; val: Float64Array }) => [Array.from(v.idx), Array.from(v.val)];
    expect(view(h.receive(model([2, 5, 9], [1, 0, -2])))).toEqual([
      [2, 9],
      [1, -2],
    ]);
    expect(view(h.receive(model([0, 2, 9], [0.25, -1, 0.5], true)))).toEqual([
      [0, 9],
      [0.25, -1.5],
    ]);
    expect(view(h.receive(model([9, 50], [1.5, 3], true)))).toEqual([
      [0, 50],
      [0.25, 3],
    ]);
    expect(view(h.receive(model([7], [4])))).toEqual([[7], [4]]);
  });
});
