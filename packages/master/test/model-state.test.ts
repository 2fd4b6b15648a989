import { CompensatedSum, Rng, softThreshold, type SparseVector } from '@soda/core';
import { ModelState } from '../src/model-state';

function randomDelta(rng: Rng, n: number, density: number): SparseVector {
  const idx: number[] = [];
  const val: number[] = [];
  for (let j = 0; j < n; j++) {
    if (rng.next() < density) {
      idx.push(j);
      val.push(rng.normal());
    }
  }
  return { n, idx: Uint32Array.from(idx), val: Float64Array.from(val) };
}

describe('ModelState: the master side of Algorithm 1', () => {
  it('keeps w̄ = Σ π_i w_i, w = prox(w̄) and supp(w) consistent through random updates', () => {
    const n = 300;
    const pi = [0.5, 0.3, 0.2];
    const gamma = 0.7;
    const lambda1 = 0.4;
    const s = new ModelState(n, pi, gamma, lambda1);
    const rng = new Rng(11);
    const ref = pi.map(() => new Float64Array(n));
    for (let k = 0; k < 200; k++) {
      const i = rng.int(pi.length);
      const d = randomDelta(rng, n, 0.05);
      s.apply(i, d);
      d.idx.forEach((j, t) => (ref[i][j] += d.val[t]));
    }
    expect(s.k).toBe(200);
    const w = s.current();
    let nnz = 0;
    for (let j = 0; j < n; j++) {
      const wbar = pi.reduce((acc, p, i) => acc + p * ref[i][j], 0);
      expect(s.wbarAt(j)).toBeCloseTo(wbar, 12);
      expect(s.wAt(j)).toBe(softThreshold(s.wbarAt(j), gamma * lambda1));
      if (s.wAt(j) !== 0) nnz++;
    }
    expect(w.idx.length).toBe(nnz);
    expect(s.supportSize).toBe(nnz);
    for (let t = 1; t < w.idx.length; t++) expect(w.idx[t]).toBeGreaterThan(w.idx[t - 1]);
    w.idx.forEach((j, t) => expect(w.val[t]).toBe(s.wAt(j)));
  });

  it('view() is w as a sorted sparse vector after every update, resum and setGamma, kept in place', () => {
    const n = 200;
    const pi = [0.6, 0.4];
    const s = new ModelState(n, pi, 0.5, 0.3);
    const rng = new Rng(5);
    const expectW = (v: SparseVector): void => {
      const idx: number[] = [];
      for (let j = 0; j < n; j++) if (s.wAt(j) !== 0) idx.push(j);
      expect(Array.from(v.idx)).toEqual(idx);
      expect(Array.from(v.val)).toEqual(idx.map((j) => s.wAt(j)));
    };
    const snapshots: { w: SparseVector; idx: number[]; val: number[] }[] = [];
    const ever = new Set<number>(); // H's reference: every j with w_j ≠ 0 after some change of w
    const seen = (): void => {
      for (let j = 0; j < n; j++) if (s.wAt(j) !== 0) ever.add(j);
    };
    for (let k = 0; k < 300; k++) {
      s.apply(rng.int(2), randomDelta(rng, n, k % 7 === 0 ? 0.2 : 0.03));
      seen();
      if (k % 11 === 0) s.apply(rng.int(2), randomDelta(rng, n, 0.5));
      seen();
      if (k % 50 === 49) s.resum();
      if (k === 150) s.setGamma(0.4);
      seen();
      for (let j = 0; j < n; j++) expect(s.history.has(j)).toBe(ever.has(j));
      if (k % 4 === 3) continue; // some views skipped: coordinates leave and re-enter between views
      expectW(s.view());
      const c = s.current();
      expectW(c);
      snapshots.push({ w: c, idx: Array.from(c.idx), val: Array.from(c.val) });
    }
    // snapshots from current() never change afterwards (their indices neither: the master's are reused)
    for (const { w, idx, val } of snapshots) {
      expect(Array.from(w.idx)).toEqual(idx);
      expect(Array.from(w.val)).toEqual(val);
    }
    // between support changes the view is the same object, updated in place (no allocation)
    const v = s.view();
    expect(s.view()).toBe(v);
  });

  it('resum() restores w̄ from the shards and reports the drift', () => {
    const s = new ModelState(3, [0.25, 0.75], 1, 0);
    s.apply(0, { n: 3, idx: Uint32Array.from([0, 2]), val: Float64Array.from([4, -8]) });
    s.apply(1, { n: 3, idx: Uint32Array.from([1]), val: Float64Array.from([2]) });
    // a drifted w̄ (restore takes it bit for bit, not re-summed)
    s.restore({ wbar: [1, 1.5 + 1e-9, -2], wi: [s.wiDense(0), s.wiDense(1)], k: 2, gamma: 1 });
    expect(s.resum()).toBeCloseTo(1e-9, 15);
    expect(Array.from(s.wbarDense())).toEqual([1, 1.5, -2]);
    expect(Array.from(s.wDense())).toEqual([1, 1.5, -2]);
  });

  it('setGamma moves the threshold and recomputes the support', () => {
    const s = new ModelState(2, [1], 1, 1);
    s.apply(0, { n: 2, idx: Uint32Array.from([0, 1]), val: Float64Array.from([3, 0.5]) });
    expect(s.supportSize).toBe(1);
    s.setGamma(0.1);
    expect(Array.from(s.wDense())).toEqual([2.9, 0.4]);
    expect(s.supportSize).toBe(2);
    expect(() => s.setGamma(0)).toThrow(/γ must be > 0/);
  });
});

describe('ModelState: restore and restart are explicit', () => {
  it('restore: w̄ bit for bit, every w_i, k and γ; w = prox(w̄) and supp(w) rebuilt', () => {
    const s = new ModelState(4, [0.5, 0.5], 1, 0.1);
    const wbar = [0.3, -0.05, 0, -0.7];
    s.restore({
      wbar,
      wi: [
        [0.6, 0, 0, -1],
        [0, -0.1, 0, -0.4],
      ],
      k: 42,
      gamma: 0.5,
    });
    expect(s.k).toBe(42);
    expect(s.gamma).toBe(0.5);
    expect(Array.from(s.wbarDense())).toEqual(wbar); // not re-summed
    expect(Array.from(s.wiDense(1))).toEqual([0, -0.1, 0, -0.4]);
    const w = s.current();
    expect(Array.from(w.idx)).toEqual([0, 3]);
    expect(w.val[0]).toBeCloseTo(0.25, 15);
    expect(w.val[1]).toBeCloseTo(-0.65, 15);
    expect(s.supportSize).toBe(2);
    expect(() => s.restore({ wbar, wi: [wbar], k: 1, gamma: 1 })).toThrow(/1 shard vectors, expected 2/);
    expect(() => s.restore({ wbar, wi: [wbar, wbar], k: -1, gamma: 1 })).toThrow(/k must be/);
  });

  it('restartFrom: every w_i = w̄⁰ (so w̄ = Σ π_i w_i), new γ, and k keeps counting', () => {
    const s = new ModelState(3, [0.25, 0.75], 1, 0.1);
    s.apply(0, { n: 3, idx: Uint32Array.of(1), val: Float64Array.of(4) });
    s.restartFrom(Float64Array.of(0.5, 0, -0.05), 2);
    expect(s.k).toBe(1);
    expect(s.gamma).toBe(2);
    expect([0, 1].map((i) => Array.from(s.wiDense(i)))).toEqual([
      [0.5, 0, -0.05],
      [0.5, 0, -0.05],
    ]);
    expect(Array.from(s.current().idx)).toEqual([0]); // |−0.05| < γλ1 = 0.2
    expect(s.current().val[0]).toBeCloseTo(0.3, 15);
  });

  it('firstNonFinite names a coordinate where w overflowed, until w is set afresh', () => {
    const s = new ModelState(4, [0.5, 0.5], 1, 0.1);
    const d = (j: number, x: number): SparseVector => ({
      n: 4,
      idx: Uint32Array.of(j),
      val: Float64Array.of(x),
    });
    s.apply(0, d(1, 3));
    expect(s.firstNonFinite).toBe(-1);
    s.apply(0, d(2, 1.7e308)); // w̄_2 = 0.85e308: finite
    expect(s.firstNonFinite).toBe(-1);
    s.apply(1, d(2, 1.7e308));
    s.apply(1, d(2, 1.7e308)); // w̄_2 = 2.55e308 overflows: ∞
    expect(s.wAt(2)).toBe(Infinity);
    expect(s.firstNonFinite).toBe(2);
    s.apply(0, d(3, 1)); // a later finite coordinate does not hide it
    expect(s.firstNonFinite).toBe(2);
    s.restartFrom(Float64Array.of(0, 1, 0, 0), 1);
    expect(s.firstNonFinite).toBe(-1);
    // a checkpoint holding a non-finite w̄ is found by the same rule
    s.restore({
      wbar: Float64Array.of(0, 0, -Infinity, 0),
      wi: [new Float64Array(4), new Float64Array(4)],
      k: 0,
      gamma: 1,
    });
    expect(s.firstNonFinite).toBe(2);
  });

  it('resumBlock: blocks of 2¹⁶ re-sum exactly, with updates applied between them', () => {
    const n = 150_000; // three blocks
    const rng = new Rng(5);
    const pi = [0.2, 0.3, 0.5];
    const s = new ModelState(n, pi, 1, 1e-3);
    const touch = () => {
      const i = Math.floor(rng.next() * 3);
      s.apply(i, randomDelta(rng, n, 0.002));
    };
    for (let u = 0; u < 60; u++) touch();
    /** w̄_j as one CompensatedSum over the shards in order: what resum must write */
    const exact = (j: number) => {
      const c = new CompensatedSum();
      for (let i = 0; i < 3; i++) c.add(pi[i] * s.wi[i].get(j));
      return c.value;
    };
    const ends: number[] = [];
    for (let from = 0; from < n;) {
      const { next } = s.resumBlock(from);
      // right after its block, every coordinate of it is the exact sum, bit for bit
      for (let j = from; j < next; j += 7) expect(s.wbarAt(j)).toBe(exact(j));
      for (let j = from; j < next; j += 7) expect(s.wAt(j)).toBe(softThreshold(s.wbarAt(j), 1e-3));
      ends.push(next);
      from = next;
      touch(); // an update between blocks, as the coordinator applies them
    }
    expect(ends).toEqual([65_536, 131_072, n]);
    // and the whole pass equals resum() from the same state
    const again = new ModelState(n, pi, 1, 1e-3);
    again.restore({ wbar: s.wbarDense(), wi: [0, 1, 2].map((i) => s.wiDense(i)), k: s.k, gamma: 1 });
    again.resum();
    for (let from = 0; from < n;) from = s.resumBlock(from).next;
    for (let j = 0; j < n; j += 3) expect(s.wbarAt(j)).toBe(again.wbarAt(j));
    expect(Array.from(s.current().idx)).toEqual(Array.from(again.current().idx));
  });
});
