/*
 * npm run bench:overhead — what one update of Algorithm 1 costs outside the arithmetic (issue 12).
 *
 *   node scripts/bench-overhead.js [--quick] [--full] [--skip-sweep] [--skip-kernel] [--skip-run]
 *                                  [--baseline DIR] [--args "…"] [--baseline-args "…"] [--max-time S]
 *                                  [--pairs N]
 *
 * 1. Kernel: LocalStep.step on shard 0 of the spam run (pre-shuffled file, contiguous shards, M = 20)
 *    at w = w*, for p ∈ {0.01, 0.1, 1}, against a plain C loop doing the same work (same data, same
 *    mask sampler, no loss), built here with g++ -O3 (said so when g++ is missing).
 * 2. The spam run: `soda run --data <pre-shuffled spam> --no-shuffle --lambda1 2e-4 --lambda2 1e-3
 *    --workers 20 --p 0.1 --tol 1e-6`. CPU time is read from the processes' own counters
 *    (/proc/<pid>/stat utime + stime of the master and of every worker) at the master's `start` line and at
 *    its `summary` line; CPU per update = the difference ÷ updates. --quick stops it after 25 s of
 *    training (and still reports per-update figures); --full runs it to 1e−6.
 * 3. Cost as work grows: updates/s and CPU per update for M ∈ {5, 10, 20, 40} (fixed training time each).
 *
 * --baseline DIR: a built checkout of another version (say, the commit before the change). Every
 * measurement is then taken for it too, alternating with this checkout in the same invocation, and
 * the table gives after ÷ before ratios. --args / --baseline-args: extra `soda run` options for this
 * checkout's runs / the baseline's (e.g. --baseline . --args "--worker-nice 10" compares an option).
 * --pairs N (with --baseline): the spam run N times for each side, in alternating order (before after,
 * after before, …), since one pair swings ±15 % with the machine's load from one run to the next. The
 * table is the pair of median training-time ratio; a line lists every pair's times and ratio.
 *
 * Prints one JSON line per measurement, then a Markdown table for BENCHMARKS.md. The machine is shared
 * and noisy: compare ratios measured within one invocation.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'soda.js');
const OUT = path.join(ROOT, 'out', 'bench-overhead');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const full = args.includes('--full');
const argOf = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const baselineDir = argOf('--baseline') ? path.resolve(argOf('--baseline')) : null;
const afterArgs = (argOf('--args') ?? '').split(' ').filter((a) => a.length > 0);
const beforeArgs = (argOf('--baseline-args') ?? '').split(' ').filter((a) => a.length > 0);
const pairs = argOf('--pairs') ? Number(argOf('--pairs')) : 1;
if (!(Number.isInteger(pairs) && pairs >= 1))
  throw new Error(`--pairs must be an integer ≥ 1, got ${argOf('--pairs')}`);
const mainMaxTime = argOf('--max-time') ? Number(argOf('--max-time')) : quick ? 25 : 60;
const LAMBDA1 = 2e-4;
const LAMBDA2 = 1e-3;
const M = 20;
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

const rows = [];
function emit(r) {
  rows.push(r);
  process.stdout.write(JSON.stringify(r) + '\n');
}

// ---- data: the spam corpus as LIBSVM, rows shuffled once with a fixed seed (scripts/bench/spam-data.js)

const shuffledSpam = () => require('./bench/spam-data').shuffledSpam(OUT, BIN);

// ---- 1. the kernel against a plain C loop --------------------------------------------------------

/** CPU µs per call of fn (this process's CPU counter, so time spent descheduled does not count). */
function timeIt(fn, minMs) {
  for (let i = 0; i < 20; i++) fn(); // warm-up (JIT)
  let reps = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - t0) / 1e6 < minMs) {
    fn();
    reps++;
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / reps;
}

async function kernel(file) {
  const core = require('../packages/core/dist');
  const { LocalStep } = require('../packages/worker/dist');
  const Base = baselineDir ? require(path.join(baselineDir, 'packages', 'worker', 'dist')).LocalStep : null;
  const raw = await core.readLibsvm(file);
  const { X } = core.maxAbsScale(raw.X);
  const ds = { X, y: raw.y };
  // (solveCached moved from core to solver; it is async)
  const sol = await require('../packages/solver/dist').solveCached(ds, LAMBDA1, LAMBDA2, { cacheDir: OUT });
  const wstar = core.denseToSparse ? core.denseToSparse(sol.w) : toSparse(sol.w);
  const shard = core.shardDataset(ds, core.shardContiguous(ds.X.rows, M))[0];
  const L0 = core.logisticSmoothness(shard.X, LAMBDA2);
  const gamma = 2 / (LAMBDA2 + L0);
  const Xc = core.csrToCsc(shard.X);
  const local = { X: Xc, y: shard.y };
  const n = Xc.cols;
  const support = (100 * wstar.idx.length) / n;
  const cBin = buildCLoop();
  const dataFile = path.join(OUT, 'shard0.bin');
  if (cBin) writeShard(dataFile, Xc, shard.y, wstar, LAMBDA2, gamma);
  // The machine is shared: JS and C alternate for several rounds and each keeps its best (least
  // disturbed) round, both in CPU time.
  const rounds = quick ? 3 : 6;
  const minMs = quick ? 250 : 500;
  for (const p of [0.01, 0.1, 1]) {
    const ls = new LocalStep(local, LAMBDA2, { n, idx: new Uint32Array(0), val: new Float64Array(0) }, 1);
    const base = Base
      ? new Base(local, LAMBDA2, { n, idx: new Uint32Array(0), val: new Float64Array(0) }, 1)
      : null;
    let us = Infinity;
    let baseUs = Infinity;
    let cUs = cBin ? Infinity : null;
    for (let round = 0; round < rounds; round++) {
      const t = timeIt(() => ls.step(wstar, gamma, p), minMs);
      us = Math.min(us, t);
      if (base)
        baseUs = Math.min(
          baseUs,
          timeIt(() => base.step(wstar, gamma, p), minMs),
        );
      if (cBin) {
        const reps = Math.max(50, Math.round((minMs * 1e3) / Math.max(t / 2, 1)));
        cUs = Math.min(
          cUs,
          Number(
            execFileSync(cBin, [dataFile, String(p), String(reps)])
              .toString()
              .trim(),
          ),
        );
      }
    }
    emit({
      what: 'kernel LocalStep.step, spam shard 0 at w*',
      p,
      m: Xc.rows,
      n,
      supportPct: +support.toFixed(2),
      us: +us.toFixed(1),
      cLoopUs: cUs === null ? 'g++ not found' : +cUs.toFixed(1),
      speedVsC: cUs === null ? null : +(cUs / us).toFixed(2),
      ...(base ? { baselineUs: +baseUs.toFixed(1), ratio: +(us / baseUs).toFixed(2) } : {}),
    });
  }
  return { gamma, support };
}

function toSparse(w) {
  const idx = [];
  const val = [];
  for (let j = 0; j < w.length; j++)
    if (w[j] !== 0) {
      idx.push(j);
      val.push(w[j]);
    }
  return { n: w.length, idx: Uint32Array.from(idx), val: Float64Array.from(val) };
}

function buildCLoop() {
  const cxx = ['g++', 'c++', 'gcc', 'cc'].find((c) => spawnSync('which', [c]).status === 0);
  if (!cxx) return null;
  const out = path.join(OUT, 'kernel-loop');
  const src = path.join(__dirname, 'bench', 'kernel-loop.c');
  const lang = cxx.includes('++') ? ['-x', 'c++'] : [];
  const r = spawnSync(cxx, ['-O3', ...lang, '-o', out, src, '-lm'], { stdio: 'inherit' });
  return r.status === 0 ? out : null;
}

function writeShard(file, Xc, y, w, lambda2, gamma) {
  const n = Xc.cols;
  const parts = [
    Buffer.from(new Uint32Array([n, Xc.rows, w.idx.length]).buffer),
    Buffer.from(Uint32Array.from(Xc.ptr).buffer),
    Buffer.from(Uint32Array.from(Xc.ind).buffer),
    Buffer.from(Float64Array.from(Xc.val).buffer),
    Buffer.from(Float64Array.from(y).buffer),
    Buffer.from(Uint32Array.from(w.idx).buffer),
    Buffer.from(Float64Array.from(w.val).buffer),
    Buffer.from(new Float64Array([lambda2, gamma]).buffer),
  ];
  fs.writeFileSync(file, Buffer.concat(parts));
}

// ---- 2./3. a local cluster, CPU from the processes' own counters ---------------------------------

/** pid → { ppid, cpuUs } for every process (one pass over /proc). */
function procTable() {
  const t = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    t.set(Number(d), {
      ppid: Number(f[1]),
      cpuUs: (Number(f[11]) + Number(f[12])) * TICK_US,
      sysUs: Number(f[12]) * TICK_US,
    });
  }
  return t;
}

function roleOf(pid) {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.findIndex((a) => a.endsWith('soda.js'));
    return i >= 0 ? argv[i + 1] : 'other';
  } catch {
    return 'gone';
  }
}

/** CPU µs of every process under `root`, by role (master, worker, run), keeping each pid's last value. */
class TreeCpu {
  constructor(root) {
    this.root = root;
    this.seen = new Map(); // pid → { role, cpuUs }
  }
  sample() {
    const t = procTable();
    const inTree = new Set([this.root]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [pid, p] of t)
        if (!inTree.has(pid) && inTree.has(p.ppid)) {
          inTree.add(pid);
          grew = true;
        }
    }
    for (const pid of inTree) {
      const p = t.get(pid);
      if (!p) continue;
      const prev = this.seen.get(pid);
      const role = prev?.role ?? roleOf(pid);
      this.seen.set(pid, { role, cpuUs: p.cpuUs, sysUs: p.sysUs });
    }
    return this.totals();
  }
  totals() {
    const out = { master: 0, worker: 0, run: 0, other: 0, workers: 0, masterSys: 0, workerSys: 0 };
    for (const { role, cpuUs, sysUs } of this.seen.values()) {
      const k = role === 'master' || role === 'worker' || role === 'run' ? role : 'other';
      out[k] += cpuUs;
      if (k === 'master') out.masterSys += sysUs;
      if (k === 'worker') out.workerSys += sysUs;
      if (k === 'worker') out.workers++;
    }
    return out;
  }
}

function runCluster(file, { workers, p = 0.1, tol = 1e-6, maxTime = 0, extra = [], bin = BIN }) {
  const argv = [
    bin,
    'run',
    '--data',
    file,
    '--no-shuffle',
    '--lambda1',
    String(LAMBDA1),
    '--lambda2',
    String(LAMBDA2),
    '--workers',
    String(workers),
    '--p',
    String(p),
    '--tol',
    String(tol),
    '--out',
    path.join(OUT, 'run'),
    '--no-pretty',
    // the issue's figures are for the problem without an intercept (a --baseline build predates the flag)
    ...(bin === BIN ? ['--no-intercept'] : []),
    ...(maxTime > 0 ? ['--max-time', String(maxTime)] : []),
    ...extra,
  ];
  const t0 = Date.now();
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const tree = new TreeCpu(child.pid);
  const timer = setInterval(() => tree.sample(), 200);
  let atStart = null;
  let atEnd = null;
  let startWall = null;
  let summary = null;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    if (rec.msg === 'start' && atStart === null) {
      startWall = Date.now() - t0;
      atStart = tree.sample();
    } else if (rec.msg === 'summary') {
      atEnd = tree.sample();
      summary = rec;
    }
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      clearInterval(timer);
      const total = tree.totals();
      if (summary === null || atStart === null)
        return reject(new Error(`soda run exited ${code} without a summary`));
      const u = summary.updates;
      const masterUs = (atEnd.master - atStart.master) / u;
      const workerUs = (atEnd.worker - atStart.worker) / u;
      resolve({
        workers,
        p,
        reason: summary.reason,
        subopt: summary.subopt,
        objective: summary.objective,
        epochs: +summary.epochs.toFixed(1),
        updates: u,
        trainS: +(summary.elapsedMs / 1e3).toFixed(1),
        updatesPerS: Math.round(u / (summary.elapsedMs / 1e3)),
        masterUsPerUpdate: +masterUs.toFixed(0),
        workerUsPerUpdate: +workerUs.toFixed(0),
        cpuUsPerUpdate: +(masterUs + workerUs).toFixed(0),
        // of which in the kernel (system time: socket reads and writes, loopback TCP, scheduling)
        masterSysUsPerUpdate: +((atEnd.masterSys - atStart.masterSys) / u).toFixed(0),
        workerSysUsPerUpdate: +((atEnd.workerSys - atStart.workerSys) / u).toFixed(0),
        bytesPerUpdate: Math.round((summary.bytesUp + summary.bytesDown) / u),
        // frame bytes both ways ÷ coordinates both ways (issue 18: 12.2–12.5 with 4-byte indices): all
        // the coordinates the bytes carried, so the evaluation rounds' too (w sent in each request, the
        // gap parts uploaded; a master older than these counters counts only Δ and the model replies)
        bytesPerCoord: +(
          (summary.bytesUp + summary.bytesDown) /
          Math.max(
            1,
            (summary.coordsUp ?? 0) +
              (summary.coordsDown ?? 0) +
              (summary.gapCoordsUp ?? 0) +
              (summary.evalCoordsDown ?? 0),
          )
        ).toFixed(2),
        // the step frames alone (update ÷ coords up, model ÷ coords down; --wire-precision 32: ≈ 5)
        stepBytesPerCoordUp: +((summary.updateBytesUp ?? NaN) / summary.coordsUp).toFixed(2),
        stepBytesPerCoordDown: +((summary.modelBytesDown ?? NaN) / summary.coordsDown).toFixed(2),
        startupS: +(startWall / 1e3).toFixed(1),
        startupCpuS: +((atStart.master + atStart.worker + atStart.run) / 1e6).toFixed(1),
        wallS: +((Date.now() - t0) / 1e3).toFixed(1),
        treeCpuS: +((total.master + total.worker + total.run + total.other) / 1e6).toFixed(1),
        exit: code,
      });
    });
  });
}

// ---- main ----------------------------------------------------------------------------------------

async function main() {
  emit({
    what: 'machine',
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    quick,
    full,
  });
  const file = shuffledSpam();
  if (!args.includes('--skip-kernel')) await kernel(file);
  const baseBin = baselineDir ? path.join(baselineDir, 'packages', 'cli', 'bin', 'soda.js') : null;
  /** The baseline first (when there is one), then this checkout: same configuration, same invocation. */
  const both = async (what, opts) => {
    const out = {};
    if (baseBin) {
      out.before = await runCluster(file, { ...opts, bin: baseBin, extra: beforeArgs });
      emit({ what: `${what} [baseline]`, ...out.before });
    }
    out.after = await runCluster(file, { ...opts, extra: afterArgs });
    emit({ what, ...out.after });
    return out;
  };
  let main = null;
  let pairLine = null;
  if (!args.includes('--skip-run')) {
    const opts = full ? { workers: M } : { workers: M, maxTime: mainMaxTime };
    const what = `soda run spam M=${M} p=0.1 ${full ? 'to 1e-6' : `for ${opts.maxTime} s`}`;
    if (pairs > 1 && baseBin) ({ main, pairLine } = await alternating(what, opts, file, baseBin));
    else main = await both(what, opts);
  }
  const sweep = [];
  if (!args.includes('--skip-sweep')) {
    for (const workers of [5, 10, 20, 40])
      sweep.push(await both(`sweep M=${workers}`, { workers, maxTime: quick ? 8 : 20 }));
  }
  markdown(main, sweep, pairLine);
}

/** --pairs: the spam run `pairs` times a side, the order alternating; the pair of median time ratio. */
async function alternating(what, opts, file, baseBin) {
  const done = [];
  for (let i = 0; i < pairs; i++) {
    const o = {};
    for (const side of i % 2 === 0 ? ['before', 'after'] : ['after', 'before']) {
      const before = side === 'before';
      o[side] = await runCluster(
        file,
        before ? { ...opts, bin: baseBin, extra: beforeArgs } : { ...opts, extra: afterArgs },
      );
      emit({ what: `${what} pair ${i + 1}${before ? ' [baseline]' : ''}`, ...o[side] });
    }
    o.ratio = o.after.trainS / o.before.trainS;
    done.push(o);
  }
  const sorted = [...done].sort((a, b) => a.ratio - b.ratio);
  const median = sorted[(sorted.length - 1) >> 1];
  const each = done.map(
    (o, i) => `${i + 1}: ${o.before.trainS} → ${o.after.trainS} s (${o.ratio.toFixed(2)})`,
  );
  const pairLine = `| run M = ${M}: trainS, ${pairs} alternating pairs | ${each.join('; ')} | median | **${median.ratio.toFixed(2)}** |`;
  emit({
    what: `${what}: pairs`,
    ratios: done.map((o) => +o.ratio.toFixed(3)),
    median: +median.ratio.toFixed(3),
  });
  return { main: median, pairLine };
}

function markdown(main, sweep, pairLine) {
  const lines = ['', '| measurement | before | after | after ÷ before |', '|---|---|---|---|'];
  const cell = (v) => (v === undefined || v === null ? '–' : String(v));
  for (const r of rows.filter((r) => r.what.startsWith('kernel')))
    lines.push(
      `| kernel µs (CPU) at p = ${r.p}, support ${r.supportPct} % | ${cell(r.baselineUs)} | ${r.us} | ${cell(r.ratio)} |`,
      `| plain C loop µs (g++ -O3), p = ${r.p}; kernel speed ÷ C | – | ${r.cLoopUs}; ${r.speedVsC}× | |`,
    );
  const kernel01 = rows.find((r) => r.what.startsWith('kernel') && r.p === 0.1);
  const runRows = (label, o) => {
    const b = o.before;
    const a = o.after;
    const f = (key) =>
      `| ${label}: ${key} | ${cell(b?.[key])} | ${cell(a[key])} | ${b ? (a[key] / b[key]).toFixed(2) : ''} |`;
    return [
      f('updatesPerS'),
      f('masterUsPerUpdate'),
      f('masterSysUsPerUpdate'),
      f('workerUsPerUpdate'),
      f('workerSysUsPerUpdate'),
      f('cpuUsPerUpdate'),
      f('bytesPerUpdate'),
      f('bytesPerCoord'),
      f('stepBytesPerCoordUp'),
      f('stepBytesPerCoordDown'),
    ];
  };
  if (main) {
    lines.push(...runRows(`run M = ${M}`, main));
    for (const key of ['trainS', 'updates', 'startupS', 'treeCpuS', 'wallS', 'subopt'])
      lines.push(`| run M = ${M}: ${key} | ${cell(main.before?.[key])} | ${cell(main.after[key])} | |`);
    if (pairLine !== null) lines.push(pairLine);
    if (kernel01)
      lines.push(
        `| worker CPU per update ÷ kernel at p = 0.1 | ${main.before ? (main.before.workerUsPerUpdate / (kernel01.baselineUs ?? kernel01.us)).toFixed(2) : '–'} | ${(main.after.workerUsPerUpdate / kernel01.us).toFixed(2)} | |`,
      );
  }
  for (const o of sweep)
    lines.push(...runRows(`M = ${o.after.workers}`, o).filter((l) => /updatesPerS|cpuUs/.test(l)));
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
