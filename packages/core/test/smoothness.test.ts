import {
  csrFromDense,
  defaultStepSize,
  largestEigenvalueXtX,
  logisticSmoothness,
  Rng,
  smoothValueGrad,
  smoothObjective,
} from '@soda/core';

describe('smoothness constant L = λmax(XᵀX)/(4m) + λ2', () => {
  it('finds λmax of a matrix with orthogonal columns (closed form: the largest squared column norm)', () => {
    // Columns with disjoint supports are orthogonal, so XᵀX is diagonal with the column norms².
    const X = csrFromDense([
      [3, 0, 0],
      [4, 0, 0],
      [0, 1, 0],
      [0, 0, 2],
      [0, 0, 2],
    ]);
    expect(largestEigenvalueXtX(X)).toBeCloseTo(25, 8);
    expect(logisticSmoothness(X, 0.1)).toBeCloseTo(25 / 20 + 0.1, 8);
  });

  it('matches the closed form of a 2×2 symmetric XᵀX', () => {
    const X = csrFromDense([
      [1, 2],
      [3, 4],
    ]);
    // XᵀX = [[10, 14], [14, 20]]: λmax = 15 + sqrt(25 + 196)
    expect(largestEigenvalueXtX(X)).toBeCloseTo(15 + Math.sqrt(221), 8);
  });

  it('bounds the curvature: f(w + d) ≤ f(w) + ∇f(w)ᵀd + (L/2)‖d‖² on random points', () => {
    const rng = new Rng(3);
    const rows = Array.from({ length: 30 }, () =>
      Array.from({ length: 8 }, () => (rng.next() < 0.5 ? 0 : rng.normal())),
    );
    const X = csrFromDense(rows, 8);
    const y = Float64Array.from({ length: 30 }, () => (rng.next() < 0.5 ? -1 : 1));
    const lambda2 = 0.05;
    const L = logisticSmoothness(X, lambda2);
    for (let trial = 0; trial < 50; trial++) {
      const w = Float64Array.from({ length: 8 }, () => rng.normal());
      const d = Float64Array.from({ length: 8 }, () => rng.normal() * 0.5);
      const { value, grad } = smoothValueGrad(X, y, w, lambda2);
      const wd = w.map((v, j) => v + d[j]);
      const bound =
        value + grad.reduce((s, g, j) => s + g * d[j], 0) + (L / 2) * d.reduce((s, v) => s + v * v, 0);
      expect(smoothObjective(X, y, wd, lambda2)).toBeLessThanOrEqual(bound + 1e-12);
    }
  });

  it('γ = 2/(μ + L), with a clear error for impossible constants', () => {
    expect(defaultStepSize(1e-3, 1)).toBeCloseTo(2 / 1.001, 15);
    expect(() => defaultStepSize(2, 1)).toThrow(/μ = 2, L = 1/);
  });
});
