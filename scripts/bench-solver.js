/*
 * Time and iterations of the reference solver (solveReference) to a KKT certificate of 1e−13.
 * Plain Node on the compiled core: run `npx tsc -b` first. Prints one JSON line per problem.
 *
 *   node scripts/bench-solver.js [--quick] [--only synthetic|text|madelon|spam]
 *
 * "synthetic" is a quick text-like generator of its own (Zipf term frequencies, tf-idf values, unit rows,
 * max-abs scaled columns, labels from a sparse planted model); "text", "madelon" and "spam" are core's
 * generateText('rcv1'), generateMadelon() and loadSpam(), max-abs scaled, each measured only if it exists.
 */
// the numerics, the reference solver and the dataset generators, as one namespace
const core = ['core', 'solver', 'datasets'].reduce(
  (o, p) => ({ ...o, ...require(`../packages/${p}/dist`) }),
  {},
);

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const LAMBDA1 = 1e-4;
const LAMBDA2 = 1e-3;

/** A text-like m × n problem with ~nnzPerRow distinct terms per row. */
function textLike(m, n, nnzPerRow, seed) {
  const rng = new core.Rng(seed);
  // Zipf(1) over ranks, ranks mapped to columns by a random permutation.
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 0; r < n; r++) cdf[r] = acc += 1 / (r + 10);
  const perm = new Uint32Array(n);
  for (let j = 0; j < n; j++) perm[j] = j;
  rng.shuffle(perm);
  const drawRank = () => {
    const u = rng.next() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const rows = [];
  const df = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const len = Math.max(3, Math.round(nnzPerRow * Math.exp(0.7 * rng.normal() - 0.245)));
    const terms = new Map();
    for (let tries = 0; terms.size < len && tries < 20 * len; tries++) {
      const j = perm[drawRank()];
      terms.set(j, (terms.get(j) || 0) + (rng.next() < 0.3 ? 2 : 1));
    }
    const idx = Uint32Array.from([...terms.keys()].sort((a, b) => a - b));
    const tf = Float64Array.from(idx, (j) => terms.get(j));
    for (const j of idx) df[j]++;
    rows.push({ idx, tf });
  }
  // tf-idf, unit rows, then max-abs columns.
  const colMax = new Float64Array(n);
  for (const row of rows) {
    let s = 0;
    row.val = Float64Array.from(
      row.idx,
      (j, t) => (1 + Math.log(row.tf[t])) * (Math.log((1 + m) / (1 + df[j])) + 1),
    );
    for (const v of row.val) s += v * v;
    s = Math.sqrt(s);
    row.idx.forEach((j, t) => {
      row.val[t] /= s;
      if (row.val[t] > colMax[j]) colMax[j] = row.val[t];
    });
  }
  // Planted model on 3% of the moderately frequent columns.
  const wTrue = new Float64Array(n);
  for (let r = 20; r < 0.3 * n; r++) if (rng.next() < 0.1) wTrue[perm[r]] = rng.normal();
  const total = rows.reduce((s, r) => s + r.idx.length, 0);
  const ptr = new Float64Array(m + 1);
  const ind = new Uint32Array(total);
  const val = new Float64Array(total);
  const y = new Float64Array(m);
  const score = new Float64Array(m);
  let k = 0;
  rows.forEach((row, i) => {
    row.idx.forEach((j, t) => {
      ind[k] = j;
      val[k] = row.val[t] / colMax[j];
      score[i] += val[k] * wTrue[j];
      k++;
    });
    ptr[i + 1] = k;
  });
  // Score noise at 30 % of the score's spread, then 3 % flipped labels: a fit that is good but not perfect.
  let mean = 0;
  let sq = 0;
  for (const s of score) mean += s / m;
  for (const s of score) sq += (s - mean) ** 2 / m;
  const sd = Math.sqrt(sq);
  for (let i = 0; i < m; i++) {
    const label = score[i] - mean + 0.3 * sd * rng.normal() > 0 ? 1 : -1;
    y[i] = rng.next() < 0.03 ? -label : label;
  }
  return { X: { rows: m, cols: n, ptr, ind, val }, y };
}

function measure(name, ds, lambda1 = LAMBDA1, lambda2 = LAMBDA2) {
  const nnzX = ds.X.ind.length;
  const trace = [];
  const res = core.solveReference(ds, lambda1, lambda2, {
    tol: 1e-13,
    onProgress: (p) =>
      trace.push([p.kind[0], p.certificate.toExponential(1), p.nnz, p.workingSet, p.inner, p.stepLength]),
  });
  console.log(
    JSON.stringify({
      dataset: name,
      m: res.m,
      n: res.n,
      nnzX,
      lambda1,
      lambda2,
      fstar: res.fstar,
      certificate: res.certificate,
      gapBound: res.gapBound,
      nnzW: res.nnz,
      supportPct: Number(res.supportPct.toFixed(2)),
      iterations: res.iterations,
      newtonSteps: res.newtonSteps,
      proxNewtonSteps: res.proxNewtonSteps,
      istaSteps: res.istaSteps,
      cgIterations: res.cgIterations,
      cdPasses: res.cdPasses,
      elapsedMs: Math.round(res.elapsedMs),
      trace,
    }),
  );
}

async function main() {
  if (!only || only === 'synthetic') {
    const [m, n] = quick ? [4000, 9000] : [20000, 47000];
    const t = performance.now();
    const ds = textLike(m, n, 74, 7);
    console.log(
      JSON.stringify({ dataset: 'synthetic-text', generatedMs: Math.round(performance.now() - t) }),
    );
    measure('synthetic-text', ds);
  }
  // Core's generators, when present, with the paper's preprocessing (max-abs column scaling).
  const scaled = (ds) => ({ X: core.maxAbsScale(ds.X).X, y: ds.y });
  if ((!only || only === 'text') && typeof core.generateText === 'function') {
    const { data } = await core.collect((sink) => core.generateText({ like: 'rcv1', seed: 1 }, sink));
    measure('generateText(rcv1)', scaled(data));
  }
  if ((!only || only === 'madelon') && typeof core.generateMadelon === 'function') {
    const { data } = await core.collect((sink) => core.generateMadelon({ seed: 1 }, sink));
    measure('generateMadelon', scaled(data), 2e-2, 1e-3); // Table 1: λ1 = 2e−2 on madelon
  }
  if ((!only || only === 'spam') && typeof core.loadSpam === 'function') {
    measure('loadSpam', scaled(core.loadSpam()));
  }
}

module.exports = { textLike };

if (require.main === module) {
  main().catch((e) => {
    console.error(JSON.stringify({ error: e.code || 'E_BENCH', message: e.message }));
    process.exit(1);
  });
}
