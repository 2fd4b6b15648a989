import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { emptySparse, type SparseVector } from '@soda/core';
import { decodeFromWorker, encode, PROTOCOL_VERSION, type FromMaster, type FromWorker } from '@soda/protocol';
import { LocalStep, prepareOwnShard, readOwnShard, Worker } from '@soda/worker';

/*
 * The worker's phases over a real socket, against a scripted master: connecting → handshake → loading
 * (stats, then a sparse scale) → ready → stepping (a delayed Δ) → ready → evaluating → closing, and
 * the Δ it sends equals an independent LocalStep's on the same file.
 */
describe('Worker phases', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-phases-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'part.svm');
  // 6 rows over columns 2..9 of n = 1000: most of w's support is off the shard's columns
  fs.writeFileSync(file, '1 2:1 5:0.5\n-1 3:2 9:1\n1 2:0.3 7:1\n-1 5:1\n1 3:0.1 9:0.2\n-1 7:0.4\n');
  const n = 1000;
  const w: SparseVector = {
    n,
    idx: Uint32Array.of(2, 5, 400, 999),
    val: Float64Array.of(0.1, -0.2, 0.3, 0.05),
  };

  it('walks every phase and sends the Δ of Algorithm 1', async () => {
    const wss = new WebSocketServer({ port: 0 });
    await new Promise((res) => wss.on('listening', res));
    const port = (wss.address() as { port: number }).port;
    const seen: string[] = [];
    const worker = Worker.start({
      master: `ws://127.0.0.1:${port}`,
      workerId: 'w0',
      slowdown: 1,
      delayMs: 0,
      retryInitialMs: 50,
      retryMaxMs: 100,
      giveUpMs: 5000,
      data: file,
      shard: 0,
      logger: pino({ level: 'silent' }),
    });
    seen.push(worker.phase);
    const frames: FromWorker[] = [];
    let scale: SparseVector | null = null;
    let poll: NodeJS.Timeout | undefined;
    let sentAt = 0;
    let waited = 0;
    await new Promise<void>((resolve, reject) => {
      wss.on('connection', (ws: WebSocket) => {
        const send = (m: FromMaster) => ws.send(encode(m));
        send({ t: 'challenge', version: PROTOCOL_VERSION, nonce: new Uint8Array(32), authRequired: false });
        ws.on('message', (data: Buffer) => {
          const d = decodeFromWorker(data); // stats carry the file's own n (9)
          if (!d.ok) return reject(d.error);
          const msg = d.msg;
          frames.push(msg);
          seen.push(worker.phase);
          if (msg.t === 'hello')
            send({
              t: 'assign',
              runId: 'r',
              shard: 0,
              lambda2: 0.1,
              p: 0.5,
              seed: 4,
              delayMs: 300,
              rows: null,
            });
          else if (msg.t === 'stats') {
            scale = { n, idx: msg.colMax.idx, val: msg.colMax.val.map((v) => 2 * v) };
            send({ t: 'scale', shard: 0, n, scale, wi: emptySparse(n) });
          } else if (msg.t === 'ready') {
            send({ t: 'model', k: 1, gamma: 0.5, p: 0.5, w });
            sentAt = performance.now();
            // the Δ waits out the assign's 300 ms delay: the worker is 'stepping' meanwhile
            poll = setInterval(() => {
              if (worker.phase !== 'stepping') return;
              seen.push('stepping during the delay');
              clearInterval(poll);
            }, 1);
          } else if (msg.t === 'update') {
            clearInterval(poll);
            waited = performance.now() - sentAt;
            send({ t: 'eval', id: 1, w, gap: true });
          } else if (msg.t === 'evalResult') {
            send({ t: 'stop', reason: 'done' });
            resolve();
          }
        });
      });
    });
    await expect(worker.done).resolves.toEqual({ reason: 'done', steps: 1 });
    seen.push(worker.phase);
    wss.close();
    expect(seen).toEqual([
      'connecting',
      'handshake', // hello
      'loading', // stats
      'ready', // ready
      'stepping during the delay',
      'ready', // update
      'ready', // evalResult (evaluating only while it computes)
      'closing',
    ]);
    expect(waited).toBeGreaterThanOrEqual(290); // the delay was served
    // the Δ is an independent LocalStep's on the same file, scaled the same way
    const { data } = prepareOwnShard(await readOwnShard(file, 0), n, scale!, 0.1);
    const want = new LocalStep(data, 0.1, emptySparse(n), 4).step(w, 0.5, 0.5).delta;
    const update = frames.find((f) => f.t === 'update');
    expect(update?.t === 'update' && Array.from(update.delta.idx)).toEqual(Array.from(want.idx));
    expect(update?.t === 'update' && Array.from(update.delta.val)).toEqual(Array.from(want.val));
    expect(Array.from(want.idx)).toContain(400); // off the shard's columns: (1 − γλ2) w_j
  });

  it('a model before any assign is a state error that closes the connection', async () => {
    const wss = new WebSocketServer({ port: 0 });
    await new Promise((res) => wss.on('listening', res));
    const port = (wss.address() as { port: number }).port;
    const worker = Worker.start({
      master: `ws://127.0.0.1:${port}`,
      workerId: 'w1',
      slowdown: 1,
      delayMs: 0,
      retryInitialMs: 50,
      retryMaxMs: 100,
      giveUpMs: 5000,
      logger: pino({ level: 'silent' }),
    });
    const error = await new Promise<FromWorker>((resolve) =>
      wss.on('connection', (ws: WebSocket) => {
        ws.send(encode({ t: 'model', k: 1, gamma: 1, p: 1, w }));
        ws.on('message', (data: Buffer) => {
          const d = decodeFromWorker(data);
          if (d.ok && d.msg.t === 'error') resolve(d.msg);
        });
      }),
    );
    expect(error).toMatchObject({
      t: 'error',
      code: 'E_STATE',
      message: expect.stringMatching(/model before assign/),
    });
    worker.leave();
    await worker.done;
    wss.close();
  });
});
