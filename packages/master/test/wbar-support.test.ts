import { Rng, sparseFromDense, type SparseVector } from '@soda/core';
import { ModelState } from '../src/model-state';
import { sparseBits } from '../src/shard-iterate';
import { WbarSupport } from '../src/wbar-support';

/*
 * WbarSupport reads w̄'s non-zeros from a candidate set instead of scanning n: it must give exactly
 * what the scans of the dense w̄ give (sparseBits for checkpoints, sparseFromDense for rounds) after
 * any sequence of what changes w̄ — updates on and off the shards' columns (zeros, exact
 * cancellations and rounding residues included), re-sums, restores and restarts.
 */

const n = 500;
const pi = [0.5, 0.3, 0.2];

/** Each shard's columns: a random third of [0, n), the last coordinate (an intercept) in all. */
function columns(rng: Rng): Uint32Array[] {
  return pi.map(() => {
    const c = new Set<number>([n - 1]);
    for (let t = 0; t < n / 3; t++) c.add(rng.int(n - 1));
    return Uint32Array.from(c).sort();
  });
}

/** A Δ mostly on the shard's columns, some off them (coordinates lent by supp(w)), some zeros. */
function delta(rng: Rng, cols: Uint32Array): SparseVector {
  const m = new Map<number, number>();
  for (let t = 0; t < 20; t++) m.set(cols[rng.int(cols.length)], rng.normal());
  for (let t = 0; t < 3; t++) m.set(rng.int(n), rng.next() < 0.2 ? 0 : rng.normal() * 1e-3);
  if (rng.next() < 0.1) m.set(rng.int(n), -0);
  const idx = Uint32Array.from(m.keys()).sort();
  return { n, idx, val: Float64Array.from(idx, (j) => m.get(j)!) };
}

function expectSame(support: WbarSupport, model: ModelState): void {
  const bits = sparseBits(model.wbarDense());
  const got = support.nonZeros(true);
  expect(Array.from(got.idx)).toEqual(Array.from(bits.idx));
  got.val.forEach((v, t) => expect(Object.is(v, bits.val[t])).toBe(true));
  const nz = sparseFromDense(model.wbarDense());
  const got2 = support.nonZeros(false);
  expect(Array.from(got2.idx)).toEqual(Array.from(nz.idx));
  expect(Array.from(got2.val)).toEqual(Array.from(nz.val));
}

it('w̄’s non-zeros from the candidate set equal the scans of the dense w̄, through updates, re-sums, restores and restarts', () => {
  const rng = new Rng(1717);
  const cols = columns(rng);
  let model = new ModelState(n, pi, 0.5, 0.01, n - 1, cols);
  let support = new WbarSupport(model);
  const inCols = new Set(cols.flatMap((c) => Array.from(c)));
  const offCols = Array.from({ length: n }, (_, j) => j).filter((j) => !inCols.has(j));
  let residues = 0;
  for (let step = 0; step < 400; step++) {
    const i = rng.int(pi.length);
    const d = delta(rng, cols[i]);
    model.apply(i, d);
    // an exact cancellation on another shard's coordinate: rounding may leave w̄_j ≠ 0 with every w_i,j = 0
    if (step % 9 === 0) {
      const j = offCols[rng.int(offCols.length)];
      const a = rng.normal();
      const b = rng.normal() / 3;
      const one = (v: number): SparseVector => ({ n, idx: Uint32Array.of(j), val: Float64Array.of(v) });
      model.apply(0, one(a));
      model.apply(1, one(b));
      model.apply(0, one(-a));
      model.apply(1, one(-b));
      if (model.wbarAt(j) !== 0) residues++;
    }
    if (step % 50 === 49) model.resum();
    if (step % 37 === 0) expectSame(support, model);
    if (step === 150) {
      // a resume: a fresh model and support, w̄ restored bit for bit (with a −0 written into it)
      const wbar = sparseBits(model.wbarDense());
      const extra = offCols.find((j) => model.wbarAt(j) === 0 && model.wi.every((x) => x.get(j) === 0))!;
      const at = Array.from(wbar.idx).findIndex((j) => j >= extra);
      const withNegZero =
        at >= 0 && wbar.idx[at] === extra
          ? wbar
          : {
              n,
              idx: Uint32Array.from([...Array.from(wbar.idx), extra]).sort(),
              val: new Float64Array(0),
            };
      if (withNegZero !== wbar)
        (withNegZero as { val: Float64Array }).val = Float64Array.from(withNegZero.idx, (j) =>
          j === extra ? -0 : model.wbarAt(j),
        );
      const wi = model.wi.map((x) => x.toSparse());
      model = new ModelState(n, pi, 0.5, 0.01, n - 1, cols);
      support = new WbarSupport(model);
      model.restore({ wbar: withNegZero, wi, k: 150, gamma: 0.5 });
      support.noteWritten(withNegZero);
      expectSame(support, model);
    }
    if (step === 300) {
      // a divergence restart from an earlier w̄ (every w_i = w̄⁰, off their columns too)
      const wbar0 = sparseFromDense(model.wbarDense());
      model.restartFrom(wbar0, 0.25);
      support.noteWritten(wbar0);
      expectSame(support, model);
    }
  }
  expectSame(support, model);
  expect(residues).toBeGreaterThan(0); // the case only the restore's note covers did occur
});
