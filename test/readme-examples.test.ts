import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeLibsvm, type Dataset } from '@soda/core';
import { plantedProblem } from './helpers/problems';

/*
 * The README's command examples, run (so the README cannot drift from the program). Walked: every
 * indented line of README.md that starts with `npx soda` (`npx soda` → `node packages/cli/bin/soda.js`;
 * a trailing `# comment` dropped; `a; b` runs a then b; `> FILE` sends stdout to FILE; the placeholder
 * `…` means "no more options"). Each runs in one shared folder (so later lines find what earlier ones
 * wrote, e.g. model.json) with a short budget: SODA_MAX_TIME=2 s of training (a run then exits 0 or 4,
 * "budget before --tol") and at most 4 workers (SODA_WORKERS=4, and `--workers N` run as
 * `--workers min(N, 4)`: 20 worker processes starting at once on a loaded test machine can miss the
 * master's 5 s hello deadline); everything else must exit 0.
 * Skipped, by one explicit rule: `soda master` and `soda worker` examples, which wait for a peer on
 * another host (a fixed port, ws://HOST); test/cluster.test.ts runs that pair over real sockets.
 * Files an example reads but no earlier one writes are made here (FIXTURES), as small as will do.
 */

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'soda.js');
const dir = mkdtempSync(path.join(tmpdir(), 'soda-readme-'));
const MAX_WORKERS = 4;

interface Example {
  readonly line: number;
  readonly text: string;
}

/** Every `npx soda` example line of the README, comment stripped. */
function examples(): Example[] {
  return readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    .split('\n')
    .map((text, i) => ({ line: i + 1, text }))
    .filter((e) => /^ {4}npx soda /.test(e.text))
    .map((e) => ({ line: e.line, text: e.text.replace(/\s+#.*$/, '').trim() }));
}

const needsPeer = (e: Example): boolean => /^npx soda (master|worker)\b/.test(e.text);

const problem = (m: number): Dataset => plantedProblem(3, m, 10);

function denseCsv(d: Dataset, names: string[], labelled: boolean): string {
  const rows = [labelled ? [...names, 'label'].join(',') : names.join(',')];
  for (let i = 0; i < d.X.rows; i++) {
    const r = new Array<number>(names.length).fill(0);
    for (let k = d.X.ptr[i]; k < d.X.ptr[i + 1]; k++) r[d.X.ind[k]] = d.X.val[k];
    rows.push((labelled ? [...r, d.y[i]] : r).join(','));
  }
  return rows.join('\n') + '\n';
}

/** Files the examples read that no earlier example writes, made on first need. */
const FIXTURES: Record<string, () => Promise<void> | void> = {
  'my.svm': () => writeLibsvm(path.join(dir, 'my.svm'), problem(200)),
  'train.svm.gz': async () => {
    await writeLibsvm(path.join(dir, 'plain.svm'), problem(200));
    writeFileSync(path.join(dir, 'train.svm.gz'), gzipSync(readFileSync(path.join(dir, 'plain.svm'))));
  },
  'train.csv': () => {
    const names = Array.from({ length: 10 }, (_, j) => `f${j + 1}`);
    writeFileSync(path.join(dir, 'train.csv'), denseCsv(problem(200), names, true));
  },
  // the model of `soda solve --dataset spam --out model.json` names spam's terms: a CSV to predict
  // on has them as its header (rows: the first messages of spam.svm, from `soda data spam`)
  'new.csv': () => {
    const terms = readFileSync(path.join(dir, 'spam.terms.txt'), 'utf8').split('\n').slice(0, -1);
    const rows = readFileSync(path.join(dir, 'spam.svm'), 'utf8').split('\n').slice(0, 5);
    const out = [terms.map((t) => (/[",]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t)).join(',')];
    for (const r of rows) {
      const dense = new Array<number>(terms.length).fill(0);
      for (const tok of r.split(' ').slice(1)) {
        const [j, v] = tok.split(':');
        dense[Number(j) - 1] = Number(v);
      }
      out.push(dense.join(','));
    }
    writeFileSync(path.join(dir, 'new.csv'), out.join('\n') + '\n');
  },
  'test.svm': () => {
    const rows = readFileSync(path.join(dir, 'spam.svm'), 'utf8').split('\n').slice(0, 50);
    writeFileSync(path.join(dir, 'test.svm'), rows.join('\n') + '\n');
  },
};

/** Runs one `npx soda …` command (no shell): its arguments, and stdout to `> FILE` when given. */
async function runPart(part: string): Promise<{ status: number | null; stderr: string; args: string[] }> {
  let cmd = part.replace(/…/g, ' ').trim();
  let stdoutFile: string | undefined;
  const redirect = /\s>\s*(\S+)$/.exec(cmd);
  if (redirect) {
    stdoutFile = redirect[1];
    cmd = cmd.slice(0, redirect.index).trim();
  }
  if (/['"`$|&<]/.test(cmd)) throw new Error(`the walker does not handle shell syntax in: ${part}`);
  const args = cmd
    .split(/\s+/)
    .map((a, i, all) => (all[i - 1] === '--workers' ? String(Math.min(Number(a), MAX_WORKERS)) : a));
  if (args[0] !== 'npx' || args[1] !== 'soda') throw new Error(`not an npx soda command: ${part}`);
  for (const a of args.slice(2)) if (FIXTURES[a] && !existsSync(path.join(dir, a))) await FIXTURES[a]();
  const r = spawnSync(process.execPath, [BIN, ...args.slice(2)], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 240000,
    maxBuffer: 1 << 28,
    env: {
      ...process.env,
      SODA_MAX_TIME: '2',
      SODA_WORKERS: String(MAX_WORKERS),
      SODA_WAIT_TIMEOUT: '120',
      SODA_PRETTY: 'false',
    },
  });
  if (stdoutFile) writeFileSync(path.join(dir, stdoutFile), r.stdout);
  return { status: r.status, stderr: r.stderr, args: args.slice(2) };
}

describe('the README command examples run as written', () => {
  const all = examples();
  const walked = all.filter((e) => !needsPeer(e));

  test('the walker finds the examples (a count, so it cannot silently walk nothing)', () => {
    expect(all.length).toBe(17);
    expect(all.filter(needsPeer).map((e) => e.text)).toEqual([
      'npx soda master --workers 20 --port 7070',
      'npx soda worker --master ws://HOST:7070',
      'npx soda worker --master ws://HOST:7070 --count 8',
    ]);
    expect(walked.length).toBe(14);
  });

  test.each(walked.map((e) => [e.line, e.text] as const))(
    'README.md:%i  %s',
    async (_line, text) => {
      for (const part of text.split(';')) {
        const r = await runPart(part);
        const ok = r.args[0] === 'run' ? [0, 4] : [0];
        if (!ok.includes(r.status ?? -1))
          throw new Error(`${part.trim()} exited ${r.status}:\n${r.stderr.slice(-2000)}`);
        // quiet tools: a normal run prints no warning (npm's, Node's or ours)
        expect(r.stderr).not.toMatch(/Warning|npm warn/);
      }
    },
    300000,
  );
});
