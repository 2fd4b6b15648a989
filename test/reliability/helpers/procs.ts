import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { writeLibsvm } from '@soda/core';
import { plantedProblem } from '../../helpers/problems';

/* The real `soda` command in child processes (built JS: run `npm run build` first), as a user runs it. */

export const BIN = path.resolve(__dirname, '..', '..', '..', 'packages', 'cli', 'bin', 'soda.js');

export type Line = Record<string, unknown>;

/** A soda process: its JSON log lines as they come, its stderr, and its exit. */
export class Proc {
  readonly lines: Line[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string> = {},
    opts: { nofile?: number } = {},
  ) {
    // a descriptor limit needs a shell to set it (node cannot setrlimit); exec keeps the pid ours
    const [cmd, argv] =
      opts.nofile === undefined
        ? [process.execPath, [BIN, ...args]]
        : ['/bin/sh', ['-c', `ulimit -n ${opts.nofile} && exec "$0" "$@"`, process.execPath, BIN, ...args]];
    this.child = spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    readline.createInterface({ input: this.child.stdout! }).on('line', (text) => {
      if (!text.startsWith('{')) return;
      const line = JSON.parse(text) as Line;
      this.lines.push(line);
      for (let i = this.waiters.length - 1; i >= 0; i--)
        if (this.waiters[i].pred(line)) this.waiters.splice(i, 1)[0].resolve(line);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((res) => this.child.on('exit', (code, signal) => res({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first log line (past or future) matching `pred`; fails after `ms` or when the process exits. */
  waitFor(pred: (l: Line) => boolean, ms = 30000, what = 'a log line'): Promise<Line> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${what} within ${ms} ms`)), ms);
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then(() =>
        setTimeout(() => {
          clearTimeout(timer);
          reject(new Error(`${this.name} exited before ${what}; stderr: ${this.stderr}`));
        }, 50),
      );
    });
  }

  msg(m: string): Line[] {
    return this.lines.filter((l) => l.msg === m);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }
}

/** A TCP port that was free a moment ago (for a master that must come back on the same port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `soda-${prefix}-`));
}

/** A small planted sparse logistic problem as a LIBSVM file. */
export async function problemFile(dir: string, seed = 5, m = 600, n = 30): Promise<string> {
  const file = path.join(dir, `planted-${seed}.svm`);
  await writeLibsvm(file, plantedProblem(seed, m, n));
  return file;
}

/** Master arguments for a small, slowed-down run on loopback (workers add `delayMs` per step). */
export function masterArgs(o: {
  data: string;
  out: string;
  port: number;
  workers: number;
  delayMs?: number;
  tol?: number;
  lambda1?: number;
  lambda2?: number;
  p?: number;
  /**
   * Fit an intercept (the CLI's default). Off by default here: these tests are about processes and
   * sockets, and were sized (updates to 1e−10) for the problem without it, which converges faster.
   */
  intercept?: boolean;
  extra?: string[];
}): string[] {
  return [
    'master',
    '--data',
    o.data,
    '--out',
    o.out,
    '--port',
    String(o.port),
    '--host',
    '127.0.0.1',
    '--workers',
    String(o.workers),
    '--lambda1',
    String(o.lambda1 ?? 0.01),
    '--lambda2',
    String(o.lambda2 ?? 0.001),
    '--p',
    String(o.p ?? 0.5),
    '--tol',
    String(o.tol ?? 1e-10),
    '--eval-every',
    '0.2',
    '--delay-ms',
    String(o.delayMs ?? 20),
    '--no-pretty',
    ...(o.intercept ? [] : ['--no-intercept']),
    ...(o.extra ?? []),
  ];
}

export function worker(name: string, master: string, extra: string[] = [], env: Record<string, string> = {}) {
  return new Proc(name, ['worker', '--master', master, '--id', name, '--log-level', 'info', ...extra], env);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Make sure no child outlives a test, whatever happened in it. */
export function killAll(procs: Iterable<Proc>): void {
  for (const p of procs) p.signal('SIGKILL');
}
