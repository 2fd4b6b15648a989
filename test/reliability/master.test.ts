import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readCheckpoint } from '@soda/master';
import { freePort, killAll, masterArgs, Proc, problemFile, sleep, tempDir, worker } from './helpers/procs';

/* A dead master, a restarted master, and a master asked to stop — real processes and signals. */

const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

function track<T extends Proc>(p: T): T {
  procs.push(p);
  return p;
}

describe('dead master (real processes)', () => {
  it('SIGKILL the master mid-run, twice; soda master --resume continues from the checkpoint and reaches 1e−10', async () => {
    const dir = tempDir('resume');
    const data = await problemFile(dir);
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}`;
    const ckFile = path.join(dir, 'run.ckpt');
    // λ1 = 1e−3, λ2 = 1e−4: ~1000 updates to 1e−10; workers add 20 ms per step
    const args = masterArgs({ data, out: dir, port, workers: 3, lambda1: 1e-3, lambda2: 1e-4 });
    args.push('--checkpoint', ckFile, '--checkpoint-every', '0.3');
    let master = track(new Proc('master-1', args));
    await master.waitFor((l) => String(l.msg).startsWith('waiting for workers'), 30000, 'listening');
    // Workers are started once: they must find the restarted masters by themselves.
    const workers = ['a', 'b', 'c'].map((n) => track(worker(n, url, ['--give-up', '60'])));
    const runId = (await master.waitFor((l) => l.runId !== undefined)).runId;

    for (let life = 1; life <= 2; life++) {
      // let it train and checkpoint a few times, then kill it without warning
      await master.waitFor(
        (l) => l.msg === 'checkpoint written' && (l.k as number) > 150 * life,
        30000,
        'checkpoints',
      );
      master.signal('SIGKILL');
      expect((await master.exited).signal).toBe('SIGKILL');
      expect(master.msg('summary')).toHaveLength(0); // it really died mid-run
      // What the dead master left: a whole checkpoint (never half), and its numbers.
      const ck = readCheckpoint(ckFile);
      expect(ck.meta.runId).toBe(runId);
      expect(ck.meta.evaluated).not.toBeNull();
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);

      master = track(new Proc(`master-${life + 1}`, [...args, '--resume']));
      const resumed = await master.waitFor((l) => l.msg === 'resuming from checkpoint', 30000, 'resume');
      expect(resumed).toMatchObject({ k: ck.meta.k, runId, p: 0.5 });
      const start = await master.waitFor((l) => l.msg === 'start', 30000, 'workers back');
      expect(start).toMatchObject({ k: ck.meta.k, resumed: true });
      // Right after the restart the model is exactly the checkpointed one: same k, same F.
      const first = await master.waitFor((l) => l.msg === 'progress', 30000, 'first evaluation');
      expect(first.k).toBe(ck.meta.k);
      expect(first.subopt as number).toBeLessThanOrEqual(ck.meta.evaluated!.subopt!);
      expect(first.objective).toBe(ck.meta.evaluated!.objective); // bit for bit
      expect(master.msg('shard assigned')).toHaveLength(3);
      console.log(
        `life ${life}: killed; checkpoint k = ${ck.meta.k}, subopt ${ck.meta.evaluated!.subopt}; ` +
          `after --resume: k = ${first.k}, subopt ${first.subopt}`,
      );
    }
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(await master.exited).toEqual({ code: 0, signal: null });
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-10);
    // The counters carried over: updates continue from the checkpoint, not from 0.
    expect(summary.updates as number).toBe(summary.k);
    for (const w of workers) expect((await w.exited).code).toBe(0);
  });

  it('refuses to resume with other settings, naming them; the checkpoint is left as it was', async () => {
    const dir = tempDir('resume-other');
    const data = await problemFile(dir);
    const port = await freePort();
    const ckFile = path.join(dir, 'checkpoint.soda');
    const base = masterArgs({ data, out: dir, port, workers: 2, delayMs: 0 });
    const first = track(new Proc('master', base));
    const ws = ['a', 'b'].map((n) => track(worker(n, `ws://127.0.0.1:${port}`, ['--give-up', '30'])));
    await first.exited;
    await Promise.all(ws.map((w) => w.exited));
    const before = readFileSync(ckFile);
    const changed = masterArgs({ data, out: dir, port, workers: 3, delayMs: 0, lambda2: 0.002 });
    const other = track(new Proc('master-other', [...changed, '--resume']));
    expect((await other.exited).code).toBe(2);
    expect(other.stderr).toMatch(/checkpoint .*checkpoint\.soda belongs to another run/);
    expect(other.stderr).toMatch(/lambda2 0\.001 vs this run's 0\.002/);
    expect(other.stderr).toMatch(/workers 2 vs this run's 3/);
    expect(readFileSync(ckFile).equals(before)).toBe(true);
  });
});

describe('master shutdown (real processes)', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig}: the workers are stopped, the model and a final checkpoint written, exit 0`, async () => {
      const dir = tempDir(`stop-${sig}`);
      const data = await problemFile(dir);
      const port = await freePort();
      const args = masterArgs({
        data,
        out: dir,
        port,
        workers: 2,
        delayMs: 50,
        lambda1: 1e-3,
        lambda2: 1e-4,
      });
      const master = track(new Proc('master', [...args, '--checkpoint-every', '0']));
      const ws = ['a', 'b'].map((n) => track(worker(n, `ws://127.0.0.1:${port}`, ['--give-up', '30'])));
      await master.waitFor((l) => l.msg === 'progress' && (l.k as number) > 20, 30000, 'progress');
      await sleep(200);
      master.signal(sig);
      expect(await master.exited).toEqual({ code: 0, signal: null });
      const summary = master.msg('summary')[0];
      expect(summary.reason).toBe(`signal ${sig}`);
      // the workers were told and left on their own, with exit code 0
      for (const w of ws) {
        expect(await w.exited).toEqual({ code: 0, signal: null });
        expect(w.lines.some((l) => l.msg === 'stopped by the master' && l.reason === `signal ${sig}`)).toBe(
          true,
        );
      }
      const model = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      expect(model.format).toBe('soda-model');
      expect(model.idx).toHaveLength(summary.nnz as number);
      const ck = readCheckpoint(path.join(dir, 'checkpoint.soda'));
      expect(ck.meta.k).toBe(summary.k);
      // the final w was evaluated before stopping: the checkpoint carries its objective
      expect(ck.meta.evaluated?.objective).toBe(summary.objective);
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    });
  }
});
