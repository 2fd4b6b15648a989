import * as http from 'node:http';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { countNonZeros, defaultStepSize, shardContiguous, shardShuffled, sparseFromDense } from '@soda/core';
import {
  closeReason,
  decodeFromWorker,
  DEFAULT_MAX_PAYLOAD_MASTER,
  encode,
  errorFrame,
  makeNonce,
  PROTOCOL_VERSION,
  ProtocolError,
  verifyProof,
  type FromMaster,
  type FromWorker,
  type Update,
} from '@soda/protocol';
import type { MasterConfig } from './config';
import { EvalRound, suboptimality } from './evaluation';
import { modelFileOf, writeFileAtomic } from './model-file';
import { ModelState } from './model-state';
import { ShardTable, type Shard } from './shards';
import { RunStats } from './stats';
import { createMetrics } from './metrics';
import type { Registry } from 'prom-client';

interface Conn {
  readonly id: number;
  readonly ws: WebSocket;
  readonly nonce: Uint8Array;
  workerId: string | null;
  alive: boolean;
}

type Phase = 'waiting' | 'running' | 'finishing' | 'done';

export interface MasterResult {
  readonly reason: string;
  readonly objective: number | null;
  readonly subopt: number | null;
  readonly updates: number;
  readonly summary: Readonly<Record<string, unknown>>;
}

/**
 * The master service: a thin event loop around ModelState (Algorithm 1's master side), ShardTable
 * (who computes on what) and EvalRound (exact F(w^k)). Every frame is decoded and validated by
 * @soda/protocol before it reaches a handler; handlers check what only the master can know (does this
 * connection own that shard, is it the right moment) and otherwise leave the state untouched.
 */
export class Master {
  readonly runId = randomUUID();
  readonly done: Promise<MasterResult>;
  private resolveDone!: (r: MasterResult) => void;
  private readonly log;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<number, Conn>();
  private nextConnId = 1;
  readonly shards: ShardTable;
  readonly model: ModelState;
  readonly stats = new RunStats();
  private phase: Phase = 'waiting';
  private startedAt = 0;
  private evalRound: EvalRound | null = null;
  private nextEvalId = 1;
  private lastEvalUpdates = 0;
  private lastEvalAt = 0;
  private lastResult: { k: number; objective: number; subopt: number | null; accuracy: number } | null = null;
  private finishReason: string | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  /** sync-pg: the Δ of every shard for the current round. */
  private readonly roundDeltas: (Update | null)[];
  private gammaSet = false;
  private readonly metrics: Registry;

  private constructor(private readonly cfg: MasterConfig) {
    this.log = cfg.logger;
    const m = cfg.data.X.rows;
    const parts = cfg.shuffle ? shardShuffled(m, cfg.workers, cfg.seed) : shardContiguous(m, cfg.workers);
    this.shards = new ShardTable(cfg.data, parts);
    const pi = this.shards.shards.map((s) => s.pi);
    this.model = new ModelState(cfg.data.X.cols, pi, cfg.gamma ?? 1, cfg.lambda1);
    this.roundDeltas = pi.map(() => null);
    this.done = new Promise((res) => (this.resolveDone = res));
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.onHttp(req, res);
    this.server = cfg.tls
      ? https.createServer({ cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) }, handler)
      : http.createServer(handler);
    this.wss = new WebSocketServer({
      server: this.server,
      maxPayload: cfg.maxPayload ?? DEFAULT_MAX_PAYLOAD_MASTER,
    });
    this.wss.on('connection', (ws) => this.onConnection(ws));
    this.metrics = createMetrics({
      updates: () => this.stats.updates,
      epochs: () => this.epoch(),
      objective: () => this.lastResult?.objective ?? null,
      subopt: () => this.lastResult?.subopt ?? null,
      supportSize: () => this.model.supportSize,
      supportPct: () => (100 * this.model.supportSize) / this.model.n,
      coordsUp: () => this.stats.coordsUp,
      coordsDown: () => this.stats.coordsDown,
      bytesUp: () => this.stats.bytesUp,
      bytesDown: () => this.stats.bytesDown,
      workersConnected: () => this.conns.size,
      workersReady: () => this.shards.readyCount(),
      delayMean: () => this.stats.peekDelayMean(),
      rejectedFrames: () => this.stats.rejectedFrames,
      departures: () => this.stats.departures,
    });
  }

  static async start(cfg: MasterConfig): Promise<Master> {
    const master = new Master(cfg);
    await new Promise<void>((resolve, reject) => {
      master.server.once('error', reject);
      master.server.listen(cfg.port, cfg.host, () => resolve());
    });
    master.log.info(
      {
        port: master.port,
        workers: cfg.workers,
        m: cfg.data.X.rows,
        n: cfg.data.X.cols,
        runId: master.runId,
      },
      `waiting for workers 0/${cfg.workers}`,
    );
    master.timers.push(setInterval(() => master.heartbeat(), cfg.heartbeatMs));
    return master;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stop the run (signal, API): workers are told, the model is written, the summary logged. */
  stop(reason = 'stopped'): Promise<MasterResult> {
    this.finish(reason);
    return this.done;
  }

  // ---- connections -------------------------------------------------------------------------------

  private onConnection(ws: WebSocket): void {
    const conn: Conn = { id: this.nextConnId++, ws, nonce: makeNonce(), workerId: null, alive: true };
    this.conns.set(conn.id, conn);
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on('pong', () => (conn.alive = true));
    ws.on('close', (code) => this.onClose(conn, code));
    ws.on('error', (err) => this.log.warn({ conn: conn.id, err: err.message }, 'connection error'));
    if (this.phase === 'done' || this.phase === 'finishing') {
      this.send(conn, { t: 'stop', reason: this.finishReason ?? 'finished' });
      ws.close(1000, 'run finished');
      return;
    }
    this.send(conn, {
      t: 'challenge',
      version: PROTOCOL_VERSION,
      nonce: conn.nonce,
      authRequired: !!this.cfg.token,
    });
  }

  private onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    const bytes = frameLength(data);
    if (!isBinary)
      return this.reject(
        conn,
        new ProtocolError('E_UNSUPPORTED', 'text frames are not accepted; send binary msgpack'),
      );
    const decoded = decodeFromWorker(data as Buffer | ArrayBuffer | Buffer[], { n: this.model.n });
    if (!decoded.ok) return this.reject(conn, decoded.error);
    this.stats.bytesUp += bytes;
    try {
      this.dispatch(conn, decoded.msg);
    } catch (e) {
      if (e instanceof ProtocolError) return this.reject(conn, e);
      throw e;
    }
  }

  private dispatch(conn: Conn, msg: FromWorker): void {
    if (msg.t === 'error') {
      this.log.warn(
        { conn: conn.id, worker: conn.workerId, code: msg.code, message: msg.message },
        'worker reported an error',
      );
      conn.ws.close(1000, 'error received');
      return;
    }
    if (msg.t === 'hello') return this.onHello(conn, msg.version, msg.workerId, msg.proof);
    if (conn.workerId === null) throw new ProtocolError('E_STATE', `'${msg.t}' before 'hello'`, 't');
    const shard = this.shards.shardOf(conn.id);
    if (shard === undefined)
      throw new ProtocolError('E_STATE', `'${msg.t}' from a worker that owns no shard`, 't');
    if (msg.shard !== shard.id)
      throw new ProtocolError(
        'E_STATE',
        `shard ${msg.shard} is not this worker's shard (${shard.id})`,
        'shard',
      );
    switch (msg.t) {
      case 'ready':
        return this.onReady(conn, shard, msg.m, msg.L);
      case 'update':
        return this.onUpdate(conn, shard, msg);
      case 'evalResult':
        return this.onEvalResult(shard, msg.id, msg.fi, msg.correct);
    }
  }

  private onHello(conn: Conn, version: number, workerId: string, proof: Uint8Array | undefined): void {
    if (conn.workerId !== null) throw new ProtocolError('E_STATE', 'second hello on one connection', 't');
    if (version !== PROTOCOL_VERSION)
      throw new ProtocolError(
        'E_VERSION',
        `worker speaks protocol ${version}, this master speaks ${PROTOCOL_VERSION}`,
        'version',
      );
    if (this.cfg.token !== undefined) {
      if (proof === undefined)
        throw new ProtocolError(
          'E_AUTH',
          'this master requires a token (SODA_TOKEN); hello carried no proof',
          'proof',
        );
      if (!verifyProof(this.cfg.token, conn.nonce, proof))
        throw new ProtocolError('E_AUTH', 'wrong token: the proof does not match', 'proof');
    }
    conn.workerId = workerId;
    this.log.info({ conn: conn.id, worker: workerId }, 'worker joined');
    this.assignOrStandby(conn);
  }

  private assignOrStandby(conn: Conn): void {
    const shard = this.shards.claim(conn.id);
    if (shard === undefined) {
      this.send(conn, {
        t: 'standby',
        reason: `all ${this.shards.size} shards are taken; waiting as a spare`,
      });
      this.log.info(
        { conn: conn.id, worker: conn.workerId, standbys: this.shards.standbyCount },
        'worker on standby',
      );
      return;
    }
    const p = this.cfg.p;
    this.send(conn, {
      t: 'assign',
      runId: this.runId,
      shard: shard.id,
      shards: this.shards.size,
      n: this.model.n,
      pi: shard.pi,
      lambda1: this.cfg.lambda1,
      lambda2: this.cfg.lambda2,
      p,
      seed: (this.cfg.seed * 1000003 + shard.id * 7919 + this.nextConnId) >>> 0,
      gamma: this.model.gamma,
      delayMs: this.cfg.delayMs,
      rows: shard.rows,
      wi: sparseFromDense(this.model.wi[shard.id]),
    });
    this.log.info(
      { conn: conn.id, worker: conn.workerId, shard: shard.id, m: shard.rows.m },
      'shard assigned',
    );
  }

  private onReady(conn: Conn, shard: Shard, m: number, L: number): void {
    if (shard.ready) throw new ProtocolError('E_STATE', `shard ${shard.id} is already ready`, 't');
    if (m !== shard.rows.m)
      throw new ProtocolError(
        'E_FIELD',
        `ready.m = ${m} but shard ${shard.id} has ${shard.rows.m} rows`,
        'm',
      );
    shard.ready = true;
    shard.L = L;
    if (this.phase === 'waiting') {
      const ready = this.shards.readyCount();
      this.log.info({ shard: shard.id, L }, `waiting for workers ${ready}/${this.shards.size}`);
      if (ready === this.shards.size) this.begin();
      return;
    }
    if (this.phase !== 'running') return;
    this.log.info({ shard: shard.id, worker: conn.workerId }, 'shard taken over');
    // A replacement joins the run where its predecessor left it: the current w, and any pending evaluation.
    if (this.cfg.algo !== 'sync-pg' || this.roundDeltas[shard.id] === null) this.sendModel(conn);
    if (this.evalRound !== null && !this.evalRound.has(shard.id))
      this.send(conn, { t: 'eval', id: this.evalRound.id, w: this.evalRound.w });
  }

  private begin(): void {
    const mu = this.cfg.lambda2;
    const L = this.shards.maxL();
    if (!this.gammaSet) {
      const gamma = this.cfg.gamma ?? defaultStepSize(mu, L);
      this.model.setGamma(gamma);
      this.gammaSet = true;
    }
    this.phase = 'running';
    this.startedAt = Date.now();
    this.lastEvalAt = this.startedAt;
    this.log.info(
      {
        algo: this.cfg.algo,
        p: this.cfg.p,
        workers: this.shards.size,
        dataset: this.cfg.dataName,
        m: this.cfg.data.X.rows,
        n: this.model.n,
        lambda1: this.cfg.lambda1,
        lambda2: this.cfg.lambda2,
        L,
        mu,
        kappa: mu > 0 ? L / mu : null,
        gamma: this.model.gamma,
        fstar: this.cfg.fstar ?? null,
      },
      'start',
    );
    if (this.cfg.maxTimeMs > 0)
      this.timers.push(setTimeout(() => this.finish('max-time'), this.cfg.maxTimeMs));
    this.startEval();
    for (const s of this.shards.shards) this.sendModel(this.conns.get(s.owner!)!);
  }

  private onUpdate(conn: Conn, shard: Shard, msg: Update): void {
    if (this.phase !== 'running') return; // finishing: updates in flight are dropped, not errors
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
    this.model.apply(shard.id, msg.delta);
    this.stats.updates++;
    this.afterUpdates();
    if (this.phase === 'running') this.sendModel(conn);
  }

  /** Synchronous proximal gradient: wait for every shard's Δ at the same w, apply them all, broadcast. */
  private onSyncUpdate(msg: Update): void {
    const roundK = this.model.k;
    if (msg.k !== roundK || this.roundDeltas[msg.shard] !== null) return; // stale or duplicate: ignore
    this.roundDeltas[msg.shard] = msg;
    if (this.roundDeltas.some((d) => d === null)) return;
    for (let i = 0; i < this.roundDeltas.length; i++) {
      this.model.apply(i, this.roundDeltas[i]!.delta);
      this.roundDeltas[i] = null;
      this.stats.updates++;
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
    if (cfg.maxEpochs > 0 && this.epoch() >= cfg.maxEpochs) this.finish('max-epochs');
  }

  private epoch(): number {
    return this.model.k / this.shards.size;
  }

  private sendModel(conn: Conn): void {
    const w = this.model.current();
    this.stats.coordsDown += w.idx.length;
    this.send(conn, { t: 'model', k: this.model.k, gamma: this.model.gamma, p: this.cfg.p, w });
  }

  // ---- evaluation rounds -------------------------------------------------------------------------

  private startEval(): void {
    if (this.evalRound !== null) return;
    this.lastEvalUpdates = this.stats.updates;
    this.lastEvalAt = Date.now();
    const round = new EvalRound(this.nextEvalId++, this.model.k, this.model.current(), this.model.pi);
    this.evalRound = round;
    for (const s of this.shards.shards) {
      if (s.ready && s.owner !== null)
        this.send(this.conns.get(s.owner)!, { t: 'eval', id: round.id, w: round.w });
    }
  }

  private onEvalResult(shard: Shard, id: number, fi: number, correct: number | undefined): void {
    const round = this.evalRound;
    if (round === null || round.id !== id) return; // a late answer to a finished round
    if (!round.record(shard.id, fi, correct)) return;
    this.evalRound = null;
    const objective = round.objective(this.cfg.lambda1);
    const subopt = this.cfg.fstar !== undefined ? suboptimality(objective, this.cfg.fstar) : null;
    const nnz = countNonZeros(round.w.val);
    const accuracy = round.accuracy(this.cfg.data.X.rows);
    this.lastResult = { k: round.k, objective, subopt, accuracy };
    this.log.info(
      {
        k: round.k,
        epoch: round.k / this.shards.size,
        objective,
        subopt,
        nnz,
        supportPct: (100 * nnz) / this.model.n,
        accuracy,
        ...this.stats.snapshot(),
        ...this.stats.takeDelays(),
        workers: this.shards.readyCount(),
        elapsedMs: Date.now() - this.startedAt,
      },
      'progress',
    );
    if (this.phase === 'finishing') return this.complete();
    if (!Number.isFinite(objective)) return this.finish('diverged');
    if (subopt !== null && subopt <= this.cfg.tol) this.finish('tol');
  }

  // ---- stopping ----------------------------------------------------------------------------------

  /** Stop training; evaluate the final w (unless just evaluated), then complete. */
  private finish(reason: string): void {
    if (this.phase === 'finishing' || this.phase === 'done') return;
    const wasRunning = this.phase === 'running';
    this.finishReason = reason;
    this.phase = 'finishing';
    if (!wasRunning) return this.complete();
    if (this.lastResult !== null && this.lastResult.k === this.model.k && this.evalRound === null)
      return this.complete();
    // The last evaluated w is older than the final one: one more round, bounded in time.
    if (this.evalRound === null || this.evalRound.k !== this.model.k) {
      this.evalRound = null;
      this.startEval();
    }
    this.timers.push(setTimeout(() => this.complete(), 30000));
  }

  private complete(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    for (const t of this.timers) clearTimeout(t);
    const reason = this.finishReason ?? 'stopped';
    for (const conn of this.conns.values()) {
      this.send(conn, { t: 'stop', reason });
      conn.ws.close(1000, 'run finished');
    }
    void this.writeOutputsAndClose(reason);
  }

  private async writeOutputsAndClose(reason: string): Promise<void> {
    const w = this.model.current();
    const last = this.lastResult;
    const summary = {
      reason,
      objective: last?.objective ?? null,
      fstar: this.cfg.fstar ?? null,
      subopt: last?.subopt ?? null,
      accuracy: last?.accuracy ?? null,
      k: this.model.k,
      epochs: this.epoch(),
      ...this.stats.snapshot(),
      elapsedMs: this.startedAt > 0 ? Date.now() - this.startedAt : 0,
      nnz: w.idx.length,
      supportPct: (100 * w.idx.length) / this.model.n,
      algo: this.cfg.algo,
      p: this.cfg.p,
      workers: this.shards.size,
      gamma: this.model.gamma,
      modelOut: this.cfg.modelOut ?? null,
    };
    if (this.cfg.modelOut !== undefined) {
      try {
        const file = modelFileOf(w, {
          lambda1: this.cfg.lambda1,
          lambda2: this.cfg.lambda2,
          dataName: this.cfg.dataName,
          dataHash: this.cfg.dataHash,
          objective: last?.objective ?? null,
          ...(this.cfg.scale ? { scale: Array.from(this.cfg.scale) } : {}),
        });
        await writeFileAtomic(this.cfg.modelOut, JSON.stringify(file));
      } catch (e) {
        this.log.error({ err: (e as Error).message, file: this.cfg.modelOut }, 'could not write the model');
      }
    }
    this.log.info(summary, 'summary');
    for (const conn of this.conns.values()) conn.ws.terminate();
    this.wss.close();
    await new Promise<void>((res) => this.server.close(() => res()));
    this.resolveDone({
      reason,
      objective: summary.objective,
      subopt: summary.subopt,
      updates: this.stats.updates,
      summary,
    });
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private onClose(conn: Conn, code: number): void {
    this.conns.delete(conn.id);
    const shard = this.shards.release(conn.id);
    if (this.phase === 'done') return;
    if (shard !== undefined) {
      this.stats.departures++;
      this.log.warn(
        { conn: conn.id, worker: conn.workerId, shard: shard.id, code },
        'worker left; its shard is free',
      );
      const standby = this.shards.nextStandby();
      if (standby !== undefined) {
        const next = this.conns.get(standby);
        if (next !== undefined) this.assignOrStandby(next);
      }
    }
  }

  private reject(conn: Conn, err: ProtocolError): void {
    this.stats.rejectedFrames++;
    this.log.warn(
      { conn: conn.id, worker: conn.workerId, code: err.code, field: err.field, err: err.message },
      'frame rejected',
    );
    try {
      this.send(conn, errorFrame(err));
    } finally {
      conn.ws.close(err.closeCode, closeReason(err));
    }
  }

  private send(conn: Conn, msg: FromMaster): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    const buf = encode(msg);
    this.stats.bytesDown += buf.length;
    conn.ws.send(buf);
  }

  private heartbeat(): void {
    for (const conn of this.conns.values()) {
      if (!conn.alive) {
        this.log.warn({ conn: conn.id, worker: conn.workerId }, 'worker did not answer a ping; dropping it');
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  private onHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'ok',
          phase: this.phase,
          workers: this.shards.readyCount(),
          k: this.model.k,
        }),
      );
      return;
    }
    if (req.url === '/metrics') {
      this.metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.metrics.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${e.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }
}

function frameLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((s, b) => s + b.length, 0);
  return (data as Buffer | ArrayBuffer).byteLength;
}
