import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { soda, spamModel, type SpamModel } from './helpers/spam-model';

/*
 * The LIBLINEAR export, loaded and scored by Debian's liblinear-predict (apt-get install
 * liblinear-tools; npm run test:liblinear): its labels must equal soda predict's, row for row, and
 * its probabilities (printed by LIBLINEAR with 6 significant digits) agree to that precision.
 */

const PREDICT = '/usr/bin/liblinear-predict';
const dir = path.join(tmpdir(), `soda-liblinear-${process.pid}`);
let spam: SpamModel;

beforeAll(() => {
  if (!existsSync(PREDICT))
    throw new Error(
      `${PREDICT} is missing: install it with apt-get install liblinear-tools (or run .ci/run)`,
    );
  spam = spamModel(dir);
}, 300000);

test('liblinear-predict -b 1 on the spam corpus: identical labels, probabilities to LIBLINEAR’s 6 digits', () => {
  const model = path.join(dir, 'spam.liblinear');
  soda(['export', '--model', spam.model, '--format', 'liblinear', '--out', model]);
  const out = path.join(dir, 'liblinear.out');
  const said = execFileSync(PREDICT, ['-b', '1', spam.data, model, out], { encoding: 'utf8' });
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  expect(lines[0]).toBe('labels 1 -1');
  expect(lines).toHaveLength(spam.preds.length + 1);
  lines.slice(1).forEach((l, i) => {
    const [label, pPlus] = l.split(' ').map(Number);
    expect(label).toBe(spam.preds[i].label);
    expect(Math.abs(pPlus - spam.preds[i].probability)).toBeLessThanOrEqual(
      5e-6 * Math.max(pPlus, 1e-300) + 1e-300,
    );
  });
  expect(said).toMatch(/Accuracy = 9\d\.\d+%/);
});
