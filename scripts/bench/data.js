/*
 * Datasets of the benchmark, made once under <out>/data and reused (F* is cached by the CLI under
 * <out>/cache by content and λs, so each dataset is solved once).
 *
 *  - named sets (spam, rcv1, real-sim): `--dataset NAME --seed 1`; the CLI builds and caches them;
 *  - smaller text look-alikes for --quick: `soda data gen text --like L --rows N`;
 *  - madelon: the registry's, written to a file once (see madelon() below).
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { BIN, ROOT } = require('./run');

/** Fig. 2's madelon: the registry's (centred, λ1 = 5.5e−3; see packages/core/src/datasets/registry.ts)
 * built once at this seed, so that the runs' --seed changes the sharding and the masks, not the data
 * (`--dataset madelon --seed S` would build a new dataset for every S). */
const MADELON_SEED = 1;

function soda(args) {
  return execFileSync(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
}

/** `soda data gen text --like LIKE --rows ROWS` into <out>/data (once); returns the --data arguments. */
function textSubset(outDir, like, rows) {
  const file = path.join(outDir, 'data', `${like}-rows${rows}-seed1.svm`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    soda(['data', 'gen', 'text', '--like', like, '--rows', String(rows), '--seed', '1', '--out', file]);
  }
  return ['--data', path.relative(ROOT, file)];
}

/** The registry's madelon at MADELON_SEED as a file (once); returns the run arguments with its λs. */
async function madelon(outDir) {
  const core = {
    ...require(path.join(ROOT, 'packages', 'core', 'dist')),
    ...require(path.join(ROOT, 'packages', 'datasets', 'dist')),
  };
  const spec = core.datasetByName('madelon');
  const file = path.join(outDir, 'data', `madelon-registry-seed${MADELON_SEED}.svm`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const writer = core.LibsvmWriter.create(file);
    try {
      await spec.build(writer, MADELON_SEED);
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    }
  }
  return [
    '--data',
    path.relative(ROOT, file),
    '--lambda1',
    String(spec.lambda1),
    '--lambda2',
    String(spec.lambda2),
  ];
}

/** Turn a plan's dataset description into `soda run` data arguments, making files as needed. */
async function dataArgs(outDir, d) {
  if (d.kind === 'named') return ['--dataset', d.name];
  if (d.kind === 'text') return textSubset(outDir, d.like, d.rows);
  if (d.kind === 'madelon') return madelon(outDir);
  throw new Error(`unknown dataset kind ${d.kind}`);
}

module.exports = { dataArgs };
