import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  combineColumnMaxima,
  dualityGap,
  emptySparse,
  GapAccumulator,
  maxAbsScale,
  readLibsvm,
  sparseFromDense,
  splitLibsvm,
  writeLibsvm,
} from '@soda/core';
import {
  decodeFromWorker,
  encode,
  PROTOCOL_VERSION,
  type FromMaster,
  type FromWorker,
  type Ready,
  type Stats,
} from '@soda/protocol';
import { plantedProblem } from './helpers/problems';

/*
 * Real `soda worker --data …/part-{shard}.svm` processes against a small scripted master (not the
 * coordinator): the stats round, the broadcast scale, an evaluation with gap parts summed here and
 * checked against the central duality gap, and a spare that re-reads the shard of a killed worker.
 */

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'bin', 'soda.js');

/** One worker connection seen from the scripted master: frames queued by type. */
class Peer {
  private queue: FromWorker[] = [];
  private waiters: { t: string; resolve: (m: FromWorker) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const r = decodeFromWorker(data as Buffer);
      if (!r.ok) throw r.error;
      const i = this.waiters.findIndex((w) => w.t === r.msg.t);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(r.msg);
      else this.queue.push(r.msg);
    });
  }
  send(m: FromMaster): void {
    this.ws.send(encode(m));
  }
  next<T extends FromWorker['t']>(t: T): Promise<Extract<FromWorker, { t: T }>> {
    const i = this.queue.findIndex((m) => m.t === t);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0] as Extract<FromWorker, { t: T }>);
    return new Promise((resolve) => this.waiters.push({ t, resolve: resolve as (m: FromWorker) => void }));
  }
}

describe('soda worker --data (own shards, stats round, gap parts, a spare re-reads)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-own-worker-'));
  const children: ChildProcess[] = [];
  let wss: WebSocketServer;
  const peers: Peer[] = [];
  let arrived: (p: Peer) => void = () => {};
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    wss?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function startWorker(port: number): ChildProcess {
    const c = spawn(process.execPath, [
      BIN,
      'worker',
      '--master',
      `ws://127.0.0.1:${port}`,
      '--data',
      path.join(dir, 'parts', 'part-{shard}.svm'),
      '--give-up',
      '5',
    ]);
    children.push(c);
    return c;
  }

  async function nextPeer(): Promise<Peer> {
    const p = await new Promise<Peer>((resolve) => (arrived = resolve));
    p.send({
      t: 'challenge',
      version: PROTOCOL_VERSION,
      nonce: new Uint8Array(randomBytes(32)),
      authRequired: false,
    });
    await p.next('hello');
    return p;
  }

  it('runs the protocol of data at scale end to end', async () => {
    const M = 3;
    const lambda1 = 0.01;
    const lambda2 = 0.01;
    const file = path.join(dir, 'all.svm');
    await writeLibsvm(file, plantedProblem(4, 300, 40));
    await splitLibsvm(file, { parts: M, outDir: path.join(dir, 'parts'), seed: 2 });

    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => {
      const p = new Peer(ws);
      peers.push(p);
      arrived(p);
    });
    const port = (wss.address() as { port: number }).port;

    // the stats round: assign without n; each worker reads its part and reports
    const workers: Peer[] = [];
    const stats: Stats[] = [];
    for (let i = 0; i < M; i++) {
      const wait = nextPeer();
      startWorker(port);
      const p = await wait;
      p.send({ t: 'assign', runId: 'r1', shard: i, lambda2, p: 0.5, seed: 1 + i, delayMs: 0, rows: null });
      stats.push(await p.next('stats'));
      workers.push(p);
    }
    const n = stats[0].n;
    expect(stats.every((s) => s.n === n)).toBe(true);
    expect(stats.reduce((a, s) => a + s.m, 0)).toBe(300);
    const scale = combineColumnMaxima(
      stats.map((s) => s.colMax),
      n,
    );
    const full = await readLibsvm(file);
    const central = maxAbsScale(full.X);
    expect(Buffer.from(scale.buffer).equals(Buffer.from(central.scale.buffer))).toBe(true);

    const ready: Ready[] = [];
    for (let i = 0; i < M; i++) {
      workers[i].send({ t: 'scale', shard: i, n, scale, wi: emptySparse(n) });
      ready.push(await workers[i].next('ready'));
    }
    ready.forEach((r, i) =>
      expect(r).toMatchObject({ shard: i, m: stats[i].m, n, nnz: stats[i].nnz, hash: stats[i].hash }),
    );

    // an evaluation round with the gap parts, summed as the master will
    const w = new Float64Array(n).map((_, j) => (j < 5 ? 0.3 * (j - 2) : 0));
    const evalRound = async (ps: Peer[]) => {
      const acc = new GapAccumulator(n);
      let F = 0;
      for (const p of ps) p.send({ t: 'eval', id: 1, w: sparseFromDense(w), gap: true });
      for (let i = 0; i < ps.length; i++) {
        const r = await ps[i].next('evalResult');
        expect(r.entropy).toBeDefined();
        acc.add({ m: stats[r.shard].m, entropySum: r.entropy!, u: r.u! });
        F += (stats[r.shard].m / 300) * r.fi;
      }
      let l1 = 0;
      for (const v of w) l1 += Math.abs(v);
      F += lambda1 * l1;
      return { F, ...acc.result(F, lambda1, lambda2, n) };
    };
    const whole = dualityGap(central.X, full.y, w, lambda1, lambda2, n);
    const first = await evalRound(workers);
    expect(first.F).toBeCloseTo(whole.objective, 13);
    expect(Math.abs(first.gap - whole.gap)).toBeLessThan(1e-13);

    // kill the owner of shard 1; a spare gets the assign with n, the divisors and w_i, and re-reads the file
    children[1].kill('SIGKILL');
    const wait = nextPeer();
    startWorker(port);
    const spare = await wait;
    spare.send({
      t: 'assign',
      runId: 'r1',
      shard: 1,
      n,
      lambda2,
      p: 0.5,
      seed: 9,
      delayMs: 0,
      rows: null,
      scale,
      wi: emptySparse(n),
    });
    const again = await spare.next('ready');
    expect(again).toEqual(ready[1]);
    const second = await evalRound([workers[0], spare, workers[2]]);
    expect(second.gap).toBe(first.gap);
    for (const p of [workers[0], spare, workers[2]]) p.send({ t: 'stop', reason: 'done' });
  });
});
