import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadModelFile, readLibsvm } from '@soda/core';
import { soda, spamModel, type SpamModel } from './helpers/spam-model';

/*
 * Exports loaded by the tools they are for. ONNX: onnxruntime-node (from npm) loads the graph and
 * scores every spam message; its probabilities must equal soda predict's. The LIBLINEAR export is
 * scored by Debian's liblinear-predict in liblinear.systest.ts (npm run test:liblinear).
 */

const dir = path.join(tmpdir(), `soda-export-${process.pid}`);
let spam: SpamModel;

beforeAll(() => {
  spam = spamModel(dir);
}, 300000);

describe('exports of a spam model with an intercept', () => {
  test('the model has an intercept and names its features with spam’s terms', async () => {
    const m = await loadModelFile(spam.model);
    expect(m.fitIntercept).toBe(true);
    expect(m.intercept).not.toBe(0);
    expect(m.n).toBe(47512);
    expect(m.featureNames).toHaveLength(47512);
    expect(m.idx.length).toBeGreaterThan(1000);
  });

  test('ONNX: onnxruntime scores all 6046 messages with soda predict’s probabilities (within 1e−6) and labels', () => {
    const out = path.join(dir, 'spam.onnx');
    soda(['export', '--model', spam.model, '--format', 'onnx', '--out', out]);
    const text = execFileSync(
      process.execPath,
      [path.join(__dirname, 'helpers', 'onnx-score.js'), out, spam.data],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      },
    );
    const [head, ...probs] = text.trim().split('\n');
    expect(head).toBe('inputs X outputs probability');
    expect(probs).toHaveLength(6046);
    let worst = 0;
    probs.map(Number).forEach((p, i) => {
      worst = Math.max(worst, Math.abs(p - spam.preds[i].probability));
      expect(p > 0.5 ? 1 : -1).toBe(spam.preds[i].label);
    });
    expect(worst).toBeLessThan(1e-6);
  }, 120000);

  test('scikit-learn JSON: coef_, intercept_, classes_ give soda predict’s probabilities', async () => {
    const out = path.join(dir, 'spam.sklearn.json');
    soda(['export', '--model', spam.model, '--format', 'sklearn', '--out', out]);
    const sk = JSON.parse(readFileSync(out, 'utf8'));
    expect(sk.classes_).toEqual([-1, 1]);
    expect(sk.coef_).toHaveLength(1);
    expect(sk.coef_[0]).toHaveLength(47512);
    expect(sk.n_features_in_).toBe(47512);
    expect(sk.feature_names_in_).toHaveLength(47512);
    // predict_proba[:, 1] = σ(x·coef_ + intercept_), computed here from the JSON alone.
    const raw = await readLibsvm(spam.data);
    for (let i = 0; i < raw.X.rows; i += 7) {
      let z = sk.intercept_[0];
      for (let k = raw.X.ptr[i]; k < raw.X.ptr[i + 1]; k++) z += sk.coef_[0][raw.X.ind[k]] * raw.X.val[k];
      expect(Math.abs(1 / (1 + Math.exp(-z)) - spam.preds[i].probability)).toBeLessThan(1e-12);
    }
  });
});
