import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { csrFromDense, writeLibsvm } from '@soda/core';
import { plantedProblem } from '../helpers/problems';
import { freePort, killAll, masterArgs, Proc, tempDir, worker, type Line } from './helpers/procs';

/*
 * A worker's Δ can leave its shard's columns only on coordinates that have been in supp(w) (DESIGN.md,
 * "Where w_i lives"). A lying worker — its own process, helpers/off-column-attacker.js — sends a large
 * Δ on a column its shard does not have, outside supp(w): the master refuses it by name (E_FIELD,
 * delta-off-columns), expels the liar, a spare takes the shard over, and the run reaches its target.
 */

const dir = tempDir('off-columns');
const procs: Proc[] = [];
afterEach(() => killAll(procs.splice(0)));

/** A planted problem whose last 6 columns occur only in the second half of the rows (shard 1's). */
async function dataFile(): Promise<string> {
  const m = 400;
  const n = 30;
  const ds = plantedProblem(9, m, n);
  const rows = Array.from({ length: m }, (_, r) => {
    const dense = new Array<number>(n).fill(0);
    for (let q = ds.X.ptr[r]; q < ds.X.ptr[r + 1]; q++) dense[ds.X.ind[q]] = ds.X.val[q];
    if (r < m / 2) for (let j = n - 6; j < n; j++) dense[j] = 0;
    return dense;
  });
  const file = path.join(dir, 'two-halves.svm');
  await writeLibsvm(file, { X: csrFromDense(rows, n), y: ds.y });
  return file;
}

/** The attacker process: its JSON lines, and its exit. */
function attacker(
  url: string,
  shard: number,
): { lines: Line[]; exited: Promise<number | null>; kill: () => void } {
  const script = path.join(__dirname, 'helpers', 'off-column-attacker.js');
  const child = spawn(process.execPath, [script, url, String(shard)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Line[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (t) => lines.push(JSON.parse(t) as Line));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { lines, exited, kill: () => child.kill('SIGKILL') };
}

it('a Δ off the shard’s columns and outside supp(w) is refused by name, the liar expelled, the run completes (intercept on)', async () => {
  const data = await dataFile();
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}`;
  const out = path.join(dir, 'run');
  // contiguous shards: shard 0 = the first 200 rows, without the last 6 columns
  const args = masterArgs({ data, out, port, workers: 2, intercept: true, extra: ['--no-shuffle'] });
  const master = new Proc('master', args);
  procs.push(master);
  await master.waitFor((l) => String(l.msg).startsWith('waiting for workers 0/'), 30000, 'listening');
  const liar = attacker(url, 0);
  try {
    await master.waitFor((l) => l.msg === 'worker joined' && l.worker === 'attacker', 10000, 'attacker');
    procs.push(worker('honest', url, ['--give-up', '30', '--shard', '1']));
    procs.push(worker('spare', url, ['--give-up', '30', '--shard', '0'])); // waits for the liar's shard
    const refused = await master.waitFor(
      (l) => l.msg === 'frame rejected' && /^delta-off-columns: /.test(String(l.err)),
      30000,
      'the refusal',
    );
    expect(await liar.exited).toBe(0);
    const attack = liar.lines.find((l) => l.event === 'attack')!;
    expect(attack.column).toBe(29); // 30 is the intercept's column: in every shard's columns
    expect(refused).toMatchObject({ worker: 'attacker', code: 'E_FIELD', field: 'delta' });
    expect(String(refused.err)).toMatch(
      /^delta-off-columns: delta\[29\] = 1000, but column 29 is not one of/,
    );
    expect(liar.lines.find((l) => l.event === 'error-frame')).toMatchObject({ code: 'E_FIELD' });
    expect(liar.lines.find((l) => l.event === 'closed')!.code).toBe(1007); // E_FIELD's close code
    await master.waitFor(
      (l) => l.msg === 'shard assigned' && l.worker === 'spare' && l.shard === 0,
      10000,
      'takeover',
    );
    const summary = await master.waitFor((l) => l.msg === 'summary', 60000, 'summary');
    expect(summary.reason).toBe('tol');
    expect(summary.subopt as number).toBeLessThanOrEqual(1e-10);
    expect(summary.rejectedFrames).toBe(1);
    expect(await master.exited).toEqual({ code: 0, signal: null });
  } finally {
    liar.kill();
  }
}, 90000);
