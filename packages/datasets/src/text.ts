import { Rng, SodaError } from '@soda/core';
import { BuildInfo, RowSink, emit } from './sink';
import { TextModel, TextProfile } from './text-model';

export type { TextProfile };

/**
 * Look-alikes of the paper's text sets (Table 1): same m, n and non-zeros per row, word-like feature
 * frequencies, tf-idf values with unit rows, and labels from a sparse planted model. The originals
 * are LIBSVM files that cannot be downloaded here; these stand in for tests and benchmarks.
 *
 * Row i: its length L_i (distinct features) is lognormal with mean `meanNnz`; it has a topic t drawn
 * uniformly among K; each feature is drawn, without repetition, from topic t's words with probability
 * `topicShare` (Zipf over the topic's own `topicWords` words) and otherwise from the background
 * (P(rank r) ∝ 1/(r + 1 + zipfC)^zipfS; ranks map to columns by a random permutation, so column order
 * says nothing of frequency). Each feature gets a term count tf = 1 + Geometric (mean `tfExtra`) and
 * the value (1 + ln tf)·idf_j (SMART "ltc", as RCV1 itself) with idf_j = ln((1 + m)/(1 + E[df_j])) + 1
 * from the model's expected document frequency; the row is scaled to unit L2 norm.
 *
 * Labels: y = sign(x·w° − t + ε), ε ~ N(0, (scoreNoise·sd(x·w°))²), then flipped with probability
 * `flipRate`. w° has modelFraction·n non-zeros, |N(0,1)| in size, on features of frequency rank in
 * [modelRankLo, modelRankHi·n) ("moderately frequent": not stop words, not hapaxes); a planted word
 * of a topic takes the sign of its topic's class (positiveRate·K topics are positive), other planted
 * words a random sign. Without topics the label is a sum of many weak, independent word effects that
 * an l2-regularised model (λ2 = 1e−3) cannot learn (measured: training error near the base rate);
 * topics make it carried by groups of co-occurring words, as in real text. t comes from a
 * pilot of min(10000, max(1000, m)) rows so that about positiveRate of the labels are +1.
 *
 * The knobs that decide the support of the l1+l2 solution (rcv1 4.1 %, real-sim 8.6 % at
 * λ1 = 1e−4, λ2 = 1e−3 after max-abs column scaling) are zipfS/zipfC (how many features are frequent
 * enough to pay their λ1), the topic knobs and modelFraction (how many carry signal) and
 * scoreNoise/flipRate (how large the residuals stay).
 */
export type TextLike = 'rcv1' | 'real-sim';

/** Shapes from Table 1 (rcv1_train: 1 498 952 non-zeros; real-sim: 3 709 083) and class balance. */
export const TEXT_PROFILES: Readonly<Record<TextLike, TextProfile>> = {
  rcv1: {
    rows: 20242,
    cols: 47236,
    meanNnz: 74.05,
    lengthSigma: 0.7,
    zipfS: 1,
    zipfC: 10,
    topics: 8,
    topicWords: 300,
    topicC: 10,
    topicShare: 0.4,
    tfExtra: 0.8,
    modelFraction: 0.03,
    modelRankLo: 20,
    modelRankHi: 0.3,
    positiveRate: 0.52,
    scoreNoise: 0.3,
    flipRate: 0.02,
  },
  'real-sim': {
    rows: 72309,
    cols: 20958,
    meanNnz: 51.3,
    lengthSigma: 0.7,
    zipfS: 1,
    zipfC: 10,
    topics: 5,
    topicWords: 500,
    topicC: 10,
    topicShare: 0.4,
    tfExtra: 0.8,
    modelFraction: 0.06,
    modelRankLo: 20,
    modelRankHi: 0.5,
    positiveRate: 0.31,
    scoreNoise: 0.3,
    flipRate: 0.02,
  },
};

export interface TextOptions {
  readonly like: TextLike;
  readonly seed: number;
  /** Fewer (or more) rows with the same n and density. */
  readonly rows?: number;
  /** Overrides of the profile's knobs, for tuning. */
  readonly profile?: Partial<TextProfile>;
}

export interface TextInfo extends BuildInfo {
  readonly positives: number;
  /** Columns of supp(w°), increasing. */
  readonly planted: readonly number[];
}

/** Pilot size: enough for the rate to be within ~0.5 % at full size, no more than the set for small ones. */
const pilotRows = (rows: number): number => Math.min(10000, Math.max(1000, rows));

/** Streams the rows into `sink`; holds O(n + K·topicWords) state, never the rows. */
export async function generateText(opts: TextOptions, sink: RowSink): Promise<TextInfo> {
  const base = TEXT_PROFILES[opts.like];
  if (base === undefined)
    throw new SodaError('E_CONFIG', `text: like must be one of ${Object.keys(TEXT_PROFILES).join(', ')}`, {
      like: opts.like,
    });
  const p: TextProfile = { ...base, ...opts.profile, rows: opts.rows ?? opts.profile?.rows ?? base.rows };
  checkProfile(p);
  const rng = new Rng(opts.seed);
  const model = new TextModel(p, rng);
  const { threshold, noiseSd } = calibrate(
    model,
    new Rng(rng.nextU32()),
    pilotRows(p.rows),
    p.positiveRate,
    p.scoreNoise,
  );

  let total = 0;
  let positives = 0;
  for (let i = 0; i < p.rows; i++) {
    const { nz, score } = model.drawRow(rng);
    let y = score - threshold + noiseSd * rng.normal() >= 0 ? 1 : -1;
    if (rng.next() < p.flipRate) y = -y;
    if (y === 1) positives++;
    total += nz;
    await emit(sink, y, model.idx.subarray(0, nz), model.val.subarray(0, nz));
  }
  return { rows: p.rows, cols: p.cols, nnz: total, positives, planted: model.planted() };
}

function checkProfile(p: TextProfile): void {
  const bad = (field: string, rule: string): never => {
    throw new SodaError('E_CONFIG', `text: ${field} must be ${rule}, got ${p[field as keyof TextProfile]}`);
  };
  if (!Number.isInteger(p.rows) || p.rows < 1) bad('rows', 'a positive integer');
  if (!Number.isInteger(p.cols) || p.cols < 2) bad('cols', 'an integer ≥ 2');
  if (!(p.meanNnz >= 1 && p.meanNnz <= p.cols / 8)) bad('meanNnz', `in [1, cols/8 = ${p.cols / 8}]`);
  if (!(p.lengthSigma >= 0 && p.lengthSigma <= 2)) bad('lengthSigma', 'in [0, 2]');
  if (!(p.zipfS > 0 && p.zipfS <= 2)) bad('zipfS', 'in (0, 2]');
  if (!(p.zipfC >= 0)) bad('zipfC', '≥ 0');
  if (!Number.isInteger(p.topics) || p.topics < 0) bad('topics', 'a non-negative integer');
  if (!(p.topicShare >= 0 && p.topicShare < 1)) bad('topicShare', 'in [0, 1)');
  if (!(p.topicC >= 0)) bad('topicC', '≥ 0');
  if (!(p.tfExtra >= 0)) bad('tfExtra', '≥ 0');
  if (!(p.modelFraction > 0 && p.modelFraction <= 1)) bad('modelFraction', 'in (0, 1]');
  if (!(p.modelRankHi > 0 && p.modelRankHi <= 1)) bad('modelRankHi', 'in (0, 1]');
  const span = Math.round(p.modelRankHi * p.cols) - p.modelRankLo;
  if (!Number.isInteger(p.modelRankLo) || p.modelRankLo < 0 || span < Math.round(p.modelFraction * p.cols))
    bad('modelRankLo', `an integer leaving room for modelFraction·cols ranks below modelRankHi·cols`);
  if (p.topics > 0 && !(Number.isInteger(p.topicWords) && p.topicWords >= 1 && p.topicWords <= span))
    bad('topicWords', `an integer in [1, modelRankHi·cols − modelRankLo = ${span}]`);
  if (!(p.positiveRate > 0 && p.positiveRate < 1)) bad('positiveRate', 'in (0, 1)');
  if (!(p.scoreNoise >= 0)) bad('scoreNoise', '≥ 0');
  if (!(p.flipRate >= 0 && p.flipRate < 0.5)) bad('flipRate', 'in [0, 0.5)');
}

/**
 * Threshold t and noise sd from a pilot sample, so P(x·w° + ε ≥ t) ≈ positiveRate. The pilot uses its
 * own random stream and does not advance the main one beyond the seed it takes.
 */
function calibrate(
  model: TextModel,
  rng: Rng,
  size: number,
  positiveRate: number,
  scoreNoise: number,
): { threshold: number; noiseSd: number } {
  const scores = new Float64Array(size);
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < size; i++) {
    const s = model.drawRow(rng).score;
    scores[i] = s;
    sum += s;
    sum2 += s * s;
  }
  const mean = sum / size;
  const noiseSd = scoreNoise * Math.sqrt(Math.max(0, sum2 / size - mean * mean));
  for (let i = 0; i < size; i++) scores[i] += noiseSd * rng.normal();
  scores.sort();
  const threshold = scores[Math.min(size - 1, Math.floor((1 - positiveRate) * size))];
  return { threshold, noiseSd };
}
