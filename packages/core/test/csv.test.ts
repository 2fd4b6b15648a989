import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  readCsv,
  readDataFile,
  readLibsvm,
  SodaError,
  streamCsv,
  streamLibsvm,
  type RowBatch,
} from '@soda/core';

const dir = mkdtempSync(path.join(os.tmpdir(), 'soda-csv-'));
function write(name: string, text: string | Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}
async function all(it: AsyncIterable<RowBatch>): Promise<RowBatch[]> {
  const out: RowBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}
/** Dense rows of a batch list, for comparison with the text written. */
function dense(batches: RowBatch[], n: number): number[][] {
  const rows: number[][] = [];
  for (const b of batches)
    for (let i = 0; i < b.X.rows; i++) {
      const r = new Array<number>(n).fill(0);
      for (let k = b.X.ptr[i]; k < b.X.ptr[i + 1]; k++) r[b.X.ind[k]] = b.X.val[k];
      rows.push(r);
    }
  return rows;
}

describe('CSV input', () => {
  const text = 'a,label,b,c\n1.5,1,0,-2\n0,0,3e2,0\n"7",1,0,0.25\n';
  test('a header is detected; the label column is found by name and mapped {0,1} → {−1,+1}', async () => {
    const d = await readCsv(write('h.csv', text));
    expect(d.featureNames).toEqual(['a', 'b', 'c']);
    expect(Array.from(d.y)).toEqual([1, -1, 1]);
    expect(d.X.cols).toBe(3);
    expect(dense([{ X: d.X, y: d.y, firstRow: 0 }], 3)).toEqual([
      [1.5, 0, -2],
      [0, 300, 0],
      [7, 0, 0.25],
    ]);
    expect(d.X.ind.length).toBe(5); // zeros are not stored
  });

  test('without a header: label in column 1 by default, or --label-column N; .csv.gz and .tsv', async () => {
    const d = await readCsv(write('n.csv', '-1,2,0\n1,0,4\n'));
    expect(d.featureNames).toBeNull();
    expect(Array.from(d.y)).toEqual([-1, 1]);
    const last = await readDataFile(write('n.csv.gz', gzipSync('2,0,-1\n0,4,1\n')), { labelColumn: 3 });
    expect(Array.from(last.y)).toEqual([-1, 1]);
    expect(dense([{ X: last.X, y: last.y, firstRow: 0 }], 2)).toEqual([
      [2, 0],
      [0, 4],
    ]);
    const tsv = await readDataFile(write('t.tsv', 'label\tx\n1\t5\n'));
    expect(Array.from(tsv.y)).toEqual([1]);
  });

  test('unlabelled data to predict on: no label column, y is NaN; batches keep their row offsets', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => `${i},${i % 3 === 0 ? 0 : -i}`);
    const f = write('u.csv', `x1,x2\n${rows.join('\n')}\n`);
    const batches = await all(streamCsv(f, { allowUnlabelled: true, batchRows: 10 }));
    expect(batches.map((b) => [b.firstRow, b.X.rows])).toEqual([
      [0, 10],
      [10, 10],
      [20, 5],
    ]);
    expect(batches.every((b) => Array.from(b.y).every(Number.isNaN))).toBe(true);
    expect(dense(batches, 2)[13]).toEqual([13, -13]);
  });

  test.each([
    ['a,label\n1,1\n2\n', /bad\d.csv:3: Invalid Record Length: expect 2, got 1/],
    ['a,label\n1,1\nx,1\n', /bad\d.csv:3: column 1 \("a"\) is "x"; expected a finite number/],
    ['a,label\n1,1\n1,5\n', /bad\d.csv:3: label \(column 2 \("label"\)\) is "5"; expected -1\/\+1 or 0\/1/],
    ['a,label\n1,"1\n', /bad\d.csv:2: .*[Qq]uote/],
    ['a,label\n', /no examples/],
  ])('bad CSV %#: an error naming file:line', async (body, want) => {
    const f = write(`bad${Math.random().toString().slice(2, 3)}.csv`, body);
    const err = await readCsv(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SodaError);
    expect((err as Error).message).toMatch(want);
  });

  test('--label-column naming a missing column is a config error', async () => {
    await expect(readCsv(write('m.csv', text), { labelColumn: 'y' })).rejects.toThrow(/no column named "y"/);
    await expect(readCsv(write('m2.csv', text), { labelColumn: 9 })).rejects.toThrow(/--label-column 9/);
  });
});

describe('streamLibsvm', () => {
  test('batches concatenate to what readLibsvm reads; unlabelled lines are allowed when asked', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `${i % 2 ? 1 : 0} ${1 + (i % 5)}:${i + 1} 9:0.5`);
    const f = write('s.svm', lines.join('\n'));
    const whole = await readLibsvm(f);
    const batches = await all(streamLibsvm(f, { batchRows: 16 }));
    expect(batches.reduce((s, b) => s + b.X.rows, 0)).toBe(50);
    expect(dense(batches, 9)).toEqual(dense([{ X: whole.X, y: whole.y, firstRow: 0 }], 9));
    expect(batches.flatMap((b) => Array.from(b.y))).toEqual(Array.from(whole.y));
    const u = write('u.svm', '1:2 3:4\n2:1\n');
    const ub = await all(streamLibsvm(u, { allowUnlabelled: true }));
    expect(dense(ub, 3)).toEqual([
      [2, 0, 4],
      [0, 1, 0],
    ]);
    expect(Array.from(ub[0].y).every(Number.isNaN)).toBe(true);
    await expect(all(streamLibsvm(u))).rejects.toThrow(/u.svm:1: label "1:2" is not a number/);
  });

  test('mixing labelled and unlabelled lines, or a late label 2, are file:line errors', async () => {
    const mixed = write('mix.svm', '1 1:1\n2:3\n');
    await expect(all(streamLibsvm(mixed, { allowUnlabelled: true }))).rejects.toThrow(
      /mix.svm:2: a line without a label, after labelled lines \(from line 1\)/,
    );
    // Rows are drained per 1 MiB chunk: 250 000 lines of label 1 go out as +1 before the 2 arrives.
    const late = write('late.svm', '1 1:1\n'.repeat(250000) + '2 1:4\n');
    await expect(all(streamLibsvm(late, { batchRows: 1000 }))).rejects.toThrow(
      /late.svm:250001: label 2 after rows whose label 1 was already read as \+1/,
    );
    // Read whole, the same file is the {1,2} family: 1 → −1, 2 → +1.
    const whole = await readLibsvm(late);
    expect([whole.y[0], whole.y[250000]]).toEqual([-1, 1]);
  });
});
