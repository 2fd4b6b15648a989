import { randomUUID } from 'node:crypto';
import { shardContiguous, shardShuffled, sparseFromDense, type SparseVector } from '@soda/core';
import type { Assign } from '@soda/protocol';
import type { MasterConfig } from './config';
import { checkCompatible, type Checkpoint, type RunIdentity } from './checkpoint';
import { ModelState } from './model-state';
import { ShardTable, type Shard } from './shards';
import { RunStats } from './stats';

/** The best evaluated point: where a divergence restart goes back to. */
export interface BestPoint {
  readonly k: number;
  readonly objective: number;
  readonly wbar: Float64Array;
}

/**
 * Everything a run is, without I/O: Algorithm 1's master state (ModelState), the shards, the counters,
 * the current p, the restarts and the best point. It is what a checkpoint holds, and a restart or a
 * resume replaces it consistently (w̄ = Σ π_i w_i always).
 */
export class RunState {
  runId: string = randomUUID();
  readonly shards: ShardTable;
  readonly model: ModelState;
  readonly stats = new RunStats();
  /** updates applied per shard: full rounds for the divergence rule */
  readonly shardUpdates: Uint32Array;
  /** current mask probability (restarts raise it) */
  p: number;
  restarts = 0;
  best: BestPoint | null = null;
  /** γ is fixed (given, derived from the L_i at the start, or restored) */
  gammaSet = false;
  /** training time of the process(es) before this one (resumed runs) */
  elapsedBefore = 0;

  constructor(private readonly cfg: MasterConfig) {
    const m = cfg.data.X.rows;
    const parts = cfg.shuffle ? shardShuffled(m, cfg.workers, cfg.seed) : shardContiguous(m, cfg.workers);
    this.shards = new ShardTable(cfg.data, parts);
    const pi = this.shards.shards.map((s) => s.pi);
    this.model = new ModelState(cfg.data.X.cols, pi, cfg.gamma ?? 1, cfg.lambda1, cfg.unpenalizedFrom);
    this.shardUpdates = new Uint32Array(pi.length);
    this.p = cfg.p;
  }

  /** Apply worker `shard`'s Δ: w̄ += π_i Δ, w_i += Δ, w = prox(w̄). */
  apply(shard: number, delta: SparseVector): void {
    this.model.apply(shard, delta);
    this.shardUpdates[shard]++;
    this.stats.updates++;
  }

  /** The assign frame for `shard`: Algorithm 1's parameters and w_i; `reset`: the worker keeps its rows. */
  assignFor(shard: Shard, reset: boolean, seq: number): Assign {
    const { cfg } = this;
    return {
      t: 'assign',
      runId: this.runId,
      shard: shard.id,
      n: this.model.n,
      lambda2: cfg.lambda2,
      p: this.p,
      seed: (cfg.seed * 1000003 + shard.id * 7919 + seq) >>> 0,
      delayMs: cfg.delayMs,
      rows: reset ? null : shard.rows,
      wi: sparseFromDense(this.model.wi[shard.id]),
    };
  }

  noteEvaluation(k: number, objective: number, wbar: Float64Array): void {
    if (Number.isFinite(objective) && (this.best === null || objective < this.best.objective))
      this.best = { k, objective, wbar };
  }

  /** What a checkpoint of this run must match. */
  identity(): RunIdentity {
    const { cfg } = this;
    return {
      dataName: cfg.dataName,
      dataHash: cfg.dataHash,
      m: cfg.data.X.rows,
      n: cfg.data.X.cols,
      workers: cfg.workers,
      shuffle: cfg.shuffle,
      seed: cfg.seed,
      algo: cfg.algo,
      lambda1: cfg.lambda1,
      lambda2: cfg.lambda2,
      p0: cfg.p,
      gammaGiven: cfg.gamma ?? null,
    };
  }

  /**
   * The state now, as a checkpoint (copies; F is filled in by whoever evaluates it, the wall-clock
   * `createdAt` by whoever writes it: this class reads no clock).
   */
  snapshot(elapsedMs: number, createdAt = ''): Checkpoint {
    const best = this.best;
    return {
      meta: {
        ...this.identity(),
        runId: this.runId,
        createdAt,
        k: this.model.k,
        p: this.p,
        gamma: this.model.gamma,
        restarts: this.restarts,
        elapsedMs,
        stats: this.stats.snapshot(),
        shardUpdates: Array.from(this.shardUpdates),
        L: this.shards.shards.map((s) => s.L),
        evaluated: null,
        best: best ? { k: best.k, objective: best.objective } : null,
      },
      wbar: this.model.wbar.slice(),
      wi: this.model.wi.map((v) => v.slice()),
      bestWbar: best ? best.wbar.slice() : null,
    };
  }

  /**
   * Continue from a checkpoint of this run (refused, naming the differences, if it is another's).
   * w̄ is restored bit for bit rather than re-summed, so w^k — and F(w^k) — are exactly as checkpointed.
   */
  restore(ck: Checkpoint, file: string): void {
    const { meta } = ck;
    checkCompatible(meta, this.identity(), file);
    this.model.restore({ wbar: ck.wbar, wi: ck.wi, k: meta.k, gamma: meta.gamma });
    this.shards.shards.forEach((s, i) => (s.L = meta.L[i] ?? null));
    this.gammaSet = true;
    this.runId = meta.runId;
    this.p = meta.p;
    this.restarts = meta.restarts;
    this.elapsedBefore = meta.elapsedMs;
    this.shardUpdates.set(meta.shardUpdates);
    this.stats.restore(meta.stats);
    this.best = meta.best && ck.bestWbar ? { ...meta.best, wbar: ck.bestWbar } : null;
  }

  /**
   * Algorithm 1 afresh from w̄⁰ = the best evaluated w̄ (0 if none) with new p and γ: every
   * w_i = w̄⁰, so w̄ = Σ π_i w_i holds exactly. k keeps counting.
   */
  restart(next: { p: number; gamma: number }): void {
    this.model.restartFrom(this.best?.wbar ?? new Float64Array(this.model.n), next.gamma);
    this.p = next.p;
    this.restarts++;
  }
}
