import { createHash, randomUUID } from 'node:crypto';
import {
  emptySparse,
  lowerBound,
  shardContiguous,
  shardShuffled,
  SodaError,
  type SparseVector,
} from '@soda/core';
import type { Assign } from '@soda/protocol';
import { MASTER_DEFAULTS, type MasterConfig } from './config';
import { checkCompatible, type Checkpoint, type RunIdentity } from './checkpoint';
import type { ClaimVerdict } from './claims';
import { ModelState } from './model-state';
import { checkOffColumns, offColumnVerdict } from './support-history';
import { columnsOf } from './shard-iterate';
import { ShardTable, type Shard } from './shards';
import type { StatsRoundResult } from './data-at-scale';
import { RunStats, type WireCounters } from './stats';
import { WbarSupport } from './wbar-support';

/** The best evaluated point: where a divergence restart goes back to. */
export interface BestPoint {
  readonly k: number;
  readonly objective: number;
  /** w̄ there, sparse (its non-zeros) */
  readonly wbar: SparseVector;
}

/**
 * Everything a run is, without I/O: Algorithm 1's master state (ModelState), the shards, the counters,
 * the current p, the restarts and the best point. It is what a checkpoint holds, and a restart or a
 * resume replaces it consistently (w̄ = Σ π_i w_i always).
 */
export class RunState {
  runId: string = randomUUID();
  readonly shards: ShardTable;
  /** null until the stats round when the workers hold the data (n and π_i come from it) */
  private modelValue: ModelState | null = null;
  /** what the stats round learnt (workers hold the data), else null */
  private learnt: { m: number; n: number; scale?: SparseVector; dataHash: string } | null = null;
  readonly stats: RunStats;
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
  /**
   * A checkpoint to continue from once the model exists: at once when the master holds the data, after
   * the stats round when the workers do (they re-send n, m_i and their columns; the checkpoint holds
   * the rest).
   */
  private pendingResume: { readonly checkpoint: Checkpoint; readonly file: string } | null = null;
  /** where w̄ can be non-zero, to read its non-zeros without a scan of n (made with the model) */
  private wbarSupport: WbarSupport | null = null;

  constructor(
    private readonly cfg: MasterConfig,
    wiring: {
      /** observer of each update's staleness (the /metrics histogram) */
      readonly onDelay?: (d: number) => void;
      /** the connection layer's traffic counters, which the run reads */
      readonly wire?: WireCounters;
    } = {},
  ) {
    this.stats = new RunStats(wiring.onDelay, wiring.wire);
    this.shardUpdates = new Uint32Array(cfg.workers);
    this.p = cfg.p;
    if (cfg.data === null) {
      this.shards = new ShardTable(null, cfg.workers);
      return;
    }
    const m = cfg.data.X.rows;
    const parts = cfg.shuffle ? shardShuffled(m, cfg.workers, cfg.seed) : shardContiguous(m, cfg.workers);
    this.shards = new ShardTable(cfg.data, parts);
    const pi = this.shards.shards.map((s) => s.pi);
    const n = cfg.data.X.cols;
    const mark = new Uint8Array(n);
    const cols = this.shards.shards.map((s) => columnsOf(s.rows!.ind, n, mark));
    this.modelValue = new ModelState(
      n,
      pi,
      cfg.gamma ?? MASTER_DEFAULTS.gammaUntilStart,
      cfg.lambda1,
      cfg.unpenalizedFrom,
      cols,
    );
  }

  /** Algorithm 1's state; it exists once n and the π_i are known (at once, or after the stats round). */
  get model(): ModelState {
    if (this.modelValue === null)
      throw new SodaError('E_STATE', 'no model before the stats round: the workers have not reported n');
    return this.modelValue;
  }

  /**
   * w̄'s non-zeros (−0 dropped), sorted: what an evaluation round keeps of the state it judges.
   * O(n/32 + Σ_i |cols_i| + |overflow|), never a scan of n doubles (WbarSupport).
   */
  wbarNonZeros(): SparseVector {
    return this.support.nonZeros(false);
  }

  private get support(): WbarSupport {
    return (this.wbarSupport ??= new WbarSupport(this.model));
  }

  /** Whether the model exists (false only while a master without data waits for its stats round). */
  get hasModel(): boolean {
    return this.modelValue !== null;
  }

  /** m = Σ m_i (0 before the stats round) */
  get m(): number {
    return this.cfg.data !== null ? this.cfg.data.X.rows : (this.learnt?.m ?? 0);
  }

  /** n, or undefined before the stats round */
  get n(): number | undefined {
    return this.modelValue?.n;
  }

  /**
   * The max-abs divisors: the master's own (cfg.scale, one per feature) or the stats round's (sparse:
   * the divisors ≠ 1, O(Σ_i |cols_i|) rather than n doubles).
   */
  get scale(): Float64Array | SparseVector | undefined {
    return this.cfg.data !== null ? this.cfg.scale : this.learnt?.scale;
  }

  /**
   * What a worker that reads its own file needs (the `scale` frame, and assigns after the stats round):
   * the run's n (with the intercept's column when the run fits one) and its shard's divisors, sparse.
   */
  ownDataFields(shard: number): { n: number; scale?: SparseVector; intercept?: true } {
    const n = this.model.n;
    const intercept = this.model.unpenalizedFrom < n;
    const scale = this.scaleFor(shard);
    return { n, ...(scale ? { scale } : {}), ...(intercept ? { intercept: true as const } : {}) };
  }

  /** The data's identity for checkpoints and the model file. */
  get dataHash(): string {
    return this.learnt?.dataHash ?? this.cfg.dataHash;
  }

  /**
   * The stats round is over (workers hold the data): n, π_i = m_i/m and the scale are known, so
   * Algorithm 1's state can be built. The data's identity is the manifest's source hash when there is
   * one, else a hash of the shards' file hashes in shard order (the same files under the same ids).
   */
  fromStats(r: StatsRoundResult): void {
    if (this.modelValue !== null) throw new SodaError('E_STATE', 'the run already has its model');
    this.shards.setSizes(
      r.shards.map((f) => f.m),
      r.pi,
    );
    // with an intercept the workers append its constant column (index r.n): one more, unpenalised
    // coordinate, which every shard's rows touch
    const dim = this.cfg.intercept ? r.n + 1 : r.n;
    const cols = this.cfg.intercept ? r.cols.map((c) => withColumn(c, r.n)) : r.cols;
    this.modelValue = new ModelState(
      dim,
      Array.from(r.pi),
      this.cfg.gamma ?? MASTER_DEFAULTS.gammaUntilStart,
      this.cfg.lambda1,
      r.n,
      cols,
    );
    const h = createHash('sha256');
    for (const f of r.shards) h.update(`${f.hash ?? `m=${f.m},nnz=${f.nnz}`}\n`);
    const dataHash = this.cfg.manifest?.sourceSha256 ?? h.digest('hex');
    this.learnt = { m: r.m, n: r.n, dataHash, ...(r.scale ? { scale: r.scale } : {}) };
    const pending = this.pendingResume;
    this.pendingResume = null;
    if (pending !== null) this.restore(pending.checkpoint, pending.file);
  }

  /**
   * Continue from `checkpoint`: now when the model exists, else (the workers hold the data) as soon as
   * the stats round has built it. Returns whether it was restored now.
   */
  resumeFrom(checkpoint: Checkpoint, file: string): boolean {
    if (this.modelValue === null) {
      this.pendingResume = { checkpoint, file };
      return false;
    }
    this.restore(checkpoint, file);
    return true;
  }

  /** Apply worker `shard`'s Δ: w̄ += π_i Δ, w_i += Δ, w = prox(w̄). */
  apply(shard: number, delta: SparseVector): void {
    this.model.apply(shard, delta);
    this.counted(shard);
  }

  /**
   * apply(), unless Δ fails the off-column claim check (support-history.ts); then nothing changes and
   * the refusal says which coordinate. The check is made in the apply's own pass (apply-delta.ts).
   */
  applyChecked(shard: number, delta: SparseVector): ClaimVerdict {
    const bad = this.model.applyChecked(shard, delta);
    if (bad >= 0) return offColumnVerdict(delta, bad);
    this.counted(shard);
    return { ok: true };
  }

  /** The off-column claim check alone, for a Δ applied later (sync-pg's barrier). */
  check(shard: number, delta: SparseVector): ClaimVerdict {
    return checkOffColumns(delta, this.model.wi[shard], this.model.history);
  }

  private counted(shard: number): void {
    this.shardUpdates[shard]++;
    this.stats.updates++;
  }

  /**
   * The assign frame for `shard`: Algorithm 1's parameters and w_i; `reset`: the worker keeps its rows.
   * Workers holding the data get no rows: before the stats round no n either (they answer `stats`),
   * after it n and the scale (a spare reads its file and answers `ready` at once).
   */
  assignFor(shard: Shard, reset: boolean, seq: number): Assign {
    const { cfg } = this;
    const base = {
      t: 'assign',
      runId: this.runId,
      shard: shard.id,
      lambda2: cfg.lambda2,
      p: this.p,
      seed: (cfg.seed * 1000003 + shard.id * 7919 + seq) >>> 0,
      delayMs: cfg.delayMs,
      rows: reset ? null : shard.rows,
      // only in a 32-bit run: a 64-bit run's assign stays byte for byte what it was
      ...(cfg.wirePrecision === 32 ? { wirePrecision: 32 as const } : {}),
    } as const;
    const model = this.modelValue;
    if (model === null) return { ...base, rows: null };
    const own = cfg.data === null ? this.ownDataFields(shard.id) : { n: model.n };
    return { ...base, ...own, wi: model.wi[shard.id].toSparse() };
  }

  /**
   * The stats round's divisors of shard i's columns only (sparse): what its worker needs, O(|cols_i|)
   * on the wire rather than n doubles to each of M workers. Undefined: no scaling.
   */
  scaleFor(shard: number): SparseVector | undefined {
    const scale = this.learnt?.scale;
    if (scale === undefined) return undefined;
    // the intercept's column (index scale.n) is divided by 1; cols_i is sorted, so each search starts
    // where the previous one ended
    const idx = this.model.wi[shard].cols;
    const val = new Float64Array(idx.length);
    let at = 0;
    for (let t = 0; t < idx.length; t++) {
      at = lowerBound(scale.idx, idx[t], at);
      val[t] = at < scale.idx.length && scale.idx[at] === idx[t] ? scale.val[at] : 1;
    }
    return { n: this.model.n, idx, val };
  }

  noteEvaluation(k: number, objective: number, wbar: SparseVector): void {
    if (Number.isFinite(objective) && (this.best === null || objective < this.best.objective))
      this.best = { k, objective, wbar };
  }

  /** What a checkpoint of this run must match. */
  identity(): RunIdentity {
    const { cfg } = this;
    return {
      dataName: cfg.dataName,
      dataHash: this.dataHash,
      m: this.m,
      n: this.model.n,
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
   * The state now, as a checkpoint (sparse copies, O(n + Σ|w_i|) to take, nothing shared with the live
   * state but the immutable best w̄; F is filled in by whoever evaluates it, the wall-clock `createdAt`
   * by whoever writes it: this class reads no clock).
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
      wbar: this.support.nonZeros(true),
      wi: this.model.wi.map((v) => v.toSparse()),
      bestWbar: best ? best.wbar : null,
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
    this.support.noteWritten(ck.wbar);
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
    const wbar0 = this.best?.wbar ?? emptySparse(this.model.n);
    this.model.restartFrom(wbar0, next.gamma);
    this.support.noteWritten(wbar0);
    this.p = next.p;
    this.restarts++;
  }
}

/** Sorted columns `cols` with column j (greater than all of them) appended. */
function withColumn(cols: Uint32Array, j: number): Uint32Array {
  const out = new Uint32Array(cols.length + 1);
  out.set(cols);
  out[cols.length] = j;
  return out;
}
