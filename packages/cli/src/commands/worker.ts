import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { MAX_INDEX, SodaError } from '@soda/core';
import type { WorkerConfig } from '@soda/worker';
import { createLogger } from '../logger';
import * as v from '../validate';
import { resolveToken } from '../token';

export const workerCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'worker',
  describe: 'run a worker: connect to the master, take a shard, compute masked prox-gradient steps',
  builder: (y: Argv) =>
    y
      .option('master', {
        type: 'string',
        default: 'ws://127.0.0.1:7070',
        describe: "the master's ws:// or wss:// URL",
      })
      .option('id', {
        type: 'string',
        describe:
          "worker name in the master's logs (default host-pid; with --count K, the name of worker k is <id>-k)",
      })
      .option('count', {
        type: 'number',
        default: 1,
        describe:
          'run this many workers in this process, each with its own connection, shard and state (one event loop: cheaper than as many processes when they outnumber the cores)',
      })
      .option('token', {
        type: 'string',
        describe: 'shared secret of the master (visible in ps: prefer --token-file)',
      })
      .option('token-file', { type: 'string', describe: 'read the shared secret from this file' })
      .option('tls-ca', { type: 'string', describe: 'PEM CA certificate to trust for wss://' })
      .option('slowdown', { type: 'number', default: 1, describe: 'make this worker F times slower (F ≥ 1)' })
      .option('delay-ms', { type: 'number', default: 0, describe: 'extra delay per step, in ms' })
      .option('give-up', {
        type: 'number',
        default: 0,
        describe: 'seconds to keep retrying an unreachable master (0: forever)',
      })
      .option('liveness', {
        type: 'number',
        default: 30,
        describe:
          "reconnect when the master sent nothing (not even a ping) for this many seconds; keep ≥ 3 × the master's --heartbeat (0: off)",
      })
      .option('data', {
        type: 'string',
        describe:
          'read my shard from this LIBSVM or CSV file when the master sends no rows; {shard} is replaced by the ' +
          'assigned shard number (e.g. /data/shards/part-{shard}.svm → part-00003.svm)',
      })
      .option('max-features', {
        type: 'number',
        describe: 'refuse a --data file with a feature index above this (default 2^24)',
      })
      .option('shard', {
        type: 'number',
        describe: 'take only this shard (a worker pinned to one fixed --data file)',
      })
      .option('log-level', { type: 'string', default: 'warn', describe: 'pino level' }) as unknown as Argv<
      Record<string, unknown>
    >,
  handler: async (a) => {
    const token = resolveToken(a);
    const slowdown = v.num('slowdown', a.slowdown);
    if (slowdown < 1) v.positiveInt('slowdown', slowdown);
    const data = v.optionalString(a.data);
    if (data !== undefined && !data.includes('{shard}') && a.shard === undefined)
      throw new SodaError(
        'E_CONFIG',
        `--data ${data} names one fixed file: pin the worker to its shard with --shard K (SODA_SHARD), ` +
          'or put {shard} in the path',
      );
    const count = v.positiveInt('count', a.count, MAX_WORKERS_PER_PROCESS);
    if (count > 1 && a.shard !== undefined)
      throw new SodaError(
        'E_CONFIG',
        `--shard ${String(a.shard)} pins one worker to one shard; it cannot go with --count ${count}`,
      );
    const name = v.optionalString(a.id) ?? `${hostname()}-${process.pid}`;
    const common = {
      master: v.wsUrl('master', a.master),
      ...(token !== undefined ? { token } : {}),
      ...(v.optionalString(a.tlsCa) ? { tlsCa: a.tlsCa as string } : {}),
      slowdown,
      ...(v.optionalString(a.data) ? { data: a.data as string } : {}),
      ...(a.shard !== undefined ? { shard: v.nonNegativeInt('shard', a.shard) } : {}),
      ...(a.maxFeatures !== undefined
        ? { maxFeatures: v.positiveInt('max-features', a.maxFeatures, MAX_INDEX) }
        : {}),
      delayMs: v.nonNegative('delay-ms', a.delayMs),
      retryInitialMs: 100,
      retryMaxMs: 5000,
      giveUpMs: 1000 * v.nonNegative('give-up', a.giveUp),
      livenessMs: 1000 * v.nonNegative('liveness', a.liveness),
      logger: createLogger({ level: a.logLevel as string, name: 'worker' }),
    };
    const configs: WorkerConfig[] = Array.from({ length: count }, (_, k) => {
      const workerId = count === 1 ? name : `${name}-${k}`;
      // several share one log stream: each line then says whose it is
      const logger = count === 1 ? common.logger : common.logger.child({ worker: workerId });
      return Object.freeze({ ...common, workerId, logger });
    });
    const { Worker } = await import('@soda/worker');
    const workers = configs.map((cfg) => Worker.start(cfg));
    const onSignal = () => workers.forEach((w) => w.leave('signal'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // every worker to its end: one that fails (and says why) does not take the others down with it
    const ends = await Promise.allSettled(workers.map((w) => w.done));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const failed = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  },
};

/** --count's bound: as soda run's --workers (each worker holds a connection and a shard's state) */
const MAX_WORKERS_PER_PROCESS = 1000;
