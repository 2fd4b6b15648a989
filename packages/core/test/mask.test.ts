import { Rng, sampleMask } from '@soda/core';

describe('mask M_p: supp(w) plus each other coordinate with probability p', () => {
  it('always contains supp(w), is sorted and unique, within range', () => {
    const rng = new Rng(1);
    const supp = Uint32Array.from([0, 5, 17, 99, 999]);
    for (const p of [0, 0.001, 0.1, 0.5, 0.99, 1]) {
      const M = sampleMask(supp, 1000, p, rng);
      for (let t = 1; t < M.length; t++) expect(M[t]).toBeGreaterThan(M[t - 1]);
      expect(M[M.length - 1]).toBeLessThan(1000);
      const set = new Set(M);
      for (const j of supp) expect(set.has(j)).toBe(true);
      if (p === 0) expect(M.length).toBe(supp.length);
      if (p === 1) expect(M.length).toBe(1000);
    }
  });

  it('includes each coordinate outside the support with probability p (chi-square over coordinates)', () => {
    const n = 200;
    const p = 0.07;
    const trials = 20000;
    const supp = Uint32Array.from([3, 50, 51, 199]);
    const counts = new Float64Array(n);
    const rng = new Rng(42);
    const out = new Uint32Array(n);
    for (let t = 0; t < trials; t++) for (const j of sampleMask(supp, n, p, rng, out)) counts[j]++;
    let chi2 = 0;
    for (let j = 0; j < n; j++) {
      if (supp.includes(j)) {
        expect(counts[j]).toBe(trials);
        continue;
      }
      const e = trials * p;
      chi2 += (counts[j] - e) ** 2 / (e * (1 - p)); // binomial variance
    }
    // df = 196: mean 196, sd ≈ 19.8; 300 is beyond 5 sd, so a correct sampler fails with p < 1e−6.
    expect(chi2).toBeLessThan(300);
    expect(chi2).toBeGreaterThan(110);
  });

  it('draws independent coordinates: pair co-occurrence ≈ p² and mask size ≈ |supp| + p(n − |supp|)', () => {
    const n = 50;
    const p = 0.3;
    const trials = 40000;
    const rng = new Rng(9);
    let both = 0;
    let size = 0;
    for (let t = 0; t < trials; t++) {
      const M = sampleMask(new Uint32Array(0), n, p, rng);
      size += M.length;
      const s = new Set(M);
      if (s.has(10) && s.has(11)) both++;
    }
    expect(size / trials).toBeCloseTo(n * p, 1);
    expect(Math.abs(both / trials - p * p)).toBeLessThan(4 * Math.sqrt((p * p * (1 - p * p)) / trials));
  });

  it('is deterministic for a seed', () => {
    const a = sampleMask(Uint32Array.from([2]), 10000, 0.01, new Rng(5));
    const b = sampleMask(Uint32Array.from([2]), 10000, 0.01, new Rng(5));
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
