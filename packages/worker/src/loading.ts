import { SodaError, type CsrMatrix } from '@soda/core';
import { ProtocolError, type Assign } from '@soda/protocol';
import { prepareShard, type LocalShard } from './columns';
import { prepareOwnShard, readOwnShard, shardPath, type OwnShard } from './own-data';

/*
 * Loading a shard, the worker's 'loading' phase: rows from the master, a shard this worker already
 * holds (a restart after a divergence), or its own file (`--data`), scaled when the master sends the
 * divisors. No I/O but the file read; the service decides what to send.
 */

/** A loaded shard, kept so a restart's assign need not ship or read it again. */
export interface Held {
  readonly shard: number;
  readonly runId: string;
  readonly data: LocalShard;
  /** L_i */
  readonly L: number;
  /** SHA-256 of the file it was read from */
  readonly hash?: string;
}

/** Whether `held` is the shard `msg` assigns (same shard, run and dimension): nothing to load. */
export function holds(held: Held | null, msg: Assign): held is Held {
  return held !== null && held.shard === msg.shard && held.runId === msg.runId && held.data.n === msg.n;
}

/** The rows the master sent (the decoder requires n with rows). */
export function fromRows(msg: Assign & { readonly rows: NonNullable<Assign['rows']> }): Held {
  const { m, ptr, ind, val, y } = msg.rows;
  const X: CsrMatrix = { rows: m, cols: msg.n!, ptr, ind, val };
  return { shard: msg.shard, runId: msg.runId, ...prepareShard(X, y, msg.lambda2) };
}

/** Thrown when the worker's own file cannot be used: not the master's fault, so the worker leaves. */
export class UnusableShard extends Error {
  constructor(readonly fault: SodaError) {
    super(fault.message);
  }
}

/** This worker's own file for shard `shard` (the `--data` template). */
export async function readShardFile(
  template: string | undefined,
  shard: number,
  maxFeatures?: number,
): Promise<OwnShard> {
  if (template === undefined)
    throw new ProtocolError(
      'E_FIELD',
      `assign without rows for shard ${shard}, which this worker does not hold (start it with --data)`,
      'rows',
    );
  try {
    return await readOwnShard(shardPath(template, shard), shard, maxFeatures);
  } catch (e) {
    throw e instanceof SodaError ? new UnusableShard(e) : e;
  }
}

/** The own file's rows, widened to the run's n, scaled, with the intercept's column when the run fits one. */
export function fromOwn(
  own: OwnShard,
  msg: Assign,
  n: number,
  scale: Assign['scale'],
  intercept: boolean | undefined,
): Held {
  const { data, L } = prepareOwnShard(own, n, scale, msg.lambda2, intercept === true);
  return { shard: msg.shard, runId: msg.runId, data, L, hash: own.hash };
}

/** Why a worker with its own --data refuses a master that sends rows (the master lacks --data-at-workers). */
export function rowsRefusal(data: string): string {
  return (
    `the master sends rows, but this worker reads its own --data ${data}: ` +
    'start the master with --data-at-workers (or this worker without --data)'
  );
}
