import {
  denseCoefficients,
  logLoss,
  sigmoid,
  SodaError,
  type CsrMatrix,
  type Dataset,
  type ModelFile,
} from '@soda/core';

/** What `soda predict` prints. AUC is null when the data holds one class only. */
export interface Scores {
  readonly m: number;
  readonly accuracy: number;
  readonly logLoss: number;
  readonly auc: number | null;
}

/** σ is the loss module's (@soda/core), re-exported for the streaming scorer. */
export { sigmoid };

/**
 * The margin above which the label is +1: σ(z) > t ⇔ z > log(t/(1 − t)). Comparing margins, not
 * rounded probabilities, keeps labels identical to LIBLINEAR's (z > 0) where σ(z) rounds to 0.5.
 */
export function logit(t: number): number {
  return t <= 0 ? -Infinity : t >= 1 ? Infinity : Math.log(t / (1 - t));
}

/**
 * z_i = Σ_j coef_j x_ij + intercept for raw (unscaled) rows: a v2 model holds its weights in the
 * original feature space. Features past the model's n were never seen in training: weight 0.
 * `coef` is denseCoefficients(model) (passed in so a stream computes it once).
 */
export function marginsOf(
  model: ModelFile,
  X: CsrMatrix,
  coef: Float64Array = denseCoefficients(model),
  firstRow = 0,
  file = 'the data',
): Float64Array {
  const z = new Float64Array(X.rows);
  const n = model.n;
  for (let i = 0; i < X.rows; i++) {
    let s = model.intercept;
    for (let k = X.ptr[i], end = X.ptr[i + 1]; k < end; k++) if (X.ind[k] < n) s += X.val[k] * coef[X.ind[k]];
    if (!Number.isFinite(s))
      throw new SodaError(
        'E_DATA',
        `${file}: the score of row ${firstRow + i + 1} is ${s}: non-finite data?`,
        {
          row: firstRow + i + 1,
        },
      );
    z[i] = s;
  }
  return z;
}

/**
 * ROC AUC by the rank (Mann–Whitney U) formula: AUC = (R₊ − P(P+1)/2) / (P·N), R₊ the sum of
 * the positives' ranks among all scores, tied scores sharing their average rank (a tie counts ½).
 * O(m log m), not the O(P·N) pairwise count.
 */
export function rocAuc(scores: Float64Array, y: Float64Array): number | null {
  const m = scores.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let s = 0; s < m;) {
    let e = s;
    while (e + 1 < m && scores[order[e + 1]] === scores[order[s]]) e++;
    const rank = (s + 1 + (e + 1)) / 2; // average of ranks s+1 … e+1
    for (let t = s; t <= e; t++) {
      if (y[order[t]] > 0) {
        positives++;
        rankSum += rank;
      }
    }
    s = e + 1;
  }
  const negatives = m - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Accuracy (probability > threshold → +1, as LIBLINEAR and scikit-learn break ties), mean log-loss and AUC of labelled margins. */
export function scoresOf(z: Float64Array, y: Float64Array, threshold = 0.5): Scores {
  const m = z.length;
  if (m === 0) throw new SodaError('E_DATA', 'the data to score has no rows');
  const cut = logit(threshold);
  let correct = 0;
  let loss = 0;
  let c = 0;
  for (let i = 0; i < m; i++) {
    if ((z[i] > cut ? 1 : -1) === y[i]) correct++;
    const v = logLoss(y[i] * z[i]);
    const t = loss + v;
    c += Math.abs(loss) >= Math.abs(v) ? loss - t + v : v - t + loss;
    loss = t;
  }
  return { m, accuracy: correct / m, logLoss: (loss + c) / m, auc: rocAuc(z, y) };
}

/** Scores a labelled raw dataset held in memory (the streaming path is predict/stream.ts). */
export function scoreModel(model: ModelFile, ds: Dataset, threshold = 0.5): Scores {
  const m = ds.X.rows;
  if (m === 0) throw new SodaError('E_DATA', 'the data to score has no rows');
  if (ds.y.length !== m)
    throw new SodaError('E_DATA', `the data has ${m} rows but ${ds.y.length} labels`, { rows: m });
  for (let i = 0; i < m; i++)
    if (ds.y[i] !== 1 && ds.y[i] !== -1)
      throw new SodaError('E_DATA', `label of row ${i + 1} is ${ds.y[i]}; expected +1 or −1`, { row: i + 1 });
  return scoresOf(marginsOf(model, ds.X), ds.y, threshold);
}
