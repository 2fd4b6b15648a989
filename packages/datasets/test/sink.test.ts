import { SodaError, csrToDense } from '@soda/core';
import { DatasetCollector, collect } from '@soda/datasets';

describe('DatasetCollector', () => {
  it('builds the CSR matrix of the rows written, equal to the dense reference', () => {
    const rows = [
      { y: 1, row: [0, 2.5, 0, -1] },
      { y: -1, row: [0, 0, 0, 0] },
      { y: -1, row: [3, 0, 0, 4] },
    ];
    const sink = new DatasetCollector();
    for (const { y, row } of rows) {
      const idx = row.flatMap((v, j) => (v !== 0 ? [j] : []));
      sink.write(
        y,
        idx,
        idx.map((j) => row[j]),
      );
    }
    const { X, y } = sink.toDataset(4);
    expect(Array.from(y)).toEqual([1, -1, -1]);
    expect(Array.from(X.ptr)).toEqual([0, 2, 2, 4]);
    expect(csrToDense(X).map((r) => Array.from(r))).toEqual(rows.map((r) => r.row));
  });

  it('copies the buffers it is given (builders reuse them)', () => {
    const sink = new DatasetCollector();
    const idx = new Uint32Array([1, 3]);
    const val = new Float64Array([1, 2]);
    sink.write(1, idx, val);
    idx[0] = 0;
    val[0] = 9;
    sink.write(-1, idx, val);
    expect(Array.from(sink.toDataset().X.val)).toEqual([1, 2, 9, 2]);
    expect(Array.from(sink.toDataset().X.ind)).toEqual([1, 3, 0, 3]);
  });

  it('grows past its initial capacity', () => {
    const sink = new DatasetCollector();
    const idx = Array.from({ length: 700 }, (_, j) => j);
    const val = idx.map((j) => j + 1);
    for (let i = 0; i < 5; i++) sink.write(1, idx, val);
    const { X } = sink.toDataset();
    expect(X.ind.length).toBe(3500);
    expect(X.cols).toBe(700);
    expect(X.val[3499]).toBe(700);
  });

  it('rejects bad labels, unsorted indices, non-finite values and too few columns', () => {
    const sink = new DatasetCollector();
    const code = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return (e as SodaError).code;
      }
      return 'none';
    };
    expect(code(() => sink.write(0, [1], [1]))).toBe('E_DATA');
    expect(code(() => sink.write(1, [2, 1], [1, 1]))).toBe('E_DATA');
    expect(code(() => sink.write(1, [1, 1], [1, 1]))).toBe('E_DATA');
    expect(code(() => sink.write(1, [1], [NaN]))).toBe('E_DATA');
    expect(code(() => sink.write(1, [1, 2], [1]))).toBe('E_DATA');
    sink.write(1, [5], [1]);
    expect(code(() => sink.toDataset(5))).toBe('E_DATA');
  });

  it('collect() runs a builder into memory with the builder-reported width', async () => {
    const { data, info } = await collect(async (sink) => {
      await sink.write(1, [0], [1]);
      return { rows: 1, cols: 10, nnz: 1 };
    });
    expect(info.cols).toBe(10);
    expect(data.X.cols).toBe(10);
  });
});
