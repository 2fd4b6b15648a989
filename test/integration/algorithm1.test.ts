import {
  compositeObjective,
  csrToCsc,
  proxL1,
  Rng,
  selectRows,
  smoothValueGrad,
  emptySparse,
  type CsrMatrix,
} from '@soda/core';
import { ModelState } from '@soda/master';
import { LocalStep } from '@soda/worker';
import { plantedProblem } from '../helpers/problems';

/*
 * Algorithm 1's two halves together, without sockets: the worker's LocalStep and the master's
 * ModelState, driven in sequence, against plain proximal gradient on the whole data.
 */

/** 4 planted weights of scale 2, label noise 0.3 */
const problem = (seed: number, m: number, n: number) => plantedProblem(seed, m, n, 4, 2, 0.3);

describe('Algorithm 1: LocalStep (worker) and ModelState (master) together', () => {
  it('with M = 1 and p = 1 and no delay, SODA is plain proximal gradient (to 1e−12)', () => {
    const { X, y } = problem(2, 80, 30);
    const lambda1 = 0.02;
    const lambda2 = 0.01;
    const gamma = 0.5;
    const master = new ModelState(30, [1], gamma, lambda1);
    const worker = new LocalStep({ X: csrToCsc(X), y }, lambda2, emptySparse(30), 1);
    let wRef = new Float64Array(30);
    for (let k = 0; k < 200; k++) {
      const { delta } = worker.step(master.current(), gamma, 1);
      master.apply(0, delta);
      const { grad } = smoothValueGrad(X, y, wRef, lambda2);
      wRef = proxL1(
        wRef.map((v, j) => v - gamma * grad[j]),
        gamma * lambda1,
      );
      for (let j = 0; j < 30; j++) expect(Math.abs(master.wAt(j) - wRef[j])).toBeLessThanOrEqual(1e-12);
    }
  });

  it('sequential SODA over 4 shards at p = 0.3 converges to the prox-gradient fixed point', () => {
    const { X, y } = problem(3, 200, 25);
    const lambda1 = 0.01;
    const lambda2 = 0.05;
    const gamma = 1;
    const M = 4;
    const shards: CsrMatrix[] = [];
    for (let i = 0; i < M; i++)
      shards.push(
        selectRows(
          X,
          Array.from({ length: 50 }, (_, r) => i * 50 + r),
        ),
      );
    const master = new ModelState(25, [0.25, 0.25, 0.25, 0.25], gamma, lambda1);
    const workers = shards.map(
      (S, i) =>
        new LocalStep(
          { X: csrToCsc(S), y: y.subarray(i * 50, i * 50 + 50) },
          lambda2,
          emptySparse(25),
          10 + i,
        ),
    );
    const pending = workers.map(() => master.current());
    const rng = new Rng(4);
    for (let k = 0; k < 20000; k++) {
      const i = rng.int(M); // random order: bounded delays
      const { delta } = workers[i].step(pending[i], gamma, 0.3);
      master.apply(i, delta);
      pending[i] = master.current();
    }
    // Reference: a long plain proximal-gradient run on the whole data.
    let w = new Float64Array(25);
    for (let k = 0; k < 20000; k++) {
      const { grad } = smoothValueGrad(X, y, w, lambda2);
      w = proxL1(
        w.map((v, j) => v - gamma * grad[j]),
        gamma * lambda1,
      );
    }
    const Fstar = compositeObjective(X, y, w, lambda1, lambda2);
    const F = compositeObjective(X, y, master.wDense(), lambda1, lambda2);
    expect((F - Fstar) / Fstar).toBeLessThan(1e-12);
    expect(F - Fstar).toBeGreaterThan(-1e-15);
  });
});
