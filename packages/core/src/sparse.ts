/**
 * A sparse vector of dimension n. Invariants (checked by `sparseViolation` wherever a vector arrives, relied upon everywhere):
 * idx strictly increasing, every idx < n, idx.length === val.length, every val finite.
 */
export interface SparseVector {
  readonly n: number;
  readonly idx: Uint32Array;
  readonly val: Float64Array;
}

export function emptySparse(n: number): SparseVector {
  return { n, idx: new Uint32Array(0), val: new Float64Array(0) };
}

/** Non-zeros of a dense vector, in index order. */
export function sparseFromDense(x: Float64Array): SparseVector {
  let nnz = 0;
  for (let j = 0; j < x.length; j++) if (x[j] !== 0) nnz++;
  const idx = new Uint32Array(nnz);
  const val = new Float64Array(nnz);
  for (let j = 0, k = 0; j < x.length; j++) {
    if (x[j] !== 0) {
      idx[k] = j;
      val[k++] = x[j];
    }
  }
  return { n: x.length, idx, val };
}

export function sparseToDense(v: SparseVector, out: Float64Array = new Float64Array(v.n)): Float64Array {
  out.fill(0);
  for (let k = 0; k < v.idx.length; k++) out[v.idx[k]] = v.val[k];
  return out;
}

/**
 * Returns null when `v` satisfies the SparseVector invariants, else a sentence naming the first
 * violation (used by the protocol's frame validation, so it must never throw on garbage).
 */
export function sparseViolation(v: { n: number; idx: Uint32Array; val: Float64Array }): string | null {
  const { n, idx, val } = v;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) return `n must be a non-negative integer, got ${n}`;
  if (idx.length !== val.length)
    return `idx has ${idx.length} entries but val has ${val.length}; they must have the same length`;
  // Fast pass (every frame from a worker goes through here): one branch per entry, no messages.
  // x − x is 0 exactly for finite x (NaN for ±∞ and NaN).
  const len = idx.length;
  let good = -1;
  for (let k = 0; k < len; k++) {
    const j = idx[k];
    const x = val[k];
    if (j <= good || j >= n || x - x !== 0) break;
    good = j;
    if (k === len - 1) return null;
  }
  if (len === 0) return null;
  // Something is wrong: find the first violation again and say what it is.
  let prev = -1;
  for (let k = 0; k < idx.length; k++) {
    const j = idx[k];
    if (j <= prev)
      return `idx[${k}] = ${j} is not greater than idx[${k - 1}] = ${prev}; indices must be strictly increasing`;
    if (j >= n) return `idx[${k}] = ${j} is out of range for dimension n = ${n}`;
    if (!Number.isFinite(val[k])) return `val[${k}] = ${val[k]} is not finite`;
    prev = j;
  }
  return null;
}

/**
 * lowerBound(a, j, from, len) found by galloping from `from` (steps 1, 2, 4, … then a bisection of the
 * last step), for sorted walks: O(log gap) where a search of all of a[from, len) costs log(len − from).
 * Requires a[t] < j for t < from.
 */
export function gallop(a: Uint32Array, j: number, from: number, len = a.length): number {
  // a short linear probe first: a sorted Δ against cols_i mostly moves a few places, where the
  // doubling and bisection below mispredict a branch per step (measured ~4× dearer at a gap of 5)
  const near = from + 8 < len ? from + 8 : len;
  for (; from < near; from++) if (a[from] >= j) return from;
  let lo = from; // a[t] < j for t < from
  let hi = from;
  for (let step = 1; hi < len && a[hi] < j; step *= 2) {
    lo = hi + 1;
    hi += step;
  }
  return lowerBound(a, j, lo, hi < len ? hi : len);
}

/**
 * Whether a dense index of positions over all n coordinates (4n bytes: `positionIndex`) stays within
 * twice what a list of `count` columns already costs where it is used (4 bytes an index + 8 a value):
 * n ≤ 6·count. Then a sorted walk's O(log gap) search becomes one load (≈ 2 ns against 20–45 ns a
 * coordinate on spam, whose shards hold a quarter of the columns), and memory stays O(count), never
 * O(M·n): a shard with few columns of a large n keeps the sorted-list search.
 */
export function densePositionsFit(n: number, count: number): boolean {
  return n <= 6 * count;
}

/** pos[j] = t where cols[t] = j, −1 off cols (cols strictly increasing, < n): O(n). */
export function positionIndex(cols: Uint32Array, n: number): Int32Array {
  const pos = new Int32Array(n).fill(-1);
  for (let t = 0; t < cols.length; t++) pos[cols[t]] = t;
  return pos;
}

/** The first position t in [from, to) with a[t] ≥ j in a sorted a (`to` when none): a lower bound. */
export function lowerBound(a: Uint32Array, j: number, from = 0, to = a.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < j) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
