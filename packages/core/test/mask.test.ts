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

  /**
   * Chi-square critical value with `df` degrees of freedom at a one-sided false-alarm rate of 1e−6
   * (z = 4.753), by the Wilson–Hilferty approximation (accurate to a few % of the value for df ≥ 10).
   */
  const chi2Critical = (df: number): number => {
    const z = 4.753;
    return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
  };

  it.each([0.3, 0.1, 0.01, 0.0005])(
    'gaps between drawn coordinates are Geometric(p) (chi-square, p = %p; false alarm ≈ 1e−6 per case)',
    (p) => {
      // p = 0.0005 takes the sampler's tail path (u beyond its last threshold) 13 % of the time
      const n = 2_000_000;
      const rng = new Rng(1800 + Math.round(1e4 * p));
      const out = new Uint32Array(n);
      // bins k = 0..B−1 (expected count ≥ 20 each), then one tail bin k ≥ B
      const draws = 200_000;
      const q = 1 - p;
      const B = Math.min(400, Math.floor(Math.log(20 / (draws * p)) / Math.log(q)));
      const counts = new Float64Array(B + 1);
      let total = 0;
      let gapSum = 0;
      while (total < draws) {
        const M = sampleMask(new Uint32Array(0), n, p, rng, out);
        // the first success is a skip from 0, later ones from the previous success + 1
        let prev = -1;
        for (let t = 0; t < M.length; t++) {
          const gap = M[t] - prev - 1;
          prev = M[t];
          gapSum += gap;
          // a gap is observed only if the next success fell inside n: skip the censored last stretch
          counts[Math.min(gap, B)]++;
          total++;
        }
      }
      let chi2 = 0;
      for (let k = 0; k <= B; k++) {
        const prob = k < B ? q ** k * p : q ** B;
        const e = total * prob;
        chi2 += (counts[k] - e) ** 2 / e;
      }
      expect(chi2).toBeLessThan(chi2Critical(B));
      // and not suspiciously perfect (a sampler replaying expected counts): below the 1e−6 lower tail
      expect(chi2).toBeGreaterThan(B / 8);
      // the mean gap, q/p, with variance q/p² per gap: |z| < 5 (false alarm 6e−7)
      const z = (gapSum / total - q / p) / Math.sqrt(q / (p * p) / total);
      expect(Math.abs(z)).toBeLessThan(5);
    },
  );

  it.each([0.01, 0.5])(
    'counts each coordinate outside supp(w) Binomial(trials, %p) times (every count within 5.5 sd)',
    (p) => {
      const n = 1000;
      const trials = 20000;
      const supp = Uint32Array.from([0, 1, 500, 999]);
      const rng = new Rng(77);
      const out = new Uint32Array(n);
      const counts = new Float64Array(n);
      for (let t = 0; t < trials; t++) for (const j of sampleMask(supp, n, p, rng, out)) counts[j]++;
      // 5.5 sd two-sided: 3.8e−8 per coordinate, < 4e−5 for all 996 together (Bonferroni)
      const mean = trials * p;
      const sd = Math.sqrt(trials * p * (1 - p));
      for (let j = 0; j < n; j++) {
        if (supp.includes(j)) expect(counts[j]).toBe(trials);
        else expect(Math.abs(counts[j] - mean)).toBeLessThan(5.5 * sd);
      }
    },
  );
});
