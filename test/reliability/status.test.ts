import * as path from 'node:path';
import WebSocket from 'ws';
import { decodeFromMaster, encode, PROTOCOL_VERSION } from '@soda/protocol';
import { freePort, killAll, masterArgs, Proc, problemFile, tempDir } from './helpers/procs';

/*
 * Issue 9: the run's state on its own address (--status-port), and a cap on authenticated workers
 * (the run's M plus spares), over a real `soda master` process.
 */

const dir = tempDir('status');
const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

async function get(port: number, url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${url}`);
  return { status: res.status, body: await res.text() };
}

/** A peer that says a valid hello (no token) and reports how its connection ended. */
function helloPeer(port: number, id: string): Promise<{ code: number; reason: string; welcomed: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    let welcomed = false;
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
      const d = decodeFromMaster(data as Buffer);
      if (!d.ok) return;
      if (d.msg.t === 'challenge') ws.send(encode({ t: 'hello', version: PROTOCOL_VERSION, workerId: id }));
      else welcomed = true; // assign or standby: the master took it
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), welcomed }));
    setTimeout(() => ws.terminate(), 3000);
  });
}

it('--status-port: /healthz, /readyz and /metrics move to their own address; the workers’ port serves none', async () => {
  const data = await problemFile(dir, 7, 200, 20);
  const [port, statusPort] = [await freePort(), await freePort()];
  const args = masterArgs({ data, out: path.join(dir, 'a'), port, workers: 2 });
  const master = new Proc('master', [...args, '--status-port', String(statusPort)]);
  procs.push(master);
  const listening = await master.waitFor((l) => l.event === 'listening', 30000, 'listening');
  expect(listening.statusPort).toBe(statusPort);
  for (const url of ['/healthz', '/readyz', '/metrics']) {
    const here = await get(port, url);
    expect(here.status).toBe(404);
    expect(here.body).toMatch(/--status-port/);
  }
  const health = await get(statusPort, '/healthz');
  expect(health.status).toBe(200);
  expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', phase: 'waiting' });
  expect((await get(statusPort, '/readyz')).status).toBe(503); // waiting for workers: not training
  expect((await get(statusPort, '/metrics')).body).toMatch(/^soda_workers_connected 0$/m);
});

it('authenticated workers are capped at 2M + 8: one more is told to come back later (close 1013)', async () => {
  const data = await problemFile(dir, 7, 200, 20);
  const port = await freePort();
  const master = new Proc('master', masterArgs({ data, out: path.join(dir, 'b'), port, workers: 1 }));
  procs.push(master);
  await master.waitFor((l) => l.event === 'listening', 30000, 'listening');
  const cap = 2 * 1 + 8;
  const peers: Promise<{ code: number; reason: string; welcomed: boolean }>[] = [];
  for (let i = 0; i < cap; i++) {
    peers.push(helloPeer(port, `w${i}`));
    await master.waitFor((l) => l.worker === `w${i}`, 10000, `w${i} taken`);
  }
  const extra = await helloPeer(port, 'one-too-many');
  expect(extra).toMatchObject({ code: 1013, welcomed: false });
  expect(extra.reason).toMatch(/workers connected; try again later/);
  const first = await Promise.all(peers);
  expect(first.every((p) => p.welcomed)).toBe(true); // the ones within the cap got a shard or standby
});
