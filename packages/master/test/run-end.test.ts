import { sparseFromDense } from '@soda/core';
import type { SummaryRecord } from '@soda/protocol';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../src/checkpoint';
import type { MasterConfig } from '../src/config';
import { finishedRun, withEnd } from '../src/finished-run';
import { runEndOf } from '../src/run-end';

/* The end record of a finished run: which stops record one, its round trip, its checks on reading. */

const summary = (reason: string): SummaryRecord =>
  ({ reason, objective: 0.5, k: 40, writeErrors: [] }) as unknown as SummaryRecord;

function checkpoint(): Checkpoint {
  return {
    meta: {
      dataName: 'd.svm',
      dataHash: 'b'.repeat(64),
      m: 10,
      n: 2,
      workers: 2,
      shuffle: true,
      seed: 1,
      algo: 'soda',
      lambda1: 0.01,
      lambda2: 0.001,
      p0: 0.5,
      gammaGiven: null,
      runId: 'r',
      createdAt: '',
      k: 40,
      p: 0.5,
      gamma: 1,
      restarts: 0,
      elapsedMs: 1,
      stats: {},
      shardUpdates: [20, 20],
      L: [1, 1],
      evaluated: null,
      best: null,
    },
    wbar: sparseFromDense(Float64Array.from([1, 2])),
    wi: [sparseFromDense(Float64Array.from([1, 2])), sparseFromDense(Float64Array.from([1, 2]))],
    bestWbar: null,
  };
}

/** A master configuration whose identity fields are those of `checkpoint()` (data: 10 × 2). */
function config(over: Partial<MasterConfig> = {}): MasterConfig {
  return {
    data: { X: { rows: 10, cols: 2 } },
    dataName: 'd.svm',
    dataHash: 'b'.repeat(64),
    workers: 2,
    shuffle: true,
    seed: 1,
    algo: 'soda',
    lambda1: 0.01,
    lambda2: 0.001,
    p: 0.5,
    ...over,
  } as unknown as MasterConfig;
}

describe('run end record', () => {
  it.each([
    ['tol', true],
    ['tol-gap', true],
    ['max-time', true],
    ['max-epochs', true],
    ['diverged', true],
    ['signal SIGTERM', false], // a graceful stop only pauses the run
    ['wait-timeout', false], // workers may come back
    ['stopped', false],
  ])('reason %s ends the run: %s', (reason, final) => {
    expect(runEndOf(reason, 1e-6, summary(reason)) !== null).toBe(final);
  });

  it('travels in the checkpoint and is read back as written', () => {
    const end = runEndOf('tol', 1e-6, summary('tol'))!;
    const back = decodeCheckpoint(encodeCheckpoint(withEnd(checkpoint(), end)));
    expect(back.meta.end).toEqual(end);
    expect(decodeCheckpoint(encodeCheckpoint(withEnd(checkpoint(), null))).meta.end).toBeUndefined();
  });

  it.each([
    ['a reason that ends nothing', (e: Record<string, unknown>) => (e.reason = 'signal SIGTERM')],
    ['a negative target', (e: Record<string, unknown>) => (e.tol = -1)],
    ['no summary', (e: Record<string, unknown>) => (e.summary = null)],
    ['a summary of another reason', (e: Record<string, unknown>) => (e.summary = summary('diverged'))],
  ])('a checkpoint whose end has %s is refused by name', (_, edit) => {
    const end = { ...runEndOf('tol', 1e-6, summary('tol'))! } as Record<string, unknown>;
    edit(end);
    // written as a (buggy or forged) master might: the checksum is right, the record is not
    const bad = encodeCheckpoint(withEnd(checkpoint(), end as never));
    expect(() => decodeCheckpoint(bad, 'ck.soda')).toThrow(/ck\.soda has an invalid end record/);
  });

  it('finishedRun: the end of this run; null when it can go on; another run named field by field', () => {
    const end = runEndOf('max-epochs', 1e-6, summary('max-epochs'))!;
    const done = withEnd(checkpoint(), end);
    expect(finishedRun(config(), done, 'ck')).toEqual(end);
    expect(finishedRun(config(), checkpoint(), 'ck')).toBeNull();
    expect(() => finishedRun(config({ lambda1: 0.02 }), done, 'ck')).toThrow(
      /ck belongs to another run: lambda1 0\.01 vs this run's 0\.02/,
    );
    expect(() => finishedRun(config({ workers: 3, p: 0.1 }), done, 'ck')).toThrow(
      /workers 2 vs this run's 3; p 0\.5 vs this run's 0\.1/,
    );
    expect(() => finishedRun(config({ dataHash: 'c'.repeat(64) }), done, 'ck')).toThrow(/content hash/);
    expect(() => finishedRun(config({ algo: 'sync-pg' }), done, 'ck')).toThrow(
      /algo soda vs this run's sync-pg/,
    );
    // a master without data: its manifest's hash is the data's identity; without one, it cannot check it
    const noData = { data: null, dataHash: '' };
    expect(finishedRun(config(noData), done, 'ck')).toEqual(end);
    expect(() =>
      finishedRun(config({ ...noData, manifest: { sourceSha256: 'd'.repeat(64) } } as never), done, 'ck'),
    ).toThrow(/content hash/);
    expect(() => finishedRun(config({ ...noData, lambda2: 1 }), done, 'ck')).toThrow(/lambda2/);
  });
});
