import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import type { WorkerConfig } from '@soda/worker';
import { createLogger } from '../logger';
import * as v from '../validate';

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
      .option('id', { type: 'string', describe: "worker name in the master's logs (default host-pid)" })
      .option('token', { type: 'string', describe: 'shared secret of the master' })
      .option('tls-ca', { type: 'string', describe: 'PEM CA certificate to trust for wss://' })
      .option('slowdown', { type: 'number', default: 1, describe: 'make this worker F times slower (F ≥ 1)' })
      .option('delay-ms', { type: 'number', default: 0, describe: 'extra delay per step, in ms' })
      .option('give-up', {
        type: 'number',
        default: 0,
        describe: 'seconds to keep retrying an unreachable master (0: forever)',
      })
      .option('log-level', { type: 'string', default: 'warn', describe: 'pino level' }) as unknown as Argv<
      Record<string, unknown>
    >,
  handler: async (a) => {
    const slowdown = v.num('slowdown', a.slowdown);
    if (slowdown < 1) v.positiveInt('slowdown', slowdown);
    const cfg: WorkerConfig = Object.freeze({
      master: v.wsUrl('master', a.master),
      workerId: v.optionalString(a.id) ?? `${hostname()}-${process.pid}`,
      ...(v.optionalString(a.token) ? { token: a.token as string } : {}),
      ...(v.optionalString(a.tlsCa) ? { tlsCa: a.tlsCa as string } : {}),
      slowdown,
      delayMs: v.nonNegative('delay-ms', a.delayMs),
      retryInitialMs: 100,
      retryMaxMs: 5000,
      giveUpMs: 1000 * v.nonNegative('give-up', a.giveUp),
      logger: createLogger({ level: a.logLevel as string, name: 'worker' }),
    });
    const { Worker } = await import('@soda/worker');
    const worker = Worker.start(cfg);
    const onSignal = () => worker.leave('signal');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await worker.done;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  },
};
