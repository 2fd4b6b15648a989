import WebSocket, { WebSocketServer } from 'ws';
import {
  decodeFromMaster,
  makeNonce,
  proveSession,
  PROTOCOL_VERSION,
  encode,
  FrameMac,
  type Challenge,
  type SessionParams,
} from '@soda/protocol';

/**
 * A transparent WebSocket relay between one worker and the master that keeps a copy of every frame
 * the worker sends. `throttleMs` delays each worker→master frame (order kept): a slow link, so a run
 * stays in progress while a test does something to the master.
 */
export class RecordingProxy {
  readonly frames: Buffer[] = [];
  connections = 0;
  throttleMs = 0;
  private constructor(private readonly wss: WebSocketServer) {}

  static async start(masterPort: number): Promise<RecordingProxy> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((res) => wss.once('listening', res));
    const proxy = new RecordingProxy(wss);
    wss.on('connection', (client) => proxy.relay(client, masterPort));
    return proxy;
  }

  get port(): number {
    return (this.wss.address() as { port: number }).port;
  }

  close(): void {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
  }

  private relay(client: WebSocket, masterPort: number): void {
    this.connections++;
    const upstream = new WebSocket(`ws://127.0.0.1:${masterPort}`);
    let chain: Promise<void> = new Promise((res) => upstream.once('open', () => res()));
    client.on('message', (data, isBinary) => {
      const copy = Buffer.from(data as Buffer);
      this.frames.push(copy);
      chain = chain.then(async () => {
        if (this.throttleMs > 0) await new Promise((res) => setTimeout(res, this.throttleMs));
        if (upstream.readyState === WebSocket.OPEN) upstream.send(copy, { binary: isBinary });
      });
    });
    upstream.on('message', (data, isBinary) => {
      if (client.readyState === WebSocket.OPEN) client.send(data as Buffer, { binary: isBinary });
    });
    const closeCode = (code: number) => (code === 1005 || code === 1006 ? 1000 : code);
    upstream.on('close', (code, reason) => client.close(closeCode(code), reason));
    client.on('close', (code, reason) => upstream.close(closeCode(code), reason));
    upstream.on('error', () => client.terminate());
    client.on('error', () => upstream.terminate());
  }
}

export interface AttackOutcome {
  /** the close code the master ended the connection with (null: it stayed open until we left) */
  readonly closeCode: number | null;
  /** the `error` frame the master sent before closing, if any */
  readonly error: { code: string; message: string } | null;
  /** the master answered the hello with `standby` / `assign` */
  readonly standby: boolean;
  readonly assigned: boolean;
}

export interface AttackPlan {
  /** send a valid hello (proving `token`) before the attack frames */
  readonly hello?: { token?: string; workerId: string; version?: number };
  readonly frames: readonly (Buffer | string)[];
  /** how long to wait for the master's verdict */
  readonly waitMs?: number;
}

/** One attacker connection: challenge, optional hello, the frames, then the master's verdict. */
export function attack(port: number, plan: AttackPlan): Promise<AttackOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    let error: AttackOutcome['error'] = null;
    let standby = false;
    let assigned = false;
    let timer: NodeJS.Timeout | null = null;
    const finish = (closeCode: number | null) => {
      if (timer) clearTimeout(timer);
      resolve({ closeCode, error, standby, assigned });
    };
    ws.on('error', () => undefined);
    ws.on('close', (code) => finish(code));
    ws.on('unexpected-response', (_req, res) =>
      reject(new Error(`not a WebSocket endpoint: HTTP ${res.statusCode}`)),
    );
    // An authenticated attacker holds the session key: its frames pass the MAC and meet the decoder.
    let mac: FrameMac | null = null;
    let session: SessionParams | null = null;
    const sendAll = () => {
      for (const f of plan.frames)
        ws.send(mac && typeof f !== 'string' ? mac.seal(f) : f, { binary: typeof f !== 'string' });
      timer = setTimeout(() => {
        ws.removeAllListeners('close');
        ws.terminate();
        finish(null);
      }, plan.waitMs ?? 300);
    };
    ws.on('message', (data) => {
      const d = decodeFromMaster(data as Buffer, mac ? { mac } : {});
      if (!d.ok) return;
      const msg = d.msg;
      if (msg.t === 'challenge') {
        if (!plan.hello) return sendAll();
        const hello = helloFrame(msg, plan.hello);
        session = hello.session;
        ws.send(hello.frame);
      } else if (msg.t === 'welcome') {
        if (session?.mac && plan.hello?.token !== undefined)
          mac = FrameMac.forWorker(plan.hello.token, session);
      } else if (msg.t === 'standby' || msg.t === 'assign') {
        standby ||= msg.t === 'standby';
        assigned ||= msg.t === 'assign';
        sendAll();
      } else if (msg.t === 'error') error = { code: msg.code, message: msg.message };
    });
  });
}

/** A hello answering `ch` (proving `h.token` when given), and the session it opens. */
export function helloFrame(
  ch: Challenge,
  h: NonNullable<AttackPlan['hello']>,
): { frame: Buffer; session: SessionParams } {
  const nonce = makeNonce();
  const session = { masterNonce: ch.nonce, workerNonce: nonce, runId: ch.runId ?? '', mac: ch.mac ?? false };
  const frame = encode({
    t: 'hello',
    version: h.version ?? PROTOCOL_VERSION,
    workerId: h.workerId,
    ...(h.token !== undefined ? { nonce, proof: proveSession(h.token, 'worker->master', session) } : {}),
  });
  return { frame, session };
}

/** Run `tasks` with at most `limit` in flight. */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return out;
}
