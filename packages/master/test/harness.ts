import pino from 'pino';
import { csrFromDense, type Dataset } from '@soda/core';
import type { FromMaster, SparseVector } from '@soda/protocol';
import { ClaimGuard } from '../src/claim-guard';
import { resolveMasterConfig, type MasterConfig, type MasterOptions } from '../src/config';
import { Coordinator } from '../src/coordinator';
import type { Command, CoordinatorEvent } from '../src/events';
import { RunState } from '../src/run-state';

/** A tiny dataset: 6 rows, 4 columns; with 2 workers, shards of 3 rows (π = 1/2 each). */
export function tinyData(m = 6): Dataset {
  const rows = Array.from({ length: m }, (_, r) => [1, (r % 3) - 1, r % 2, 0.5 * r]);
  return { X: csrFromDense(rows), y: Float64Array.from(rows, (_, r) => (r % 2 === 0 ? 1 : -1)) };
}

/** A resolved config (resolveMasterConfig, as Master.start does) of the tiny run, with `over` on top. */
export function config(over: Partial<MasterOptions> = {}): MasterConfig {
  return resolveMasterConfig({
    host: '127.0.0.1',
    port: 0,
    data: tinyData(),
    dataName: 'tiny',
    dataHash: 'tiny',
    workers: 2,
    shuffle: false,
    seed: 1,
    algo: 'soda',
    ...((over.algo ?? 'soda') === 'soda' ? { p: 0.5 } : {}), // dave-pg and sync-pg fix p = 1
    lambda1: 0.1,
    lambda2: 0.5,
    tol: 1e-10,
    maxEpochs: 0,
    maxTimeMs: 0,
    evalEveryUpdates: 0,
    evalEveryMs: 0,
    resumEvery: 0,
    delayMs: 0,
    heartbeatMs: 5000,
    logger: pino({ level: 'silent' }),
    spotCheckSalt: 12345, // the spot-check's shard per round is reproducible
    ...over,
  });
}

export function vec(n: number, entries: Record<number, number>): SparseVector {
  const idx = Object.keys(entries)
    .map(Number)
    .sort((a, b) => a - b);
  return { n, idx: Uint32Array.from(idx), val: Float64Array.from(idx, (j) => entries[j]) };
}

type Sent = { conn: number; msg: FromMaster };

/**
 * A coordinator on a fake clock, driven like the wiring drives it. Conn ids are chosen by the test;
 * every helper returns the commands of the event it sends.
 */
export class Harness {
  readonly cfg: MasterConfig;
  readonly run: RunState;
  readonly c: Coordinator;
  now = 1000;

  /**
   * `checkRows`: the coordinator checks claims against the shards' rows (as `soda master` does), so L_i
   * and spot-checked f_i must be the true ones. Without it, the event-logic tests may send round
   * numbers: claims are checked only as for rows the master never sees (finite, f_i ≥ λ2/2‖w‖²).
   */
  constructor(over: Partial<MasterOptions> = {}, checkRows = false) {
    this.cfg = config(over);
    this.run = new RunState(this.cfg);
    const M = this.run.shards.size;
    const guard = checkRows
      ? undefined
      : new ClaimGuard(
          Array.from({ length: M }, () => null),
          this.run.n ?? 0, // a master without data learns n in the stats round
          this.cfg.lambda2,
          this.cfg.fstar,
          this.cfg.spotCheckSalt,
        );
    this.c = new Coordinator(this.cfg, this.run, this.now, guard);
  }

  get n(): number {
    return this.run.model.n;
  }

  handle(e: Omit<CoordinatorEvent, 'now'> & { now?: number }): Command[] {
    return this.c.handle({ ...e, now: this.now } as CoordinatorEvent);
  }

  hello(conn: number, shard?: number): Command[] {
    return this.handle({
      type: 'hello',
      conn,
      worker: `w${conn}`,
      ...(shard !== undefined ? { shard } : {}),
    });
  }

  ready(conn: number, shard: number, L = 2, m = this.run.shards.shards[shard].m): Command[] {
    return this.handle({ type: 'ready', conn, msg: { t: 'ready', shard, m, L } });
  }

  update(conn: number, shard: number, k: number, delta: Record<number, number>): Command[] {
    const msg = { t: 'update', shard, k, delta: vec(this.n, delta), fi: 0 } as const;
    return this.handle({ type: 'update', conn, msg });
  }

  /**
   * An evaluation answer. The coordinator asks for the duality gap's parts whenever λ2 > 0, so they are
   * sent too: `gap` (default: a zero entropy sum and u = 0, which only make D = −0 and the gap F) or null
   * for an answer without them.
   */
  answer(
    conn: number,
    shard: number,
    id: number,
    fi: number,
    correct?: number,
    gap: { entropy: number; u: SparseVector } | null = { entropy: 0, u: vec(this.n, {}) },
  ): Command[] {
    const msg = { t: 'evalResult', id, shard, fi, correct, ...(gap ?? {}) } as const;
    return this.handle({ type: 'evalResult', conn, msg });
  }

  close(conn: number, code = 1006): Command[] {
    return this.handle({ type: 'close', conn, code });
  }

  tick(advanceMs: number): Command[] {
    this.now += advanceMs;
    return this.handle({ type: 'tick' });
  }

  stop(reason = 'stopped'): Command[] {
    return this.handle({ type: 'stop', reason });
  }

  /** Workers 1..M join and load shards 0..M-1: the run starts. Returns the last ready's commands. */
  start(L = 2): Command[] {
    const M = this.cfg.workers;
    for (let i = 0; i < M; i++) this.hello(i + 1);
    let out: Command[] = [];
    for (let i = 0; i < M; i++) out = this.ready(i + 1, i, L);
    return out;
  }

  shardKind(id: number): string {
    return this.run.shards.shards[id].state.kind;
  }
}

export function sends(cmds: readonly Command[], t?: FromMaster['t']): Sent[] {
  const out: Sent[] = [];
  for (const c of cmds)
    if (c.type === 'send' && (t === undefined || c.msg.t === t)) out.push({ conn: c.conn, msg: c.msg });
  return out;
}

export function logs(cmds: readonly Command[], prefix: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const c of cmds)
    if (c.type === 'log' && c.msg.startsWith(prefix)) out.push({ msg: c.msg, ...c.fields });
  return out;
}

export function only<T extends Command['type']>(cmds: readonly Command[], type: T) {
  return cmds.filter((c): c is Extract<Command, { type: T }> => c.type === type);
}

export function rejects(cmds: readonly Command[]) {
  return only(cmds, 'reject').map((c) => ({ conn: c.conn, code: c.error.code, field: c.error.field }));
}

/** The eval id sent in `cmds` (the first eval frame). */
export function evalId(cmds: readonly Command[]): number {
  const e = sends(cmds, 'eval')[0];
  if (e === undefined || e.msg.t !== 'eval') throw new Error('no eval frame');
  return e.msg.id;
}

/** prox_{γλ1}(x) = sign(x) max(|x| − γλ1, 0), computed here independently of @soda/core. */
export function soft(x: number, t: number): number {
  return Math.sign(x) * Math.max(Math.abs(x) - t, 0);
}
