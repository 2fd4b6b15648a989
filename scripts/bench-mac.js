#!/usr/bin/env node
/*
 * Cost of the session MAC (issue 9): seal + open of SODA frames of the spam run's sizes, and the same
 * frames encoded and decoded without it. `node scripts/bench-mac.js` after `npm run build`.
 */
const P = require('../packages/protocol');

function sparse(n, nnz) {
  const idx = new Uint32Array(nnz);
  const val = new Float64Array(nnz);
  for (let k = 0; k < nnz; k++) {
    idx[k] = Math.floor((k * n) / nnz);
    val[k] = Math.sin(k) * 1e-3;
  }
  return { n, idx, val };
}

const s = { masterNonce: P.makeNonce(), workerNonce: P.makeNonce(), runId: 'bench', mac: true };
const n = 47512;
// spam at p = 0.1: supp(w) ≈ 1.5 k, so a model frame carries ≈ 1.5 k + 0.1 · 46 k ≈ 6.1 k coordinates
for (const nnz of [100, 6100, 47512]) {
  const msg = { t: 'update', shard: 3, k: 12345, delta: sparse(n, nnz), fi: 0.1 };
  const frame = P.encode(msg);
  const reps = Math.max(200, Math.round(2e8 / frame.length / 50));
  const w = P.FrameMac.forWorker('token', s);
  const m = P.FrameMac.forMaster('token', s);
  let t0 = performance.now();
  for (let i = 0; i < reps; i++) if (!P.decodeFromWorker(P.encode(msg), { n }).ok) throw new Error('decode');
  const plain = (performance.now() - t0) / reps;
  t0 = performance.now();
  for (let i = 0; i < reps; i++)
    if (!P.decodeFromWorker(w.seal(P.encode(msg)), { n, mac: m }).ok) throw new Error('decode mac');
  const sealed = (performance.now() - t0) / reps;
  console.log(
    `${String(nnz).padStart(6)} coords, ${String(frame.length).padStart(7)} B: ` +
      `encode+decode ${(plain * 1000).toFixed(1)} µs, with MAC ${(sealed * 1000).toFixed(1)} µs ` +
      `(+${((sealed - plain) * 1000).toFixed(1)} µs, +${((100 * (sealed - plain)) / plain).toFixed(0)} %)`,
  );
}
