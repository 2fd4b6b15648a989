/** Workers first, first + 1, …, first + count − 1 of a local cluster, run in one process. */
export interface WorkerGroup {
  readonly first: number;
  readonly count: number;
  /** these workers run slowed down (soda run's --slow-workers: the first ones) */
  readonly slow: boolean;
}

/**
 * The local cluster's M workers (the first `slow` of them slowed down) split into `processes` groups
 * of consecutive workers, as even as can be, a group never mixing slow and normal workers (a process
 * has one --slowdown). Where both kinds exist, each gets at least one process and they share the rest
 * in proportion to their numbers; so there may be one more group than `processes` only when that is 1.
 */
export function workerGroups(workers: number, slow: number, processes: number): WorkerGroup[] {
  const s = Math.min(slow, workers);
  const normal = workers - s;
  const p = Math.max(1, Math.min(processes, workers));
  let slowProcs = s === 0 ? 0 : normal === 0 ? p : Math.max(1, Math.round((p * s) / workers));
  if (normal > 0 && slowProcs >= p) slowProcs = Math.max(1, p - 1);
  const normalProcs = normal === 0 ? 0 : Math.max(1, p - slowProcs);
  return [...split(0, s, slowProcs, true), ...split(s, normal, normalProcs, false)];
}

/** `count` workers from `first` in `parts` groups whose sizes differ by at most one (larger first). */
function split(first: number, count: number, parts: number, slow: boolean): WorkerGroup[] {
  const out: WorkerGroup[] = [];
  const k = Math.min(parts, count);
  let at = first;
  for (let g = 0; g < k; g++) {
    const size = Math.floor(count / k) + (g < count % k ? 1 : 0);
    out.push({ first: at, count: size, slow });
    at += size;
  }
  return out;
}
