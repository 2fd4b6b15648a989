import type { Rng } from './rng';

// Module-level references: a global lookup per call is slow inside jest's vm sandbox.
const { log1p } = Math;

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
  const g = p > 0 ? geometricTable(p) : null;
  let count = 0;
  let s = 0; // position in supp
  // First Bernoulli success at or after position 0.
  let next = g !== null ? geometricSkip(rng, g) : n;
  while (next < n || s < supp.length) {
    const j = s < supp.length ? supp[s] : n;
    if (next < j) {
      out[count++] = next;
      next += 1 + geometricSkip(rng, g!);
    } else {
      out[count++] = j;
      s++;
      if (next === j) next += 1 + geometricSkip(rng, g!);
    }
    if (next > n) next = n;
  }
  return out.subarray(0, count);
}

/**
 * The inverse CDF of the skip K ~ Geometric(p) (P(K = k) = (1 − p)^k p, k ≥ 0) on a 32-bit uniform u:
 * K = #{k < m : T_k ≤ u} with T_k = 2³²·(1 − q^(k+1)), q = 1 − p, and when u ≥ T_(m−1) (probability
 * q^m) K is m plus a fresh skip — memorylessness makes that exact. A guide table over u's top bits
 * starts the search next to the answer, so a skip is one draw, one lookup and about one comparison
 * instead of a logarithm. (u is an integer, so P(K = k) is off by at most 2⁻³² — as ⌊log U / log q⌋
 * with a 32-bit U was.)
 */
export interface GeometricTable {
  readonly m: number;
  readonly thresholds: Float64Array;
  readonly guide: Uint16Array;
}

/** Buckets of the guide table: u's top GUIDE_BITS bits. */
const GUIDE_BITS = 10;
/** At most this many thresholds: enough for q^m ≤ 2⁻¹⁰ down to p ≈ 0.0017; smaller p overflow more often. */
const MAX_THRESHOLDS = 4096;
/** Tables by p: a run uses one p (a few more after divergence restarts); bounded, rebuilt if cleared. */
const tables = new Map<number, GeometricTable>();

/** The skip table of Geometric(p), 0 < p < 1 (cached by p). Exported with geometricSkip for the worker, which walks the same process without materialising the mask (worker/local-step.ts). */
export function geometricTable(p: number): GeometricTable {
  const hit = tables.get(p);
  if (hit !== undefined) return hit;
  const logq = log1p(-p);
  const m = Math.max(1, Math.min(MAX_THRESHOLDS, Math.ceil((GUIDE_BITS * Math.LN2) / -logq)));
  const thresholds = new Float64Array(m);
  // 1 − q^(k+1) = −expm1((k+1)·log q): no cancellation for small p
  for (let k = 0; k < m; k++) thresholds[k] = 4294967296 * -Math.expm1((k + 1) * logq);
  const guide = new Uint16Array(1 << GUIDE_BITS);
  let k = 0;
  for (let b = 0; b < guide.length; b++) {
    const lo = b * 2 ** (32 - GUIDE_BITS); // smallest u of bucket b
    while (k < m && thresholds[k] <= lo) k++;
    guide[b] = k;
  }
  if (tables.size >= 16) tables.clear();
  const table = { m, thresholds, guide };
  tables.set(p, table);
  return table;
}

/** Number of failures before the next success of a Bernoulli(p) process (small: V8 inlines it). */
export function geometricSkip(rng: Rng, g: GeometricTable): number {
  const u = rng.nextU32();
  let k = g.guide[u >>> (32 - GUIDE_BITS)];
  while (k < g.m && g.thresholds[k] <= u) k++;
  return k < g.m ? k : tailSkip(rng, g);
}

/** K given K ≥ m: m plus a fresh skip (rare: probability q^m ≤ 2⁻¹⁰ unless p < 0.0017). */
function tailSkip(rng: Rng, g: GeometricTable): number {
  let base = g.m;
  for (;;) {
    if (base >= 0x7fffffff) return 0x7fffffff;
    const u = rng.nextU32();
    let k = g.guide[u >>> (32 - GUIDE_BITS)];
    while (k < g.m && g.thresholds[k] <= u) k++;
    if (k < g.m) return Math.min(base + k, 0x7fffffff);
    base += g.m;
  }
}
