import {
  type CscMatrix,
  csrToCsc,
  type Dataset,
  gradientOnCoords,
  l1PenaltySparse,
  lossFromMargins,
  lossResiduals,
  marginsCsc,
  squaredNorm,
} from '@soda/core';
import { minNormSubgradient, normInf } from './kkt';

/*
 * The data of one solve (CSC copy of X, λ's, scratch buffers) and the evaluation of a point:
 * F(w) = loss + (λ2/2)‖w‖² + λ1‖w‖₁ with compensated sums, margins always recomputed from the
 * support (no incremental drift), and the full gradient / KKT residual.
 */

export interface Problem {
  readonly Xc: CscMatrix;
  readonly y: Float64Array;
  readonly m: number;
  readonly n: number;
  readonly lambda1: number;
  readonly lambda2: number;
  /** Coordinates j ≥ this are not ℓ1-penalised (the intercept); n when every one is. */
  readonly unpenalizedFrom: number;
  readonly allCoords: Uint32Array;
  /** m-long scratch for the loss terms. */
  readonly scratch: Float64Array;
}

export function makeProblem(
  ds: Dataset,
  lambda1: number,
  lambda2: number,
  unpenalizedFrom = ds.X.cols,
): Problem {
  const n = ds.X.cols;
  const allCoords = new Uint32Array(n);
  for (let j = 0; j < n; j++) allCoords[j] = j;
  return {
    Xc: csrToCsc(ds.X),
    y: ds.y,
    m: ds.X.rows,
    n,
    lambda1,
    lambda2,
    unpenalizedFrom,
    allCoords,
    scratch: new Float64Array(ds.X.rows),
  };
}

/** A sparse view of w: its non-zero coordinates (sorted) and values. */
export interface Support {
  readonly idx: Uint32Array;
  readonly val: Float64Array;
}

/** The non-zeros of w among `coords` (all of supp(w) must lie in coords). */
export function supportWithin(w: Float64Array, coords: Uint32Array): Support {
  let count = 0;
  for (let t = 0; t < coords.length; t++) if (w[coords[t]] !== 0) count++;
  const idx = new Uint32Array(count);
  const val = new Float64Array(count);
  let k = 0;
  for (let t = 0; t < coords.length; t++) {
    const j = coords[t];
    if (w[j] !== 0) {
      idx[k] = j;
      val[k++] = w[j];
    }
  }
  return { idx, val };
}

/** A point with its margins and objective split as f = loss + ridge, F = f + l1. */
export interface Point {
  readonly w: Float64Array;
  readonly z: Float64Array;
  readonly loss: number;
  readonly ridge: number;
  readonly l1: number;
  /** f(w): the smooth part. */
  readonly f: number;
  /** F(w) = f(w) + λ1‖w‖₁. */
  readonly F: number;
}

/** Evaluate w whose support lies in `coords` (pass P.allCoords when unknown). O(nnz(X[:, supp w]) + m). */
export function evaluatePoint(P: Problem, w: Float64Array, coords: Uint32Array): Point {
  const s = supportWithin(w, coords);
  const z = marginsCsc(P.Xc, s.idx, s.val);
  const loss = lossFromMargins(z, P.y, P.scratch);
  const ridge = 0.5 * P.lambda2 * squaredNorm(s.val);
  const l1 = l1PenaltySparse(s.idx, s.val, P.lambda1, P.unpenalizedFrom);
  const f = loss + ridge;
  return { w, z, loss, ridge, l1, f, F: f + l1 };
}

/** First-order information at a point: ∇f, the minimum-norm subgradient v and ‖v‖∞. */
export interface FirstOrder {
  readonly g: Float64Array;
  readonly v: Float64Array;
  readonly certificate: number;
}

/** Full gradient (one pass over X) and KKT residual at p. */
export function firstOrder(P: Problem, p: Point): FirstOrder {
  const r = lossResiduals(p.z, P.y);
  const g = gradientOnCoords(P.Xc, r, P.allCoords, p.w, P.lambda2);
  const v = minNormSubgradient(g, p.w, P.lambda1, undefined, P.unpenalizedFrom);
  return { g, v, certificate: normInf(v) };
}

/**
 * A lower bound of the smoothness constant L of f: max_j ‖X[:, j]‖²/(4m) + λ2 (a diagonal entry of
 * the worst-case Hessian). The prox-gradient fallback starts its backtracking here.
 */
export function smoothnessLowerBound(P: Problem): number {
  const { ptr, val } = P.Xc;
  let best = 0;
  for (let j = 0; j < P.n; j++) {
    let s = 0;
    for (let k = ptr[j], end = ptr[j + 1]; k < end; k++) s += val[k] * val[k];
    if (s > best) best = s;
  }
  return best / (4 * P.m) + P.lambda2;
}
