import { l1Weight, softThreshold } from '@soda/core';
import { conjugateGradient, curvatureWeights, hessianDiagonal, hessianVector } from './curvature';
import type { FirstOrder, Point, Problem } from './problem';
import { evaluatePoint } from './problem';

/*
 * Two of the reference solver's steps (the third, proximal Newton, is in proxnewton.ts).
 *
 * Reduced-space orthant Newton step (the subspace step of FaRSA, Chen, Curtis & Robinson 2017, with an
 * exact Hessian): on the support S = supp(w), each coordinate keeps the orthant s_j = sign(w_j); inside
 * it F = f + λ1 sᵀw is smooth with gradient v_S, so the Newton direction solves H_SS d = −v_S by CG with
 * exact Hessian-vector products. The line search projects w + αd back onto the orthant (coordinates
 * crossing zero are set to 0, so the support can only shrink, many coordinates at once) and asks for
 * Armijo decrease on F. Once the support of w* is found, these steps converge quadratically.
 *
 * Prox-gradient (ISTA) step with backtracking: the last resort when both Newton steps fail; it always
 * decreases F, so the solver cannot stall on a bad model.
 *
 * All steps accept a decrease below the rounding noise of F (`noiseF`): near w* the decrease
 * ‖v‖²/(2L) drops under one ulp of F long before ‖v‖∞ reaches 1e−13, and from then on the
 * certificate, not F, judges progress (the driver keeps the best-certified point).
 */

const ARMIJO = 1e-4;
const MAX_HALVINGS = 60;

export interface StepResult {
  readonly point: Point;
  readonly kind: 'newton' | 'prox-newton' | 'ista';
  readonly stepLength: number;
  readonly workingSet: number;
  /** CG iterations (newton) or coordinate-descent passes (prox-newton); 0 for ista. */
  readonly inner: number;
  readonly evaluations: number;
}

export interface NewtonOptions {
  /** CG stops at ‖residual‖₂ ≤ rtol·‖v_W‖₂ (the forcing term of an inexact Newton method). */
  readonly rtol: number;
  readonly maxCg: number;
  readonly noiseF: number;
}

export function newtonStep(P: Problem, p: Point, fo: FirstOrder, opts: NewtonOptions): StepResult | null {
  const { w } = p;
  const { v } = fo;
  let count = 0;
  for (let j = 0; j < P.n; j++) if (w[j] !== 0) count++;
  if (count === 0) return null;
  const W = new Uint32Array(count);
  const sign = new Float64Array(count);
  const b = new Float64Array(count);
  for (let j = 0, t = 0; j < P.n; j++) {
    if (w[j] === 0) continue;
    W[t] = j;
    sign[t] = Math.sign(w[j]);
    b[t++] = -v[j];
  }

  const D = curvatureWeights(p.z, P.y);
  const diag = hessianDiagonal(P.Xc, D, P.lambda2, W);
  const u = new Float64Array(P.m);
  const cg = conjugateGradient(
    (q, out) => hessianVector(P.Xc, D, P.lambda2, W, q, u, out),
    b,
    diag,
    opts.rtol,
    opts.maxCg,
  );
  const d = cg.x;
  let slope = 0; // vᵀd
  for (let t = 0; t < count; t++) slope -= b[t] * d[t];
  if (!(slope < 0)) return null;

  const trial = Float64Array.from(w);
  let alpha = 1;
  for (let k = 1; k <= MAX_HALVINGS; k++) {
    let pred = 0; // vᵀ(w(α) − w): the model decrease of the projected step
    let moved = false;
    for (let t = 0; t < count; t++) {
      const j = W[t];
      let x = w[j] + alpha * d[t];
      if (j < P.unpenalizedFrom && x * sign[t] <= 0) x = 0; // the intercept may change sign
      if (x !== w[j]) moved = true;
      trial[j] = x;
      pred -= b[t] * (x - w[j]);
    }
    if (!moved) return null;
    const next = evaluatePoint(P, trial, W);
    if (next.F <= p.F + ARMIJO * pred + opts.noiseF) {
      return {
        point: next,
        kind: 'newton',
        stepLength: alpha,
        workingSet: count,
        inner: cg.iterations,
        evaluations: k,
      };
    }
    alpha *= 0.5;
  }
  return null;
}

export interface IstaState {
  /** Current estimate of the smoothness constant L of f; adapted by backtracking. */
  L: number;
  /** A proven lower bound of L: the estimate never drops below it. */
  readonly Lmin: number;
}

/** w⁺ = prox_{λ1/L}(w − ∇f(w)/L), L doubled until f(w⁺) ≤ f(w) + ∇f(w)ᵀΔ + (L/2)‖Δ‖². */
export function istaStep(
  P: Problem,
  p: Point,
  fo: FirstOrder,
  state: IstaState,
  noiseF: number,
): StepResult | null {
  const { w } = p;
  const { g } = fo;
  const trial = new Float64Array(P.n);
  for (let k = 1; k <= MAX_HALVINGS; k++) {
    const gamma = 1 / state.L;
    let lin = 0;
    let sq = 0;
    for (let j = 0; j < P.n; j++) {
      const l1 = l1Weight(j, P.lambda1, P.unpenalizedFrom);
      const x = softThreshold(w[j] - gamma * g[j], gamma * l1);
      trial[j] = x;
      const dj = x - w[j];
      lin += g[j] * dj;
      sq += dj * dj;
    }
    if (sq === 0) return null;
    const next = evaluatePoint(P, trial, P.allCoords);
    if (next.f <= p.f + lin + 0.5 * state.L * sq + noiseF) {
      state.L = Math.max(0.5 * state.L, state.Lmin); // let the next fallback try a longer step first
      return { point: next, kind: 'ista', stepLength: gamma, workingSet: P.n, inner: 0, evaluations: k };
    }
    state.L *= 2;
  }
  return null;
}
