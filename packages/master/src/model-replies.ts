import type { SparseVector } from '@soda/core';
import { applyModelDiff, heldModel, modelDiff, type Model } from '@soda/protocol';

/**
 * The model frames of a run: with wire precision 64, w itself (doubles, as always); with 32, per
 * connected worker the model ŵ it holds (DESIGN.md, "Wire precision 32"). The first frame after an
 * assign (a new worker, a take-over, a restart, a resumed master) is the whole w in doubles and makes
 * ŵ = w; each later one carries d = f32(w − ŵ) on supp(w) ∪ supp(ŵ) without its exact zeros, and both
 * ends set ŵ ← ŵ + d (applyModelDiff). What is left, w − ŵ, is at most 2⁻²⁴ of what w moved since the
 * last reply, so it shrinks as the run converges. Memory: Σ over workers of |supp ŵ| ≤ |supp w| + the
 * few coordinates that have just left it; nothing of size n.
 */
export class ModelReplies {
  private readonly held = new Map<number, SparseVector>();

  constructor(readonly wirePrecision: 32 | 64) {}

  /** Workers whose ŵ is kept (tests, memory accounting). */
  get size(): number {
    return this.held.size;
  }

  /** The ŵ connection `conn` holds, if any (tests). */
  heldBy(conn: number): SparseVector | undefined {
    return this.held.get(conn);
  }

  /** `conn` was sent an assign, or left: its next model is whole. */
  forget(conn: number): void {
    this.held.delete(conn);
  }

  /**
   * The model frame for `conn` at w (w may be the model's live view: the frame is encoded before the
   * next event changes it; ŵ is always a copy).
   */
  frame(conn: number, head: Omit<Model, 't' | 'w' | 'diff' | 'valBits'>, w: SparseVector): Model {
    if (this.wirePrecision === 64) return { t: 'model', ...head, w };
    const hat = this.held.get(conn);
    const d = hat === undefined ? null : modelDiff(w, hat);
    if (hat === undefined || d === null) {
      this.held.set(conn, heldModel(w));
      return { t: 'model', ...head, w, valBits: 32 };
    }
    this.held.set(conn, applyModelDiff(hat, d));
    return { t: 'model', ...head, w: d, diff: true, valBits: 32 };
  }
}
