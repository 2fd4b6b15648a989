import { Rng, SodaError } from '@soda/core';
import { BuildInfo, RowSink, emit } from './sink';

/**
 * Guyon's MADELON process (NIPS 2003 feature selection challenge), the same construction as
 * scikit-learn's make_classification(n_informative=5, n_redundant=15, n_repeated=0,
 * n_clusters_per_class=16, hypercube=True):
 *
 *  - 32 Gaussian clusters sit on the 32 vertices of a 5-dimensional hypercube of side 2·classSep;
 *    the vertices are shuffled and cluster k gets label +1 when k is even, −1 when odd (16 each);
 *  - a point of cluster k has informative features u = z·A_k + c_k, z ~ N(0, I₅), A_k ∈ U[−1,1]^{5×5}
 *    (covariance), c_k the vertex;
 *  - 15 redundant features r = u·B, B ∈ U[−1,1]^{5×15} (exact linear combinations of u);
 *  - cols − 20 noise features ("probes") ~ N(0, 1);
 *  - `flipY` of the labels are flipped (the same number in each class, so the classes stay balanced;
 *    scikit-learn instead redraws labels at random, which unbalances them);
 *  - every feature f is shifted and scaled, v_f = offset + s_f·(x_f + h_f), h_f ∈ U[−classSep, classSep],
 *    s_f log-uniform in [2, 20]; with offset 480 the columns look like the original's 0–999 coding
 *    (values around 480, spreads from a few units to ~100), which after max-abs column scaling makes
 *    every column nearly constant and the problem as ill-conditioned as the paper's madelon. The
 *    original also rounds to integers; we do not, so the redundant features stay exact combinations;
 *  - rows and columns come out in random order (`MadelonInfo` says where the relevant ones went).
 */
export interface MadelonOptions {
  readonly seed: number;
  /** Examples m (default 2000, as the challenge's training set). */
  readonly rows?: number;
  /** Features n ≥ 20 (default 500: 5 informative + 15 redundant + 480 probes). */
  readonly cols?: number;
  /** Half the hypercube's side (default 1). */
  readonly classSep?: number;
  /** Fraction of labels flipped (default 0.01). */
  readonly flipY?: number;
  /** Baseline added to every feature (default 480, as the original; 0 gives centred data). */
  readonly offset?: number;
}

export interface MadelonInfo extends BuildInfo {
  /** Output columns of the 5 informative features. */
  readonly informative: readonly number[];
  /** Output columns of the 15 redundant features (affine functions of the informative columns). */
  readonly redundant: readonly number[];
  /** Number of flipped labels. */
  readonly flipped: number;
}

const INFORMATIVE = 5;
const REDUNDANT = 15;
const RELEVANT = INFORMATIVE + REDUNDANT;
const CLUSTERS = 2 ** INFORMATIVE; // 16 per class, one per vertex
const SPREAD_MIN = 2;
const SPREAD_MAX = 20;

/** Streams a madelon-like dataset into `sink`, one dense row at a time (O(cols) memory per row). */
export async function generateMadelon(opts: MadelonOptions, sink: RowSink): Promise<MadelonInfo> {
  const rows = opts.rows ?? 2000;
  const cols = opts.cols ?? 500;
  const classSep = opts.classSep ?? 1;
  const flipY = opts.flipY ?? 0.01;
  const offset = opts.offset ?? 480;
  checkOptions(rows, cols, classSep, flipY, offset);
  const rng = new Rng(opts.seed);

  const centroids = hypercubeVertices(rng, classSep);
  const A = uniformMatrix(rng, CLUSTERS, INFORMATIVE * INFORMATIVE);
  const B = uniformMatrix(rng, 1, INFORMATIVE * REDUNDANT)[0];
  const shift = new Float64Array(cols);
  const scale = new Float64Array(cols);
  for (let f = 0; f < cols; f++) {
    shift[f] = (2 * rng.next() - 1) * classSep;
    scale[f] = SPREAD_MIN * Math.pow(SPREAD_MAX / SPREAD_MIN, rng.next());
  }
  // perm[c] = internal feature shown in output column c.
  const perm = rng.shuffle(Uint32Array.from({ length: cols }, (_, f) => f));
  const cluster = rng.shuffle(Uint8Array.from({ length: rows }, (_, i) => i % CLUSTERS));
  const labels = Float64Array.from(cluster, (k) => (k % 2 === 0 ? 1 : -1));
  const flipped = flipBalanced(rng, labels, flipY);

  const x = new Float64Array(cols); // internal order
  const z = new Float64Array(INFORMATIVE);
  const idx = new Uint32Array(cols);
  const val = new Float64Array(cols);
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const k = cluster[i];
    for (let a = 0; a < INFORMATIVE; a++) z[a] = rng.normal();
    // u = z·A_k + c_k
    for (let b = 0; b < INFORMATIVE; b++) {
      let s = centroids[k][b];
      for (let a = 0; a < INFORMATIVE; a++) s += z[a] * A[k][a * INFORMATIVE + b];
      x[b] = s;
    }
    // r = u·B
    for (let r = 0; r < REDUNDANT; r++) {
      let s = 0;
      for (let a = 0; a < INFORMATIVE; a++) s += x[a] * B[a * REDUNDANT + r];
      x[INFORMATIVE + r] = s;
    }
    for (let f = RELEVANT; f < cols; f++) x[f] = rng.normal();
    let nz = 0;
    for (let c = 0; c < cols; c++) {
      const f = perm[c];
      const v = offset + scale[f] * (x[f] + shift[f]);
      if (v !== 0) {
        idx[nz] = c;
        val[nz++] = v;
      }
    }
    total += nz;
    await emit(sink, labels[i], idx.subarray(0, nz), val.subarray(0, nz));
  }

  const column = new Uint32Array(cols); // column[f] = output column of internal feature f
  for (let c = 0; c < cols; c++) column[perm[c]] = c;
  return {
    rows,
    cols,
    nnz: total,
    informative: Array.from(column.subarray(0, INFORMATIVE)),
    redundant: Array.from(column.subarray(INFORMATIVE, RELEVANT)),
    flipped,
  };
}

function checkOptions(rows: number, cols: number, classSep: number, flipY: number, offset: number): void {
  if (!Number.isInteger(rows) || rows < 2)
    throw new SodaError('E_CONFIG', `madelon: rows must be an integer ≥ 2, got ${rows}`);
  if (!Number.isInteger(cols) || cols < RELEVANT)
    throw new SodaError('E_CONFIG', `madelon: cols must be an integer ≥ ${RELEVANT}, got ${cols}`);
  if (!(classSep > 0) || !Number.isFinite(classSep))
    throw new SodaError('E_CONFIG', `madelon: classSep must be a positive number, got ${classSep}`);
  if (!(flipY >= 0 && flipY <= 1))
    throw new SodaError('E_CONFIG', `madelon: flipY must be in [0, 1], got ${flipY}`);
  if (!Number.isFinite(offset))
    throw new SodaError('E_CONFIG', `madelon: offset must be a finite number, got ${offset}`);
}

/** The 32 vertices of [−classSep, classSep]^5, in random order (so the labelling is random). */
function hypercubeVertices(rng: Rng, classSep: number): Float64Array[] {
  const order = rng.shuffle(Uint32Array.from({ length: CLUSTERS }, (_, v) => v));
  return Array.from(order, (v) =>
    Float64Array.from({ length: INFORMATIVE }, (_, b) => ((v >> b) & 1 ? classSep : -classSep)),
  );
}

function uniformMatrix(rng: Rng, count: number, size: number): Float64Array[] {
  return Array.from({ length: count }, () => Float64Array.from({ length: size }, () => 2 * rng.next() - 1));
}

/** Flips round(flipY·m/2) labels in each class; returns how many were flipped in all. */
function flipBalanced(rng: Rng, labels: Float64Array, flipY: number): number {
  const perClass = Math.round((flipY * labels.length) / 2);
  // Both classes are listed before any flip, so a flipped row is never flipped back.
  const classes: number[][] = [[], []];
  for (let i = 0; i < labels.length; i++) classes[labels[i] === 1 ? 0 : 1].push(i);
  let flipped = 0;
  for (const members of classes) {
    const take = Math.min(perClass, members.length);
    // Partial Fisher–Yates: the first `take` members of a random permutation.
    for (let t = 0; t < take; t++) {
      const s = t + rng.int(members.length - t);
      const tmp = members[t];
      members[t] = members[s];
      members[s] = tmp;
    }
    for (let t = 0; t < take; t++) labels[members[t]] = -labels[members[t]];
    flipped += take;
  }
  return flipped;
}
