import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { Worker, type WorkerConfig } from '@soda/worker';
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
      .option('id', { type: 'string', describe: "worker name in the master's logs (default host-pid)" })
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
      .option('log-level', { type: 'string', default: 'warn', describe: 'pino level' }) as unknown as Argv<
      Record<string, unknown>
    >,
  handler: async (a) => {
    const token = resolveToken(a);
    const slowdown = v.num('slowdown', a.slowdown);
    if (slowdown < 1) v.positiveInt('slowdown', slowdown);
    const cfg: WorkerConfig = Object.freeze({
      master: v.wsUrl('master', a.master),
      workerId: v.optionalString(a.id) ?? `${hostname()}-${process.pid}`,
      ...(token !== undefined ? { token } : {}),
      ...(v.optionalString(a.tlsCa) ? { tlsCa: a.tlsCa as string } : {}),
      slowdown,
      delayMs: v.nonNegative('delay-ms', a.delayMs),
      retryInitialMs: 100,
      retryMaxMs: 5000,
      giveUpMs: 1000 * v.nonNegative('give-up', a.giveUp),
      livenessMs: 1000 * v.nonNegative('liveness', a.liveness),
      logger: createLogger({ level: a.logLevel as string, name: 'worker' }),
    });
    const worker = Worker.start(cfg);
    const onSignal = () => worker.leave('signal');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await worker.done;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  },
};
