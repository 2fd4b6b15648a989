import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { encode, makeNonce, PROTOCOL_VERSION } from '@soda/protocol';
import { attack } from './helpers/net';
import { freePort, killAll, masterArgs, Proc, problemFile, tempDir, worker } from './helpers/procs';

/* Who may join: a shared token (HMAC proof), TLS, and the protocol version — real processes. */

const dir = tempDir('auth');
const procs: Proc[] = [];
let data: string;

beforeAll(async () => {
  data = await problemFile(dir);
});
afterEach(() => killAll(procs.splice(0)));

function track<T extends Proc>(p: T): T {
  procs.push(p);
  return p;
}

describe('shared token', () => {
  it('no proof or a wrong token: error frame, close 1008, the worker exits 2; the run goes on with the good ones', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}`;
    const args = masterArgs({ data, out: path.join(dir, 'token'), port, workers: 2, delayMs: 10 });
    const master = track(new Proc('master', [...args, '--token', 's3cret']));
    await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000, 'listening');
    const none = track(worker('no-token', url, ['--give-up', '30']));
    const wrong = track(worker('wrong-token', url, ['--token', 'guess', '--give-up', '30']));
    expect((await none.exited).code).toBe(2);
    expect((await wrong.exited).code).toBe(2);
    expect(none.stderr).toContain('the master refused this worker: E_AUTH: this master requires a token');
    expect(wrong.stderr).toContain('E_AUTH: wrong token: the proof does not match');
    // the error frame reached them before the close
    expect(none.lines.find((l) => l.msg === 'the master reported an error')).toMatchObject({
      code: 'E_AUTH',
    });
    expect(wrong.lines.find((l) => l.msg === 'the master reported an error')).toMatchObject({
      code: 'E_AUTH',
    });
    // a raw client sees the close code too
    const raw = await attack(port, { hello: { workerId: 'raw' }, frames: [] });
    expect(raw.closeCode).toBe(1008);
    expect(raw.error?.message).toMatch(/requires a token/);

    // the good ones: --token, and SODA_TOKEN in the environment
    track(worker('good-1', url, ['--token', 's3cret', '--give-up', '30']));
    track(worker('good-2', url, ['--give-up', '30'], { SODA_TOKEN: 's3cret' }));
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(await master.exited).toEqual({ code: 0, signal: null });
    expect(summary).toMatchObject({ reason: 'tol', rejectedFrames: 3 });
    const rejected = master.msg('frame rejected');
    expect(rejected.map((l) => l.code)).toEqual(['E_AUTH', 'E_AUTH', 'E_AUTH']);
    expect(
      master
        .msg('shard assigned')
        .map((l) => l.worker)
        .sort(),
    ).toEqual(['good-1', 'good-2']);
  });
});

describe('protocol version', () => {
  it('a hello of another version is refused with a message naming both versions (close 1008)', async () => {
    const port = await freePort();
    const master = track(
      new Proc('master', masterArgs({ data, out: path.join(dir, 'v'), port, workers: 1 })),
    );
    await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000, 'listening');
    const out = await attack(port, { hello: { workerId: 'future', version: 99 }, frames: [] });
    expect(out.closeCode).toBe(1008);
    expect(out.error).toEqual({
      code: 'E_VERSION',
      message: `hello.version = 99 is not supported; this side speaks protocol version ${PROTOCOL_VERSION}`,
    });
    // the client sees the close before the master's log line reaches us: wait for it
    const rejected = await master.waitFor((l) => l.msg === 'frame rejected', 10000, 'frame rejected');
    expect(rejected).toMatchObject({ code: 'E_VERSION', field: 'version' });
    master.signal('SIGTERM');
    expect((await master.exited).code).toBe(0);
  });

  it('a worker facing a master of another version exits 2 naming both versions, without retrying', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.send(encode({ t: 'challenge', version: 99, nonce: makeNonce(), authRequired: false }));
    });
    const { port } = wss.address() as { port: number };
    const w = track(worker('old', `ws://127.0.0.1:${port}`, ['--give-up', '30']));
    expect((await w.exited).code).toBe(2);
    expect(w.stderr).toContain(
      `challenge.version = 99 is not supported; this side speaks protocol version ${PROTOCOL_VERSION}`,
    );
    expect(connections).toBe(1);
    wss.close();
  });
});

describe('TLS', () => {
  const certDir = tempDir('tls');
  const cert = path.join(certDir, 'cert.pem');
  const key = path.join(certDir, 'key.pem');
  beforeAll(() => {
    // a self-signed certificate for this machine's loopback names, made here
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  });

  it('the master serves wss:// with --tls-cert/--tls-key; workers trusting it with --tls-ca train to the target', async () => {
    const port = await freePort();
    const args = masterArgs({ data, out: path.join(dir, 'tls'), port, workers: 2, delayMs: 10 });
    const master = track(new Proc('master', [...args, '--tls-cert', cert, '--tls-key', key]));
    const listening = await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000);
    expect(listening.tls).toBe(true);
    // a worker that does not trust the certificate cannot connect, and says why
    const distrust = track(worker('distrust', `wss://localhost:${port}`, ['--give-up', '1']));
    expect((await distrust.exited).code).toBe(2);
    expect(distrust.stderr).toMatch(
      /could not reach the master at wss:\/\/localhost:\d+ .*self-signed certificate/,
    );
    // plain ws:// to a TLS port does not get a WebSocket
    const plain = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise<void>((res) => {
      plain.on('error', () => res());
      plain.on('open', () => res());
    });
    expect(plain.readyState).not.toBe(WebSocket.OPEN);
    plain.terminate();

    for (const n of ['t1', 't2'])
      track(worker(n, `wss://localhost:${port}`, ['--tls-ca', cert, '--give-up', '30']));
    const health = await new Promise<string>((resolve, reject) =>
      https
        .get(`https://127.0.0.1:${port}/healthz`, { ca: readFileSync(cert) }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
        })
        .on('error', reject),
    );
    expect(JSON.parse(health).status).toBe('ok');
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-10);
    expect(await master.exited).toEqual({ code: 0, signal: null });
  });

  it('--tls-cert without --tls-key, or an unreadable file, is refused before the run (exit 2)', async () => {
    const port = await freePort();
    const args = masterArgs({ data, out: path.join(dir, 'tls-bad'), port, workers: 1 });
    const half = track(new Proc('half', [...args, '--tls-cert', cert]));
    expect((await half.exited).code).toBe(2);
    expect(half.stderr).toContain('TLS needs both --tls-cert and --tls-key');
    const missing = track(
      new Proc('missing', [...args, '--tls-cert', cert, '--tls-key', path.join(certDir, 'nope.pem')]),
    );
    expect((await missing.exited).code).toBe(2);
    expect(missing.stderr).toMatch(/--tls-key .*nope\.pem cannot be read: ENOENT/);
  });
});
