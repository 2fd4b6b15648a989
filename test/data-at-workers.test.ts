import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { maxAbsScale, readLibsvm, withIntercept, writeLibsvm } from '@soda/core';
import { solveReference } from '@soda/solver';
import { plantedProblem } from './helpers/problems';

/*
 * The data stays where it is, over real processes: `soda data split` cuts a file into M parts, `soda
 * master --data-at-workers` (no data, no F*) runs the stats round with M `soda worker --data
 * …/part-{shard}.svm`, trains, and stops on the certified duality gap. Checked against the reference
 * solver's F* on the whole file: the final objective, and the gap bounding F − F* on every progress
 * line. A worker killed mid-run is replaced by a spare that re-reads its shard. Both modes run with
 * the defaults, so with the intercept (each worker appends its constant column after scaling): the
 * two must reach the same F, and write the same model, intercept included.
 */

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'bin', 'soda.js');
type Line = Record<string, unknown>;

/** A child process whose stdout JSON lines are collected, with a way to wait for one. */
class Proc {
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  private waiters: { test: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  stderr = '';
  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let line: Line;
        try {
          line = JSON.parse(text) as Line;
        } catch {
          continue;
        }
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }
  waitFor(test: (l: Line) => boolean): Promise<Line> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

/**
 * How far from w* a run stopped at (F − F*)/F* ≤ 1e−12 can be: F is λ2-strongly convex, so
 * ‖w − w*‖² ≤ 2(F(w) − F*)/λ2 (λ2 = 0.01 here).
 */
const wTol = (fstar: number) => Math.sqrt((2 * 1e-12 * fstar) / 0.01);

describe('soda master --data-at-workers (the workers hold the data)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-at-workers-'));
  const procs: Proc[] = [];
  const start = (args: string[]) => {
    const p = new Proc(spawn(process.execPath, [BIN, ...args]));
    procs.push(p);
    return p;
  };
  afterAll(() => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses, once and by name, what a master without data cannot do (exit 2)', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, 'master', '--data-at-workers', '--workers', '2', ...args], {
        encoding: 'utf8',
        timeout: 30000,
      });
    const withData = run(['--data', path.join(dir, 'x.svm')]);
    expect(withData.status).toBe(2);
    expect(withData.stderr).toContain('--data cannot be given');
    const test = run(['--test-fraction', '0.2']);
    expect(test.status).toBe(2);
    expect(test.stderr).toContain('--test-fraction');
  });

  interface RawModel {
    version: number;
    fitIntercept: boolean;
    intercept: number;
    idx: number[];
    val: number[];
  }
  let noDataModel: RawModel | undefined;
  let finalNoData = NaN;
  let fstarRef = NaN;
  /** the max-abs divisors (the model file's weights are w_k / s_k) */
  let divisors = new Float64Array(0);

  it('splits, trains without data or F*, stops on the gap, survives a killed worker', async () => {
    const M = 3;
    const lambda1 = 0.01;
    const lambda2 = 0.01;
    const file = path.join(dir, 'all.svm');
    await writeLibsvm(file, plantedProblem(5, 360, 30));
    const parts = path.join(dir, 'parts');
    const split = spawnSync(
      process.execPath,
      [BIN, 'data', 'split', file, '--parts', String(M), '--out-dir', parts, '--seed', '3'],
      { encoding: 'utf8', timeout: 60000 },
    );
    expect(split.status).toBe(0);

    // the independent answer: the reference solver on the whole file, scaled as the master would,
    // with the intercept's column appended after scaling and left out of the ℓ1 term
    const full = await readLibsvm(file);
    const central = maxAbsScale(full.X);
    divisors = central.scale;
    const ref = solveReference(withIntercept({ X: central.X, y: full.y }), lambda1, lambda2, {
      unpenalizedFrom: central.X.cols,
    });
    const fstar = ref.fstar;

    const modelOut = path.join(dir, 'model.json');
    const master = start([
      'master',
      '--data-at-workers',
      '--workers',
      String(M),
      '--manifest',
      path.join(parts, 'manifest.json'),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--lambda1',
      String(lambda1),
      '--lambda2',
      String(lambda2),
      '--tol',
      '1e-12',
      '--p',
      '0.5',
      '--eval-every',
      '0.05',
      '--checkpoint-every',
      '0',
      '--out',
      dir,
      '--model-out',
      modelOut,
      '--wait-timeout',
      '60',
    ]);
    const listening = await master.waitFor((l) => l.event === 'listening');
    const worker = () =>
      start([
        'worker',
        '--master',
        `ws://127.0.0.1:${String(listening.port)}`,
        '--data',
        path.join(parts, 'part-{shard}.svm'),
        '--give-up',
        '20',
        '--log-level',
        'info',
      ]);
    // M + 1 workers: whichever comes last waits as a spare
    const workers = Array.from({ length: M + 1 }, worker);

    // mid-run (the first progress line: every owner is ready), kill one owner; the spare must re-read its shard
    await master.waitFor((l) => l.msg === 'progress');
    const scaled = (w: Proc) => w.lines.find((l) => l.msg === 'shard scaled');
    const victim = workers.find((w) => scaled(w) !== undefined)!;
    const spare = workers.find((w) => scaled(w) === undefined)!;
    expect(workers.filter((w) => scaled(w) !== undefined)).toHaveLength(M);
    const victimShard = scaled(victim)!.shard;
    victim.child.kill('SIGKILL');
    const taken = await master.waitFor((l) => l.msg === 'shard taken over');
    expect(taken.shard).toBe(victimShard);
    const loaded = await spare.waitFor((l) => l.msg === 'shard loaded');
    expect(loaded.shard).toBe(victimShard);

    const code = await master.exited;
    expect(master.stderr).toBe('');
    expect(code).toBe(0);
    const startLine = master.lines.find((l) => l.msg === 'start')!;
    expect(startLine).toMatchObject({ m: 360, n: 30, intercept: true, fstar: null, workers: M });
    expect(String(startLine.stopRule)).toContain('gap');
    const summary = master.lines.find((l) => l.msg === 'summary')!;
    expect(summary.reason).toBe('tol-gap');

    // every progress line: the certified gap bounds the true suboptimality F − F*
    const progress = master.lines.filter((l) => l.msg === 'progress');
    expect(progress.length).toBeGreaterThan(1);
    for (const l of progress) {
      const F = l.objective as number;
      const gap = l.gap as number;
      expect(l.subopt).toBeNull();
      expect(F - fstar).toBeLessThanOrEqual(gap + 1e-14 * Math.abs(fstar));
      expect(l.gapRel).toBeCloseTo(gap / Math.abs(l.dual as number), 12);
    }
    const last = progress[progress.length - 1];
    finalNoData = last.objective as number;
    fstarRef = fstar;
    expect(last.gapRel as number).toBeLessThanOrEqual(1e-12);
    expect(Math.abs((last.objective as number) - fstar) / fstar).toBeLessThanOrEqual(1e-12);

    // the model is in the original feature space (the stats round's scale folded in), with the intercept
    noDataModel = JSON.parse(fs.readFileSync(modelOut, 'utf8')) as RawModel;
    expect(noDataModel).toMatchObject({ version: 2, fitIntercept: true });
    expect(Math.abs(noDataModel.intercept - ref.w[30])).toBeLessThanOrEqual(wTol(fstar));
    expect(ref.w[30]).not.toBe(0);
    expect(noDataModel.idx.length).toBeGreaterThan(0);
    await Promise.all(procs.filter((p) => p !== victim).map((p) => p.exited));
  }, 60000);

  it('the central mode on the unsplit file reaches the same F, with subopt and gap side by side', async () => {
    expect(Number.isFinite(finalNoData)).toBe(true);
    const M = 3;
    const master = start([
      'master',
      '--data',
      path.join(dir, 'all.svm'),
      '--workers',
      String(M),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--lambda1',
      '0.01',
      '--lambda2',
      '0.01',
      '--fstar',
      String(fstarRef),
      '--tol',
      '1e-12',
      '--p',
      '0.5',
      '--eval-every',
      '0.05',
      '--checkpoint-every',
      '0',
      '--out',
      dir,
      '--model-out',
      path.join(dir, 'central.json'),
    ]);
    const listening = await master.waitFor((l) => l.event === 'listening');
    for (let i = 0; i < M; i++)
      start(['worker', '--master', `ws://127.0.0.1:${String(listening.port)}`, '--give-up', '20']);
    expect(await master.exited).toBe(0);
    const summary = master.lines.find((l) => l.msg === 'summary')!;
    expect(summary.reason).toBe('tol');
    const progress = master.lines.filter((l) => l.msg === 'progress');
    for (const l of progress) {
      const F = l.objective as number;
      expect(l.subopt).toBeCloseTo((F - fstarRef) / fstarRef, 15);
      expect(F - fstarRef).toBeLessThanOrEqual((l.gap as number) + 1e-14 * fstarRef);
    }
    const F = progress[progress.length - 1].objective as number;
    expect(Math.abs(F - finalNoData) / fstarRef).toBeLessThanOrEqual(1e-12);
    // the same weights in the original space: the stats round's scale is the central max-abs scale
    const model = JSON.parse(fs.readFileSync(path.join(dir, 'central.json'), 'utf8')) as RawModel;
    expect(model.fitIntercept).toBe(true);
    // both within wTol of w* (scaled space), so within 2·wTol of each other; w_k / s_k in the file
    expect(Math.abs(model.intercept - noDataModel!.intercept)).toBeLessThanOrEqual(2 * wTol(fstarRef));
    expect(model.idx).toEqual(noDataModel!.idx);
    model.val.forEach((v, t) =>
      expect(Math.abs(v - noDataModel!.val[t])).toBeLessThanOrEqual(
        (2 * wTol(fstarRef)) / divisors[model.idx[t]],
      ),
    );
  }, 60000);

  it('--resume after a SIGKILL of the master: the workers re-send their stats, the checkpoint the rest', async () => {
    expect(Number.isFinite(fstarRef)).toBe(true);
    const M = 3;
    const parts = path.join(dir, 'parts');
    // a fixed port: the workers reconnect to the same address when the master comes back
    const port = await new Promise<number>((res) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => res(p));
      });
    });
    const ckFile = path.join(dir, 'resume.soda');
    const args = (extra: string[]) => [
      'master',
      '--data-at-workers',
      '--workers',
      String(M),
      '--manifest',
      path.join(parts, 'manifest.json'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--lambda1',
      '0.01',
      '--lambda2',
      '0.01',
      '--tol',
      '1e-12',
      '--p',
      '0.5',
      '--eval-every',
      '0.05',
      '--checkpoint-every',
      '0.1',
      '--checkpoint',
      ckFile,
      '--delay-ms',
      '10', // slow enough that the first master is killed long before the target
      '--out',
      dir,
      '--model-out',
      path.join(dir, 'resumed.json'),
      '--wait-timeout',
      '60',
      ...extra,
    ];
    const first = start(args([]));
    await first.waitFor((l) => l.event === 'listening');
    const workers = Array.from({ length: M }, () =>
      start([
        'worker',
        '--master',
        `ws://127.0.0.1:${String(port)}`,
        '--data',
        path.join(parts, 'part-{shard}.svm'),
        '--give-up',
        '120', // the workers must outlast the gap between the two masters, however loaded the machine
      ]),
    );
    const written = await first.waitFor((l) => l.msg === 'checkpoint written' && (l.k as number) > 0);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.lines.find((l) => l.msg === 'summary')).toBeUndefined(); // it died mid-run
    const ck = readCheckpointK(ckFile);
    expect(ck).toBeGreaterThanOrEqual(written.k as number);

    const second = start(args(['--resume']));
    const code = await second.exited;
    expect(second.stderr).toBe('');
    // on failure, say what the resumed master last did
    expect({ code, last: second.lines.slice(-4).map((l) => l.msg) }).toMatchObject({ code: 0 });
    expect(
      second.lines.find((l) => l.msg === 'will resume from checkpoint after the stats round'),
    ).toMatchObject({ k: ck });
    const progress = second.lines.filter((l) => l.msg === 'progress');
    expect(progress[0].k as number).toBeGreaterThanOrEqual(ck); // continued, not restarted
    const summary = second.lines.find((l) => l.msg === 'summary')!;
    expect(summary.reason).toBe('tol-gap');
    const last = progress[progress.length - 1];
    expect(last.gapRel as number).toBeLessThanOrEqual(1e-12);
    expect(Math.abs((last.objective as number) - fstarRef) / fstarRef).toBeLessThanOrEqual(1e-12);
    expect(Math.abs((last.objective as number) - finalNoData) / fstarRef).toBeLessThanOrEqual(1e-12);
    for (const w of workers) expect(await w.exited).toBe(0);
  }, 90000);
});

/** k of the checkpoint on disk (read as the resumed master will). */
function readCheckpointK(file: string): number {
  const buf = fs.readFileSync(file);
  const len = buf.readUInt32LE(12);
  return (JSON.parse(buf.toString('utf8', 16, 16 + len)) as { k: number }).k;
}
