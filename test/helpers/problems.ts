import { compositeObjective, csrFromDense, proxL1, Rng, smoothValueGrad, type Dataset } from '@soda/core';

/**
 * A small sparse logistic problem with a planted sparse model: rows with ~30% non-zeros, `informative`
 * planted weights of scale `weight`, labels from the sign of the margin plus noise of scale `noise`.
 */
export function plantedProblem(
  seed: number,
  m: number,
  n: number,
  informative = 5,
  weight = 3,
  noise = 0.5,
): Dataset {
  const rng = new Rng(seed);
  const rows = Array.from({ length: m }, () =>
    Array.from({ length: n }, () => (rng.next() < 0.3 ? rng.normal() : 0)),
  );
  const truth = Array.from({ length: n }, (_, j) => (j < informative ? weight * rng.normal() : 0));
  const y = Float64Array.from(rows, (r) =>
    r.reduce((s, v, j) => s + v * truth[j], 0) + noise * rng.normal() > 0 ? 1 : -1,
  );
  return { X: csrFromDense(rows, n), y };
}

/**
 * F* by plain proximal gradient run to its fixed point: an algorithm independent of the one under
 * test (and of the reference solver), for small well-conditioned problems.
 */
export function proxGradientOptimum(
  ds: Dataset,
  lambda1: number,
  lambda2: number,
  gamma: number,
  iters = 20000,
) {
  let w = new Float64Array(ds.X.cols);
  for (let k = 0; k < iters; k++) {
    const { grad } = smoothValueGrad(ds.X, ds.y, w, lambda2);
    w = proxL1(
      w.map((v, j) => v - gamma * grad[j]),
      gamma * lambda1,
    );
  }
  return { w, fstar: compositeObjective(ds.X, ds.y, w, lambda1, lambda2) };
}
