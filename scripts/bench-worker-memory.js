/*
 * node scripts/bench-worker-memory.js [--n 10000000] [--rows 6250] [--nnz 80] [--steps 30] [--p 0.1] [--sparse-scale] [--soda DIR]
 *
 * One real worker process (`soda worker --data part.svm`) against a scripted master on a local socket,
 * in the data-at-the-workers mode: stats round, scale, `--steps` model frames (w with a support spread
 * over the shard's columns AND over columns the shard does not have), one evaluation with gap parts,
 * stop. Prints the worker's peak RSS (VmHWM from /proc, Linux) as one JSON line.
 *
 * The part is written once under $TMPDIR/soda-bench-worker (text-like: `--rows` rows of `--nnz`
 * non-zeros over n columns, column frequencies skewed like words); a shard of 6250 rows is 1/16 of
 * the 100 000-row set of issue 17.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { WebSocketServer } = require('ws');
const proto = require('../packages/protocol/dist');
const { Rng } = require('../packages/core/dist');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const n = arg('n', 1e7);
const rows = arg('rows', 6250);
const nnzPerRow = arg('nnz', 80);
const steps = arg('steps', 30);
const p = arg('p', 0.1);
const lambda2 = 1e-4;
const sparseScale = process.argv.includes('--sparse-scale');
// --soda DIR: run that checkout's worker (e.g. a build of the code before a change), default this one
const sodaAt = process.argv.includes('--soda')
  ? process.argv[process.argv.indexOf('--soda') + 1]
  : path.join(__dirname, '..');

function writePart(file) {
  const rng = new Rng(17);
  const out = fs.createWriteStream(file);
  const lines = [];
  for (let i = 0; i < rows; i++) {
    const cols = new Set();
    while (cols.size < nnzPerRow) cols.add(Math.floor(n * rng.next() ** 3)); // skewed: low ids are common words
    const sorted = [...cols].sort((a, b) => a - b);
    if (i === 0) sorted[sorted.length - 1] = n - 1; // the file's width is n
    const score = sorted.reduce((s, j) => s + (j % 7 === 0 ? 1 : -0.2), 0);
    const y = score + rng.normal() > 0 ? 1 : -1;
    lines.push(`${y} ${sorted.map((j) => `${j + 1}:${(0.1 + rng.next()).toFixed(4)}`).join(' ')}`);
  }
  out.end(lines.join('\n') + '\n');
  return new Promise((res) => out.on('finish', res));
}

function peakRss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

async function main() {
  const dir = path.join(os.tmpdir(), 'soda-bench-worker');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `part-n${n}-m${rows}-k${nnzPerRow}.svm`);
  if (!fs.existsSync(file)) await writePart(file);
  const wss = new WebSocketServer({ port: 0, maxPayload: 1 << 30 });
  await new Promise((res) => wss.on('listening', res));
  const port = wss.address().port;
  const worker = spawn(
    process.execPath,
    [
      path.join(sodaAt, 'packages/cli/bin/soda.js'),
      'worker',
      '--master',
      `ws://127.0.0.1:${port}`,
      '--data',
      file,
      '--shard',
      '0',
      '--give-up',
      '60',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const rng = new Rng(5);
  const t0 = Date.now();
  const result = await new Promise((resolve, reject) => {
    worker.on('exit', (code) => reject(new Error(`worker exited with ${code} before the end`)));
    wss.on('connection', (ws) => {
      const send = (m) => ws.send(proto.encode(m));
      let cols = null;
      let k = 0;
      send({
        t: 'challenge',
        version: proto.PROTOCOL_VERSION,
        nonce: new Uint8Array(32),
        authRequired: false,
      });
      ws.on('message', (data) => {
        const d = proto.decodeFromWorker(data, { n });
        if (!d.ok) return reject(d.error);
        const msg = d.msg;
        if (msg.t === 'hello')
          send({ t: 'assign', runId: 'bench', shard: 0, lambda2, p, seed: 3, delayMs: 0, rows: null });
        else if (msg.t === 'stats') {
          cols = msg.colMax;
          // --sparse-scale: the divisors of the shard's columns only (1 elsewhere); else dense over n,
          // what the master sent before issue 17
          let scale = { n, idx: cols.idx, val: cols.val };
          if (!sparseScale) {
            scale = new Float64Array(n).fill(1);
            for (let t = 0; t < cols.idx.length; t++) scale[cols.idx[t]] = cols.val[t];
          }
          send({
            t: 'scale',
            shard: 0,
            n,
            scale,
            wi: { n, idx: new Uint32Array(0), val: new Float64Array(0) },
          });
        } else if (msg.t === 'ready' || msg.t === 'update') {
          if (k === steps) return send({ t: 'eval', id: 1, w: model(), gap: true });
          k++;
          send({ t: 'model', k, gamma: 1, p, w: model() });
        } else if (msg.t === 'evalResult') {
          const rss = peakRss(worker.pid);
          worker.removeAllListeners('exit');
          send({ t: 'stop', reason: 'done' });
          resolve({ rss, cols: cols.idx.length, uNnz: msg.u.idx.length });
        }
      });
      // w: 2000 of the shard's columns and 2000 columns spread over all n (supp(w) ⊄ cols_i)
      function model() {
        const s = new Set();
        while (s.size < 2000) s.add(cols.idx[Math.floor(rng.next() * cols.idx.length)]);
        while (s.size < 4000) s.add(Math.floor(rng.next() * n));
        const idx = Uint32Array.from([...s].sort((a, b) => a - b));
        return { n, idx, val: Float64Array.from(idx, () => 0.01 * rng.normal()) };
      }
    });
  });
  await new Promise((res) => worker.on('exit', res));
  wss.close();
  const out = {
    n,
    rows,
    nnzPerRow,
    steps,
    p,
    scale: sparseScale ? 'sparse' : 'dense',
    worker: sodaAt,
    workerPeakRssMB: +(result.rss / 2 ** 20).toFixed(1),
    colsOfShard: result.cols,
    seconds: (Date.now() - t0) / 1000,
  };
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
