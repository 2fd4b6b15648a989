import { checkCompatible, type Checkpoint, type RunIdentity } from './checkpoint';
import type { MasterConfig } from './config';
import type { RunEnd } from './run-end';

/**
 * The end of a finished run this configuration would resume, else null. The checkpoint must be of
 * this run (same data, λs, M, algorithm, p, …: a mismatch is a SodaError naming the fields), judged
 * without building the run: a master without data checks the data through its manifest's hash when
 * it has one, and cannot check it otherwise (the workers, who hold it, are not waited for).
 */
export function finishedRun(cfg: MasterConfig, ck: Checkpoint, file: string): RunEnd | null {
  const { meta } = ck;
  if (meta.end === undefined) return null;
  const d = cfg.data;
  const { workers, shuffle, seed, algo, lambda1, lambda2 } = cfg;
  const identity: RunIdentity = {
    // what this master cannot know without its data (m, n, the hash) stays the checkpoint's
    ...meta,
    ...(d !== null
      ? { dataHash: cfg.dataHash, m: d.X.rows, n: d.X.cols }
      : cfg.manifest
        ? { dataHash: cfg.manifest.sourceSha256 }
        : {}),
    dataName: cfg.dataName,
    ...{ workers, shuffle, seed, algo, lambda1, lambda2 },
    p0: cfg.p,
    gammaGiven: cfg.gamma ?? null,
  };
  checkCompatible(meta, identity, file);
  return meta.end;
}

/** `ck` as the final checkpoint of a run that ended so (unchanged when the run may go on). */
export function withEnd(ck: Checkpoint, end: RunEnd | null): Checkpoint {
  return end === null ? ck : { ...ck, meta: { ...ck.meta, end } };
}
