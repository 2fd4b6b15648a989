import { spawn, spawnSync } from 'node:child_process';
import * as readline from 'node:readline';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { compositeObjective, maxAbsScale, readLibsvm, withIntercept, writeLibsvm } from '@soda/core';
import { plantedProblem } from './helpers/problems';

/* The real `soda` command, as a user runs it: built JS in child processes, JSON logs on stdout. */

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'bin', 'soda.js');
const dir = mkdtempSync(path.join(tmpdir(), 'soda-cli-'));
const file = path.join(dir, 'planted.svm');

function soda(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, ...env },
  });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines };
}

beforeAll(async () => {
  await writeLibsvm(file, plantedProblem(5, 600, 30));
});

describe('soda CLI (real processes)', () => {
  it('soda solve prints F* with a KKT certificate ≤ 1e−13, and F* matches F(w*) recomputed here', async () => {
    const out = path.join(dir, 'fstar.json');
    const r = soda([
      'solve',
      '--data',
      file,
      '--lambda1',
      '0.01',
      '--lambda2',
      '0.01',
      '--cache',
      path.join(dir, 'cache'),
      '--out',
      out,
    ]);
    expect(r.status).toBe(0);
    const line = r.lines[0];
    expect(line.certificate as number).toBeLessThanOrEqual(1e-13);
    expect(line.m).toBe(600);
    // The model file (version 2): raw-space coefficients c_j = w_j / s_j and the intercept b; F* is
    // recomputed here in the scaled space the λs apply to (w_j = c_j s_j), b being the last column.
    const saved = JSON.parse(readFileSync(out, 'utf8')) as {
      version: number;
      idx: number[];
      val: number[];
      n: number;
      intercept: number;
      fitIntercept: boolean;
      objective: number;
    };
    expect(saved.version).toBe(2);
    expect(saved.fitIntercept).toBe(true);
    expect(saved.objective).toBe(line.fstar);
    const raw = await readLibsvm(file);
    const { X, scale } = maxAbsScale(raw.X);
    const w = new Float64Array(saved.n + 1);
    saved.idx.forEach((j, t) => (w[j] = saved.val[t] * scale[j]));
    w[saved.n] = saved.intercept;
    expect(compositeObjective(withIntercept({ X, y: raw.y }).X, raw.y, w, 0.01, 0.01, saved.n)).toBeCloseTo(
      saved.objective,
      15,
    );
    // A second call is answered from the cache.
    const again = soda([
      'solve',
      '--data',
      file,
      '--lambda1',
      '0.01',
      '--lambda2',
      '0.01',
      '--cache',
      path.join(dir, 'cache'),
    ]);
    expect(again.lines[0].cached).toBe(true);
    expect(again.lines[0].fstar).toBe(line.fstar);
  });

  it('soda run: a master and 3 workers reach the target, logging progress, summary and the model', async () => {
    const r = soda(
      [
        'run',
        '--data',
        file,
        '--out',
        dir,
        '--p',
        '0.5',
        '--tol',
        '1e-9',
        '--eval-every',
        '0.2',
        '--test-fraction',
        '0.2',
      ],
      {
        SODA_WORKERS: '3', // every option is also an environment variable
        SODA_LAMBDA1: '0.01',
        SODA_LAMBDA2: '0.01',
      },
    );
    expect(r.status).toBe(0);
    const start = r.lines.find((l) => l.msg === 'start')!;
    expect(start.workers).toBe(3);
    expect(start.kappa as number).toBeGreaterThan(1);
    const progress = r.lines.filter((l) => l.msg === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const key of [
      'k',
      'epoch',
      'objective',
      'subopt',
      'nnz',
      'supportPct',
      'coordsUp',
      'coordsDown',
      'bytesUp',
      'bytesDown',
      'elapsedMs',
      'delayMean',
    ])
      expect(progress[0]).toHaveProperty(key);
    const summary = r.lines.find((l) => l.msg === 'summary')!;
    expect(summary.reason).toBe('tol');
    // 20 % of the rows were held out: progress lines score w on them.
    expect(start.m).toBe(480);
    expect(progress[progress.length - 1].testAccuracy as number).toBeGreaterThan(0.6); // chance is 0.5
    expect(summary.testAccuracy).toBe(progress[progress.length - 1].testAccuracy);
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-9);
    const model = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(model.format).toBe('soda-model');
    expect(model.idx.length).toBe(summary.nnz);
    expect(model.version).toBe(2);
    expect(model.n).toBe(30);
    writeFileSync(path.join(dir, 'run.jsonl'), r.stdout);

    // The saved model scores the training file exactly as the final evaluation round did.
    const preds = path.join(dir, 'preds.csv');
    const p = soda(['predict', '--model', path.join(dir, 'model.json'), '--data', file, '--out', preds]);
    expect(p.status).toBe(0);
    // The file is the 480 training rows plus the 120 held-out ones. The master counts a margin of
    // exactly 0 (a row with no feature in supp(w)) as wrong; predict labels it −1 (LIBLINEAR's and
    // scikit-learn's tie rule), which is right for the negative rows among them.
    const y = (await readLibsvm(file)).y;
    const ties = readFileSync(preds, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .filter((l, i) => Number(l.split(',')[1]) === 0.5 && y[i] === -1).length;
    const expected =
      ((summary.accuracy as number) * 480 + (summary.testAccuracy as number) * 120 + ties) / 600;
    expect(p.lines[0].accuracy).toBeCloseTo(expected, 12);
    expect(p.lines[0].auc as number).toBeGreaterThan(0.8);

    // And its log becomes a report page with the paper's figures.
    const rep = soda(['report', path.join(dir, 'run.jsonl'), '--out', path.join(dir, 'report.html')]);
    expect(rep.status).toBe(0);
    expect(rep.lines[0].runs).toBe(1);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
  });

  it('a malformed data file fails with the file name, line number and problem, exit code 2', () => {
    const bad = path.join(dir, 'bad.svm');
    writeFileSync(bad, '+1 1:0.5 3:1\n-1 2:x\n');
    const r = soda(['solve', '--data', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.svm:2/);
    expect(r.stderr).toMatch(/"x"/);
  });

  it('a bad option value names the option, its environment variable and the value', () => {
    const r = soda(['master', '--data', file, '--fstar', '1'], { SODA_P: '1.5' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--p (env SODA_P) must be a probability in (0, 1], got 1.5');
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
  });

  it('soda worker --count 3: three workers in one process, each its own shard, reach the target', async () => {
    const master = spawn(
      process.execPath,
      // bounded: a master that never sees its workers gives up (exit 6) rather than hang the test
      [
        BIN,
        'master',
        '--data',
        file,
        '--workers',
        '3',
        '--port',
        '0',
        '--tol',
        '1e-9',
        '--wait-timeout',
        '30',
      ].concat(['--max-time', '40', '--out', path.join(dir, 'count')]),
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SODA_LAMBDA1: '0.01' } },
    );
    const lines: Record<string, unknown>[] = [];
    let worker: ReturnType<typeof spawn> | null = null;
    let workerErr = '';
    readline.createInterface({ input: master.stdout! }).on('line', (l) => {
      if (!l.startsWith('{')) return;
      const rec = JSON.parse(l) as Record<string, unknown>;
      lines.push(rec);
      if (rec.event === 'listening' && worker === null) {
        worker = spawn(
          process.execPath,
          [BIN, 'worker', '--master', `ws://127.0.0.1:${String(rec.port)}`, '--id', 'box', '--count', '3'],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        worker.stderr!.on('data', (d: Buffer) => (workerErr += d.toString()));
      }
    });
    const code = await new Promise<number | null>((r) => master.on('exit', r));
    const workerCode = await new Promise<number | null>((r) =>
      worker!.exitCode !== null ? r(worker!.exitCode) : worker!.on('exit', r),
    );
    expect([code, workerCode, workerErr]).toEqual([0, 0, '']);
    const joined = lines.filter((l) => l.msg === 'worker joined').map((l) => l.worker);
    expect(joined.sort()).toEqual(['box-0', 'box-1', 'box-2']);
    const summary = lines.find((l) => l.msg === 'summary')!;
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-9);
  });

  it('soda worker refuses --count with --shard (a pinned shard is one worker), naming both', () => {
    const r = soda(['worker', '--count', '2', '--shard', '1', '--data', path.join(dir, 'x.svm')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--shard 1 pins one worker to one shard; it cannot go with --count 2');
  });

  it('--help teaches the commands and the environment variables', () => {
    const r = soda(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('SODA_<OPTION>');
    for (const c of ['run', 'master', 'worker', 'solve', 'data']) expect(r.stdout).toContain(`soda ${c}`);
  });
});
