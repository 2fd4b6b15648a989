import type { WebSocket, RawData } from 'ws';
import type { Logger } from 'pino';
import {
  closeReason,
  decodeFromWorker,
  encode,
  errorFrame,
  makeNonce,
  PROTOCOL_VERSION,
  ProtocolError,
  verifyProof,
  type FromMaster,
  type FromWorker,
  type Hello,
} from '@soda/protocol';
import type { RunStats } from './stats';

/** One WebSocket peer of the master. */
export interface Conn {
  readonly id: number;
  readonly ws: WebSocket;
  /** the challenge's nonce: the worker proves the token with HMAC(token, nonce) */
  readonly nonce: Uint8Array;
  /** set once the hello is accepted */
  workerId: string | null;
  /** answered the last ping */
  alive: boolean;
  /** a frame was rejected: the connection is closing and nothing more it sends is read */
  condemned: boolean;
}

export interface ConnectionHandlers {
  /** a frame that passed validation (type, fields, ranges, n) and, for the first one, the hello checks */
  onMessage(conn: Conn, msg: Exclude<FromWorker, Hello>): void;
  onHello(conn: Conn): void;
  onClose(conn: Conn, code: number): void;
  /** the run is over: the reason to give a newcomer, or null while it goes on */
  finishedReason(): string | null;
}

export interface ConnectionOptions {
  readonly token?: string;
  readonly n: number;
  readonly log: Logger;
  readonly stats: RunStats;
}

/**
 * Who may talk to the master, and the first line of defence: every incoming frame is decoded and
 * validated by @soda/protocol before a handler sees it; a hello must speak our protocol version and
 * prove the shared token. Any failure answers with an `error` frame naming the field and problem,
 * closes with the error's close code, logs a warning and counts a rejected frame — and the frame
 * never reaches the master's state. Frames that arrive after a rejection are dropped unread.
 */
export class Connections {
  private readonly conns = new Map<number, Conn>();
  private nextId = 1;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {}

  get size(): number {
    return this.conns.size;
  }

  get(id: number): Conn | undefined {
    return this.conns.get(id);
  }

  values(): IterableIterator<Conn> {
    return this.conns.values();
  }

  attach(ws: WebSocket): void {
    const conn: Conn = {
      id: this.nextId++,
      ws,
      nonce: makeNonce(),
      workerId: null,
      alive: true,
      condemned: false,
    };
    this.conns.set(conn.id, conn);
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on('pong', () => (conn.alive = true));
    ws.on('close', (code) => {
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
    });
  }

  send(conn: Conn, msg: FromMaster): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    const buf = encode(msg);
    this.opts.stats.bytesDown += buf.length;
    conn.ws.send(buf);
  }

  /** Refuse a frame: error frame, warning, counter, close with the error's code. */
  reject(conn: Conn, err: ProtocolError): void {
    this.opts.stats.rejectedFrames++;
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

  /** Ping everyone; drop whoever did not answer the previous ping (its shard is then freed). */
  heartbeat(): void {
    for (const conn of this.conns.values()) {
      if (!conn.alive) {
        this.opts.log.warn(
          { conn: conn.id, worker: conn.workerId },
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
    if (conn.condemned) {
      this.opts.stats.rejectedFrames++;
      return;
    }
    if (!isBinary)
      return this.reject(
        conn,
        new ProtocolError('E_UNSUPPORTED', 'text frames are not accepted; send binary msgpack'),
      );
    const decoded = decodeFromWorker(data as Buffer | ArrayBuffer | Buffer[], { n: this.opts.n });
    if (!decoded.ok) return this.reject(conn, decoded.error);
    this.opts.stats.bytesUp += frameLength(data);
    try {
      const msg = decoded.msg;
      if (msg.t === 'hello') {
        this.checkHello(conn, msg);
        conn.workerId = msg.workerId;
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

  private checkHello(conn: Conn, hello: Hello): void {
    if (conn.workerId !== null) throw new ProtocolError('E_STATE', 'second hello on one connection', 't');
    // (the decoder already refused any other protocol version, naming both)
    const token = this.opts.token;
    if (token === undefined) return;
    if (hello.proof === undefined)
      throw new ProtocolError(
        'E_AUTH',
        'this master requires a token (SODA_TOKEN or --token); hello carried no proof',
        'proof',
      );
    if (!verifyProof(token, conn.nonce, hello.proof))
      throw new ProtocolError('E_AUTH', 'wrong token: the proof does not match', 'proof');
  }

  /** Faults `ws` catches itself (oversize frame, bad opcode, …): it closes with the right code. */
  private onSocketError(conn: Conn, err: Error & { code?: string }): void {
    if (err.code?.startsWith('WS_ERR_')) {
      this.opts.stats.rejectedFrames++;
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
