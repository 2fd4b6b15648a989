import * as net from 'node:net';
import * as path from 'node:path';
import { killAll, freePort, masterArgs, Proc, problemFile, tempDir, worker } from './helpers/procs';

/*
 * Issue 9, attack 5: a silent master. A TCP proxy in front of one worker that, once switched to
 * "black hole", drops every byte of the connections it carries without closing them (a dead NAT
 * entry, a pulled cable): no FIN, no RST. New connections pass. Before the fix the worker sat
 * 'connected' forever and the run, missing its shard, never finished.
 */

class BlackHoleProxy {
  private readonly live = new Set<{ black: boolean }>();
  private constructor(private readonly server: net.Server) {}

  static async start(target: number): Promise<BlackHoleProxy> {
    const server = net.createServer();
    const proxy = new BlackHoleProxy(server);
    server.on('connection', (client) => {
      const state = { black: false };
      proxy.live.add(state);
      const upstream = net.connect(target, '127.0.0.1');
      client.on('data', (d) => state.black || upstream.write(d));
      upstream.on('data', (d) => state.black || client.write(d));
      const end = () => {
        proxy.live.delete(state);
        client.destroy();
        upstream.destroy();
      };
      // a black-holed link reports nothing: its ends are not closed when the other side goes
      client.on('close', () => state.black || end());
      upstream.on('close', () => state.black || end());
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Every connection open now goes silent, both ways; later ones pass. */
  blackHole(): number {
    for (const s of this.live) s.black = true;
    const n = this.live.size;
    this.live.clear();
    return n;
  }

  close(): void {
    this.server.close();
  }
}

const dir = tempDir('liveness');
const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

it('attack 5: a worker whose link to the master goes silent notices within --liveness, reconnects, and the run completes', async () => {
  const data = await problemFile(dir, 9, 400, 50);
  const port = await freePort();
  const args = masterArgs({ data, out: path.join(dir, 'run'), port, workers: 2, delayMs: 30 });
  const master = new Proc('master', [...args, '--heartbeat', '1']);
  procs.push(master);
  await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000, 'listening');
  const proxy = await BlackHoleProxy.start(port);
  try {
    const direct = worker('direct', `ws://127.0.0.1:${port}`, ['--give-up', '30']);
    // (SODA_LIVENESS rather than --liveness, so the same test runs against a worker without the option)
    const behind = worker('behind', `ws://127.0.0.1:${proxy.port}`, ['--give-up', '30'], {
      SODA_LIVENESS: '3',
    });
    procs.push(direct, behind);
    await master.waitFor((l) => l.msg === 'progress', 30000, 'progress');
    // training and moving: ready
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(proxy.blackHole()).toBe(1);
    const t0 = Date.now();
    const silent = await behind.waitFor(
      (l) => l.msg === 'master silent; reconnecting',
      15000,
      'silence noticed',
    );
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(silent.limitMs).toBe(3000);
    await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect((await master.exited).code).toBe(0);
  } finally {
    proxy.close();
  }
}, 120000);
