import * as path from 'node:path';
import WebSocket from 'ws';
import { logisticSmoothness } from '@soda/core';
import { decodeFromMaster, encode, PROTOCOL_VERSION } from '@soda/protocol';
import { freePort, killAll, masterArgs, Proc, problemFile, tempDir, worker } from './helpers/procs';

/*
 * Issue 9, attacks 3 and 6: failures the COORDINATOR must refuse or report (master/src/claims.ts has
 * the checks, cli/src/exit-codes.ts the codes). Written against today's server as `it.failing`: they
 * pass while the bug is there and turn red once the coordinator is wired — then make them `it`.
 */

const dir = tempDir('forged');
const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

/** A client that joins without a token, takes a shard, and answers every eval with f_i = 0. */
function forger(port: number): { close: () => void } {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  let shard = -1;
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    const d = decodeFromMaster(data as Buffer);
    if (!d.ok) return;
    const msg = d.msg;
    if (msg.t === 'challenge') ws.send(encode({ t: 'hello', version: PROTOCOL_VERSION, workerId: 'forger' }));
    else if (msg.t === 'assign' && msg.rows !== null) {
      shard = msg.shard;
      const { m, ptr, ind, val } = msg.rows;
      const L = logisticSmoothness({ rows: m, cols: msg.n, ptr, ind, val }, msg.lambda2);
      ws.send(encode({ t: 'ready', shard, m, L }));
    } else if (msg.t === 'model') {
      const delta = { n: msg.w.n, idx: new Uint32Array(0), val: new Float64Array(0) };
      ws.send(encode({ t: 'update', shard, k: msg.k, delta, fi: 0 }));
    } else if (msg.t === 'eval') ws.send(encode({ t: 'evalResult', id: msg.id, shard, fi: 0 }));
  });
  return { close: () => ws.terminate() };
}

it('attack 3: a forged f_i = 0 is refused (named reason), the forger expelled, the round repeated; the run reaches the true target', async () => {
  const data = await problemFile(dir, 9, 400, 50);
  const port = await freePort();
  const master = new Proc('master', masterArgs({ data, out: path.join(dir, 'forged'), port, workers: 2 }));
  procs.push(master);
  await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000, 'listening');
  const f = forger(port);
  try {
    await master.waitFor((l) => l.msg === 'worker joined' && l.worker === 'forger', 10000, 'forger joined');
    procs.push(worker('w1', `ws://127.0.0.1:${port}`, ['--give-up', '30']));
    procs.push(worker('spare', `ws://127.0.0.1:${port}`, ['--give-up', '30']));
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    // before: subopt −0.38 accepted as tol after 2 updates, an all-zero model, exit 0
    expect(summary.subopt as number).toBeGreaterThanOrEqual(0);
    expect(
      master.lines.some((l) => /fi-below-bound|objective-below-fstar|spot-check/.test(JSON.stringify(l))),
    ).toBe(true);
    expect((await master.exited).code).toBe(0);
  } finally {
    f.close();
  }
}, 90000);

it('attack 6: a model that cannot be written exits 5, the summary lists writeErrors and names no modelOut', async () => {
  const data = await problemFile(dir, 9, 400, 50);
  const port = await freePort();
  // /dev/null is not a folder, even for root: the model write fails (ENOTDIR) as it would on a full disk
  const args = masterArgs({
    data,
    out: path.join(dir, 'nowrite'),
    port,
    workers: 1,
    extra: ['--model-out', '/dev/null/model.json'],
  });
  const master = new Proc('master', args);
  procs.push(master);
  await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000, 'listening');
  procs.push(worker('w1', `ws://127.0.0.1:${port}`, ['--give-up', '30']));
  const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
  expect((await master.exited).code).toBe(5);
  expect(summary.writeErrors).toEqual([expect.stringContaining('model')]);
  expect(summary.modelOut ?? null).toBeNull();
}, 90000);
