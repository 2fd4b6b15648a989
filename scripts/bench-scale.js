#!/usr/bin/env node
'use strict';
/*
 * npm run bench:scale — SODA at 10⁵…10⁷ features with the data at the workers (issue 17).
 *
 * For each n of the sweep: a text-like set from the project's generator (`soda data gen text
 * --features n`, Zipf word frequencies over all n columns, tf-idf rows of unit norm), split with `soda
 * data split` into M parts, then `soda master --data-at-workers --tol-gap …` with M `soda worker --data
 * part-{shard}.svm`, all on this machine. Measured:
 *   - peak RSS (VmHWM from /proc, polled) of the master and of the largest worker;
 *   - the longest /healthz answer time and the longest time without an answer (probe every 100 ms):
 *     the master's longest event-loop stall as a client sees it, checkpoints included;
 *   - start-up: from the master's spawn to its `start` line (stats round, scale, loading, L_i);
 *   - updates/s and bytes per coordinate (all frames' bytes / coordinates carried, both ways);
 *   - the evaluation's upstream share (evalResult bytes / all bytes up) and gap-part coordinates per round;
 *   - checkpoint size and longest write; workers dropped (departures);
 *   - time to a certified gap ≤ --tol-gap (training time of the first progress line at or below it).
 * --kill-at S: SIGKILL the master S seconds after its start line, restart it with --resume on the same
 * port (the workers reconnect) and report whether the resumed run reaches the gap target (exit 0).
 *
 *   node scripts/bench-scale.js [--n 1e5,1e6,1e7] [--workers 16] [--rows 20000] [--tol-gap 1e-6]
 *     [--max-time 900] [--checkpoint-every 3] [--kill-at S] [--soda packages/cli/bin/soda.js]
 *     [--data-dir /tmp/soda-scale] [--label NAME] [--json results.jsonl]
 * --soda runs another build (the numbers "before"); data is always made by this checkout's soda.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const args = parseArgs(process.argv.slice(2));
const ns = String(args.n ?? '1e5,1e6,1e7')
  .split(',')
  .map((x) => Math.round(Number(x)));
const M = Number(args.workers ?? 16);
const rows = Number(args.rows ?? 20000);
const tolGap = String(args['tol-gap'] ?? '1e-6');
const maxTime = Number(args['max-time'] ?? 900);
const ckEvery = String(args['checkpoint-every'] ?? '3');
const killAt = args['kill-at'] !== undefined ? Number(args['kill-at']) : null;
const soda = path.resolve(args.soda ?? path.join(here, 'packages/cli/bin/soda.js'));
const ownSoda = path.join(here, 'packages/cli/bin/soda.js');
const dataDir = path.resolve(args['data-dir'] ?? '/tmp/soda-scale');
const label = args.label ?? 'this branch';

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
    else out[a.slice(2)] = argv[++i];
  }
  return out;
}

function freePort() {
  return new Promise((res) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => res(p));
    });
  });
}

/** The set for n (made once and kept in --data-dir). */
function dataFor(n) {
  const tag = `text-n${n}-r${rows}`;
  const file = path.join(dataDir, `${tag}.svm`);
  const parts = path.join(dataDir, `${tag}-M${M}`);
  fs.mkdirSync(dataDir, { recursive: true });
  if (!fs.existsSync(file)) {
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      [ownSoda, 'data', 'gen', 'text', '--rows', String(rows), '--features', String(n), '--out', file],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`data gen failed for n = ${n}`);
    console.error(`made ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (!fs.existsSync(path.join(parts, 'manifest.json'))) {
    const r = spawnSync(
      process.execPath,
      [ownSoda, 'data', 'split', file, '--parts', String(M), '--out-dir', parts],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`data split failed for n = ${n}`);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(parts, 'manifest.json'), 'utf8'));
  return { parts, nnz: manifest.parts.reduce((a, p) => a + p.nnz, 0) };
}

/** A process whose JSON log lines are kept (with the wall time they arrived) and whose peak RSS is polled. */
class Proc {
  constructor(argv) {
    this.child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.lines = [];
    this.stderr = '';
    this.hwm = 0;
    this.waiters = [];
    let buf = '';
    this.child.stdout.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const line = JSON.parse(text);
          line.__at = Date.now();
          this.lines.push(line);
          this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
        } catch {
          /* not a log line */
        }
      }
    });
    this.child.stderr.on('data', (d) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => this.child.on('exit', (code, sig) => r(code ?? sig)));
    this.poll = setInterval(() => this.sample(), 200);
    this.exited.then(() => clearInterval(this.poll));
  }
  sample() {
    try {
      const s = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+) kB/.exec(s);
      if (m) this.hwm = Math.max(this.hwm, Number(m[1]) * 1024);
    } catch {
      /* gone */
    }
  }
  waitFor(test) {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

/** /healthz every 100 ms: the longest answer and the longest time between two answers. */
function probe(port) {
  const st = { maxAnswerMs: 0, maxSilenceMs: 0, lastAnswer: Date.now(), probes: 0, stop: false };
  const tick = () => {
    if (st.stop) return;
    const t0 = Date.now();
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 30000 }, (res) => {
      res.resume();
      res.on('end', () => {
        const now = Date.now();
        st.probes++;
        st.maxAnswerMs = Math.max(st.maxAnswerMs, now - t0);
        st.maxSilenceMs = Math.max(st.maxSilenceMs, now - st.lastAnswer);
        st.lastAnswer = now;
        setTimeout(tick, 100);
      });
    });
    req.on('error', () => setTimeout(tick, 100));
    req.on('timeout', () => req.destroy());
  };
  setTimeout(tick, 100);
  return st;
}

async function runOne(n) {
  const { parts, nnz } = dataFor(n);
  const port = await freePort();
  const out = fs.mkdtempSync(path.join(dataDir, 'run-'));
  const masterArgs = (extra) => [
    soda,
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
    '--tol-gap',
    tolGap,
    '--checkpoint-every',
    ckEvery,
    '--max-time',
    String(maxTime),
    '--out',
    out,
    '--wait-timeout',
    '600',
    ...extra,
  ];
  const t0 = Date.now();
  let master = new Proc(masterArgs([]));
  const masters = [master];
  await master.waitFor((l) => l.event === 'listening');
  const health = probe(port);
  const workers = Array.from(
    { length: M },
    () =>
      new Proc([
        soda,
        'worker',
        '--master',
        `ws://127.0.0.1:${port}`,
        '--data',
        path.join(parts, 'part-{shard}.svm'),
        '--give-up',
        '300',
      ]),
  );
  const startLine = await Promise.race([master.waitFor((l) => l.msg === 'start'), master.exited]);
  const startupS = typeof startLine === 'object' ? (startLine.__at - t0) / 1000 : null;
  let resumed = null;
  if (killAt !== null && typeof startLine === 'object') {
    await new Promise((r) => setTimeout(r, killAt * 1000));
    await master.waitFor((l) => l.msg === 'checkpoint written' && l.k > 0); // something to resume from
    const written = master.lines.filter((l) => l.msg === 'checkpoint written');
    master.child.kill('SIGKILL');
    await master.exited;
    master = new Proc(masterArgs(['--resume']));
    masters.push(master);
    const code = await master.exited;
    const last = [...master.lines].reverse().find((l) => l.msg === 'summary');
    resumed = {
      killedAtK: written.length ? written[written.length - 1].k : null,
      exit: code,
      reason: last?.reason ?? null,
      intercept: master.lines.find((l) => l.msg === 'start')?.intercept ?? null,
    };
  }
  const code = await master.exited;
  health.stop = true;
  await Promise.all(workers.map((w) => Promise.race([w.exited, new Promise((r) => setTimeout(r, 20000))])));
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  const lines = masters.flatMap((m) => m.lines);
  const summary = [...master.lines].reverse().find((l) => l.msg === 'summary') ?? {};
  const progress = lines.filter((l) => l.msg === 'progress');
  const first = lines.find((l) => l.msg === 'start');
  const hit = progress.find((l) => typeof l.gapRel === 'number' && l.gapRel <= Number(tolGap));
  const cks = lines.filter((l) => l.msg === 'checkpoint written');
  const trainS = (summary.elapsedMs ?? 0) / 1000;
  const bytes = (summary.bytesUp ?? 0) + (summary.bytesDown ?? 0);
  const coords = (summary.coordsUp ?? 0) + (summary.coordsDown ?? 0);
  const rounds = progress.length;
  const r = {
    label,
    n,
    M,
    rows,
    nnz,
    exit: code,
    reason: summary.reason ?? null,
    intercept: first?.intercept ?? null,
    masterPeakMB: Math.round(Math.max(...masters.map((m) => m.hwm)) / 2 ** 20),
    workerPeakMB: Math.round(Math.max(...workers.map((w) => w.hwm)) / 2 ** 20),
    healthzMaxAnswerMs: health.maxAnswerMs,
    healthzMaxSilenceMs: health.maxSilenceMs,
    startupS,
    trainS,
    updates: summary.updates ?? null,
    updatesPerS: trainS > 0 ? Math.round((summary.updates ?? 0) / trainS) : null,
    bytesPerCoord: coords > 0 ? +(bytes / coords).toFixed(2) : null,
    evalShareUp: summary.bytesUp ? +((summary.evalBytesUp ?? NaN) / summary.bytesUp).toFixed(3) : null,
    gapCoordsPerRound: rounds > 0 && summary.gapCoordsUp ? Math.round(summary.gapCoordsUp / rounds) : null,
    evalRounds: rounds,
    checkpointMB: cks.length ? +(Math.max(...cks.map((c) => c.bytes)) / 2 ** 20).toFixed(1) : null,
    checkpointMaxMs: cks.length ? Math.max(...cks.map((c) => c.ms)) : null,
    checkpoints: cks.length,
    departures: summary.departures ?? null,
    timeToGapS: hit ? hit.elapsedMs / 1000 : null,
    finalGapRel: progress.length ? progress[progress.length - 1].gapRel : null,
    resumed,
  };
  if (master.stderr) r.masterStderr = master.stderr.slice(0, 500);
  fs.rmSync(out, { recursive: true, force: true });
  return r;
}

(async () => {
  const results = [];
  for (const n of ns) {
    console.error(`n = ${n}, M = ${M}, rows = ${rows} (${label}) …`);
    const r = await runOne(n);
    results.push(r);
    console.log(JSON.stringify(r));
    if (args.json) fs.appendFileSync(args.json, JSON.stringify(r) + '\n');
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
