import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, getPriority, tmpdir } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { writeLibsvm } from '@soda/core';
import { plantedProblem } from './helpers/problems';

/*
 * `soda run` starts its local workers at a lower priority than the master (issue 18: on one machine
 * the master is the bottleneck), and with V8's garbage collection on their own thread when the
 * processes outnumber the cores. Read from the real processes (Linux /proc: priority, command line).
 */

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'bin', 'soda.js');
const dir = mkdtempSync(path.join(tmpdir(), 'soda-nice-'));
const file = path.join(dir, 'planted.svm');

beforeAll(async () => {
  await writeLibsvm(file, plantedProblem(3, 300, 20));
});

/** The direct children of `pid` with their command lines (Linux: /proc/<pid>/task/<pid>/children). */
function children(pid: number): { pid: number; cmd: string }[] {
  const list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  if (list === '') return [];
  return list.split(/\s+/).map((c) => ({
    pid: Number(c),
    cmd: readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').join(' '),
  }));
}

/**
 * Start `soda run` and resolve once the master logs its start (every worker is then ready), with what
 * `soda run` itself has written on stderr so far and the master's log lines so far.
 */
function startRun(
  extra: string[],
  workers = 3,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ run: ChildProcess; stderr: () => string; log: string[] }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'run',
      '--data',
      file,
      '--workers',
      String(workers),
      '--tol',
      '0',
      '--max-time',
      '60',
      '--no-pretty',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const log: string[] = [];
  const started = { run: child, stderr: () => stderr.join(''), log };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no start line within 60 s')), 60000);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      log.push(line);
      if (line.includes('"msg":"start"')) {
        clearTimeout(t);
        resolve(started);
      }
    });
    child.on('exit', (code) => reject(new Error(`soda run exited ${code} before its start line`)));
  });
}

interface Proc {
  pid: number;
  cmd: string;
}

/**
 * How many processes `soda run` runs M workers in by default, as documented: one each where the workers
 * and the master fit the cores, else one per core.
 */
function defaultProcesses(workers: number): number {
  const cores = availableParallelism();
  return workers + 1 > cores ? Math.min(workers, cores) : workers;
}

/**
 * `read` of the running cluster's processes (the master and the worker processes, as many as
 * `processes`), then stop it.
 */
async function whileRunning<T>(
  extra: string[],
  workers: number,
  read: (master: Proc, workers: Proc[], stderr: () => string, log: string[]) => T,
  env?: NodeJS.ProcessEnv,
  processes = defaultProcesses(workers),
): Promise<T> {
  const { run, stderr, log } = await startRun(extra, workers, env);
  try {
    const kids = children(run.pid!);
    const master = kids.find((k) => / master /.test(k.cmd));
    const ws = kids.filter((k) => / worker /.test(k.cmd));
    expect(master).toBeDefined();
    expect(ws).toHaveLength(processes);
    return read(master!, ws, stderr, log);
  } finally {
    const exited = new Promise((r) => run.on('exit', r));
    run.kill('SIGTERM');
    await exited;
  }
}

/** A process's scheduling policy (Linux /proc/<pid>/stat, field 41): 0 SCHED_OTHER, 3 SCHED_BATCH. */
function policy(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[41 - 3]);
}

const SCHED_OTHER = 0;
const SCHED_BATCH = 3;
// (the test is only meaningful if this process is not itself a batch one)
if (policy(process.pid) !== SCHED_OTHER)
  throw new Error(`run these tests in the normal scheduling policy, not ${policy(process.pid)}`);

/** `soda run` with `extra`, which it is expected to refuse at once: its exit code and output. */
async function refused(extra: string[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [BIN, 'run', '--data', file, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  return { code, err };
}

function priorities(extra: string[]): Promise<{ master: number; workers: number[] }> {
  return whileRunning(extra, 3, (master, workers) => ({
    master: getPriority(master.pid),
    workers: workers.map((w) => getPriority(w.pid)),
  }));
}

describe('soda run: the local workers’ priority', () => {
  const own = getPriority();

  it('by default the workers run at nice 10 and the master at this process’s level', async () => {
    const p = await priorities([]);
    expect(p.master).toBe(own);
    for (const w of p.workers) expect(w).toBe(Math.max(own, 10));
  }, 90000);

  it('--worker-nice 0 leaves them at this process’s level; 19 is the lowest', async () => {
    const zero = await priorities(['--worker-nice', '0']);
    for (const w of zero.workers) expect(w).toBe(own);
    const low = await priorities(['--worker-nice', '19']);
    for (const w of low.workers) expect(w).toBe(19);
  }, 120000);

  it('refuses a nice level outside 0–19, naming the option', async () => {
    const { code, err } = await refused(['--worker-nice', '25']);
    expect(code).not.toBe(0);
    expect(err).toMatch(/--worker-nice.*must be an integer from 0 to 19.*25/);
  }, 30000);
});

describe('soda run: the local processes’ garbage collection', () => {
  const cores = availableParallelism();
  const flag = ' --single-threaded-gc ';

  it('collects on each process’s own thread when the processes outnumber the cores', async () => {
    const workers = Math.max(3, cores); // workers + the master > cores
    const cmds = await whileRunning([], workers, (master, ws) => ({
      master: master.cmd,
      workers: ws.map((w) => w.cmd),
    }));
    for (const w of cmds.workers) expect(w).toContain(flag);
    expect(cmds.master).toContain(flag);
  }, 90000);

  it('leaves V8’s parallel collector alone where every process has a core', async () => {
    // one worker and the master: two processes, which a machine of ≥ 2 cores holds (CI has 2)
    if (cores < 2) throw new Error(`this test needs ≥ 2 cores; availableParallelism() = ${cores}`);
    const cmds = await whileRunning([], 1, (master, ws) => [master.cmd, ...ws.map((w) => w.cmd)]);
    expect(cmds).toHaveLength(2);
    for (const c of cmds) expect(c).not.toContain(flag);
  }, 90000);
});

describe('soda run: the local workers’ scheduling policy', () => {
  const own = policy(process.pid); // what the master and an untouched worker inherit
  it('by default the workers run in SCHED_BATCH and the master in this process’s policy', async () => {
    const p = await whileRunning([], 3, (master, ws) => ({
      master: policy(master.pid),
      workers: ws.map((w) => policy(w.pid)),
    }));
    expect(p.master).toBe(own);
    expect(p.workers).toEqual(p.workers.map(() => SCHED_BATCH));
  }, 90000);

  it('--no-worker-batch leaves them in this process’s policy (the normal one here)', async () => {
    const p = await whileRunning(['--no-worker-batch'], 3, (_, ws) => ws.map((w) => policy(w.pid)));
    expect(p).toEqual(p.map(() => own));
  }, 90000);

  it('says once, on stderr, when chrt refuses, and the run goes on in the normal policy', async () => {
    // a chrt that refuses as the real one does where policy changes are not permitted
    const bin = mkdtempSync(path.join(tmpdir(), 'soda-chrt-'));
    writeFileSync(
      path.join(bin, 'chrt'),
      '#!/bin/sh\necho "chrt: failed to set pid $4\'s policy: Operation not permitted" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
    const p = await whileRunning(
      [],
      3,
      (_, ws, stderr) => ({ policies: ws.map((w) => policy(w.pid)), stderr: stderr() }),
      env,
    );
    expect(p.policies).toEqual(p.policies.map(() => own));
    const said = p.stderr.match(
      /not SCHED_BATCH \(chrt: failed to set pid \d+'s policy: Operation not permitted\)/g,
    );
    expect(said).toHaveLength(1);
  }, 90000);
});

describe('soda run: the processes the local workers run in', () => {
  const cores = availableParallelism();
  /** every worker's name in the master's log ('worker joined') */
  const joined = (log: string[]): string[] =>
    log
      .map((l) => JSON.parse(l) as { msg?: string; worker?: string })
      .filter((r) => r.msg === 'worker joined')
      .map((r) => r.worker!)
      .sort();

  it('runs several workers a process, one process a core, where the processes would outnumber the cores', async () => {
    const workers = cores + 2; // workers + the master > cores, and more workers than cores
    const r = await whileRunning([], workers, (_, ws, __, log) => ({ cmds: ws.map((w) => w.cmd), log }));
    expect(r.cmds).toHaveLength(cores);
    const counts = r.cmds.map((c) => Number(/ --count (\d+)/.exec(c)?.[1] ?? 1));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(workers);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    const names = joined(r.log);
    expect(names).toHaveLength(workers);
    expect(new Set(names).size).toBe(workers);
    for (const n of names) expect(n).toMatch(/^local-p\d+-\d+$/);
  }, 90000);

  /** whileRunning with --worker-processes M: a process for each of the M workers */
  const oneEach = <T>(
    workers: number,
    read: (ws: Proc[], log: string[]) => T,
    env?: NodeJS.ProcessEnv,
  ): Promise<T> =>
    whileRunning(
      ['--worker-processes', String(workers)],
      workers,
      (_, ws, __, log) => read(ws, log),
      env,
      workers,
    );

  it('--worker-processes M gives each worker its own process, named local-<i>', async () => {
    const workers = cores + 1;
    const r = await oneEach(workers, (ws, log) => ({ cmds: ws.map((w) => w.cmd), log }));
    for (const c of r.cmds) expect(c).not.toContain('--count');
    expect(joined(r.log)).toEqual(Array.from({ length: workers }, (_, i) => `local-${i}`).sort());
  }, 90000);

  it('keeps the slow workers in processes of their own (one --slowdown a process)', async () => {
    const workers = 2 * cores + 2;
    const r = await whileRunning(['--slow-workers', '1', '--slowdown', '1.5'], workers, (_, ws) =>
      ws.map((w) => w.cmd),
    );
    const slow = r.filter((c) => c.includes('--slowdown 1.5'));
    expect(slow).toHaveLength(1);
    expect(slow[0]).not.toContain('--count'); // the one slow worker alone
  }, 90000);

  it('keeps SODA_COUNT out of its workers’ environment: how many a process runs is its own to say', async () => {
    const workers = cores + 1;
    const envs = await oneEach(
      workers,
      (ws) => ws.map((w) => readFileSync(`/proc/${w.pid}/environ`, 'utf8').split('\0')),
      { ...process.env, SODA_COUNT: '3', SODA_SEED: '7' },
    );
    for (const env of envs) {
      expect(env).toContain('SODA_SEED=7'); // the rest of the environment does reach them
      expect(env.filter((e) => e.startsWith('SODA_COUNT='))).toEqual([]);
    }
  }, 90000);

  it('refuses --worker-processes above --workers, naming the option', async () => {
    const { code, err } = await refused(['--workers', '2', '--worker-processes', '3']);
    expect(code).not.toBe(0);
    expect(err).toMatch(/worker-processes.*3/);
  }, 30000);
});
