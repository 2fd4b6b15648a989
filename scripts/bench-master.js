/*
 * npm run bench:master — the master's capacity in isolation (issue 18).
 *
 *   node scripts/bench-master.js [--quick] [--big] [--rounds R] [--updates U] [--profile] [--root DIR]
 *                                [--cold MB] [--ab DIR]
 *
 * A real Master (packages/master: Connections → Coordinator → ModelState → encodeFor) runs in this
 * process with its sockets replaced by in-memory ones: a frame is handed to the connection's 'message'
 * listener exactly as `ws` would, and what the master sends is counted and dropped. So every update
 * goes through the master's own receive → decode (scan, msgpack, field checks, varint gaps) → validate
 * → apply (w̄, w_i, prox, supp(w)) → encode → send path, and nothing else runs.
 *
 * The update frames are made by the real worker code: 20 workers' LocalStep on the spam run's shards
 * (pre-shuffled, contiguous, M = 20, p = 0.1, λ1 = 2e−4, λ2 = 1e−3, no intercept), in a closed loop with
 * this master for a warm-up, then recorded (U frames, as the worker's `encode` wrote them). Replay: the
 * U frames, then the same U with Δ negated, so that w̄ comes back to where it was and any number of
 * rounds replays the same work. CPU µs per update (this process's CPU counter, user + system) and
 * updates/s (wall) are the best of R rounds; one extra, instrumented round says where the time goes
 * (decode, apply + prox with the off-column claim check where it is made in the same pass, the support's re-sort, encode, the rest of the glue; CPU time, each part
 * timed with process.cpuUsage around its call, which adds ≈ 1 µs a call to the glue; GC is part of
 * whichever step it interrupts: --profile shows its share as "(garbage collector)").
 *
 * --root DIR: the master, worker and protocol of another built checkout (a baseline), same frames' recipe.
 * --ab DIR: DIR (A, a baseline) against this checkout (B, or --root's) in one process: both masters set up
 * from their own code, then their rounds alternate (A B, B A, …) so that the machine's drift falls on both;
 * a last line gives B ÷ A of the best rounds, of the medians, and of each round pair. Separate processes
 * swing ±20 % from one hour to the next on a shared machine; this is the way to resolve a 10 % change.
 * --cold MB: before each frame, write MB megabytes of another buffer (not counted), as the workers that
 * run between two updates on the master's cores do in a real cluster: the master then meets its state
 * with cold caches, which the warm replay hides (the apply path costs ≈ 1.6× in a real run's profile).
 * --big: the same at n = 10⁶ (an rcv1-like text set from packages/datasets with cols = 10⁶, 20 000 rows).
 * --profile: a V8 CPU profile of the replay rounds (out/bench-master/<data>.cpuprofile; open it in Chrome's
 * DevTools or any .cpuprofile viewer).
 * Prints one JSON line per measurement and a Markdown table for BENCHMARKS.md.
 */
const path = require('node:path');
const { EventEmitter } = require('node:events');

const HERE = path.resolve(__dirname, '..');
const rootArg = process.argv.includes('--root') ? process.argv[process.argv.indexOf('--root') + 1] : null;
/** --root DIR: measure another built checkout's master (e.g. the commit before a change) with this script */
const ROOT = rootArg ? path.resolve(rootArg) : HERE;
const BIN = path.join(HERE, 'packages', 'cli', 'bin', 'soda.js');
const OUT = path.join(HERE, 'out', 'bench-overhead');
/** The packages of a built checkout: a master, its worker code and its codec, as one unit under test. */
function loadRoot(dir) {
  const dist = (p) => require(path.join(dir, 'packages', p, 'dist'));
  return {
    dir,
    core: dist('core'),
    protocol: dist('protocol'),
    codec: require(path.join(dir, 'packages', 'protocol', 'dist', 'codec.js')),
    Master: dist('master').Master,
    ModelState: dist('master').ModelState,
    LocalStep: dist('worker').LocalStep,
  };
}
const abArg = process.argv.includes('--ab') ? process.argv[process.argv.indexOf('--ab') + 1] : null;
/** the checkout measured (--root, or this one); with --ab DIR, DIR is measured against it in this process */
const THIS = loadRoot(ROOT);
const OTHER = abArg ? loadRoot(path.resolve(abArg)) : null;
/** the data, the reference solve and the text generator: this checkout's (the same bits for every root) */
const here = (p) => require(path.join(HERE, 'packages', p, 'dist'));
const core = here('core');

const args = process.argv.slice(2);
const argOf = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const quick = args.includes('--quick');
const ROUNDS = Number(argOf('--rounds') ?? (quick ? 3 : 6));
const UPDATES = Number(argOf('--updates') ?? (quick ? 200 : 600));
const LAMBDA1 = 2e-4;
const LAMBDA2 = 1e-3;
const M = 20;
const P = 0.1;

const rows = [];
function emit(r) {
  rows.push(r);
  process.stdout.write(JSON.stringify(r) + '\n');
}

// ---- an in-memory socket with what Connections uses of a `ws` WebSocket ---------------------------

/** write callbacks not yet run (every socket's: one event loop) */
const sent = [];

class MemorySocket extends EventEmitter {
  constructor(R, onSend) {
    super();
    this.OPEN = 1;
    this.readyState = 1;
    this.bufferedAmount = 0;
    this._receiver = { _maxPayload: R.protocol.DEFAULT_MAX_PAYLOAD_MASTER };
    this._socket = { remoteAddress: '127.0.0.1', encrypted: false };
    this.onSend = onSend;
  }
  /** counted and dropped; `ws` calls `cb` once the socket has written the frame: here at the next frame */
  send(buf, cb) {
    this.onSend(buf);
    if (typeof cb === 'function') sent.push(cb);
  }
  ping() {}
  close() {}
  terminate() {}
  /** A binary frame from the peer, as `ws` hands it to the 'message' listeners. */
  deliver(frame) {
    // the writes' callbacks of the last frame, as the event loop runs them before the next socket read
    for (const cb of sent.splice(0)) cb();
    this.emit('message', frame, true);
  }
}

// ---- the workers: real LocalSteps driven by the master's own frames -------------------------------

class BenchWorker {
  constructor(R, id) {
    this.R = R;
    this.id = id;
    this.sentBytes = 0;
    this.recording = true;
    this.model = null;
    this.local = null;
    this.shard = -1;
    this.socket = new MemorySocket(R, (buf) => this.onFrame(buf));
  }
  onFrame(buf) {
    this.sentBytes += buf.length;
    if (!this.recording) return;
    const { protocol, core, LocalStep } = this.R;
    const r = protocol.decodeFromMaster(buf, { maxBytes: Infinity });
    if (!r.ok) throw new Error(`worker ${this.id}: ${r.error.message}`);
    const msg = r.msg;
    if (msg.t === 'assign') {
      const { m, ptr, ind, val, y } = msg.rows;
      const X = { rows: m, cols: msg.n, ptr, ind, val };
      this.shard = msg.shard;
      this.data = { X: core.csrToCsc(X), y };
      this.local = new LocalStep(this.data, msg.lambda2, msg.wi, msg.seed);
      this.ready = { t: 'ready', shard: msg.shard, m, L: core.logisticSmoothness(X, msg.lambda2) };
    } else if (msg.t === 'model') this.model = { ...msg, w: copySparse(msg.w) };
  }
  /** One step of the real worker on the last model received: its update frame. */
  step() {
    const { k, gamma, p, w } = this.model;
    const { delta } = this.local.step(w, gamma, p);
    return this.R.protocol.encode({ t: 'update', shard: this.shard, k, delta });
  }
}

function copySparse(v) {
  return { n: v.n, idx: v.idx.slice(), val: v.val.slice() };
}

// ---- one master, its workers, the recorded frames ------------------------------------------------

async function setUp(R, ds, name) {
  const { Master, protocol } = R;
  const logger = require('pino')({ level: 'silent' });
  const master = await Master.start({
    host: '127.0.0.1',
    port: 0,
    data: ds,
    dataName: name,
    dataHash: name,
    workers: M,
    shuffle: false,
    seed: 1,
    algo: 'soda',
    p: P,
    lambda1: LAMBDA1,
    lambda2: LAMBDA2,
    tol: 0,
    maxEpochs: 0,
    maxTimeMs: 0,
    evalEveryMs: 0,
    evalEveryUpdates: 0,
    resumEvery: 10000, // as the CLI: w̄ re-summed every 10 000 updates, part of the master's cost
    delayMs: 0,
    heartbeatMs: 3600e3,
    logger,
  });
  const workers = Array.from({ length: M }, (_, i) => new BenchWorker(R, i));
  for (const wk of workers) {
    master.conns.attach(wk.socket);
    wk.socket.deliver(
      protocol.encode({ t: 'hello', version: protocol.PROTOCOL_VERSION, workerId: `w${wk.id}` }),
    );
  }
  for (const wk of workers) wk.socket.deliver(protocol.encode(wk.ready));
  if (workers.some((wk) => wk.model === null)) throw new Error('the run did not start');
  return { master, workers };
}

/** The closed loop (each worker steps on the model the master last sent it); returns the frames. */
function loop(workers, count, keep) {
  const frames = [];
  for (let u = 0; u < count; u++) {
    const wk = workers[u % workers.length];
    const frame = wk.step();
    if (keep) frames.push({ wk, frame: Buffer.from(frame) });
    wk.socket.deliver(frame);
  }
  return frames;
}

/** The frame with Δ negated (same indices, same size). */
function negated(R, frame, n) {
  const { protocol } = R;
  const r = protocol.decodeFromWorker(frame, { n });
  if (!r.ok) throw new Error(r.error.message);
  const { idx, val } = r.msg.delta;
  return protocol.encode({ ...r.msg, delta: { n, idx: idx.slice(), val: val.map((x) => -x) } });
}

/** The V8 CPU profile of the replay rounds only (not the set-up): out/bench-master/<label>.cpuprofile. */
async function startProfile() {
  const inspector = require('node:inspector');
  const fs = require('node:fs');
  const session = new inspector.Session();
  session.connect();
  const post = (m, p) => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  return {
    async stop(label) {
      const { profile } = await post('Profiler.stop');
      const dir = path.join(HERE, 'out', 'bench-master');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${label.replace(/[^\w.-]+/g, '-')}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      process.stderr.write(`profile: ${file}\n`);
    },
  };
}

// ---- measurement ---------------------------------------------------------------------------------

const coldMB = args.includes('--cold') ? Number(argOf('--cold') ?? 8) : 0;
const junk = new Float64Array((coldMB * 1024 * 1024) / 8);

/** Write every cache line of `junk` (the other processes' working sets, in a real cluster). */
function evict() {
  for (let k = 0; k < junk.length; k += 8) junk[k] += 1;
}

/** The replay with caches evicted before each frame: only the frames' CPU is counted. */
function replayCold(sequence) {
  let cpu = 0;
  let sys = 0;
  let wall = 0;
  for (const { wk, frame } of sequence) {
    evict();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    wk.socket.deliver(frame);
    wall += performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
    sys += c.system;
  }
  return { cpuUs: cpu / sequence.length, sysUs: sys / sequence.length, wallMs: wall };
}

function replay(sequence) {
  if (coldMB > 0) return replayCold(sequence);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const { wk, frame } of sequence) wk.socket.deliver(frame);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { cpuUs: (c.user + c.system) / sequence.length, sysUs: c.system / sequence.length, wallMs };
}

/** Wrap obj[name] so its time adds up in acc[label]. */
function timed(obj, name, acc, label) {
  const orig = obj[name];
  obj[name] = function (...a) {
    const t = process.cpuUsage();
    try {
      return orig.apply(this, a);
    } finally {
      const c = process.cpuUsage(t);
      acc[label] += (c.user + c.system) / 1000;
    }
  };
  return () => (obj[name] = orig);
}

function breakdown(R, sequence) {
  const { codec, ModelState } = R;
  const acc = { decode: 0, apply: 0, sort: 0, encode: 0 };
  const undo = [
    timed(codec, 'decodeFromWorker', acc, 'decode'),
    timed(ModelState.prototype, 'apply', acc, 'apply'),
    // the off-column claim check is made inside applyChecked where it exists (before: in the glue)
    ...(ModelState.prototype.applyChecked ? [timed(ModelState.prototype, 'applyChecked', acc, 'apply')] : []),
    timed(ModelState.prototype, 'view', acc, 'sort'),
    timed(codec, 'encodeFor', acc, 'encode'),
  ];
  const c0 = process.cpuUsage();
  for (const { wk, frame } of sequence) wk.socket.deliver(frame);
  const c = process.cpuUsage(c0);
  const total = (c.user + c.system) / 1000;
  for (const u of undo) u();
  const per = (ms) => +((1000 * ms) / sequence.length).toFixed(1);
  const known = acc.decode + acc.apply + acc.sort + acc.encode;
  return {
    totalUs: per(total),
    decodeUs: per(acc.decode),
    applyProxUs: per(acc.apply),
    supportSortUs: per(acc.sort),
    encodeUs: per(acc.encode),
    glueUs: per(total - known),
  };
}

/**
 * Continue the run from w̄ = w (every w_i = w, as a restart does): the master's model and the workers'
 * local variables alike, each worker holding the model w to step from.
 */
function startAt(R, master, workers, w) {
  const { gamma } = master.model;
  master.model.restartFrom(w, gamma);
  const wk0 = core.denseToSparse ? core.denseToSparse(w) : toSparse(w);
  for (const wk of workers) {
    wk.local = new R.LocalStep(wk.data, LAMBDA2, wk0, 1000 + wk.id);
    wk.model = { ...wk.model, gamma, w: wk0 };
  }
}

function toSparse(w) {
  const idx = [];
  for (let j = 0; j < w.length; j++) if (w[j] !== 0) idx.push(j);
  return { n: w.length, idx: Uint32Array.from(idx), val: Float64Array.from(idx, (j) => w[j]) };
}

/** A master of checkout R at the bench's starting point, with its frames recorded (not yet replayed). */
async function prepare(R, label, ds, wstar) {
  const t0 = performance.now();
  const { master, workers } = await setUp(R, ds, label);
  const n = ds.X.cols;
  // spam: at w* (the regime of most of a run to 1e−6); otherwise after a warm-up from w = 0
  if (wstar) startAt(R, master, workers, wstar);
  const warm = wstar ? 2 * M : quick ? 2 * M : 10 * M;
  loop(workers, warm, false);
  const recorded = loop(workers, UPDATES, true);
  for (const wk of workers) wk.recording = false;
  const sequence = [...recorded, ...recorded.map(({ wk, frame }) => ({ wk, frame: negated(R, frame, n) }))];
  let deltaCoords = 0;
  let upBytes = 0;
  for (const { frame } of recorded) {
    const r = R.protocol.decodeFromWorker(frame, { n });
    deltaCoords += r.msg.delta.idx.length;
    upBytes += frame.length;
  }
  const supp = master.model.supportSize;
  replay(sequence); // warm-up: JIT
  const setupS = (performance.now() - t0) / 1000;
  return { R, label, n, master, workers, recorded, sequence, deltaCoords, upBytes, supp, setupS, rounds: [] };
}

/** One replay round of a prepared master: its CPU per update, kept in `b.rounds`. */
function round(b) {
  const { master, workers, sequence } = b;
  const before = workers.reduce((s, wk) => s + wk.sentBytes, 0);
  const coords0 = master.stats.coordsDown;
  const res = replay(sequence);
  const down = workers.reduce((s, wk) => s + wk.sentBytes, 0) - before;
  const coordsDown = (master.stats.coordsDown - coords0) / sequence.length;
  b.rounds.push({ ...res, downBytes: down / sequence.length, coordsDown });
}

/** The JSON line of a measured master (best of its rounds, their median, the breakdown round). */
async function report(b) {
  const { label, n, recorded, sequence, deltaCoords, upBytes } = b;
  const best = b.rounds.reduce((x, y) => (y.cpuUs < x.cpuUs ? y : x));
  const cpu = b.rounds.map((r) => r.cpuUs).sort((x, y) => x - y);
  const parts = breakdown(b.R, sequence);
  const updates = sequence.length;
  emit({
    what: `bench:master ${label}${coldMB > 0 ? `, caches evicted (${coldMB} MB) before each frame` : ''}`,
    root: b.R.dir,
    n,
    M,
    p: P,
    updatesPerRound: updates,
    rounds: b.rounds.length,
    deltaCoordsMean: Math.round(deltaCoords / recorded.length),
    supportW: b.supp,
    modelCoordsMean: Math.round(best.coordsDown),
    upBytesPerUpdate: Math.round(upBytes / recorded.length),
    downBytesPerUpdate: Math.round(best.downBytes),
    bytesPerCoordUp: +(upBytes / deltaCoords).toFixed(2),
    bytesPerCoordDown: +(best.downBytes / Math.max(1, best.coordsDown)).toFixed(2),
    cpuUsPerUpdate: +best.cpuUs.toFixed(1),
    cpuUsMedian: +cpu[(cpu.length - 1) >> 1].toFixed(1),
    sysUsPerUpdate: +best.sysUs.toFixed(1),
    cpuNsPerCoord: +((1000 * best.cpuUs) / (deltaCoords / recorded.length + best.coordsDown)).toFixed(1),
    updatesPerSecond: Math.round((1000 * updates) / best.wallMs),
    ...parts,
    setupS: +b.setupS.toFixed(1),
  });
  await b.master.stop('bench over');
}

async function bench(label, ds, wstar) {
  if (OTHER === null) {
    const b = await prepare(THIS, label, ds, wstar);
    const profiler = args.includes('--profile') ? await startProfile() : null;
    for (let r = 0; r < ROUNDS; r++) round(b);
    if (profiler) await profiler.stop(label);
    return report(b);
  }
  // --ab: both masters in this process, rounds alternating A B B A …, so the machine's drift
  // (other jobs, frequency) falls on both alike; the ratio of each round pair is kept
  const a = await prepare(OTHER, label, ds, wstar);
  const b = await prepare(THIS, label, ds, wstar);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [a, b] : [b, a];
    for (const x of order) round(x);
  }
  const ratios = a.rounds.map((ra, r) => b.rounds[r].cpuUs / ra.cpuUs).sort((x, y) => x - y);
  await report(a);
  await report(b);
  const A = rows[rows.length - 2];
  const B = rows[rows.length - 1];
  emit({
    what: `bench:master ${label}, A/B in one process`,
    A: a.R.dir,
    B: b.R.dir,
    bestRatio: +(B.cpuUsPerUpdate / A.cpuUsPerUpdate).toFixed(3),
    medianRatio: +(B.cpuUsMedian / A.cpuUsMedian).toFixed(3),
    pairRatios: ratios.map((x) => +x.toFixed(3)),
  });
}

async function textMillion() {
  const { collect, generateText } = here('datasets');
  const { data } = await collect((sink) =>
    generateText({ like: 'rcv1', seed: 18, rows: 20000, profile: { cols: 1_000_000 } }, sink),
  );
  const { X } = core.maxAbsScale(data.X);
  return { X, y: data.y };
}

async function main() {
  const file = require('./bench/spam-data').shuffledSpam(OUT, BIN);
  const raw = await core.readLibsvm(file);
  const { X } = core.maxAbsScale(raw.X);
  const spam = { X, y: raw.y };
  const { solveCached } = here('solver');
  const sol = await solveCached(spam, LAMBDA1, LAMBDA2, { cacheDir: OUT });
  await bench('spam at w*', spam, sol.w);
  if (args.includes('--big')) await bench('text n=1e6', await textMillion());
  console.log(
    '\n| data | n | Δ coords / update | w coords / reply | master CPU µs / update | updates/s | decode | apply + prox | re-sort | encode | glue (incl. GC) | bytes / coord up, down |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows.filter((x) => x.n !== undefined))
    console.log(
      `| ${r.what.replace('bench:master ', '')} | ${r.n} | ${r.deltaCoordsMean} | ${r.modelCoordsMean} | **${r.cpuUsPerUpdate}** | ${r.updatesPerSecond} | ${r.decodeUs} | ${r.applyProxUs} | ${r.supportSortUs} | ${r.encodeUs} | ${r.glueUs} | ${r.bytesPerCoordUp}, ${r.bytesPerCoordDown} |`,
    );
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
