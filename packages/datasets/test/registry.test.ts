import { SodaError } from '@soda/core';
import { DATASETS, DATASET_NAMES, datasetByName } from '@soda/datasets';
import { CountingSink } from './helpers';

describe('dataset registry', () => {
  it('names the four datasets with Table 1’s λs (and spam’s documented choice)', () => {
    expect([...DATASET_NAMES].sort()).toEqual(['madelon', 'rcv1', 'real-sim', 'spam']);
    expect([DATASETS.madelon.lambda1, DATASETS.madelon.lambda2]).toEqual([5.5e-3, 1e-3]); // centred: see registry.ts
    expect([DATASETS['real-sim'].lambda1, DATASETS['real-sim'].lambda2]).toEqual([1e-4, 1e-3]);
    expect([DATASETS.rcv1.lambda1, DATASETS.rcv1.lambda2]).toEqual([1e-4, 1e-3]);
    expect([DATASETS.spam.lambda1, DATASETS.spam.lambda2]).toEqual([2e-4, 1e-3]);
    for (const name of DATASET_NAMES) {
      expect(DATASETS[name].name).toBe(name);
      expect(DATASETS[name].description.length).toBeGreaterThan(10);
    }
  });

  it('looks datasets up by name and lists the valid names when one is unknown', () => {
    expect(datasetByName('rcv1')).toBe(DATASETS.rcv1);
    for (const bad of ['news20', 'toString', '']) {
      let err: unknown;
      try {
        datasetByName(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SodaError);
      expect((err as SodaError).code).toBe('E_CONFIG');
      for (const name of DATASET_NAMES) expect((err as SodaError).message).toContain(name);
    }
  });

  it('builds madelon at full size (Table 1: 2000 × 500) into a streaming sink', async () => {
    const sink = new CountingSink();
    const info = await DATASETS.madelon.build(sink, 1);
    expect([sink.rows, info.rows, info.cols, sink.nnz]).toEqual([2000, 2000, 500, 2000 * 500]);
    expect(sink.positives).toBe(1000);
  });
});
