/*
 * BENCHMARKS.md: tables of one bench run, spliced between markers inside the section
 * "## Cluster benchmark (npm run bench)" so that a quick run and a full run keep each other's
 * figures, and prose written outside the markers survives re-runs. Other sections are not touched.
 */
const fs = require('node:fs');
const { ratio, mean } = require('./metrics');

const SECTION = '## Cluster benchmark (npm run bench)';

function num(x, digits = 3) {
  if (x == null || !Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toPrecision(digits)} G`;
  if (a >= 1e6) return `${(x / 1e6).toPrecision(digits)} M`;
  if (a >= 1e4) return `${(x / 1e3).toPrecision(digits)} k`;
  if (a >= 100) return x.toFixed(0);
  return x.toPrecision(digits);
}

function mb(bytes) {
  return bytes == null ? '–' : (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0);
}

function times(x) {
  return x == null ? '–' : `${x.toFixed(2)}×`;
}

function eps(t) {
  return `1e−${Math.round(-Math.log10(t))}`;
}

function runName(r) {
  const base =
    r.spec.algo === 'soda' ? `SODA p = ${r.spec.p}` : r.spec.algo === 'dave-pg' ? 'DAve-PG' : 'sync-PG';
  const slow = r.spec.slowWorkers > 0 ? `, 1 worker ×${r.spec.slowdown} slower` : '';
  return `${base}${slow}${r.spec.pass > 1 ? ` (pass ${r.spec.pass})` : ''}`;
}

/** Share of the 2 cores other jobs took while the run ran (from /proc/stat), as a percentage. */
function others(r) {
  if (!r.proc.cpu) return '–';
  const earlier = (r.proc.busyAttempts ?? []).map((x) => `${Math.round(100 * x)} %`);
  const now = `${Math.round(100 * r.proc.cpu.others)} %`;
  return earlier.length ? `${now} (after attempts at ${earlier.join(', ')})` : now;
}

/** The DAve-PG run a run is compared with: same group, data and pass. */
function daveOf(results, r) {
  return results.find(
    (d) =>
      d.spec.group === r.spec.group &&
      d.spec.dataset === r.spec.dataset &&
      d.spec.pass === r.spec.pass &&
      d.spec.algo === 'dave-pg' &&
      d.spec.slowWorkers === 0,
  );
}

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function problemLine(r) {
  const s = r.m.start;
  if (!s) return '';
  return `m = ${s.m}, n = ${s.n}, L = ${num(s.L)}, κ = L/μ = ${num(s.kappa)}, γ = ${num(s.gamma)}, F* = ${num(s.fstar, 6)}`;
}

/** Fig. 1: one row per (run, target), with ratios to the DAve-PG run on the same data. */
function fig1(results, targets) {
  const out = [];
  const datasets = [...new Set(results.filter((r) => r.spec.group === 'fig1').map((r) => r.spec.dataset))];
  for (const ds of datasets) {
    const runs = results.filter((r) => r.spec.group === 'fig1' && r.spec.dataset === ds);
    out.push(
      `##### ${ds}\n\n${problemLine(runs[0])}; support of the last w: ${runs
        .filter((r) => r.spec.pass === 1)
        .map((r) => `${runName(r)} ${num(r.m.end?.supportPct)} %`)
        .join(', ')}.`,
    );
    const restarted = runs.filter((r) => r.m.divergences > 0);
    if (restarted.length)
      out.push(
        `Divergence detected by the master (it restarted from the best point with a larger p): ${restarted
          .map((r) => `${runName(r)} ${r.m.divergences}×`)
          .join(', ')}.`,
      );
    const rows = [];
    for (const r of runs)
      for (const t of targets) {
        const c = r.m.reach[String(t)];
        const d = daveOf(results, r)?.m.reach[String(t)];
        rows.push([
          runName(r),
          eps(t),
          c ? num(c.timeS) : `not reached (${r.m.end?.reason ?? 'no summary'}, ${num(r.m.end?.subopt)})`,
          c ? num(c.epochs) : '–',
          c ? num(c.updates) : '–',
          c ? num(c.coordsUp) : '–',
          c ? num(c.coordsDown) : '–',
          c ? mb(c.bytes) : '–',
          times(ratio(d?.timeS, c?.timeS)),
          times(ratio(c?.coords, d?.coords)),
          others(r),
        ]);
      }
    out.push(
      table(
        [
          'run',
          'ε',
          'time (s)',
          'epochs',
          'updates',
          'coords up',
          'coords down',
          'MB up+down',
          'speed-up (DAve time ÷ this)',
          'coords ÷ DAve',
          "other jobs' CPU",
        ],
        rows,
      ),
    );
  }
  return out.join('\n\n');
}

/** Fig. 2: per p, exchanges to reach the target over the seeds, and how many did not get there. */
function fig2(results) {
  const runs = results.filter((r) => r.spec.group === 'fig2');
  if (runs.length === 0) return '';
  const target = runs[0].spec.tol;
  const ps = [...new Set(runs.map((r) => r.spec.p))].sort((a, b) => a - b);
  const stats = ps.map((p) => {
    const rs = runs.filter((r) => r.spec.p === p);
    const ok = rs.map((r) => r.m.reach[String(target)]).filter(Boolean);
    const coords = ok.map((c) => c.coords);
    return {
      p,
      n: rs.length,
      reached: ok.length,
      diverged: rs.filter((r) => r.m.outcome[String(target)] === 'diverged').length,
      notConverged: rs.filter((r) => r.m.outcome[String(target)] === 'not converged').length,
      coords,
      meanCoords: mean(coords),
      meanUpdates: mean(ok.map((c) => c.updates)),
      meanTime: mean(ok.map((c) => c.timeS)),
      meanEpochs: mean(ok.map((c) => c.epochs)),
    };
  });
  const dave = stats.find((s) => s.p === 1);
  const rows = stats.map((s) => [
    s.p === 1 ? '1 (DAve-PG)' : String(s.p),
    String(s.n),
    String(s.reached),
    String(s.diverged),
    String(s.notConverged),
    s.coords.length
      ? `${num(s.meanCoords)} [${num(Math.min(...s.coords))} – ${num(Math.max(...s.coords))}]`
      : '–',
    num(s.meanUpdates),
    num(s.meanEpochs),
    num(s.meanTime),
    times(ratio(s.meanCoords, dave?.meanCoords)),
  ]);
  return [
    `${problemLine(runs[0])}; target ε = ${eps(target)}; seeds 1…${Math.max(...runs.map((r) => r.spec.seed))} ` +
      '(the seed changes the sharding and the masks, not the data).\n',
    table(
      [
        'p',
        'runs',
        `reached ${eps(target)}`,
        'diverged',
        'not converged',
        'coords exchanged (up+down) to ε: mean [min – max]',
        'updates (mean)',
        'epochs (mean)',
        'time s (mean)',
        'mean coords ÷ DAve-PG',
      ],
      rows,
    ),
  ].join('\n');
}

/** The synchronous baseline next to the asynchronous runs, with and without a slow worker. */
function sync(results, syncDataset, target) {
  const runs = results.filter(
    (r) =>
      r.spec.dataset === syncDataset &&
      (r.spec.group === 'sync' ||
        (r.spec.group === 'fig1' && (r.spec.algo === 'dave-pg' || r.spec.p === 0.1))),
  );
  if (!runs.some((r) => r.spec.group === 'sync')) return '';
  const base = runs.find((r) => r.spec.algo === 'sync-pg' && r.spec.slowWorkers === 0);
  const bt = base?.m.reach[String(target)]?.timeS;
  const rows = runs.map((r) => {
    const c = r.m.reach[String(target)];
    return [
      runName(r),
      c ? num(c.timeS) : `not reached (${r.m.end?.reason ?? '?'})`,
      c ? num(c.epochs) : '–',
      c ? num(c.updates) : '–',
      c ? num(c.coords) : '–',
      times(ratio(c?.timeS, bt)),
      others(r),
    ];
  });
  return [
    `${syncDataset}, target ε = ${eps(target)}.\n`,
    table(
      [
        'run',
        'time (s)',
        'epochs',
        'updates',
        'coords up+down',
        'time ÷ sync-PG (no slow worker)',
        "other jobs' CPU",
      ],
      rows,
    ),
  ].join('\n');
}

/** "Paper vs here": the claims of §4 next to this run's ratios. */
function headline(results, mode) {
  const lines = [];
  const f1 = results.filter((r) => r.spec.group === 'fig1' && r.spec.algo === 'soda' && r.spec.p === 0.1);
  if (f1.length) {
    const per = [...new Set(f1.map((r) => r.spec.dataset))].map((ds) => {
      const rs = f1.filter((r) => r.spec.dataset === ds);
      const byT = mode.targets.map((t) => {
        const xs = rs.map((r) => {
          const c = r.m.reach[String(t)];
          const d = daveOf(results, r)?.m.reach[String(t)];
          return `${times(ratio(d?.timeS, c?.timeS))} faster with ${times(ratio(c?.coords, d?.coords))} the coordinates`;
        });
        return `to ${eps(t)} ${xs.join(' / ')}`;
      });
      return `${ds}: ${byT.join('; ')}`;
    });
    lines.push(
      '- Fig. 1, paper: SODA up to 2× faster than DAve-PG at p = 0.1 on rcv1 and real-sim (M = 20, one ' +
        `machine per worker). Here, SODA p = 0.1 vs DAve-PG${f1.some((r) => r.spec.pass > 1) ? ' (pass 1 / pass 2)' : ''}: ` +
        `${per.join('. ')}.`,
    );
  }
  const f2 = results.filter((r) => r.spec.group === 'fig2');
  if (f2.length) {
    const t = String(f2[0].spec.tol);
    const ps = [...new Set(f2.map((r) => r.spec.p))].sort((a, b) => a - b);
    const meanCoords = (p) =>
      mean(
        f2
          .filter((r) => r.spec.p === p)
          .map((r) => r.m.reach[t]?.coords)
          .filter((x) => x != null),
      );
    const dave = meanCoords(1);
    const parts = ps
      .filter((p) => p !== 1)
      .map((p) => {
        const rs = f2.filter((r) => r.spec.p === p);
        const ok = rs.filter((r) => r.m.reach[t]).length;
        return `p = ${p}: ${times(ratio(meanCoords(p), dave))} DAve-PG's exchanges, ${ok}/${rs.length} reached`;
      });
    lines.push(
      '- Fig. 2, paper: on madelon SODA reaches the optimum with much fewer exchanges than DAve-PG in most ' +
        "cases; at low p fewer of the 10 runs converge, and as p → 1 the exchanges tend to DAve-PG's; best " +
        `compromise p ∈ [0.01, 0.6]. Here (${eps(Number(t))}): ${parts.join('; ')}.`,
    );
  }
  const sy = results.filter((r) => r.spec.group === 'sync');
  if (sy.length) {
    const t = String(mode.sync.target);
    const find = (algo, slow) =>
      results.find(
        (r) =>
          r.spec.dataset === mode.sync.dataset &&
          r.spec.algo === algo &&
          r.spec.slowWorkers === slow &&
          r.spec.pass === 1 &&
          (algo !== 'soda' || r.spec.p === mode.sync.p),
      )?.m.reach[t]?.timeS;
    const slowdown = (algo) => times(ratio(find(algo, 1), find(algo, 0)));
    lines.push(
      `- Slow worker (×${sy[0].spec.slowdown}): time to ${eps(Number(t))} with it ÷ without it: sync-PG ` +
        `${slowdown('sync-pg')}, DAve-PG ${slowdown('dave-pg')}, SODA p = ${mode.sync.p} ${slowdown('soda')} ` +
        '(the paper has no synchronous experiment; its introduction motivates asynchrony by slow machines).',
    );
  }
  return lines.join('\n');
}

/** The evaluation periods of the runs, e.g. "0.25" or "0.25–1". */
function clock(results) {
  const xs = [...new Set(results.map((r) => r.spec.evalEvery))].sort((a, b) => a - b);
  return xs.length > 1
    ? `${xs[0]}–${xs[xs.length - 1]} s (the shorter period for the shorter runs)`
    : `${xs[0]} s`;
}

/** The whole block of one mode (quick or full). */
function renderBlock(ctx) {
  const { modeName, mode, results, machine, wallS, command, startedAt } = ctx;
  const shares = results.filter((r) => r.proc.cpu).map((r) => r.proc.cpu.others);
  const parts = [
    `### ${modeName === 'quick' ? 'Quick run' : 'Full run'}: \`${command}\``,
    '',
    ...(ctx.partial ? [`**Partial: ${ctx.partial}; the tables fill in as the script goes on.**`, ''] : []),
    `Measured ${startedAt} on ${machine.cpus} × ${machine.model} (os.cpus()), ${machine.memGB} GB RAM, ` +
      `${machine.os}, Node ${machine.node}` +
      (ctx.resumed ? ` (${ctx.resumed} runs from an earlier invocation, taken over with --resume)` : '') +
      `. Wall time: ${(wallS / 60).toFixed(1)} min for ${results.length} ` +
      'cluster runs, one at a time, each a master and ' +
      `${mode.workers} worker processes sharing the ${machine.cpus} cores (the paper had a cluster: a machine per worker). ` +
      (shares.length
        ? `Other jobs on this shared machine took ${Math.round(100 * Math.min(...shares))}–` +
          `${Math.round(100 * Math.max(...shares))} % of its CPU during the runs (mean ` +
          `${Math.round(100 * mean(shares))} %; per run in the tables): absolute times move with that, ` +
          'so compare ratios within a pass.'
        : ''),
    '',
    `What this mode runs: ${mode.describe}`,
    '',
    'Figures are read from the first `progress` line at or below ε (evaluations every ' +
      `${clock(results)}, so times are upper bounds by up to one period); "time" is the master's training ` +
      'clock (elapsedMs, after all workers are ready); coords up = non-zeros of the Δs the workers sent, ' +
      'coords down = non-zeros of the models the master sent back; MB = frame bytes both ways.',
    '',
  ];
  const h = headline(results, mode);
  if (h) parts.push('#### Paper vs here', '', h, '');
  const f1 = fig1(results, mode.targets);
  if (f1) parts.push('#### Fig. 1: SODA vs DAve-PG to suboptimality ε', '', f1, '');
  const f2 = fig2(results);
  if (f2) parts.push('#### Fig. 2: madelon, exchanges to reach ε for several p', '', f2, '');
  const s = sync(results, mode.sync.dataset, mode.sync.target);
  if (s) parts.push('#### Synchronous baseline and a slow worker', '', s, '');
  const failed = results.filter((r) => r.proc.exitCode !== 0 && r.m.end?.reason !== 'diverged');
  if (failed.length)
    parts.push(
      `Runs whose process did not exit cleanly: ${failed.map((r) => `${r.spec.id} (exit ${r.proc.exitCode}, see ${r.proc.errFile})`).join(', ')}.`,
      '',
    );
  return parts.join('\n');
}

/** Put `block` between this mode's markers in the section, creating file, section or markers as needed. */
function splice(text, modeName, block) {
  const open = `<!-- bench:${modeName}:start -->`;
  const close = `<!-- bench:${modeName}:end -->`;
  const body = `${open}\n${block.trim()}\n${close}`;
  if (!text.trim()) text = '# Benchmarks\n';
  if (!text.includes(SECTION)) text = `${text.trimEnd()}\n\n${SECTION}\n\n`;
  const start = text.indexOf(SECTION);
  const next = text.indexOf('\n## ', start + SECTION.length);
  const end = next === -1 ? text.length : next + 1;
  let section = text.slice(start, end);
  const i = section.indexOf(open);
  const j = section.indexOf(close);
  if (i !== -1 && j > i) section = section.slice(0, i) + body + section.slice(j + close.length);
  else section = `${section.trimEnd()}\n\n${body}\n`;
  if (!section.endsWith('\n\n') && next !== -1) section = section.trimEnd() + '\n\n';
  return text.slice(0, start) + section + text.slice(end);
}

function writeSection(file, modeName, block) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  fs.writeFileSync(file, splice(text, modeName, block).trimEnd() + '\n');
}

module.exports = { renderBlock, splice, writeSection, SECTION, num };
