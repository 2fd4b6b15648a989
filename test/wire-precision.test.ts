import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { maxAbsScale, readLibsvm, withIntercept } from '@soda/core';
import { readCheckpoint } from '@soda/master';
import { solveReference } from '@soda/solver';
import {
  BIN,
  freePort,
  killAll,
  masterArgs,
  Proc,
  problemFile,
  tempDir,
  worker,
  type Line,
} from './reliability/helpers/procs';

/*
 * --wire-precision 32 over real processes (one master, M worker processes, loopback WebSockets): every
 * algorithm, intercept on and off, reaches the same tolerance as the default 64 with ≈ 5 bytes a
 * coordinate instead of 9 each way; with the data at the workers and a worker killed mid-run (its spare
 * takes over from the master's w_i and a whole model); and across a SIGKILLed master resumed from its
 * checkpoint. The workers are never told the precision on their command line: they learn it from the
 * master's assign.
 */

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));
const track = <T extends Proc>(p: T): T => (procs.push(p), p);
const M = 3;

/** A run to 1e−10 on a small planted problem; the master's summary line. */
async function train(dir: string, data: string, algo: string, intercept: boolean, bits: number) {
  const port = await freePort();
  const out = path.join(dir, `${algo}-${intercept}-${bits}`);
  const extra = ['--algo', algo, '--wire-precision', String(bits), '--checkpoint-every', '0'];
  const master = track(
    new Proc('master', masterArgs({ data, out, port, workers: M, delayMs: 0, intercept, extra })),
  );
  await master.waitFor((l) => String(l.msg).startsWith('waiting for workers'), 60000, 'listening');
  const workers = [0, 1, 2].map((i) => track(worker(`w${i}`, `ws://127.0.0.1:${port}`)));
  const { code } = await master.exited;
  await Promise.all(workers.map((w) => w.exited));
  expect(code).toBe(0);
  expect(master.msg('start')[0]).toMatchObject({ algo, intercept, wirePrecision: bits });
  return master.msg('summary')[0];
}

const perCoord = (s: Line) => ({
  up: (s.updateBytesUp as number) / (s.coordsUp as number),
  down: (s.modelBytesDown as number) / (s.coordsDown as number),
});

describe('soda master --wire-precision 32 (real processes)', () => {
  const dir = tempDir('wire32');
  let data = '';
  beforeAll(async () => {
    data = await problemFile(dir, 7, 400, 200);
  });

  it.each([
    ['soda', true],
    ['soda', false],
    ['dave-pg', true],
    ['dave-pg', false],
    ['sync-pg', true],
    ['sync-pg', false],
  ] as const)(
    '%s, intercept %s: 32 reaches 1e−10 like 64, with fewer bytes a coordinate each way',
    async (algo, intercept) => {
      const s64 = await train(dir, data, algo, intercept, 64);
      const s32 = await train(dir, data, algo, intercept, 32);
      for (const s of [s64, s32]) {
        expect(s.reason).toBe('tol');
        expect(s.subopt as number).toBeLessThanOrEqual(1e-10);
        expect(s.subopt as number).toBeGreaterThan(-1e-13);
        expect(s.rejectedFrames).toBe(0);
      }
      const b64 = perCoord(s64);
      const b32 = perCoord(s32);
      console.log(
        `${algo}, intercept ${intercept}: updates 64 → 32 ${s64.updates as number} → ${s32.updates as number}; ` +
          `bytes a coordinate up ${b64.up.toFixed(2)} → ${b32.up.toFixed(2)}, down ${b64.down.toFixed(2)} → ${b32.down.toFixed(2)}`,
      );
      // n = 30 (31 with the intercept): a gap is one byte, so a value costs 4 bytes less, but each frame
      // holds only a few coordinates and 32 adds valBits (9 bytes) and, down, diff (6 bytes) to its header:
      // the spam benchmark (BENCHMARKS.md) measures the per-coordinate figure at scale
      expect(b32.up).toBeLessThan(b64.up - 2);
      expect(b32.down).toBeLessThan(b64.down - 1);
    },
  );

  it('refuses --wire-precision other than 32 or 64 (E_CONFIG, exit 2)', () => {
    for (const bad of ['16', '48', '32.5']) {
      const r = spawnSync(process.execPath, [BIN, 'master', '--data', data, '--wire-precision', bad], {
        encoding: 'utf8',
        timeout: 60000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('--wire-precision (env SODA_WIRE_PRECISION) must be 32 or 64');
    }
  });

  it('data at the workers, a worker SIGKILLed mid-run: its spare takes over and the run reaches the gap target', async () => {
    const lambda1 = 0.01;
    const lambda2 = 0.01;
    const split = spawnSync(
      process.execPath,
      [BIN, 'data', 'split', data, '--parts', String(M), '--out-dir', path.join(dir, 'parts'), '--seed', '3'],
      { encoding: 'utf8', timeout: 60000 },
    );
    expect(split.status).toBe(0);
    const full = await readLibsvm(data);
    const central = maxAbsScale(full.X);
    const { fstar } = solveReference(withIntercept({ X: central.X, y: full.y }), lambda1, lambda2, {
      unpenalizedFrom: central.X.cols,
    });
    const port = await freePort();
    const master = track(
      new Proc('master', [
        'master',
        '--data-at-workers',
        '--manifest',
        path.join(dir, 'parts', 'manifest.json'),
        '--workers',
        String(M),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--lambda1',
        String(lambda1),
        '--lambda2',
        String(lambda2),
        '--tol',
        '1e-10',
        '--p',
        '0.5',
        '--eval-every',
        '0.05',
        '--checkpoint-every',
        '0',
        '--out',
        path.join(dir, 'at-workers'),
        '--wire-precision',
        '32',
        '--no-pretty',
      ]),
    );
    await master.waitFor((l) => l.event === 'listening', 60000, 'listening');
    const parts = path.join(dir, 'parts', 'part-{shard}.svm');
    const workers = [0, 1, 2, 3].map((i) =>
      track(worker(`d${i}`, `ws://127.0.0.1:${port}`, ['--data', parts, '--delay-ms', '5'])),
    );
    await master.waitFor((l) => l.msg === 'progress', 60000, 'training');
    const scaled = (w: Proc) => w.lines.find((l) => l.msg === 'shard scaled');
    const victim = workers.find((w) => scaled(w) !== undefined)!;
    victim.signal('SIGKILL');
    await master.waitFor((l) => l.msg === 'shard taken over', 60000, 'take-over');
    const { code } = await master.exited;
    expect(code).toBe(0);
    expect(master.msg('start')[0]).toMatchObject({ intercept: true, wirePrecision: 32 });
    const summary = master.msg('summary')[0];
    expect(summary.reason).toBe('tol-gap');
    expect(summary.rejectedFrames).toBe(0);
    expect(summary.departures).toBe(1); // the victim alone: no worker refused a frame of the master
    for (const w of workers) expect(w.msg('bad frame from the master')).toEqual([]);
    expect(Math.abs((summary.objective as number) - fstar) / fstar).toBeLessThanOrEqual(1e-10);
  });

  it('a SIGKILLed 32-bit master resumes from its checkpoint bit for bit and reaches 1e−10', async () => {
    const port = await freePort();
    const out = path.join(dir, 'resume');
    const ckFile = path.join(out, 'run.ckpt');
    const args = masterArgs({
      data,
      out,
      port,
      workers: M,
      lambda1: 1e-3,
      lambda2: 1e-4,
      extra: ['--wire-precision', '32', '--checkpoint', ckFile, '--checkpoint-every', '0.3'],
    });
    let master = track(new Proc('master-1', args));
    await master.waitFor((l) => String(l.msg).startsWith('waiting for workers'), 60000, 'listening');
    const url = `ws://127.0.0.1:${port}`;
    ['a', 'b', 'c'].forEach((n) => track(worker(n, url, ['--give-up', '60'])));
    await master.waitFor((l) => l.msg === 'checkpoint written' && (l.k as number) > 150, 60000, 'checkpoint');
    master.signal('SIGKILL');
    await master.exited;
    const ck = readCheckpoint(ckFile);
    master = track(new Proc('master-2', [...args, '--resume']));
    const first = await master.waitFor((l) => l.msg === 'progress', 60000, 'first evaluation');
    expect(first.k).toBe(ck.meta.k);
    expect(first.objective).toBe(ck.meta.evaluated!.objective); // bit for bit
    const { code } = await master.exited;
    expect(code).toBe(0);
    const summary = master.msg('summary')[0];
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-10);
  }, 180000);
});
