import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LibsvmWriter, readLibsvm } from '@soda/core';
import { collect, generateMadelon, generateText } from '@soda/datasets';
import { sameArrays } from './helpers';

describe('generators → LibsvmWriter → readLibsvm', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-datasets-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams a text look-alike to a gzip file that reads back bit for bit', async () => {
    const opts = { like: 'rcv1' as const, seed: 11, rows: 300 };
    const file = path.join(dir, 'rcv1.svm.gz');
    const writer = LibsvmWriter.create(file);
    const info = await generateText(opts, writer);
    await writer.close();
    const back = await readLibsvm(file, { n: info.cols });
    const { data } = await collect((sink) => generateText(opts, sink));
    expect(back.X.cols).toBe(47236);
    expect(sameArrays(back.X.ptr, data.X.ptr)).toBe(true);
    expect(sameArrays(back.X.ind, data.X.ind)).toBe(true);
    expect(sameArrays(back.X.val, data.X.val)).toBe(true);
    expect(sameArrays(back.y, data.y)).toBe(true);
  });

  it('streams madelon to a plain file', async () => {
    const file = path.join(dir, 'madelon.svm');
    const writer = LibsvmWriter.create(file);
    const info = await generateMadelon({ seed: 3, rows: 200, cols: 40 }, writer);
    await writer.close();
    const back = await readLibsvm(file, { n: info.cols });
    expect([back.X.rows, back.X.cols, back.X.ind.length]).toEqual([200, 40, 8000]);
  });
});
