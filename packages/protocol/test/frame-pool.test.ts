import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Rng, type SparseVector } from '@soda/core';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeFromMaster, encode, encodeFor, FrameMac, FramePool, type Model } from '@soda/protocol';
import { randomSparse } from './samples';

/*
 * The pool's one rule: a block is handed out again only after give(), which senders call from ws.send's
 * callback. The last test holds the rule over real sockets with a reader that stalls, so that frames
 * queue in the socket while the sender goes on encoding.
 */

describe('FramePool', () => {
  it('hands out exactly the size asked, at the start of a power-of-two block', () => {
    const pool = new FramePool();
    for (const [size, block] of [
      [1, 4096],
      [4096, 4096],
      [4097, 8192],
      [41_055, 65_536],
      [1 << 20, 1 << 20],
    ]) {
      const b = pool.take(size);
      expect([b.length, b.byteOffset, b.buffer.byteLength]).toEqual([size, 0, block]);
    }
    expect(pool.made).toBe(5);
  });

  it('reuses a block given back, for any size of its class, and only then', () => {
    const pool = new FramePool();
    const a = pool.take(5000);
    const b = pool.take(6000); // a is still out: a new block
    expect(b.buffer).not.toBe(a.buffer);
    pool.give(a.subarray(0, 100)); // any view of the block gives it back
    const c = pool.take(8192);
    expect(c.buffer).toBe(a.buffer);
    expect([pool.made, pool.reused]).toEqual([2, 1]);
    expect(pool.take(5000).buffer).not.toBe(a.buffer); // c holds it now
  });

  it('takes back only its own blocks, each once, and keeps at most perSize idle of a size', () => {
    const pool = new FramePool(1 << 16, 2);
    const foreign = [Buffer.allocUnsafe(5000), encode({ t: 'stop', reason: 'x' }), new Uint8Array(8192)];
    for (const f of foreign) pool.give(f);
    const a = pool.take(5000);
    expect(pool.made).toBe(1); // nothing foreign was handed out
    pool.give(a);
    pool.give(a); // twice: still one idle block
    const x = pool.take(5000);
    const y = pool.take(5000);
    expect(y.buffer).not.toBe(x.buffer);
    const more = [x, y, pool.take(5000), pool.take(5000)];
    for (const m of more) pool.give(m);
    // four given back, two kept: two reused, then new blocks again
    const again = [pool.take(5000), pool.take(5000), pool.take(5000)];
    expect(new Set(again.map((g) => g.buffer)).size).toBe(3);
    expect(again.filter((g) => more.some((m) => m.buffer === g.buffer))).toHaveLength(2);
  });

  it('leaves frames above maxBytes to Buffer.allocUnsafe, and never pools them', () => {
    const pool = new FramePool(1 << 16);
    const big = pool.take((1 << 16) + 1);
    expect(big.length).toBe((1 << 16) + 1);
    pool.give(big);
    expect(pool.take((1 << 16) + 1).buffer).not.toBe(big.buffer);
    expect(pool.made).toBe(0);
  });

  it('refuses a size that is not a power of two or a count below 1, by name', () => {
    expect(() => new FramePool(5000)).toThrow(/maxBytes must be a power of two ≥ 4096, got 5000/);
    expect(() => new FramePool(1024)).toThrow(/maxBytes/);
    expect(() => new FramePool(1 << 16, 0)).toThrow(/perSize must be an integer ≥ 1, got 0/);
  });
});

function model(k: number, w: SparseVector): Model {
  return { t: 'model', k, gamma: 0.5, p: 0.1, w };
}

describe('encodeFor with a pool', () => {
  it('writes the same bytes as without, MAC included, over a reused dirty block', () => {
    const rng = new Rng(7);
    const pool = new FramePool();
    const s = {
      masterNonce: new Uint8Array(32).fill(1),
      workerNonce: new Uint8Array(32).fill(2),
      runId: 'r',
      mac: true,
    };
    const [macA, macB] = [FrameMac.forMaster('t', s), FrameMac.forMaster('t', s)];
    for (let i = 0; i < 20; i++) {
      const m = model(i, randomSparse(rng, 50_000, 500 + rng.int(3000)));
      const plain = encodeFor(m, null);
      const pooled = encodeFor(m, null, pool);
      expect(pooled.equals(plain)).toBe(true);
      expect(encodeFor(m, macB, pool).equals(encodeFor(m, macA))).toBe(true); // same seq on both
      pooled.fill(0xff); // what a later frame finds in the block
      pool.give(pooled);
    }
    expect(pool.reused).toBeGreaterThan(0);
  });
});

describe('pooled frames over a real socket', () => {
  it('arrive intact while a stalled reader makes them queue, and blocks come round once sent', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const pool = new FramePool();
    const rng = new Rng(11);
    const sent: Model[] = [];
    /** each frame decoded, or the error its decoding gave (a frame overwritten in flight) */
    const received: (Model | Error)[] = [];
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    const [server] = (await once(wss, 'connection')) as [WebSocket];
    await once(client, 'open');
    client.on('message', (data) => {
      const r = decodeFromMaster(data as Buffer);
      received.push(r.ok ? (r.msg as Model) : r.error);
    });
    const burst = (count: number): void => {
      for (let i = 0; i < count; i++) {
        const m = model(sent.length, randomSparse(rng, 100_000, 2000 + rng.int(2000)));
        sent.push(m);
        const buf = encodeFor(m, null, pool);
        server.send(buf, () => pool.give(buf));
      }
    };
    const allReceived = async (): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (received.length < sent.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
    };
    const clientSocket = (client as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    clientSocket.pause(); // the reader stalls: the kernel's buffers fill, then ws's queue holds the frames
    burst(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.bufferedAmount).toBeGreaterThan(0);
    const madeWhileStalled = pool.made;
    clientSocket.resume();
    await allReceived();
    // a reader that keeps up: one block goes round (each send's callback runs before the next burst)
    for (let round = 0; round < 50; round++) {
      burst(1);
      await new Promise((r) => setImmediate(r));
    }
    await allReceived();
    client.close();
    wss.close();
    expect(received.map((m) => (m instanceof Error ? m.message : m.k))).toEqual(sent.map((m) => m.k));
    for (let i = 0; i < sent.length; i++) {
      const m = received[i] as Model;
      expect(Array.from(m.w.idx)).toEqual(Array.from(sent[i].w.idx));
      expect(Array.from(m.w.val)).toEqual(Array.from(sent[i].w.val));
    }
    expect(madeWhileStalled).toBeGreaterThan(8); // the stall really held many frames at once
    expect(pool.made).toBe(madeWhileStalled); // afterwards every frame went out in a reused block
    expect(pool.reused).toBeGreaterThanOrEqual(50);
  });
});
