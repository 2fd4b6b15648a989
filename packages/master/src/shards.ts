import { shardDataset, shardWeights, type Dataset } from '@soda/core';
import type { ShardRows } from '@soda/protocol';

/**
 * Where a shard is in its life. The owner of a loading or resetting shard owes `owes` `ready` frames:
 * one per assign it was sent (a restart that reaches a still-loading worker makes that two).
 *   free ──claim──▶ loading ──ready──▶ ready ──restart──▶ resetting ──ready──▶ ready
 *   any ──release (the owner left)──▶ free
 * A resetting shard's updates were computed before the restart reached its worker: stale, not errors.
 */
export type ShardState =
  | { readonly kind: 'free' }
  | { readonly kind: 'loading'; readonly owner: number; readonly owes: number }
  | { readonly kind: 'resetting'; readonly owner: number; readonly owes: number }
  | { readonly kind: 'ready'; readonly owner: number };

const FREE: ShardState = Object.freeze({ kind: 'free' });

/** One part S_i of the data and who computes on it. */
export interface Shard {
  readonly id: number;
  /** the rows when the master holds the data; null when the worker reads its own file */
  readonly rows: ShardRows | null;
  /** m_i: the rows' count, or (workers hold the data) what the stats round learnt (0 before it) */
  readonly m: number;
  /** π_i = |S_i| / m (NaN until the stats round when the workers hold the data) */
  readonly pi: number;
  readonly state: ShardState;
  /** Smoothness constant reported for this shard (it depends on the rows only, so it survives a new owner). */
  L: number | null;
}

interface MutableShard extends Shard {
  state: ShardState;
  m: number;
  pi: number;
}

/** The owner of `s`, or null when it is free. */
export function ownerOf(s: Shard): number | null {
  return s.state.kind === 'free' ? null : s.state.owner;
}

/**
 * The registry of shards and workers: each shard's state, which connection owns which shard, and who
 * waits as a standby. Invariant: a connection owns at most one shard, and a shard has at most one owner.
 */
export class ShardTable {
  private readonly table: MutableShard[];
  private readonly byConn = new Map<number, number>();
  private readonly standbys: number[] = [];
  /** the shard each pinned connection insists on */
  private readonly pins = new Map<number, number>();

  /** The master's data cut into `parts`, or (null) M shards whose rows stay with their workers. */
  constructor(data: Dataset | null, parts: readonly Uint32Array[] | number) {
    if (data === null || typeof parts === 'number') {
      const M = typeof parts === 'number' ? parts : parts.length;
      this.table = Array.from({ length: M }, (_, id) => ({
        id,
        rows: null,
        m: 0,
        pi: NaN,
        state: FREE,
        L: null,
      }));
      return;
    }
    const pi = shardWeights(parts);
    this.table = shardDataset(data, parts).map(({ X, y }, id) => {
      return {
        id,
        rows: { m: X.rows, ptr: X.ptr, ind: X.ind, val: X.val, y },
        m: X.rows,
        pi: pi[id],
        state: FREE,
        L: null,
      };
    });
  }

  /** The stats round is over (workers hold the data): each shard's m_i and π_i. */
  setSizes(m: readonly number[], pi: ArrayLike<number>): void {
    this.table.forEach((s, i) => {
      s.m = m[i];
      s.pi = pi[i];
    });
  }

  get shards(): readonly Shard[] {
    return this.table;
  }

  get size(): number {
    return this.table.length;
  }

  shardOf(conn: number): Shard | undefined {
    const id = this.byConn.get(conn);
    return id === undefined ? undefined : this.table[id];
  }

  /**
   * Give conn the lowest free shard (now loading), or queue it as a standby and return undefined.
   * A worker pinned to one shard (hello.shard: it holds that file only) gets that one or waits.
   */
  claim(conn: number, pin?: number): Shard | undefined {
    const pinned = pin ?? this.pins.get(conn); // a standby keeps the pin of its hello
    const free = this.table.find((s) => s.state.kind === 'free' && (pinned === undefined || s.id === pinned));
    if (pinned !== undefined) this.pins.set(conn, pinned);
    if (free === undefined) {
      if (!this.standbys.includes(conn)) this.standbys.push(conn);
      return undefined;
    }
    free.state = { kind: 'loading', owner: conn, owes: 1 };
    this.byConn.set(conn, free.id);
    return free;
  }

  /**
   * The owner of shard `id` answered `ready`. Returns 'ready' when that was the last one it owed,
   * 'owes' while it still owes more, 'unexpected' when it owed none (the shard is ready already).
   */
  markReady(id: number, L: number): 'ready' | 'owes' | 'unexpected' {
    const s = this.table[id];
    const st = s.state;
    if (st.kind !== 'loading' && st.kind !== 'resetting') return 'unexpected';
    if (st.owes > 1) {
      s.state = { ...st, owes: st.owes - 1 };
      return 'owes';
    }
    s.state = { kind: 'ready', owner: st.owner };
    s.L = L;
    return 'ready';
  }

  /** A restart reset was sent to shard `id`'s owner: it owes one more `ready`, and its updates are stale. */
  markResetting(id: number): void {
    const s = this.table[id];
    const st = s.state;
    if (st.kind === 'free') return;
    const owes = st.kind === 'ready' ? 1 : st.owes + 1;
    s.state = { kind: 'resetting', owner: st.owner, owes };
  }

  /** conn is gone: free its shard (returned) or drop it from the standbys. */
  release(conn: number): Shard | undefined {
    const i = this.standbys.indexOf(conn);
    if (i >= 0) this.standbys.splice(i, 1);
    this.pins.delete(conn);
    const shard = this.byConn.get(conn);
    if (shard === undefined) return undefined;
    this.table[shard].state = FREE;
    this.byConn.delete(conn);
    return this.table[shard];
  }

  /** The next standby connection that may take shard `freed` (unpinned, or pinned to it), dequeued. */
  nextStandby(freed?: number): number | undefined {
    const i = this.standbys.findIndex((c) => {
      const pin = this.pins.get(c);
      return freed === undefined || pin === undefined || pin === freed;
    });
    return i < 0 ? undefined : this.standbys.splice(i, 1)[0];
  }

  get standbyCount(): number {
    return this.standbys.length;
  }

  readyCount(): number {
    return this.table.filter((s) => s.state.kind === 'ready').length;
  }

  /** The shards whose worker is ready, with their owners. */
  *readyOwners(): IterableIterator<[Shard, number]> {
    for (const s of this.table) if (s.state.kind === 'ready') yield [s, s.state.owner];
  }

  /** L = max_i L_i over the shards that reported one. */
  maxL(): number {
    let L = 0;
    for (const s of this.table) if (s.L !== null && s.L > L) L = s.L;
    return L;
  }
}
