import type { SparseVector } from '@soda/core';
import type { ShardRows } from '@soda/protocol';
import {
  checkEvalClaim,
  checkReadyClaim,
  checkRoundObjective,
  shardFacts,
  shardObjective,
  spotCheck,
  type ClaimVerdict,
  type ShardFacts,
} from './claims';

/** A refused claim: who made it and why (the coordinator expels that worker). */
export interface Refusal {
  readonly shard: number;
  readonly verdict: Extract<ClaimVerdict, { ok: false }>;
}

/**
 * The coordinator's use of claims.ts: what it knows of each shard (computed once, on the shard's first
 * `ready`, so start-up pays for no shard twice), which shard each evaluation round spot-checks, and the
 * L_i to trust. When the master holds the rows, L_i and any f_i are recomputed, never taken on faith.
 */
export class ClaimGuard {
  private readonly facts: (ShardFacts | null)[];

  constructor(
    private readonly rows: readonly (ShardRows | null)[],
    /** the number of features n (the rows' column count) */
    private readonly n: number,
    private readonly lambda2: number,
    private readonly fstar: number | undefined,
    /** makes the spot-checked shard of each round unpredictable; set in the config (tests fix it) */
    private readonly salt: number,
  ) {
    this.facts = rows.map(() => null);
  }

  private factsOf(shard: number): ShardFacts | null {
    const cached = this.facts[shard];
    if (cached !== null) return cached;
    const r = this.rows[shard];
    if (r === null) return null;
    const X = { rows: r.m, cols: this.n, ptr: r.ptr, ind: r.ind, val: r.val };
    const facts = shardFacts(X, this.lambda2);
    this.facts[shard] = facts;
    return facts;
  }

  /** A `ready`: the verdict, and the L_i the run must use (the master's own when it has the rows). */
  ready(shard: number, m: number, L: number): { verdict: ClaimVerdict; L: number } {
    const facts = this.factsOf(shard);
    // without the rows no row norm bounds L_i from above, but L_i = max‖x‖²/(4m)·… + λ2 ≥ λ2 always
    if (facts === null)
      return {
        verdict:
          Number.isFinite(L) && L >= this.lambda2
            ? { ok: true }
            : {
                ok: false,
                reason: 'L-below-lambda2',
                detail: `L = ${L}, but L_i ≥ λ2 = ${this.lambda2} and finite`,
              },
        L,
      };
    return { verdict: checkReadyClaim({ m, L }, facts, this.lambda2), L: facts.L ?? L };
  }

  /**
   * One shard's f_i in round `roundId` at w: bounded by what the shard's rows allow, and recomputed
   * outright for the round's spot-checked shard.
   */
  evalResult(roundId: number, shard: number, fi: number, w: SparseVector, wNormSq: number): ClaimVerdict {
    const facts = this.factsOf(shard);
    if (!Number.isFinite(fi)) {
      // An honest worker reports a non-finite f_i only when w itself overflows: a divergence, which
      // the divergence rule handles. With the rows, the master finds out whether that is so.
      if (facts === null || !Number.isFinite(this.recompute(shard, w))) return { ok: true };
      return { ok: false, reason: 'non-finite', detail: `fi = ${fi}, but f_i(w) is finite` };
    }
    if (facts === null) return checkEvalClaim(fi, wNormSq, unknownRows, this.lambda2);
    const bounded = checkEvalClaim(fi, wNormSq, facts, this.lambda2);
    if (!bounded.ok || shard !== this.spotShard(roundId)) return bounded;
    return spotCheck(fi, this.recompute(shard, w));
  }

  /**
   * The round's total against F*. When it fails and the master holds the rows, every shard is
   * recomputed and the liars are named; otherwise the round is simply refused.
   */
  roundTotal(F: number, fi: Float64Array, w: SparseVector): { verdict: ClaimVerdict; liars: Refusal[] } {
    // a non-finite F is a divergence (each f_i already passed), not a lie: the divergence rule acts
    const verdict = Number.isFinite(F) ? checkRoundObjective(F, this.fstar) : { ok: true as const };
    if (verdict.ok) return { verdict, liars: [] };
    const liars: Refusal[] = [];
    for (let i = 0; i < fi.length; i++) {
      if (this.rows[i] === null) continue;
      const v = spotCheck(fi[i], this.recompute(i, w));
      if (!v.ok) liars.push({ shard: i, verdict: v });
    }
    return { verdict, liars };
  }

  /** The shard whose f_i round `roundId` recomputes: it changes every round, and no worker can tell which. */
  private spotShard(roundId: number): number {
    // a multiplicative hash of the round id: cheap, spread over the shards, not predictable from outside
    return (Math.imul(roundId ^ this.salt, 0x9e3779b1) >>> 0) % this.rows.length;
  }

  private recompute(shard: number, w: SparseVector): number {
    const r = this.rows[shard]!;
    return shardObjective(
      { rows: r.m, cols: this.n, ptr: r.ptr, ind: r.ind, val: r.val },
      r.y,
      w,
      this.lambda2,
    );
  }
}

/** A shard whose rows the master never sees: no row-norm bound, so only sign and finiteness are checked. */
const unknownRows: ShardFacts = { m: 0, maxRowNorm: Infinity };
