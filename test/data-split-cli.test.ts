import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readLibsvm, readManifest, shardShuffled, writeLibsvm, selectRows } from '@soda/core';
import { plantedProblem } from './helpers/problems';

/* `soda data split` as a user runs it: the built CLI in a child process. */

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'bin', 'soda.js');
const dir = mkdtempSync(path.join(tmpdir(), 'soda-split-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function soda(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60000 });
}

describe('soda data split, worker --data, solve --gap', () => {
  it('writes part files and a manifest that match the master’s shuffled shards', async () => {
    const file = path.join(dir, 'planted.svm');
    await writeLibsvm(file, plantedProblem(3, 250, 20));
    const out = path.join(dir, 'shards');
    const r = soda(['data', 'split', file, '--parts', '5', '--out-dir', out, '--seed', '4']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout) as { rows: number; parts: number; n: number };
    expect(line).toMatchObject({ rows: 250, parts: 5 });
    const man = await readManifest(path.join(out, 'manifest.json'));
    const full = await readLibsvm(file);
    const ids = shardShuffled(250, 5, 4);
    const part3 = await readLibsvm(path.join(out, 'part-00003.svm'), { n: man.n });
    expect(Array.from(part3.X.val)).toEqual(Array.from(selectRows(full.X, ids[3]).val));
    expect(readFileSync(path.join(out, 'part-00000.svm'), 'utf8').split('\n')[0]).toMatch(/^-?1 /);
  });

  it('exits 2 with file:line for a malformed input, and asks for missing options', () => {
    const bad = path.join(dir, 'bad.svm');
    writeFileSync(bad, '1 1:2\n1 1:x\n');
    const r = soda(['data', 'split', bad, '--parts', '2', '--out-dir', path.join(dir, 'o')]);
    expect(r.status).toBe(2);
    expect(r.stdout + r.stderr).toContain(`${bad}:2:`);
    const r2 = soda(['data', 'split', bad, '--out-dir', path.join(dir, 'o')]);
    expect(r2.status).toBe(2);
    expect(r2.stdout + r2.stderr).toContain('--parts');
  });

  it('soda worker --data FILE without {shard} needs --shard (exit 2 naming the option)', () => {
    const r = soda(['worker', '--data', path.join(dir, 'fixed.svm'), '--give-up', '1']);
    expect(r.status).toBe(2);
    expect(r.stdout + r.stderr).toContain('--shard K');
  });

  it('soda solve prints the certified duality gap at w* next to F*: ≥ 0 and ≤ 1e−8 relative', async () => {
    const file = path.join(dir, 'solve.svm');
    await writeLibsvm(file, plantedProblem(6, 300, 20));
    const r = soda([
      'solve',
      '--data',
      file,
      '--lambda1',
      '0.01',
      '--lambda2',
      '0.01',
      '--cache',
      path.join(dir, 'c'),
    ]);
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      fstar: number;
      dual: number;
      gap: number;
      gapRel: number;
    };
    expect(line.dual).toBeLessThanOrEqual(line.fstar * (1 + 1e-15)); // up to rounding at the optimum
    expect(line.gap).toBeGreaterThanOrEqual(-1e-15 * line.fstar);
    expect(line.gapRel).toBeLessThanOrEqual(1e-8);
  });
});
