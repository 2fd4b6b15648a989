import { DivergenceDetector, escalate } from '../src/divergence';

/** Shard update counts after `rounds` full rounds of M shards (each round: two updates per shard). */
const after = (rounds: number, M = 3) => new Uint32Array(M).fill(2 * rounds);

describe('divergence rule', () => {
  it('a non-finite objective is a divergence at once', () => {
    const d = new DivergenceDetector();
    expect(d.observe(NaN, after(0))).toBe('diverged');
    expect(d.observe(Infinity, after(0))).toBe('diverged');
  });

  it('compares only with evaluations a full round old: rises inside one round do not count', () => {
    const d = new DivergenceDetector({ rise: 0.1, patience: 1 });
    const M = 3;
    expect(d.observe(1, new Uint32Array(M))).toBe('ok');
    // every shard updated once (not twice) since: no reference yet, however large the rise
    expect(d.observe(5, Uint32Array.from([1, 1, 1]))).toBe('ok');
    // one shard is a straggler with a single update: still not a full round
    expect(d.observe(5, Uint32Array.from([9, 9, 1]))).toBe('ok');
    expect(d.referenceObjective).toBe(Infinity);
    // now every shard has delivered two updates since the first evaluation: F = 1 is the reference
    expect(d.observe(1.05, Uint32Array.from([9, 9, 2]))).toBe('ok');
    expect(d.referenceObjective).toBe(1);
    expect(d.observe(1.11, Uint32Array.from([9, 9, 3]))).toBe('diverged');
  });

  it('needs `patience` consecutive rises; one evaluation back under the bar resets the count', () => {
    const d = new DivergenceDetector({ rise: 0.1, patience: 3 });
    const seq = [1, 0.8, 0.7, 0.9, 0.95, 0.75, 0.9, 0.95, 1.0];
    const verdicts = seq.map((F, r) => d.observe(F, after(r)));
    // reference after round r is min(F_0..F_{r-1}); 0.7 from round 3 on: 0.9 > 0.77 is a rise
    expect(verdicts).toEqual(['ok', 'ok', 'ok', 'rise', 'rise', 'ok', 'rise', 'rise', 'diverged']);
  });

  it('a healthy, noisy, decreasing run never fires; a geometric climb does', () => {
    const healthy = new DivergenceDetector();
    const climbing = new DivergenceDetector();
    let fired = -1;
    for (let r = 0; r < 200; r++) {
      const noise = 1 + 0.013 * Math.sin(r * 1.7); // ±1.3 %: the largest healthy rise measured
      expect(healthy.observe((0.3 + 0.4 * Math.exp(-r / 20)) * noise, after(r))).not.toBe('diverged');
      if (fired < 0 && climbing.observe(0.5 * 1.05 ** r, after(r)) === 'diverged') fired = r;
    }
    expect(fired).toBeGreaterThan(0);
    expect(fired).toBeLessThan(10);
  });

  it('reset forgets the history (a restart starts over)', () => {
    const d = new DivergenceDetector({ rise: 0.1, patience: 1 });
    d.observe(1, after(0));
    d.observe(1, after(1));
    d.reset();
    expect(d.referenceObjective).toBe(Infinity);
    expect(d.observe(3, after(5))).toBe('ok');
  });
});

describe('restart escalation', () => {
  it('raises p by max(2p, √p) up to 1, brings a γ above the guaranteed bound down to it, and stops at DAve-PG', () => {
    const safe = 1;
    const ps: number[] = [];
    let s: { p: number; gamma: number } | null = { p: 0.001, gamma: safe };
    while ((s = escalate(s.p, s.gamma, safe)) !== null) ps.push(s.p);
    expect(ps.map((p) => +p.toFixed(4))).toEqual([0.0316, 0.1778, 0.4217, 0.8434, 1]);
    expect(escalate(1, 4 * safe, safe)).toEqual({ p: 1, gamma: safe });
    expect(escalate(0.001, 6 * safe, safe)).toEqual({ p: Math.sqrt(0.001), gamma: safe });
    expect(escalate(0.5, 0.5 * safe, safe)).toEqual({ p: 1, gamma: 0.5 * safe }); // a smaller γ is kept
    expect(escalate(1, safe, safe)).toBeNull();
  });
});
