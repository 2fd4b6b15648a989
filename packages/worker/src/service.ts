import { performance } from 'node:perf_hooks';
import WebSocket, { type RawData } from 'ws';
import { assertNever, SodaError } from '@soda/core';
import {
  closeReason,
  decodeFromMaster,
  IndexScratch,
  DEFAULT_MAX_PAYLOAD_WORKER,
  encodeFor,
  encodeToSeal,
  errorFrame,
  FramePool,
  ProtocolError,
  type Assign,
  type Eval,
  type FromMaster,
  type FromWorker,
  type Model,
  type Scale,
} from '@soda/protocol';
import type { WorkerConfig } from './config';
import { answerChallenge, checkWelcome, PRE_AUTH_MAX_PAYLOAD, setReceiverLimit } from './handshake';
import { HeldModel } from './held-model';
import { fromOwn, fromRows, holds, readShardFile, rowsRefusal, UnusableShard, type Held } from './loading';
import { LocalStep } from './local-step';
import { Backoff, isFatalClose, Liveness, openSocket, sleep } from './link';
import { shardStats } from './own-data';
import type { Link, Phase, Work } from './phase';

export interface WorkerResult {
  readonly reason: string;
  readonly steps: number;
}

/**
 * The worker: connect (retrying with backoff), take a shard, answer every `model` with one step of
 * Algorithm 1 and every `eval` with f_i(w). A state machine (phase.ts) around LocalStep; every frame is
 * decoded and validated by @soda/protocol first.
 */
export class Worker {
  readonly done: Promise<WorkerResult>;
  private resolveDone!: (r: WorkerResult) => void;
  private rejectDone!: (e: Error) => void;
  private state: Phase = { kind: 'connecting' };
  private steps = 0;
  /** where a model frame's w indices are decoded (IndexScratch: valid until the next frame) */
  private readonly indices = new IndexScratch();
  /** the blocks update frames are written in (each given back when the socket has sent it) */
  private readonly frames = new FramePool();
  private readonly backoff: Backoff;
  private readonly liveness: Liveness;
  private readonly log;

  constructor(private readonly cfg: WorkerConfig) {
    this.log = cfg.logger;
    this.backoff = new Backoff(cfg);
    this.liveness = new Liveness(cfg);
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

  /** The current phase (logs, tests). */
  get phase(): Phase['kind'] {
    return this.state.kind;
  }

  /** Leave cleanly (SIGTERM): the master sees a departure and frees the shard. */
  leave(reason = 'leaving'): void {
    this.finish(reason, 'leaving');
  }

  private link(): Link | null {
    const s = this.state;
    return s.kind === 'connecting' || s.kind === 'closing' ? null : s.link;
  }

  private connect(): void {
    if (this.state.kind === 'closing') return;
    this.state = { kind: 'connecting' };
    const ws = openSocket(this.cfg);
    let opened = false;
    ws.on('ping', () => this.liveness.heard());
    ws.on('open', () => {
      opened = true;
      if (this.state.kind === 'closing') return void ws.close(1000, 'leaving');
      this.liveness.watch(ws);
      // With a token, a master is a stranger until its welcome proves it: it gets the frame size of a
      // challenge, not the 1 GiB an assign may need; raised at the welcome.
      if (this.cfg.token !== undefined) setReceiverLimit(ws, PRE_AUTH_MAX_PAYLOAD);
      this.backoff.reset();
      this.state = { kind: 'handshake', link: { ws, mac: null }, session: null };
      this.log.info({ master: this.cfg.master }, 'connected');
    });
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('error', (err) => {
      if (opened) return this.log.warn({ err: err.message }, 'connection error');
      this.backoff.lastError = err.message;
      this.log.debug({ err: err.message }, 'connect failed');
    });
    ws.on('close', (code, reason) => this.onClose(opened, code, reason.toString()));
  }

  private onClose(opened: boolean, code: number, reason: string): void {
    this.liveness.stop();
    const s = this.state;
    if (s.kind === 'closing') {
      if (s.refusal !== null) this.settle(s.error ?? new SodaError('E_REFUSED', s.refusal), { code, reason });
      return;
    }
    const refused = new SodaError('E_REFUSED', `the master refused this worker: ${reason || code}`);
    if (isFatalClose(code)) return this.settle(refused, { code, reason });
    this.state = { kind: 'connecting' };
    const giveUp = this.backoff.next(() => this.connect());
    if (giveUp !== null) return this.settle(giveUp);
    if (opened) this.log.warn({ code, reason }, 'disconnected; reconnecting');
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.liveness.heard();
    const s = this.state;
    if (s.kind === 'connecting' || s.kind === 'closing') return;
    const link = s.link;
    if (!isBinary) return this.fail(link, new ProtocolError('E_UNSUPPORTED', 'text frame from the master'));
    const local = 'work' in s ? s.work.local : null;
    const bits = 'work' in s ? s.work.assign.wirePrecision : undefined;
    const decoded = decodeFromMaster(data as Buffer | ArrayBuffer | Buffer[], {
      // a model's w is stepped from (or copied into ŵ) before the next frame is decoded: no retention
      indexScratch: this.indices,
      ...(local ? { n: local.n } : {}),
      ...(bits !== undefined ? { wirePrecision: bits } : {}),
      ...(link.mac ? { mac: link.mac } : {}),
    });
    if (!decoded.ok) return this.fail(link, decoded.error);
    const msg = decoded.msg;
    // With a token, nothing but the welcome (or an error) is obeyed before the master proved it.
    if (s.kind === 'handshake' && s.session !== null && msg.t !== 'welcome' && msg.t !== 'error')
      return this.refuseMaster(link, `'${msg.t}' before the master proved the token (no welcome)`);
    void this.dispatch(msg).catch((e: unknown) => {
      if (e instanceof ProtocolError) return this.fail(link, e);
      // a file this worker cannot use is not the master's fault: say why, and leave for good
      if (e instanceof UnusableShard) return this.leaveOwnFault(link, e.fault);
      this.log.error({ err: (e as Error).stack }, 'worker failure');
      this.fail(link, new ProtocolError('E_INTERNAL', (e as Error).message));
    });
  }

  private async dispatch(msg: FromMaster): Promise<void> {
    switch (msg.t) {
      case 'challenge':
        return this.onChallenge(msg);
      case 'welcome':
        return this.onWelcome(msg);
      case 'standby':
        return void this.log.info({ reason: msg.reason }, 'standby');
      case 'assign':
        return this.onAssign(msg);
      case 'scale':
        return this.onScale(msg);
      case 'model':
        return this.onModel(msg);
      case 'eval':
        return this.onEval(msg);
      case 'stop':
        this.log.info({ reason: msg.reason, steps: this.steps }, 'stopped by the master');
        return this.finish(msg.reason, 'stopped');
      case 'error':
        return void this.log.error({ code: msg.code, message: msg.message }, 'the master reported an error');
      default:
        return assertNever(msg, 'message from the master');
    }
  }

  private onChallenge(msg: Extract<FromMaster, { t: 'challenge' }>): void {
    const link = this.link()!;
    const answer = answerChallenge(this.cfg, msg);
    if (answer.kind === 'refuse') return this.refuseMaster(link, answer.why);
    if (answer.session !== null) this.state = { kind: 'handshake', link, session: answer.session };
    this.send(answer.hello);
  }

  private onWelcome(msg: Extract<FromMaster, { t: 'welcome' }>): void {
    const s = this.state;
    if (s.kind !== 'handshake' || s.session === null || this.cfg.token === undefined) return; // no token: nothing to check
    const verdict = checkWelcome(this.cfg.token, s.session, msg);
    if (verdict.kind === 'refuse') return this.refuseMaster(s.link, verdict.why);
    const link: Link = { ws: s.link.ws, mac: verdict.mac };
    this.state = { kind: 'handshake', link, session: null };
    setReceiverLimit(link.ws, this.cfg.maxPayload ?? DEFAULT_MAX_PAYLOAD_WORKER);
    this.log.info({ mac: verdict.mac !== null }, 'master proved the token');
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
    const s = this.state;
    if (s.kind === 'connecting' || s.kind === 'closing') return;
    const held = s.kind === 'loading' ? s.held : 'work' in s ? s.work.held : null;
    if (msg.rows !== null && this.cfg.data !== undefined) {
      // own --data, yet the master sends rows (it lacks --data-at-workers): both sides say so; exit 2
      const why = rowsRefusal(this.cfg.data);
      this.send(errorFrame(new ProtocolError('E_STATE', why, 'rows')), s.link);
      return this.leaveForGood(s.link, why, 'E_STATE: the master needs --data-at-workers');
    }
    if (msg.rows !== null) return this.start(fromRows({ ...msg, rows: msg.rows }), msg, t0, 'shard loaded');
    if (holds(held, msg)) return this.start(held, msg, t0, 'shard restarted');
    const loading: Phase = { kind: 'loading', link: s.link, assign: msg, held, own: null };
    this.state = loading;
    const own = await readShardFile(this.cfg.data, msg.shard, this.cfg.maxFeatures);
    if (this.state !== loading) return; // the connection this assign came on is gone, or a newer assign
    if (msg.n === undefined) {
      this.state = { ...loading, own };
      const st = shardStats(own);
      const ms = Math.round(performance.now() - t0);
      this.log.info(
        { shard: msg.shard, file: own.file, m: st.m, n: st.n, nnz: st.nnz, ms },
        'shard read; stats sent',
      );
      return this.send({ t: 'stats', shard: msg.shard, ...st });
    }
    this.start(fromOwn(own, msg, msg.n, msg.scale, msg.intercept), msg, t0, 'shard loaded');
  }

  /** The stats round's answer: the run's n, divisors and w_i for the shard read at assign. */
  private onScale(msg: Scale): void {
    const t0 = performance.now();
    const s = this.state;
    if (s.kind !== 'loading' || s.own === null || s.assign.shard !== msg.shard)
      throw new ProtocolError(
        'E_STATE',
        `scale for shard ${msg.shard}, which this worker has not reported`,
        'shard',
      );
    const assign = { ...s.assign, wi: msg.wi };
    this.start(fromOwn(s.own, assign, msg.n, msg.scale, msg.intercept), assign, t0, 'shard scaled');
  }

  /** The shard is loaded: a fresh local step from the assign's w_i; tell the master. */
  private start(held: Held, msg: Assign, t0: number, what: string): void {
    const link = this.link();
    if (link === null) return;
    const bits = msg.wirePrecision ?? 64;
    const local = new LocalStep(held.data, msg.lambda2, msg.wi!, msg.seed, bits);
    const model = bits === 32 ? new HeldModel() : null; // a fresh assign: the next model is whole
    this.state = { kind: 'ready', link, work: { assign: msg, held, local, model } };
    const { L, data, hash } = held;
    const m = data.X.rows;
    const n = data.n;
    const nnz = data.X.ind.length;
    const ms = Math.round(performance.now() - t0);
    this.log.info({ shard: msg.shard, m, n, nnz, L, p: msg.p, cols: data.cols.length, ms }, what);
    this.send({ t: 'ready', shard: msg.shard, m, L, n, nnz, ...(hash !== undefined ? { hash } : {}) });
  }

  /** The phase that computes on a shard, or an E_STATE error for a frame that needs one. */
  private working(what: string): Extract<Phase, { work: Work }> {
    const s = this.state;
    if (s.kind === 'ready' || s.kind === 'stepping' || s.kind === 'evaluating') return s;
    throw new ProtocolError('E_STATE', `${what} before assign`, 't');
  }

  private async onModel(msg: Model): Promise<void> {
    const s = this.working('model');
    const { link, work } = s;
    // wire precision 32: every model frame builds ŵ (none may be skipped), and ŵ is the w stepped from
    const w = work.model === null ? msg.w : work.model.receive(msg);
    const inFlight = s.kind === 'stepping' ? s.inFlight : 0;
    this.state = { kind: 'stepping', link, work, inFlight: inFlight + 1 };
    const t0 = performance.now();
    const { delta } = work.local.step(w, msg.gamma, msg.p);
    const computeMs = performance.now() - t0;
    const extra = (this.cfg.slowdown - 1) * computeMs + this.cfg.delayMs + work.assign.delayMs;
    // Encode now: delta is a view into buffers the next step reuses. (32: already rounded to float32.)
    const f32 = work.model !== null ? ({ valBits: 32 } as const) : {};
    const frame = encodeToSeal(
      { t: 'update', shard: work.assign.shard, k: msg.k, delta, ...f32 },
      link.mac,
      this.frames,
    );
    this.steps++;
    if (extra > 0) await sleep(extra);
    // Only on the connection and assignment it was computed for: after a reconnect or a restart's
    // reset this Δ belongs to a state the master no longer has.
    const now = this.state;
    if (now.kind !== 'stepping' || now.work !== work) return this.frames.give(frame);
    this.state = now.inFlight > 1 ? { ...now, inFlight: now.inFlight - 1 } : { kind: 'ready', link, work };
    // Sealed only now: MAC sequence numbers follow the order frames reach the socket.
    if (link.ws.readyState !== WebSocket.OPEN) return this.frames.give(frame);
    link.mac?.sealInPlace(frame);
    link.ws.send(frame, () => this.frames.give(frame));
  }

  private onEval(msg: Eval): void {
    const s = this.working('eval');
    const { local, assign } = s.work;
    this.state = { kind: 'evaluating', link: s.link, work: s.work };
    try {
      const head = { t: 'evalResult', id: msg.id, shard: assign.shard } as const;
      if (msg.gap !== true) return this.send({ ...head, ...local.evaluate(msg.w) });
      const { fi, correct, gap } = local.evaluateWithGap(msg.w);
      this.send({ ...head, fi, correct, entropy: gap.entropySum, u: gap.u });
    } finally {
      if (this.state.kind === 'evaluating') this.state = s;
    }
  }

  private send(msg: FromWorker, link = this.link()): void {
    if (link !== null && link.ws.readyState === WebSocket.OPEN) link.ws.send(encodeFor(msg, link.mac));
  }

  /** The run is over for this worker (stop, SIGTERM): close and resolve. */
  private finish(reason: string, closeWith: string): void {
    if (this.state.kind === 'closing') return;
    const link = this.link();
    this.state = { kind: 'closing', refusal: null };
    this.backoff.cancel();
    this.liveness.stop();
    link?.ws.close(1000, closeWith);
    this.resolveDone({ reason, steps: this.steps });
  }

  private settle(err: SodaError, ctx: object = {}): void {
    this.state = { kind: 'closing', refusal: null };
    this.log.error(ctx, err.message);
    this.rejectDone(err);
  }

  /** Mutual authentication failed: retrying the same master cannot help; exit non-zero. */
  private refuseMaster(link: Link, why: string): void {
    const refusal = `refusing the master at ${this.cfg.master}: ${why}`;
    this.log.error({ code: 'E_AUTH' }, refusal);
    this.leaveForGood(link, refusal, 'E_AUTH: the master could not prove the token');
  }

  /** A fault no retry can fix: close (1008) and exit non-zero with `error` (or E_REFUSED) once closed. */
  private leaveForGood(link: Link, refusal: string, closeWith: string, error?: SodaError): void {
    this.state = { kind: 'closing', refusal, ...(error ? { error } : {}) };
    link.ws.close(1008, closeWith.slice(0, 120));
  }

  /** Its own file is unusable: the master hears the file's coded error, and the worker exits with it. */
  private leaveOwnFault(link: Link, e: SodaError): void {
    this.send({ t: 'error', code: e.code, message: e.message.slice(0, 1000) }, link);
    this.leaveForGood(link, e.message, `${e.code}: the worker's data file cannot be used`, e);
  }

  private fail(link: Link, err: ProtocolError): void {
    this.log.warn({ code: err.code, field: err.field, err: err.message }, 'bad frame from the master');
    // Retrying cannot fix a master that speaks another protocol version.
    if (err.code === 'E_VERSION')
      this.state = { kind: 'closing', refusal: `cannot work with this master: ${err.message}` };
    this.send(errorFrame(err), link);
    link.ws.close(err.closeCode === 1008 ? 1002 : err.closeCode, closeReason(err));
  }
}
