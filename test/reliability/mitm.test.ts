import * as path from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import {
  decodeFromMaster,
  decodeFromWorker,
  encode,
  MAC_BYTES,
  makeNonce,
  PROTOCOL_VERSION,
} from '@soda/protocol';
import { freePort, killAll, masterArgs, Proc, problemFile, tempDir, worker } from './helpers/procs';

/*
 * Issue 9, attack 4: a man in the middle on plain ws:// with --token. Before the fix only the hello
 * was authenticated: a relay passed the challenge through, let the real worker answer it, then
 * rewrote ready.L to 1e9 (γ = 2e-9, a run that never converges). Now every frame after the
 * handshake carries a MAC under a session key: the rewrite is refused (E_INTEGRITY), the worker
 * reconnects, and the run completes. And a worker with a token refuses a master that cannot prove it.
 */

const dir = tempDir('mitm');
const procs: Proc[] = [];
const servers: WebSocketServer[] = [];
afterEach(() => {
  killAll(procs.splice(0));
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    s.close();
  }
});

/** A relay that rewrites the first `ready` it sees (L → 1e9), keeping whatever trailer the frame had. */
async function rewritingRelay(masterPort: number): Promise<{ port: number; rewrites: () => number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((res) => wss.once('listening', res));
  let rewrites = 0;
  wss.on('connection', (client) => {
    const upstream = new WebSocket(`ws://127.0.0.1:${masterPort}`);
    let chain: Promise<unknown> = new Promise((res) => upstream.once('open', res));
    client.on('message', (data) => {
      let out = Buffer.from(data as Buffer);
      if (rewrites === 0) {
        for (const trailer of [0, MAC_BYTES]) {
          const body = out.subarray(0, out.length - trailer);
          const d = decodeFromWorker(body);
          if (d.ok && d.msg.t === 'ready') {
            rewrites++;
            out = Buffer.concat([encode({ ...d.msg, L: 1e9 }), out.subarray(out.length - trailer)]);
            break;
          }
        }
      }
      chain = chain.then(() => upstream.readyState === WebSocket.OPEN && upstream.send(out));
    });
    upstream.on('message', (d) => client.readyState === WebSocket.OPEN && client.send(d as Buffer));
    upstream.on('close', () => client.terminate());
    client.on('close', () => upstream.terminate());
    upstream.on('error', () => client.terminate());
    client.on('error', () => upstream.terminate());
  });
  return { port: (wss.address() as { port: number }).port, rewrites: () => rewrites };
}

it('attack 4: a relay rewriting ready.L under --token over ws:// is refused by the frame MAC; the run completes', async () => {
  const data = await problemFile(dir, 9, 400, 50);
  const port = await freePort();
  const args = masterArgs({ data, out: path.join(dir, 'mitm'), port, workers: 2, delayMs: 5 });
  const env = { SODA_TOKEN: 'mitm-s3cret' };
  const master = new Proc('master', [...args, '--max-time', '40'], env);
  procs.push(master);
  await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000, 'listening');
  const relay = await rewritingRelay(port);
  procs.push(worker('direct', `ws://127.0.0.1:${port}`, ['--give-up', '30'], env));
  procs.push(worker('relayed', `ws://127.0.0.1:${relay.port}`, ['--give-up', '30'], env));
  const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
  expect(relay.rewrites()).toBe(1);
  expect(master.msg('frame rejected').map((l) => l.code)).toEqual(['E_INTEGRITY']);
  expect(summary.reason).toBe('tol');
  expect((await master.exited).code).toBe(0);
}, 90000);

/** A fake master: sends `challenge`, then `after(hello)` frames; records the hello it got. */
async function fakeMaster(
  challenge: { authRequired: boolean; mac?: boolean },
  after: (hello: Buffer) => Buffer[],
): Promise<{ url: string; hellos: Buffer[] }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((res) => wss.once('listening', res));
  const hellos: Buffer[] = [];
  wss.on('connection', (ws) => {
    ws.send(encode({ t: 'challenge', version: PROTOCOL_VERSION, nonce: makeNonce(), ...challenge }));
    ws.on('message', (d) => {
      hellos.push(Buffer.from(d as Buffer));
      for (const f of after(Buffer.from(d as Buffer))) ws.send(f);
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, hellos };
}

describe('a worker with a token refuses a master that cannot prove it (exit 2)', () => {
  const env = { SODA_TOKEN: 'real-s3cret' };

  it('a master that does not ask for a token gets no proof', async () => {
    const fake = await fakeMaster({ authRequired: false }, () => []);
    const w = worker('w', fake.url, ['--give-up', '10'], env);
    procs.push(w);
    expect((await w.exited).code).toBe(2);
    expect(w.stderr).toContain('the master does not ask for one');
    expect(fake.hellos).toHaveLength(0);
  }, 30000);

  it('an impostor that collects the proof but cannot answer with its own: refused before any assign is obeyed', async () => {
    const fake = await fakeMaster({ authRequired: true, mac: false }, () => [
      encode({ t: 'welcome', proof: new Uint8Array(32) }),
    ]);
    const w = worker('w', fake.url, ['--give-up', '10'], env);
    procs.push(w);
    expect((await w.exited).code).toBe(2);
    expect(w.stderr).toContain('the master could not prove the token');
    // the proof it did collect is bound to this session's nonces: useless elsewhere
    const hello = decodeFromWorker(fake.hellos[0]);
    expect(hello.ok && hello.msg.t === 'hello' && hello.msg.nonce?.length).toBe(32);
  }, 30000);

  it('an impostor that skips the welcome and sends work: refused', async () => {
    const fake = await fakeMaster({ authRequired: true, mac: false }, () => [
      encode({ t: 'standby', reason: 'trust me' }),
    ]);
    const w = worker('w', fake.url, ['--give-up', '10'], env);
    procs.push(w);
    expect((await w.exited).code).toBe(2);
    expect(w.stderr).toContain("'standby' before the master proved the token");
    expect(decodeFromMaster(encode({ t: 'standby', reason: 'x' })).ok).toBe(true);
  }, 30000);
});
