/*
 * One cluster run through the real CLI: `soda run` (a master and M worker processes over loopback),
 * its JSON log to a file. Runs are strictly one after another: two clusters on 2 cores would measure
 * each other.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'soda.js');

/**
 * CPU accounting from /proc (Linux), in clock ticks: the machine's busy and total time, and the time of
 * this process's reaped descendants (`soda run` reaps its master and workers, we reap `soda run`), so
 * that each run can say how much of the 2 cores other jobs took while it ran. null off Linux.
 */
function cpuTicks() {
  try {
    const cpu = fs
      .readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number); // user … steal (guest is inside user)
    const total = cpu.reduce((a, b) => a + b, 0);
    const idle = cpu[3] + (cpu[4] || 0);
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = self
      .slice(self.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number); // f[0] is field 3 (state)
    return { total, busy: total - idle, children: f[13] + f[14] }; // cutime, cstime: fields 16, 17
  } catch {
    return null;
  }
}

/** Share of the machine used by the run and by everything else between two cpuTicks() samples. */
function cpuShares(a, b) {
  if (a === null || b === null || b.total === a.total) return null;
  const total = b.total - a.total;
  const mine = b.children - a.children;
  return { cluster: mine / total, others: Math.max(0, b.busy - a.busy - mine) / total };
}

/** The `soda run` arguments of a run spec (see plan.js for the fields). */
function cliArgs(spec, outDir) {
  // the paper's problem has no intercept (an unpenalised constant column raises L, so κ)
  const a = ['run', '--no-pretty', '--no-intercept', '--workers', String(spec.workers), ...spec.dataArgs];
  a.push('--algo', spec.algo);
  if (spec.algo === 'soda') a.push('--p', String(spec.p));
  a.push('--tol', String(spec.tol), '--max-time', String(spec.maxTime));
  if (spec.maxEpochs !== undefined) a.push('--max-epochs', String(spec.maxEpochs));
  a.push('--eval-every', String(spec.evalEvery), '--seed', String(spec.seed));
  if (spec.slowWorkers > 0)
    a.push('--slow-workers', String(spec.slowWorkers), '--slowdown', String(spec.slowdown));
  a.push(...(spec.extraArgs ?? []));
  a.push('--out', outDir, '--model-out', path.join(outDir, 'models', `${spec.id}.json`));
  return a;
}

/** The command a person would type to repeat the run. */
function commandLine(spec, outDir) {
  return ['soda', ...cliArgs(spec, path.relative(ROOT, outDir) || '.')].join(' ');
}

/**
 * Run one spec; resolves with where its log went and how long the whole process took (spawning the
 * workers and loading data included; the log's elapsedMs counts training only). A run that outlives
 * its --max-time by `graceS` is stopped (SIGTERM to `soda run`, which forwards it to the master).
 */
function runCluster(spec, { outDir, logDir, graceS = 180 }) {
  fs.mkdirSync(logDir, { recursive: true });
  fs.mkdirSync(path.join(outDir, 'models'), { recursive: true });
  const logFile = path.join(logDir, `${spec.id}.jsonl`);
  const errFile = path.join(logDir, `${spec.id}.err`);
  const stdout = fs.openSync(logFile, 'w');
  const stderr = fs.openSync(errFile, 'w');
  const load0 = os.loadavg()[0];
  const cpu0 = cpuTicks();
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, ...cliArgs(spec, outDir)], {
    cwd: ROOT,
    stdio: ['ignore', stdout, stderr],
  });
  let killed = false;
  const guard = setTimeout(
    () => {
      killed = true;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 20000).unref();
    },
    (spec.maxTime + graceS) * 1000,
  );
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      fs.closeSync(stdout);
      fs.closeSync(stderr);
      resolve({
        logFile,
        errFile,
        exitCode: code,
        signal,
        killed,
        wallS: (Date.now() - t0) / 1000,
        load: [load0, os.loadavg()[0]],
        cpu: cpuShares(cpu0, cpuTicks()),
      });
    });
  });
}

module.exports = { runCluster, cliArgs, commandLine, BIN, ROOT };
