import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import {
  DEFAULT_MAX_PAYLOAD_MASTER,
  LISTENING_EVENT,
  LOG_MSG,
  type ListeningRecord,
  type SummaryRecord,
} from '@soda/protocol';
import { assertNever, removeStaleTemps, SodaError } from '@soda/core';
import type { Checkpoint } from './checkpoint';
import { Checkpointer } from './checkpointer';
import { resolveMasterConfig, type MasterConfig, type MasterOptions } from './config';
import { Connections } from './connections';
import { Coordinator } from './coordinator';
import { messageEvent, type Command, type CoordinatorEvent, type Outcome } from './events';
import { Refusals } from './admission';
import { createHttpServer, createStatusServer, runMetrics, type LiveSource } from './http';
import { writeModel } from './outputs';
import { RunState } from './run-state';
import { WireCounters } from './stats';
import { runEndOf } from './run-end';
import { withEnd } from './finished-run';

export interface MasterResult extends Outcome {
  readonly summary: SummaryRecord;
}

/** How often the coordinator hears the time (its deadlines are checked at this resolution). */
const TICK_MS = 50;

/**
 * The master service: WebSocket and HTTP wiring around the Coordinator, which takes every decision.
 * Connections validates and authenticates frames and turns them into events; the coordinator's
 * commands become frames, log lines and file writes here. Time is monotonic (performance.now()).
 */
export class Master {
  readonly done: Promise<MasterResult>;
  private resolveDone!: (r: MasterResult) => void;
  private readonly log;
  private readonly server: http.Server;
  /** the status endpoints' own listener (--status-port), or null when they share the workers' port */
  private readonly statusServer: http.Server | null;
  private readonly wss: WebSocketServer;
  readonly conns: Connections;
  readonly run: RunState;
  private readonly coord: Coordinator;
  private readonly checkpointer: Checkpointer | null;
  private readonly timers: NodeJS.Timeout[] = [];
  /** this master's refused connections (socket guard, connection layer, /metrics) */
  private readonly refusals: Refusals;
  /** outputs (model, final checkpoint) that could not be written: soda_output_write_failures_total */
  private outputFailures = 0;

  private constructor(private readonly cfg: MasterConfig) {
    this.log = cfg.logger;
    this.refusals = new Refusals(this.log);
    // the staleness histogram exists once the metrics do, which read the run: a late-bound observer
    let observeStaleness: (d: number) => void = () => {};
    const wire = new WireCounters();
    this.run = new RunState(cfg, { onDelay: (d) => observeStaleness(d), wire });
    if (cfg.resume) {
      const { checkpoint: ck, file } = cfg.resume;
      // the workers hold the data: restored once their stats round has rebuilt n, π_i and the columns
      const now = this.run.resumeFrom(ck, file);
      const { k, p, gamma, restarts, runId } = ck.meta;
      const at = { file, ...ck.meta.evaluated, k, p, gamma, restarts, runId };
      this.log.info(
        at,
        now ? 'resuming from checkpoint' : 'will resume from checkpoint after the stats round',
      );
    }
    this.coord = new Coordinator(cfg, this.run, performance.now());
    const ck = cfg.checkpoint;
    this.checkpointer = ck ? new Checkpointer(ck.file, this.log) : null;
    this.done = new Promise((res) => (this.resolveDone = res));
    const now = () => performance.now();
    this.conns = new Connections(
      {
        token: cfg.token,
        // frames are checked against n once it is known (after the stats round without data)
        n: () => this.run.n,
        log: this.log,
        wire,
        runId: this.run.runId,
        // a worker loading its shard computes on its event loop for a while: not dead
        busy: (id) => {
          const kind = this.run.shards.shardOf(id)?.state.kind;
          return kind === 'loading' || kind === 'resetting';
        },
        admission: cfg.admission,
        refusals: this.refusals,
        wirePrecision: cfg.wirePrecision,
      },
      {
        onHello: (c) =>
          this.handle({
            type: 'hello',
            now: now(),
            conn: c.id,
            worker: c.workerId!,
            ...(c.shard !== undefined ? { shard: c.shard } : {}),
          }),
        onMessage: (c, msg) => this.handle(messageEvent(msg, now(), c.id)),
        onClose: (c, code) => this.handle({ type: 'close', now: now(), conn: c.id, code }),
        finishedReason: () => this.coord.finishedReason(),
      },
    );
    const live: LiveSource = {
      phase: () => this.coord.phase,
      connected: () => this.conns.size,
      last: () => this.coord.lastResult,
      refused: () => this.refusals.total(),
      outputFailures: () => this.outputFailures,
    };
    const metrics = runMetrics(this.run, live);
    observeStaleness = metrics.observeStaleness;
    const ctx = {
      run: this.run,
      live,
      metrics: metrics.registry,
      limits: cfg.admission,
      refusals: this.refusals,
    };
    this.server = createHttpServer(cfg.tls, ctx, cfg.status === undefined);
    this.statusServer = cfg.status === undefined ? null : createStatusServer(ctx);
    const maxPayload = cfg.maxPayload ?? DEFAULT_MAX_PAYLOAD_MASTER;
    this.wss = new WebSocketServer({ server: this.server, maxPayload });
    this.wss.on('connection', (ws) => this.conns.attach(ws));
    // ws re-emits the http server's errors; listen() reports the one that matters (port in use)
    this.wss.on('error', (e) => this.log.error({ err: e.message }, 'WebSocket server error'));
  }

  /** Resolves the options (resolveMasterConfig: defaults, checks, frozen), listens, waits for workers. */
  static async start(options: MasterOptions): Promise<Master> {
    const cfg = resolveMasterConfig(options);
    const master = new Master(cfg);
    if (cfg.checkpoint) await removeStaleTemps(cfg.checkpoint.file);
    await listen(master.server, cfg.port, cfg.host);
    if (master.statusServer && cfg.status)
      await listen(master.statusServer, cfg.status.port, cfg.status.host);
    const { workers } = cfg;
    const listening: ListeningRecord = {
      event: LISTENING_EVENT,
      port: master.port,
      workers,
      // 0 when the workers hold the data: the stats round has not told the master yet
      m: master.run.m,
      n: master.run.n ?? 0,
      runId: master.runId,
      tls: !!cfg.tls,
      ...(master.statusServer ? { statusPort: (master.statusServer.address() as AddressInfo).port } : {}),
    };
    master.log.info(listening, `waiting for workers 0/${workers}`);
    master.timers.push(setInterval(() => master.conns.heartbeat(cfg.heartbeatMs), cfg.heartbeatMs));
    master.timers.push(setInterval(() => master.handle({ type: 'tick', now: performance.now() }), TICK_MS));
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
    this.handle({ type: 'stop', now: performance.now(), reason });
    return this.done;
  }

  private handle(event: CoordinatorEvent): void {
    for (const cmd of this.coord.handle(event)) this.execute(cmd);
  }

  private execute(cmd: Command): void {
    switch (cmd.type) {
      case 'send': {
        const conn = this.conns.get(cmd.conn);
        if (conn !== undefined) this.conns.send(conn, cmd.msg);
        return;
      }
      case 'reject': {
        const conn = this.conns.get(cmd.conn);
        if (conn !== undefined) this.conns.reject(conn, cmd.error);
        return;
      }
      case 'close':
        for (const t of this.timers) clearInterval(t);
        return this.conns.stopAll(cmd.reason);
      case 'writeCheckpoint':
        void this.checkpointer?.write(stamped(cmd.checkpoint));
        return;
      case 'log':
        return this.log[cmd.level](cmd.fields, cmd.msg);
      case 'finish':
        return void this.finish(cmd);
      default:
        return assertNever(cmd, 'command');
    }
  }

  private async finish(cmd: Extract<Command, { type: 'finish' }>): Promise<void> {
    const writeErrors: string[] = [];
    const modelErr = await writeModel(this.cfg, this.run, cmd.w, cmd.modelObjective, cmd.summary, this.log);
    if (modelErr !== null) writeErrors.push(`model: ${modelErr}`);
    const withErrors = (): SummaryRecord =>
      writeErrors.length === 0
        ? cmd.summary
        : {
            ...cmd.summary,
            writeErrors: [...writeErrors],
            modelOut: modelErr === null ? cmd.summary.modelOut : null,
          };
    if (this.checkpointer && cmd.checkpoint) {
      // a finished run says so in its final checkpoint: a restart prints this summary and exits
      const end = runEndOf(cmd.outcome.reason, this.cfg.tolGap ?? this.cfg.tol, withErrors());
      const ckErr = await this.checkpointer.write(stamped(withEnd(cmd.checkpoint, end)));
      if (ckErr !== null) writeErrors.push(`checkpoint: ${ckErr}`);
    }
    this.outputFailures += writeErrors.length;
    const summary = withErrors();
    this.log.info(summary, LOG_MSG.summary);
    this.conns.terminateAll();
    this.wss.close();
    await new Promise<void>((res) => this.server.close(() => res()));
    if (this.statusServer) await new Promise<void>((res) => this.statusServer!.close(() => res()));
    this.resolveDone({ ...cmd.outcome, summary });
  }
}

/** Listens, or rejects with E_CONFIG naming the address when it is taken or not ours to bind. */
function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'EADDRINUSE'
          ? 'is in use by another process (choose another --port, or stop the other master)'
          : e.code === 'EADDRNOTAVAIL'
            ? 'is not an address of this machine (check --host)'
            : e.code === 'EACCES'
              ? 'needs privileges (ports below 1024)'
              : undefined;
      reject(
        why === undefined
          ? e
          : new SodaError('E_CONFIG', `cannot listen on ${host}:${port}: port ${port} ${why}`, {
              option: 'port',
              value: port,
            }),
      );
    });
    server.listen(port, host, () => resolve());
  });
}

/** The wall-clock time a checkpoint is written at (the coordinator reads no clock). */
function stamped(ck: Checkpoint): Checkpoint {
  return { ...ck, meta: { ...ck.meta, createdAt: new Date().toISOString() } };
}
