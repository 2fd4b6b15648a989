import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { soda, spamModel, type SpamModel } from './helpers/spam-model';

/*
 * The scikit-learn export, loaded into a LogisticRegression by Debian's python3-sklearn
 * (apt-get install python3-sklearn; npm run test:sklearn) with the README's snippet
 * (scripts/sklearn-load.py): predict and predict_proba must equal soda predict's.
 */

/** Debian's python3, where python3-sklearn installs (a pyenv or venv python3 on PATH would not have it). */
const PYTHON = '/usr/bin/python3';
const dir = path.join(tmpdir(), `soda-sklearn-${process.pid}`);
let spam: SpamModel;

beforeAll(() => {
  spam = spamModel(dir);
}, 300000);

test('LogisticRegression with the exported coef_/intercept_/classes_: same labels, probabilities to 1e−12', () => {
  const json = path.join(dir, 'spam.sklearn.json');
  soda(['export', '--model', spam.model, '--format', 'sklearn', '--out', json]);
  const script = path.resolve(__dirname, '..', 'scripts', 'sklearn-load.py');
  const out = execFileSync(PYTHON, [script, json, spam.data], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const rows = out.trim().split('\n');
  expect(rows).toHaveLength(spam.preds.length);
  rows.forEach((r, i) => {
    const [label, p] = r.split(' ').map(Number);
    expect(label).toBe(spam.preds[i].label);
    expect(Math.abs(p - spam.preds[i].probability)).toBeLessThan(1e-12);
  });
});
