import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket, { type RawData } from 'ws';
import { csrToCsc, logisticSmoothness, SodaError, type CsrMatrix } from '@soda/core';
import {
  closeReason,
  decodeFromMaster,
  DEFAULT_MAX_PAYLOAD_WORKER,
  encode,
  encodeFor,
  errorFrame,
  FrameMac,
  makeNonce,
  PROTOCOL_VERSION,
  proveSession,
  ProtocolError,
  verifySession,
  type SessionParams,
  type Assign,
  type FromMaster,
  type Scale,
  type FromWorker,
} from '@soda/protocol';
import type { WorkerConfig } from './config';
import { LocalStep, type LocalShard } from './local-step';
import { prepareOwnShard, readOwnShard, shardPath, shardStats, type OwnShard } from './own-data';

export interface WorkerResult {
  readonly reason: string;
  readonly steps: number;
}

/** Close codes after which reconnecting cannot help (wrong token, wrong version): the worker exits non-zero. */
const FATAL_CLOSE_CODES = new Set([1008]);

/**
 * The worker service: connect (retrying with backoff), take a shard, then answer every `model` with one
 * step of Algorithm 1 and every `eval` with f_i(w). A thin loop around LocalStep; every frame is decoded
 * and validated by @soda/protocol first.
 */
export class Worker {
  readonly done: Promise<WorkerResult>;
  private resolveDone!: (r: WorkerResult) => void;
  private rejectDone!: (e: Error) => void;
  private ws: WebSocket | null = null;
  private local: LocalStep | null = null;
  private assign: Assign | null = null;
  /** the shard's rows (column-major) and L_i, kept so a restart's assign need not ship them again */
  private held: { shard: number; runId: string; data: LocalShard; L: number; hash?: string } | null = null;
  /** a shard read from this worker's own file, waiting for the master's `scale` (the stats round) */
  private pending: { own: OwnShard; assign: Assign } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private steps = 0;
  private stopped = false;
  /** why this worker will not reconnect (set on a fault retrying cannot fix) */
  private refused: string | null = null;
  private retryMs: number;
  private firstFailureAt = 0;
  private lastConnectError: string | null = null;
  /** performance.now() when the master was last heard from (monotonic: immune to clock steps) */
  private lastHeard = 0;
  private livenessTimer: NodeJS.Timeout | null = null;
  /** with a token: the session offered in our hello, until the master's welcome proves it */
  private pendingSession: SessionParams | null = null;
  /** the session's frame MAC once the master proved the token (null: no token, or TLS) */
  private mac: FrameMac | null = null;
  private readonly log;

  constructor(private readonly cfg: WorkerConfig) {
    this.log = cfg.logger;
    this.retryMs = cfg.retryInitialMs;
    this.done = new Promise((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
  }

  static start(cfg: WorkerConfig): Worker {
    const w = new Worker(cfg);
    w.connect();
    return w;
  }

  /** Leave cleanly (SIGTERM): the master sees a departure and frees the shard. */
  leave(reason = 'leaving'): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.stopLiveness();
    this.ws?.close(1000, reason);
    this.resolveDone({ reason, steps: this.steps });
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.cfg.master, {
      maxPayload: this.cfg.maxPayload ?? DEFAULT_MAX_PAYLOAD_WORKER,
      generateMask: zeroMask,
      ...(this.cfg.tlsCa ? { ca: readFileSync(this.cfg.tlsCa) } : {}),
    });
    this.ws = ws;
    let opened = false;
    // TCP keepalive: the kernel probes an idle link, so a dead path surfaces as an error even when
    // neither side has anything to send
    ws.on('upgrade', (res) => res.socket.setKeepAlive(true, 10_000));
    ws.on('ping', () => (this.lastHeard = performance.now()));
    ws.on('open', () => {
      opened = true;
      this.watchLiveness(ws);
      // With a token, a master is a stranger until its welcome proves it: it gets the frame size of a
      // challenge, not the 1 GiB an assign may need (same Receiver field as the master's pre-auth cap,
      // see master/src/connections.ts); raised in 'welcome'.
      if (this.cfg.token !== undefined) setReceiverLimit(ws, PRE_AUTH_MAX_PAYLOAD);
      this.retryMs = this.cfg.retryInitialMs;
      this.firstFailureAt = 0;
      this.log.info({ master: this.cfg.master }, 'connected');
    });
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('error', (err) => {
      if (opened) return this.log.warn({ err: err.message }, 'connection error');
      this.lastConnectError = err.message;
      this.log.debug({ err: err.message }, 'connect failed');
    });
    ws.on('close', (code, reason) => this.onClose(opened, code, reason.toString()));
  }

  /**
   * A master that went silent (dropped by a proxy, a dead NAT entry, a frozen process) sends no FIN:
   * without this the worker would sit 'connected' forever. Any frame or ping counts as a sign of life.
   */
  private watchLiveness(ws: WebSocket): void {
    this.stopLiveness();
    const limit = this.cfg.livenessMs ?? 0;
    this.lastHeard = performance.now();
    if (limit <= 0) return;
    const period = Math.max(100, Math.min(1000, limit / 4));
    let lastTick = performance.now();
    this.livenessTimer = setInterval(() => {
      const now = performance.now();
      // late: this worker was busy (loading its shard) and has not read its socket yet; Node runs an
      // overdue timer before it reads, so the master's pings may be waiting there: listen afresh
      if (now - lastTick > 2 * period) this.lastHeard = now;
      lastTick = now;
      const silent = now - this.lastHeard;
      if (this.ws !== ws || silent <= limit) return;
      this.log.warn({ silentMs: Math.round(silent), limitMs: limit }, 'master silent; reconnecting');
      this.stopLiveness();
      ws.terminate();
    }, period);
  }

  private stopLiveness(): void {
    if (this.livenessTimer !== null) clearInterval(this.livenessTimer);
    this.livenessTimer = null;
  }

  private onClose(opened: boolean, code: number, reason: string): void {
    this.stopLiveness();
    this.ws = null;
    this.mac = null;
    this.pendingSession = null;
    this.local = null;
    this.assign = null;
    this.held = null;
    this.pending = null;
    if (this.stopped) return;
    if (FATAL_CLOSE_CODES.has(code) || this.refused !== null) {
      this.stopped = true;
      const why = this.refused ?? `the master refused this worker: ${reason || code}`;
      this.log.error({ code, reason }, why);
      this.rejectDone(new SodaError('E_REFUSED', why));
      return;
    }
    const now = performance.now();
    if (this.firstFailureAt === 0) this.firstFailureAt = now;
    if (this.cfg.giveUpMs > 0 && now - this.firstFailureAt > this.cfg.giveUpMs) {
      this.stopped = true;
      this.rejectDone(
        new SodaError(
          'E_UNREACHABLE',
          `could not reach the master at ${this.cfg.master} for ${this.cfg.giveUpMs} ms` +
            (this.lastConnectError ? ` (last error: ${this.lastConnectError})` : ''),
        ),
      );
      return;
    }
    if (opened) this.log.warn({ code, reason }, 'disconnected; reconnecting');
    const wait = this.retryMs * (0.75 + 0.5 * Math.random()); // jitter: spread a herd of workers
    this.retryMs = Math.min(this.retryMs * 2, this.cfg.retryMaxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, wait);
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.lastHeard = performance.now();
    if (!isBinary) return this.fail(new ProtocolError('E_UNSUPPORTED', 'text frame from the master'));
    const decoded = decodeFromMaster(data as Buffer | ArrayBuffer | Buffer[], {
      ...(this.local ? { n: this.local.n } : {}),
      ...(this.mac ? { mac: this.mac } : {}),
    });
    if (!decoded.ok) return this.fail(decoded.error);
    const msg = decoded.msg;
    // With a token, nothing but the welcome (or an error) is obeyed before the master proved it.
    if (this.pendingSession !== null && msg.t !== 'welcome' && msg.t !== 'error')
      return this.refuseMaster(`'${msg.t}' before the master proved the token (no welcome)`);
    void this.dispatch(msg).catch((e: unknown) => {
      if (e instanceof ProtocolError) return this.fail(e);
      this.log.error({ err: (e as Error).stack }, 'worker failure');
      this.fail(new ProtocolError('E_INTERNAL', (e as Error).message));
    });
  }

  /** A worker pinned to one shard (--shard) says so in its hello. */
  private pinned(): { shard?: number } {
    return this.cfg.shard !== undefined ? { shard: this.cfg.shard } : {};
  }

  private async dispatch(msg: FromMaster): Promise<void> {
    switch (msg.t) {
      case 'challenge': {
        if (msg.version !== PROTOCOL_VERSION)
          throw new ProtocolError(
            'E_VERSION',
            `master speaks protocol ${msg.version}, this worker speaks ${PROTOCOL_VERSION}`,
            'version',
          );
        const token = this.cfg.token;
        if (token === undefined) {
          if (msg.authRequired) this.log.warn('the master requires a token; set SODA_TOKEN (or --token)');
          return this.send({
            t: 'hello',
            version: PROTOCOL_VERSION,
            workerId: this.cfg.workerId,
            ...this.pinned(),
          });
        }
        // A master that does not ask for the token cannot prove it: an impostor, or a master
        // started without one. Either way this worker's data and results are not for it.
        if (!msg.authRequired)
          return this.refuseMaster('this worker has a token but the master does not ask for one');
        const session: SessionParams = {
          masterNonce: msg.nonce,
          workerNonce: makeNonce(),
          runId: msg.runId ?? '',
          mac: msg.mac ?? false,
        };
        this.pendingSession = session;
        return this.send({
          t: 'hello',
          version: PROTOCOL_VERSION,
          workerId: this.cfg.workerId,
          nonce: session.workerNonce,
          proof: proveSession(token, 'worker->master', session),
          ...this.pinned(),
        });
      }
      case 'welcome': {
        const session = this.pendingSession;
        const token = this.cfg.token;
        if (session === null || token === undefined) return; // no token: nothing to check
        if (!verifySession(token, 'master->worker', session, msg.proof))
          return this.refuseMaster('the master could not prove the token (wrong welcome proof)');
        this.pendingSession = null;
        if (session.mac) this.mac = FrameMac.forWorker(token, session);
        if (this.ws !== null) setReceiverLimit(this.ws, this.cfg.maxPayload ?? DEFAULT_MAX_PAYLOAD_WORKER);
        this.log.info({ mac: session.mac }, 'master proved the token');
        return;
      }
      case 'standby':
        this.log.info({ reason: msg.reason }, 'standby');
        return;
      case 'assign':
        return this.onAssign(msg);
      case 'scale':
        return this.onScale(msg);
      case 'model':
        return this.onModel(msg.k, msg.gamma, msg.p, msg.w);
      case 'eval': {
        if (this.local === null || this.assign === null)
          throw new ProtocolError('E_STATE', 'eval before assign', 't');
        const shard = this.assign.shard;
        if (msg.gap === true) {
          const { fi, correct, gap } = this.local.evaluateWithGap(msg.w);
          return this.send({
            t: 'evalResult',
            id: msg.id,
            shard,
            fi,
            correct,
            entropy: gap.entropySum,
            u: gap.u,
          });
        }
        const { fi, correct } = this.local.evaluate(msg.w);
        return this.send({ t: 'evalResult', id: msg.id, shard, fi, correct });
      }
      case 'stop':
        this.log.info({ reason: msg.reason, steps: this.steps }, 'stopped by the master');
        this.stopped = true;
        this.ws?.close(1000, 'stopped');
        this.resolveDone({ reason: msg.reason, steps: this.steps });
        return;
      case 'error':
        this.log.error({ code: msg.code, message: msg.message }, 'the master reported an error');
        return;
    }
  }

  /**
   * Take a shard: its rows, or (rows null) the shard this worker holds (a restart after a divergence),
   * or its own file (`--data`); then Algorithm 1's parameters and w_i. Without n, the master has no
   * data and runs the stats round: report the file's stats and wait for `scale`.
   */
  private async onAssign(msg: Assign): Promise<void> {
    const t0 = performance.now();
    if (this.cfg.shard !== undefined && msg.shard !== this.cfg.shard)
      throw new ProtocolError(
        'E_STATE',
        `this worker is pinned to shard ${this.cfg.shard} but was assigned shard ${msg.shard}`,
        'shard',
      );
    this.pending = null;
    let held = this.held;
    const holds =
      held !== null && held.shard === msg.shard && held.runId === msg.runId && held.data.X.cols === msg.n;
    if (msg.rows !== null) {
      const n = msg.n!; // the decoder requires n with rows
      const { m, ptr, ind, val, y } = msg.rows;
      const X: CsrMatrix = { rows: m, cols: n, ptr, ind, val };
      const L = logisticSmoothness(X, msg.lambda2);
      held = { shard: msg.shard, runId: msg.runId, data: { X: csrToCsc(X), y }, L };
    } else if (!holds) {
      const template = msg.path ?? this.cfg.data;
      if (template === undefined)
        throw new ProtocolError(
          'E_FIELD',
          `assign without rows for shard ${msg.shard}, which this worker does not hold (start it with --data)`,
          'rows',
        );
      const ws = this.ws;
      const own = await this.readShard(template, msg.shard);
      if (this.ws !== ws || this.stopped) return; // the connection this assign came on is gone
      if (msg.n === undefined) {
        this.pending = { own, assign: msg };
        const st = shardStats(own);
        const ms = Math.round(performance.now() - t0);
        this.log.info(
          { shard: msg.shard, file: own.file, m: st.m, n: st.n, nnz: st.nnz, ms },
          'shard read; stats sent',
        );
        return this.send({ t: 'stats', shard: msg.shard, ...st });
      }
      held = this.holdOwn(own, msg, msg.n, msg.scale);
    }
    this.start(held!, msg, msg.wi!, t0, msg.rows === null && holds ? 'shard restarted' : 'shard loaded');
  }

  /** The stats round's answer: the run's n, divisors and w_i for the shard read at assign. */
  private onScale(msg: Scale): void {
    const t0 = performance.now();
    const pending = this.pending;
    if (pending === null || pending.assign.shard !== msg.shard)
      throw new ProtocolError(
        'E_STATE',
        `scale for shard ${msg.shard}, which this worker has not reported`,
        'shard',
      );
    this.pending = null;
    const held = this.holdOwn(pending.own, pending.assign, msg.n, msg.scale);
    this.start(held, pending.assign, msg.wi, t0, 'shard scaled');
  }

  private async readShard(template: string, shard: number): Promise<OwnShard> {
    try {
      return await readOwnShard(shardPath(template, shard), shard);
    } catch (e) {
      // a file this worker cannot use is not the master's fault: say why, and leave for good
      if (e instanceof SodaError) this.refused = e.message;
      throw e;
    }
  }

  private holdOwn(own: OwnShard, msg: Assign, n: number, scale: Assign['scale']) {
    const { data, L } = prepareOwnShard(own, n, scale, msg.lambda2);
    return { shard: msg.shard, runId: msg.runId, data, L, hash: own.hash };
  }

  private start(
    held: NonNullable<Worker['held']>,
    msg: Assign,
    wi: NonNullable<Assign['wi']>,
    t0: number,
    what: string,
  ): void {
    this.held = held;
    this.local = new LocalStep(held.data, msg.lambda2, wi, msg.seed);
    this.assign = msg;
    const { L, data, hash } = held;
    const m = data.X.rows;
    const n = data.X.cols;
    const nnz = data.X.ind.length;
    const ms = Math.round(performance.now() - t0);
    this.log.info({ shard: msg.shard, m, n, nnz, L, p: msg.p, ms }, what);
    this.send({ t: 'ready', shard: msg.shard, m, L, n, nnz, ...(hash !== undefined ? { hash } : {}) });
  }

  private async onModel(
    k: number,
    gamma: number,
    p: number,
    w: Parameters<LocalStep['step']>[0],
  ): Promise<void> {
    const { local, assign, ws } = this;
    if (local === null || assign === null) throw new ProtocolError('E_STATE', 'model before assign', 't');
    const t0 = performance.now();
    const { delta } = local.step(w, gamma, p);
    const shard = assign.shard;
    const computeMs = performance.now() - t0;
    const extra = (this.cfg.slowdown - 1) * computeMs + this.cfg.delayMs + assign.delayMs;
    // Encode now: delta is a view into buffers the next step reuses.
    const frame = encode({ t: 'update', shard, k, delta });
    this.steps++;
    if (extra > 0) await sleep(extra);
    // Only on the connection and assignment it was computed for: after a reconnect or a restart's
    // reset this Δ belongs to a state the master no longer has.
    // Sealed only now: MAC sequence numbers follow the order frames reach the socket.
    if (ws !== null && this.ws === ws && this.assign === assign && ws.readyState === WebSocket.OPEN)
      ws.send(this.mac ? this.mac.seal(frame) : frame);
  }

  private send(msg: FromWorker): void {
    if (this.ws !== null && this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeFor(msg, this.mac));
  }

  /** Mutual authentication failed: retrying the same master cannot help; exit non-zero. */
  private refuseMaster(why: string): void {
    this.refused = `refusing the master at ${this.cfg.master}: ${why}`;
    this.log.error({ code: 'E_AUTH' }, this.refused);
    this.ws?.close(1008, 'E_AUTH: the master could not prove the token');
  }

  private fail(err: ProtocolError): void {
    this.log.warn({ code: err.code, field: err.field, err: err.message }, 'bad frame from the master');
    // Retrying cannot fix a master that speaks another protocol version.
    if (err.code === 'E_VERSION') this.refused = `cannot work with this master: ${err.message}`;
    this.send(errorFrame(err));
    this.ws?.close(err.closeCode === 1008 ? 1002 : err.closeCode, closeReason(err));
  }
}

/** Largest frame a worker with a token reads before the master proved it (a challenge is < 200 B). */
const PRE_AUTH_MAX_PAYLOAD = 16 * 1024;

function setReceiverLimit(ws: WebSocket, bytes: number): void {
  const r = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (r === undefined || typeof r._maxPayload !== 'number')
    throw new Error('ws internals changed: WebSocket._receiver._maxPayload is gone (see worker/service.ts)');
  r._maxPayload = bytes;
}

/**
 * The WebSocket masking key of every frame this worker sends: all zeros. RFC 6455 masks client frames so
 * that script in a browser cannot make a proxy cache attacker-chosen bytes; a worker sends only the
 * msgpack it encoded itself, so the mask protects nothing here, while XOR-ing every update (tens of kB)
 * on the worker and again on the master cost as much CPU as the step. With a zero key `ws` skips the
 * work on both sides (and the copy it makes to mask). Frames stay valid WebSocket client frames: the
 * mask bit is set, the key is simply 0; the master still decodes and validates every frame in full.
 */
function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
