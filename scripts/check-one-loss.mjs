/*
 * npm run lint:copies (with jscpd) — the loss lives once, in packages/core/src/logistic.ts.
 *
 * jscpd finds pasted blocks, but a σ or a soft-threshold is one or two lines and is usually re-typed,
 * not pasted (Math.exp for exp, other names). This check looks for the expressions themselves in every
 * package's sources and fails, naming file and line, when one appears outside the loss module:
 *   σ:              1/(1 + e^{±z}) or e/(1 + e)
 *   soft-threshold: v > t ? v − t … or if (v > t) return v − t
 *   margins:        z[ind[k]] += val[k]·w_j (CSC) or s += val[k]·w[ind[k]] (CSR)
 *
 *   node scripts/check-one-loss.mjs [files…]   (default: packages/*\/src/**\/*.ts)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const HOME = 'packages/core/src/logistic.ts';

const RULES = [
  { what: 'σ (the sigmoid)', re: /\b1\s*\/\s*\(\s*1\s*\+\s*(?:Math\.)?exp\s*\(/ },
  { what: 'σ (the sigmoid)', re: /\b(\w+)\s*\/\s*\(\s*1\s*\+\s*\1\s*\)/ },
  { what: 'the soft-threshold', re: /\b(\w+)\s*>\s*(\w+)\s*\?\s*\1\s*-\s*\2\b/ },
  { what: 'the soft-threshold', re: /if\s*\(\s*(\w+)\s*>\s*(\w+)\s*\)\s*return\s+\1\s*-\s*\2\b/ },
  { what: 'the margins kernel', re: /\bz\s*\[\s*ind\s*\[\s*k\s*\]\s*\]\s*\+=\s*val\s*\[\s*k\s*\]\s*\*/ },
  { what: 'the margins kernel', re: /\+=\s*val\s*\[\s*k\s*\]\s*\*\s*w\s*\[\s*ind\s*\[\s*k\s*\]\s*\]/ },
];

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const src = join(root, 'packages', pkg, 'src');
    try {
      if (statSync(src).isDirectory()) walk(src);
    } catch {
      // a package without sources
    }
  }
  return out;
}

const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => join(process.cwd(), f)) : sources();
const found = [];
for (const file of files) {
  const rel = relative(root, file);
  if (rel === HOME) continue;
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may write the formulas
    for (const rule of RULES)
      if (rule.re.test(line)) found.push(`${rel}:${i + 1}: ${rule.what}: ${line.trim()}`);
  });
}
if (found.length > 0) {
  console.error(`The loss lives in ${HOME}; import it from @soda/core instead of writing it again:`);
  for (const f of found) console.error('  ' + f);
  process.exit(1);
}
console.log(
  `one loss: σ, the soft-threshold and the margins kernel appear only in ${HOME} (${files.length} files)`,
);
