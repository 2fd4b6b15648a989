import pino, { type Logger } from 'pino';
import { Writable } from 'node:stream';
import type { Dataset } from '@soda/core';
import { Master, type MasterOptions } from '@soda/master';
import { Worker, type WorkerConfig } from '@soda/worker';

/** A logger whose JSON lines are kept in memory, for assertions on what a user would read. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

export function masterConfig(
  data: Dataset,
  over: Partial<MasterOptions> & { logger: Logger },
): MasterOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    data,
    dataName: 'test',
    dataHash: 'test',
    workers: 4,
    shuffle: false,
    seed: 1,
    algo: 'soda',
    ...((over.algo ?? 'soda') === 'soda' ? { p: 0.5 } : {}), // dave-pg and sync-pg fix p = 1
    lambda1: 0.01,
    lambda2: 0.05,
    tol: 1e-10,
    maxEpochs: 5000,
    maxTimeMs: 60000,
    evalEveryUpdates: 100,
    evalEveryMs: 0,
    resumEvery: 1000,
    delayMs: 0,
    heartbeatMs: 5000,
    ...over,
  };
}

export function workerConfig(port: number, over: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    master: `ws://127.0.0.1:${port}`,
    workerId: `w-${Math.random().toString(36).slice(2, 8)}`,
    slowdown: 1,
    delayMs: 0,
    retryInitialMs: 50,
    retryMaxMs: 500,
    giveUpMs: 20000,
    logger: pino({ level: 'silent' }),
    ...over,
  };
}

/** Master plus M in-process workers over real loopback sockets; resolves with the master's result and logs. */
export async function runCluster(data: Dataset, over: Partial<MasterOptions>, M = over.workers ?? 4) {
  const { logger, lines } = memoryLogger();
  const master = await Master.start(masterConfig(data, { ...over, workers: M, logger }));
  const workers = Array.from({ length: M }, () => Worker.start(workerConfig(master.port)));
  const result = await master.done;
  await Promise.all(workers.map((w) => w.done));
  return { result, lines, master };
}
