/*
 * Reading a run's JSON log: the first `progress` line at or below each suboptimality target, the
 * `summary`, and ratios between runs. Pure functions over parsed records, so they are easy to check.
 */
const fs = require('node:fs');
// The record shapes and their `msg` values are the master's typed log contract (built by `npm run bench`).
const { LOG_MSG } = require('../../packages/protocol/dist');

/**
 * @typedef {import('../../packages/protocol/dist').StartRecord} StartRecord
 * @typedef {import('../../packages/protocol/dist').ProgressRecord} ProgressRecord
 * @typedef {import('../../packages/protocol/dist').SummaryRecord} SummaryRecord
 */

/**
 * Parse a pino JSON-lines log; lines that are not JSON (a stray warning) are skipped.
 * @returns {{ start: StartRecord | null, progress: ProgressRecord[], summary: SummaryRecord | null, divergences: number }}
 */
function parseLog(text) {
  /** @type {StartRecord[]} */
  const start = [];
  /** @type {ProgressRecord[]} */
  const progress = [];
  /** @type {SummaryRecord | null} */
  let summary = null;
  let divergences = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let r;
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    if (r.msg === LOG_MSG.start) start.push(r);
    else if (r.msg === LOG_MSG.progress) progress.push(r);
    else if (r.msg === LOG_MSG.summary) summary = r;
    else if (typeof r.msg === 'string' && r.msg.startsWith('divergence detected')) divergences++;
  }
  return { start: start[0] ?? null, progress, summary, divergences };
}

function readLog(file) {
  return parseLog(fs.readFileSync(file, 'utf8'));
}

/** What it cost to get there: the counters of one progress line. */
function costOf(r) {
  return {
    timeS: r.elapsedMs / 1000,
    epochs: r.epoch,
    updates: r.updates,
    coordsUp: r.coordsUp,
    coordsDown: r.coordsDown,
    coords: r.coordsUp + r.coordsDown,
    bytes: r.bytesUp + r.bytesDown,
    subopt: r.subopt,
  };
}

/**
 * The first evaluation with suboptimality ≤ target (evaluations are every --eval-every seconds, so
 * this is an upper bound on the true crossing by at most one evaluation period); null if never.
 */
function firstReach(progress, target) {
  for (const r of progress) if (typeof r.subopt === 'number' && r.subopt <= target) return costOf(r);
  return null;
}

/**
 * How a run ended: 'reached' the target, 'diverged' (the master said so), or 'not converged' (it
 * stopped on max-time / max-epochs / anything else above the target).
 */
function outcome(log, target) {
  if (firstReach(log.progress, target) !== null) return 'reached';
  if (log.summary && log.summary.reason === 'diverged') return 'diverged';
  return 'not converged';
}

/** Everything the tables need from one run, for the given targets. */
function measureRun(log, targets) {
  const s = log.summary;
  return {
    start: log.start
      ? {
          L: log.start.L,
          kappa: log.start.kappa,
          gamma: log.start.gamma,
          fstar: log.start.fstar,
          m: log.start.m,
          n: log.start.n,
          dataset: log.start.dataset,
        }
      : null,
    reach: Object.fromEntries(targets.map((t) => [String(t), firstReach(log.progress, t)])),
    outcome: Object.fromEntries(targets.map((t) => [String(t), outcome(log, t)])),
    end: s
      ? {
          reason: s.reason,
          subopt: s.subopt,
          timeS: s.elapsedMs / 1000,
          epochs: s.epochs,
          updates: s.updates,
          coords: s.coordsUp + s.coordsDown,
          bytes: s.bytesUp + s.bytesDown,
          supportPct: s.supportPct,
        }
      : null,
    evaluations: log.progress.length,
    // Divergences the master detected; with --on-divergence restart each one restarted the run.
    divergences: log.divergences ?? 0,
  };
}

/** a / b, or null when either is missing or b is 0. */
function ratio(a, b) {
  return a == null || b == null || b === 0 ? null : a / b;
}

function mean(xs) {
  return xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length;
}

module.exports = { parseLog, readLog, firstReach, outcome, measureRun, ratio, mean };
