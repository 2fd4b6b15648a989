import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/*
 * A model trained on the spam corpus with an intercept (soda solve --out, the reference solution of
 * the same objective soda run reaches), its raw LIBSVM file, and soda predict's per-row output: what
 * the export tests hand to other tools. Built once per folder.
 */

export const BIN = path.resolve(__dirname, '..', '..', 'packages', 'cli', 'bin', 'soda.js');

export function soda(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) throw new Error(`soda ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface SpamModel {
  readonly dir: string;
  readonly model: string;
  readonly data: string;
  /** soda predict's rows: index, probability of +1, label. */
  readonly preds: { probability: number; label: number }[];
}

export function spamModel(dir: string): SpamModel {
  mkdirSync(dir, { recursive: true });
  const model = path.join(dir, 'spam-model.json');
  const data = path.join(dir, 'spam.svm');
  const preds = path.join(dir, 'spam-preds.csv');
  if (!existsSync(data)) soda(['data', 'spam', '--out', data]);
  if (!existsSync(model))
    soda(['solve', '--dataset', 'spam', '--cache', path.join(dir, 'cache'), '--out', model]);
  if (!existsSync(preds)) soda(['predict', '--model', model, '--data', data, '--out', preds]);
  const rows = readFileSync(preds, 'utf8').trim().split('\n').slice(1);
  return {
    dir,
    model,
    data,
    preds: rows.map((l) => {
      const [, p, label] = l.split(',').map(Number);
      return { probability: p, label };
    }),
  };
}
