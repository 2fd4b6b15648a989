import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readLibsvm } from '@soda/core';

/* `soda data`: files that are exactly what training uses, and a stdout that is one short JSON line. */

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'bin', 'soda.js');
const dir = mkdtempSync(path.join(tmpdir(), 'soda-data-'));

function soda(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('data gen madelon writes exactly the problem --dataset madelon trains on; --original the old coding', async () => {
  const out = path.join(dir, 'madelon.svm');
  expect(soda(['data', 'gen', 'madelon', '--out', out, '--seed', '3']).status).toBe(0);
  // What --dataset madelon --seed 3 trains on: the file soda solve builds and caches under <cache>/../data.
  const solved = soda(['solve', '--dataset', 'madelon', '--seed', '3', '--cache', path.join(dir, 'cache')]);
  expect(solved.status).toBe(0);
  // Byte for byte (Buffer.equals: jest's deep equality would walk 20 MB element by element).
  expect(readFileSync(out).equals(readFileSync(path.join(dir, 'data', 'madelon-seed3.svm')))).toBe(true);
  const orig = path.join(dir, 'orig.svm');
  expect(soda(['data', 'gen', 'madelon', '--original', '--out', orig, '--seed', '3']).status).toBe(0);
  const a = await readLibsvm(out);
  const b = await readLibsvm(orig);
  expect(b.X.rows).toBe(a.X.rows);
  const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
  expect(mean(b.X.val)).toBeGreaterThan(100); // Guyon's coding: values around 480
  expect(Math.abs(mean(a.X.val))).toBeLessThan(50); // centred
});

test('data spam keeps its vocabulary in --vocab and prints a one-line JSON summary', () => {
  const out = path.join(dir, 'spam.svm');
  const vocab = path.join(dir, 'spam.terms.txt');
  const r = soda(['data', 'spam', '--out', out, '--vocab', vocab]);
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(r.stdout.length).toBeLessThan(400);
  const summary = JSON.parse(lines[0]);
  expect(summary).toMatchObject({ out, rows: 6046, cols: 47512, terms: 47512, vocab, spam: 1896 });
  const terms = readFileSync(vocab, 'utf8').split('\n').slice(0, -1);
  expect(terms).toHaveLength(47512);
  expect(new Set(terms).size).toBe(47512);
});
