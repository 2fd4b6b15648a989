import {
  logisticSmoothness,
  logLoss,
  smoothObjective,
  sparseToDense,
  squaredNorm,
  type CsrMatrix,
  type SparseVector,
} from '@soda/core';

/**
 * Numbers a worker reports that the master can check or bound, and the named reason to refuse one.
 * Pure functions: the coordinator calls them on each `ready` and `evalResult` and, on a refusal,
 * expels the worker (close E_FIELD/1008 naming the reason), frees its shard and repeats the round.
 *
 * The facts behind the bounds (f_i = mean logistic loss over the shard + λ2/2 ‖w‖², and
 * L_i = λmax(X_iᵀX_i)/(4 m_i) + λ2, see core/smoothness.ts):
 *   log(1 + e^{−R‖w‖}) + λ2/2 ‖w‖²  ≤  f_i(w)  ≤  log 2 + R‖w‖ + λ2/2 ‖w‖²   (R = max row norm)
 *   λ2  ≤  L_i  ≤  λ2 + R² / 4
 * because every margin has |t| ≤ R‖w‖, log(1 + e^{−t}) is decreasing and ≤ log 2 + |t|, and
 * λmax(XᵀX) ≤ trace(XᵀX) ≤ m_i R². (At w = 0 both bounds are log 2: f_i is known exactly.)
 */
export type ClaimReason =
  | 'non-finite'
  | 'negative-fi'
  | 'fi-below-bound'
  | 'fi-above-bound'
  | 'objective-below-fstar'
  | 'spot-check-mismatch'
  | 'rows-mismatch'
  | 'L-mismatch'
  | 'L-below-lambda2'
  | 'L-implausible'
  | 'delta-off-columns';

export type ClaimVerdict =
  { readonly ok: true } | { readonly ok: false; reason: ClaimReason; detail: string };

const OK: ClaimVerdict = Object.freeze({ ok: true });
const refuse = (reason: ClaimReason, detail: string): ClaimVerdict => ({ ok: false, reason, detail });

/** What the master knows of a shard it ships: computed once, when it cuts the shards. */
export interface ShardFacts {
  readonly m: number;
  /** max_r ‖x_r‖₂ over the shard's rows */
  readonly maxRowNorm: number;
  /** L_i computed by the master (the same power iteration as the worker), when it holds the rows */
  readonly L?: number;
}

export function shardFacts(X: CsrMatrix, lambda2: number, computeL = true): ShardFacts {
  let maxSq = 0;
  for (let r = 0; r < X.rows; r++) {
    let s = 0;
    for (let k = X.ptr[r]; k < X.ptr[r + 1]; k++) s += X.val[k] * X.val[k];
    if (s > maxSq) maxSq = s;
  }
  return {
    m: X.rows,
    maxRowNorm: Math.sqrt(maxSq),
    ...(computeL ? { L: logisticSmoothness(X, lambda2) } : {}),
  };
}

/** Relative room for rounding between two honest computations of the same quantity. */
const ROUNDING = 1e-9;

/**
 * A worker's `ready`: its row count must be the shard's, and L_i the master's own (when it holds the
 * rows) or at least inside [λ2, λ2 + R²/4]. The coordinator should then use facts.L, never the
 * claim, for γ: a relay or a lying worker must not pick the step size.
 */
export function checkReadyClaim(
  claim: { m: number; L: number },
  facts: ShardFacts,
  lambda2: number,
): ClaimVerdict {
  if (!Number.isFinite(claim.L)) return refuse('non-finite', `ready.L = ${claim.L}`);
  if (claim.m !== facts.m)
    return refuse('rows-mismatch', `ready.m = ${claim.m}, the shard has ${facts.m} rows`);
  if (facts.L !== undefined) {
    if (Math.abs(claim.L - facts.L) > 1e-6 * facts.L)
      return refuse('L-mismatch', `ready.L = ${claim.L}, the master computes L_i = ${facts.L}`);
    return OK;
  }
  const hi = lambda2 + (facts.maxRowNorm * facts.maxRowNorm) / 4;
  if (claim.L < lambda2 * (1 - ROUNDING) || claim.L > hi * (1 + ROUNDING))
    return refuse('L-implausible', `ready.L = ${claim.L} is outside [λ2, λ2 + R²/4] = [${lambda2}, ${hi}]`);
  return OK;
}

/** One shard's `evalResult.fi` at the snapshot w (‖w‖₂² given, computed once per round). */
export function checkEvalClaim(
  fi: number,
  wNormSq: number,
  facts: ShardFacts,
  lambda2: number,
): ClaimVerdict {
  if (!Number.isFinite(fi)) return refuse('non-finite', `fi = ${fi}`);
  if (fi < 0)
    return refuse('negative-fi', `fi = ${fi} < 0: a logistic loss plus a square cannot be negative`);
  const reg = 0.5 * lambda2 * wNormSq;
  const reach = facts.maxRowNorm * Math.sqrt(wNormSq); // the largest |margin| any row can have
  const lo = logLoss(reach) + reg; // ℓ(R‖w‖) = log(1 + e^{−R‖w‖})
  if (fi < lo * (1 - ROUNDING))
    return refuse('fi-below-bound', `fi = ${fi} < log(1 + e^(-R‖w‖)) + λ2/2 ‖w‖² = ${lo}`);
  const hi = Math.LN2 + reach + reg;
  if (fi > hi * (1 + ROUNDING))
    return refuse('fi-above-bound', `fi = ${fi} > log 2 + R‖w‖ + λ2/2 ‖w‖² = ${hi}`);
  return OK;
}

/**
 * The round's total F(w) = Σ π_i f_i + λ1 ‖w‖₁ against a certified F*: below F* beyond rounding is
 * impossible for honest workers (F* is a minimum, certified to a KKT residual ≤ 1e−13).
 */
export function checkRoundObjective(F: number, fstar: number | undefined, relSlack = ROUNDING): ClaimVerdict {
  if (!Number.isFinite(F)) return refuse('non-finite', `F = ${F}`);
  if (fstar !== undefined && F < fstar - relSlack * Math.abs(fstar))
    return refuse('objective-below-fstar', `F = ${F} < F* = ${fstar}: some f_i was under-reported`);
  return OK;
}

/** A reported f_i against the master's own computation of it (shardObjective) for a spot-checked shard. */
export function spotCheck(claimed: number, computed: number, relTol = ROUNDING): ClaimVerdict {
  if (Math.abs(claimed - computed) > relTol * Math.max(1, Math.abs(computed)))
    return refuse('spot-check-mismatch', `fi = ${claimed}, the master computes ${computed}`);
  return OK;
}

/**
 * f_i(w) = (1/m) Σ_r log(1 + exp(−y_r x_r·w)) + λ2/2 ‖w‖², from CSR rows (the master's copy): core's
 * smoothObjective, the same compensated kernel the reference solver uses, on w made dense (O(n) once a round).
 */
export function shardObjective(X: CsrMatrix, y: Float64Array, w: SparseVector, lambda2: number): number {
  return smoothObjective(X, y, sparseToDense(w), lambda2);
}

/** ‖w‖₂² of a sparse vector. */
export function normSq(w: SparseVector): number {
  return squaredNorm(w.val);
}
