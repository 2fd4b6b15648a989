import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { selectRows } from '../src/matrix';
import { contentHash, readLibsvm } from '../src/libsvm';
import { Rng } from '../src/rng';
import { shardContiguous, shardShuffled } from '../src/shard';
import { checkManifest, MANIFEST_NAME, partFileName, readManifest, splitLibsvm } from '../src/split';

/** A {1,2}-labelled LIBSVM text with comments, explicit zeros and awkward decimals. */
function sampleText(m: number, n: number, seed: number): string {
  const rng = new Rng(seed);
  const lines = ['# a comment line'];
  for (let i = 0; i < m; i++) {
    const parts = [String(rng.next() < 0.3 ? 2 : 1)];
    for (let j = 1; j <= n; j++) {
      const u = rng.next();
      if (u < 0.2) parts.push(`${j}:${(rng.normal() * 10 ** (rng.int(6) - 3)).toPrecision(17)}`);
      else if (u < 0.22) parts.push(`${j}:0`);
    }
    lines.push(parts.join(' ') + (i % 7 === 0 ? ' # trailing' : ''));
  }
  return lines.join('\n') + '\n';
}

describe('splitLibsvm', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-split-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'all.svm');
  fs.writeFileSync(src, sampleText(103, 30, 2));

  it.each([
    ['shuffled', true],
    ['contiguous', false],
  ])(
    '%s: each part holds exactly the rows the master would shard, with the same doubles and labels',
    async (_, shuffle) => {
      const out = path.join(dir, `parts-${String(shuffle)}`);
      const man = await splitLibsvm(src, { parts: 4, outDir: out, shuffle, seed: 9 });
      const full = await readLibsvm(src);
      const ids = shuffle ? shardShuffled(full.X.rows, 4, 9) : shardContiguous(full.X.rows, 4);
      expect(man.rows).toBe(103);
      expect(man.n).toBe(full.n);
      expect(man.nnz).toBe(full.X.ind.length);
      expect(await readManifest(path.join(out, MANIFEST_NAME))).toEqual(man);
      for (let i = 0; i < 4; i++) {
        const file = path.join(out, partFileName(i));
        const part = await readLibsvm(file, { n: man.n });
        const want = selectRows(full.X, ids[i]);
        expect(Buffer.from(part.X.val.buffer).equals(Buffer.from(want.val.buffer))).toBe(true);
        expect(Array.from(part.X.ind)).toEqual(Array.from(want.ind));
        expect(Array.from(part.X.ptr)).toEqual(Array.from(want.ptr));
        expect(Array.from(part.y)).toEqual(Array.from(ids[i], (r) => full.y[r]));
        const info = man.parts[i];
        expect(info).toMatchObject({
          shard: i,
          file: partFileName(i),
          rows: ids[i].length,
          nnz: want.ind.length,
        });
        expect(info.n).toBe(Math.max(0, ...Array.from(want.ind, (j) => j + 1)));
        expect(info.sha256).toBe(await contentHash(file));
      }
    },
  );

  it('reads and writes .gz', async () => {
    const gz = path.join(dir, 'all.svm.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(src)));
    const out = path.join(dir, 'gz');
    const man = await splitLibsvm(gz, { parts: 3, outDir: out });
    expect(man.parts.map((p) => p.file)).toEqual([
      'part-00000.svm.gz',
      'part-00001.svm.gz',
      'part-00002.svm.gz',
    ]);
    const back = await Promise.all(man.parts.map((p) => readLibsvm(path.join(out, p.file), { n: man.n })));
    expect(back.reduce((s, d) => s + d.X.rows, 0)).toBe(103);
    expect(zlib.gunzipSync(fs.readFileSync(path.join(out, man.parts[0].file))).length).toBeGreaterThan(0);
    expect(man.sourceSha256).toBe(
      (await splitLibsvm(src, { parts: 3, outDir: path.join(dir, 'plain') })).sourceSha256,
    );
  });

  it('names the file and line of a malformed row, and leaves no part behind', async () => {
    const bad = path.join(dir, 'bad.svm');
    fs.writeFileSync(bad, '1 1:0.5\n-1 3:1 2:4\n');
    const out = path.join(dir, 'bad-out');
    await expect(splitLibsvm(bad, { parts: 2, outDir: out })).rejects.toThrow(
      `${bad}:2: indices not strictly increasing`,
    );
    expect(fs.existsSync(path.join(out, MANIFEST_NAME))).toBe(false);
    await expect(splitLibsvm(src, { parts: 500, outDir: out })).rejects.toThrow(/fewer than --parts 500/);
  });

  it('checks manifests field by field', () => {
    const good = {
      format: 'soda-split-1',
      source: 'x',
      sourceSha256: 'a'.repeat(64),
      rows: 3,
      n: 5,
      nnz: 4,
      shuffle: true,
      seed: 1,
      parts: [{ shard: 0, file: 'part-00000.svm', rows: 3, n: 5, nnz: 4, sha256: 'b'.repeat(64) }],
    };
    expect(checkManifest(good).n).toBe(5);
    expect(() => checkManifest({ ...good, rows: 4 }, 'm.json')).toThrow(
      "m.json: rows = 4 is not the sum of the parts' rows",
    );
    expect(() => checkManifest({ ...good, parts: [{ ...good.parts[0], n: 6 }] }, 'm.json')).toThrow(
      "m.json: parts[0].n = 6 exceeds the dataset's n = 5",
    );
    expect(() => checkManifest({ ...good, parts: [{ ...good.parts[0], sha256: 'zz' }] })).toThrow(
      /parts\[0\].sha256/,
    );
  });
});
