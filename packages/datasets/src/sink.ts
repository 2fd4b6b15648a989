import { type Dataset, type RowSink, SodaError } from '@soda/core';

/**
 * Builders send their rows one at a time to a RowSink (libsvm.ts: a file writer, a shard splitter, or
 * the in-memory collector below), so a large set never has to sit in memory. Indices are 0-based and
 * strictly increasing. Builders reuse the `idx`/`val` buffers between calls: a sink must consume or
 * copy them before `write` returns (or before its returned promise settles).
 */
export type { RowSink };

/** What every builder reports when it has written its last row. */
export interface BuildInfo {
  readonly rows: number;
  readonly cols: number;
  readonly nnz: number;
}

/** Sends one row and waits only when the sink is asynchronous (keeps synchronous sinks fast). */
export async function emit(sink: RowSink, y: number, idx: ArrayLike<number>, val: ArrayLike<number>) {
  const pending = sink.write(y, idx, val);
  if (pending !== undefined) await pending;
}

/** A RowSink that keeps every row, as CSR, for tests and small in-memory problems. */
export class DatasetCollector implements RowSink {
  private ptr: number[] = [0];
  private ind = new Uint32Array(1024);
  private val = new Float64Array(1024);
  private labels: number[] = [];
  private count = 0;
  private maxCol = -1;

  write(y: number, idx: ArrayLike<number>, val: ArrayLike<number>): void {
    const row = this.labels.length;
    if (y !== 1 && y !== -1) throw new SodaError('E_DATA', `row ${row}: label must be +1 or -1, got ${y}`);
    if (idx.length !== val.length)
      throw new SodaError('E_DATA', `row ${row}: ${idx.length} indices but ${val.length} values`);
    this.reserve(this.count + idx.length);
    let prev = -1;
    for (let k = 0; k < idx.length; k++) {
      const j = idx[k];
      if (!Number.isInteger(j) || j <= prev)
        throw new SodaError('E_DATA', `row ${row}: index ${j} at position ${k} is not > ${prev}`);
      if (!Number.isFinite(val[k]))
        throw new SodaError('E_DATA', `row ${row}: value ${val[k]} at index ${j} is not finite`);
      this.ind[this.count] = j;
      this.val[this.count++] = val[k];
      prev = j;
    }
    if (prev > this.maxCol) this.maxCol = prev;
    this.labels.push(y);
    this.ptr.push(this.count);
  }

  /** The rows written so far. `cols` defaults to (largest index seen) + 1. */
  toDataset(cols?: number): Dataset {
    const n = cols ?? this.maxCol + 1;
    if (n <= this.maxCol)
      throw new SodaError('E_DATA', `cols = ${n} is too small: a row has index ${this.maxCol}`);
    return {
      X: {
        rows: this.labels.length,
        cols: n,
        ptr: Float64Array.from(this.ptr),
        ind: this.ind.slice(0, this.count),
        val: this.val.slice(0, this.count),
      },
      y: Float64Array.from(this.labels),
    };
  }

  private reserve(size: number): void {
    if (size <= this.ind.length) return;
    let cap = this.ind.length;
    while (cap < size) cap *= 2;
    const ind = new Uint32Array(cap);
    ind.set(this.ind.subarray(0, this.count));
    const val = new Float64Array(cap);
    val.set(this.val.subarray(0, this.count));
    this.ind = ind;
    this.val = val;
  }
}

/** Runs a streaming builder into memory: `collect((sink) => generateMadelon({ seed: 1 }, sink))`. */
export async function collect<I extends BuildInfo>(
  build: (sink: RowSink) => Promise<I>,
): Promise<{ data: Dataset; info: I }> {
  const sink = new DatasetCollector();
  const info = await build(sink);
  return { data: sink.toDataset(info.cols), info };
}
