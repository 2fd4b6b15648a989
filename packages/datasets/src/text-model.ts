import { Rng } from '@soda/core';

/** The knobs of the text look-alikes (see text.ts for what each one decides). */
export interface TextProfile {
  readonly rows: number;
  readonly cols: number;
  /** Mean number of distinct features per row. */
  readonly meanNnz: number;
  /** σ of ln(row length). */
  readonly lengthSigma: number;
  /** Background frequencies: P(rank r) ∝ 1/(r + 1 + zipfC)^zipfS. */
  readonly zipfS: number;
  readonly zipfC: number;
  /** Number of topics K (0: no topics, every feature independent). */
  readonly topics: number;
  /** Words per topic; topic frequencies ∝ 1/(v + 1 + topicC)^zipfS over its own words. */
  readonly topicWords: number;
  readonly topicC: number;
  /** Fraction of a row's features drawn from its topic rather than the background. */
  readonly topicShare: number;
  /** Mean of tf − 1. */
  readonly tfExtra: number;
  /** Fraction of the n features in supp(w°). */
  readonly modelFraction: number;
  /** supp(w°) and the topics' words are drawn among frequency ranks [modelRankLo, modelRankHi·n). */
  readonly modelRankLo: number;
  readonly modelRankHi: number;
  readonly positiveRate: number;
  /** Std of the score noise, relative to sd(x·w°). */
  readonly scoreNoise: number;
  readonly flipRate: number;
}

/**
 * The O(n + K·topicWords) state of the text generator: frequencies, topics, idf, w°, and the
 * buffers of the row being drawn.
 */
export class TextModel {
  readonly idx: Uint32Array;
  readonly val: Float64Array;
  private readonly background: Float64Array; // cumulative Zipf weights over ranks
  private readonly topical: Float64Array; // cumulative Zipf weights over a topic's word positions
  private readonly topicRanks: Uint32Array; // [t·V + v] = rank of topic t's v-th word
  private readonly column: Uint32Array; // rank → column
  private readonly idf: Float64Array; // by column
  private readonly w: Float64Array; // w°, by column
  private readonly seen: Int32Array; // by rank: stamp of the last row that drew it
  private stamp = 0;
  private readonly mu: number;
  private readonly maxLen: number;
  private readonly tfQ: number;

  constructor(
    private readonly p: TextProfile,
    rng: Rng,
  ) {
    const n = p.cols;
    const K = p.topics;
    const lo = p.modelRankLo;
    const hi = Math.round(p.modelRankHi * n);
    this.background = cumulativeZipf(n, p.zipfS, p.zipfC);
    this.topical = cumulativeZipf(K > 0 ? p.topicWords : 0, p.zipfS, p.topicC);
    this.column = rng.shuffle(Uint32Array.from({ length: n }, (_, r) => r));

    // Topics: each owns topicWords random ranks in [lo, hi); half-ish of them (positiveRate·K) are
    // "positive". A word belongs to the topic where it ranks best, and w°'s sign follows that topic's
    // class, so labels are carried by coherent groups of co-occurring words, as in real text.
    const V = this.topical.length;
    this.topicRanks = new Uint32Array(K * V);
    const pool = Uint32Array.from({ length: hi - lo }, (_, k) => lo + k);
    const owner = new Int32Array(n).fill(-1);
    const ownerPos = new Uint32Array(n);
    for (let t = 0; t < K; t++) {
      const words = sampleDistinct(rng, pool, V);
      for (let v = 0; v < V; v++) {
        const r = words[v];
        this.topicRanks[t * V + v] = r;
        if (owner[r] < 0 || v < ownerPos[r]) {
          owner[r] = t;
          ownerPos[r] = v;
        }
      }
    }
    const topicClass = rng.shuffle(
      Int8Array.from({ length: K }, (_, t) => (t < Math.round(p.positiveRate * K) ? 1 : -1)),
    );

    // idf from the expected document frequency of each rank under the mixture.
    const share = K > 0 ? p.topicShare : 0;
    const prob = new Float64Array(n);
    for (let r = 0; r < n; r++) prob[r] = (1 - share) * weightAt(this.background, r);
    for (let t = 0; t < K; t++)
      for (let v = 0; v < V; v++) prob[this.topicRanks[t * V + v]] += (share / K) * weightAt(this.topical, v);
    this.idf = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      const expectedDf = p.rows * (1 - Math.exp(-p.meanNnz * prob[r]));
      this.idf[this.column[r]] = Math.log((1 + p.rows) / (1 + expectedDf)) + 1;
    }

    // w°: about modelFraction·n features. With topics, the first words of every topic (the words that
    // make a topic recognisable), signed by their owner's class; without, random moderately frequent
    // words with random signs.
    this.w = new Float64Array(n);
    const k = Math.round(p.modelFraction * n);
    const planted = K > 0 ? this.topWords(Math.ceil(k / K)) : sampleDistinct(rng, pool, k);
    for (const r of planted) {
      const sign = owner[r] >= 0 ? topicClass[owner[r]] : rng.next() < 0.5 ? 1 : -1;
      this.w[this.column[r]] = sign * Math.abs(rng.normal());
    }

    this.seen = new Int32Array(n);
    this.maxLen = Math.min(Math.floor(n / 4), Math.ceil(30 * p.meanNnz));
    this.idx = new Uint32Array(this.maxLen);
    this.val = new Float64Array(this.maxLen);
    this.mu = Math.log(p.meanNnz) - (p.lengthSigma * p.lengthSigma) / 2;
    this.tfQ = p.tfExtra / (1 + p.tfExtra);
  }

  /** The ranks of the first `count` words of every topic, without repeats. */
  private topWords(count: number): number[] {
    const V = this.topical.length;
    const out = new Set<number>();
    for (let t = 0; t < this.p.topics; t++)
      for (let v = 0; v < Math.min(count, V); v++) out.add(this.topicRanks[t * V + v]);
    return [...out];
  }

  /** Columns of supp(w°), increasing. */
  planted(): number[] {
    const out: number[] = [];
    for (let j = 0; j < this.w.length; j++) if (this.w[j] !== 0) out.push(j);
    return out;
  }

  /** Fills idx/val with one unit-norm row (sorted columns); returns its length and x·w°. */
  drawRow(rng: Rng): { nz: number; score: number } {
    const p = this.p;
    const len = Math.max(
      1,
      Math.min(this.maxLen, Math.round(Math.exp(this.mu + p.lengthSigma * rng.normal()))),
    );
    const topic = p.topics > 0 ? rng.int(p.topics) : -1;
    const V = this.topical.length;
    const stamp = ++this.stamp;
    for (let k = 0; k < len;) {
      const r =
        topic >= 0 && rng.next() < p.topicShare
          ? this.topicRanks[topic * V + sampleIndex(this.topical, rng)]
          : sampleIndex(this.background, rng);
      if (this.seen[r] === stamp) continue;
      this.seen[r] = stamp;
      this.idx[k++] = this.column[r];
    }
    const idx = this.idx.subarray(0, len).sort();
    let norm2 = 0;
    for (let k = 0; k < len; k++) {
      const v = (1 + Math.log(this.termCount(rng))) * this.idf[idx[k]];
      this.val[k] = v;
      norm2 += v * v;
    }
    const inv = 1 / Math.sqrt(norm2);
    let score = 0;
    for (let k = 0; k < len; k++) {
      this.val[k] *= inv;
      score += this.val[k] * this.w[idx[k]];
    }
    return { nz: len, score };
  }

  /** tf = 1 + Geometric, mean 1 + tfExtra. */
  private termCount(rng: Rng): number {
    if (this.tfQ === 0) return 1;
    let u = 0;
    while (u === 0) u = rng.next();
    return 1 + Math.floor(Math.log(u) / Math.log(this.tfQ));
  }
}

/** c[r] = Σ_{q ≤ r} 1/(q + 1 + offset)^s. */
function cumulativeZipf(size: number, s: number, offset: number): Float64Array {
  const c = new Float64Array(size);
  let acc = 0;
  for (let r = 0; r < size; r++) c[r] = acc += Math.pow(r + 1 + offset, -s);
  return c;
}

/** Normalised weight of position r in cumulative weights c. */
function weightAt(c: Float64Array, r: number): number {
  return (c[r] - (r > 0 ? c[r - 1] : 0)) / c[c.length - 1];
}

/** Position r with probability ∝ its weight: binary search in the cumulative weights. */
function sampleIndex(c: Float64Array, rng: Rng): number {
  const u = rng.next() * c[c.length - 1];
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** k distinct entries of `pool`, in random order (partial Fisher–Yates; reorders `pool`). */
function sampleDistinct(rng: Rng, pool: Uint32Array, k: number): Uint32Array {
  for (let t = 0; t < k; t++) {
    const s = t + rng.int(pool.length - t);
    const tmp = pool[t];
    pool[t] = pool[s];
    pool[s] = tmp;
  }
  return pool.slice(0, k);
}
