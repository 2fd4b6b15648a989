/** Hand-made master logs: what `soda run` prints, with geometric suboptimality decay. */

export interface FakeRun {
  algo: 'soda' | 'dave-pg' | 'sync-pg';
  p: number;
  dataset?: string;
  /** Progress lines to write. */
  evals: number;
  /** subopt at eval i = s0 · rate^i. */
  s0?: number;
  rate?: number;
  reason?: string;
  tol?: number;
  /** Coordinates sent per eval, up and down. */
  upPerEval?: number;
  downPerEval?: number;
  workers?: number;
  /** Leave the summary line out (a run cut short). */
  noSummary?: boolean;
}

export interface FakePoint {
  k: number;
  epoch: number;
  subopt: number;
  supportPct: number;
  coordsUp: number;
  coordsDown: number;
  elapsedMs: number;
}

/** The progress points a FakeRun logs, computed from its parameters alone. */
export function fakePoints(r: FakeRun): FakePoint[] {
  const M = r.workers ?? 4;
  const s0 = r.s0 ?? 1;
  const rate = r.rate ?? 0.5;
  const out: FakePoint[] = [];
  for (let i = 0; i < r.evals; i++) {
    const k = (i + 1) * M * 2;
    out.push({
      k,
      epoch: k / M,
      subopt: s0 * rate ** i,
      supportPct: 50 / (1 + i),
      coordsUp: (i + 1) * (r.upPerEval ?? 100),
      coordsDown: (i + 1) * (r.downPerEval ?? 40),
      elapsedMs: (i + 1) * 250,
    });
  }
  return out;
}

export function fakeLog(r: FakeRun): string[] {
  const M = r.workers ?? 4;
  const base = { level: 30, time: 1700000000000, pid: 1, hostname: 'h' };
  const lines = [
    JSON.stringify({
      ...base,
      algo: r.algo,
      p: r.p,
      workers: M,
      dataset: r.dataset ?? 'madelon',
      m: 2000,
      n: 500,
      lambda1: 0.02,
      lambda2: 0.001,
      L: 1.2,
      mu: 0.001,
      kappa: 1200,
      gamma: 1.6,
      fstar: 0.5,
      ...(r.tol !== undefined ? { tol: r.tol } : {}),
      msg: 'start',
    }),
  ];
  const pts = fakePoints(r);
  for (const pt of pts)
    lines.push(
      JSON.stringify({
        ...base,
        ...pt,
        objective: 0.5 * (1 + pt.subopt),
        nnz: Math.round(pt.supportPct * 5),
        accuracy: 0.9,
        updates: pt.k,
        bytesUp: pt.coordsUp * 12,
        bytesDown: pt.coordsDown * 12,
        rejectedFrames: 0,
        departures: 0,
        delayMean: 1,
        delayMax: 3,
        workers: M,
        msg: 'progress',
      }),
    );
  if (!r.noSummary) {
    const last = pts[pts.length - 1];
    lines.push(
      JSON.stringify({
        ...base,
        reason: r.reason ?? 'tol',
        objective: 0.5 * (1 + last.subopt),
        fstar: 0.5,
        subopt: last.subopt,
        k: last.k,
        epochs: last.epoch,
        updates: last.k,
        coordsUp: last.coordsUp,
        coordsDown: last.coordsDown,
        bytesUp: last.coordsUp * 12,
        bytesDown: last.coordsDown * 12,
        elapsedMs: last.elapsedMs,
        nnz: 10,
        supportPct: 2,
        algo: r.algo,
        p: r.p,
        workers: M,
        msg: 'summary',
      }),
    );
  }
  return lines;
}
