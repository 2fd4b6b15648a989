import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { defaultStepSize } from '@soda/core';
import {
  DEFAULT_MAX_PAYLOAD_MASTER,
  ProtocolError,
  type FromWorker,
  type Hello,
  type Update,
} from '@soda/protocol';
import type { MasterConfig } from './config';
import { removeStaleTemps, type Checkpoint } from './checkpoint';
import { Checkpointer } from './checkpointer';
import { Connections, type Conn } from './connections';
import { DivergenceDetector, escalate } from './divergence';
import { EvalRound, suboptimality } from './evaluation';
import { createHttpServer } from './http';
import { Holdout } from './holdout';
import { progressLine, startLine, summaryOf, writeModel, type Evaluated } from './outputs';
import { RunState } from './run-state';
import type { Shard } from './shards';

type Phase = 'waiting' | 'running' | 'finishing' | 'done';

export interface MasterResult {
  readonly reason: string;
  readonly objective: number | null;
  readonly subopt: number | null;
  readonly updates: number;
  readonly summary: Readonly<Record<string, unknown>>;
}

/** What an evaluation round fixed when it started, besides w: the state it judges. */
interface RoundState {
  readonly id: number;
  readonly restarts: number;
  readonly wbar: Float64Array;
  readonly counts: Uint32Array;
  /** a checkpoint of exactly this state, written once F is known */
  snapshot: Checkpoint | null;
}

const FINAL_EVAL_TIMEOUT_MS = 10000;

/**
 * The master service: an event loop around RunState (Algorithm 1's master side and the shards),
 * EvalRound (exact F(w^k)), DivergenceDetector and Checkpointer. Connections validates every frame
 * and authenticates workers before a handler here sees anything; the handlers check what only the
 * master knows (does this connection own that shard, is it the right moment) and otherwise leave the
 * state untouched.
 */
export class Master {
  readonly done: Promise<MasterResult>;
  private resolveDone!: (r: MasterResult) => void;
  private readonly log;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  readonly conns: Connections;
  readonly run: RunState;
  private phase: Phase = 'waiting';
  private startedAt = 0;
  private evalRound: EvalRound | null = null;
  private roundState: RoundState | null = null;
  private nextEvalId = 1;
  private lastEvalUpdates = 0;
  private lastEvalAt = 0;
  private lastResult: Evaluated | null = null;
  private finishReason: string | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  /** sync-pg: the Δ of every shard for the current round. */
  private readonly roundDeltas: (Update | null)[];
  private assigns = 0;
  /** `ready` frames each shard's owner still owes (one per assign; a restart sends one more) */
  private readonly expectReady: Int32Array;
  /** the owner was sent a restart's reset: its updates until `ready` are stale, not errors */
  private readonly resetting: Uint8Array;
  private readonly detector: DivergenceDetector;
  private readonly checkpointer: Checkpointer | null;
  private readonly holdout: Holdout | null;
  private checkpointDue = false;

  private constructor(private readonly cfg: MasterConfig) {
    this.holdout = cfg.test ? new Holdout(cfg.test) : null;
    this.log = cfg.logger;
    this.run = new RunState(cfg);
    if (cfg.resume) {
      const { checkpoint: ck, file } = cfg.resume;
      this.run.restore(ck, file);
      this.log.info({ file, ...ck.meta.evaluated, ...pick(ck.meta) }, 'resuming from checkpoint');
    }
    const M = this.run.shards.size;
    this.roundDeltas = Array.from({ length: M }, () => null);
    this.expectReady = new Int32Array(M);
    this.resetting = new Uint8Array(M);
    this.detector = new DivergenceDetector(cfg.divergence);
    const ck = cfg.checkpoint;
    this.checkpointer = ck ? new Checkpointer(ck.file, ck.everyMs, this.log) : null;
    this.done = new Promise((res) => (this.resolveDone = res));
    this.conns = new Connections(
      { token: cfg.token, n: this.model.n, log: this.log, stats: this.run.stats },
      {
        onHello: (conn) => this.onHello(conn),
        onMessage: (conn, msg) => this.dispatch(conn, msg),
        onClose: (conn, code) => this.onClose(conn, code),
        finishedReason: () =>
          this.phase === 'done' || this.phase === 'finishing' ? (this.finishReason ?? 'finished') : null,
      },
    );
    this.server = createHttpServer(cfg.tls, this.run, {
      phase: () => this.phase,
      connected: () => this.conns.size,
      last: () => this.lastResult,
    });
    const maxPayload = cfg.maxPayload ?? DEFAULT_MAX_PAYLOAD_MASTER;
    this.wss = new WebSocketServer({ server: this.server, maxPayload });
    this.wss.on('connection', (ws) => this.conns.attach(ws));
  }

  static async start(cfg: MasterConfig): Promise<Master> {
    const master = new Master(cfg);
    if (cfg.checkpoint) await removeStaleTemps(cfg.checkpoint.file);
    await new Promise<void>((resolve, reject) => {
      master.server.once('error', reject);
      master.server.listen(cfg.port, cfg.host, () => resolve());
    });
    const { workers, data } = cfg;
    const info = { port: master.port, workers, m: data.X.rows, n: data.X.cols, runId: master.runId };
    master.log.info({ ...info, tls: !!cfg.tls }, `waiting for workers 0/${workers}`);
    master.timers.push(setInterval(() => master.conns.heartbeat(), cfg.heartbeatMs));
    const every = cfg.checkpoint?.everyMs ?? 0;
    if (every > 0) master.timers.push(setInterval(() => master.checkpointTick(), every));
    return master;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get runId(): string {
    return this.run.runId;
  }

  get model() {
    return this.run.model;
  }

  get shards() {
    return this.run.shards;
  }

  get stats() {
    return this.run.stats;
  }

  /** Stop the run (signal, API): workers are told; the model and a final checkpoint are written. */
  stop(reason = 'stopped'): Promise<MasterResult> {
    this.finish(reason);
    return this.done;
  }

  // ---- workers -----------------------------------------------------------------------------------

  private dispatch(conn: Conn, msg: Exclude<FromWorker, Hello>): void {
    if (msg.t === 'error') return; // handled by Connections
    const shard = this.shards.shardOf(conn.id);
    if (shard === undefined)
      throw new ProtocolError('E_STATE', `'${msg.t}' from a worker that owns no shard`, 't');
    if (msg.shard !== shard.id)
      throw new ProtocolError(
        'E_STATE',
        `shard ${msg.shard} is not this worker's shard (${shard.id})`,
        'shard',
      );
    if (msg.t === 'ready') return this.onReady(conn, shard, msg.m, msg.L);
    if (msg.t === 'update') return this.onUpdate(conn, shard, msg);
    // placeholder until the coordinator runs the stats round (data at scale): this master never asks for it
    if (msg.t === 'stats') throw new ProtocolError('E_STATE', "'stats' without a stats round", 't');
    return this.onEvalResult(shard, msg.id, msg.fi, msg.correct);
  }

  private onHello(conn: Conn): void {
    this.log.info({ conn: conn.id, worker: conn.workerId }, 'worker joined');
    this.assignOrStandby(conn);
  }

  private assignOrStandby(conn: Conn): void {
    const shard = this.shards.claim(conn.id);
    const who = { conn: conn.id, worker: conn.workerId };
    if (shard === undefined) {
      const reason = `all ${this.shards.size} shards are taken; waiting as a spare`;
      this.conns.send(conn, { t: 'standby', reason });
      this.log.info({ ...who, standbys: this.shards.standbyCount }, 'worker on standby');
      return;
    }
    this.expectReady[shard.id] = 1;
    this.resetting[shard.id] = 0;
    this.sendAssign(conn, shard, false);
    this.log.info({ ...who, shard: shard.id, m: shard.rows.m }, 'shard assigned');
  }

  private sendAssign(conn: Conn, shard: Shard, reset: boolean): void {
    this.conns.send(conn, this.run.assignFor(shard, reset, ++this.assigns));
  }

  private onReady(conn: Conn, shard: Shard, m: number, L: number): void {
    if (this.expectReady[shard.id] === 0)
      throw new ProtocolError('E_STATE', `shard ${shard.id} is already ready`, 't');
    if (m !== shard.rows.m)
      throw new ProtocolError(
        'E_FIELD',
        `ready.m = ${m} but shard ${shard.id} has ${shard.rows.m} rows`,
        'm',
      );
    if (--this.expectReady[shard.id] > 0) return;
    shard.ready = true;
    shard.L = L;
    this.resetting[shard.id] = 0;
    if (this.phase === 'waiting') {
      const ready = this.shards.readyCount();
      this.log.info({ shard: shard.id, L }, `waiting for workers ${ready}/${this.shards.size}`);
      if (ready === this.shards.size) this.begin();
      return;
    }
    if (this.phase !== 'running') return;
    this.log.info({ shard: shard.id, worker: conn.workerId }, 'shard taken over');
    // A replacement joins where its predecessor left: the current w, and any pending evaluation.
    if (this.cfg.algo !== 'sync-pg' || this.roundDeltas[shard.id] === null) this.sendModel(conn);
    if (this.evalRound !== null && !this.evalRound.has(shard.id))
      this.conns.send(conn, { t: 'eval', id: this.evalRound.id, w: this.evalRound.w });
  }

  private begin(): void {
    const { cfg, run } = this;
    const L = this.shards.maxL();
    if (!run.gammaSet) {
      this.model.setGamma(cfg.gamma ?? defaultStepSize(cfg.lambda2, L));
      run.gammaSet = true;
    }
    this.phase = 'running';
    this.startedAt = Date.now();
    this.lastEvalAt = this.startedAt;
    this.log.info(startLine(cfg, run, L), 'start');
    if (cfg.maxTimeMs > 0) this.timers.push(setTimeout(() => this.finish('max-time'), cfg.maxTimeMs));
    this.startEval();
    for (const s of this.shards.shards) this.sendModel(this.conns.get(s.owner!)!);
  }

  private onUpdate(conn: Conn, shard: Shard, msg: Update): void {
    if (this.phase !== 'running') return; // finishing: updates in flight are dropped, not errors
    if (this.resetting[shard.id]) return; // computed before a restart reached this worker
    if (!shard.ready) throw new ProtocolError('E_STATE', `update for shard ${shard.id} before ready`, 't');
    if (msg.k > this.model.k)
      throw new ProtocolError(
        'E_STATE',
        `update.k = ${msg.k} is ahead of the master (k = ${this.model.k})`,
        'k',
      );
    this.stats.coordsUp += msg.delta.idx.length;
    if (this.cfg.algo === 'sync-pg') return this.onSyncUpdate(msg);
    this.stats.recordDelay(this.model.k - msg.k);
    this.run.apply(shard.id, msg.delta);
    this.afterUpdates();
    if (this.phase === 'running' && !this.resetting[shard.id]) this.sendModel(conn);
  }

  /** Synchronous proximal gradient: wait for every shard's Δ at the same w, apply them all, broadcast. */
  private onSyncUpdate(msg: Update): void {
    if (msg.k !== this.model.k || this.roundDeltas[msg.shard] !== null) return; // stale or duplicate
    this.roundDeltas[msg.shard] = msg;
    if (this.roundDeltas.some((d) => d === null)) return;
    for (let i = 0; i < this.roundDeltas.length; i++) {
      this.run.apply(i, this.roundDeltas[i]!.delta);
      this.roundDeltas[i] = null;
    }
    this.afterUpdates();
    if (this.phase !== 'running') return;
    for (const s of this.shards.shards)
      if (s.ready && s.owner !== null) this.sendModel(this.conns.get(s.owner)!);
  }

  private afterUpdates(): void {
    const { cfg, stats } = this;
    if (cfg.resumEvery > 0 && stats.updates % cfg.resumEvery === 0) this.model.resum();
    const dueByUpdates =
      cfg.evalEveryUpdates > 0 && stats.updates - this.lastEvalUpdates >= cfg.evalEveryUpdates;
    const dueByTime = cfg.evalEveryMs > 0 && Date.now() - this.lastEvalAt >= cfg.evalEveryMs;
    if (dueByUpdates || dueByTime) this.startEval();
    if (cfg.maxEpochs > 0 && this.model.k / this.shards.size >= cfg.maxEpochs) this.finish('max-epochs');
  }

  private sendModel(conn: Conn): void {
    const w = this.model.current();
    for (let t = 0; t < w.val.length; t++)
      if (!Number.isFinite(w.val[t])) return this.onDivergence(NaN, `w[${w.idx[t]}] = ${w.val[t]}`);
    this.stats.coordsDown += w.idx.length;
    this.conns.send(conn, { t: 'model', k: this.model.k, gamma: this.model.gamma, p: this.run.p, w });
  }

  private onClose(conn: Conn, code: number): void {
    const shard = this.shards.release(conn.id);
    if (this.phase === 'done' || shard === undefined) return;
    this.expectReady[shard.id] = 0;
    this.resetting[shard.id] = 0;
    this.stats.departures++;
    const who = { conn: conn.id, worker: conn.workerId, shard: shard.id, code };
    this.log.warn(who, 'worker left; its shard is free');
    const standby = this.shards.nextStandby();
    const next = standby === undefined ? undefined : this.conns.get(standby);
    if (next !== undefined) this.assignOrStandby(next);
  }

  // ---- evaluation rounds, divergence, checkpoints ------------------------------------------------

  private startEval(): void {
    if (this.evalRound !== null) return;
    this.lastEvalUpdates = this.stats.updates;
    this.lastEvalAt = Date.now();
    const round = new EvalRound(this.nextEvalId++, this.model.k, this.model.current(), this.model.pi);
    this.evalRound = round;
    const snapshot = this.checkpointDue && this.checkpointer ? this.run.snapshot(this.elapsed()) : null;
    if (snapshot) this.checkpointDue = false;
    this.roundState = {
      id: round.id,
      restarts: this.run.restarts,
      wbar: snapshot?.wbar ?? this.model.wbar.slice(),
      counts: this.run.shardUpdates.slice(),
      snapshot,
    };
    const frame = { t: 'eval', id: round.id, w: round.w } as const;
    for (const s of this.shards.shards)
      if (s.ready && s.owner !== null) this.conns.send(this.conns.get(s.owner)!, frame);
  }

  private onEvalResult(shard: Shard, id: number, fi: number, correct: number | undefined): void {
    const round = this.evalRound;
    const state = this.roundState;
    if (round === null || state === null || round.id !== id) return; // a late answer to a finished round
    if (!round.record(shard.id, fi, correct)) return;
    this.evalRound = null;
    const objective = round.objective(this.cfg.lambda1);
    const subopt = this.cfg.fstar !== undefined ? suboptimality(objective, this.cfg.fstar) : null;
    const accuracy = round.accuracy(this.cfg.data.X.rows);
    const result = {
      k: round.k,
      restarts: state.restarts,
      objective,
      subopt,
      accuracy,
      ...this.holdout?.score(round.w),
    };
    this.lastResult = result;
    this.log.info(progressLine(this.run, round, result, this.elapsed()), 'progress');
    if (state.snapshot && this.checkpointer)
      void this.checkpointer.write(withEvaluated(state.snapshot, objective, subopt));
    if (this.phase === 'finishing') return this.complete();
    this.run.noteEvaluation(round.k, objective, state.wbar);
    if (this.detector.observe(objective, state.counts) === 'diverged') return this.onDivergence(objective);
    if (subopt !== null && subopt <= this.cfg.tol) return this.finish('tol');
    if (this.checkpointDue) this.startEval();
  }

  private onDivergence(objective: number, what = `F = ${objective}`): void {
    if (this.phase !== 'running') return;
    const { run } = this;
    const restart = (this.cfg.onDivergence ?? 'restart') === 'restart';
    const ref = this.detector.referenceObjective;
    const at = { k: this.model.k, objective, reference: ref, p: run.p, gamma: this.model.gamma };
    this.log.warn(at, `divergence detected (${what}); ${restart ? 'restarting' : 'stopping'}`);
    if (!restart) return this.finish('diverged');
    const next = escalate(run.p, this.model.gamma, defaultStepSize(this.cfg.lambda2, this.shards.maxL()));
    if (next === null || run.restarts >= (this.cfg.maxRestarts ?? 10)) return this.finish('diverged');
    run.restart(next);
    this.evalRound = null;
    this.roundState = null;
    this.roundDeltas.fill(null);
    this.detector.reset();
    const from = { fromK: run.best?.k ?? 0, fromObjective: run.best?.objective ?? null };
    this.log.warn({ restarts: run.restarts, ...from, ...next }, 'restart from the best evaluated point');
    // Every owner restarts from the new w_i (a fresh assign without rows) and answers `ready` again.
    for (const s of this.shards.shards) {
      const conn = s.owner === null ? undefined : this.conns.get(s.owner);
      if (conn === undefined) continue;
      s.ready = false;
      this.expectReady[s.id]++;
      this.resetting[s.id] = 1;
      this.sendAssign(conn, s, true);
    }
    this.startEval();
  }

  private checkpointTick(): void {
    if (this.phase !== 'running' || this.checkpointer === null) return;
    const round = this.evalRound;
    const state = this.roundState;
    // A round stuck on a shard without a worker: write its state without F rather than nothing.
    if (round !== null && state?.snapshot && Date.now() - round.startedAt > this.checkpointer.everyMs) {
      void this.checkpointer.write(state.snapshot);
      state.snapshot = null;
    }
    this.checkpointDue = true;
    if (this.evalRound === null) this.startEval();
  }

  private elapsed(): number {
    return this.run.elapsedBefore + (this.startedAt > 0 ? Date.now() - this.startedAt : 0);
  }

  // ---- stopping ----------------------------------------------------------------------------------

  /** Stop training; evaluate the final w (unless just evaluated), then complete. */
  private finish(reason: string): void {
    if (this.phase === 'finishing' || this.phase === 'done') return;
    const wasRunning = this.phase === 'running';
    this.finishReason = reason;
    this.phase = 'finishing';
    if (!wasRunning) return this.complete();
    if (this.evalRound === null && this.isCurrent(this.lastResult)) return this.complete();
    // The last evaluated w is older than the final one: one more round, bounded in time.
    const r = this.roundState;
    if (this.evalRound === null || this.evalRound.k !== this.model.k || r?.restarts !== this.run.restarts) {
      this.evalRound = null;
      this.startEval();
    }
    this.timers.push(setTimeout(() => this.complete(), FINAL_EVAL_TIMEOUT_MS));
  }

  private isCurrent(e: Evaluated | null): e is Evaluated {
    return e !== null && e.k === this.model.k && e.restarts === this.run.restarts;
  }

  private complete(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    for (const t of this.timers) clearTimeout(t);
    const reason = this.finishReason ?? 'stopped';
    this.conns.stopAll(reason);
    void this.writeOutputsAndClose(reason);
  }

  private async writeOutputsAndClose(reason: string): Promise<void> {
    const w = this.model.current();
    const last = this.lastResult;
    const summary = summaryOf(this.cfg, this.run, w, last, reason, this.elapsed());
    await writeModel(this.cfg, w, this.isCurrent(last) ? last.objective : null, this.log);
    // The final state (unless training never started: an older checkpoint on disk is then kept as is).
    if (this.checkpointer && this.startedAt > 0) {
      const ck = this.run.snapshot(this.elapsed());
      await this.checkpointer.write(
        this.isCurrent(last) ? withEvaluated(ck, last.objective, last.subopt) : ck,
      );
    }
    this.log.info(summary, 'summary');
    this.conns.terminateAll();
    this.wss.close();
    await new Promise<void>((res) => this.server.close(() => res()));
    const { objective, subopt } = { objective: last?.objective ?? null, subopt: last?.subopt ?? null };
    this.resolveDone({ reason, objective, subopt, updates: this.stats.updates, summary });
  }
}

function pick({ k, p, gamma, restarts, runId }: Checkpoint['meta']) {
  return { k, p, gamma, restarts, runId };
}

function withEvaluated(ck: Checkpoint, objective: number, subopt: number | null): Checkpoint {
  return { ...ck, meta: { ...ck.meta, evaluated: { objective, subopt } } };
}
