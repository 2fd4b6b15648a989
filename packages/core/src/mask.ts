import type { Rng } from './rng';

// Module-level references: a global lookup per call is slow inside jest's vm sandbox.
const { log, log1p, floor } = Math;

/**
 * The sparsity mask M_p of Algorithm 1: every j ∈ supp(w), plus each other coordinate independently
 * with probability p. The Bernoulli(p) process over 0..n−1 is walked with geometric skips, so the cost
 * is O(|supp| + p·n) rather than n coin flips; the result is the sorted union.
 *
 * `supp` must be sorted strictly increasing. `out` (length ≥ n, or ≥ |supp| + expected draws) is
 * reused across steps to keep the worker's hot path allocation-free; the returned view aliases it.
 */
export function sampleMask(
  supp: Uint32Array,
  n: number,
  p: number,
  rng: Rng,
  out: Uint32Array = new Uint32Array(n),
): Uint32Array {
  if (p >= 1) {
    for (let j = 0; j < n; j++) out[j] = j;
    return out.subarray(0, n);
  }
  const logq = log1p(-p);
  let count = 0;
  let s = 0; // position in supp
  // First Bernoulli success at or after position 0.
  let next = p > 0 ? geometricSkip(rng, logq) : n;
  while (next < n || s < supp.length) {
    const j = s < supp.length ? supp[s] : n;
    if (next < j) {
      out[count++] = next;
      next += 1 + geometricSkip(rng, logq);
    } else {
      out[count++] = j;
      s++;
      if (next === j) next += 1 + geometricSkip(rng, logq);
    }
    if (next > n) next = n;
  }
  return out.subarray(0, count);
}

/**
 * Number of failures before the next success of a Bernoulli(p) process: ⌊log U / log(1−p)⌋.
 * Exported for the worker, which walks the same process without materialising the mask (worker/local-step.ts).
 */
export function geometricSkip(rng: Rng, logq: number): number {
  // One 32-bit draw is enough resolution for a skip length and halves the cost of the hot path.
  const u = (rng.nextU32() + 1) / 4294967296; // (0, 1]
  const k = floor(log(u) / logq);
  return k < 0x7fffffff ? k : 0x7fffffff;
}
