import { countNonZeros, proxL1, softThreshold } from '@soda/core';

describe('soft-threshold prox of γλ1‖·‖₁', () => {
  it('is sign(v)·max(|v| − t, 0)', () => {
    expect(softThreshold(3, 1)).toBe(2);
    expect(softThreshold(-3, 1)).toBe(-2);
    expect(softThreshold(0.5, 1)).toBe(0);
    expect(softThreshold(-1, 1)).toBe(0);
  });
  it('minimises ½(x − v)² + t|x| (checked on a fine grid)', () => {
    for (const v of [-2.3, -0.4, 0, 0.2, 1.7]) {
      const t = 0.5;
      const p = softThreshold(v, t);
      const obj = (x: number) => 0.5 * (x - v) ** 2 + t * Math.abs(x);
      for (let x = -3; x <= 3; x += 0.001) expect(obj(p)).toBeLessThanOrEqual(obj(x) + 1e-12);
    }
  });
  it('works on dense vectors in place and counts the support', () => {
    const v = new Float64Array([1, -0.1, 0.3, -2]);
    proxL1(v, 0.2, v);
    expect(Array.from(v)).toEqual([0.8, 0, 0.09999999999999998, -1.8]);
    expect(countNonZeros(v)).toBe(3);
  });
});
