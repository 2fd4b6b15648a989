import { type Dataset, smoothValueGrad, softThreshold } from '@soda/core';

/*
 * Optimality of F = f + λ1‖·‖₁ (f smooth, μ-strongly convex with μ = λ2): w* is optimal iff
 * 0 ∈ ∇f(w*) + λ1 ∂‖w*‖₁. The minimum-norm element v of ∂F(w) is
 *   v_j = ∇_j f(w) + λ1 sign(w_j)          if w_j ≠ 0,
 *   v_j = sign(∇_j f)·max(|∇_j f| − λ1, 0)  if w_j = 0,
 * and the certificate the solver reports is ‖v‖∞ (the KKT violation in the ∞-norm).
 */

export const KKT_CERTIFICATE_KIND = 'kkt-inf: ‖minimum-norm subgradient of F‖∞';

/** v = the minimum-norm subgradient of F at w, from g = ∇f(w). */
export function minNormSubgradient(
  g: Float64Array,
  w: Float64Array,
  lambda1: number,
  v: Float64Array = new Float64Array(g.length),
  unpenalizedFrom = g.length,
): Float64Array {
  const end = Math.min(unpenalizedFrom, g.length);
  for (let j = 0; j < end; j++) {
    const wj = w[j];
    v[j] = wj > 0 ? g[j] + lambda1 : wj < 0 ? g[j] - lambda1 : softThreshold(g[j], lambda1);
  }
  for (let j = end; j < g.length; j++) v[j] = g[j]; // unpenalised (intercept): ∂F_j = {∇_j f}
  return v;
}

export function normInf(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) {
    const a = Math.abs(v[j]);
    if (a > s) s = a;
  }
  return s;
}

export function norm2(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return Math.sqrt(s);
}

/**
 * Strong convexity turns a subgradient into an a-posteriori bound: for any v ∈ ∂F(w),
 * F(w) − F* ≤ ‖v‖₂² / (2μ), μ = λ2 (infinite when λ2 = 0).
 */
export function suboptimalityBound(v: Float64Array, lambda2: number): number {
  const s = norm2(v);
  return lambda2 > 0 ? (s * s) / (2 * lambda2) : Infinity;
}

/** The KKT violation ‖v‖∞ of a dense w on the whole dataset (one pass over X). */
export function kktViolation(
  ds: Dataset,
  w: Float64Array,
  lambda1: number,
  lambda2: number,
  unpenalizedFrom = w.length,
): number {
  const { grad } = smoothValueGrad(ds.X, ds.y, w, lambda2);
  return normInf(minNormSubgradient(grad, w, lambda1, grad, unpenalizedFrom));
}
