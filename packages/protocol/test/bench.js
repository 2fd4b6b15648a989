/**
 * Throughput of the codec on compiled code (jest's sandbox distorts timings):
 *   npx tsc -b && node packages/protocol/test/bench.js
 */
const { encode, decodeFromWorker } = require('../dist');

for (const nnz of [1e3, 1e4, 1e5]) {
  const n = 1e6;
  const idx = new Uint32Array(nnz);
  const val = new Float64Array(nnz);
  const stride = Math.floor(n / nnz);
  for (let k = 0; k < nnz; k++) {
    idx[k] = k * stride + ((k * 7919) % stride);
    val[k] = Math.sin(k);
  }
  const msg = { t: 'update', shard: 0, k: 1, delta: { n, idx, val } };
  const rounds = Math.max(20, Math.round(3e6 / nnz));
  const frame = encode(msg);
  const time = (fn) => {
    for (let i = 0; i < 5; i++) fn();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) fn();
    return Number(process.hrtime.bigint() - t0) / 1e3 / rounds; // µs
  };
  const enc = time(() => encode(msg));
  const dec = time(() => {
    const r = decodeFromWorker(frame, { n });
    if (!r.ok) throw r.error;
  });
  const mbps = (frame.length / (enc + dec)).toFixed(0);
  console.log(
    `update nnz=${nnz}: ${frame.length} B (${(frame.length / nnz).toFixed(3)} B/nnz), ` +
      `encode ${enc.toFixed(1)} µs, decode+validate ${dec.toFixed(1)} µs, round trip ${mbps} MB/s`,
  );
}
