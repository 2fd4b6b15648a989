import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { maxAbsScale, writeLibsvm, type Dataset } from '@soda/core';
import { solveReference } from '@soda/solver';
import { withIntercept } from '@soda/core';
import { plantedProblem } from './helpers/problems';

/*
 * A model used the way a data scientist would after training: soda solve --out on a CSV with a header,
 * then soda predict on unlabelled CSV rows and on labelled LIBSVM rows, one output row per example.
 * Probabilities are checked against σ(wᵀx + b) computed here in the scaled space from the reference
 * solver's own w, so the raw-space weights of the model file are checked too.
 */

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'bin', 'soda.js');
const dir = mkdtempSync(path.join(tmpdir(), 'soda-predict-'));
const ds = plantedProblem(8, 400, 12);
const n = 12;

function soda(args: string[], nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, BIN, ...args], { encoding: 'utf8', timeout: 120000 });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stderr: r.stderr, lines };
}

function denseRow(d: Dataset, i: number): number[] {
  const row = new Array<number>(n).fill(0);
  for (let k = d.X.ptr[i]; k < d.X.ptr[i + 1]; k++) row[d.X.ind[k]] = d.X.val[k];
  return row;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** P(y = +1) of every row from the solver's scaled-space w and b (independent of the model file). */
function expectedProbabilities(): number[] {
  const { X, scale } = maxAbsScale(ds.X);
  const res = solveReference(withIntercept({ X, y: ds.y }), 0.01, 0.01, { unpenalizedFrom: n });
  return Array.from({ length: ds.X.rows }, (_, i) => {
    let z = res.w[n];
    for (let k = ds.X.ptr[i]; k < ds.X.ptr[i + 1]; k++)
      z += (res.w[ds.X.ind[k]] * ds.X.val[k]) / scale[ds.X.ind[k]];
    return sigmoid(z);
  });
}

const header = Array.from({ length: n }, (_, j) => `f${j + 1}`);
const trainCsv = path.join(dir, 'train.csv');
const unlabelledCsv = path.join(dir, 'new.csv');
const model = path.join(dir, 'model.json');

beforeAll(async () => {
  const rows = Array.from({ length: ds.X.rows }, (_, i) => denseRow(ds, i));
  writeFileSync(
    trainCsv,
    [[...header, 'label'].join(','), ...rows.map((r, i) => [...r, ds.y[i]].join(','))].join('\n'),
  );
  writeFileSync(unlabelledCsv, [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n');
  await writeLibsvm(path.join(dir, 'train.svm'), ds);
});

describe('soda solve --out, then soda predict (real processes)', () => {
  let probs: number[];
  beforeAll(() => {
    probs = expectedProbabilities();
  });

  it('trains on a CSV with a header: the model names its features and has an intercept', () => {
    const r = soda([
      'solve',
      '--data',
      trainCsv,
      '--lambda1',
      '0.01',
      '--lambda2',
      '0.01',
      '--cache',
      path.join(dir, 'c'),
      '--out',
      model,
    ]);
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(model, 'utf8'));
    expect(m).toMatchObject({
      format: 'soda-model',
      version: 2,
      n,
      fitIntercept: true,
      featureNames: header,
    });
    expect(m.training.certificate).toBeLessThanOrEqual(1e-13);
  });

  it('predicts on unlabelled CSV rows: one row per example, probabilities as computed here', () => {
    const out = path.join(dir, 'preds.csv');
    const r = soda(['predict', '--model', model, '--data', unlabelledCsv, '--out', out]);
    expect(r.status).toBe(0);
    expect(r.lines[0]).toMatchObject({ m: 400, labelled: false, out });
    expect(r.lines[0]).not.toHaveProperty('accuracy');
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('index,probability,label');
    expect(lines).toHaveLength(401);
    lines.slice(1).forEach((l, i) => {
      const [idx, p, label] = l.split(',').map(Number);
      expect(idx).toBe(i);
      expect(Math.abs(p - probs[i])).toBeLessThan(1e-12);
      expect(label).toBe(probs[i] > 0.5 ? 1 : -1);
    });
  });

  it('on labelled LIBSVM rows with --threshold: JSONL rows and the accuracy at that threshold', () => {
    const out = path.join(dir, 'preds.jsonl');
    const r = soda([
      'predict',
      '--model',
      model,
      '--data',
      path.join(dir, 'train.svm'),
      '--out',
      out,
      '--threshold',
      '0.7',
    ]);
    expect(r.status).toBe(0);
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(400);
    let correct = 0;
    rows.forEach((row, i) => {
      expect(row.index).toBe(i);
      expect(row.label).toBe(probs[i] > 0.7 ? 1 : -1);
      if (row.label === ds.y[i]) correct++;
    });
    expect(r.lines[0].accuracy).toBe(correct / 400);
    expect(r.lines[0].labelled).toBe(true);
    expect(r.lines[0].auc as number).toBeGreaterThan(0.8);
  });

  it('streams: a file much larger than the heap it runs in', async () => {
    // 400 000 unlabelled rows (~34 MB of CSV) predicted with a 40 MB old-space heap.
    const big = path.join(dir, 'big.csv');
    const s = createWriteStream(big);
    s.write(header.join(',') + '\n');
    const rows = Array.from({ length: ds.X.rows }, (_, i) => denseRow(ds, i).join(',') + '\n');
    for (let k = 0; k < 400000; k += 400) {
      if (!s.write(rows.join(''))) await new Promise((res) => s.once('drain', res));
    }
    await new Promise((res) => s.end(res));
    expect(statSync(big).size).toBeGreaterThan(30e6);
    const out = path.join(dir, 'big-preds.csv');
    const r = soda(['predict', '--model', model, '--data', big, '--out', out], ['--max-old-space-size=40']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.lines[0].m).toBe(400000);
    const text = readFileSync(out, 'utf8');
    const last = text.trim().split('\n').pop()!.split(',').map(Number);
    expect(last[0]).toBe(399999);
    expect(Math.abs(last[1] - probs[399999 % 400])).toBeLessThan(1e-12);
  }, 120000);

  it('bad input names the file and line, or the option and value', () => {
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, `${header.join(',')}\n${'1,'.repeat(n - 1)}1\n${'1,'.repeat(n - 1)}x\n`);
    const r = soda(['predict', '--model', model, '--data', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${bad}:3: column 12 ("f12") is "x"; expected a finite number`);
    const t = soda(['predict', '--model', model, '--data', unlabelledCsv, '--threshold', '2']);
    expect(t.status).toBe(2);
    expect(t.stderr).toContain('--threshold 2');
    const o = soda(['predict', '--model', model, '--data', unlabelledCsv, '--out', path.join(dir, 'x.txt')]);
    expect(o.status).toBe(2);
    expect(o.stderr).toContain('name it *.csv or *.jsonl');
  });
});
