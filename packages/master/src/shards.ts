import { selectRows, type Dataset } from '@soda/core';
import type { ShardRows } from '@soda/protocol';

/** One part S_i of the data and who computes on it. */
export interface Shard {
  readonly id: number;
  readonly rows: ShardRows;
  /** π_i = |S_i| / m */
  readonly pi: number;
  /** Connection id of the worker that owns the shard, or null when it is free. */
  owner: number | null;
  /** The owner has loaded the shard and reported L_i. */
  ready: boolean;
  /** Smoothness constant reported for this shard (it depends on the rows only, so it survives a new owner). */
  L: number | null;
}

/**
 * The registry of shards and workers: which connection owns which shard, and who waits as a standby.
 * Invariant: a connection owns at most one shard, and a shard has at most one owner.
 */
export class ShardTable {
  readonly shards: Shard[];
  private readonly byConn = new Map<number, number>();
  private readonly standbys: number[] = [];

  constructor(data: Dataset, parts: readonly Uint32Array[]) {
    const m = data.X.rows;
    this.shards = parts.map((rowsIdx, id) => {
      const X = selectRows(data.X, rowsIdx);
      const y = Float64Array.from(rowsIdx, (r) => data.y[r]);
      return {
        id,
        rows: { m: X.rows, ptr: X.ptr, ind: X.ind, val: X.val, y },
        pi: rowsIdx.length / m,
        owner: null,
        ready: false,
        L: null,
      };
    });
  }

  get size(): number {
    return this.shards.length;
  }

  shardOf(conn: number): Shard | undefined {
    const id = this.byConn.get(conn);
    return id === undefined ? undefined : this.shards[id];
  }

  /** Give conn the lowest free shard, or queue it as a standby and return undefined. */
  claim(conn: number): Shard | undefined {
    const free = this.shards.find((s) => s.owner === null);
    if (free === undefined) {
      if (!this.standbys.includes(conn)) this.standbys.push(conn);
      return undefined;
    }
    free.owner = conn;
    free.ready = false;
    this.byConn.set(conn, free.id);
    return free;
  }

  /** conn is gone: free its shard (returned) or drop it from the standbys. */
  release(conn: number): Shard | undefined {
    const i = this.standbys.indexOf(conn);
    if (i >= 0) this.standbys.splice(i, 1);
    const shard = this.shardOf(conn);
    if (shard === undefined) return undefined;
    shard.owner = null;
    shard.ready = false;
    this.byConn.delete(conn);
    return shard;
  }

  /** The next standby connection, removed from the queue. */
  nextStandby(): number | undefined {
    return this.standbys.shift();
  }

  get standbyCount(): number {
    return this.standbys.length;
  }

  allReady(): boolean {
    return this.shards.every((s) => s.ready);
  }

  readyCount(): number {
    return this.shards.filter((s) => s.ready).length;
  }

  ownedCount(): number {
    return this.byConn.size;
  }

  /** L = max_i L_i over the shards that reported one. */
  maxL(): number {
    let L = 0;
    for (const s of this.shards) if (s.L !== null && s.L > L) L = s.L;
    return L;
  }
}
