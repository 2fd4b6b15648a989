import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { writeLibsvm, type Dataset } from '@soda/core';
import { plantedProblem } from './helpers/problems';

/*
 * Issue 16's silent cases, as a user meets them: the built CLI in child processes. Each one now exits 2
 * with a message naming the problem, or gives the right answer.
 */

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'bin', 'soda.js');
const dir = mkdtempSync(path.join(tmpdir(), 'soda-silent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);

function soda(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, ...env },
  });
  return { ...r, out: r.stdout + r.stderr };
}

const n = 6;
const names = Array.from({ length: n }, (_, j) => `x${j + 1}`);
const ds: Dataset = plantedProblem(5, 160, n);

function dense(i: number): number[] {
  const row = new Array<number>(n).fill(0);
  for (let k = ds.X.ptr[i]; k < ds.X.ptr[i + 1]; k++) row[ds.X.ind[k]] = ds.X.val[k];
  return row;
}

/** A CSV of ds with the columns in `order` (names of features, and 'label'). */
function csv(file: string, order: string[], header = true): void {
  const lines = header ? [order.join(',')] : [];
  for (let i = 0; i < ds.X.rows; i++) {
    const r = dense(i);
    lines.push(order.map((c) => (c === 'label' ? (ds.y[i] > 0 ? 1 : 0) : r[names.indexOf(c)])).join(','));
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

beforeAll(async () => {
  await writeLibsvm(f('a.svm'), ds);
  await writeLibsvm(f('b.svm'), plantedProblem(9, 160, n));
  csv(f('train.csv'), [...names, 'label']);
  const model = soda(['solve', '--data', f('train.csv'), '--cache', f('cache'), '--out', f('model.json')]);
  expect(model.status).toBe(0);
});

describe('an option given twice', () => {
  it('with different values is exit 2 naming it (it used to train on the bundled set)', () => {
    const r = soda(['run', '--data', f('a.svm'), '--data', f('b.svm'), '--workers', '2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--data was given 2 times with different values');
    expect(r.stdout).not.toContain('"dataset":"spam"');
    const b = soda(['solve', '--data', f('a.svm'), '--intercept', '--no-intercept']);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('--intercept was given twice');
    const alias = soda(['run', '-M', '2', '--workers', '3', '--data', f('a.svm')]);
    expect(alias.status).toBe(2);
    expect(alias.stderr).toContain('--workers');
  });

  it('with the same value is that value: the same F* as given once', () => {
    const once = soda(['solve', '--data', f('a.svm'), '--cache', f('c1')]);
    const twice = soda(['solve', '--data', f('a.svm'), '--data', f('a.svm'), '--cache', f('c2')]);
    expect(once.status).toBe(0);
    expect(twice.status).toBe(0);
    const [a, b] = [once, twice].map((r) => JSON.parse(r.stdout) as { dataset: string; fstar: number });
    expect(b.dataset).toBe('a.svm');
    expect(b.fstar).toBe(a.fstar);
  });
});

describe('data must match its model (soda predict)', () => {
  const predict = (data: string, ...more: string[]) =>
    soda(['predict', '--model', f('model.json'), '--data', data, ...more]);

  it('maps CSV columns by header name: another column order gives the same probabilities', () => {
    const shuffled = ['x4', 'label', 'x2', 'x6', 'x1', 'x5', 'x3'];
    csv(f('shuffled.csv'), shuffled);
    const a = predict(f('train.csv'), '--out', f('p1.csv'));
    const b = predict(f('shuffled.csv'), '--out', f('p2.csv'));
    expect(a.status).toBe(0);
    expect(b.status).toBe(0);
    expect(readFileSync(f('p2.csv'), 'utf8')).toBe(readFileSync(f('p1.csv'), 'utf8'));
    expect(JSON.parse(b.stdout).accuracy).toBe(JSON.parse(a.stdout).accuracy);
  });

  it('refuses a CSV lacking a feature of the model, or with a column it does not know', () => {
    csv(f('missing.csv'), ['x1', 'x2', 'x3', 'x5', 'x6', 'label']);
    const r = predict(f('missing.csv'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_DATA_MISMATCH');
    expect(r.stderr).toContain('lacks the model\'s feature "x4"');
    csv(f('extra.csv'), [...names, 'label']);
    writeFileSync(
      f('extra.csv'),
      readFileSync(f('extra.csv'), 'utf8')
        .split('\n')
        .map((l, i) => (l === '' ? l : `${i === 0 ? 'zip' : '7'},${l}`))
        .join('\n'),
    );
    const e = predict(f('extra.csv'));
    expect(e.status).toBe(2);
    expect(e.stderr).toContain('column "zip" is not a feature of the model');
  });

  it('without names, refuses a column count other than the model’s n', () => {
    csv(f('nohead.csv'), ['label', ...names, 'x1'], false);
    const r = predict(f('nohead.csv'), '--no-header', '--label-column', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`has ${n + 1} feature columns but the model has n = ${n} features`);
  });

  it('refuses a LIBSVM file with an index beyond the model’s n (a 64-feature file on a 6-feature model)', async () => {
    await writeLibsvm(f('wide.svm'), plantedProblem(2, 50, 64));
    const r = predict(f('wide.svm'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /E_DATA_MISMATCH: .*wide\.svm: row \d+ has feature \d+, but the model has n = 6/,
    );
  });
});

describe('every data command accepts the same data options', () => {
  it('--max-features (and SODA_MAX_FEATURES) in solve, predict and data split', async () => {
    for (const args of [
      ['solve', '--data', f('a.svm'), '--cache', f('c3')],
      ['predict', '--model', f('model.json'), '--data', f('a.svm')],
      ['data', 'split', f('a.svm'), '--parts', '2', '--out-dir', f('mf')],
    ]) {
      const flag = soda([...args, '--max-features', '3']);
      expect(flag.status).toBe(2);
      expect(flag.stderr).toContain('exceeds the feature limit 3');
      const env = soda(args, { SODA_MAX_FEATURES: '4' });
      expect(env.status).toBe(2);
      expect(env.stderr).toContain('exceeds the feature limit 4');
      expect(soda([...args, '--max-features', '6']).status).toBe(0);
    }
  });

  it('data split reads a CSV and its CSV parts keep the header; 20 parts print nothing on stderr', () => {
    const r = soda(['data', 'split', f('train.csv'), '--parts', '20', '--out-dir', f('csv-parts')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const parts = readdirSync(f('csv-parts')).filter((p) => p.endsWith('.csv'));
    expect(parts).toHaveLength(20);
    let rows = 0;
    for (const p of parts) {
      const lines = readFileSync(path.join(f('csv-parts'), p), 'utf8')
        .trim()
        .split('\n');
      expect(lines[0]).toBe(['label', ...names].join(','));
      rows += lines.length - 1;
    }
    expect(rows).toBe(ds.X.rows);
    const svm = soda(['data', 'split', f('a.svm'), '--parts', '20', '--out-dir', f('svm-parts')]);
    expect(svm.stderr).toBe('');
    expect(svm.status).toBe(0);
  });
});

/** Starts a master; resolves with its port once it listens, and the lines it logs. */
function startMaster(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'master', '--port', '0', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const port = new Promise<number>((resolve, reject) => {
    child.on('exit', (c) => reject(new Error(`master exited ${c}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        lines.push(o);
        if (o.event === 'listening') resolve(o.port as number);
      } catch {
        // not a log line
      }
    });
  });
  return { child, port, lines };
}

describe('the errors say what happened', () => {
  it('a worker with its own --data refuses a master that sends rows (exit 2), and the master logs why', async () => {
    const m = startMaster(['--data', f('a.svm'), '--workers', '1', '--fstar', '1', '--max-time', '30']);
    try {
      const port = await m.port;
      const w = soda([
        'worker',
        '--master',
        `ws://127.0.0.1:${port}`,
        '--data',
        f('part-{shard}.svm'),
        '--give-up',
        '10',
      ]);
      expect(w.status).toBe(2);
      expect(w.stderr).toContain('the master sends rows, but this worker reads its own --data');
      expect(w.stderr).toContain('--data-at-workers');
      const deadline = Date.now() + 10000;
      while (!m.lines.some((l) => l.msg === 'worker reported an error') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const why = m.lines.find((l) => l.msg === 'worker reported an error');
      expect(String(why?.message)).toContain('start the master with --data-at-workers');
    } finally {
      m.child.kill('SIGKILL');
    }
  });

  it('a port in use is exit 2 naming the port', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = soda([
        'master',
        '--data',
        f('a.svm'),
        '--workers',
        '1',
        '--fstar',
        '1',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
      ]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`port ${port} is in use`);
    } finally {
      taken.close();
    }
  });

  it('--eval-every 0 is refused (it used to log no progress line at all)', () => {
    const r = soda(['master', '--data', f('a.svm'), '--workers', '1', '--fstar', '1', '--eval-every', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--eval-every (env SODA_EVAL_EVERY) must be > 0');
  });

  it('the help says the real defaults: soda run listens on 127.0.0.1', () => {
    const r = soda(['run', '--help']);
    expect(r.status).toBe(0);
    const at = r.stdout.indexOf('--host');
    const host = r.stdout.slice(at, r.stdout.indexOf('\n  --', at));
    expect(host).toContain('[default: "127.0.0.1"]');
  });
});

/** A worker process; resolves with its exit code and stderr. */
function startWorker(port: number, data: string, ...more: string[]) {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--master', `ws://127.0.0.1:${port}`, '--data', data, '--give-up', '20', ...more],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  return { child, done };
}

describe('data at the workers, from the workers’ side', () => {
  it('a corrupted part is E_DATA_MISMATCH naming the field, on the worker (exit 2) and in the master’s log', async () => {
    const parts = f('bad-parts');
    expect(soda(['data', 'split', f('a.svm'), '--parts', '2', '--out-dir', parts]).status).toBe(0);
    const p1 = path.join(parts, 'part-00001.svm');
    // one value changed: still a valid LIBSVM file, but not the manifest's part 1
    writeFileSync(
      p1,
      readFileSync(p1, 'utf8').replace(/:(\d)/, (_, d: string) => `:${(Number(d) + 1) % 10}`),
    );
    const m = startMaster(['--data-at-workers', '--workers', '2', '--max-time', '60']);
    const workers: ReturnType<typeof startWorker>[] = [];
    try {
      const port = await m.port;
      for (let i = 0; i < 2; i++) workers.push(startWorker(port, path.join(parts, 'part-{shard}.svm')));
      const first = await Promise.race(workers.map((w) => w.done));
      expect(first.code).toBe(2);
      expect(first.stderr).toContain('E_DATA_MISMATCH');
      expect(first.stderr).toContain('parts[1].sha256');
      const deadline = Date.now() + 10000;
      while (!m.lines.some((l) => l.msg === 'worker reported an error') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const why = m.lines.find((l) => l.msg === 'worker reported an error');
      expect(why).toMatchObject({ code: 'E_DATA_MISMATCH' });
      expect(String(why?.message)).toContain('parts[1].sha256');
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
      m.child.kill('SIGKILL');
    }
  });

  it('soda worker --data takes --max-features like every data command', async () => {
    const parts = f('wide-parts');
    expect(soda(['data', 'split', f('a.svm'), '--parts', '1', '--out-dir', parts]).status).toBe(0);
    const m = startMaster(['--data-at-workers', '--workers', '1', '--max-time', '60']);
    try {
      const port = await m.port;
      const w = await startWorker(port, path.join(parts, 'part-{shard}.svm'), '--max-features', '3').done;
      expect(w.code).toBe(2);
      expect(w.stderr).toContain('exceeds the feature limit 3');
    } finally {
      m.child.kill('SIGKILL');
    }
  });

  it.each([
    ['the intercept on (the default)', []],
    ['no intercept', ['--no-intercept']],
  ])(
    'workers read the CSV parts of soda data split: the run reaches the central F* (%s)',
    async (name, flags) => {
      const parts = f(`csv-run-${flags.length}`);
      expect(soda(['data', 'split', f('train.csv'), '--parts', '2', '--out-dir', parts]).status).toBe(0);
      const ref = soda(['solve', '--data', f('train.csv'), ...flags, '--cache', f(`c4-${flags.length}`)]);
      expect(ref.status).toBe(0);
      const fstar = (JSON.parse(ref.stdout) as { fstar: number }).fstar;
      const m = startMaster([
        '--data-at-workers',
        '--workers',
        '2',
        ...flags,
        '--tol',
        '1e-9',
        '--max-time',
        '90',
        '--eval-every',
        '0.2',
      ]);
      const workers: ReturnType<typeof startWorker>[] = [];
      try {
        const port = await m.port;
        for (let i = 0; i < 2; i++) workers.push(startWorker(port, path.join(parts, 'part-{shard}.csv')));
        const code = await new Promise<number | null>((r) => m.child.on('exit', r));
        expect(code).toBe(0);
        const summary = m.lines.find((l) => l.msg === 'summary') as { objective: number; reason: string };
        expect(summary.reason).toBe('tol-gap');
        expect((summary.objective - fstar) / fstar).toBeLessThanOrEqual(1e-9);
        expect(summary.objective).toBeGreaterThanOrEqual(fstar * (1 - 1e-12));
      } finally {
        for (const w of workers) w.child.kill('SIGKILL');
        m.child.kill('SIGKILL');
      }
    },
    120000,
  );
});
