import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { dualityGap, modelFileOf, SodaError, sparseFromDense, writeModelFile } from '@soda/core';
import { rowFormatOptions } from '../rows';
import * as v from '../validate';

export const solveCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'solve',
  describe: 'find w* and F* to a KKT certificate ≤ 1e−13 (reference solver, cached by data and λs)',
  builder: (y: Argv) =>
    rowFormatOptions(y)
      .option('data', { type: 'string', describe: 'LIBSVM or CSV file' })
      .option('dataset', { type: 'string', describe: 'named dataset (spam, madelon, rcv1, real-sim)' })
      .option('lambda1', { type: 'number', describe: "λ1 (default: the dataset's)" })
      .option('lambda2', { type: 'number', describe: "λ2 (default: the dataset's)" })
      .option('normalize', { type: 'boolean', default: true, describe: 'max-abs column scaling' })
      .option('intercept', {
        type: 'boolean',
        default: true,
        describe: 'fit an intercept (not ℓ1-penalised; λ2 applies to it); --no-intercept: none',
      })
      .option('tol', { type: 'number', default: 1e-13, describe: 'target of the KKT certificate' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of generated datasets' })
      .option('cache', { type: 'string', default: path.join('out', 'cache'), describe: 'cache folder' })
      .option('out', {
        type: 'string',
        describe: 'write w* here as a model file (version 2, as soda run writes; soda predict reads it)',
      }) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    if (a.data === undefined && a.dataset === undefined)
      throw new SodaError('E_CONFIG', 'give --data FILE or --dataset NAME (spam, madelon, rcv1, real-sim)');
    const { dataOptionsFromArgs, resolveData, solveWithProgress } = await import('../data-source');
    const d = await resolveData(dataOptionsFromArgs(a, path.dirname(a.cache as string)));
    const r = await solveWithProgress(d, a.cache as string, `solving (${d.name})`, v.positive('tol', a.tol));
    // Support of the features: the intercept, when fitted, is not one of them.
    const u = d.unpenalizedFrom;
    const nnz = u !== undefined && r.w[u] !== 0 ? r.nnz - 1 : r.nnz;
    // the certified duality gap at w*, the bound a run without F* stops on (needs λ2 > 0)
    const dual =
      d.lambda2 > 0 ? dualityGap(d.data.X, d.data.y, r.w, d.lambda1, d.lambda2, u ?? r.n) : undefined;
    const line = {
      dataset: d.name,
      fstar: r.fstar,
      nnz,
      supportPct: (100 * nnz) / (u ?? r.n),
      certificate: r.certificate,
      certificateKind: r.certificateKind,
      gapBound: r.gapBound,
      ...(dual ? { dual: dual.dual, gap: dual.gap, gapRel: dual.gapRel } : {}),
      m: r.m,
      n: d.unpenalizedFrom ?? r.n,
      lambda1: d.lambda1,
      lambda2: d.lambda2,
      intercept: d.unpenalizedFrom !== undefined ? r.w[d.unpenalizedFrom] : null,
      iterations: r.iterations,
      method: r.method,
      cached: r.cached,
      elapsedMs: r.elapsedMs,
    };
    process.stdout.write(JSON.stringify(line) + '\n');
    if (a.out !== undefined) {
      const w = sparseFromDense(r.w);
      const training = {
        source: 'soda solve',
        m: r.m,
        nnz,
        certificate: r.certificate,
        certificateKind: r.certificateKind,
        gapBound: Number.isFinite(r.gapBound) ? r.gapBound : null,
        iterations: r.iterations,
        method: r.method,
      };
      const model = modelFileOf(w, {
        lambda1: d.lambda1,
        lambda2: d.lambda2,
        dataName: d.name,
        dataHash: d.hash,
        objective: r.fstar,
        ...(u !== undefined ? { unpenalizedFrom: u } : {}),
        ...(d.scale ? { scale: d.scale } : {}),
        training,
        ...(d.featureNames ? { featureNames: d.featureNames } : {}),
      });
      await writeModelFile(a.out as string, model);
    }
  },
};
