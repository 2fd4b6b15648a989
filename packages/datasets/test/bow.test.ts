import { SodaError } from '@soda/core';
import { bagOfWords, inverseDocumentFrequency, tokenize } from '@soda/datasets';

const tokens = (text: string) => {
  const out: string[] = [];
  tokenize(text, (t) => out.push(t));
  return out;
};

describe('tokenize', () => {
  it('lower-cases and splits on everything but [a-z0-9$!], keeping 2–30 characters', () => {
    expect(tokens('Hello, WORLD! Win $100 free!!! a 1st x-ray café')).toEqual([
      'hello',
      'world!',
      'win',
      '$100',
      'free!!!',
      '1st',
      'ray',
      'caf',
    ]);
    expect(tokens('a'.repeat(30) + ' ' + 'b'.repeat(31) + ' ok')).toEqual(['a'.repeat(30), 'ok']);
    expect(tokens('')).toEqual([]);
  });
});

describe('bagOfWords', () => {
  // Three documents; with minDf = 1 and maxDf = 1 every term is kept.
  const docs = ['aa aa bb', 'aa cc', 'bb cc dd dd dd'];

  it('computes (1 + ln tf)·idf with smooth idf, rows of unit length, columns in term order', () => {
    const bag = bagOfWords(docs, { minDf: 1, maxDf: 1 });
    expect(bag.terms).toEqual(['aa', 'bb', 'cc', 'dd']);
    expect(bag.docs).toBe(3);
    expect(bag.nnz).toBe(7);
    // By hand: N = 3; df(aa) = 2, df(bb) = 2, df(dd) = 1.
    const idf2 = Math.log(4 / 3) + 1;
    const idf1 = Math.log(4 / 2) + 1;
    const r2 = bag.row(2);
    expect(Array.from(r2.idx)).toEqual([1, 2, 3]);
    const raw = [idf2, idf2, (1 + Math.log(3)) * idf1];
    const norm = Math.hypot(...raw);
    raw.forEach((v, k) => expect(r2.val[k]).toBeCloseTo(v / norm, 14));
    const r0 = bag.row(0);
    expect(Array.from(r0.idx)).toEqual([0, 1]);
    const a = (1 + Math.log(2)) * idf2;
    expect(r0.val[0]).toBeCloseTo(a / Math.hypot(a, idf2), 14);
    expect(inverseDocumentFrequency(3, 1)).toBeCloseTo(idf1, 15);
  });

  it('uses raw tf when sublinearTf is false', () => {
    const bag = bagOfWords(docs, { minDf: 1, maxDf: 1, sublinearTf: false });
    const r2 = bag.row(2);
    const idf2 = Math.log(4 / 3) + 1;
    const idf1 = Math.log(2) + 1;
    expect(r2.val[2] / r2.val[0]).toBeCloseTo((3 * idf1) / idf2, 14);
  });

  it('keeps terms with minDf ≤ df ≤ maxDf·N only (default min_df 2, max_df 0.5)', () => {
    const corpus = ['x y z', 'x y w', 'x q', 'x v', 'y u', 'q k'];
    // df: x 4 (> 3 dropped), y 3 (= N/2 kept), q 2 (kept), z w v u k 1 (dropped).
    const bag = bagOfWords(corpus);
    expect(bag.terms).toEqual([]); // every token here is one character: below TOKEN_MIN
    const long = corpus.map((d) => d.replace(/(\w)/g, '$1$1'));
    expect(bagOfWords(long).terms).toEqual(['qq', 'yy']);
    // A document with no kept term is an empty row.
    const r = bagOfWords(long).row(3);
    expect(r.idx.length).toBe(0);
  });

  it('rejects bad options and rows out of range', () => {
    expect(() => bagOfWords(docs, { minDf: 0 })).toThrow(SodaError);
    expect(() => bagOfWords(docs, { maxDf: 0 })).toThrow(SodaError);
    expect(() => bagOfWords(docs).row(3)).toThrow(SodaError);
  });
});
