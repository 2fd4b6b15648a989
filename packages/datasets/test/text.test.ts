import { SodaError } from '@soda/core';
import { TEXT_PROFILES, TextOptions, collect, generateText } from '@soda/datasets';
import { SlowSink, columnCounts, rowNorms, sameArrays } from './helpers';

const maxDeviationFromOne = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v - 1)), 0);

const make = (opts: TextOptions) => collect((sink) => generateText(opts, sink));

describe('generateText', () => {
  it.each(['rcv1', 'real-sim'] as const)(
    '%s: Table 1 width, its density, unit positive rows',
    async (like) => {
      const p = TEXT_PROFILES[like];
      const { data, info } = await make({ like, seed: 1, rows: 2000 });
      const { X } = data;
      expect(X.rows).toBe(2000);
      expect(X.cols).toBe(p.cols);
      expect(info.nnz).toBe(X.ind.length);
      // Row lengths are lognormal around meanNnz (sd ≈ 0.75·mean): the mean of 2000 is within ~1.7 %.
      expect(X.ind.length / X.rows / p.meanNnz).toBeGreaterThan(0.95);
      expect(X.ind.length / X.rows / p.meanNnz).toBeLessThan(1.05);
      expect(X.val.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThan(0);
      expect(maxDeviationFromOne(rowNorms(X))).toBeLessThan(1e-12);
      // Row lengths vary (not a constant length).
      const lengths = Array.from({ length: X.rows }, (_, i) => X.ptr[i + 1] - X.ptr[i]);
      expect(Math.max(...lengths)).toBeGreaterThan(3 * p.meanNnz);
      expect(Math.min(...lengths)).toBeLessThan(p.meanNnz / 3);
    },
  );

  it('has Zipf-like column frequencies: a small head carries much of the mass, a long tail is rare', async () => {
    const { data } = await make({ like: 'rcv1', seed: 2, rows: 2000 });
    const df = Array.from(columnCounts(data.X)).sort((a, b) => b - a);
    const total = df.reduce((a, b) => a + b, 0);
    const head = df.slice(0, Math.round(0.01 * df.length)).reduce((a, b) => a + b, 0);
    expect(head / total).toBeGreaterThan(0.25);
    expect(df[0]).toBeGreaterThan(0.3 * data.X.rows);
    expect(df[Math.round(df.length / 2)]).toBeLessThan(0.002 * data.X.rows);
  });

  it('labels about positiveRate of the rows +1 (after flips) and plants a sparse model', async () => {
    for (const like of ['rcv1', 'real-sim'] as const) {
      const p = TEXT_PROFILES[like];
      const { data, info } = await make({ like, seed: 3, rows: 3000 });
      const pos = data.y.filter((v) => v === 1).length;
      expect(pos).toBe(info.positives);
      const expected = p.positiveRate * (1 - p.flipRate) + (1 - p.positiveRate) * p.flipRate;
      expect(Math.abs(pos / 3000 - expected)).toBeLessThan(0.04);
      expect(info.planted.length).toBeGreaterThan(0.5 * p.modelFraction * p.cols);
      expect(info.planted.length).toBeLessThanOrEqual(Math.ceil(p.modelFraction * p.cols) + p.topics);
      expect(info.planted.every((j, k) => k === 0 || j > info.planted[k - 1])).toBe(true);
    }
  });

  it('carries label signal in the planted features: their presence predicts the label', async () => {
    // Independent check: for each planted column, the label mean among rows that contain it is far
    // from the overall mean much more often than for unplanted columns of similar frequency.
    const { data, info } = await make({ like: 'rcv1', seed: 4, rows: 3000 });
    const { X, y } = data;
    const sum = new Float64Array(X.cols);
    const cnt = columnCounts(X);
    for (let i = 0; i < X.rows; i++) for (let k = X.ptr[i]; k < X.ptr[i + 1]; k++) sum[X.ind[k]] += y[i];
    const base = y.reduce((a, b) => a + b, 0) / X.rows;
    const planted = new Set(info.planted);
    const shift = (set: (j: number) => boolean) => {
      let s = 0;
      let c = 0;
      for (let j = 0; j < X.cols; j++)
        if (cnt[j] >= 20 && set(j)) {
          s += Math.abs(sum[j] / cnt[j] - base);
          c++;
        }
      return s / c;
    };
    expect(shift((j) => planted.has(j))).toBeGreaterThan(2 * shift((j) => !planted.has(j)));
  });

  it('is determined by its seed', async () => {
    const a = await make({ like: 'real-sim', seed: 9, rows: 500 });
    const b = await make({ like: 'real-sim', seed: 9, rows: 500 });
    const c = await make({ like: 'real-sim', seed: 10, rows: 500 });
    expect(sameArrays(a.data.X.ind, b.data.X.ind)).toBe(true);
    expect(sameArrays(a.data.X.val, b.data.X.val)).toBe(true);
    expect(sameArrays(a.data.y, b.data.y)).toBe(true);
    expect(sameArrays(a.data.X.ind, c.data.X.ind)).toBe(false);
  });

  it('streams: awaits an asynchronous sink row by row', async () => {
    const slow = new SlowSink();
    const info = await generateText({ like: 'rcv1', seed: 1, rows: 50 }, slow);
    expect(slow.rows).toBe(50);
    expect(info.rows).toBe(50);
  });

  it('works without topics (independent features)', async () => {
    const { data } = await make({ like: 'rcv1', seed: 1, rows: 300, profile: { topics: 0 } });
    expect(data.X.rows).toBe(300);
    expect(maxDeviationFromOne(rowNorms(data.X))).toBeLessThan(1e-12);
  });

  it('rejects bad knobs with E_CONFIG naming the field', async () => {
    const bad: [string, TextOptions][] = [
      ['rows', { like: 'rcv1', seed: 1, rows: 0 }],
      ['zipfS', { like: 'rcv1', seed: 1, profile: { zipfS: 5 } }],
      ['topicShare', { like: 'rcv1', seed: 1, profile: { topicShare: 1 } }],
      ['positiveRate', { like: 'real-sim', seed: 1, profile: { positiveRate: 0 } }],
      ['like', { like: 'news20' as 'rcv1', seed: 1 }],
    ];
    for (const [field, opts] of bad) {
      const err = await make(opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SodaError);
      expect((err as SodaError).code).toBe('E_CONFIG');
      expect((err as SodaError).message).toContain(field);
    }
  });
});
