import { csrToCsc, logisticSmoothness, type SparseVector } from '@soda/core';
import { LocalStep } from '@soda/worker';
import {
  checkEvalClaim,
  checkReadyClaim,
  checkRoundObjective,
  normSq,
  shardFacts,
  shardObjective,
  spotCheck,
} from '@soda/master';
import { plantedProblem } from '../helpers/problems';

/* The checks the coordinator applies to what workers report (issue 9, attacks 3 and 4). */

const lambda2 = 1e-3;
const ds = plantedProblem(3, 120, 20);
const facts = shardFacts(ds.X, lambda2);
const w: SparseVector = { n: 20, idx: Uint32Array.from([0, 3, 7]), val: Float64Array.from([0.5, -1.2, 2]) };

describe('ready claims', () => {
  it("accepts an honest worker's m and L_i; the master's own L_i is the worker's to rounding", () => {
    expect(facts.L).toBeCloseTo(logisticSmoothness(ds.X, lambda2), 12);
    expect(checkReadyClaim({ m: 120, L: facts.L! }, facts, lambda2)).toEqual({ ok: true });
  });

  it('refuses a rewritten L (the relay of attack 4: L = 1e9), a wrong m, a non-finite L', () => {
    expect(checkReadyClaim({ m: 120, L: 1e9 }, facts, lambda2)).toMatchObject({
      ok: false,
      reason: 'L-mismatch',
    });
    expect(checkReadyClaim({ m: 119, L: facts.L! }, facts, lambda2)).toMatchObject({
      reason: 'rows-mismatch',
    });
    expect(checkReadyClaim({ m: 120, L: NaN }, facts, lambda2)).toMatchObject({ reason: 'non-finite' });
  });

  it('without the rows, bounds L_i to [λ2, λ2 + R²/4]', () => {
    const blind = shardFacts(ds.X, lambda2, false);
    expect(blind.L).toBeUndefined();
    expect(checkReadyClaim({ m: 120, L: facts.L! }, blind, lambda2)).toEqual({ ok: true });
    expect(checkReadyClaim({ m: 120, L: 1e9 }, blind, lambda2)).toMatchObject({ reason: 'L-implausible' });
    expect(checkReadyClaim({ m: 120, L: lambda2 / 2 }, blind, lambda2)).toMatchObject({
      reason: 'L-implausible',
    });
  });
});

describe('evaluation claims', () => {
  const honest = new LocalStep({ X: csrToCsc(ds.X), y: ds.y }, lambda2, w, 1).evaluate(w).fi;

  it("the master's own f_i agrees with the worker's to rounding, and the honest value passes every check", () => {
    const mine = shardObjective(ds.X, ds.y, w, lambda2);
    expect(spotCheck(honest, mine)).toEqual({ ok: true });
    expect(checkEvalClaim(honest, normSq(w), facts, lambda2)).toEqual({ ok: true });
  });

  it('refuses the forged f_i = 0 of attack 3, negative and non-finite values, and values beyond the bounds', () => {
    const sq = normSq(w);
    expect(checkEvalClaim(0, sq, facts, lambda2)).toMatchObject({ reason: 'fi-below-bound' });
    // at w = 0 every honest f_i is log 2 exactly
    expect(checkEvalClaim(Math.LN2, 0, facts, lambda2)).toEqual({ ok: true });
    expect(checkEvalClaim(0.5, 0, facts, lambda2)).toMatchObject({ reason: 'fi-below-bound' });
    expect(checkEvalClaim(-1, sq, facts, lambda2)).toMatchObject({ reason: 'negative-fi' });
    expect(checkEvalClaim(Infinity, sq, facts, lambda2)).toMatchObject({ reason: 'non-finite' });
    expect(checkEvalClaim(1e6, sq, facts, lambda2)).toMatchObject({ reason: 'fi-above-bound' });
    expect(spotCheck(honest * 0.9, shardObjective(ds.X, ds.y, w, lambda2))).toMatchObject({
      reason: 'spot-check-mismatch',
    });
  });

  it('refuses a round total below F* beyond rounding (subopt −0.38 in attack 3), accepts one at F*', () => {
    expect(checkRoundObjective(0.62, 1)).toMatchObject({ ok: false, reason: 'objective-below-fstar' });
    expect(checkRoundObjective(1 - 1e-12, 1)).toEqual({ ok: true });
    expect(checkRoundObjective(1, undefined)).toEqual({ ok: true });
    expect(checkRoundObjective(NaN, 1)).toMatchObject({ reason: 'non-finite' });
  });
});
