import * as path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { Master, type Algo, type MasterConfig } from '@soda/master';
import { createLogger } from '../logger';
import { trainingOptions } from '../options';
import { dataOptionsFromArgs, referenceOptimum, resolveData } from '../data-source';
import * as v from '../validate';

type Args = ArgumentsCamelCase<Record<string, unknown>>;

/** Build the frozen master configuration from parsed options; loads data and F* (slow steps, logged). */
export async function masterConfigFromArgs(a: Args): Promise<MasterConfig> {
  const pretty = (a.pretty as boolean | undefined) ?? process.stdout.isTTY;
  const logger = createLogger({ level: a.logLevel as string, pretty });
  const algo = v.oneOf<Algo>('algo', a.algo, ['soda', 'dave-pg', 'sync-pg']);
  const p = algo === 'soda' ? v.probability('p', a.p) : 1;
  const out = a.out as string;
  const workers = v.positiveInt('workers', a.workers, 100000);
  const d = await resolveData(dataOptionsFromArgs(a, out), logger);
  if (workers > d.data.X.rows) v.positiveInt('workers', workers, d.data.X.rows); // names the limit: one row per shard at least
  const fstar = a.fstar !== undefined ? v.positive('fstar', a.fstar) : referenceOptimum(d, out, logger).fstar;
  const token = v.optionalString(a.token);
  const cfg: MasterConfig = {
    host: a.host as string,
    port: v.port('port', a.port),
    data: d.data,
    dataName: d.name,
    dataHash: d.hash,
    ...(d.scale ? { scale: d.scale } : {}),
    workers,
    shuffle: a.shuffle !== false,
    seed: v.nonNegativeInt('seed', a.seed),
    algo,
    p,
    lambda1: d.lambda1,
    lambda2: d.lambda2,
    ...(a.gamma !== undefined ? { gamma: v.positive('gamma', a.gamma) } : {}),
    fstar,
    tol: v.nonNegative('tol', a.tol),
    maxEpochs: v.nonNegative('max-epochs', a.maxEpochs),
    maxTimeMs: 1000 * v.nonNegative('max-time', a.maxTime),
    evalEveryMs: 1000 * v.nonNegative('eval-every', a.evalEvery),
    evalEveryUpdates: v.nonNegativeInt('eval-every-updates', a.evalEveryUpdates),
    resumEvery: 10000,
    delayMs: v.nonNegative('delay-ms', a.delayMs),
    modelOut: v.optionalString(a.modelOut) ?? path.join(out, 'model.json'),
    ...(token ? { token } : {}),
    heartbeatMs: 10000,
    logger,
  };
  return Object.freeze(cfg);
}

export async function runMaster(cfg: MasterConfig): Promise<number> {
  const master = await Master.start(cfg);
  const onSignal = (sig: string) => void master.stop(`signal ${sig}`);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await master.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return result.reason === 'diverged' ? 3 : 0;
}

export const masterCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'master',
  describe: 'run the master: shard the data, wait for M workers, run Algorithm 1, log progress',
  builder: (y: Argv) => trainingOptions(y) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    process.exitCode = await runMaster(await masterConfigFromArgs(a));
  },
};
