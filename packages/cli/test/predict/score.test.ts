import { correctFromMargins } from '@soda/core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { csrFromDense, maxAbsScale, Rng, SodaError, type Dataset } from '@soda/core';
import { loadModelFile, modelFileOf, validateModelFile, type ModelFile } from '@soda/core';
import { rocAuc, scoreModel, scoresOf } from '../../src/predict';

/** Brute force: the fraction of (positive, negative) pairs ranked right, a tie counting ½. */
function pairwiseAuc(s: ArrayLike<number>, y: ArrayLike<number>): number {
  let good = 0;
  let pairs = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] <= 0) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] > 0) continue;
      pairs++;
      good += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return good / pairs;
}

function randomDense(rng: Rng, m: number, n: number, density: number): number[][] {
  return Array.from({ length: m }, () =>
    Array.from({ length: n }, () => (rng.next() < density ? Math.round(rng.normal() * 40) / 10 : 0)),
  );
}

/** A version-1 model (scaled-space weights + divisors), loaded as version 2 the way soda predict reads it. */
function model(n: number, w: number[], scale?: number[]): ModelFile {
  return validateModelFile(modelV1(n, w, scale), 'v1.json');
}

function modelV1(n: number, w: number[], scale?: number[]): Record<string, unknown> {
  const idx: number[] = [];
  const val: number[] = [];
  w.forEach((v, j) => {
    if (v !== 0) {
      idx.push(j);
      val.push(v);
    }
  });
  return {
    format: 'soda-model',
    version: 1,
    n,
    lambda1: 1e-4,
    lambda2: 1e-3,
    dataName: 't',
    dataHash: 'h',
    objective: null,
    idx,
    val,
    ...(scale ? { scale } : {}),
  };
}

describe('rocAuc', () => {
  test('equals the pairwise count, with many ties, on random scores', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const m = 5 + rng.int(60);
      const s = new Float64Array(m);
      const y = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        s[i] = rng.int(6) - 2; // few distinct values: ties everywhere
        y[i] = rng.next() < 0.4 ? 1 : -1;
      }
      if (!y.some((v) => v > 0) || !y.some((v) => v < 0)) continue;
      expect(rocAuc(s, y)).toBeCloseTo(pairwiseAuc(s, y), 12);
    }
  });

  test('1 for a perfect ranking, 0 for a reversed one, ½ when all scores tie, null for one class', () => {
    const y = Float64Array.from([-1, -1, 1, 1]);
    expect(rocAuc(Float64Array.from([1, 2, 3, 4]), y)).toBe(1);
    expect(rocAuc(Float64Array.from([4, 3, 2, 1]), y)).toBe(0);
    expect(rocAuc(Float64Array.from([5, 5, 5, 5]), y)).toBe(0.5);
    expect(rocAuc(Float64Array.from([1, 2]), Float64Array.from([1, 1]))).toBeNull();
  });
});

describe('scoreModel', () => {
  const rng = new Rng(11);
  const m = 40;
  const n = 8;
  const dense = randomDense(rng, m, n, 0.5);
  const y = Float64Array.from({ length: m }, () => (rng.next() < 0.5 ? 1 : -1));
  const ds: Dataset = { X: csrFromDense(dense, n), y };
  const w = [0.8, 0, -1.3, 0.4, 0, 0, 2.1, -0.2];

  /** Direct formulas on dense rows: x_j / s_j, z = Σ w_j x_j, ℓ = log(1 + e^{−yz}). */
  function direct(rows: number[][], scale: number[] | null) {
    let correct = 0;
    let loss = 0;
    const z = rows.map((row, i) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += (w[j] * row[j]) / (scale ? scale[j] : 1);
      if ((s > 0 ? 1 : -1) === y[i]) correct++; // a tie (s = 0) is −1, as in LIBLINEAR
      loss += Math.log(1 + Math.exp(-y[i] * s));
      return s;
    });
    return { accuracy: correct / m, logLoss: loss / m, auc: pairwiseAuc(z, y) };
  }

  test('accuracy, mean log-loss and AUC match the direct formulas (no scale)', () => {
    const got = scoreModel(model(n, w), ds);
    const want = direct(dense, null);
    expect(got.m).toBe(m);
    expect(got.accuracy).toBe(want.accuracy);
    expect(got.logLoss).toBeCloseTo(want.logLoss, 12);
    expect(got.auc).toBeCloseTo(want.auc, 12);
  });

  test('the stored max-abs scale is applied to the raw data first', () => {
    const scale = Array.from({ length: n }, (_, j) => Math.max(...dense.map((r) => Math.abs(r[j]))) || 1);
    const got = scoreModel(model(n, w, scale), ds);
    const want = direct(dense, scale);
    expect(got.accuracy).toBe(want.accuracy);
    expect(got.logLoss).toBeCloseTo(want.logLoss, 12);
    expect(got.auc).toBeCloseTo(want.auc, 12);
    // and it is the same as scoring data scaled as in training with an unscaled model
    const trained = maxAbsScale(ds.X);
    const same = scoreModel(model(n, w), { X: trained.X, y });
    expect(got.logLoss).toBeCloseTo(same.logLoss, 14);
    expect(got.accuracy).toBe(same.accuracy);
  });

  test('columns past the model’s n (features never trained on) do not change the scores', () => {
    const wider = dense.map((r) => [...r, rng.normal(), 0, rng.normal()]);
    const base = scoreModel(model(n, w), ds);
    expect(scoreModel(model(n, w), { X: csrFromDense(wider, n + 3), y })).toEqual(base);
    const scale = Array.from({ length: n }, () => 2);
    expect(scoreModel(model(n, w, scale), { X: csrFromDense(wider, n + 3), y })).toEqual(
      scoreModel(model(n, w, scale), ds),
    );
  });

  test('data with fewer columns than n is scored as if the missing columns were zero', () => {
    const narrow = dense.map((r) => r.slice(0, 5));
    const padded = narrow.map((r) => [...r, 0, 0, 0]);
    const scale = Array.from({ length: n }, (_, j) => 1 + j);
    expect(scoreModel(model(n, w, scale), { X: csrFromDense(narrow, 5), y })).toEqual(
      scoreModel(model(n, w, scale), { X: csrFromDense(padded, n), y }),
    );
  });

  test('empty data or labels other than ±1 are clear errors', () => {
    expect(() => scoreModel(model(n, w), { X: csrFromDense([], n), y: new Float64Array(0) })).toThrow(
      /no rows/,
    );
    const bad = Float64Array.from(y);
    bad[3] = 0;
    expect(() => scoreModel(model(n, w), { X: ds.X, y: bad })).toThrow(/label of row 4 is 0/);
  });
});

describe('loadModelFile', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soda-model-'));
  const good = modelFileOf(
    { n: 5, idx: Uint32Array.from([1, 3]), val: Float64Array.from([0.5, -2]) },
    {
      lambda1: 1e-4,
      lambda2: 1e-3,
      dataName: 'spam',
      dataHash: 'abc',
      objective: 0.3,
      scale: [1, 2, 3, 4, 5],
    },
  );
  const write = (name: string, body: unknown) => {
    const f = path.join(dir, name);
    writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
    return f;
  };

  const goodV1 = modelV1(5, [0, 0.5, 0, -2, 0], [1, 2, 3, 4, 5]);

  test('reads back what the master writes', async () => {
    expect(await loadModelFile(write('good.json', good))).toEqual(good);
  });

  test('version 2 holds raw-space weights: w_j / scale_j; a version-1 file loads as the same model', async () => {
    expect(good.version).toBe(2);
    expect(good.val).toEqual([0.5 / 2, -2 / 4]);
    expect(good.intercept).toBe(0);
    expect(good.fitIntercept).toBe(false);
    const v1 = await loadModelFile(write('v1.json', goodV1));
    expect(v1).toEqual({ ...good, dataName: 't', dataHash: 'h', objective: null });
  });

  test('the intercept is the coordinate from unpenalizedFrom on, kept out of the coefficients', () => {
    const m2 = modelFileOf(
      { n: 4, idx: Uint32Array.from([0, 2, 3]), val: Float64Array.from([1, 3, -0.7]) },
      {
        lambda1: 0,
        lambda2: 1,
        dataName: 'd',
        dataHash: 'h',
        objective: null,
        unpenalizedFrom: 3,
        scale: [2, 1, 4],
      },
    );
    expect(m2).toMatchObject({ n: 3, idx: [0, 2], val: [0.5, 0.75], intercept: -0.7, fitIntercept: true });
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['format', { format: 'other' }, 'format'],
    ['version', { version: 3 }, 'version'],
    ['intercept', { intercept: 'x' }, 'intercept'],
    ['fitIntercept', { fitIntercept: 1 }, 'fitIntercept'],
    ['featureNames', { featureNames: ['a'] }, 'featureNames'],
    ['training', { training: { a: [1] } }, 'training.a'],
    ['n', { n: 0 }, 'n'],
    ['lambda1', { lambda1: -1 }, 'lambda1'],
    ['dataHash', { dataHash: 3 }, 'dataHash'],
    ['objective', { objective: 'x' }, 'objective'],
    ['idx not sorted', { idx: [3, 1] }, 'idx[1]'],
    ['idx ≥ n', { idx: [1, 5] }, 'idx[1]'],
    ['val length', { val: [1] }, 'val'],
    ['val NaN-like', { val: [1, null] }, 'val[1]'],
  ];
  const casesV1: [string, Record<string, unknown>, string][] = [
    ['scale length', { scale: [1, 2] }, 'scale'],
    ['scale zero', { scale: [1, 2, 0, 4, 5] }, 'scale[2]'],
    ['idx ≥ n', { idx: [1, 5] }, 'idx[1]'],
  ];
  test.each(casesV1)(
    'a wrong field of a version-1 file (%s) is an E_MODEL naming it',
    async (_, patch, field) => {
      const f = write(`bad1-${field}.json`, { ...goodV1, ...patch });
      const err = await loadModelFile(f).catch((e: unknown) => e);
      expect((err as SodaError).code).toBe('E_MODEL');
      expect((err as SodaError).message).toContain(`${f}: field "${field}"`);
    },
  );
  test.each(cases)(
    'a wrong field (%s) is an E_MODEL naming the field and the file',
    async (_, patch, field) => {
      const f = write(`bad-${field}.json`, { ...good, ...patch });
      const err = await loadModelFile(f).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SodaError);
      expect((err as SodaError).code).toBe('E_MODEL');
      expect((err as SodaError).message).toContain(f);
      expect((err as SodaError).message).toContain(`"${field}"`);
    },
  );

  test('a missing field, a non-JSON file and an unreadable file are named errors', async () => {
    const { dataName: _drop, ...rest } = good;
    const noName = write('noname.json', rest);
    await expect(loadModelFile(noName)).rejects.toThrow(/"dataName" is missing/);
    const notJson = write('not.json', '{ "format": ');
    await expect(loadModelFile(notJson)).rejects.toThrow(new RegExp(`${notJson}: not a JSON model file`));
    const missing = path.join(dir, 'nope.json');
    const err = await loadModelFile(missing).catch((e: unknown) => e);
    expect((err as SodaError).code).toBe('E_IO');
    expect((err as SodaError).message).toContain(missing);
  });
});

describe('the accuracy of progress lines is the accuracy soda predict reports', () => {
  const y = Float64Array.from([1, -1, -1, 1, -1, -1, 1, -1]);
  test('at w = 0 (every margin 0, a tie: label −1) it is the share of −1 labels, not 0', () => {
    const z = new Float64Array(y.length);
    expect(correctFromMargins(z, y)).toBe(5);
    expect(scoresOf(z, y).accuracy).toBe(5 / 8);
  });
  test('on margins of both signs, ties included, the two counts agree', () => {
    const z = Float64Array.from([0.3, -2, 0, 0, 1e-300, -1e-300, -0.1, 4]);
    expect(correctFromMargins(z, y) / y.length).toBe(scoresOf(z, y).accuracy);
    expect(correctFromMargins(z, y)).toBe(4);
  });
});
