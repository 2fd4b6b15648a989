import type { SparseVector } from '@soda/core';
import { applyModelDiffInto, heldModel, ProtocolError, type Model } from '@soda/protocol';

interface Buffers {
  readonly idx: Uint32Array;
  readonly val: Float64Array;
}

/**
 * Wire precision 32: the model ŵ this worker holds, the one it steps from. A whole model frame sets
 * it (a reset: after every assign the first one is whole); a `diff` frame adds to it exactly as the
 * master added to its copy (applyModelDiff), so both hold the same ŵ bit for bit. O(|supp ŵ|): ŵ lives
 * in one pair of buffers and the next ŵ is built in the other.
 */
export class HeldModel {
  private w: SparseVector | null = null;
  /** the buffers ŵ is in, and the spare pair */
  private cur: Buffers = { idx: new Uint32Array(0), val: new Float64Array(0) };
  private spare: Buffers = { idx: new Uint32Array(0), val: new Float64Array(0) };

  /**
   * ŵ after `msg` (a view, valid until the next call but one: the step reads it at once); a diff with
   * nothing to add it to is the master's fault.
   */
  receive(msg: Model): SparseVector {
    if (msg.diff !== true) {
      const w = heldModel(msg.w);
      this.cur = w;
      return (this.w = w);
    }
    const hat = this.w;
    if (hat === null)
      throw new ProtocolError(
        'E_STATE',
        'model.diff = true before a whole model since the assign: there is nothing to add it to',
        'diff',
      );
    const cap = hat.idx.length + msg.w.idx.length;
    if (this.spare.idx.length < cap) {
      const size = cap + (cap >> 2);
      this.spare = { idx: new Uint32Array(size), val: new Float64Array(size) };
    }
    const next = this.spare;
    const len = applyModelDiffInto(hat, msg.w, next.idx, next.val);
    this.spare = this.cur;
    this.cur = next;
    return (this.w = { n: hat.n, idx: next.idx.subarray(0, len), val: next.val.subarray(0, len) });
  }
}
