import {
  applyScale,
  correctFromMargins,
  lossFromMargins,
  marginsCsr,
  SodaError,
  type Dataset,
} from '@soda/core';
import type { ModelFile } from '@soda/core';

/** What `soda predict` prints. AUC is null when the data holds one class only. */
export interface Scores {
  readonly m: number;
  readonly accuracy: number;
  readonly logLoss: number;
  readonly auc: number | null;
}

/**
 * Dense w of length max(n, cols): a feature the model never saw (a column past n) has weight 0,
 * which is exactly what the model predicts with.
 */
function denseWeights(model: ModelFile, cols: number): Float64Array {
  const w = new Float64Array(Math.max(model.n, cols));
  for (let t = 0; t < model.idx.length; t++) w[model.idx[t]] = model.val[t];
  return w;
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

/**
 * Scores raw (unscaled) data with a trained model: the model's stored max-abs divisors are applied
 * first, so the data is seen as in training; columns the training data did not have are dropped.
 */
export function scoreModel(model: ModelFile, ds: Dataset): Scores {
  const m = ds.X.rows;
  if (m === 0) throw new SodaError('E_DATA', 'the data to score has no rows');
  if (ds.y.length !== m)
    throw new SodaError('E_DATA', `the data has ${m} rows but ${ds.y.length} labels`, { rows: m });
  for (let i = 0; i < m; i++)
    if (ds.y[i] !== 1 && ds.y[i] !== -1)
      throw new SodaError('E_DATA', `label of row ${i + 1} is ${ds.y[i]}; expected +1 or −1`, { row: i + 1 });
  const X = model.scale ? applyScale(ds.X, Float64Array.from(model.scale), { truncate: true }) : ds.X;
  const z = marginsCsr(X, denseWeights(model, X.cols));
  for (let i = 0; i < m; i++)
    if (!Number.isFinite(z[i]))
      throw new SodaError('E_DATA', `the score of row ${i + 1} is ${z[i]}: non-finite data?`, { row: i + 1 });
  return {
    m,
    accuracy: correctFromMargins(z, ds.y) / m,
    logLoss: lossFromMargins(z, ds.y),
    auc: rocAuc(z, ds.y),
  };
}
