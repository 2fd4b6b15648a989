import { csrFromDense, logLoss } from '@soda/core';
import { Holdout } from '../src/holdout';

describe('Holdout: scores of w on held-out examples', () => {
  it('accuracy and mean log-loss match a direct computation', () => {
    const rows = [
      [1, 0, 2],
      [0, -1, 0],
      [3, 1, -1],
      [0, 0, 0],
    ];
    const y = new Float64Array([1, 1, -1, -1]);
    const w = { n: 3, idx: Uint32Array.from([0, 2]), val: Float64Array.from([0.5, -0.25]) };
    const h = new Holdout({ X: csrFromDense(rows, 3), y });
    const z = rows.map((r) => r[0] * 0.5 + r[2] * -0.25); // [0, 0, 1.75, 0]
    const correct = z.filter((zi, i) => (zi > 0 ? 1 : -1) === y[i]).length; // a tie (z = 0) says −1, as soda predict
    const loss = z.reduce((s, zi, i) => s + logLoss(y[i] * zi), 0) / 4;
    const s = h.score(w);
    expect(s.testAccuracy).toBe(correct / 4);
    expect(s.testLogLoss).toBeCloseTo(loss, 15);
  });

  it('ignores coordinates beyond the test set’s columns (features never seen there)', () => {
    const h = new Holdout({ X: csrFromDense([[1, 1]], 2), y: new Float64Array([1]) });
    const s = h.score({ n: 5, idx: Uint32Array.from([1, 4]), val: Float64Array.from([2, -100]) });
    expect(s.testAccuracy).toBe(1);
    expect(s.testLogLoss).toBeCloseTo(logLoss(2), 15);
  });
});
