import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SodaError } from '@soda/core';
import { parseLogText, readRuns } from '../src/parse';
import { baseLabel, downsample, runLabels } from '../src/series';
import { fakeLog, fakePoints, type FakeRun } from './fixtures';

describe('parseLogText', () => {
  test('splits a file holding several runs at each start line, keeping their progress and summary', () => {
    const a: FakeRun = { algo: 'dave-pg', p: 1, evals: 7 };
    const b: FakeRun = { algo: 'soda', p: 0.1, evals: 4, reason: 'max-epochs' };
    const c: FakeRun = { algo: 'sync-pg', p: 1, evals: 3, noSummary: true };
    const text = [...fakeLog(a), ...fakeLog(b), ...fakeLog(c)].join('\n');
    const r = parseLogText(text, 'runs.jsonl');
    expect(r.junkLines).toBe(0);
    expect(r.badLines).toBe(0);
    expect(r.runs.map((x) => [x.start.algo, x.start.p, x.progress.length])).toEqual([
      ['dave-pg', 1, 7],
      ['soda', 0.1, 4],
      ['sync-pg', 1, 3],
    ]);
    // start lines sit at 1, 1 + (7 + 2), 1 + 9 + (4 + 2)
    expect(r.runs.map((x) => x.line)).toEqual([1, 10, 16]);
    expect(r.runs[0].summary?.reason).toBe('tol');
    expect(r.runs[1].summary?.reason).toBe('max-epochs');
    expect(r.runs[2].summary).toBeNull();
    const want = fakePoints(b);
    r.runs[1].progress.forEach((pt, i) => {
      expect(pt.subopt).toBeCloseTo(want[i].subopt, 15);
      expect(pt.coordsUp + pt.coordsDown).toBe(want[i].coordsUp + want[i].coordsDown);
      expect(pt.elapsedMs).toBe(want[i].elapsedMs);
      expect(pt.epoch).toBe(want[i].epoch);
    });
  });

  test('counts and skips lines that are not JSON objects; ignores other messages', () => {
    const lines = fakeLog({ algo: 'soda', p: 0.5, evals: 3 });
    const text = [
      'npm WARN something',
      lines[0],
      '{"level":30,"msg":"worker joined","id":3}',
      lines[1],
      '{ torn line',
      '42',
      '[1,2]',
      'null',
      '',
      lines[2],
      ...lines.slice(3),
    ].join('\n');
    const r = parseLogText(text, 'f');
    expect(r.junkLines).toBe(5);
    expect(r.badLines).toBe(0);
    expect(r.runs).toHaveLength(1);
    expect(r.runs[0].progress).toHaveLength(3);
  });

  test('progress lines outside a run or missing fields are bad lines, not data', () => {
    const lines = fakeLog({ algo: 'soda', p: 0.5, evals: 2 });
    const broken = JSON.parse(lines[1]);
    delete broken.coordsUp;
    const text = [
      lines[1], // progress before any start
      lines[0],
      JSON.stringify(broken),
      lines[2],
      lines[3], // summary
      lines[2], // progress after the summary
      JSON.stringify({ msg: 'start', algo: 'soda' }), // no p: cannot be labelled
      lines[1], // belongs to the broken start
    ].join('\n');
    const r = parseLogText(text, 'f');
    expect(r.runs).toHaveLength(1);
    expect(r.runs[0].progress).toHaveLength(1);
    expect(r.badLines).toBe(5);
  });

  test('a diverged objective (null in JSON) stays null', () => {
    const lines = fakeLog({ algo: 'soda', p: 0.5, evals: 1 });
    const pr = JSON.parse(lines[1]);
    pr.objective = null;
    pr.subopt = null;
    const r = parseLogText([lines[0], JSON.stringify(pr)].join('\n'), 'f');
    expect(r.runs[0].progress[0].objective).toBeNull();
    expect(r.runs[0].progress[0].subopt).toBeNull();
  });
});

describe('readRuns', () => {
  test('reads files in order and adds up skipped lines', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'soda-report-'));
    const f1 = path.join(dir, 'a.jsonl');
    const f2 = path.join(dir, 'b.jsonl');
    writeFileSync(f1, ['junk', ...fakeLog({ algo: 'dave-pg', p: 1, evals: 2 })].join('\n'));
    writeFileSync(f2, [...fakeLog({ algo: 'soda', p: 0.01, evals: 2 }), 'junk too'].join('\n'));
    const r = await readRuns([f1, f2]);
    expect(r.runs.map((x) => [x.file, x.start.algo])).toEqual([
      [f1, 'dave-pg'],
      [f2, 'soda'],
    ]);
    expect(r.junkLines).toBe(2);
  });

  test('a file that cannot be read is a SodaError naming it', async () => {
    const missing = path.join(os.tmpdir(), 'soda-no-such-dir', 'run.jsonl');
    const err = await readRuns([missing]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SodaError);
    expect((err as SodaError).code).toBe('E_IO');
    expect((err as SodaError).message).toContain(missing);
  });
});

describe('labels', () => {
  const runsOf = (specs: FakeRun[]) => parseLogText(specs.flatMap(fakeLog).join('\n'), 'f').runs;

  test('algorithm and p in the paper’s names', () => {
    expect(baseLabel('dave-pg', 1)).toBe('DAve-PG');
    expect(baseLabel('soda', 0.1)).toBe('SODA p=0.1');
    expect(baseLabel('sync-pg', 1)).toBe('sync-PG');
  });

  test('one dataset: no dataset in the label; repeats numbered in order', () => {
    const runs = runsOf([
      { algo: 'dave-pg', p: 1, evals: 1 },
      { algo: 'soda', p: 0.1, evals: 1 },
      { algo: 'soda', p: 0.1, evals: 1 },
      { algo: 'sync-pg', p: 1, evals: 1 },
    ]);
    expect(runLabels(runs)).toEqual(['DAve-PG', 'SODA p=0.1 #1', 'SODA p=0.1 #2', 'sync-PG']);
  });

  test('several datasets: the dataset joins the label', () => {
    const runs = runsOf([
      { algo: 'soda', p: 0.01, evals: 1, dataset: 'rcv1' },
      { algo: 'soda', p: 0.01, evals: 1, dataset: 'real-sim' },
    ]);
    expect(runLabels(runs)).toEqual(['SODA p=0.01 · rcv1', 'SODA p=0.01 · real-sim']);
  });
});

describe('downsample', () => {
  test('keeps short series whole', () => {
    expect(downsample([1, 2, 3], 5)).toEqual([1, 2, 3]);
  });

  test('bounds long series, keeps both ends, stays in order and evenly spread', () => {
    const pts = Array.from({ length: 10007 }, (_, i) => i);
    const d = downsample(pts, 2000);
    expect(d).toHaveLength(2000);
    expect(d[0]).toBe(0);
    expect(d[d.length - 1]).toBe(10006);
    for (let i = 1; i < d.length; i++) {
      const gap = d[i] - d[i - 1];
      // 10006 / 1999 ≈ 5.006: rounding gives gaps of 5 or 6 only
      expect(gap === 5 || gap === 6).toBe(true);
    }
  });
});
