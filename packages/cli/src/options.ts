import type { Argv } from 'yargs';
import { rowFormatOptions } from './rows';

/** Options of a training run, shared by `soda master` and `soda run` (each also SODA_<OPTION>). */
export function trainingOptions<T>(y: Argv<T>) {
  return rowFormatOptions(y)
    .option('workers', { alias: 'M', type: 'number', default: 20, describe: 'number of shards = workers M' })
    .option('data', { type: 'string', describe: 'LIBSVM or CSV file (.gz ok) to train on' })
    .option('dataset', {
      type: 'string',
      default: 'spam',
      describe:
        'named dataset when --data is not given: spam (real corpus), madelon, rcv1, real-sim (look-alikes)',
    })
    .option('test', {
      type: 'string',
      describe: 'LIBSVM or CSV file of held-out examples: test accuracy in progress lines',
    })
    .option('test-fraction', {
      type: 'number',
      describe: 'hold out this fraction of the rows (seeded) as the test set',
    })
    .option('normalize', {
      type: 'boolean',
      default: true,
      describe: 'max-abs column scaling (--no-normalize: off)',
    })
    .option('intercept', {
      type: 'boolean',
      default: true,
      describe: 'fit an intercept (not ℓ1-penalised; λ2 applies to it)',
    })
    .option('algo', {
      type: 'string',
      default: 'soda',
      choices: ['soda', 'dave-pg', 'sync-pg'],
      describe: 'soda (sparse masks), dave-pg (= soda with p = 1), sync-pg (synchronous prox-gradient)',
    })
    .option('p', {
      type: 'number',
      default: 0.1,
      describe: 'mask probability for coordinates outside supp(w)',
    })
    .option('lambda1', { type: 'number', describe: "ℓ1 weight λ1 (default: the dataset's)" })
    .option('lambda2', { type: 'number', describe: "ℓ2 weight λ2 = μ (default: the dataset's)" })
    .option('gamma', { type: 'number', describe: 'step size γ (default 2/(μ + max L_i))' })
    .option('fstar', { type: 'number', describe: 'known optimum F* (default: reference solver, cached)' })
    .option('tol', { type: 'number', default: 1e-8, describe: 'stop at suboptimality (F − F*)/F* ≤ tol' })
    .option('tol-gap', {
      type: 'number',
      describe:
        'also stop when the certified duality gap (F − D)/|D| ≤ this (the default rule, at --tol, without F*)',
    })
    .option('max-epochs', {
      type: 'number',
      default: 1e6,
      describe: 'stop after this many epochs (updates / M)',
    })
    .option('max-time', {
      type: 'number',
      default: 3600,
      describe: 'stop after this many seconds of training',
    })
    .option('eval-every', {
      type: 'number',
      default: 1,
      describe: 'evaluate F(w^k) every this many seconds (> 0)',
    })
    .option('eval-every-updates', {
      type: 'number',
      default: 0,
      describe: 'also evaluate every this many updates (0: off)',
    })
    .option('wire-precision', {
      type: 'number',
      default: 64,
      describe:
        'bits of a value in the model and update frames: 64 (exact) or 32 (float32 with error feedback, ≈ 5 bytes a coordinate instead of 9; the workers learn it from the master)',
    })
    .option('seed', { type: 'number', default: 1, describe: 'seed of sharding, masks and generated data' })
    .option('shuffle', {
      type: 'boolean',
      default: true,
      describe: 'shard rows in a seeded random order (--no-shuffle: contiguous)',
    })
    .option('delay-ms', {
      type: 'number',
      default: 0,
      describe: 'artificial delay every worker adds per step',
    })
    .option('out', {
      type: 'string',
      default: 'out',
      describe: 'folder for the model, generated data and the F* cache',
    })
    .option('model-out', { type: 'string', describe: 'where to write the model (default <out>/model.json)' })
    .option('token', {
      type: 'string',
      describe:
        'shared secret workers must prove they know (HMAC); prefer --token-file (argv is visible in ps)',
    })
    .option('token-file', { type: 'string', describe: 'read the shared secret from this file' })
    .option('wait-timeout', {
      type: 'number',
      default: 0,
      describe:
        'give up (exit 6) when the workers are not all there this many seconds after waiting starts (0: wait forever)',
    })
    .option('checkpoint', {
      type: 'string',
      describe: 'checkpoint file (default <out>/checkpoint.soda); written atomically',
    })
    .option('checkpoint-every', {
      type: 'number',
      default: 30,
      describe: 'checkpoint every this many seconds (0: only the final one, at stop)',
    })
    .option('heartbeat', {
      type: 'number',
      default: 10,
      describe: 'ping workers every this many seconds; one that misses a ping is dropped',
    })
    .option('on-divergence', {
      type: 'string',
      default: 'restart',
      choices: ['restart', 'stop'],
      describe: 'restart from the best evaluated point with a larger p, or stop (exit 3)',
    })
    .option('max-restarts', {
      type: 'number',
      default: 10,
      describe: 'divergence restarts allowed before the run stops as diverged',
    })
    .option('port', { type: 'number', default: 7070, describe: 'port of the WebSocket (and /healthz)' })
    .option('host', { type: 'string', default: '0.0.0.0', describe: 'address to listen on' })
    .option('status-port', {
      type: 'number',
      describe:
        "serve /healthz, /readyz and /metrics on this port instead of the workers' (they tell anyone who can reach them the run's state)",
    })
    .option('status-host', {
      type: 'string',
      default: '127.0.0.1',
      describe: 'address of --status-port (loopback by default: only this host sees the run state)',
    })
    .option('log-level', {
      type: 'string',
      default: 'info',
      describe: 'pino level: debug, info, warn, error',
    })
    .option('pretty', {
      type: 'boolean',
      describe: 'human-readable logs (default: when stdout is a terminal)',
    });
}
