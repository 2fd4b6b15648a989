import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket, { type RawData } from 'ws';
import { csrToCsc, logisticSmoothness, SodaError, type CsrMatrix } from '@soda/core';
import {
  closeReason,
  decodeFromMaster,
  DEFAULT_MAX_PAYLOAD_WORKER,
  encode,
  errorFrame,
  PROTOCOL_VERSION,
  proveToken,
  ProtocolError,
  type Assign,
  type FromMaster,
  type FromWorker,
} from '@soda/protocol';
import type { WorkerConfig } from './config';
import { LocalStep, type LocalShard } from './local-step';

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
  private held: { shard: number; runId: string; data: LocalShard; L: number } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private steps = 0;
  private stopped = false;
  /** why this worker will not reconnect (set on a fault retrying cannot fix) */
  private refused: string | null = null;
  private retryMs: number;
  private firstFailureAt = 0;
  private lastConnectError: string | null = null;
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
    ws.on('open', () => {
      opened = true;
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

  private onClose(opened: boolean, code: number, reason: string): void {
    this.ws = null;
    this.local = null;
    this.assign = null;
    this.held = null;
    if (this.stopped) return;
    if (FATAL_CLOSE_CODES.has(code) || this.refused !== null) {
      this.stopped = true;
      const why = this.refused ?? `the master refused this worker: ${reason || code}`;
      this.log.error({ code, reason }, why);
      this.rejectDone(new SodaError('E_REFUSED', why));
      return;
    }
    const now = Date.now();
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
    if (!isBinary) return this.fail(new ProtocolError('E_UNSUPPORTED', 'text frame from the master'));
    const decoded = decodeFromMaster(
      data as Buffer | ArrayBuffer | Buffer[],
      this.local ? { n: this.local.n } : {},
    );
    if (!decoded.ok) return this.fail(decoded.error);
    void this.dispatch(decoded.msg).catch((e: unknown) => {
      if (e instanceof ProtocolError) return this.fail(e);
      this.log.error({ err: (e as Error).stack }, 'worker failure');
      this.fail(new ProtocolError('E_INTERNAL', (e as Error).message));
    });
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
        if (msg.authRequired && this.cfg.token === undefined)
          this.log.warn('the master requires a token; set SODA_TOKEN (or --token)');
        const proof = this.cfg.token !== undefined ? proveToken(this.cfg.token, msg.nonce) : undefined;
        return this.send({
          t: 'hello',
          version: PROTOCOL_VERSION,
          workerId: this.cfg.workerId,
          ...(proof ? { proof } : {}),
        });
      }
      case 'standby':
        this.log.info({ reason: msg.reason }, 'standby');
        return;
      case 'assign':
        return this.onAssign(msg);
      case 'model':
        return this.onModel(msg.k, msg.gamma, msg.p, msg.w);
      case 'eval': {
        if (this.local === null || this.assign === null)
          throw new ProtocolError('E_STATE', 'eval before assign', 't');
        const { fi, correct } = this.local.evaluate(msg.w);
        return this.send({ t: 'evalResult', id: msg.id, shard: this.assign.shard, fi, correct });
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
   * Take a shard: its rows, Algorithm 1's parameters and its w_i. An assign without rows is a restart
   * of the shard this worker holds (after a divergence): same rows, new w_i and parameters.
   */
  private onAssign(msg: Assign): void {
    const t0 = performance.now();
    let held = this.held;
    if (msg.rows === null) {
      if (held === null || held.shard !== msg.shard || held.runId !== msg.runId || held.data.X.cols !== msg.n)
        throw new ProtocolError(
          'E_FIELD',
          `assign without rows for shard ${msg.shard}, which this worker does not hold`,
          'rows',
        );
    } else {
      const { m, ptr, ind, val, y } = msg.rows;
      const X: CsrMatrix = { rows: m, cols: msg.n, ptr, ind, val };
      const L = logisticSmoothness(X, msg.lambda2);
      held = { shard: msg.shard, runId: msg.runId, data: { X: csrToCsc(X), y }, L };
    }
    this.held = held;
    this.local = new LocalStep(held.data, msg.lambda2, msg.wi, msg.seed);
    this.assign = msg;
    const { L, data } = held;
    const m = data.X.rows;
    const ms = Math.round(performance.now() - t0);
    const what = { shard: msg.shard, m, n: msg.n, nnz: data.X.ind.length, L, p: msg.p, ms };
    this.log.info(what, msg.rows === null ? 'shard restarted' : 'shard loaded');
    this.send({ t: 'ready', shard: msg.shard, m, L });
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
    if (ws !== null && this.ws === ws && this.assign === assign && ws.readyState === WebSocket.OPEN)
      ws.send(frame);
  }

  private send(msg: FromWorker): void {
    if (this.ws !== null && this.ws.readyState === WebSocket.OPEN) this.ws.send(encode(msg));
  }

  private fail(err: ProtocolError): void {
    this.log.warn({ code: err.code, field: err.field, err: err.message }, 'bad frame from the master');
    // Retrying cannot fix a master that speaks another protocol version.
    if (err.code === 'E_VERSION') this.refused = `cannot work with this master: ${err.message}`;
    this.send(errorFrame(err));
    this.ws?.close(err.closeCode === 1008 ? 1002 : err.closeCode, closeReason(err));
  }
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
