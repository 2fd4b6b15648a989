import { Rng, softThreshold, type SparseVector } from '@soda/core';
import { ModelState } from '../src/model-state';
import { checkOffColumns } from '../src/support-history';

/*
 * The fused apply (apply-delta.ts) against two independent computations: the paper's update written
 * out on dense arrays (bit for bit: the same operations in the same order), and the separate claim
 * check followed by the unchecked apply on a twin state (a refused Δ must leave nothing behind).
 */

const bits = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Shard columns: two shards dense enough for the position index (n ≤ 6·|cols_i|), one searched. */
function columns(rng: Rng, n: number): Uint32Array[] {
  const pick = (density: number): Uint32Array => {
    const c: number[] = [];
    for (let j = 0; j < n; j++) if (rng.next() < density) c.push(j);
    return Uint32Array.from(c);
  };
  return [pick(0.45), pick(0.3), pick(0.05)];
}

/** A sorted Δ over the given candidates (each kept with probability `keep`), some values exact zeros. */
function deltaOver(rng: Rng, n: number, candidates: Iterable<number>, keep: number): SparseVector {
  const idx = [...new Set(candidates)].filter(() => rng.next() < keep).sort((a, b) => a - b);
  const val = idx.map(() => (rng.next() < 0.1 ? 0 : rng.normal() * (rng.next() < 0.5 ? 1e-3 : 1)));
  return { n, idx: Uint32Array.from(idx), val: Float64Array.from(val) };
}

function expectSameState(a: ModelState, b: ModelState): void {
  expect(bits(a.wbarDense()).equals(bits(b.wbarDense()))).toBe(true);
  expect(bits(a.wDense()).equals(bits(b.wDense()))).toBe(true);
  for (let i = 0; i < a.wi.length; i++) expect(bits(a.wiDense(i)).equals(bits(b.wiDense(i)))).toBe(true);
  expect(a.k).toBe(b.k);
  expect(a.supportSize).toBe(b.supportSize);
  const va = a.view();
  const vb = b.view();
  expect(Array.from(va.idx)).toEqual(Array.from(vb.idx));
  expect(bits(va.val).equals(bits(vb.val))).toBe(true);
  const inH = (m: ModelState): boolean[] => Array.from({ length: m.n }, (_, j) => m.history.has(j));
  expect(inH(a)).toEqual(inH(b));
}

describe.each([
  ['no intercept', 0],
  ['an intercept (the last coordinate skips the prox)', 1],
])('the fused apply, %s', (_, intercept) => {
  const n = 400;
  const pi = [0.5, 0.3, 0.2];
  const gamma = 0.8;
  const lambda1 = 0.05;
  const u = n - intercept;

  it('is the paper’s update on dense arrays, bit for bit: w_i += Δ, w̄ += π_i Δ, w = prox(w̄)', () => {
    const rng = new Rng(31 + intercept);
    const cols = columns(rng, n);
    const s = new ModelState(n, pi, gamma, lambda1, u, cols);
    expect(s.wi.map((w) => w.indexed)).toEqual([true, true, false]); // both layouts in one state
    const wbar = new Float64Array(n);
    const w = new Float64Array(n);
    const wi = pi.map(() => new Float64Array(n));
    const all = Array.from({ length: n }, (_, j) => j);
    for (let k = 0; k < 300; k++) {
      const i = rng.int(pi.length);
      // anywhere, the unchecked apply stores off-column coordinates too (in the shard's overflow)
      const d = deltaOver(rng, n, [...cols[i], ...all], rng.next() < 0.5 ? 0.02 : 0.2);
      s.apply(i, d);
      d.idx.forEach((j, t) => {
        const x = d.val[t];
        if (x !== 0) wi[i][j] += x;
        wbar[j] += pi[i] * x;
        w[j] = j < u ? softThreshold(wbar[j], gamma * lambda1) : wbar[j];
      });
      expect(bits(s.wbarDense()).equals(bits(wbar))).toBe(true);
    }
    expect(bits(s.wDense()).equals(bits(w))).toBe(true);
    for (let i = 0; i < pi.length; i++) expect(bits(s.wiDense(i)).equals(bits(wi[i]))).toBe(true);
    const support = all.filter((j) => w[j] !== 0);
    expect(Array.from(s.view().idx)).toEqual(support);
    expect(s.supportSize).toBe(support.length);
    expect(s.wi[0].overflow + s.wi[1].overflow).toBeGreaterThan(0); // the overflow path was taken
  });

  it('checked: applies what checkOffColumns passes, refuses what it refuses, and a refusal changes nothing', () => {
    const rng = new Rng(77 + intercept);
    const cols = columns(rng, n);
    const fused = new ModelState(n, pi, gamma, lambda1, u, cols);
    const twin = new ModelState(n, pi, gamma, lambda1, u, cols);
    const onCols = cols.map((c) => new Set(c));
    let refused = 0;
    let late = 0;
    for (let k = 0; k < 400; k++) {
      const i = rng.int(pi.length);
      // honest-looking coordinates: cols_i, H, and what w_i stores off cols_i ...
      const H = Array.from({ length: n }, (_, j) => j).filter((j) => twin.history.has(j));
      const wiNow = twin.wiDense(i);
      const stored = Array.from(wiNow.keys()).filter((j) => wiNow[j] !== 0);
      const d = deltaOver(rng, n, [...cols[i], ...H, ...stored], 0.3);
      // ... and sometimes one a liar picks: off cols_i ∪ H and not stored (last, or anywhere)
      if (rng.next() < 0.35) {
        const liar = Array.from({ length: n }, (_, j) => j).filter(
          (j) => !onCols[i].has(j) && !twin.history.has(j) && wiNow[j] === 0,
        );
        if (liar.length > 0) {
          const j = rng.next() < 0.5 ? liar[liar.length - 1] : liar[rng.int(liar.length)];
          const idx = [...d.idx.filter((x) => x !== j), j].sort((a, b) => a - b);
          const val = idx.map((x) => (x === j ? (rng.next() < 0.15 ? 0 : 0.5) : d.val[d.idx.indexOf(x)]));
          d.idx = Uint32Array.from(idx);
          d.val = Float64Array.from(val);
        }
      }
      const verdict = checkOffColumns(d, twin.wi[i], twin.history);
      const t = fused.applyChecked(i, d);
      expect(t >= 0).toBe(!verdict.ok);
      if (verdict.ok) twin.apply(i, d);
      else {
        refused++;
        if (t > d.idx.length / 2) late++;
        if (!verdict.ok) expect(verdict.detail).toMatch(new RegExp(`^delta\\[${d.idx[t]}\\] = `));
      }
      expectSameState(fused, twin);
    }
    expect(refused).toBeGreaterThan(40);
    expect(late).toBeGreaterThan(20); // refusals after most of Δ was applied: the undo did real work
  });
});
