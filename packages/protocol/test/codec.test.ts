import { Rng, type SparseVector } from '@soda/core';
import {
  DEFAULT_MAX_PAYLOAD,
  PROTOCOL_VERSION,
  decodeFromMaster,
  decodeFromWorker,
  encode,
  validateOutgoing,
  type FromMaster,
  type FromWorker,
  type Message,
  type Update,
  IndexScratch,
} from '@soda/protocol';
import { runInNewContext } from 'node:vm';
import { fromLittleEndian, toLittleEndian, wireTree } from '../src/bytes';
import { indexDeltasLength } from '../src/varint';
import { fromWorker, randomSparse, sampleMessages } from './samples';

function decodeAny(m: Message, frame: Uint8Array | ArrayBuffer | Buffer[]): Message {
  const r = fromWorker(m) ? decodeFromWorker(frame) : decodeFromMaster(frame);
  if (!r.ok) throw r.error;
  return r.msg;
}

describe('round trip', () => {
  const samples = sampleMessages(new Rng(1));

  it.each(samples.map((m, i) => [`${i}: ${m.t}`, m] as const))('%s decodes to an equal message', (_, m) => {
    const back = decodeAny(m, encode(m));
    expect(back).toStrictEqual(m);
    expect(validateOutgoing(m)).toBeNull();
  });

  it('keeps typed array types and values', () => {
    const a = samples.find((m) => m.t === 'assign' && m.rows !== null);
    if (a?.t !== 'assign' || a.rows === null) throw new Error('no assign sample');
    const back = decodeAny(a, encode(a));
    if (back.t !== 'assign' || back.rows === null) throw new Error('wrong type back');
    expect(back.wi!.idx).toBeInstanceOf(Uint32Array);
    expect(back.wi!.val).toBeInstanceOf(Float64Array);
    expect(back.rows.ptr).toBeInstanceOf(Float64Array);
    expect(back.rows.ind).toBeInstanceOf(Uint32Array);
    expect(back.rows.y).toBeInstanceOf(Float64Array);
    expect(Array.from(back.rows.val)).toEqual(Array.from(a.rows.val));
  });

  it('decodes at every byte alignment of the input (unaligned arrays are copied)', () => {
    const u = samples.find((m) => m.t === 'update') as Update;
    const frame = encode(u);
    for (let shift = 0; shift < 8; shift++) {
      const host = Buffer.alloc(frame.length + shift);
      frame.copy(host, shift);
      const back = decodeAny(u, host.subarray(shift));
      expect(back).toStrictEqual(u);
    }
  });

  it('accepts an ArrayBuffer and a list of fragments', () => {
    const m = samples.find((s) => s.t === 'model') as FromMaster;
    const frame = encode(m);
    const ab = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length) as ArrayBuffer;
    expect(decodeAny(m, ab)).toStrictEqual(m);
    const parts = [frame.subarray(0, 5), frame.subarray(5, 40), frame.subarray(40)];
    expect(decodeAny(m, parts)).toStrictEqual(m);
  });

  it('earlier frames stay intact while later ones are encoded (safe to queue)', () => {
    const frames = samples.map((m) => encode(m));
    const copies = frames.map((f) => Buffer.from(f));
    for (let i = 0; i < 300; i++) encode(samples[i % samples.length]);
    frames.forEach((f, i) => expect(f.equals(copies[i])).toBe(true));
  });

  it('writes typed arrays made in another realm as bytes too', () => {
    const [idx, val] = runInNewContext('[new Uint32Array([2, 5, 9]), new Float64Array([1.5, -2, 3])]') as [
      Uint32Array,
      Float64Array,
    ];
    const m: FromWorker = { t: 'update', shard: 0, k: 0, delta: { n: 10, idx, val } };
    const back = decodeAny(m, encode(m));
    if (back.t !== 'update') throw new Error('wrong type back');
    expect(Array.from(back.delta.idx)).toEqual([2, 5, 9]);
    expect(Array.from(back.delta.val)).toEqual([1.5, -2, 3]);
  });

  it('leaves out absent optional fields instead of writing undefined', () => {
    const h: FromWorker = { t: 'hello', version: PROTOCOL_VERSION, workerId: 'w', proof: undefined };
    const back = decodeAny(h, encode(h));
    expect(Object.keys(back).sort()).toEqual(['t', 'version', 'workerId']);
  });

  it('lays sparse vectors out 8-byte aligned, so an aligned frame is decoded without copying val', () => {
    for (const count of [0, 1, 2, 3, 7, 1000]) {
      const idx = Uint32Array.from({ length: count }, (_, i) => 3 * i);
      const val = Float64Array.from(idx, (j) => j / 7 - 1);
      const msgs: Message[] = [
        { t: 'update', shard: 7, k: 123456789, delta: { n: 5000, idx, val } },
        { t: 'model', k: 2 ** 40, gamma: 0.25, p: 0.1, w: { n: 5000, idx, val } },
        { t: 'eval', id: 3, w: { n: 5000, idx, val } },
      ];
      for (const m of msgs) {
        const frame = Buffer.from(encode(m)); // a fresh buffer of its own: offset 0
        const back = decodeAny(m, frame) as { delta?: SparseVector; w?: SparseVector };
        const v = (back.delta ?? back.w)!;
        expect(Array.from(v.idx)).toEqual(Array.from(idx));
        expect(Array.from(v.val)).toEqual(Array.from(val));
        expect(Object.keys(v).sort()).toEqual(['idx', 'n', 'val']);
        // idx is rebuilt from its varint gaps; the values are a view of the frame
        if (count > 0) expect(v.val.buffer).toBe(frame.buffer);
      }
    }
  });

  it('an index scratch receives update.delta and model.w indices: no fresh array, valid until the next decode', () => {
    const scratch = new IndexScratch();
    const rng = new Rng(12);
    const a = randomSparse(rng, 4000, 300);
    const b = randomSparse(rng, 4000, 500); // larger: the scratch grows
    const ctx = { indexScratch: scratch };
    const da = decodeFromWorker(encode({ t: 'update', shard: 0, k: 1, delta: a }), ctx);
    if (!da.ok) throw da.error;
    const va = (da.msg as { delta: SparseVector }).delta;
    expect(Array.from(va.idx)).toEqual(Array.from(a.idx));
    const db = decodeFromMaster(encode({ t: 'model', k: 2, gamma: 0.5, p: 0.1, w: b }), ctx);
    if (!db.ok) throw db.error;
    const vb = (db.msg as { w: SparseVector }).w;
    expect(Array.from(vb.idx)).toEqual(Array.from(b.idx));
    expect(Array.from(vb.val)).toEqual(Array.from(b.val));
    const dc = decodeFromWorker(encode({ t: 'update', shard: 0, k: 3, delta: a }), ctx);
    if (!dc.ok) throw dc.error;
    const vc = (dc.msg as { delta: SparseVector }).delta;
    expect(vc.idx.buffer).toBe(vb.idx.buffer); // the same memory: vb is overwritten, as documented
    expect(Array.from(vc.idx)).toEqual(Array.from(a.idx));
    // eval frames keep arrays of their own (an evaluation may outlive the next frame)
    const de = decodeFromMaster(encode({ t: 'eval', id: 1, w: a }), ctx);
    if (!de.ok) throw de.error;
    expect((de.msg as { w: SparseVector }).w.idx.buffer).not.toBe(vc.idx.buffer);
    // a refused frame is refused the same way with a scratch
    const bad = encode({
      t: 'update',
      shard: 0,
      k: 1,
      delta: { n: 10, idx: Uint32Array.of(3, 3), val: Float64Array.of(1, 2) },
    });
    const r = decodeFromWorker(bad, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/strictly increasing/);
  });

  it('drops unknown keys', () => {
    const extra = { t: 'stop', reason: 'done', future: { a: [1, 2] } } as unknown as Message;
    expect(decodeAny(extra, encode(extra))).toStrictEqual({ t: 'stop', reason: 'done' });
  });

  it('exports ws maxPayload limits', () => {
    expect(DEFAULT_MAX_PAYLOAD.master).toBe(64 * 1024 * 1024);
    expect(DEFAULT_MAX_PAYLOAD.worker).toBe(1024 * 1024 * 1024);
  });
});

describe('wire size', () => {
  it('a sparse update with n = 1e6 and 1e5 non-zeros (gaps < 128) costs < 9.01 bytes per non-zero', () => {
    const delta = randomSparse(new Rng(7), 1e6, 1e5);
    const frame = encode({ t: 'update', shard: 3, k: 123456, delta });
    // a 1-byte gap + 8 bytes of value per non-zero, plus a few dozen bytes of keys and headers
    expect(frame.length / 1e5).toBeLessThan(9.01);
    expect(frame.length).toBeGreaterThanOrEqual(9 * 1e5);
  });

  it('gaps of 2⁷, 2¹⁴, 2²¹ and 2²⁸ take 2, 3, 4 and 5 bytes', () => {
    const gaps = [0, 127, 128, 2 ** 14, 2 ** 21, 2 ** 28];
    const all = Uint32Array.from(gaps.map((_, t) => gaps.slice(0, t + 1).reduce((a, b) => a + b)));
    expect(indexDeltasLength(all)).toBe(1 + 1 + 2 + 3 + 4 + 5);
    const val = new Float64Array(all.length).fill(1);
    const big = encode({ t: 'update', shard: 0, k: 0, delta: { n: 2 ** 32 - 1, idx: all, val } });
    const back = decodeFromWorker(big);
    expect(back.ok && back.msg.t === 'update' && Array.from(back.msg.delta.idx)).toEqual(Array.from(all));
  });
});

describe('little-endian conversion (the big-endian host path, forced)', () => {
  it('writes the same bytes as the native path and reads them back', () => {
    const u = new Uint32Array([0, 1, 0xdeadbeef, 0xffffffff]);
    const f = new Float64Array([0, -1.5, Math.PI, -0, 1e-300]);
    // the expected bytes come from DataView, independent of both paths
    const ref = (a: Uint32Array | Float64Array): number[] => {
      const dv = new DataView(new ArrayBuffer(a.byteLength));
      a.forEach((x, i) =>
        a instanceof Uint32Array ? dv.setUint32(4 * i, x, true) : dv.setFloat64(8 * i, x, true),
      );
      return Array.from(new Uint8Array(dv.buffer));
    };
    for (const a of [u, f]) {
      expect(Array.from(toLittleEndian(a, false))).toEqual(ref(a));
      expect(Array.from(toLittleEndian(a, true))).toEqual(ref(a));
    }
    expect(fromLittleEndian(Uint32Array, toLittleEndian(u, false), false)).toStrictEqual(u);
    expect(fromLittleEndian(Float64Array, toLittleEndian(f, false), false)).toStrictEqual(f);
    const tree = wireTree({ a: [u], b: { f }, s: 'x', n: null }, false) as Record<string, unknown>;
    expect(Array.from((tree.a as Uint8Array[])[0])).toEqual(ref(u));
    expect(tree.s).toBe('x');
  });
});

/**
 * jest's sandbox runs hot loops an order of magnitude slower than plain node; for real figures run
 * `npx tsc -b && node packages/protocol/test/bench.js`.
 */
describe('throughput (reported, not asserted)', () => {
  it('encodes and decodes an update with 10k non-zeros', () => {
    const delta = randomSparse(new Rng(3), 1e6, 1e4);
    const msg: Update = { t: 'update', shard: 0, k: 1, delta };
    const rounds = 50;
    let bytes = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) {
      const frame = encode(msg);
      bytes += frame.length;
      const r = decodeFromWorker(frame, { n: 1e6 });
      if (!r.ok) throw r.error;
    }
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(
      `protocol (under jest): update with 10k nnz, encode+decode ${(rounds / sec).toFixed(0)} msg/s, ` +
        `${(bytes / sec / 1e6).toFixed(0)} MB/s, ${((sec / rounds) * 1e6).toFixed(0)} µs per message`,
    );
    expect(bytes).toBeGreaterThan(0);
  });
});
