import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { solveCached, SodaError } from '@soda/core';
import * as v from '../validate';
import { startProgress } from '../tty-progress';

export const solveCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'solve',
  describe: 'find w* and F* to a KKT certificate ≤ 1e−13 (reference solver, cached by data and λs)',
  builder: (y: Argv) =>
    y
      .option('data', { type: 'string', describe: 'LIBSVM file' })
      .option('dataset', { type: 'string', describe: 'named dataset (spam, madelon, rcv1, real-sim)' })
      .option('lambda1', { type: 'number', describe: "λ1 (default: the dataset's)" })
      .option('lambda2', { type: 'number', describe: "λ2 (default: the dataset's)" })
      .option('normalize', { type: 'boolean', default: true, describe: 'max-abs column scaling' })
      .option('tol', { type: 'number', default: 1e-13, describe: 'target of the KKT certificate' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of generated datasets' })
      .option('cache', { type: 'string', default: path.join('out', 'cache'), describe: 'cache folder' })
      .option('out', { type: 'string', describe: 'write w* and F* here as JSON' }) as unknown as Argv<
      Record<string, unknown>
    >,
  handler: async (a) => {
    if (a.data === undefined && a.dataset === undefined)
      throw new SodaError('E_CONFIG', 'give --data FILE or --dataset NAME (spam, madelon, rcv1, real-sim)');
    const { dataOptionsFromArgs, resolveData } = await import('../data-source');
    const d = await resolveData(dataOptionsFromArgs(a, path.dirname(a.cache as string)));
    const bar = startProgress(`solving (${d.name})`);
    const r = solveCached(d.data, d.lambda1, d.lambda2, {
      cacheDir: a.cache as string,
      tol: v.positive('tol', a.tol),
      onProgress: (p) =>
        bar.update(`iteration ${p.iteration}, certificate ${p.certificate.toExponential(1)}`),
    });
    bar.done(r.cached ? 'cached' : `certificate ${r.certificate.toExponential(1)}`);
    const line = {
      dataset: d.name,
      fstar: r.fstar,
      nnz: r.nnz,
      supportPct: r.supportPct,
      certificate: r.certificate,
      certificateKind: r.certificateKind,
      gapBound: r.gapBound,
      m: r.m,
      n: r.n,
      lambda1: d.lambda1,
      lambda2: d.lambda2,
      iterations: r.iterations,
      method: r.method,
      cached: r.cached,
      elapsedMs: r.elapsedMs,
    };
    process.stdout.write(JSON.stringify(line) + '\n');
    if (a.out !== undefined) {
      const idx: number[] = [];
      const val: number[] = [];
      r.w.forEach((x, j) => {
        if (x !== 0) {
          idx.push(j);
          val.push(x);
        }
      });
      const { writeFileAtomic } = await import('@soda/master');
      await writeFileAtomic(a.out as string, JSON.stringify({ ...line, n: r.n, idx, val }));
    }
  },
};
