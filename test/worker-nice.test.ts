import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { writeLibsvm } from '@soda/core';
import { plantedProblem } from './helpers/problems';

/*
 * `soda run` starts its local workers at a lower priority than the master (issue 18: on one machine
 * the master is the bottleneck). Read from the real processes' scheduling priority (Linux /proc).
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

/** Start `soda run` and resolve once the master logs its start (every worker is then ready). */
function startRun(extra: string[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'run', '--data', file, '--workers', '3', '--tol', '0', '--max-time', '60', '--no-pretty', ...extra],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no start line within 60 s')), 60000);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"msg":"start"')) {
        clearTimeout(t);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`soda run exited ${code} before its start line`)));
  });
}

async function priorities(extra: string[]): Promise<{ master: number; workers: number[] }> {
  const run = await startRun(extra);
  try {
    const kids = children(run.pid!);
    const master = kids.find((k) => / master /.test(k.cmd));
    const workers = kids.filter((k) => / worker /.test(k.cmd));
    expect(master).toBeDefined();
    expect(workers).toHaveLength(3);
    return { master: getPriority(master!.pid), workers: workers.map((w) => getPriority(w.pid)) };
  } finally {
    const exited = new Promise((r) => run.on('exit', r));
    run.kill('SIGTERM');
    await exited;
  }
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
    const child = spawn(process.execPath, [BIN, 'run', '--data', file, '--worker-nice', '25'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).not.toBe(0);
    expect(err).toMatch(/--worker-nice.*must be an integer from 0 to 19.*25/);
  }, 30000);
});
