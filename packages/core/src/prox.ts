/*
 * The proximal operator of r = λ1‖·‖₁ with step γ: prox_{γr}(v) = sign(v)·max(|v| − γλ1, 0)
 * (soft-thresholding), applied coordinate-wise.
 */

/** Soft-threshold of one scalar: sign(v)·max(|v| − t, 0). */
export function softThreshold(v: number, t: number): number {
  if (v > t) return v - t;
  if (v < -t) return v + t;
  return 0;
}

/** out = prox_{t‖·‖₁}(v) for dense vectors (out may alias v). */
export function proxL1(
  v: Float64Array,
  t: number,
  out: Float64Array = new Float64Array(v.length),
): Float64Array {
  for (let j = 0; j < v.length; j++) out[j] = softThreshold(v[j], t);
  return out;
}

/** Count of non-zeros of a dense vector. */
export function countNonZeros(w: ArrayLike<number>): number {
  let c = 0;
  for (let j = 0; j < w.length; j++) if (w[j] !== 0) c++;
  return c;
}
