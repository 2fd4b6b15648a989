/*
 * Scores a LIBSVM file with an ONNX model in onnxruntime-node and prints one probability a line.
 * A plain Node process, not jest: jest's sandbox has its own typed-array classes, which
 * onnxruntime's native binding rejects. Usage: node onnx-score.js MODEL.onnx DATA.svm
 */
const { InferenceSession, Tensor } = require('onnxruntime-node');
const { readLibsvm } = require('../../packages/core/dist');

async function main() {
  const [modelFile, dataFile] = process.argv.slice(2);
  const session = await InferenceSession.create(modelFile);
  const n = Number(session.inputMetadata?.[0]?.shape?.[1] ?? process.env.SODA_N);
  const raw = await readLibsvm(dataFile);
  const batch = 64;
  const out = [`inputs ${session.inputNames.join(',')} outputs ${session.outputNames.join(',')}`];
  for (let s = 0; s < raw.X.rows; s += batch) {
    const rows = Math.min(batch, raw.X.rows - s);
    const x = new Float64Array(rows * n);
    for (let i = 0; i < rows; i++)
      for (let k = raw.X.ptr[s + i]; k < raw.X.ptr[s + i + 1]; k++)
        if (raw.X.ind[k] < n) x[i * n + raw.X.ind[k]] = raw.X.val[k];
    const res = await session.run({ X: new Tensor('float64', x, [rows, n]) });
    for (const p of res.probability.data) out.push(String(p));
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e.stack ?? e) + '\n');
  process.exit(1);
});
