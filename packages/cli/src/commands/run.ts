import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, getPriority, setPriority } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Argv, CommandModule } from 'yargs';
import { isListeningRecord } from '@soda/protocol';
import { trainingOptions } from '../options';
import * as v from '../validate';
import { resolveToken } from '../token';
import { workerGroups } from './worker-groups';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'soda.js');

/** Options of `soda run` that are not the master's own: they shape the local worker processes. */
const RUN_ONLY = new Set([
  'slow-workers',
  'slowdown',
  'pretty',
  'port',
  'host',
  'token',
  'token-file',
  'worker-nice',
  'worker-batch',
  'worker-processes',
]);

/**
 * A local cluster: one master process and M workers on this machine (in worker processes, several to a
 * process where they outnumber the cores: workerGroups), talking real WebSockets over loopback. The
 * master's JSON log is streamed (pretty on a terminal); the exit code is the master's.
 */
export async function runLocalCluster(argv: readonly string[], a: Record<string, unknown>): Promise<number> {
  const workers = v.positiveInt('workers', a.workers, 1000);
  const slowWorkers = v.nonNegativeInt('slow-workers', a.slowWorkers);
  const slowdown = v.num('slowdown', a.slowdown);
  const pretty = (a.pretty as boolean | undefined) ?? process.stdout.isTTY;
  // The token reaches the master and the workers through their environment, never their argv
  // (which any local user can read in ps); SODA_TOKEN_FILE is dropped so they see one source only.
  const token = resolveToken(a);
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.SODA_TOKEN;
  delete childEnv.SODA_TOKEN_FILE;
  // how many workers a process runs is this command's to say (--count on the worker's line), not the env's
  delete childEnv.SODA_COUNT;
  if (token !== undefined) childEnv.SODA_TOKEN = token;
  const processes =
    a.workerProcesses === undefined
      ? defaultWorkerProcesses(workers)
      : v.positiveInt('worker-processes', a.workerProcesses, workers);
  const workerNice = v.niceLevel('worker-nice', a.workerNice ?? DEFAULT_WORKER_NICE);
  const v8Flags = localV8Flags(workers);
  const workerBatch = a.workerBatch !== false;
  let batchRefused = false;
  /** Say once, on stderr, that the workers stay in the normal policy (the run itself goes on). */
  const batchFailed = (why: string): void => {
    if (batchRefused) return;
    batchRefused = true;
    process.stderr.write(
      `soda run: the workers stay in the normal scheduling policy, not SCHED_BATCH (${why}); ` +
        'a waking worker may preempt the master. --no-worker-batch does without it.\n',
    );
  };
  const masterArgs = [
    BIN,
    'master',
    ...passThrough(argv),
    '--port',
    String(a.port ?? 0),
    '--host',
    v.optionalString(a.host) ?? '127.0.0.1',
    '--no-pretty',
  ];
  const master = spawn(process.execPath, [...v8Flags, ...masterArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: childEnv,
  });
  const children: ChildProcess[] = [];
  const out = pretty ? prettyStream() : process.stdout;
  const forward = (sig: NodeJS.Signals) => master.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  let started = false;
  readline.createInterface({ input: master.stdout! }).on('line', (line) => {
    out.write(line + '\n');
    if (started) return;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    // The master's typed `listening` record carries the port it bound (the message text is for people).
    if (isListeningRecord(rec)) {
      started = true;
      for (const [p, g] of workerGroups(workers, slowWorkers, processes).entries()) {
        const args = [BIN, 'worker', '--master', `ws://127.0.0.1:${rec.port}`, '--give-up', '60'];
        // one worker: local-<i>; a process of several: local-p<p>-0, local-p<p>-1, …
        if (g.count === 1) args.push('--id', `local-${g.first}`);
        else args.push('--id', `local-p${p}`, '--count', String(g.count));
        if (g.slow) args.push('--slowdown', String(slowdown));
        const child = spawn(process.execPath, [...v8Flags, ...args], {
          stdio: ['ignore', 'ignore', 'inherit'],
          env: childEnv,
        });
        lowerPriority(child, workerNice);
        if (workerBatch) batchPolicy(child, batchFailed);
        children.push(child);
      }
    }
  });
  const code = await new Promise<number>((res) =>
    master.on('exit', (c, sig) => res(c ?? (sig ? 128 + 15 : 1))),
  );
  // Workers leave when the master stops them; give them a moment, then make sure none outlives us.
  await Promise.race([
    Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r))))),
    new Promise((r) => setTimeout(r, 5000)),
  ]);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  return code;
}

/**
 * The local workers' nice level by default. On one machine the master is the serial bottleneck (every
 * update passes through it); when it wakes a worker with a reply, an equal-priority worker preempts
 * it, and the master waits for a core while holding the replies of the others. Measured (issue 18,
 * BENCHMARKS.md): spam to 1e−6 with 20 workers on 2 cores in 0.81–0.92× the time at nice 10. Where
 * cores are free, nice changes nothing.
 */
const DEFAULT_WORKER_NICE = 10;

/**
 * How many processes host the local workers by default: one per worker where the cores suffice (the
 * workers and the master each have one); else as many as the cores, each running several workers in
 * one event loop. Measured (issue 18, BENCHMARKS.md): 20 ws clients on 2 cores exchanging a step's frames
 * with one server spent 213–234 µs of CPU per round trip as 20 processes and 38–76 µs as 2 — the
 * difference is the switching between processes, each with its own heap and code, not the messages.
 */
function defaultWorkerProcesses(workers: number, cores: number = availableParallelism()): number {
  return workers + 1 > cores ? Math.min(workers, cores) : workers;
}

/**
 * V8 flags of the local cluster's processes (master and workers). V8 collects garbage with helper
 * threads beside the main one; when the local processes (M workers and the master) outnumber the
 * cores, those threads only take cores from the other processes, and their hand-offs cost CPU: each
 * process then collects on its own thread (`--single-threaded-gc`). Measured (issue 18,
 * BENCHMARKS.md), 20 workers on 2 cores: the workers, half of them with the flag, 0.96–0.98× the CPU
 * per step of the others in four runs; the master with it, 1.03–1.17× the updates in 40 s, four pairs
 * (it runs ≈ 3 mark-compacts a second, from the external memory of its frame buffers).
 */
function localV8Flags(workers: number, cores: number = availableParallelism()): string[] {
  return workers + 1 > cores ? ['--single-threaded-gc'] : [];
}

/** Run a local worker at nice level `nice`, unless this process already runs at that level or lower. */
function lowerPriority(child: ChildProcess, nice: number): void {
  if (child.pid === undefined || nice <= getPriority()) return;
  try {
    setPriority(child.pid, nice);
  } catch {
    // not permitted here: run at this process's priority
  }
}

/**
 * Put a local worker in Linux's SCHED_BATCH policy (util-linux's `chrt`, which any user may run on a
 * process of theirs; where it is missing or refused the worker keeps the normal policy, and `failed`
 * hears why). A batch process never preempts a running one when it wakes, so the master, woken and
 * running, keeps its core while it answers the workers; nice 10 only makes that less likely. Measured
 * (issue 18, BENCHMARKS.md): 20 workers on 2 cores, updates in 40 s, four pairs: 1.03–1.14× with it.
 */
function batchPolicy(child: ChildProcess, failed: (why: string) => void): void {
  if (child.pid === undefined || process.platform !== 'linux') return;
  execFile('chrt', ['--batch', '--pid', '0', String(child.pid)], (err, _out, stderr) => {
    // a worker gone already (it failed at start, and says why itself) is not chrt's problem
    if (err === null || child.exitCode !== null || child.signalCode !== null) return;
    const code = (err as NodeJS.ErrnoException).code;
    failed(
      code === 'ENOENT' ? 'chrt, from util-linux, is not installed' : stderr.trim() || `chrt: ${err.message}`,
    );
  });
}

/** The command line minus `run` and the run-only options: everything else goes to the master. */
function passThrough(argv: readonly string[]): string[] {
  const out: string[] = [];
  const args = argv.slice(argv.indexOf('run') + 1);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.replace(/^--(no-)?/, '').split('=')[0];
    if (arg.startsWith('--') && RUN_ONLY.has(name)) {
      if (
        !arg.includes('=') &&
        !arg.startsWith('--no-') &&
        args[i + 1] !== undefined &&
        !args[i + 1].startsWith('--')
      )
        i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

function prettyStream(): NodeJS.WritableStream {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
  return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

export const runCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'run',
  describe:
    'run a local cluster: one master and M workers over loopback WebSockets (a process each, or several a process where they outnumber the cores)',
  builder: (y: Argv) =>
    trainingOptions(y)
      .option('port', { type: 'number', default: 0, describe: 'master port (0: any free port)' })
      .option('host', {
        type: 'string',
        default: '127.0.0.1',
        describe: 'address the master listens on (loopback: the workers are local)',
      })
      .option('worker-nice', {
        type: 'number',
        default: DEFAULT_WORKER_NICE,
        describe:
          'run the local workers at this nice level (0–19) so the master, the bottleneck, gets a core first (0: as this process)',
      })
      .option('worker-batch', {
        type: 'boolean',
        default: true,
        describe:
          'run the local workers in the SCHED_BATCH policy (Linux): a waking worker does not preempt the master (--no-worker-batch: the normal policy)',
      })
      .option('worker-processes', {
        type: 'number',
        describe:
          'processes the local workers run in (default: one per worker when the workers and the master fit the cores, else one per core, each running several workers; --worker-processes M: one each)',
      })
      .option('slow-workers', { type: 'number', default: 0, describe: 'how many workers run slowed down' })
      .option('slowdown', {
        type: 'number',
        default: 4,
        describe: 'slowdown factor of the slow workers',
      }) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    process.exitCode = await runLocalCluster(process.argv.slice(2), a);
  },
};
