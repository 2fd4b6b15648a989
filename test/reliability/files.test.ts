import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng } from '@soda/core';
import { readCheckpoint } from '@soda/master';
import { freePort, killAll, masterArgs, Proc, problemFile, sleep, tempDir, worker } from './helpers/procs';

/*
 * Files a user gets wrong, and files a crash could leave half-written: every failure is a clear error
 * and exit code 2 before anything is written; a checkpoint is never half a file.
 */

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

function track<T extends Proc>(p: T): T {
  procs.push(p);
  return p;
}

/** A master that must refuse to start: exit 2, the error on stderr, nothing written in `out`. */
async function refused(args: string[], out: string): Promise<string> {
  const before = listing(out);
  const p = track(new Proc('master', args));
  const { code } = await p.exited;
  expect(code).toBe(2);
  expect(p.lines.filter((l) => l.msg === 'start')).toHaveLength(0);
  expect(listing(out)).toEqual(before);
  return p.stderr;
}

function listing(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

describe('bad input files (real processes)', () => {
  const dir = tempDir('files');
  let data: string;
  let port: number;
  beforeAll(async () => {
    data = await problemFile(dir, 5);
    port = await freePort();
  });
  const args = (file: string, out: string, extra: string[] = []) => [
    ...masterArgs({ data: file, out, port, workers: 2 }),
    '--fstar',
    '0.5', // no reference solve: the data is the point here
    ...extra,
  ];

  it('an unreadable data path, a folder, a truncated .gz, a malformed line: named, exit 2', async () => {
    const out = path.join(dir, 'out-data');
    mkdirSync(out);
    expect(await refused(args(path.join(dir, 'nope.svm'), out), out)).toMatch(
      /cannot read .*nope\.svm: ENOENT/,
    );
    expect(await refused(args(dir, out), out)).toMatch(/cannot read .*EISDIR/);
    const gz = path.join(dir, 'cut.svm.gz');
    const whole = gzipSync(readFileSync(data));
    writeFileSync(gz, whole.subarray(0, whole.length >> 1));
    expect(await refused(args(gz, out), out)).toMatch(/cut\.svm\.gz: corrupt or truncated gzip data/);
    const bad = path.join(dir, 'bad.svm');
    writeFileSync(bad, '+1 1:0.5 3:1\n-1 2:0.1\n+1 4:nan\n');
    expect(await refused(args(bad, out), out)).toMatch(/bad\.svm:3/);
  });

  it('a checkpoint of other data, a corrupt, truncated or foreign one, or none: named, exit 2, left as it was', async () => {
    const out = path.join(dir, 'out-ck');
    const ck = path.join(out, 'checkpoint.soda');
    // a real checkpoint, from a finished run on `data`
    const first = track(new Proc('master', masterArgs({ data, out, port, workers: 2, delayMs: 0 })));
    for (const n of ['a', 'b']) track(worker(n, `ws://127.0.0.1:${port}`, ['--give-up', '30']));
    expect((await first.exited).code).toBe(0);
    const good = readFileSync(ck);
    expect(readCheckpoint(ck).meta.dataName).toBe('planted-5.svm');

    const other = await problemFile(dir, 6);
    expect(await refused(args(other, out, ['--resume']), out)).toMatch(
      /checkpoint .*checkpoint\.soda belongs to another run: data planted-5\.svm \(content hash [0-9a-f]{12}…\) vs this run's planted-6\.svm/,
    );
    expect(await refused(args(data, out, ['--resume', '--seed', '9']), out)).toMatch(
      /seed 1 vs this run's 9/,
    );

    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 40] ^= 0x10;
    writeFileSync(ck, corrupt);
    expect(await refused(args(data, out, ['--resume']), out)).toMatch(
      /checkpoint\.soda is corrupt: its SHA-256/,
    );
    writeFileSync(ck, good.subarray(0, good.length - 100));
    expect(await refused(args(data, out, ['--resume']), out)).toMatch(/checkpoint\.soda is truncated/);
    const model = path.join(out, 'model.json');
    expect(await refused(args(data, out, ['--resume', '--checkpoint', model]), out)).toMatch(
      /model\.json is not a SODA checkpoint/,
    );
    const none = path.join(dir, 'elsewhere', 'none.soda');
    expect(await refused(args(data, out, ['--resume', '--checkpoint', none]), out)).toMatch(
      /none\.soda does not exist; --resume needs the checkpoint of an earlier run/,
    );
  });
});

describe('checkpoints under SIGKILL (real processes)', () => {
  it('a master killed at random moments while checkpointing every 20 ms always leaves a whole checkpoint', async () => {
    const dir = tempDir('kill-ck');
    // n = 1500 columns, M = 4: each checkpoint is 6 vectors of 12 kB, so a kill can land mid-write
    const data = await problemFile(dir, 8, 300, 1500);
    const port = await freePort();
    const ck = path.join(dir, 'checkpoint.soda');
    const args = [
      ...masterArgs({ data, out: dir, port, workers: 4, delayMs: 20, lambda1: 1e-3, lambda2: 1e-4 }),
      '--checkpoint-every',
      '0.02',
    ];
    for (const n of ['a', 'b', 'c', 'd']) track(worker(n, `ws://127.0.0.1:${port}`, ['--give-up', '60']));
    const rng = new Rng(11);
    const ks: number[] = [];
    for (let life = 0; life < 5; life++) {
      const m = track(new Proc(`master-${life}`, life === 0 ? args : [...args, '--resume']));
      await m.waitFor((l) => l.msg === 'start', 30000, 'start');
      await m.waitFor((l) => l.msg === 'checkpoint written', 30000, 'a checkpoint');
      await sleep(100 + rng.int(400));
      m.signal('SIGKILL');
      await m.exited;
      const got = readCheckpoint(ck); // throws if half-written or corrupt
      ks.push(got.meta.k);
    }
    // progress was kept across the kills
    for (let i = 1; i < ks.length; i++) expect(ks[i]).toBeGreaterThanOrEqual(ks[i - 1]);
    expect(ks[4]).toBeGreaterThan(ks[0]);
    // a last resume, stopped cleanly: it sweeps what the kills left and writes a final checkpoint
    const last = track(new Proc('master-last', [...args, '--resume']));
    await last.waitFor((l) => l.msg === 'progress', 30000, 'progress');
    last.signal('SIGTERM');
    expect(await last.exited).toEqual({ code: 0, signal: null });
    expect(readCheckpoint(ck).meta.k).toBeGreaterThanOrEqual(ks[4]);
    // temporary files a kill may have left were swept by the next start; none remain
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
