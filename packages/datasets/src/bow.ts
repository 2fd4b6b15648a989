import { SodaError } from '@soda/core';

/**
 * Bag-of-words tf-idf, the way scikit-learn's TfidfVectorizer does it (smooth idf, L2-normalised
 * rows, min_df/max_df), with a documented tokeniser so the features are reproducible anywhere:
 *
 *  - the text is lower-cased (String.prototype.toLowerCase);
 *  - a token is a maximal run of [a-z0-9$!] (so "$100", "free!!" and "1st" are tokens; every other
 *    character, non-ASCII letters included, separates tokens);
 *  - tokens shorter than 2 or longer than 30 characters are dropped (long runs are base64 and
 *    hexadecimal blobs, not words);
 *  - the vocabulary is every term with minDf ≤ df ≤ maxDf·N (df = number of documents containing
 *    it, N = number of documents), in code-unit (JavaScript `<`) order of the term strings;
 *  - x_dj = tf'·idf_j with tf' = 1 + ln(tf) (sublinear) or tf, idf_j = ln((1 + N)/(1 + df_j)) + 1,
 *    then each row is scaled to unit L2 norm (a row with no vocabulary term stays empty).
 */
export interface BagOfWordsOptions {
  /** Smallest document frequency kept (default 2: a term in one document cannot generalise). */
  readonly minDf?: number;
  /** Largest document frequency kept, as a fraction of N (default 0.5; see DESIGN.md on conditioning). */
  readonly maxDf?: number;
  /** 1 + ln(tf) instead of tf (default true). */
  readonly sublinearTf?: boolean;
}

export interface BagOfWords {
  /** Column j's term. */
  readonly terms: readonly string[];
  /** Number of documents (rows). */
  readonly docs: number;
  readonly nnz: number;
  /**
   * Row d's sorted columns and values. The returned arrays are reused by the next call: copy them
   * to keep them.
   */
  row(d: number): { idx: Uint32Array; val: Float64Array };
}

export const TOKEN_MIN = 2;
export const TOKEN_MAX = 30;
const TOKEN = /[a-z0-9$!]+/g;

/** Calls `visit` on each token of `text`, in order. */
export function tokenize(text: string, visit: (token: string) => void): void {
  const lower = text.toLowerCase();
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(lower); m !== null; m = TOKEN.exec(lower)) {
    const t = m[0];
    if (t.length >= TOKEN_MIN && t.length <= TOKEN_MAX) visit(t);
  }
}

/** Builds the vocabulary and the tf-idf rows of `texts` (two passes over compact term counts). */
export function bagOfWords(texts: ArrayLike<string>, opts: BagOfWordsOptions = {}): BagOfWords {
  const minDf = opts.minDf ?? 2;
  const maxDf = opts.maxDf ?? 0.5;
  const sublinear = opts.sublinearTf ?? true;
  if (!Number.isInteger(minDf) || minDf < 1)
    throw new SodaError('E_CONFIG', `bag of words: minDf must be an integer ≥ 1, got ${minDf}`);
  if (!(maxDf > 0 && maxDf <= 1))
    throw new SodaError('E_CONFIG', `bag of words: maxDf must be in (0, 1], got ${maxDf}`);
  const N = texts.length;
  const counts = countTerms(texts);

  // Vocabulary: kept term ids in term order; column[id] = its column or −1.
  const kept: number[] = [];
  for (let id = 0; id < counts.df.length; id++) {
    const df = counts.df[id];
    if (df >= minDf && df <= maxDf * N) kept.push(id);
  }
  kept.sort((a, b) => (counts.terms[a] < counts.terms[b] ? -1 : 1));
  const column = new Int32Array(counts.df.length).fill(-1);
  const idf = new Float64Array(kept.length);
  kept.forEach((id, j) => {
    column[id] = j;
    idf[j] = inverseDocumentFrequency(N, counts.df[id]);
  });

  let nnz = 0;
  let longest = 0;
  for (let d = 0; d < N; d++) {
    let len = 0;
    for (const id of counts.ids[d]) if (column[id] >= 0) len++;
    nnz += len;
    longest = Math.max(longest, len);
  }
  const idxBuf = new Uint32Array(longest);
  const valBuf = new Float64Array(longest);
  const order = new Uint32Array(longest);

  const row = (d: number): { idx: Uint32Array; val: Float64Array } => {
    if (!Number.isInteger(d) || d < 0 || d >= N)
      throw new SodaError('E_RANGE', `bag of words: row ${d} is out of range [0, ${N})`);
    const ids = counts.ids[d];
    const tfs = counts.tf[d];
    let len = 0;
    for (let k = 0; k < ids.length; k++) if (column[ids[k]] >= 0) order[len++] = k;
    // Sort the row's entries by column (ids are in first-seen order, columns in term order).
    const perm = Array.from(order.subarray(0, len)).sort((a, b) => column[ids[a]] - column[ids[b]]);
    let norm2 = 0;
    for (let k = 0; k < len; k++) {
      const j = column[ids[perm[k]]];
      const tf = tfs[perm[k]];
      const v = (sublinear ? 1 + Math.log(tf) : tf) * idf[j];
      idxBuf[k] = j;
      valBuf[k] = v;
      norm2 += v * v;
    }
    const inv = norm2 > 0 ? 1 / Math.sqrt(norm2) : 0;
    for (let k = 0; k < len; k++) valBuf[k] *= inv;
    return { idx: idxBuf.subarray(0, len), val: valBuf.subarray(0, len) };
  };

  return { terms: kept.map((id) => counts.terms[id]), docs: N, nnz, row };
}

/** idf_j = ln((1 + N)/(1 + df_j)) + 1 (scikit-learn's smooth idf). */
export function inverseDocumentFrequency(N: number, df: number): number {
  return Math.log((1 + N) / (1 + df)) + 1;
}

interface TermCounts {
  readonly terms: string[]; // by id, in first-seen order
  readonly df: number[]; // by id
  readonly ids: Uint32Array[]; // by document: its distinct term ids
  readonly tf: Uint32Array[]; // by document: their counts
}

/** Interns every token once; documents keep only (term id, count) pairs. */
function countTerms(texts: ArrayLike<string>): TermCounts {
  const dict = new Map<string, number>();
  const terms: string[] = [];
  const df: number[] = [];
  const lastDoc: number[] = []; // by id: last document that contained it
  const slot: number[] = []; // by id: its position in the current document's list
  const ids: Uint32Array[] = [];
  const tf: Uint32Array[] = [];
  const docIds: number[] = [];
  const docTf: number[] = [];
  for (let d = 0; d < texts.length; d++) {
    docIds.length = 0;
    docTf.length = 0;
    tokenize(texts[d], (t) => {
      let id = dict.get(t);
      if (id === undefined) {
        id = terms.length;
        dict.set(t, id);
        terms.push(t);
        df.push(0);
        lastDoc.push(-1);
        slot.push(0);
      }
      if (lastDoc[id] !== d) {
        lastDoc[id] = d;
        df[id]++;
        slot[id] = docIds.length;
        docIds.push(id);
        docTf.push(1);
      } else {
        docTf[slot[id]]++;
      }
    });
    ids.push(Uint32Array.from(docIds));
    tf.push(Uint32Array.from(docTf));
  }
  return { terms, df, ids, tf };
}
