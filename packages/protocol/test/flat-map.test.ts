import { Rng } from '@soda/core';
import { Packr } from 'msgpackr';
import { decodeFromMaster, decodeFromWorker, encode } from '../src/codec';
import { flatMapBound, writeFlatMap } from '../src/flat-map';

/*
 * writeFlatMap writes a step frame's header by hand: it must be the very bytes msgpackr writes for the
 * same map (codec.ts's options), so a peer decoding with any msgpack library reads the same frame.
 */

const packr = new Packr({ useRecords: false, moreTypes: false, ...{ skipValues: [undefined] } });

/** writeFlatMap's bytes for `m` (no keys skipped, no extra entries), or null when it declines. */
function written(m: Record<string, unknown>): Buffer | null {
  const out = Buffer.alloc(flatMapBound(m));
  const end = writeFlatMap(m, '', '', 0, out, 0);
  return end < 0 ? null : out.subarray(0, end);
}

describe('writeFlatMap: a flat map of scalars as msgpackr packs it', () => {
  it.each([
    ['update header', { t: 'update', shard: 19, k: 123_456 }],
    ['model header', { t: 'model', k: 4_294_967_295, gamma: 0.731, p: 0.1, diff: true }],
    ['integer forms', { a: 0, b: 127, c: 128, d: 255, e: 256, f: 65_535, g: 65_536, h: 2 ** 32 - 1 }],
    ['negative forms', { a: -1, b: -32, c: -33, d: -128, e: -129, f: -32_768, g: -32_769, h: -(2 ** 31) }],
    [
      'doubles',
      { a: 2 ** 32, b: -(2 ** 31) - 1, c: 1e-300, d: -0.5, e: Infinity, f: NaN, g: Number.MAX_VALUE },
    ],
    [
      'strings',
      { a: '', b: 'x'.repeat(31), c: 'x'.repeat(32), d: 'é', e: 'γ'.repeat(20), f: 'y'.repeat(300) },
    ],
    ['others', { a: null, b: false, c: undefined, d: true }],
  ])('%s', (_, m) => {
    expect(written(m)?.toString('hex')).toBe(packr.pack(m).toString('hex'));
  });

  it('agrees with msgpackr on random maps', () => {
    const rng = new Rng(2026);
    const scalar = (): unknown => {
      const r = rng.int(7);
      if (r === 0) return rng.int(2 ** 32) - (rng.next() < 0.5 ? 2 ** 31 : 0);
      if (r === 1) return rng.normal() * 10 ** (rng.int(40) - 20);
      if (r === 2) return rng.int(300) - 150;
      if (r === 3) return 'abcγ'.repeat(rng.int(12)).slice(0, rng.int(60));
      if (r === 4) return rng.next() < 0.5;
      if (r === 5) return null;
      return rng.int(70_000);
    };
    for (let trial = 0; trial < 500; trial++) {
      const m: Record<string, unknown> = {};
      for (let e = rng.int(15); e > 0; e--) m[`k${rng.int(1000)}`] = scalar();
      expect(written(m)?.toString('hex')).toBe(packr.pack(m).toString('hex'));
    }
  });

  it('declines what is not a scalar, and more than 15 entries', () => {
    expect(written({ a: 1, b: [1] })).toBeNull();
    expect(written({ a: { b: 1 } })).toBeNull();
    expect(written(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])))).toBeNull();
  });

  it('step frames decode to what was sent, with the skipped keys and the extra entry in place', () => {
    const delta = { n: 50, idx: Uint32Array.of(1, 7, 49), val: Float64Array.of(0.5, -2, 1e-9) };
    const up = decodeFromWorker(encode({ t: 'update', shard: 3, k: 70_000, delta }));
    expect(up.ok && up.msg).toEqual({ t: 'update', shard: 3, k: 70_000, delta });
    const down = decodeFromMaster(encode({ t: 'model', k: 9, gamma: 0.25, p: 0.1, w: delta }));
    expect(down.ok && down.msg).toMatchObject({ t: 'model', k: 9, gamma: 0.25, p: 0.1, w: delta });
  });
});
