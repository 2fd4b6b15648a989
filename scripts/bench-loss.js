/*
 * node scripts/bench-loss.js — what sharing the loss module costs on the hot paths (issue 19).
 *
 * The worker's step and the master's prox used to inline σ, the margins loop and the soft-threshold;
 * they now call @soda/core's. This times each shared kernel against the former inlined copy (kept here,
 * verbatim, as the reference) on an rcv1 look-alike shard, checks the results are bit-for-bit equal,
 * and prints the median ratio shared/inlined of several alternating repetitions (the machine is shared:
 * read the ratios, not the milliseconds).
 */
const core = ['core', 'datasets'].reduce((o, p) => ({ ...o, ...require(`../packages/${p}/dist`) }), {});

const { exp, abs } = Math;
// ---- the former inlined copies (worker/local-step.ts and master/model-state.ts before issue 19) ----
function residualsInlined(z, y, r) {
  const m = z.length;
  for (let i = 0; i < m; i++) {
    const yi = y[i];
    const yz = yi * z[i];
    const e = exp(-abs(yz));
    r[i] = yz > 0 ? (-yi * (e / (1 + e))) / m : -yi / (1 + e) / m;
  }
}
function marginsInt32(ptr, ind, val, widx, wval, z) {
  z.fill(0);
  for (let t = 0; t < widx.length; t++) {
    const j = widx[t];
    const wj = wval[t];
    const end = ptr[j + 1];
    for (let k = ptr[j]; k < end; k++) z[ind[k]] += val[k] * wj;
  }
}
function proxInlined(idx, b, thr, u, out) {
  for (let t = 0; t < idx.length; t++) {
    const j = idx[t];
    const v = b[t];
    out[t] = j >= u ? v : v > thr ? v - thr : v < -thr ? v + thr : 0;
  }
}
// ---- the shared kernels, called as the worker and the master now call them ----
function proxShared(idx, b, thr, u, out) {
  for (let t = 0; t < idx.length; t++) out[t] = core.proxCoordinate(idx[t], b[t], thr, u);
}

function time(fn, ms = 700) {
  fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  let el = 0;
  while (el < ms) {
    fn();
    n++;
    el = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return el / n;
}
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const same = (u, v) => u.length === v.length && u.every((x, i) => Object.is(x, v[i]));

(async () => {
  const { data } = await core.collect((sink) => core.generateText({ like: 'rcv1', seed: 1 }, sink));
  const X = core.maxAbsScale(data.X).X;
  const rows = Array.from({ length: Math.floor(X.rows / 20) }, (_, i) => i); // one shard of M = 20
  const shard = core.csrToCsc(core.selectRows(X, rows));
  const y = data.y.slice(0, rows.length);
  const m = shard.rows;
  const rng = new core.Rng(3);
  const idx = [];
  for (let j = 0; j < shard.cols; j++) if (rng.next() < 0.05) idx.push(j);
  const widx = Uint32Array.from(idx);
  const wval = Float64Array.from(idx, () => 0.1 * rng.normal());
  const ptr32 = Int32Array.from(shard.ptr);
  const z1 = new Float64Array(m);
  const z2 = new Float64Array(m);
  const r1 = new Float64Array(m);
  const r2 = new Float64Array(m);
  const b = Float64Array.from(idx, () => 1e-3 * rng.normal());
  const p1 = new Float64Array(idx.length);
  const p2 = new Float64Array(idx.length);
  const u = shard.cols - 1;
  const pairs = {
    'margins z = X_i w (supp 5%)': [
      () => marginsInt32(ptr32, shard.ind, shard.val, widx, wval, z1),
      () => core.marginsCsc(shard, widx, wval, z2),
    ],
    'residuals σ(−y z)': [() => residualsInlined(z1, y, r1), () => core.lossResiduals(z2, y, r2)],
    'prox of a Δ (soft-threshold)': [
      () => proxInlined(widx, b, 5e-4, u, p1),
      () => proxShared(widx, b, 5e-4, u, p2),
    ],
  };
  const out = [];
  for (const [what, [inlined, shared]] of Object.entries(pairs)) {
    const ratios = [];
    for (let rep = 0; rep < 7; rep++) {
      const a = rep % 2 ? time(inlined) : 0;
      const s = time(shared);
      const a2 = rep % 2 ? a : time(inlined);
      ratios.push(s / a2);
    }
    inlined();
    shared();
    out.push({
      what,
      sharedOverInlined: +median(ratios).toFixed(2),
      range: [+Math.min(...ratios).toFixed(2), +Math.max(...ratios).toFixed(2)],
    });
  }
  const bitEqual = same(z1, z2) && same(r1, r2) && same(p1, p2);
  for (const o of out)
    console.log(
      JSON.stringify({ m, n: shard.cols, nnz: shard.ind.length, supp: widx.length, bitEqual, ...o }),
    );
  if (!bitEqual) process.exit(1);
})();
