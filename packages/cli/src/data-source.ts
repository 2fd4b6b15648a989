import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  applyScale,
  Rng,
  selectExamples,
  LibsvmWriter,
  maxAbsScale,
  MAX_INDEX,
  readDataFile,
  readLibsvm,
  SodaError,
  withIntercept,
  writeFileDurable,
  type Dataset,
} from '@soda/core';
import { dataFileOptions } from './rows';
import { datasetByName } from '@soda/datasets';
import { datasetKey, solveCached } from '@soda/solver';
import type { Logger } from 'pino';
import { startProgress } from './tty-progress';
import * as v from './validate';

/** A dataset ready to train on: normalised (unless asked not to), named, hashed, with its λs. */
export interface ResolvedData {
  readonly data: Dataset;
  readonly name: string;
  readonly hash: string;
  readonly scale?: Float64Array;
  readonly lambda1: number;
  readonly lambda2: number;
  /** Held-out examples, scaled like the training data: progress lines then report test accuracy. */
  readonly test?: Dataset;
  /**
   * With an intercept, the last column of data (and test) is the constant 1 and this is its index:
   * coordinates from here on are not ℓ1-penalised. Absent without an intercept.
   */
  readonly unpenalizedFrom?: number;
  /** Feature names (not counting the intercept), when known: a CSV header, spam's terms. */
  readonly featureNames?: string[];
}

export interface DataOptions {
  readonly data?: string;
  readonly dataset?: string;
  readonly seed: number;
  readonly normalize: boolean;
  readonly lambda1?: number;
  readonly lambda2?: number;
  readonly out: string;
  /** A LIBSVM file of held-out examples ... */
  readonly test?: string;
  /** ... or this fraction of the rows, drawn with the seed, held out before scaling. */
  readonly testFraction?: number;
  /** largest feature index accepted in a data file (core's DEFAULT_MAX_FEATURES unless set) */
  readonly maxFeatures?: number;
  /** Fit an intercept (default true): a constant column appended after scaling, not ℓ1-penalised. */
  readonly intercept: boolean;
  /** CSV layout and format of --data / --test. */
  readonly file?: Record<string, unknown>;
}

/** The data options common to every command that loads a dataset, checked. */
export function dataOptionsFromArgs(a: Record<string, unknown>, out: string): DataOptions {
  return {
    data: v.optionalString(a.data),
    dataset: v.optionalString(a.dataset),
    seed: v.nonNegativeInt('seed', a.seed),
    normalize: a.normalize !== false,
    lambda1: a.lambda1 === undefined ? undefined : v.nonNegative('lambda1', a.lambda1),
    lambda2: a.lambda2 === undefined ? undefined : v.positive('lambda2', a.lambda2),
    out,
    test: v.optionalString(a.test),
    ...(a.maxFeatures === undefined
      ? {}
      : { maxFeatures: v.positiveInt('max-features', a.maxFeatures, MAX_INDEX) }),
    testFraction: a.testFraction === undefined ? undefined : v.fraction('test-fraction', a.testFraction),
    intercept: a.intercept !== false,
    file: a,
  };
}

/** λs for a file given with --data and no --lambda1/--lambda2: Table 1's choice for the text sets. */
export const FILE_DEFAULT_LAMBDAS = { lambda1: 1e-4, lambda2: 1e-3 };

/**
 * Load --data FILE, or build the named --dataset once and keep it as a LIBSVM file under
 * <out>/data (values round-trip exactly, so the cached copy is the same data bit for bit).
 */
export async function resolveData(opts: DataOptions, log?: Logger): Promise<ResolvedData> {
  let raw: Dataset;
  let name: string;
  let lambdas = FILE_DEFAULT_LAMBDAS;
  const limit = opts.maxFeatures === undefined ? {} : { maxFeatures: opts.maxFeatures };
  let featureNames: string[] | undefined;
  if (opts.data !== undefined) {
    const bar = startProgress(`reading ${opts.data}`);
    const read = await readDataFile(opts.data, { ...dataFileOptions(opts.file ?? {}), ...limit });
    raw = read;
    if (read.featureNames) featureNames = read.featureNames;
    bar.done(`${raw.X.rows} × ${raw.X.cols}, ${raw.X.ind.length} non-zeros`);
    name = path.basename(opts.data);
  } else {
    const spec = datasetByName(opts.dataset ?? 'spam');
    name = spec.name;
    lambdas = { lambda1: spec.lambda1, lambda2: spec.lambda2 };
    const file = path.join(
      opts.out,
      'data',
      `${spec.name}${spec.name === 'spam' ? '' : `-seed${opts.seed}`}.svm`,
    );
    // spam's terms are kept beside the cached data (one a line): they name the model's features.
    const termsFile = `${file}.terms.txt`;
    const wantTerms = spec.name === 'spam';
    if (!existsSync(file) || (wantTerms && !existsSync(termsFile))) {
      log?.info({ dataset: spec.name, file }, 'building dataset (once; cached for later runs)');
      await fs.mkdir(path.dirname(file), { recursive: true });
      const writer = LibsvmWriter.create(file);
      const bar = startProgress(`building the ${spec.name} dataset`);
      try {
        const info = await spec.build(writer, opts.seed);
        await writer.close();
        const terms = (info as { terms?: readonly string[] }).terms;
        if (wantTerms && terms) await writeFileDurable(termsFile, terms.join('\n') + '\n');
        bar.done(`${info.rows} × ${info.cols}, ${info.nnz} non-zeros`);
      } catch (e) {
        bar.done('failed');
        await writer.abort();
        throw e;
      }
    }
    raw = await readLibsvm(file, limit);
    if (wantTerms) featureNames = (await fs.readFile(termsFile, 'utf8')).split('\n').slice(0, -1);
  }
  refuseSingleClass(raw, opts.data ?? name);
  const lambda1 = opts.lambda1 ?? lambdas.lambda1;
  const lambda2 = opts.lambda2 ?? lambdas.lambda2;
  let testRaw: Dataset | undefined;
  if (opts.testFraction !== undefined && opts.testFraction > 0) {
    if (opts.test !== undefined)
      throw new SodaError('E_CONFIG', 'give --test FILE or --test-fraction, not both');
    ({ train: raw, test: testRaw } = holdOut(raw, opts.testFraction, opts.seed));
  } else if (opts.test !== undefined) {
    testRaw = await readDataFile(opts.test, { ...dataFileOptions(opts.file ?? {}), ...limit });
  }
  // The scale is learnt on the training rows only, then applied to the held-out ones.
  const { X, scale } = opts.normalize ? maxAbsScale(raw.X) : { X: raw.X, scale: undefined };
  const n = X.cols;
  // The intercept's constant column goes last, after scaling (so it stays 1): see core/intercept.ts.
  const fit = (d: Dataset): Dataset => (opts.intercept ? withIntercept(d) : d);
  const data = fit({ X, y: raw.y });
  const test =
    testRaw === undefined
      ? undefined
      : fit({
          X: applyScale(testRaw.X, scale ?? new Float64Array(n).fill(1), { truncate: true }),
          y: testRaw.y,
        });
  if (featureNames !== undefined && featureNames.length !== n) featureNames = undefined;
  return {
    data,
    name,
    hash: datasetKey(data),
    ...(scale ? { scale } : {}),
    lambda1,
    lambda2,
    ...(test ? { test } : {}),
    ...(opts.intercept ? { unpenalizedFrom: n } : {}),
    ...(featureNames ? { featureNames } : {}),
  };
}

/** Split off round(f·m) rows, drawn with the seed, as a test set (both parts keep the file order). */
export function holdOut(ds: Dataset, fraction: number, seed: number): { train: Dataset; test: Dataset } {
  const m = ds.X.rows;
  const k = Math.round(fraction * m);
  if (k < 1 || k >= m)
    throw new SodaError(
      'E_CONFIG',
      `--test-fraction ${fraction} of ${m} rows leaves an empty training or test set`,
    );
  const perm = new Rng(seed ^ 0x5eed).shuffle(Uint32Array.from({ length: m }, (_, i) => i));
  const testRows = perm.slice(0, k).sort();
  const trainRows = perm.slice(k).sort();
  return { train: selectExamples(ds, trainRows), test: selectExamples(ds, testRows) };
}

/** The reference solution of `d` (cached in `cacheDir`), with progress on a terminal. */
export async function solveWithProgress(d: ResolvedData, cacheDir: string, label: string, tol?: number) {
  const bar = startProgress(label);
  const res = await solveCached(d.data, d.lambda1, d.lambda2, {
    cacheDir,
    ...(tol !== undefined ? { tol } : {}),
    ...(d.unpenalizedFrom !== undefined ? { unpenalizedFrom: d.unpenalizedFrom } : {}),
    onProgress: (p) => bar.update(`iteration ${p.iteration}, certificate ${p.certificate.toExponential(1)}`),
  });
  bar.done(res.cached ? 'cached' : `certificate ${res.certificate.toExponential(1)}`);
  return res;
}

/** F* from the reference solver, cached under <out>/cache by data content and λs. */
export async function referenceOptimum(
  d: ResolvedData,
  out: string,
  log?: Logger,
): Promise<{ fstar: number; cached: boolean; certificate: number }> {
  log?.info(
    { dataset: d.name, lambda1: d.lambda1, lambda2: d.lambda2 },
    'finding F* with the reference solver (cached)',
  );
  const res = await solveWithProgress(d, path.join(out, 'cache'), `solving for F* (${d.name})`);
  if (!(res.fstar > 0)) throw new SodaError('E_SOLVER', `reference solver returned F* = ${res.fstar}`);
  log?.info(
    {
      fstar: res.fstar,
      certificate: res.certificate,
      cached: res.cached,
      nnz: res.nnz,
      supportPct: res.supportPct,
      elapsedMs: res.elapsedMs,
    },
    'F* known',
  );
  return { fstar: res.fstar, cached: res.cached, certificate: res.certificate };
}

/**
 * Logistic regression on one class has no finite minimiser without λ2 and a trivial one with it:
 * the run would "converge" to a model that says the same thing for everything. Refused up front.
 */
export function refuseSingleClass(ds: Dataset, what: string): void {
  const y = ds.y;
  for (let i = 1; i < y.length; i++) if (y[i] !== y[0]) return;
  throw new SodaError(
    'E_DATA_PARSE',
    `${what}: every one of the ${y.length} examples has label ${y[0] > 0 ? '+1' : '-1'}; ` +
      'training needs examples of both classes',
    { file: what },
  );
}
