/*
 * What `npm run bench` runs: the paper's §4 on one machine. Full mode follows the paper (M = 20,
 * p ∈ {0.01, 0.1, 0.5, 0.9}, targets 1e−6 and 1e−10, madelon 10 runs per p; the text sets twice, as
 * two passes, to show the spread); --quick keeps the
 * shape with less of everything so that it ends in under 10 minutes on 2 cores.
 *
 * A run spec: { id, group, label, data (see data.js), workers, algo, p, seed, tol, targets, maxTime,
 * evalEvery, slowWorkers, slowdown }. `tol` is the smallest target: the run stops there.
 */

const SLOWDOWN = 4;

const MODES = {
  full: {
    describe:
      'M = 20; Fig. 1 on the full-size rcv1 and real-sim look-alikes and on spam, DAve-PG and SODA at ' +
      'p ∈ {0.01, 0.1, 0.5, 0.9}, to 1e−10 (rcv1 and real-sim twice: two passes, the second in reverse order); Fig. 2 on madelon (the registry’s: centred, λ1 = 5.5e−3), stopping on divergence, p ∈ {0.001, 0.01, 0.1, 0.3, 0.6, 1}, 10 seeds ' +
      'each, to 1e−10; synchronous baseline on rcv1 with and without one worker slowed ×4.',
    workers: 20,
    targets: [1e-6, 1e-10],
    evalEvery: 1,
    fig1: [
      // These reach 1e−10 in 5–20 s here: a 0.25 s clock keeps the times to a few per cent.
      { name: 'rcv1', data: { kind: 'named', name: 'rcv1' }, maxTime: 600, passes: 2, evalEvery: 0.25 },
      {
        name: 'real-sim',
        data: { kind: 'named', name: 'real-sim' },
        maxTime: 900,
        passes: 2,
        evalEvery: 0.25,
      },
      // Last: its κ ≈ 2·10³ makes each run many minutes; the rest of the tables come first.
      { name: 'spam', data: { kind: 'named', name: 'spam' }, maxTime: 1800, passes: 1, late: true },
    ],
    fig1P: [0.01, 0.1, 0.5, 0.9],
    fig2: {
      name: 'madelon',
      data: { kind: 'madelon' },
      p: [0.001, 0.01, 0.1, 0.3, 0.6, 1],
      seeds: 10,
      target: 1e-10,
      maxTime: 150,
      evalEvery: 0.25,
    },
    sync: { dataset: 'rcv1', p: 0.1, target: 1e-6, maxTime: 900, evalEvery: 0.25 },
  },
  quick: {
    describe:
      'M = 10; Fig. 1 on 10 000-row rcv1 and real-sim look-alikes (`soda data gen text --rows 10000`), ' +
      'DAve-PG and SODA at p ∈ {0.01, 0.1, 0.5}, to 1e−6 only (no spam: its κ ≈ 2·10³ needs minutes a run); ' +
      'Fig. 2 on madelon (the registry’s: centred, λ1 = 5.5e−3), stopping on divergence, p ∈ {0.01, 0.1, 1}, 2 seeds each, to 1e−6; synchronous baseline on the rcv1 subset.',
    workers: 10,
    targets: [1e-6],
    evalEvery: 0.2, // runs of a few seconds: a fine clock (an evaluation costs each worker one pass)
    fig1: [
      { name: 'rcv1 (10k rows)', data: { kind: 'text', like: 'rcv1', rows: 10000 }, maxTime: 120 },
      { name: 'real-sim (10k rows)', data: { kind: 'text', like: 'real-sim', rows: 10000 }, maxTime: 120 },
    ],
    fig1P: [0.01, 0.1, 0.5],
    fig2: {
      name: 'madelon',
      data: { kind: 'madelon' },
      p: [0.01, 0.1, 1],
      seeds: 2,
      target: 1e-6,
      maxTime: 60,
      evalEvery: 0.2,
    },
    sync: { dataset: 'rcv1 (10k rows)', p: 0.1, target: 1e-6, maxTime: 120 },
  },
};

function slug(s) {
  return s.replace(/[^a-z0-9.]+/gi, '-').replace(/-+$/, '');
}

function spec(mode, group, ds, algo, p, extra = {}) {
  const slowWorkers = extra.slowWorkers ?? 0;
  const seed = extra.seed ?? 1;
  const pass = extra.pass ?? 1;
  const tag = algo === 'soda' ? `soda-p${p}` : algo;
  const id = [
    group,
    slug(ds.name),
    tag,
    slowWorkers ? `slow${slowWorkers}` : '',
    extra.seed ? `s${seed}` : '',
    pass > 1 ? `pass${pass}` : '',
  ]
    .filter(Boolean)
    .join('_');
  return {
    id,
    group,
    dataset: ds.name,
    data: ds.data,
    workers: mode.workers,
    algo,
    p: algo === 'soda' ? p : 1,
    seed,
    pass,
    targets: extra.targets ?? mode.targets,
    tol: Math.min(...(extra.targets ?? mode.targets)),
    maxTime: extra.maxTime ?? ds.maxTime,
    evalEvery: extra.evalEvery ?? ds.evalEvery ?? mode.evalEvery,
    slowWorkers,
    slowdown: SLOWDOWN,
    extraArgs: extra.extraArgs ?? [],
  };
}

/** The ordered list of runs of a mode, restricted to the groups in `only` (fig1, fig2, sync). */
function buildPlan(modeName, only) {
  const mode = MODES[modeName];
  const want = (g) => only.length === 0 || only.includes(g);
  const runs = [];
  const fig1 = (late) => {
    if (!want('fig1')) return;
    for (const ds of mode.fig1.filter((d) => Boolean(d.late) === late))
      for (let pass = 1; pass <= (ds.passes ?? 1); pass++) {
        // Each pass is a full comparison; later passes run in reverse order so that a drift in the
        // machine's load does not always favour the same algorithm.
        const pr = [spec(mode, 'fig1', ds, 'dave-pg', 1, { pass })];
        for (const p of mode.fig1P) pr.push(spec(mode, 'fig1', ds, 'soda', p, { pass }));
        runs.push(...(pass % 2 === 0 ? pr.reverse() : pr));
      }
  };
  fig1(false);
  if (want('fig2')) {
    const f = mode.fig2;
    const ds = { name: f.name, data: f.data, maxTime: f.maxTime };
    // Seeds outer, p inner: a drift in the machine's load spreads over every p alike.
    for (let s = 1; s <= f.seeds; s++)
      for (const p of f.p)
        runs.push(
          spec(mode, 'fig2', ds, p === 1 ? 'dave-pg' : 'soda', p, {
            seed: s,
            targets: [f.target],
            evalEvery: f.evalEvery,
            // Count divergences as the paper does, instead of letting the master restart with a larger p.
            extraArgs: ['--on-divergence', 'stop'],
          }),
        );
  }
  if (want('sync')) {
    const s = mode.sync;
    const ds = mode.fig1.find((d) => d.name === s.dataset);
    const o = { targets: [s.target], maxTime: s.maxTime, ...(s.evalEvery ? { evalEvery: s.evalEvery } : {}) };
    // The un-slowed asynchronous runs come from fig1 (same data, M, seed) when it ran too.
    if (!want('fig1')) {
      runs.push(spec(mode, 'sync', ds, 'dave-pg', 1, o));
      runs.push(spec(mode, 'sync', ds, 'soda', s.p, o));
    }
    runs.push(spec(mode, 'sync', ds, 'sync-pg', 1, o));
    runs.push(spec(mode, 'sync', ds, 'sync-pg', 1, { ...o, slowWorkers: 1 }));
    runs.push(spec(mode, 'sync', ds, 'dave-pg', 1, { ...o, slowWorkers: 1 }));
    runs.push(spec(mode, 'sync', ds, 'soda', s.p, { ...o, slowWorkers: 1 }));
  }
  fig1(true);
  return { mode, runs };
}

module.exports = { MODES, buildPlan, SLOWDOWN };
