import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** npm run lint:copies' second half: σ, the soft-threshold and the margins kernel live in core/logistic.ts. */
const script = path.join(__dirname, '..', 'scripts', 'check-one-loss.mjs');

function check(files: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, ...files], { encoding: 'utf8', cwd: '/' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function fileWith(name: string, text: string): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'one-loss-')), name);
  writeFileSync(f, text);
  return f;
}

describe('the one-loss check (scripts/check-one-loss.mjs)', () => {
  it('passes on the repository as it is', () => {
    const r = check([]);
    expect(r.out).toMatch(/^one loss: /);
    expect(r.status).toBe(0);
  });

  it.each([
    ['a re-typed σ', 'const s = (z: number) => 1 / (1 + Math.exp(-z));\n', /σ \(the sigmoid\)/],
    ['σ as e/(1 + e)', 'const f = (e: number) => e / (1 + e);\n', /σ/],
    [
      'a soft-threshold',
      'const st = (v: number, t: number) => (v > t ? v - t : v < -t ? v + t : 0);\n',
      /soft-threshold/,
    ],
    ['a margins loop', 'for (let k = a; k < b; k++) z[ind[k]] += val[k] * wj;\n', /margins kernel/],
  ])('fails on %s, naming the file and line', (_what, text, rule) => {
    const f = fileWith('copy.ts', '// a module\n' + text);
    const r = check([f]);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(rule);
    expect(r.out).toContain('copy.ts:2');
  });

  it('lets comments write the formulas', () => {
    expect(check([fileWith('doc.ts', '// σ(z) = 1 / (1 + exp(-z))\n')]).status).toBe(0);
  });
});
