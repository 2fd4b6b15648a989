import { GapAccumulator, type SparseVector } from '@soda/core';
import type { MasterConfig } from '@soda/master';
import { FRESH_DUAL_EVERY, GapEvaluation } from '../src/gap-eval';
import type { Shard } from '../src/shards';

/*
 * Fresh gap parts one round in FRESH_DUAL_EVERY; every round still reports a certified gap, F(w^k)
 * minus the best dual value so far (weak duality: every D(θ) ≤ F*). D is recomputed here with core's
 * GapAccumulator from the same parts.
 */

const cfg = { lambda1: 0.1, lambda2: 0.5, tol: 1e-8, tolGap: 1e-9 } as unknown as MasterConfig;
const shards = [{ m: 3 }, { m: 3 }] as unknown as Shard[];
const vec = (entries: Record<number, number>): SparseVector => {
  const idx = Object.keys(entries).map(Number);
  return { n: 4, idx: Uint32Array.from(idx), val: Float64Array.from(idx, (j) => entries[j]) };
};
const part = (shard: number, entropy: number, u: SparseVector) => ({
  t: 'evalResult' as const,
  id: 1,
  shard,
  fi: 0,
  correct: 0,
  entropy,
  u,
});
/** D of a round from its parts, independently */
function dualOf(parts: ReturnType<typeof part>[], F: number): number {
  const acc = new GapAccumulator(4);
  for (const p of parts) acc.add({ m: 3, entropySum: p.entropy, u: p.u });
  return acc.result(F, cfg.lambda1, cfg.lambda2, 4).dual;
}

describe('GapEvaluation: fresh parts one round in four, a certified gap in every round', () => {
  it('asks for the parts in rounds 1, 5, 9…; the rounds between report F − max D', () => {
    const g = new GapEvaluation(cfg);
    const LOG2 = Math.log(2);
    // round 1 (fresh): at w = 0 every θ = 1/2, so D = log 2
    const good = [part(0, -3 * LOG2, vec({})), part(1, -3 * LOG2, vec({}))];
    // a later fresh round with a worse dual (a large u): the best one is kept
    const worse = [part(0, -3 * LOG2, vec({ 0: 2 })), part(1, -3 * LOG2, vec({ 1: -2 }))];
    const asked: boolean[] = [];
    const results = [];
    for (let r = 0; r < 2 * FRESH_DUAL_EVERY + 1; r++) {
      g.open(4, 4, shards);
      const frame = g.frame(r + 1, vec({}));
      const fresh = frame.gap === true;
      asked.push(fresh);
      const parts = r === 0 ? good : worse;
      if (fresh) parts.forEach((p) => g.add(p));
      else expect(g.refusal(part(0, NaN, vec({})) as never)).toBeNull(); // not asked: nothing to check
      const F = 1 - r * 0.01;
      results.push({ F, fresh, gap: g.result(F)!, D: fresh ? dualOf(parts, F) : NaN });
    }
    expect(asked).toEqual([true, false, false, false, true, false, false, false, true]);
    const D0 = dualOf(good, 1);
    expect(D0).toBeCloseTo(LOG2, 15);
    expect(results[4].D).toBeLessThan(D0); // the worse fresh dual…
    for (const { F, gap } of results) {
      expect(gap.dual).toBe(D0); // …does not replace the best
      expect(gap.gap).toBe(F - D0);
      expect(gap.gapRel).toBe((F - D0) / Math.abs(D0));
    }
  });

  it('without λ2 there is no gap: no parts asked, no result', () => {
    const g = new GapEvaluation({
      lambda1: 0.1,
      lambda2: 0,
      tol: 1e-8,
      fstar: 0.5,
    } as unknown as MasterConfig);
    g.open(4, 4, shards);
    expect(g.frame(1, vec({}))).not.toHaveProperty('gap');
    expect(g.result(1)).toBeUndefined();
  });
});
