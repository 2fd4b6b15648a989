import { Rng, type SparseVector } from '@soda/core';
import {
  applyModelDiff,
  decodeFromMaster,
  decodeFromWorker,
  encode,
  heldModel,
  modelDiff,
  roundForWire,
  type DecodeContext,
  type Message,
} from '@soda/protocol';
import { Unpackr } from 'msgpackr';
import { randomSparse } from './samples';

/*
 * Wire precision 32 (DESIGN.md, "Wire precision 32"): the float32 layout of a step vector, read back by
 * an independent reader (msgpackr's plain unpack, the varints and the float32s decoded by hand with a
 * DataView), the fallback to doubles, every refusal, and the diff arithmetic against dense sums.
 */

const N = 1000;
const ctx32: DecodeContext = { n: N, wirePrecision: 32 };
const plain = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** A vector whose values are already float32 (what a worker of a 32-bit run sends). */
function f32Vector(rng: Rng, nnz: number): SparseVector {
  const v = randomSparse(rng, N, nnz);
  return { ...v, val: v.val.map((x) => Math.fround(x * 1e-3)) };
}

/** The independent reader: the vector's map as msgpack, varint gaps and values by hand. */
function readVector(frame: Uint8Array, field: string) {
  const tree = plain.unpack(frame) as Record<string, Record<string, unknown>>;
  const m = tree[field];
  const gaps = m.idx as Uint8Array;
  const idx: number[] = [];
  let at = 0;
  let prev = 0;
  while (at < gaps.length) {
    let d = 0;
    let shift = 1;
    for (;;) {
      const b = gaps[at++];
      d += (b & 0x7f) * shift;
      shift *= 128;
      if (b < 0x80) break;
    }
    prev = idx.length === 0 ? d : prev + d;
    idx.push(prev);
  }
  const raw = m.val as Uint8Array;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const bits = (m.valBits as number | undefined) ?? 64;
  const val: number[] = [];
  for (let o = 0; o < raw.byteLength; o += bits / 8)
    val.push(bits === 32 ? view.getFloat32(o, true) : view.getFloat64(o, true));
  return { keys: Object.keys(m), n: m.n, bits, idx, val, valBytes: raw.byteLength };
}

describe('the float32 layout of a step vector', () => {
  const rng = new Rng(32);

  it('an update with valBits 32: 4 bytes a value, read back exactly by an independent reader', () => {
    const delta = f32Vector(rng, 300);
    const frame = encode({ t: 'update', shard: 2, k: 7, delta, valBits: 32 });
    const r = readVector(frame, 'delta');
    expect(r.bits).toBe(32);
    expect(r.keys).toEqual(['n', 'idx', 'valBits', '_p', 'val']);
    expect(r.n).toBe(N);
    expect(r.valBytes).toBe(4 * 300);
    expect(r.idx).toEqual(Array.from(delta.idx));
    expect(r.val).toEqual(Array.from(delta.val));
    // and our decoder agrees, widening to the same doubles
    const back = decodeFromWorker(frame, ctx32);
    if (!back.ok) throw back.error;
    expect(back.msg).toStrictEqual({ t: 'update', shard: 2, k: 7, delta, valBits: 32 });
    // 4 bytes a value and about one a gap: under 5.1 bytes a coordinate with the header
    expect(frame.length / 300).toBeLessThan(5.6);
    expect(frame.length).toBeLessThan(encode({ t: 'update', shard: 2, k: 7, delta }).length - 3.9 * 300);
  });

  it('a model diff with valBits 32 round-trips, diff flag included', () => {
    const w = f32Vector(rng, 40);
    const m: Message = { t: 'model', k: 3, gamma: 0.5, p: 0.1, w, diff: true, valBits: 32 };
    const back = decodeFromMaster(encode(m), ctx32);
    if (!back.ok) throw back.error;
    expect(back.msg).toStrictEqual(m);
    expect(readVector(encode(m), 'w').valBytes).toBe(4 * 40);
  });

  it('values that are not exactly float32 go as doubles: the codec never rounds', () => {
    const delta = f32Vector(rng, 20);
    const val = delta.val.slice();
    val[7] = 0.1; // not a float32
    val[9] = 3e39; // beyond float32's range: what roundForWire keeps as a double
    const frame = encode({ t: 'update', shard: 0, k: 0, delta: { ...delta, val }, valBits: 32 });
    const r = readVector(frame, 'delta');
    expect(r.bits).toBe(64);
    expect(r.keys).not.toContain('valBits');
    expect(r.val).toEqual(Array.from(val));
    const back = decodeFromWorker(frame, ctx32);
    if (!back.ok) throw back.error;
    expect(back.msg).toStrictEqual({ t: 'update', shard: 0, k: 0, delta: { ...delta, val } });
  });

  it('without valBits a frame is what protocol 3 always wrote (a 64-bit run is unchanged)', () => {
    const delta = randomSparse(rng, N, 50);
    const msg: Message = { t: 'update', shard: 1, k: 2, delta };
    const frame = encode(msg);
    const r = readVector(frame, 'delta');
    expect(r.keys).toEqual(['n', 'idx', '_p', 'val']);
    expect(r.valBytes).toBe(8 * 50);
    expect(r.val).toEqual(Array.from(delta.val));
    // a request for float32 with no float32 values writes the very same bytes
    expect(Buffer.compare(encode({ ...msg, valBits: 32 } as Message), frame)).toBe(0);
  });

  it('roundForWire: the nearest float32, or the double itself beyond float32 range', () => {
    expect(roundForWire(0.1)).toBe(Math.fround(0.1));
    expect(roundForWire(-1e-50)).toBe(-0);
    expect(roundForWire(4e38)).toBe(4e38);
    expect(roundForWire(-4e38)).toBe(-4e38);
    expect(roundForWire(3.4028234663852886e38)).toBe(3.4028234663852886e38); // the largest float32
  });
});

/** The frame of a valid 32-bit update of values `vals` at indices 1, 3, 5…, and where its val bytes start. */
function update32(vals: number[]) {
  const delta = {
    n: N,
    idx: Uint32Array.from(vals, (_, t) => 2 * t + 1),
    val: Float64Array.from(vals, (x) => Math.fround(x)),
  };
  const frame = Buffer.from(encode({ t: 'update', shard: 0, k: 0, delta, valBits: 32 }));
  return { frame, valAt: frame.length - 4 * vals.length };
}

function refusal(frame: Uint8Array, ctx: DecodeContext = ctx32): string {
  const r = decodeFromWorker(frame, ctx);
  if (r.ok) throw new Error('accepted');
  expect(r.error.code).toBe('E_FIELD');
  return r.error.message;
}

describe('what a receiver refuses', () => {
  it('NaN or ±Inf among the float32 values', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const { frame, valAt } = update32([1, 2, 3]);
      frame.writeFloatLE(bad, valAt + 4);
      expect(refusal(frame)).toMatch(/update\.delta\.val\[1\] = (NaN|-?Infinity) is not finite/);
    }
  });

  it('a val of the wrong byte length: not a multiple of 4, or one value more than indices', () => {
    const { frame, valAt } = update32([1, 2, 3]);
    const short = Buffer.from(frame.subarray(0, frame.length - 2));
    short.writeUInt32BE(10, valAt - 4);
    expect(refusal(short)).toMatch(/update\.delta\.val has 10 bytes, not a multiple of 4/);
    const long = Buffer.concat([frame, Buffer.alloc(4)]);
    long.writeUInt32BE(16, valAt - 4);
    expect(refusal(long)).toMatch(/update\.delta\.idx holds 3 indices but val has 4 values/);
  });

  it('valBits other than 32 or 64', () => {
    const { frame } = update32([1, 2]);
    const at = frame.indexOf('valBits') + 'valBits'.length;
    expect(frame[at]).toBe(32);
    for (const [byte, shown] of [
      [16, '16'],
      [65, '65'],
      [0, '0'],
    ] as const) {
      const f = Buffer.from(frame);
      f[at] = byte;
      expect(refusal(f)).toContain(`update.delta.valBits = ${shown} must be 32 or 64`);
    }
    const neg = Buffer.from(frame);
    neg[at] = 0xff; // the fixint −1
    expect(refusal(neg)).toMatch(/update\.delta\.valBits = -1 must be in \[0, /);
    const str = Buffer.from(frame);
    str[at] = 0xc3; // true
    expect(refusal(str)).toMatch(/update\.delta\.valBits = true must be an integer/);
  });

  it('a float32 update, or a model diff, in a 64-bit run', () => {
    const { frame } = update32([1, 2]);
    expect(refusal(frame, { n: N })).toContain(
      "update.delta.valBits = 32 is refused: this run's wire precision is 64",
    );
    expect(refusal(frame, { n: N, wirePrecision: 64 })).toContain('valBits = 32 is refused');
    const w = { n: N, idx: Uint32Array.of(4), val: Float64Array.of(0.5) };
    const diff = encode({ t: 'model', k: 1, gamma: 1, p: 1, w, diff: true });
    const r = decodeFromMaster(diff, { n: N });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error.message).toContain("model.diff = true is refused: this run's wire precision is 64");
    expect(decodeFromMaster(diff, ctx32).ok).toBe(true);
    const f32model = encode({ t: 'model', k: 1, gamma: 1, p: 1, w, valBits: 32 });
    expect(decodeFromMaster(f32model, { n: N }).ok).toBe(false);
  });

  it('float32 values anywhere but model.w and update.delta, even in a 32-bit run', () => {
    const frame = Buffer.from(
      encode({ t: 'eval', id: 1, w: { n: N, idx: Uint32Array.of(1, 2), val: Float64Array.of(0.5, 0.25) } }),
    );
    // rewrite the eval's w as a float32 vector by hand: same map with valBits 32 and 8 bytes of val
    const tree = plain.unpack(frame) as Record<string, unknown>;
    const w = tree.w as Record<string, unknown>;
    const patched = {
      ...tree,
      w: { ...w, valBits: 32, val: Buffer.from(new Float32Array([0.5, 0.25]).buffer) },
    };
    const { Packr } = jest.requireActual<typeof import('msgpackr')>('msgpackr');
    const bytes = new Packr({ useRecords: false }).pack(patched);
    const r = decodeFromMaster(bytes, ctx32);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error.message).toContain(
        'eval.w.valBits = 32 is refused: only model.w and update.delta may carry float32 values',
      );
  });

  it('assign.wirePrecision other than 32 or 64', () => {
    const base = {
      t: 'assign' as const,
      runId: 'r',
      shard: 0,
      n: N,
      lambda2: 0.1,
      p: 0.5,
      seed: 1,
      delayMs: 0,
      rows: null,
      wi: { n: N, idx: new Uint32Array(0), val: new Float64Array(0) },
    };
    const ok = decodeFromMaster(encode({ ...base, wirePrecision: 32 }), { n: N });
    expect(ok.ok && ok.msg.t === 'assign' && ok.msg.wirePrecision).toBe(32);
    // the stats round's assign (no n, no w_i yet) carries it too: its scale frame brings no other
    const { n: _n, wi: _wi, ...statsRound } = base;
    const early = decodeFromMaster(encode({ ...statsRound, wirePrecision: 32 }));
    expect(early.ok && early.msg.t === 'assign' && early.msg.n === undefined && early.msg.wirePrecision).toBe(
      32,
    );
    const bad = decodeFromMaster(encode({ ...base, wirePrecision: 48 } as unknown as Message), { n: N });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain('assign.wirePrecision = 48 must be 32 or 64');
  });
});

describe('model diffs: ŵ ← ŵ + f32(w − ŵ)', () => {
  const dense = (v: SparseVector) => {
    const out = new Float64Array(v.n);
    v.idx.forEach((j, t) => (out[j] = v.val[t]));
    return out;
  };

  it('against dense arithmetic: the diff, the new ŵ, and the error left (≤ 2⁻²⁴ of the change)', () => {
    const rng = new Rng(7);
    let w = randomSparse(rng, N, 120);
    let hat = heldModel(w);
    for (let round = 0; round < 100; round++) {
      // w moves: most coordinates a little, some leave the support, some join it
      const next = new Float64Array(dense(w));
      for (let t = 0; t < 30; t++) next[rng.int(N)] = rng.next() < 0.3 ? 0 : rng.normal() * 1e-2;
      for (let j = 0; j < N; j++) if (next[j] !== 0) next[j] += rng.normal() * 1e-6;
      const idx = Uint32Array.from(Array.from(next.keys()).filter((j) => next[j] !== 0));
      w = { n: N, idx, val: Float64Array.from(idx, (j) => next[j]) };

      const d = modelDiff(w, hat)!;
      const h = dense(hat);
      const expected = new Float64Array(N);
      for (let j = 0; j < N; j++) expected[j] = Math.fround(next[j] - h[j]);
      expect(Array.from(dense(d))).toEqual(Array.from(expected));
      expect(Array.from(d.val).every((x) => x !== 0 && Math.fround(x) === x)).toBe(true);
      const after = applyModelDiff(hat, d);
      const sum = h.map((x, j) => x + expected[j]);
      expect(Array.from(dense(after))).toEqual(Array.from(sum));
      expect(Array.from(after.val).every((x) => x !== 0)).toBe(true);
      let worse = 0; // (one expect per round: jest's matchers are slow in a loop over n)
      for (let j = 0; j < N; j++)
        if (Math.abs(next[j] - sum[j]) > 2 ** -24 * Math.abs(next[j] - h[j])) worse++;
      expect(worse).toBe(0);
      hat = after;
    }
  });

  it('a coordinate that leaves supp(w) leaves supp(ŵ) after at most a few replies', () => {
    const hat = { n: N, idx: Uint32Array.of(5), val: Float64Array.of(0.1234567890123) };
    const zero = { n: N, idx: new Uint32Array(0), val: new Float64Array(0) };
    let h: SparseVector = hat;
    let replies = 0;
    while (h.idx.length > 0 && replies < 10) {
      h = applyModelDiff(h, modelDiff(zero, h)!);
      replies++;
    }
    expect(h.idx.length).toBe(0);
    expect(replies).toBeLessThanOrEqual(3);
  });

  it('a difference beyond double range asks for a whole model (null)', () => {
    const w = { n: N, idx: Uint32Array.of(1), val: Float64Array.of(1.7e308) };
    const hat = { n: N, idx: Uint32Array.of(1), val: Float64Array.of(-1.7e308) };
    expect(modelDiff(w, hat)).toBeNull();
  });
});
