/*
 * npm run bench:core — throughput of SODA's numerical kernels and the reference solver, in plain Node on
 * the compiled packages (jest's sandbox slows hot loops, so benchmarks never run under jest).
 *
 *   node scripts/bench-core.js [--quick]
 *
 * Prints one JSON line per measurement, then a Markdown table for BENCHMARKS.md. Ratios are measured
 * within this one run (the machine is shared and noisy): read them, not the absolute numbers.
 */
const os = require('node:os');
// the numerics, the reference solver and the dataset generators, as one namespace
const core = ['core', 'solver', 'datasets'].reduce(
  (o, p) => ({ ...o, ...require(`../packages/${p}/dist`) }),
  {},
);
const { LocalStep } = require('../packages/worker/dist');

const quick = process.argv.includes('--quick');
const M = 20;

function timeIt(fn, minMs = quick ? 300 : 1500) {
  fn(); // warm-up (JIT)
  let reps = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    reps++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return elapsed / reps;
}

async function textLike() {
  const { data } = await core.collect((sink) => core.generateText({ like: 'rcv1', seed: 1 }, sink));
  const { X } = core.maxAbsScale(data.X);
  return { X, y: data.y };
}

async function main() {
  const rows = [];
  const emit = (r) => {
    rows.push(r);
    process.stdout.write(JSON.stringify(r) + '\n');
  };
  const t0 = Date.now();
  const ds = await textLike();
  const lambda1 = 1e-4;
  const lambda2 = 1e-3;
  emit({
    what: 'generate rcv1 look-alike',
    m: ds.X.rows,
    n: ds.X.cols,
    nnz: ds.X.ind.length,
    ms: Date.now() - t0,
  });

  // Full gradient over the whole dataset (what a synchronous method pays per worker-epoch).
  const w0 = new Float64Array(ds.X.cols);
  const g = new Float64Array(ds.X.cols);
  const fullMs = timeIt(() => core.smoothValueGrad(ds.X, ds.y, w0, lambda2, g));
  const nnz = ds.X.ind.length;
  emit({ what: 'full gradient (CSR), whole data', ms: fullMs, nnzPerSec: nnz / (fullMs / 1e3) });

  // w* gives the support a worker sees late in a run; a shard is 1/M of the rows.
  const sol = core.solveReference(ds, lambda1, lambda2);
  emit({
    what: 'reference solver, rcv1 look-alike',
    ms: sol.elapsedMs,
    certificate: sol.certificate,
    iterations: sol.iterations,
    supportPct: sol.supportPct,
  });
  const wStar = core.sparseFromDense(sol.w);
  const part = core.shardContiguous(ds.X.rows, M)[0];
  const shardX = core.selectRows(ds.X, part);
  const shard = { X: core.csrToCsc(shardX), y: Float64Array.from(part, (r) => ds.y[r]) };
  const shardNnz = shardX.ind.length;
  const L = core.logisticSmoothness(shardX, lambda2);
  const gamma = core.defaultStepSize(lambda2, L);
  const fullShardMs = timeIt(() => core.smoothValueGrad(shardX, shard.y, w0, lambda2, g));
  emit({
    what: `full gradient, one shard (1/${M})`,
    ms: fullShardMs,
    nnzPerSec: shardNnz / (fullShardMs / 1e3),
  });
  for (const p of [0.01, 0.1, 1]) {
    const local = new LocalStep(shard, lambda2, core.emptySparse(ds.X.cols), 7);
    let coords = 0;
    let steps = 0;
    const ms = timeIt(() => {
      const r = local.step(wStar, gamma, p);
      coords += r.maskSize;
      steps++;
    });
    emit({
      what: `masked step p=${p}, one shard, w = w*`,
      p,
      ms,
      maskSize: coords / steps,
      // Effective throughput: the shard's nnz per second of masked steps, comparable with the full gradient.
      shardNnzPerSec: shardNnz / (ms / 1e3),
      speedupVsFullGradient: fullShardMs / ms,
    });
  }
  for (const name of ['spam']) {
    const spam = core.loadSpam();
    const { X } = core.maxAbsScale(spam.X);
    const spec = core.datasetByName(name);
    const r = core.solveReference({ X, y: spam.y }, spec.lambda1, spec.lambda2);
    emit({
      what: `reference solver, ${name}`,
      ms: r.elapsedMs,
      certificate: r.certificate,
      iterations: r.iterations,
      supportPct: r.supportPct,
    });
  }
  console.log(`\nmachine: ${os.cpus()[0].model}, ${os.cpus().length} cores, node ${process.version}\n`);
  console.log('| measurement | time per call (ms) | throughput / ratio |');
  console.log('|---|---|---|');
  for (const r of rows) {
    const extra = r.nnzPerSec
      ? `${(r.nnzPerSec / 1e6).toFixed(1)} M nnz/s`
      : r.speedupVsFullGradient
        ? `${(r.shardNnzPerSec / 1e6).toFixed(1)} M shard-nnz/s, ×${r.speedupVsFullGradient.toFixed(1)} vs full gradient, coordinates computed |M_p ∩ R| = ${Math.round(r.maskSize)}`
        : r.certificate !== undefined
          ? `certificate ${r.certificate.toExponential(1)}, ${r.iterations} iterations, support ${r.supportPct.toFixed(1)} %`
          : `${r.m} × ${r.n}, ${r.nnz} nnz`;
    console.log(`| ${r.what} | ${r.ms.toFixed(3)} | ${extra} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
