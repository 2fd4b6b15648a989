import {
  divisorsFromMaxima,
  GapAccumulator,
  SodaError,
  type SparseVector,
  type GapResult,
  type SplitManifest,
} from '@soda/core';
import type { EvalResult, Ready, Stats } from '@soda/protocol';

/*
 * The master's pure bookkeeping for runs where the workers hold the data (no --data on the master):
 * the stats round (n, m_i, π_i = m_i/m and the max-abs divisors learnt from the workers, checked against
 * the split manifest when there is one), the check of a later `ready` (a spare that re-read a shard),
 * the evaluation round's gap parts, and which stopping rule is in force. No I/O, no clock: the
 * coordinator feeds frames in and sends what these return. State is O(M + n), never O(m) or O(nnz).
 */

/** What the master keeps of a shard once the stats round is over. */
export interface OwnShardFacts {
  readonly m: number;
  readonly nnz: number;
  readonly hash?: string;
}

export interface StatsRoundResult {
  readonly n: number;
  /** m = Σ m_i */
  readonly m: number;
  readonly shards: readonly OwnShardFacts[];
  /** π_i = m_i / m */
  readonly pi: Float64Array;
  /** the combined max-abs divisors ≠ 1, sparse (divisorsFromMaxima), absent with --no-normalize */
  readonly scale?: SparseVector;
  /** each shard's columns (the indices of its column maxima): where the master stores its w_i */
  readonly cols: readonly Uint32Array[];
}

export type StatsVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: StatsVerdict = { ok: true };

export class StatsRound {
  private readonly facts: (OwnShardFacts | undefined)[];
  private n: number | undefined;
  /** each shard's column maxima, kept until the round completes: O(M·n) at worst, the master's budget */
  private readonly maxima: (SparseVector | undefined)[];
  /** each shard's columns (its maxima's indices), kept for the master's sparse w_i */
  private readonly cols: (Uint32Array | undefined)[];
  private reported = 0;

  constructor(
    readonly M: number,
    private readonly opts: { readonly normalize: boolean; readonly manifest?: SplitManifest },
  ) {
    if (!(Number.isSafeInteger(M) && M >= 1)) throw new SodaError('E_CONFIG', `M = ${M} shards`);
    if (opts.manifest && opts.manifest.parts.length !== M)
      throw new SodaError(
        'E_CONFIG',
        `the manifest has ${opts.manifest.parts.length} parts but the run has --workers ${M}`,
      );
    this.facts = new Array<OwnShardFacts | undefined>(M);
    this.maxima = new Array<SparseVector | undefined>(M);
    this.cols = new Array<Uint32Array | undefined>(M);
    this.n = opts.manifest?.n;
  }

  get complete(): boolean {
    return this.reported === this.M;
  }

  /**
   * A worker's stats for its shard: accepted, or refused with the reason to send it (E_SHARD_MISMATCH)
   * before closing its connection; a refused worker changes nothing here.
   */
  offer(s: Stats): StatsVerdict {
    if (s.shard >= this.M) return { ok: false, reason: `shard ${s.shard} does not exist (M = ${this.M})` };
    if (this.facts[s.shard] !== undefined) return { ok: false, reason: `shard ${s.shard} already reported` };
    const part = this.opts.manifest?.parts[s.shard];
    if (part !== undefined) {
      const bad = (field: string, want: unknown, got: unknown): StatsVerdict => ({
        ok: false,
        reason: `shard ${s.shard}: the manifest says ${field} = ${String(want)}, the worker's file has ${String(got)}`,
      });
      if (s.m !== part.rows) return bad('rows', part.rows, s.m);
      if (s.nnz !== part.nnz) return bad('nnz', part.nnz, s.nnz);
      if (s.hash !== part.sha256) return bad('sha256', part.sha256, s.hash ?? 'no hash');
    }
    if (this.n !== undefined && s.n !== this.n)
      return {
        ok: false,
        reason:
          `shard ${s.shard} has n = ${s.n} but the run has n = ${this.n}` +
          (this.opts.manifest
            ? ' (from the manifest)'
            : ' (from the other workers; put manifest.json beside the parts)'),
      };
    this.n = s.n;
    this.facts[s.shard] = { m: s.m, nnz: s.nnz, ...(s.hash !== undefined ? { hash: s.hash } : {}) };
    if (this.opts.normalize) this.maxima[s.shard] = s.colMax;
    this.cols[s.shard] = s.colMax.idx.slice(); // a copy: the frame's buffer can go
    this.reported++;
    return OK;
  }

  /** The owner of `shard` left before the round completed: forget its report, so a spare can make it. */
  withdraw(shard: number): void {
    if (this.facts[shard] === undefined) return;
    this.facts[shard] = undefined;
    this.maxima[shard] = undefined;
    this.cols[shard] = undefined;
    this.reported--;
  }

  result(): StatsRoundResult {
    if (!this.complete)
      throw new SodaError('E_STATE', `stats round incomplete: ${this.reported} of ${this.M} shards reported`);
    const shards = this.facts as OwnShardFacts[];
    const m = shards.reduce((a, f) => a + f.m, 0);
    const pi = Float64Array.from(shards, (f) => f.m / m);
    const n = this.n!;
    const scale = this.opts.normalize ? divisorsFromMaxima(this.maxima as SparseVector[], n) : undefined;
    return { n, m, shards, pi, cols: this.cols as Uint32Array[], ...(scale ? { scale } : {}) };
  }
}

/**
 * A `ready` for shard i after the stats round (its first owner, or a spare that re-read the file). n is
 * the run's dimension; with an intercept the worker's rows hold its constant column too, so one more
 * non-zero per row than the file.
 */
export function checkReady(r: Ready, facts: OwnShardFacts, n: number, intercept = false): StatsVerdict {
  if (r.m !== facts.m)
    return { ok: false, reason: `shard ${r.shard}: ready.m = ${r.m}, the shard has ${facts.m}` };
  if (r.n !== undefined && r.n !== n)
    return { ok: false, reason: `shard ${r.shard}: ready.n = ${r.n}, the run has ${n}` };
  const nnz = intercept ? facts.nnz + facts.m : facts.nnz;
  if (r.nnz !== undefined && r.nnz !== nnz)
    return {
      ok: false,
      reason:
        `shard ${r.shard}: ready.nnz = ${r.nnz}, the shard has ${nnz}` +
        (intercept ? ' with the intercept' : ''),
    };
  if (facts.hash !== undefined && r.hash !== facts.hash)
    return {
      ok: false,
      reason: `shard ${r.shard}: the file's SHA-256 differs from the one reported in the stats round`,
    };
  return OK;
}

/** One evaluation round's gap parts, one per shard (duplicates ignored), summed sparse: O(Σ_i |u_i|), never O(n). */
export class GapRound {
  private readonly seen: Uint8Array;
  private readonly acc: GapAccumulator;

  constructor(
    n: number,
    private readonly shards: readonly OwnShardFacts[],
  ) {
    this.seen = new Uint8Array(shards.length);
    this.acc = new GapAccumulator(n);
  }

  get complete(): boolean {
    return this.acc.count === this.shards.length;
  }

  /**
   * Why shard `shard`'s parts cannot be true, or null. Every θ_j is in [0, 1], so Σ_j H(θ_j) is in
   * [−m_i log 2, 0]; on max-abs scaled rows (`unitRows`: |x_jk| ≤ 1, the intercept's 1 included) also
   * |u_k| = |Σ_j θ_j y_j x_jk| ≤ m_i. A worker can still shade its parts inside these bounds: the gap
   * certifies honest workers (authenticate them); these bounds only stop a wild number from stopping
   * a run by itself.
   */
  implausible(
    shard: number,
    entropy: number,
    u: SparseVector,
    unitRows: boolean,
  ): { reason: string; field: 'entropy' | 'u' } | null {
    const m = this.shards[shard]?.m;
    if (m === undefined) return { reason: `shard ${shard} does not exist`, field: 'entropy' };
    const slack = 1 + 1e-12;
    if (!(entropy >= -m * Math.LN2 * slack))
      return {
        reason: `gap part of shard ${shard}: entropy ${entropy} < −m_i log 2 = ${-m * Math.LN2} (m_i = ${m})`,
        field: 'entropy',
      };
    if (unitRows)
      for (let t = 0; t < u.val.length; t++)
        if (!(Math.abs(u.val[t]) <= m * slack))
          return {
            reason: `gap part of shard ${shard}: |u[${u.idx[t]}]| = ${Math.abs(u.val[t])} > m_i = ${m} on scaled rows`,
            field: 'u',
          };
    return null;
  }

  /** Adds a result's parts; false when it carries none or its shard was already counted. */
  add(r: EvalResult): boolean {
    if (r.entropy === undefined || r.u === undefined || r.shard >= this.shards.length || this.seen[r.shard])
      return false;
    this.seen[r.shard] = 1;
    this.acc.add({ m: this.shards[r.shard].m, entropySum: r.entropy, u: r.u });
    return true;
  }

  /** D and the gap at F = `objective`; coordinates ≥ unpenalizedFrom (the intercept) carry no λ1. */
  result(objective: number, lambda1: number, lambda2: number, unpenalizedFrom: number): GapResult {
    if (!this.complete)
      throw new SodaError('E_STATE', `gap round incomplete: ${this.acc.count} of ${this.shards.length}`);
    return this.acc.result(objective, lambda1, lambda2, unpenalizedFrom);
  }
}

/** Which rule stops the run: the suboptimality when F* is known, else the certified duality gap. */
export type StopRule =
  | { readonly kind: 'subopt'; readonly fstar: number; readonly tol: number; readonly tolGap?: number }
  | { readonly kind: 'gap'; readonly tolGap: number };

/**
 * --tol-gap given: the gap rule is in force (also with F*: then either stops). No F* (no --fstar, no
 * data to solve): the gap is the default rule, at --tol-gap or else --tol.
 */
export function chooseStopRule(o: { fstar?: number; tol: number; tolGap?: number; lambda2: number }): {
  rule: StopRule;
  describe: string;
} {
  if ((o.tolGap !== undefined || o.fstar === undefined) && !(o.lambda2 > 0))
    throw new SodaError(
      'E_CONFIG',
      'the duality-gap stopping rule needs λ2 > 0; pass --fstar or a positive --lambda2',
    );
  if (o.fstar === undefined) {
    const tolGap = o.tolGap ?? o.tol;
    return {
      rule: { kind: 'gap', tolGap },
      describe: `gap / |D| ≤ ${tolGap} (no F*: certified duality gap)`,
    };
  }
  const rule: StopRule = {
    kind: 'subopt',
    fstar: o.fstar,
    tol: o.tol,
    ...(o.tolGap !== undefined ? { tolGap: o.tolGap } : {}),
  };
  return {
    rule,
    describe: `(F − F*)/F* ≤ ${o.tol}` + (o.tolGap !== undefined ? ` or gap / |D| ≤ ${o.tolGap}` : ''),
  };
}

/** Whether a progress line's figures meet the rule. */
export function stopReached(rule: StopRule, objective: number, gapRel: number | undefined): boolean {
  const byGap = (t: number | undefined) => t !== undefined && gapRel !== undefined && gapRel <= t;
  if (rule.kind === 'gap') return byGap(rule.tolGap);
  return (objective - rule.fstar) / Math.abs(rule.fstar) <= rule.tol || byGap(rule.tolGap);
}
