import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { contentHash, LibsvmWriter, readLibsvm, writeLibsvm } from '../src/libsvm';
import { LibsvmParser } from '../src/libsvm-parse';
import { csrToDense, type CsrMatrix, type Dataset } from '../src/matrix';
import { Rng } from '../src/rng';
import { SodaError } from '../src/errors';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soda-libsvm-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

/** Bit-for-bit equality of two typed arrays (so −0/NaN payloads would count too). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** A random CSR dataset with awkward doubles (thirds, tiny, huge, subnormal) and some empty rows. */
function randomDataset(rows: number, cols: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const ptr = new Float64Array(rows + 1);
  const ind: number[] = [];
  const val: number[] = [];
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    y[i] = rng.next() < 0.5 ? -1 : 1;
    for (let j = 0; j < cols; j++) {
      if (rng.next() < 0.3) {
        const kind = rng.int(5);
        const v =
          kind === 0
            ? rng.normal()
            : kind === 1
              ? 1 / (1 + rng.int(9))
              : kind === 2
                ? rng.normal() * 1e-300
                : kind === 3
                  ? rng.normal() * 1e250
                  : 5e-324;
        ind.push(j);
        val.push(v === 0 ? 1 : v);
      }
    }
    ptr[i + 1] = ind.length;
  }
  // Make the last column appear so the inferred n equals cols.
  if (ind[ind.length - 1] !== cols - 1) {
    ind.push(cols - 1);
    val.push(0.1);
    ptr[rows] = ind.length;
  }
  return { X: { rows, cols, ptr, ind: Uint32Array.from(ind), val: Float64Array.from(val) }, y };
}

function expectSameData(got: { X: CsrMatrix; y: Float64Array }, want: Dataset): void {
  expect(got.X.rows).toBe(want.X.rows);
  expect(got.X.cols).toBe(want.X.cols);
  expect(sameBytes(got.X.ptr, want.X.ptr)).toBe(true);
  expect(sameBytes(got.X.ind, want.X.ind)).toBe(true);
  expect(sameBytes(got.X.val, want.X.val)).toBe(true);
  expect(sameBytes(got.y, want.y)).toBe(true);
}

/** Runs `fn`, expects a SodaError with `code`, and returns it for further checks. */
async function rejection(fn: () => Promise<unknown>, code: string): Promise<SodaError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SodaError);
    expect((e as SodaError).code).toBe(code);
    return e as SodaError;
  }
  throw new Error('expected a rejection');
}

async function parseError(content: string, line: number, fragment: string, name = 'bad.svm'): Promise<void> {
  const p = file(name, content);
  const e = await rejection(() => readLibsvm(p), 'E_DATA_PARSE');
  expect(e.message).toContain(`${p}:${line}:`);
  expect(e.message).toContain(fragment);
  expect(e.details).toEqual({ file: p, line });
}

describe('readLibsvm: format', () => {
  it('parses indices, values, labels against the written text', async () => {
    const p = file('small.svm', '+1 1:0.5 3:-2\n-1 2:1e-3\n1\n-1 1:7 2:8 3:9 4:10\n');
    const d = await readLibsvm(p);
    expect(d.n).toBe(4);
    expect(d.source).toBe(p);
    expect(d.X.cols).toBe(4);
    expect(Array.from(d.y)).toEqual([1, -1, 1, -1]);
    expect(csrToDense(d.X).map((r) => Array.from(r))).toEqual([
      [0.5, 0, -2, 0],
      [0, 0.001, 0, 0],
      [0, 0, 0, 0],
      [7, 8, 9, 10],
    ]);
  });

  it('handles CRLF, tabs, comments, qid, blank lines, a BOM and a missing final newline', async () => {
    const text =
      '\ufeff# header comment\r\n1 qid:3 1:1\t2:2 # trailing comment 9:9\r\n\r\n   \t\n-1\tqid:4 3:3#x\r\n-1 2:4';
    const d = await readLibsvm(file('messy.svm', text));
    expect(d.X.rows).toBe(3);
    expect(Array.from(d.y)).toEqual([1, -1, -1]);
    expect(csrToDense(d.X).map((r) => Array.from(r))).toEqual([
      [1, 2, 0],
      [0, 0, 3],
      [0, 4, 0],
    ]);
  });

  it('drops explicit zeros but counts their index for n', async () => {
    const d = await readLibsvm(file('zeros.svm', '1 1:0 2:3 5:0\n'));
    expect(d.n).toBe(5);
    expect(Array.from(d.X.ind)).toEqual([1]);
    expect(Array.from(d.X.val)).toEqual([3]);
  });

  it.each([
    ['{-1,+1} with +1, 1.0, -1.0', ['+1', '-1', '1.0', '-1.0'], [1, -1, 1, -1]],
    ['{0,1}', ['0', '1', '1', '0'], [-1, 1, 1, -1]],
    ['{1,2}', ['1', '2', '2', '1'], [-1, 1, 1, -1]],
    ['all 1', ['1', '1'], [1, 1]],
    ['all 2', ['2', '2'], [1, 1]],
    ['all 0', ['0', '0.0'], [-1, -1]],
    ['all -1', ['-1', '-1'], [-1, -1]],
  ])('maps labels %s', async (_name, labels, want) => {
    const d = await readLibsvm(file('labels.svm', labels.map((l) => `${l} 1:1\n`).join('')));
    expect(Array.from(d.y)).toEqual(want);
  });

  it('uses a declared dimension and rejects an index beyond it', async () => {
    const p = file('dim.svm', '1 2:1\n-1 3:1\n');
    const d = await readLibsvm(p, { n: 10 });
    expect(d.n).toBe(10);
    expect(d.X.cols).toBe(10);
    const e = await rejection(
      () => readLibsvm(file('dim3.svm', '1 2:1\n-1 11:1\n'), { n: 10 }),
      'E_DATA_PARSE',
    );
    expect(e.message).toContain('dim3.svm:2:');
    expect(e.message).toContain('index 11 exceeds the declared dimension n = 10');
    await rejection(() => readLibsvm(p, { n: -1 }), 'E_CONFIG');
    await rejection(() => readLibsvm(p, { n: 2.5 }), 'E_CONFIG');
  });

  it('parses decimals to exactly the double Number() gives', () => {
    const rng = new Rng(5);
    const digits = (k: number): string => Array.from({ length: k }, () => String(rng.int(10))).join('');
    const forms = [
      () => digits(1 + rng.int(8)) + '.' + digits(1 + rng.int(10)),
      () => '-0.' + digits(1 + rng.int(16)),
      () => '+' + digits(1 + rng.int(17)),
      () => '.' + digits(1 + rng.int(6)),
      () => digits(1 + rng.int(3)) + '.',
      () => digits(1 + rng.int(5)) + 'e' + String(rng.int(40) - 20),
      () => '-' + digits(1) + '.' + digits(1 + rng.int(18)) + 'E-' + String(rng.int(300)),
      () => String(rng.normal() * 10 ** (rng.int(40) - 20)),
    ];
    const texts: string[] = [];
    for (let k = 0; k < 4000; k++) {
      const t = forms[k % forms.length]();
      if (Number(t) !== 0) texts.push(t);
    }
    const parser = new LibsvmParser('x');
    parser.push(Buffer.from(texts.map((t) => `1 1:${t}`).join('\n')));
    const got = parser.finish().X.val;
    expect(sameBytes(got, Float64Array.from(texts.map(Number)))).toBe(true);
  });

  it('splits lines correctly whatever the chunk boundaries', () => {
    const text = '1 1:0.25 3:1e5\r\n# c\n-1 2:-3.5 qid:1\n\n1 4:12345678901234567\n-1';
    const whole = new LibsvmParser('x');
    whole.push(Buffer.from(text));
    const want = whole.finish();
    for (const size of [1, 2, 3, 7]) {
      const p = new LibsvmParser('x');
      const buf = Buffer.from(text);
      for (let s = 0; s < buf.length; s += size) p.push(buf.subarray(s, s + size));
      const got = p.finish();
      expectSameData(got, want);
    }
    expect(Array.from(want.X.val)).toEqual([0.25, 1e5, -3.5, Number('12345678901234567')]);
  });
});

describe('readLibsvm: errors name the file and the line', () => {
  it.each([
    ['1 1:1\n-1 0:2\n', 2, 'index 0 is not a positive integer (indices are 1-based)'],
    ['1 1:1\n-1 -3:2\n', 2, 'index -3 is not a positive integer'],
    ['1 1:1\n-1 x:2\n', 2, 'index x is not a positive integer'],
    ['1 1:1\n# c\n-1 2.5:2\n', 3, 'index 2.5 is not a positive integer'],
    ['1 1:1\n-1 5:abc\n', 2, 'value "abc" of feature 5 is not a number'],
    ['1 5:\n', 1, 'value "" of feature 5 is not a number'],
    ['1 5:0x10\n', 1, 'value "0x10" of feature 5 is not a number'],
    ['1 5:1e999\n', 1, 'value "1e999" of feature 5 is not finite'],
    ['1 5:nan\n', 1, 'value "nan" of feature 5 is not a number'],
    ['1 1:1\n\n1 30:1 12:1\n', 3, 'indices not strictly increasing (12 after 30)'],
    ['1 4:1 4:2\n', 1, 'indices not strictly increasing (4 after 4)'],
    ['1 1:1\n3 2:1\n', 2, 'label 3 is not one of'],
    ['1 1:1\n0.5 2:1\n', 2, 'label 0.5 is not one of'],
    ['abc 1:1\n', 1, 'label "abc" is not a number'],
    ['1:2 3:4\n', 1, 'label "1:2" is not a number'],
    ['1 1:1 7\n', 1, 'expected "index:value", got "7"'],
    ['1 1:1\n-1 1:1\n0 1:1\n', 3, 'label 0 cannot be mixed with label(s) -1 (line 2), 1 (line 1)'],
    ['0 1:1\n2 1:1\n', 2, 'label 2 cannot be mixed with label(s) 0 (line 1)'],
    ['1 99999999999:1\n', 1, 'index 99999999999 exceeds the largest index the protocol can carry'],
    // n = 2^32 cannot travel in assign.n (a uint32): refused even though it fits a Uint32Array's indices
    ['1 4294967296:1\n', 1, 'index 4294967296 exceeds the largest index the protocol can carry'],
    ['1 16777217:1\n', 1, 'index 16777217 exceeds the feature limit 16777216'],
  ])('%j → line %d: %s', async (content, line, fragment) => {
    await parseError(content, line, fragment);
  });

  it('rejects a file without examples', async () => {
    for (const content of ['', '\n\n', '# only a comment\n  \n']) {
      const p = file('empty.svm', content);
      const e = await rejection(() => readLibsvm(p), 'E_DATA_PARSE');
      expect(e.message).toContain(p);
      expect(e.message).toContain('no examples');
    }
  });

  it('reports a missing file or a directory with the OS reason', async () => {
    const missing = path.join(dir, 'nope.svm');
    const e = await rejection(() => readLibsvm(missing), 'E_DATA_READ');
    expect(e.message).toContain(missing);
    expect(e.message).toContain('ENOENT');
    const e2 = await rejection(() => readLibsvm(dir), 'E_DATA_READ');
    expect(e2.message).toContain(dir);
    expect(e2.message).toContain('EISDIR');
  });

  it('reports truncated or fake gzip naming the file', async () => {
    const gz = zlib.gzipSync(Buffer.from('1 1:1\n-1 2:2\n'.repeat(2000)));
    const p = file('cut.svm.gz', gz.subarray(0, gz.length - 30));
    const e = await rejection(() => readLibsvm(p), 'E_DATA_READ');
    expect(e.message).toContain(p);
    expect(e.message).toMatch(/gzip/);
    const fake = file('fake.svm.gz', '1 1:1\n');
    const e2 = await rejection(() => readLibsvm(fake), 'E_DATA_READ');
    expect(e2.message).toContain(fake);
  });
});

describe('LibsvmWriter / writeLibsvm', () => {
  it('round-trips CSR and labels bit for bit, plain and gzip', async () => {
    const ds = randomDataset(60, 25, 7);
    for (const name of ['rt.svm', 'rt.svm.gz']) {
      const p = path.join(dir, name);
      await writeLibsvm(p, ds);
      const head = fs.readFileSync(p).subarray(0, 2);
      expect(head[0] === 0x1f && head[1] === 0x8b).toBe(name.endsWith('.gz'));
      expectSameData(await readLibsvm(p), ds);
    }
  });

  it('detects gzip by its magic bytes without the .gz suffix', async () => {
    const ds = randomDataset(10, 6, 3);
    const gzPath = path.join(dir, 'magic.svm.gz');
    await writeLibsvm(gzPath, ds);
    const renamed = path.join(dir, 'magic.data');
    fs.copyFileSync(gzPath, renamed);
    expectSameData(await readLibsvm(renamed), ds);
  });

  it('writes 1-based indices and shortest-repr values', async () => {
    const p = path.join(dir, 'fmt.svm');
    const w = LibsvmWriter.create(p);
    await w.write(1, [0, 4], [0.1, 1 / 3]);
    await w.write(-1, [], []);
    await w.close();
    expect(fs.readFileSync(p, 'utf8')).toBe(`1 1:0.1 5:${String(1 / 3)}\n-1\n`);
  });

  it('publishes the file only on close, and abort leaves the old file untouched', async () => {
    const p = path.join(dir, 'atomic.svm');
    const temps = () => fs.readdirSync(dir).filter((f) => f.startsWith('atomic.svm.tmp-'));
    fs.writeFileSync(p, 'old');
    const w = LibsvmWriter.create(p);
    await w.write(1, [0], [1]);
    expect(fs.readFileSync(p, 'utf8')).toBe('old');
    await w.abort();
    expect(temps()).toEqual([]);
    expect(fs.readFileSync(p, 'utf8')).toBe('old');
    expect(() => w.write(1, [0], [1])).toThrow(SodaError);

    const w2 = LibsvmWriter.create(p);
    await w2.write(-1, [2], [3]);
    await w2.close();
    expect(temps()).toEqual([]);
    expect(fs.readFileSync(p, 'utf8')).toBe('-1 3:3\n');
  });

  it('returns a Promise when the stream buffer is full, and the data still arrives whole', async () => {
    const p = path.join(dir, 'big-row.svm');
    const w = LibsvmWriter.create(p);
    const idx = Array.from({ length: 5000 }, (_, k) => k);
    const val = idx.map((k) => k + 0.5);
    const r = w.write(1, idx, val); // one line of ~50 kB exceeds the 16 kB default high-water mark
    expect(r).toBeInstanceOf(Promise);
    await r;
    await w.close();
    const d = await readLibsvm(p);
    expect(Array.from(d.X.val)).toEqual(val);
  });

  it('rejects malformed rows and I/O failures', async () => {
    const p = path.join(dir, 'bad-row.svm');
    const w = LibsvmWriter.create(p);
    expect(() => w.write(1, [3, 2], [1, 1])).toThrow(/strictly increasing/);
    expect(() => w.write(1, [-1], [1])).toThrow(SodaError);
    expect(() => w.write(1, [0], [NaN])).toThrow(/not finite/);
    expect(() => w.write(1, [0, 1], [1])).toThrow(/2 indices but 1 values/);
    expect(() => w.write(NaN, [0], [1])).toThrow(/label/);
    await w.abort();

    const nowhere = path.join(dir, 'no-such-dir', 'x.svm');
    const w2 = LibsvmWriter.create(nowhere);
    const e = await rejection(async () => {
      await w2.write(1, [0], [1]);
      await w2.close();
    }, 'E_DATA_WRITE');
    expect(e.message).toContain(nowhere);
    expect(fs.existsSync(nowhere)).toBe(false);
  });
});

describe('streaming a large file', () => {
  it('reads 300k lines (crossing many chunk boundaries) exactly', async () => {
    // A local integer LCG: jest's sandbox makes global lookups (Math.*) slow, and Rng leans on Math.imul.
    let seed = 12345;
    const next = (k: number): number => {
      seed = (seed * 69069 + 1) >>> 0;
      return seed % k;
    };
    const rows = 300_000;
    const lines: string[] = [];
    const ptr = new Float64Array(rows + 1);
    const ind: number[] = [];
    const val: number[] = [];
    const y = new Float64Array(rows);
    let cols = 0;
    for (let i = 0; i < rows; i++) {
      y[i] = next(2) === 0 ? -1 : 1;
      let line = y[i] === 1 ? '1' : '0'; // {0,1} labels exercise the mapping at scale
      let j = next(50);
      for (let k = 0; k < 3; k++) {
        const v = (next(20000) - 10000 || 1) / 1000; // a non-zero decimal such as -3.217
        line += ' ' + (j + 1) + ':' + v;
        ind.push(j);
        val.push(v);
        j += 1 + next(200);
      }
      lines.push(line);
      ptr[i + 1] = ind.length;
    }
    for (let k = 0; k < ind.length; k++) if (ind[k] + 1 > cols) cols = ind[k] + 1;
    const p = file('stream.svm', lines.join('\n') + '\n');
    const d = await readLibsvm(p);
    expectSameData(d, { X: { rows, cols, ptr, ind: Uint32Array.from(ind), val: Float64Array.from(val) }, y });
  });
});

describe('contentHash', () => {
  it('equals sha256 of the bytes and fails on a missing file', async () => {
    const bytes = Buffer.alloc(3_000_000);
    for (let k = 0; k < bytes.length; k++) bytes[k] = (k * 2654435761) >>> 24;
    const p = file('blob.bin', bytes);
    expect(await contentHash(p)).toBe(createHash('sha256').update(bytes).digest('hex'));
    await rejection(() => contentHash(path.join(dir, 'missing')), 'E_DATA_READ');
  });
});
