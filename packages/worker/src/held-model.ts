import type { SparseVector } from '@soda/core';
import { applyModelDiff, heldModel, ProtocolError, type Model } from '@soda/protocol';

/**
 * Wire precision 32: the model ŵ this worker holds, the one it steps from. A whole model frame sets
 * it (a reset: after every assign the first one is whole); a `diff` frame adds to it exactly as the
 * master added to its copy (applyModelDiff), so both hold the same ŵ bit for bit. O(|supp ŵ|).
 */
export class HeldModel {
  private w: SparseVector | null = null;

  /** ŵ after `msg`; a diff with nothing to add it to is the master's fault. */
  receive(msg: Model): SparseVector {
    if (msg.diff !== true) return (this.w = heldModel(msg.w));
    if (this.w === null)
      throw new ProtocolError(
        'E_STATE',
        'model.diff = true before a whole model since the assign: there is nothing to add it to',
        'diff',
      );
    return (this.w = applyModelDiff(this.w, msg.w));
  }
}
