/*
 * node scripts/bench/check.js — checks of the bench's pure parts (log reading, crossings, outcomes,
 * the BENCHMARKS.md splice, the plan) on hand-made inputs whose answers are known by construction.
 * Plain node:assert: the bench lives in scripts/, outside the jest projects.
 */
const assert = require('node:assert/strict');
const { parseLog, firstReach, outcome, ratio } = require('./metrics');
const { splice, SECTION } = require('./markdown');
const { buildPlan, MODES } = require('./plan');

// A log whose suboptimality halves every evaluation: 2^-k; the first value ≤ 1e-3 is at k = 10.
const lines = [JSON.stringify({ msg: 'start', L: 2, kappa: 2000 }), 'not json, a stray warning'];
for (let k = 0; k <= 12; k++)
  lines.push(
    JSON.stringify({
      msg: 'progress',
      k,
      epoch: k / 4,
      subopt: 2 ** -k,
      elapsedMs: 100 * k,
      updates: k,
      coordsUp: 3 * k,
      coordsDown: 5 * k,
      bytesUp: 36 * k,
      bytesDown: 60 * k,
    }),
  );
lines.push(JSON.stringify({ msg: 'divergence detected (F rose 3 times); restarting' }));
lines.push(JSON.stringify({ msg: 'summary', reason: 'tol', subopt: 2 ** -12 }));
const log = parseLog(lines.join('\n'));
assert.equal(log.progress.length, 13);
assert.equal(log.start.kappa, 2000);
assert.equal(log.divergences, 1);
const hit = firstReach(log.progress, 1e-3);
assert.equal(hit.updates, 10); // 2^-10 ≈ 9.8e-4 ≤ 1e-3 < 2^-9
assert.equal(hit.timeS, 1);
assert.equal(hit.coords, 80);
assert.equal(hit.bytes, 960);
assert.equal(firstReach(log.progress, 2 ** -12).updates, 12); // "at or below" includes equality
assert.equal(firstReach(log.progress, 1e-9), null);
assert.equal(outcome(log, 1e-3), 'reached');
assert.equal(outcome(log, 1e-9), 'not converged');
assert.equal(outcome({ ...log, summary: { reason: 'diverged' } }, 1e-9), 'diverged');
assert.equal(ratio(6, 3), 2);
assert.equal(ratio(6, null), null);
assert.equal(ratio(6, 0), null);

// The splice keeps other sections and prose, and replaces only its own mode's block.
const core = '## Core kernels (npm run bench:core)\n\nkernel table\n';
let md = `# Benchmarks\n\n${core}`;
md = splice(md, 'quick', 'Q1');
md = splice(md, 'full', 'F1');
md = md.replace('<!-- bench:full:end -->', '<!-- bench:full:end -->\n\nhand-written notes');
md = splice(md, 'quick', 'Q2');
assert.ok(md.includes(core));
assert.ok(md.includes('Q2') && !md.includes('Q1') && md.includes('F1'));
assert.ok(md.includes('hand-written notes'));
assert.equal(md.split(SECTION).length, 2);
assert.ok(splice('', 'quick', 'x').startsWith('# Benchmarks\n'));

// The plans: ids unique, every fig1 dataset has its DAve-PG run in each pass, quick is smaller.
for (const name of Object.keys(MODES)) {
  const { runs } = buildPlan(name, []);
  assert.equal(new Set(runs.map((r) => r.id)).size, runs.length, `${name}: duplicate run ids`);
  for (const r of runs.filter((x) => x.group === 'fig1'))
    assert.ok(
      runs.some(
        (d) => d.group === 'fig1' && d.dataset === r.dataset && d.pass === r.pass && d.algo === 'dave-pg',
      ),
    );
  for (const r of runs) assert.equal(r.tol, Math.min(...r.targets));
}
assert.ok(buildPlan('quick', []).runs.length < buildPlan('full', []).runs.length);
assert.ok(buildPlan('quick', ['fig2']).runs.every((r) => r.group === 'fig2'));

process.stdout.write('bench checks: ok\n');
