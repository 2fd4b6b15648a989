import {
  compositeObjective,
  csrFromDense,
  csrToCsc,
  gradientCsr,
  gradientOnCoords,
  l1Penalty,
  l1Weight,
  logLoss,
  logLossDeriv,
  logLossSecond,
  proxCoordinate,
  proxL1,
  sigmoid,
  softThreshold,
  suboptimality,
  lossFromMargins,
  lossResiduals,
  marginsCsc,
  marginsCscInt32,
  marginsCsr,
  Rng,
  smoothObjective,
  smoothValueGrad,
  sumAccurate,
} from '@soda/core';

function randomProblem(seed: number, m: number, n: number, density: number) {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  for (let i = 0; i < m; i++) {
    const row = new Array<number>(n).fill(0);
    for (let j = 0; j < n; j++) if (rng.next() < density) row[j] = rng.normal();
    rows.push(row);
  }
  const y = Float64Array.from({ length: m }, () => (rng.next() < 0.5 ? -1 : 1));
  const w = Float64Array.from({ length: n }, () => (rng.next() < 0.5 ? 0 : rng.normal()));
  return { X: csrFromDense(rows, n), rows, y, w };
}

describe('logistic loss ℓ(z) = log(1 + e^{−z})', () => {
  it('matches the naive formula where that is accurate', () => {
    for (const z of [-20, -3, -1, -0.1, 0, 0.1, 1, 3, 20]) {
      expect(logLoss(z)).toBeCloseTo(Math.log(1 + Math.exp(-z)), 14);
    }
  });
  it('is finite and exact at extreme margins', () => {
    expect(logLoss(1000)).toBe(Math.exp(-1000)); // underflows to 0 exactly like e^{−z}
    expect(logLoss(-1000)).toBe(1000);
    expect(logLoss(40)).toBeCloseTo(Math.exp(-40), 30);
    expect(logLossDeriv(1000)).toBe(-0);
    expect(logLossDeriv(-1000)).toBe(-1);
    expect(Number.isFinite(logLoss(-1e308))).toBe(true);
  });
  it('ℓ(0) = log 2 and ℓ(z) − ℓ(−z) = −z', () => {
    expect(logLoss(0)).toBe(Math.LN2);
    for (const z of [0.5, 7, 33.3]) expect(logLoss(z) - logLoss(-z)).toBeCloseTo(-z, 12);
  });
  it('derivative matches central finite differences', () => {
    for (const z of [-30, -2, -0.3, 0, 0.7, 5, 30]) {
      const h = 1e-6;
      expect(logLossDeriv(z)).toBeCloseTo((logLoss(z + h) - logLoss(z - h)) / (2 * h), 8);
    }
  });
});

describe("σ, ℓ'' and the ℓ1 rule of the loss module", () => {
  it('σ(z) = 1/(1 + e^{−z}) where the naive formula is accurate, in (0, 1) and exact at the extremes', () => {
    for (const z of [-30, -2, -0.3, 0, 0.7, 5, 30])
      expect(sigmoid(z)).toBeCloseTo(1 / (1 + Math.exp(-z)), 15);
    for (const z of [-3, 0.5, 8]) expect(sigmoid(z) + sigmoid(-z)).toBeCloseTo(1, 15);
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(Number.isNaN(sigmoid(NaN))).toBe(true);
  });
  it("ℓ' = −σ(−z) and ℓ'' = σ(z)σ(−z) match finite differences of ℓ and ℓ'", () => {
    for (const z of [-30, -2, -0.3, 0, 0.7, 5, 30]) {
      expect(logLossDeriv(z)).toBe(-sigmoid(-z));
      const h = 1e-5;
      expect(logLossSecond(z)).toBeCloseTo((logLossDeriv(z + h) - logLossDeriv(z - h)) / (2 * h), 9);
      expect(logLossSecond(z)).toBeCloseTo(sigmoid(z) * sigmoid(-z), 15);
    }
    expect(logLossSecond(1000)).toBe(0);
  });
  it('soft-threshold is the prox of t|·|: argmin_x ½(x − v)² + t|x| by a grid search', () => {
    for (const [v, t] of [
      [3, 1],
      [-3, 1],
      [0.5, 1],
      [-0.2, 0.1],
      [0.05, 0],
    ]) {
      let best = Infinity;
      let arg = NaN;
      for (let x = -5; x <= 5; x += 1e-4) {
        const f = 0.5 * (x - v) ** 2 + t * Math.abs(x);
        if (f < best) [best, arg] = [f, x];
      }
      expect(softThreshold(v, t)).toBeCloseTo(arg, 3);
    }
  });
  it('coordinates j ≥ unpenalizedFrom get no ℓ1 weight and an identity prox (the intercept)', () => {
    expect(l1Weight(2, 0.3, 3)).toBe(0.3);
    expect(l1Weight(3, 0.3, 3)).toBe(0);
    expect(proxCoordinate(2, 0.2, 0.5, 3)).toBe(0);
    expect(proxCoordinate(3, 0.2, 0.5, 3)).toBe(0.2);
    expect(Array.from(proxL1(Float64Array.of(1, -1, 0.2, 0.2), 0.5, undefined, 3))).toEqual([
      0.5, -0.5, 0, 0.2,
    ]);
    expect(l1Penalty(Float64Array.of(1, -2, 5), 0.1, 2)).toBeCloseTo(0.3, 15);
  });
  it('suboptimality is (F − F*)/F*', () => {
    expect(suboptimality(1.5, 1)).toBe(0.5);
    expect(suboptimality(0.3, 0.2)).toBe((0.3 - 0.2) / 0.2);
  });
});

describe('compensated summation', () => {
  it('recovers what a naive sum loses', () => {
    const a = new Float64Array([1e16, 1, -1e16, 1, 1, 1]);
    expect(sumAccurate(a)).toBe(4);
  });
});

describe('margins, gradient and objective', () => {
  const { X, rows, y, w } = randomProblem(7, 40, 15, 0.4);
  const Xc = csrToCsc(X);
  const lambda2 = 0.01;

  it('X w from CSR and from CSC over supp(w) agree with a dense product', () => {
    const dense = rows.map((r) => r.reduce((s, v, j) => s + v * w[j], 0));
    const supp = Uint32Array.from([...w.keys()].filter((j) => w[j] !== 0));
    const vals = Float64Array.from(supp, (j) => w[j]);
    const zr = marginsCsr(X, w);
    const zc = marginsCsc(Xc, supp, vals);
    for (let i = 0; i < rows.length; i++) {
      expect(zr[i]).toBeCloseTo(dense[i], 12);
      expect(zc[i]).toBeCloseTo(dense[i], 12);
    }
    // int32 pointers: the same sums in the same order, so the same bits (z is overwritten, not added to)
    const z32 = new Float64Array(rows.length).fill(7);
    marginsCscInt32(Int32Array.from(Xc.ptr), Xc.ind, Xc.val, supp, vals, z32);
    expect(Buffer.from(z32.buffer).equals(Buffer.from(zc.buffer))).toBe(true);
  });

  it('the gradient matches finite differences of the objective', () => {
    const { value, grad } = smoothValueGrad(X, y, w, lambda2);
    expect(value).toBeCloseTo(smoothObjective(X, y, w, lambda2), 14);
    const h = 1e-6;
    for (let j = 0; j < w.length; j++) {
      const wp = w.slice();
      const wm = w.slice();
      wp[j] += h;
      wm[j] -= h;
      const fd = (smoothObjective(X, y, wp, lambda2) - smoothObjective(X, y, wm, lambda2)) / (2 * h);
      expect(grad[j]).toBeCloseTo(fd, 7);
    }
  });

  it('the gradient restricted to a coordinate set equals the full gradient there', () => {
    const full = gradientCsr(X, lossResiduals(marginsCsr(X, w), y), w, lambda2);
    const coords = Uint32Array.from([0, 3, 4, 9, 14]);
    const wAt = Float64Array.from(coords, (j) => w[j]);
    const g = gradientOnCoords(Xc, lossResiduals(marginsCsr(X, w), y), coords, wAt, lambda2);
    coords.forEach((j, t) => expect(g[t]).toBeCloseTo(full[j], 14));
  });

  it('F(w) = mean loss + λ2/2‖w‖² + λ1‖w‖₁ (closed form at w = 0 is log 2)', () => {
    const zero = new Float64Array(w.length);
    expect(compositeObjective(X, y, zero, 0.5, lambda2)).toBe(Math.LN2);
    const direct =
      rows.reduce((s, r, i) => s + Math.log1p(Math.exp(-y[i] * r.reduce((a, v, j) => a + v * w[j], 0))), 0) /
        rows.length +
      (lambda2 / 2) * w.reduce((s, v) => s + v * v, 0) +
      0.3 * w.reduce((s, v) => s + Math.abs(v), 0);
    expect(compositeObjective(X, y, w, 0.3, lambda2)).toBeCloseTo(direct, 13);
    expect(l1Penalty([1, -2, 0.5], 2)).toBe(7);
  });

  it('loss from margins does not overflow at |z| = 1000', () => {
    const z = new Float64Array([1000, -1000]);
    const yy = new Float64Array([1, 1]);
    expect(lossFromMargins(z, yy)).toBe(500);
    const r = lossResiduals(z, yy);
    expect(r[0]).toBeCloseTo(0, 300);
    expect(r[1]).toBe(-0.5);
  });
});
