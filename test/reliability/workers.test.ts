import { Rng } from '@soda/core';
import { BUSY_MISSED_PINGS } from '../../packages/master/src/connections';
import { freePort, killAll, masterArgs, Proc, problemFile, sleep, tempDir, worker } from './helpers/procs';

/*
 * Dead, late and spare workers, with real processes and real signals. A replacement must continue
 * from the shard's last w_i: had it restarted from 0, w̄ would no longer be Σ π_i w_i of what the
 * workers hold and the run would converge to a wrong point — reaching 1e−10 after many takeovers is
 * the proof that it did not.
 */

const dir = tempDir('workers');
const procs: Proc[] = [];
let data: string;

beforeAll(async () => {
  data = await problemFile(dir);
});
afterEach(() => killAll(procs.splice(0)));

async function startMaster(workers: number, extra: string[], delayMs = 20, hard = false) {
  const port = await freePort();
  // hard: λ1 = 1e−3, λ2 = 1e−4 (support 21 of 30, ~1000 updates to 1e−10) instead of ~100
  const lambdas = hard ? { lambda1: 1e-3, lambda2: 1e-4 } : {};
  const args = masterArgs({ data, out: dir, port, workers, delayMs, ...lambdas, extra });
  const master = new Proc('master', args);
  procs.push(master);
  await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000, 'listening');
  return { master, url: `ws://127.0.0.1:${port}` };
}

function spawnWorker(name: string, url: string): Proc {
  const w = worker(name, url, ['--give-up', '60']);
  procs.push(w);
  return w;
}

/** Which live worker process owns a shard now, from the master's log. */
function owners(master: Proc): Map<string, number> {
  const owner = new Map<string, number>();
  for (const l of master.lines) {
    if (l.msg === 'shard assigned') owner.set(l.worker as string, l.shard as number);
    if (l.msg === 'worker left; its shard is free') owner.delete(l.worker as string);
  }
  return owner;
}

describe('dead and spare workers (real processes)', () => {
  it('SIGKILL random workers again and again, with spares and restarts: the run still reaches 1e−10', async () => {
    const { master, url } = await startMaster(3, ['--heartbeat', '1', '--checkpoint-every', '0'], 20, true);
    const live: Proc[] = [];
    let next = 0;
    const add = () => live.push(spawnWorker(`w${next++}`, url));
    for (let i = 0; i < 5; i++) add(); // 3 shards, 2 spares
    await master.waitFor((l) => l.msg === 'start', 30000, 'start');
    const rng = new Rng(7);
    let kills = 0;
    let ownersKilled = 0;
    while (kills < 8 && master.running && !master.lines.some((l) => l.msg === 'summary')) {
      await sleep(300 + rng.int(400));
      const victim = live.splice(rng.int(live.length), 1)[0];
      if (owners(master).has(victim.name)) ownersKilled++;
      victim.signal('SIGKILL');
      kills++;
      if (rng.next() < 0.7 || live.length < 3) add(); // a restarted container
    }
    while (live.length < 3) add();
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(await master.exited).toEqual({ code: 0, signal: null });
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-10);
    console.log(
      `kills: ${kills} (${ownersKilled} shard owners), takeovers: ${master.msg('shard taken over').length}, ` +
        `k: ${summary.k}, subopt: ${summary.subopt}, elapsed ${summary.elapsedMs} ms`,
    );
    expect(kills).toBe(8); // every kill happened during the run
    expect(ownersKilled).toBeGreaterThanOrEqual(3);
    expect(summary.departures as number).toBeGreaterThanOrEqual(ownersKilled);
    expect(master.msg('shard taken over').length).toBeGreaterThanOrEqual(ownersKilled);
    // Every takeover went to a waiting spare or a newcomer, with the shard's rows and its w_i.
    const assigned = master.msg('shard assigned').length;
    expect(assigned).toBe(3 + master.msg('shard taken over').length);
  });

  it('SIGSTOP: a worker that stops answering pings is dropped after the heartbeat and a spare takes its shard', async () => {
    const { master, url } = await startMaster(2, ['--heartbeat', '0.5', '--checkpoint-every', '0'], 30);
    const ws = ['a', 'b', 'spare'].map((n) => spawnWorker(n, url));
    await master.waitFor((l) => l.msg === 'start', 30000, 'start');
    // the spare joins last; freeze one of the two shard owners
    const own = owners(master);
    const frozen = ws.find((w) => own.has(w.name))!;
    const spare = ws.find((w) => !own.has(w.name))!;
    await sleep(300);
    const t0 = Date.now();
    frozen.signal('SIGSTOP');
    const dropped = await master.waitFor(
      (l) => l.msg === 'worker did not answer a ping; dropping it' && l.worker === frozen.name,
      10000,
      'a ping timeout',
    );
    expect(Date.now() - t0).toBeLessThan(5000); // two heartbeats of 0.5 s, with room for a busy machine
    expect(dropped.worker).toBe(frozen.name);
    const left = await master.waitFor((l) => l.msg === 'worker left; its shard is free', 5000, 'departure');
    expect(left.worker).toBe(frozen.name);
    await master.waitFor((l) => l.msg === 'shard assigned' && l.worker === spare.name, 5000, 'takeover');
    expect(owners(master).get(spare.name)).toBe(own.get(frozen.name));
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-10);
    frozen.signal('SIGCONT'); // it wakes up to a closed connection, and leaves or waits: no harm either way
    expect(await master.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGSTOP while loading its shard: tolerated for BUSY_MISSED_PINGS heartbeats, then dropped, and the shard taken over', async () => {
    const beat = 500;
    const { master, url } = await startMaster(
      2,
      ['--heartbeat', String(beat / 1000), '--checkpoint-every', '0'],
      30,
    );
    const ws = ['p', 'q', 'loader'].map((n) => spawnWorker(n, url));
    await master.waitFor((l) => l.msg === 'start', 30000, 'start');
    const own = owners(master);
    const loader = ws.find((w) => !own.has(w.name))!; // the spare, on standby
    const victim = ws.find((w) => own.has(w.name))!;
    const shard = own.get(victim.name)!;
    await sleep(300);
    // Freeze the spare, then free a shard: the master assigns it to the frozen spare, which never
    // answers `ready` nor a ping: to the master, a worker busy loading its shard.
    loader.signal('SIGSTOP');
    victim.signal('SIGKILL');
    const assigned = await master.waitFor(
      (l) => l.msg === 'shard assigned' && l.worker === loader.name,
      5000,
      'the assign to the frozen spare',
    );
    expect(assigned.shard).toBe(shard);
    const next = spawnWorker('next', url); // waits on standby for the shard
    const dropped = await master.waitFor(
      (l) => l.msg === 'worker did not answer a ping; dropping it' && l.worker === loader.name,
      30 * BUSY_MISSED_PINGS * beat,
      'the drop of the frozen loader',
    );
    // a loading worker is not dropped at its first missed ping but after BUSY_MISSED_PINGS of them,
    // each a heartbeat apart (the master's own clock, its log's time field)
    expect(dropped.missed).toBe(BUSY_MISSED_PINGS);
    const waited = (dropped.time as number) - (assigned.time as number);
    expect(waited).toBeGreaterThanOrEqual((BUSY_MISSED_PINGS - 1) * beat);
    // nobody else was dropped meanwhile
    expect(master.msg('worker did not answer a ping; dropping it').map((l) => l.worker)).toEqual([
      loader.name,
    ]);
    await master.waitFor((l) => l.msg === 'shard assigned' && l.worker === next.name, 10000, 'takeover');
    expect(owners(master).get(next.name)).toBe(shard);
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-10);
    loader.signal('SIGCONT');
    expect(await master.exited).toEqual({ code: 0, signal: null });
  }, 90000);

  it('SIGTERM on a worker: it leaves cleanly (exit 0), the master counts a departure and a spare takes over', async () => {
    const { master, url } = await startMaster(2, ['--checkpoint-every', '0'], 30);
    const ws = ['x', 'y', 'z'].map((n) => spawnWorker(n, url));
    await master.waitFor((l) => l.msg === 'start', 30000, 'start');
    const own = owners(master);
    const leaving = ws.find((w) => own.has(w.name))!;
    const spare = ws.find((w) => !own.has(w.name))!;
    await sleep(300);
    leaving.signal('SIGTERM');
    expect(await leaving.exited).toEqual({ code: 0, signal: null });
    const left = await master.waitFor((l) => l.msg === 'worker left; its shard is free', 5000, 'departure');
    expect(left).toMatchObject({ worker: leaving.name, code: 1000, shard: own.get(leaving.name) });
    await master.waitFor((l) => l.msg === 'shard assigned' && l.worker === spare.name, 5000, 'takeover');
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(summary).toMatchObject({ reason: 'tol', departures: 1 });
    expect(await master.exited).toEqual({ code: 0, signal: null });
  });
});
