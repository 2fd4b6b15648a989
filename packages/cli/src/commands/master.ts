import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { readManifest, SodaError, type SplitManifest } from '@soda/core';
import type { MasterConfig, MasterOptions } from '@soda/master';
import type { ResolvedData } from '../data-source';
import { createLogger } from '../logger';
import { trainingOptions } from '../options';
import * as v from '../validate';
import { isLoopback, resolveToken } from '../token';
import { exitCodeFor } from '../exit-codes';
import { replayFinished, resumeFrom, resumeMode } from '../resume';

type Args = ArgumentsCamelCase<Record<string, unknown>>;

/**
 * The master's options from parsed CLI options (and their SODA_* environment variables); loads data and
 * F* (slow steps, logged). @soda/master's resolveMasterConfig applies the defaults and the algorithm's
 * p rule, and freezes the result.
 */
export async function masterConfigFromArgs(a: Args): Promise<MasterConfig> {
  const pretty = (a.pretty as boolean | undefined) ?? process.stdout.isTTY;
  const logger = createLogger({ level: a.logLevel as string, pretty });
  // loaded here, not at the top: only a master needs them (see main.ts)
  const { ALGO_NAMES, algorithm, resolveMasterConfig } = await import('@soda/master');
  const algo = v.oneOf('algo', a.algo, ALGO_NAMES);
  // --p has a default, so it is only read where it means something: DAve-PG and sync-PG fix p = 1
  const p = algorithm(algo).fixedP === null ? v.probability('p', a.p) : undefined;
  const out = a.out as string;
  const workers = v.positiveInt('workers', a.workers, 100000);
  const { dataOptionsFromArgs, referenceOptimum, resolveData } = await import('../data-source');
  const resume = resumeMode(a.resume);
  const atWorkers = a.dataAtWorkers === true;
  const d = atWorkers ? await workersData(a) : await resolveData(dataOptionsFromArgs(a, out), logger);
  if (d.data !== null && workers > d.data.X.rows) v.positiveInt('workers', workers, d.data.X.rows); // names the limit: one row per shard at least
  const fstar =
    a.fstar !== undefined
      ? v.positive('fstar', a.fstar)
      : d.data !== null
        ? (await referenceOptimum(d as ResolvedData, out, logger)).fstar
        : undefined; // no data here, no F*: the run stops on the duality gap
  const token = resolveToken(a);
  const host = a.host as string;
  if (token === undefined && !isLoopback(host))
    logger.warn(
      { host, auth: 'none' },
      `NO AUTHENTICATION: listening on ${host} without a token; anyone who can reach this port can join ` +
        'as a worker and forge results. Set --token-file (SODA_TOKEN_FILE) or --token (SODA_TOKEN).',
    );
  const checkpointFile = v.optionalString(a.checkpoint) ?? path.join(out, 'checkpoint.soda');
  const heartbeat = v.positive('heartbeat', a.heartbeat);
  const tls = tlsFiles(v.optionalString(a.tlsCert), v.optionalString(a.tlsKey));
  const options: MasterOptions = {
    host,
    port: v.port('port', a.port),
    ...(a.statusPort !== undefined
      ? { status: { host: a.statusHost as string, port: v.port('status-port', a.statusPort) } }
      : {}),
    data: d.data,
    dataName: d.name,
    dataHash: d.hash,
    ...(d.scale ? { scale: d.scale } : {}),
    ...('manifest' in d && d.manifest ? { manifest: d.manifest } : {}),
    ...('intercept' in d && d.intercept ? { intercept: true } : {}),
    normalize: a.normalize !== false,
    ...(d.unpenalizedFrom !== undefined ? { unpenalizedFrom: d.unpenalizedFrom } : {}),
    ...(d.featureNames ? { featureNames: d.featureNames } : {}),
    workers,
    shuffle: a.shuffle !== false,
    seed: v.nonNegativeInt('seed', a.seed),
    algo,
    ...(p !== undefined ? { p } : {}),
    lambda1: d.lambda1,
    lambda2: d.lambda2,
    ...(a.gamma !== undefined ? { gamma: v.positive('gamma', a.gamma) } : {}),
    ...(fstar !== undefined ? { fstar } : {}),
    ...(d.test ? { test: d.test } : {}),
    tol: v.nonNegative('tol', a.tol),
    ...(a.tolGap !== undefined ? { tolGap: v.positive('tol-gap', a.tolGap) } : {}),
    maxEpochs: v.nonNegative('max-epochs', a.maxEpochs),
    maxTimeMs: 1000 * v.nonNegative('max-time', a.maxTime),
    evalEveryMs: 1000 * v.positive('eval-every', a.evalEvery),
    evalEveryUpdates: v.nonNegativeInt('eval-every-updates', a.evalEveryUpdates),
    delayMs: v.nonNegative('delay-ms', a.delayMs),
    modelOut: v.optionalString(a.modelOut) ?? path.join(out, 'model.json'),
    ...(token ? { token } : {}),
    heartbeatMs: 1000 * heartbeat,
    waitTimeoutMs: 1000 * v.nonNegative('wait-timeout', a.waitTimeout),
    checkpoint: {
      file: checkpointFile,
      everyMs: 1000 * v.nonNegative('checkpoint-every', a.checkpointEvery),
    },
    ...(await resumeFrom(resume, checkpointFile, logger).then((r) => (r ? { resume: r } : {}))),
    onDivergence: v.oneOf('on-divergence', a.onDivergence, ['restart', 'stop'] as const),
    maxRestarts: v.nonNegativeInt('max-restarts', a.maxRestarts),
    wirePrecision: v.wirePrecision('wire-precision', a.wirePrecision),
    ...(tls ? { tls } : {}),
    logger,
  };
  return resolveMasterConfig(options);
}

/**
 * --data-at-workers: the master reads no data. Every option that needs rows here is refused once, now:
 * --data (and the held-out sets). --resume works: the checkpoint is restored once the workers' stats
 * round has rebuilt n, the π_i and the scale (RunState.resumeFrom). λs default as for a file.
 */
async function workersData(a: Args) {
  // an empty value is unset (compose passes SODA_DATA='' through)
  const clash = ['data', 'test', 'testFraction'].find((k) => a[k] !== undefined && a[k] !== '');
  if (clash !== undefined)
    throw new SodaError(
      'E_CONFIG',
      `--data-at-workers: the workers hold the data, so --${clash.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} cannot be given to the master`,
    );
  const file = v.optionalString(a.manifest);
  let manifest: SplitManifest | undefined;
  if (file !== undefined) {
    manifest = await readManifest(file);
    if (manifest.parts.length !== a.workers)
      throw new SodaError(
        'E_CONFIG',
        `--manifest ${file} has ${manifest.parts.length} parts but --workers is ${String(a.workers)}`,
      );
  }
  const { FILE_DEFAULT_LAMBDAS } = await import('../data-source');
  return {
    data: null,
    name: manifest ? path.basename(manifest.source) : 'workers',
    // the intercept (default on): each worker appends the constant column after scaling its part, and
    // the master learns its index (n) in the stats round
    intercept: a.intercept !== false,
    unpenalizedFrom: undefined,
    featureNames: undefined,
    // the real identity comes from the stats round (RunState.dataHash)
    hash: '',
    scale: undefined,
    test: undefined,
    manifest,
    lambda1: a.lambda1 !== undefined ? v.nonNegative('lambda1', a.lambda1) : FILE_DEFAULT_LAMBDAS.lambda1,
    lambda2: a.lambda2 !== undefined ? v.positive('lambda2', a.lambda2) : FILE_DEFAULT_LAMBDAS.lambda2,
  };
}

/** --tls-cert and --tls-key come together and must be readable now, not at the first connection. */
function tlsFiles(
  cert: string | undefined,
  key: string | undefined,
): { cert: string; key: string } | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined)
    throw new SodaError(
      'E_CONFIG',
      'TLS needs both --tls-cert and --tls-key (env SODA_TLS_CERT, SODA_TLS_KEY)',
    );
  for (const [name, file] of [
    ['tls-cert', cert],
    ['tls-key', key],
  ]) {
    try {
      accessSync(file, constants.R_OK);
    } catch (e) {
      throw new SodaError('E_CONFIG', `--${name} ${file} cannot be read: ${(e as Error).message}`);
    }
  }
  return { cert, key };
}

export async function runMaster(cfg: MasterConfig): Promise<number> {
  const replayed = await replayFinished(cfg);
  if (replayed !== null) return replayed;
  const { Master } = await import('@soda/master');
  const master = await Master.start(cfg);
  const onSignal = (sig: string) => void master.stop(`signal ${sig}`);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await master.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return exitCodeFor(result, cfg.tolGap ?? cfg.tol);
}

export const masterCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'master',
  describe: 'run the master: shard the data, wait for M workers, run Algorithm 1, log progress',
  builder: (y: Argv) =>
    trainingOptions(y)
      .option('resume', {
        type: 'string',
        describe:
          'continue from --checkpoint (refused if it is of other data or settings); `--resume auto`: only when it exists, else start afresh. A finished run prints its summary and exits with its code',
      })
      .option('data-at-workers', {
        type: 'boolean',
        default: false,
        describe:
          'the workers hold the data (soda worker --data part-{shard}.svm): no --data here; n and the scaling come from a stats round, the run stops on the duality gap',
      })
      .option('manifest', {
        type: 'string',
        describe:
          "with --data-at-workers: `soda data split`'s manifest.json; each worker's part must match it",
      })
      .option('tls-cert', { type: 'string', describe: 'PEM certificate: serve wss:// (with --tls-key)' })
      .option('tls-key', { type: 'string', describe: 'PEM private key of --tls-cert' }) as unknown as Argv<
      Record<string, unknown>
    >,
  handler: async (a) => {
    process.exitCode = await runMaster(await masterConfigFromArgs(a));
  },
};
