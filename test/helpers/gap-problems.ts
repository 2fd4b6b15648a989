import * as fs from 'node:fs';
import * as path from 'node:path';
import { csrFromDense, readDataFile, Rng, type Dataset } from '@soda/core';
import { collect, generateMadelon } from '@soda/datasets';

/*
 * The three kinds of data the gap's certificate is tested on (issue 16), small enough for `npm test`:
 * madelon (the bundled generator: near-constant columns around a large offset, so after max-abs
 * scaling every column is almost the intercept's), a digits-like set (8×8 grey images, intensities
 * 0..16, non-negative: the intercept carries the class balance) and a CSV file with a header, read by
 * the same parser as `--data file.csv`. All raw (unscaled, no intercept column): callers scale as the
 * CLI does.
 */

export interface NamedProblem {
  readonly name: string;
  readonly data: Dataset;
  readonly lambda1: number;
  readonly lambda2: number;
}

/** A madelon-like set of `rows` × `cols` (cols ≥ 20). */
export async function madelonSmall(seed: number, rows: number, cols: number): Promise<Dataset> {
  return (await collect((sink) => generateMadelon({ seed, rows, cols }, sink))).data;
}

/**
 * Two "digits" as 8×8 images: each class a prototype of strokes (pixels 0..16), each example its
 * prototype plus noise, rounded and clipped to 0..16 like scikit-learn's digits; 5 % of labels flipped.
 */
export function digitsLike(seed: number, m: number): Dataset {
  const rng = new Rng(seed);
  const PIXELS = 64;
  const proto = [0, 1].map(() =>
    Float64Array.from({ length: PIXELS }, () => (rng.next() < 0.4 ? 4 + 12 * rng.next() : 0)),
  );
  const rows: number[][] = [];
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const c = rng.next() < 0.35 ? 1 : 0; // unbalanced classes: the intercept has work to do
    rows.push(Array.from(proto[c], (v) => Math.min(16, Math.max(0, Math.round(v + 3 * rng.normal() - 1)))));
    y[i] = (c === 1) !== rng.next() < 0.05 ? 1 : -1;
  }
  return { X: csrFromDense(rows, PIXELS), y };
}

/**
 * A CSV file with a header ("label,age,income,…"; labels 0/1, as a spreadsheet export would have
 * them) written to `dir`, and the dataset the CSV reader makes of it.
 */
export async function csvSet(dir: string, seed: number, m: number): Promise<{ file: string; data: Dataset }> {
  const rng = new Rng(seed);
  const names = ['age', 'income', 'visits', 'score', 'tenure', 'debt'];
  const lines = [['label', ...names].join(',')];
  for (let i = 0; i < m; i++) {
    const age = 18 + rng.int(60);
    const income = Math.round(20000 + 60000 * rng.next());
    const visits = rng.next() < 0.6 ? rng.int(12) : 0;
    const score = Math.round(300 + 550 * rng.next());
    const tenure = rng.int(30);
    const debt = rng.next() < 0.5 ? Math.round(5000 * rng.next()) : 0;
    const z = 0.04 * (age - 45) + 2e-5 * (income - 50000) + 0.2 * visits - 0.004 * (score - 575) + 0.5;
    const label = z + rng.normal() > 0 ? 1 : 0;
    lines.push([label, age, income, visits, score, tenure, debt].join(','));
  }
  const file = path.join(dir, 'customers.csv');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const d = await readDataFile(file);
  return { file, data: { X: d.X, y: d.y } };
}
