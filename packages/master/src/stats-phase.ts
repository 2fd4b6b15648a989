import type { Ready, Stats } from '@soda/protocol';
import { checkReady, StatsRound, type OwnShardFacts, type StatsVerdict } from './data-at-scale';
import type { MasterConfig } from './config';
import type { Outbox } from './events';
import type { RunState } from './run-state';
import { ownerOf, type Shard } from './shards';

/**
 * The coordinator's side of a run whose workers hold the data: the stats round (each owner's `stats`
 * offered to StatsRound; a refusal expels the worker, whose shard then goes to a spare; a departure
 * withdraws the report), and when every shard has reported, the run's state built from what was
 * learnt (RunState.fromStats) and a `scale` to each owner. Later `ready`s (the owners, or spares that
 * re-read a shard) are checked against the facts of the round.
 */
export class StatsPhase {
  private readonly round: StatsRound;
  private factsValue: readonly OwnShardFacts[] | null = null;

  /** The stats phase of a run whose workers hold the data (cfg.data null), else null. */
  static forRun(cfg: MasterConfig, run: RunState, out: Outbox): StatsPhase | null {
    if (cfg.data !== null) return null;
    return new StatsPhase(run, out, {
      normalize: cfg.normalize !== false,
      ...(cfg.manifest ? { manifest: cfg.manifest } : {}),
    });
  }

  constructor(
    private readonly run: RunState,
    private readonly out: Outbox,
    opts: ConstructorParameters<typeof StatsRound>[1],
  ) {
    this.round = new StatsRound(run.shards.size, opts);
  }

  get complete(): boolean {
    return this.factsValue !== null;
  }

  /** A `stats` from `conn`, the owner of `shard` (the coordinator checked that it is). */
  offer(conn: number, shard: Shard, msg: Stats): void {
    if (this.complete)
      return this.out.reject(conn, 'E_STATE', `'stats' for shard ${shard.id} after the stats round`, 't');
    const verdict = this.round.offer(msg);
    // the worker's file is not the run's: expel it (its close frees the shard for a spare)
    if (!verdict.ok) return this.out.reject(conn, 'E_FIELD', verdict.reason, 'shard');
    const { m, n, nnz } = msg;
    this.out.info({ shard: shard.id, m, n, nnz }, 'shard stats received');
    if (!this.round.complete) return;
    const r = this.round.result();
    this.factsValue = r.shards;
    this.run.fromStats(r);
    const model = this.run.model;
    this.out.info(
      {
        m: r.m,
        n: r.n,
        shards: r.shards.length,
        scaled: r.scale !== undefined,
        intercept: model.unpenalizedFrom < model.n,
      },
      'stats round complete',
    );
    for (const s of this.run.shards.shards) {
      const owner = ownerOf(s);
      if (owner === null) continue; // cannot happen: a departure withdraws its report
      const wi = model.wi[s.id].toSparse();
      this.out.send(owner, { t: 'scale', shard: s.id, ...this.run.ownDataFields(s.id), wi });
    }
  }

  /** The owner of `shard` left: before the round is over its report no longer counts. */
  withdraw(shard: number): void {
    if (!this.complete) this.round.withdraw(shard);
  }

  /** A `ready`: only after the round, and for the very file the round saw. */
  checkReady(msg: Ready): StatsVerdict {
    const facts = this.factsValue;
    if (facts === null)
      return { ok: false, reason: `ready for shard ${msg.shard} before the stats round is over` };
    const { n, unpenalizedFrom } = this.run.model;
    return checkReady(msg, facts[msg.shard], n, unpenalizedFrom < n);
  }
}
