import { performance } from 'node:perf_hooks';
import type { WebSocket, RawData } from 'ws';
import type { Logger } from 'pino';
import {
  closeReason,
  decodeFromWorker,
  IndexScratch,
  encodeFor,
  errorFrame,
  FrameMac,
  FramePool,
  makeNonce,
  PROTOCOL_VERSION,
  proveSession,
  ProtocolError,
  verifySession,
  type SessionParams,
  type FromMaster,
  type Hello,
} from '@soda/protocol';
import type { ShardMessage } from './events';
import type { WireCounters } from './stats';
import type { AdmissionLimits, Refusals } from './admission';

/**
 * A peer whose unsent output exceeds this is not keeping up (stalled, or reading slower than we
 * write): it is dropped rather than buffered without bound. Checked before each send, so one large
 * frame (an assign carrying a shard) always goes out whole.
 */
export const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * `ws` has no public per-connection frame limit, only the server-wide `maxPayload`. The Receiver
 * checks `_maxPayload` on every frame header, including each fragment of a fin = false stream
 * (receiver.js, `_totalPayloadLength > _maxPayload`), so lowering it on a fresh connection caps what
 * a stranger can make us buffer, and raising it once hello is accepted restores the run's limit.
 * This reaches into a private field on purpose: the alternative (a small server-wide maxPayload and
 * raising it per connection) touches the same field. `attach` refuses to run if the field is gone,
 * so a `ws` upgrade that renames it fails loudly in the tests instead of silently dropping the cap.
 */
interface ReceiverLimit {
  _receiver?: { _maxPayload?: number };
}

function receiverOf(ws: WebSocket): { _maxPayload: number } {
  const r = (ws as unknown as ReceiverLimit)._receiver;
  if (r === undefined || typeof r._maxPayload !== 'number')
    throw new Error('ws internals changed: WebSocket._receiver._maxPayload is gone (see connections.ts)');
  return r as { _maxPayload: number };
}

/** One WebSocket peer of the master. */
export interface Conn {
  readonly id: number;
  readonly ws: WebSocket;
  /** the challenge's nonce (the master's half of the session's nonces) */
  readonly nonce: Uint8Array;
  /** with a token over plain ws://: every frame after the handshake carries a MAC */
  readonly macRequired: boolean;
  /** the session's frame MAC, from the welcome on (null: no token, or TLS) */
  mac: FrameMac | null;
  /** set once the hello is accepted */
  workerId: string | null;
  /** hello.shard: the one shard this worker can take (it holds that file only) */
  shard?: number;
  /** answered the last ping */
  alive: boolean;
  /** pings missed in a row */
  missed: number;
  /** a frame was rejected: the connection is closing and nothing more it sends is read */
  condemned: boolean;
  /** who it is on the network, for refusal logs */
  readonly source: string;
  /** the run's frame limit, restored when the hello is accepted */
  readonly fullMaxPayload: number;
  helloTimer: NodeJS.Timeout | null;
}

export interface ConnectionHandlers {
  /** a frame that passed validation (type, fields, ranges, n) and, for the first one, the hello checks */
  onMessage(conn: Conn, msg: ShardMessage): void;
  onHello(conn: Conn): void;
  onClose(conn: Conn, code: number): void;
  /** the run is over: the reason to give a newcomer, or null while it goes on */
  finishedReason(): string | null;
}

export interface ConnectionOptions {
  readonly token?: string;
  /** the run's n, once known (undefined: frames' vectors are checked against their own n only) */
  readonly n: () => number | undefined;
  readonly log: Logger;
  /** the traffic counters this layer keeps (the run reads them) */
  readonly wire: WireCounters;
  /** the run id the session proofs are bound to (default '') */
  readonly runId?: string;
  /** what a peer may cost before its hello is accepted (the config's, complete) */
  readonly admission: AdmissionLimits;
  /** this master's refusal counter and rate-limited log */
  readonly refusals: Refusals;
  /**
   * Whether connection `id` is expected to be busy (its worker is loading a shard: reading, scaling,
   * computing L_i, all on its event loop): it may then miss BUSY_MISSED_PINGS pings before it is dropped.
   */
  readonly busy?: (id: number) => boolean;
  /** the run's wire precision: 32 accepts float32 update frames; 64 (the default) refuses them */
  readonly wirePrecision?: 32 | 64;
}

/** Pings a worker loading its shard may miss in a row (a dead one still closes its socket at once). */
export const BUSY_MISSED_PINGS = 30;

/**
 * Who may talk to the master, and the first line of defence: every incoming frame is decoded and
 * validated by @soda/protocol before a handler sees it; a hello must speak our protocol version and
 * prove the shared token. Any failure answers with an `error` frame naming the field and problem,
 * closes with the error's close code, logs a warning and counts a rejected frame — and the frame
 * never reaches the master's state. Frames that arrive after a rejection are dropped unread.
 */
export class Connections {
  private readonly conns = new Map<number, Conn>();
  /** where every update's Δ indices are decoded (valid until the next frame) */
  private readonly indices = new IndexScratch();
  /** the blocks model and eval frames are written in (each given back when its socket has sent it) */
  private readonly frames = new FramePool();
  /** connections without an accepted hello, oldest first */
  private readonly strangers = new Set<Conn>();
  private readonly limits: AdmissionLimits;
  private nextId = 1;
  /** when heartbeat() last ran (monotonic ms), to tell a late master from a silent worker */
  private lastBeat: number | null = null;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.limits = opts.admission;
  }

  /** Authenticated workers (hello accepted): what soda_workers_connected reports. */
  get size(): number {
    // counted, not derived from `strangers`: an evicted stranger stays in `conns` until its close
    let n = 0;
    for (const c of this.conns.values()) if (c.workerId !== null) n++;
    return n;
  }

  /** Every open WebSocket, strangers included. */
  get open(): number {
    return this.conns.size;
  }

  get(id: number): Conn | undefined {
    return this.conns.get(id);
  }

  values(): IterableIterator<Conn> {
    return this.conns.values();
  }

  attach(ws: WebSocket): void {
    const receiver = receiverOf(ws);
    const socket = (ws as unknown as { _socket?: { remoteAddress?: string; encrypted?: boolean } })._socket;
    const conn: Conn = {
      id: this.nextId++,
      ws,
      nonce: makeNonce(),
      // over TLS the record layer already refuses rewritten, replayed and reordered bytes
      macRequired: this.opts.token !== undefined && socket?.encrypted !== true,
      mac: null,
      workerId: null,
      alive: true,
      missed: 0,
      condemned: false,
      source: socket?.remoteAddress ?? 'unknown',
      fullMaxPayload: receiver._maxPayload,
      helloTimer: null,
    };
    receiver._maxPayload = this.limits.preAuthMaxPayload;
    // The seats for strangers are full: the oldest one has had the longest to say hello; it goes.
    if (this.strangers.size >= this.limits.maxUnauthenticated) {
      const oldest = this.strangers.values().next().value as Conn;
      this.strangers.delete(oldest);
      this.opts.refusals.note('unauthenticated-evicted', oldest.source);
      oldest.ws.close(1013, 'too many connections without hello; try again later');
      oldest.ws.terminate();
    }
    this.strangers.add(conn);
    conn.helloTimer = setTimeout(() => {
      conn.helloTimer = null;
      if (conn.workerId !== null) return;
      this.opts.refusals.note('hello-timeout', conn.source);
      this.strangers.delete(conn);
      ws.close(1008, `no hello within ${this.limits.helloTimeoutMs} ms`);
      // a peer that does not answer the close frame either is cut after a second, not ws's 30 s
      setTimeout(() => ws.terminate(), 1000).unref();
    }, this.limits.helloTimeoutMs);
    this.conns.set(conn.id, conn);
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on('pong', () => (conn.alive = true));
    ws.on('close', (code) => {
      if (conn.helloTimer !== null) clearTimeout(conn.helloTimer);
      this.strangers.delete(conn);
      this.conns.delete(conn.id);
      this.handlers.onClose(conn, code);
    });
    ws.on('error', (err: Error & { code?: string }) => this.onSocketError(conn, err));
    const finished = this.handlers.finishedReason();
    if (finished !== null) {
      this.send(conn, { t: 'stop', reason: finished });
      ws.close(1000, 'run finished');
      return;
    }
    this.send(conn, {
      t: 'challenge',
      version: PROTOCOL_VERSION,
      nonce: conn.nonce,
      authRequired: this.opts.token !== undefined,
      runId: this.opts.runId ?? '',
      mac: conn.macRequired,
    });
  }

  send(conn: Conn, msg: FromMaster): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    if (conn.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.opts.log.warn(
        { conn: conn.id, worker: conn.workerId, buffered: conn.ws.bufferedAmount },
        'peer is not reading what we send; dropping it',
      );
      this.opts.refusals.note('slow-consumer', conn.source);
      conn.ws.terminate();
      return;
    }
    const buf = encodeFor(msg, conn.mac, this.frames);
    this.opts.wire.bytesDown += buf.length;
    if (msg.t === 'model') this.opts.wire.modelBytesDown += buf.length;
    conn.ws.send(buf, () => this.frames.give(buf));
  }

  /** Refuse a frame: error frame, warning, counter, close with the error's code. */
  reject(conn: Conn, err: ProtocolError): void {
    this.opts.wire.rejectedFrames++;
    conn.condemned = true;
    this.opts.log.warn(
      { conn: conn.id, worker: conn.workerId, code: err.code, field: err.field, err: err.message },
      'frame rejected',
    );
    try {
      this.send(conn, errorFrame(err));
    } finally {
      conn.ws.close(err.closeCode, closeReason(err));
    }
  }

  /**
   * Ping everyone; drop whoever did not answer the previous ping (its shard is then freed). Any frame
   * counts as an answer. When this beat comes late (`periodMs` · 1.5 after the last: the master itself
   * was busy), nobody is dropped: the answers may sit unread in the sockets, since Node runs an
   * overdue timer before it reads them. A busy master is not a dead worker.
   */
  heartbeat(periodMs = 0, now = performance.now()): void {
    const late = this.lastBeat !== null && periodMs > 0 && now - this.lastBeat > 1.5 * periodMs;
    this.lastBeat = now;
    for (const conn of this.conns.values()) {
      if (conn.alive) conn.missed = 0;
      else if (!late && ++conn.missed >= (this.opts.busy?.(conn.id) ? BUSY_MISSED_PINGS : 1)) {
        this.opts.log.warn(
          { conn: conn.id, worker: conn.workerId, missed: conn.missed },
          'worker did not answer a ping; dropping it',
        );
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  /** Tell every peer the run is over and close. */
  stopAll(reason: string): void {
    for (const conn of this.conns.values()) {
      this.send(conn, { t: 'stop', reason });
      conn.ws.close(1000, 'run finished');
    }
  }

  terminateAll(): void {
    for (const conn of this.conns.values()) conn.ws.terminate();
  }

  private onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    conn.alive = true; // a frame is as good as a pong
    if (conn.condemned) {
      this.opts.wire.rejectedFrames++;
      return;
    }
    if (!isBinary)
      return this.reject(
        conn,
        new ProtocolError('E_UNSUPPORTED', 'text frames are not accepted; send binary msgpack'),
      );
    const n = this.opts.n();
    const decoded = decodeFromWorker(data as Buffer | ArrayBuffer | Buffer[], {
      // the coordinator applies each Δ before the next frame is decoded; a sync round keeps a copy
      indexScratch: this.indices,
      ...(n !== undefined ? { n } : {}),
      ...(conn.mac ? { mac: conn.mac } : {}),
      ...(this.opts.wirePrecision === 32 ? { wirePrecision: 32 } : {}),
    });
    if (!decoded.ok) return this.reject(conn, decoded.error);
    const bytes = frameLength(data);
    this.opts.wire.bytesUp += bytes;
    if (decoded.msg.t === 'evalResult')
      this.opts.wire.evalBytesUp += bytes; // the evaluation's share
    else if (decoded.msg.t === 'update') this.opts.wire.updateBytesUp += bytes;
    try {
      const msg = decoded.msg;
      if (msg.t === 'hello') {
        const session = this.checkHello(conn, msg);
        if (this.size >= this.limits.maxAuthenticated) {
          // enough workers and spares already: a bounded set of standbys, not every comer
          this.opts.refusals.note('too-many-workers', conn.source);
          conn.ws.close(1013, `${this.size} workers connected; try again later`);
          return;
        }
        conn.workerId = msg.workerId;
        if (msg.shard !== undefined) conn.shard = msg.shard;
        if (session !== null && this.opts.token !== undefined) {
          // the master's half of the mutual proof, then every later frame both ways is MACed
          this.send(conn, { t: 'welcome', proof: proveSession(this.opts.token, 'master->worker', session) });
          if (conn.macRequired) conn.mac = FrameMac.forMaster(this.opts.token, session);
        }
        this.strangers.delete(conn);
        if (conn.helloTimer !== null) clearTimeout(conn.helloTimer);
        conn.helloTimer = null;
        receiverOf(conn.ws)._maxPayload = conn.fullMaxPayload;
        this.handlers.onHello(conn);
      } else if (msg.t === 'error') {
        this.opts.log.warn(
          { conn: conn.id, worker: conn.workerId, code: msg.code, message: msg.message },
          'worker reported an error',
        );
        conn.ws.close(1000, 'error received');
      } else {
        if (conn.workerId === null) throw new ProtocolError('E_STATE', `'${msg.t}' before 'hello'`, 't');
        this.handlers.onMessage(conn, msg);
      }
    } catch (e) {
      if (e instanceof ProtocolError) return this.reject(conn, e);
      throw e;
    }
  }

  /** The session a valid hello opens (null without a token). */
  private checkHello(conn: Conn, hello: Hello): SessionParams | null {
    if (conn.workerId !== null) throw new ProtocolError('E_STATE', 'second hello on one connection', 't');
    // (the decoder already refused any other protocol version, naming both)
    const token = this.opts.token;
    if (token === undefined) return null;
    if (hello.proof === undefined)
      throw new ProtocolError(
        'E_AUTH',
        'this master requires a token (SODA_TOKEN or --token); hello carried no proof',
        'proof',
      );
    if (hello.nonce === undefined)
      throw new ProtocolError(
        'E_AUTH',
        "hello carried no nonce: this master needs mutual authentication (the worker's own nonce)",
        'nonce',
      );
    const session: SessionParams = {
      masterNonce: conn.nonce,
      workerNonce: hello.nonce,
      runId: this.opts.runId ?? '',
      mac: conn.macRequired,
    };
    if (!verifySession(token, 'worker->master', session, hello.proof))
      throw new ProtocolError('E_AUTH', 'wrong token: the proof does not match', 'proof');
    return session;
  }

  /** Faults `ws` catches itself (oversize frame, bad opcode, …): it closes with the right code. */
  private onSocketError(conn: Conn, err: Error & { code?: string }): void {
    if (err.code?.startsWith('WS_ERR_')) {
      this.opts.wire.rejectedFrames++;
      if (conn.workerId === null && err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.opts.refusals.note('pre-auth-too-big', conn.source);
        // ws has queued close 1009 but would keep reading (and discarding) the stranger's stream until
        // the close handshake ends: cut the socket now, so a flood costs neither memory nor CPU
        conn.ws.terminate();
      }
      conn.condemned = true;
      this.opts.log.warn(
        { conn: conn.id, worker: conn.workerId, code: err.code, err: err.message },
        'frame rejected',
      );
      return;
    }
    this.opts.log.warn({ conn: conn.id, err: err.message }, 'connection error');
  }
}

function frameLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((s, b) => s + b.length, 0);
  return (data as Buffer | ArrayBuffer).byteLength;
}
