import { assertNever, defaultStepSize } from '@soda/core';
import { LOG_MSG, type EvalResult, type Ready, type Update } from '@soda/protocol';
import { withEvaluated } from './checkpoint';
import { finishCommand } from './completion';
import { ClaimGuard } from './claim-guard';
import { normSq, type ClaimVerdict } from './claims';
import type { MasterConfig } from './config';
import { ModelReplies } from './model-replies';
import { DivergenceDetector, escalate } from './divergence';
import { GapEvaluation } from './gap-eval';
import { EvalRound } from './eval-round';
import { Outbox, type Command, type CoordinatorEvent } from './events';
import { Holdout } from './holdout';
import { evaluatedOf, progressLine, startLine, type Evaluated } from './outputs';
import type { RunState } from './run-state';
import { ownerOf, type Shard } from './shards';
import { StatsPhase } from './stats-phase';
import { algorithm } from './algo';
import type { ApplyStrategy } from './strategies';

export type Phase = 'waiting' | 'running' | 'finishing' | 'done';

/** After `finish`, the final w gets this long to be evaluated before the run completes without F. */
export const FINAL_EVAL_TIMEOUT_MS = 10000;

/**
 * The master's decisions, without I/O: handle(event) → commands. It owns the phase, the shards'
 * states (through RunState's ShardTable), the evaluation round, the divergence rule and every deadline
 * (max time, evaluation and checkpoint periods, the final evaluation's timeout), all from the `now`
 * each event carries. It never throws on a worker's fault: a frame that is wrong at this moment or
 * for this worker becomes a `reject` command and leaves the state untouched.
 */
export class Coordinator {
  private phaseValue: Phase = 'waiting';
  private now: number;
  private readonly out = new Outbox();
  private startedAt: number | null = null;
  private round: EvalRound | null = null;
  /** the rounds' duality gap and the stopping rule */
  private readonly gap: GapEvaluation;
  /** the stats round, when the workers hold the data (null: the master holds it) */
  private readonly statsPhase: StatsPhase | null;
  private nextEvalId = 1;
  private lastEvalUpdates = 0;
  /** where the re-sum of w̄ in progress goes on (−1: none): a block per update */
  private resumAt = -1;
  private lastEvalAt = 0;
  private last: Evaluated | null = null;
  private finishReason: string | null = null;
  private assigns = 0;
  private checkpointDue = false;
  private nextCheckpointAt: number;
  private maxTimeAt: number | null = null;
  private finalDeadline: number | null = null;
  private readonly workers = new Map<number, string>();
  private readonly strategy: ApplyStrategy;
  private readonly detector: DivergenceDetector;
  private readonly holdout: Holdout | null;
  /** what workers claim (L_i, f_i) checked against what the master knows or can bound */
  private readonly guard: ClaimGuard;
  /** ‖w‖² of the current round's w (the f_i bounds depend on it) */
  private roundNormSq = 0;
  /** --wait-timeout: the run gives up if training has not begun by then (null: wait forever) */
  private readonly waitDeadline: number | null;
  /** checkpoint period (ms), 0 for none but the final one; null: no checkpoints at all */
  private readonly checkpointEvery: number | null;
  /** the model frames: w, or (wire precision 32) diffs against each worker's ŵ */
  private readonly replies: ModelReplies;

  constructor(
    private readonly cfg: MasterConfig,
    readonly run: RunState,
    now: number,
    /** what workers' claims are checked against (default: the shards' rows the master holds) */
    guard?: ClaimGuard,
  ) {
    this.now = now;
    this.replies = new ModelReplies(cfg.wirePrecision);
    this.strategy = algorithm(cfg.algo).strategy(run);
    this.detector = new DivergenceDetector(cfg.divergence);
    this.holdout = cfg.test ? new Holdout(cfg.test) : null;
    this.checkpointEvery = cfg.checkpoint ? cfg.checkpoint.everyMs : null;
    this.nextCheckpointAt = now + (this.checkpointEvery ?? 0);
    this.guard =
      guard ??
      new ClaimGuard(
        run.shards.shards.map((s) => s.rows),
        run.n ?? 0,
        cfg.lambda2,
        cfg.fstar,
        cfg.spotCheckSalt,
      );
    this.gap = new GapEvaluation(cfg);
    this.statsPhase = StatsPhase.forRun(cfg, run, this.out);
    this.waitDeadline = cfg.waitTimeoutMs ? now + cfg.waitTimeoutMs : null;
  }

  get phase(): Phase {
    return this.phaseValue;
  }

  /** F(w^k) of the last completed evaluation round. */
  get lastResult(): Evaluated | null {
    return this.last;
  }

  /** The reason to give a newcomer once the run is over, or null while it goes on. */
  finishedReason(): string | null {
    const p = this.phaseValue;
    return p === 'done' || p === 'finishing' ? (this.finishReason ?? 'finished') : null;
  }

  handle(e: CoordinatorEvent): Command[] {
    this.now = Math.max(this.now, e.now);
    switch (e.type) {
      case 'hello':
        this.workers.set(e.conn, e.worker);
        this.out.info({ conn: e.conn, worker: e.worker }, 'worker joined');
        // a worker pinned to a shard the run does not have would wait on standby for ever
        if (e.shard !== undefined && e.shard >= this.shards.size)
          this.out.reject(
            e.conn,
            'E_FIELD',
            `shard ${e.shard} does not exist (M = ${this.shards.size})`,
            'shard',
          );
        else this.assignOrStandby(e.conn, e.shard);
        break;
      case 'ready':
      case 'update':
      case 'evalResult':
        this.onShardMessage(e);
        break;
      case 'stats':
        // only a master without data runs a stats round (it learns n and the scaling from it)
        if (this.statsPhase === null)
          this.out.reject(
            e.conn,
            'E_STATE',
            "'stats' without a stats round: this master holds the data",
            't',
          );
        else this.onShardMessage(e);
        break;
      case 'close':
        this.onClose(e.conn, e.code);
        break;
      case 'tick':
        this.onTick();
        break;
      case 'stop':
        this.finish(e.reason);
        break;
      default:
        assertNever(e, 'event');
    }
    return this.out.take();
  }

  // ---- workers -----------------------------------------------------------------------------------

  private get shards() {
    return this.run.shards;
  }

  private get model() {
    return this.run.model;
  }

  private onShardMessage(
    e: Extract<CoordinatorEvent, { type: 'ready' | 'update' | 'evalResult' | 'stats' }>,
  ): void {
    const { conn, msg } = e;
    const shard = this.shards.shardOf(conn);
    if (shard === undefined)
      return this.out.reject(conn, 'E_STATE', `'${msg.t}' from a worker that owns no shard`, 't');
    if (msg.shard !== shard.id)
      return this.out.reject(
        conn,
        'E_STATE',
        `shard ${msg.shard} is not this worker's shard (${shard.id})`,
        'shard',
      );
    if (e.type === 'stats') return this.statsPhase?.offer(conn, shard, e.msg);
    if (e.type === 'ready') return this.onReady(conn, shard, e.msg);
    if (e.type === 'update') return this.onUpdate(conn, shard, e.msg);
    const round = this.round;
    if (round === null || round.id !== e.msg.id) return; // a late answer to a finished round
    this.onEvalResult(conn, round, shard, e.msg);
  }

  private assignOrStandby(conn: number, pinned?: number): void {
    const shard = this.shards.claim(conn, pinned);
    const who = { conn, worker: this.workers.get(conn) ?? null };
    if (shard === undefined) {
      const reason = `all ${this.shards.size} shards are taken; waiting as a spare`;
      this.out.send(conn, { t: 'standby', reason });
      this.out.info({ ...who, standbys: this.shards.standbyCount }, 'worker on standby');
      return;
    }
    this.replies.forget(conn);
    this.out.send(conn, this.run.assignFor(shard, false, ++this.assigns));
    this.out.info({ ...who, shard: shard.id, m: shard.rows?.m ?? null }, 'shard assigned');
  }

  private onReady(conn: number, shard: Shard, msg: Ready): void {
    const { m, L } = msg;
    if (shard.state.kind === 'ready')
      return this.out.reject(conn, 'E_STATE', `shard ${shard.id} is already ready`, 't');
    const own = this.statsPhase?.checkReady(msg);
    if (own !== undefined && !own.ok) return this.out.reject(conn, 'E_FIELD', own.reason, 'm');
    if (m !== shard.m)
      return this.out.reject(
        conn,
        'E_FIELD',
        `ready.m = ${m} but shard ${shard.id} has ${shard.m} rows`,
        'm',
      );
    const claim = this.guard.ready(shard.id, m, L);
    if (!claim.verdict.ok) return this.refuseClaim(conn, claim.verdict, 'L');
    // γ comes from the master's own L_i when it holds the rows: a relay or a liar must not pick it
    if (this.shards.markReady(shard.id, claim.L) !== 'ready') return; // it still owes a reset's answer
    if (this.phaseValue === 'waiting') {
      const ready = this.shards.readyCount();
      this.out.info({ shard: shard.id, L }, `waiting for workers ${ready}/${this.shards.size}`);
      if (ready === this.shards.size) this.begin();
      return;
    }
    if (this.phaseValue !== 'running') return;
    this.out.info({ shard: shard.id, worker: this.workers.get(conn) ?? null }, 'shard taken over');
    // A replacement joins where its predecessor left: the current w, and any pending evaluation.
    if (this.strategy.modelOnTakeover(shard.id)) this.sendModel(conn);
    const round = this.round;
    if (round !== null && !round.has(shard.id)) {
      this.run.stats.evalCoordsDown += round.w.idx.length;
      this.out.send(conn, this.gap.frame(round.id, round.w));
    }
  }

  private begin(): void {
    const { cfg, run } = this;
    const L = this.shards.maxL();
    if (!run.gammaSet) {
      this.model.setGamma(cfg.gamma ?? defaultStepSize(cfg.lambda2, L));
      run.gammaSet = true;
    }
    this.phaseValue = 'running';
    this.startedAt = this.now;
    this.lastEvalAt = this.now;
    this.out.info({ ...startLine(cfg, run, L), stopRule: this.gap.describe }, LOG_MSG.start);
    if (cfg.maxTimeMs > 0) this.maxTimeAt = this.now + cfg.maxTimeMs;
    this.startEval();
    for (const [, owner] of this.shards.readyOwners()) this.sendModel(owner);
  }

  private onUpdate(conn: number, shard: Shard, msg: Update): void {
    if (this.phaseValue !== 'running') return; // finishing: updates in flight are dropped, not errors
    if (shard.state.kind === 'resetting') return; // computed before a restart reached this worker
    if (shard.state.kind !== 'ready')
      return this.out.reject(conn, 'E_STATE', `update for shard ${shard.id} before ready`, 't');
    if (msg.k > this.model.k)
      return this.out.reject(
        conn,
        'E_STATE',
        `update.k = ${msg.k} is ahead of the master (k = ${this.model.k})`,
        'k',
      );
    // the strategy makes the off-column claim check (as it applies, or as the Δ arrives at a barrier)
    const answer = this.strategy.update(msg);
    if (answer !== null && 'refused' in answer) return this.refuseClaim(conn, answer.refused, 'delta');
    this.run.stats.coordsUp += msg.delta.idx.length;
    if (answer === null) return;
    this.afterUpdates();
    for (const id of answer) {
      const s = this.shards.shards[id];
      if (this.phaseValue === 'running' && s.state.kind === 'ready') this.sendModel(s.state.owner);
    }
  }

  private afterUpdates(): void {
    const { cfg, run } = this;
    const updates = run.stats.updates;
    // w̄'s re-sum goes a block of coordinates per update (resumBlock), so n = 10⁷ never stalls the loop
    if (cfg.resumEvery > 0 && updates % cfg.resumEvery === 0 && this.resumAt < 0) this.resumAt = 0;
    if (this.resumAt >= 0) {
      const { next } = this.model.resumBlock(this.resumAt);
      this.resumAt = next < this.model.n ? next : -1;
    }
    const dueByUpdates = cfg.evalEveryUpdates > 0 && updates - this.lastEvalUpdates >= cfg.evalEveryUpdates;
    const dueByTime = cfg.evalEveryMs > 0 && this.now - this.lastEvalAt >= cfg.evalEveryMs;
    if (dueByUpdates || dueByTime) this.startEval();
    if (cfg.maxEpochs > 0 && this.model.k / this.shards.size >= cfg.maxEpochs) this.finish('max-epochs');
  }

  /**
   * w^k to one worker; a non-finite w is a divergence, never sent. The frame holds the model's live
   * view (no copy): the wiring encodes each command before the next event can change w.
   */
  private sendModel(conn: number): void {
    const bad = this.model.firstNonFinite;
    if (bad >= 0) return this.onDivergence(NaN, `w[${bad}] = ${this.model.wAt(bad)}`);
    const w = this.model.view();
    const frame = this.replies.frame(conn, { k: this.model.k, gamma: this.model.gamma, p: this.run.p }, w);
    this.run.stats.coordsDown += frame.w.idx.length;
    this.out.send(conn, frame);
  }

  private onClose(conn: number, code: number): void {
    const worker = this.workers.get(conn) ?? null;
    this.workers.delete(conn);
    this.replies.forget(conn);
    const shard = this.shards.release(conn);
    if (this.phaseValue === 'done' || shard === undefined) return;
    this.statsPhase?.withdraw(shard.id);
    this.run.stats.departures++;
    this.out.warn({ conn, worker, shard: shard.id, code }, 'worker left; its shard is free');
    const next = this.shards.nextStandby(shard.id);
    if (next !== undefined) this.assignOrStandby(next);
  }

  // ---- evaluation rounds, divergence, checkpoints ------------------------------------------------

  private startEval(): void {
    if (this.round !== null) return;
    const { run } = this;
    this.lastEvalUpdates = run.stats.updates;
    this.lastEvalAt = this.now;
    const snapshot =
      this.checkpointDue && this.checkpointEvery !== null ? run.snapshot(this.elapsed()) : null;
    if (snapshot) this.checkpointDue = false;
    const round = new EvalRound({
      id: this.nextEvalId++,
      k: this.model.k,
      w: this.model.current(),
      pi: this.model.pi,
      startedAt: this.now,
      restarts: run.restarts,
      wbar: snapshot?.wbar ?? run.wbarNonZeros(),
      counts: run.shardUpdates.slice(),
      snapshot,
    });
    this.round = round;
    this.roundNormSq = normSq(round.w);
    this.gap.open(this.model.n, this.model.unpenalizedFrom, this.shards.shards);
    const frame = this.gap.frame(round.id, round.w);
    for (const [, owner] of this.shards.readyOwners()) {
      run.stats.evalCoordsDown += round.w.idx.length;
      this.out.send(owner, frame);
    }
  }

  private onEvalResult(conn: number, round: EvalRound, shard: Shard, msg: EvalResult): void {
    const { fi, correct } = msg;
    const claim = this.guard.evalResult(round.id, shard.id, fi, round.w, this.roundNormSq);
    // the forger is expelled; its shard's replacement is asked again (the round waits for it)
    if (!claim.ok) return this.refuseClaim(conn, claim, 'fi');
    const parts = this.gap.refusal(msg);
    if (parts !== null) return this.out.reject(conn, 'E_FIELD', parts.reason, parts.field);
    if (round.has(shard.id)) return; // a replacement's second answer
    this.gap.add(msg);
    this.run.stats.gapCoordsUp += msg.u?.idx.length ?? 0;
    if (!round.record(shard.id, fi, correct)) return;
    this.round = null;
    const { cfg } = this;
    const objective = round.objective(cfg.lambda1, this.model.unpenalizedFrom);
    const total = this.guard.roundTotal(objective, round.values, round.w);
    if (!total.verdict.ok) return this.refuseRound(round, total.verdict, total.liars);
    const gap = this.gap.result(objective);
    const result = evaluatedOf(cfg, round, this.run.m, objective, gap, this.holdout);
    const { subopt } = result;
    this.last = result;
    this.out.info(progressLine(this.run, round, result, this.elapsed()), LOG_MSG.progress);
    const snapshot = round.takeSnapshot();
    if (snapshot) this.out.writeCheckpoint(withEvaluated(snapshot, objective, subopt));
    if (this.phaseValue === 'finishing') return this.complete();
    this.run.noteEvaluation(round.k, objective, round.wbar);
    if (this.detector.observe(objective, round.counts) === 'diverged') return this.onDivergence(objective);
    const stop = this.gap.stopReason(objective, subopt, gap);
    if (stop !== null) return this.finish(stop);
    if (this.checkpointDue) this.startEval();
  }

  /** A claim that cannot be true: the worker is expelled with the named reason (its shard is freed). */
  private refuseClaim(conn: number, verdict: Extract<ClaimVerdict, { ok: false }>, field: string): void {
    this.out.reject(conn, 'E_FIELD', `${verdict.reason}: ${verdict.detail}`, field);
  }

  /** A round whose total is impossible: expel whoever the master can prove lied, and evaluate again. */
  private refuseRound(
    round: EvalRound,
    verdict: Extract<ClaimVerdict, { ok: false }>,
    liars: readonly { shard: number; verdict: Extract<ClaimVerdict, { ok: false }> }[],
  ): void {
    this.out.warn({ k: round.k, reason: verdict.reason, detail: verdict.detail }, 'evaluation round refused');
    for (const liar of liars) {
      const owner = ownerOf(this.shards.shards[liar.shard]);
      if (owner !== null) this.refuseClaim(owner, liar.verdict, 'fi');
    }
    if (this.phaseValue === 'finishing') return this.complete();
    this.startEval();
  }

  private onDivergence(objective: number, what = `F = ${objective}`): void {
    if (this.phaseValue !== 'running') return;
    const { run, cfg } = this;
    const restart = cfg.onDivergence === 'restart';
    const reference = this.detector.referenceObjective;
    const at = { k: this.model.k, objective, reference, p: run.p, gamma: this.model.gamma };
    this.out.warn(at, `divergence detected (${what}); ${restart ? 'restarting' : 'stopping'}`);
    if (!restart) return this.finish('diverged');
    const next = escalate(run.p, this.model.gamma, defaultStepSize(cfg.lambda2, this.shards.maxL()));
    if (next === null || run.restarts >= cfg.maxRestarts) return this.finish('diverged');
    run.restart(next);
    this.round = null;
    this.strategy.reset();
    this.detector.reset();
    const from = { fromK: run.best?.k ?? 0, fromObjective: run.best?.objective ?? null };
    this.out.warn({ restarts: run.restarts, ...from, ...next }, 'restart from the best evaluated point');
    // Every owner restarts from the new w_i (a fresh assign without rows) and answers `ready` again.
    for (const s of this.shards.shards) {
      const owner = ownerOf(s);
      if (owner === null) continue;
      this.shards.markResetting(s.id);
      this.replies.forget(owner);
      this.out.send(owner, run.assignFor(s, true, ++this.assigns));
    }
    this.startEval();
  }

  private onTick(): void {
    const { now } = this;
    if (this.phaseValue === 'waiting' && this.waitDeadline !== null && now >= this.waitDeadline)
      return this.finish('wait-timeout');
    if (this.phaseValue === 'finishing' && this.finalDeadline !== null && now >= this.finalDeadline)
      return this.complete();
    if (this.phaseValue === 'running' && this.maxTimeAt !== null && now >= this.maxTimeAt)
      this.finish('max-time');
    const every = this.checkpointEvery ?? 0;
    if (every > 0 && now >= this.nextCheckpointAt) {
      // like setInterval: the next one a period later, or a period from now if ticks came late
      this.nextCheckpointAt += every;
      if (this.nextCheckpointAt <= now) this.nextCheckpointAt = now + every;
      this.checkpointTick();
    }
  }

  /** A checkpoint is due: the next evaluation round snapshots its state (started now if none runs). */
  private checkpointTick(): void {
    if (this.phaseValue !== 'running' || this.checkpointEvery === null) return;
    const round = this.round;
    // A round stuck on a shard without a worker: write its state without F rather than nothing.
    if (round !== null && round.hasSnapshot && this.now - round.startedAt > this.checkpointEvery)
      this.out.writeCheckpoint(round.takeSnapshot()!);
    this.checkpointDue = true;
    if (this.round === null) this.startEval();
  }

  private elapsed(): number {
    return this.run.elapsedBefore + (this.startedAt !== null ? this.now - this.startedAt : 0);
  }

  // ---- stopping ----------------------------------------------------------------------------------

  /** Stop training; evaluate the final w (unless just evaluated), then complete. */
  private finish(reason: string): void {
    if (this.phaseValue === 'finishing' || this.phaseValue === 'done') return;
    const wasRunning = this.phaseValue === 'running';
    this.finishReason = reason;
    this.phaseValue = 'finishing';
    if (!wasRunning) return this.complete();
    if (this.round === null && this.isCurrent(this.last)) return this.complete();
    // The last evaluated w is older than the final one: one more round, bounded in time.
    const r = this.round;
    if (r === null || r.k !== this.model.k || r.restarts !== this.run.restarts) {
      this.round = null;
      this.startEval();
    }
    this.finalDeadline = this.now + FINAL_EVAL_TIMEOUT_MS;
  }

  private isCurrent(e: Evaluated | null): e is Evaluated {
    return e !== null && e.k === this.model.k && e.restarts === this.run.restarts;
  }

  private complete(): void {
    if (this.phaseValue === 'done') return;
    this.phaseValue = 'done';
    this.round = null; // a late answer to it is ignored
    const reason = this.finishReason ?? 'stopped';
    this.out.push({ type: 'close', reason });
    const last = this.last;
    this.out.push(
      finishCommand(this.cfg, this.run, {
        reason,
        last,
        current: this.isCurrent(last) ? last : null,
        elapsedMs: this.elapsed(),
        writeCheckpoint: this.checkpointEvery !== null && this.startedAt !== null,
      }),
    );
  }
}
