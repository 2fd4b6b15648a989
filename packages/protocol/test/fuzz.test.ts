import { Rng } from '@soda/core';
import {
  CLOSE_CODES,
  decodeFromMaster,
  decodeFromWorker,
  encode,
  type DecodeContext,
  type DecodeResult,
  type Message,
} from '@soda/protocol';
import { brokenInvariant, fromWorker, sampleMessages } from './samples';

/**
 * Throws random and mutated frames at both decoders. Properties: decode never throws; every
 * refusal is a well-formed ProtocolError that blames the peer (never E_INTERNAL); every accepted
 * message satisfies the invariants (checked by an independent implementation) and survives a
 * re-encode.
 */
const N = 40;
const rng = new Rng(0x50da);
const samples = sampleMessages(rng, N, 6);
const frames = samples.map((m) => Buffer.from(encode(m)));
const INTERESTING = [
  0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xc5, 0xc6, 0xc7, 0xc9,
];
INTERESTING.push(0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff);

const pick = <T>(a: readonly T[]): T => a[rng.int(a.length)];
const randomBytes = (len: number): Buffer => Buffer.from(Array.from({ length: len }, () => rng.int(256)));

function mutateBytes(src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (rng.int(8)) {
    case 0: // flip bits
      for (let i = 1 + rng.int(4); i > 0; i--) b[rng.int(b.length)] ^= 1 + rng.int(255);
      return b;
    case 1: // an interesting head byte somewhere
      b[rng.int(b.length)] = pick(INTERESTING);
      return b;
    case 2: // truncate
      return b.subarray(0, rng.int(b.length));
    case 3: {
      // splice two frames
      const other = pick(frames);
      return Buffer.concat([b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1))]);
    }
    case 4: {
      // insert random bytes
      const at = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), randomBytes(1 + rng.int(8)), b.subarray(at)]);
    }
    case 5: {
      // delete a range
      const at = rng.int(b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(8))]);
    }
    case 6: {
      // duplicate a range
      const at = rng.int(b.length);
      const piece = b.subarray(at, at + 1 + rng.int(16));
      return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
    }
    default: {
      // random bytes, often behind a map head
      const r = randomBytes(rng.int(64));
      return rng.next() < 0.5 ? Buffer.concat([Buffer.from([0x80 + rng.int(16)]), r]) : r;
    }
  }
}

const ODD_VALUES: unknown[] = [
  -1,
  0,
  1,
  0.5,
  1.5,
  -0,
  NaN,
  Infinity,
  -Infinity,
  2 ** 32,
  2 ** 53,
  2 ** 64,
  '',
  'x',
];
ODD_VALUES.push(true, false, null, [], [1, 'a'], {}, { n: 3 }, 'y'.repeat(200));

function oddValue(): unknown {
  if (rng.next() < 0.2) return new Uint8Array(rng.int(25)).map(() => rng.int(256));
  return pick(ODD_VALUES);
}

/** A sample with one field (top-level or inside a vector/rows map, or one array element) spoiled. */
function mutateTree(m: Message): unknown {
  const tree = structuredClone(m) as unknown as Record<string, unknown>;
  const keys = Object.keys(tree);
  const key = pick(keys);
  const v = tree[key];
  if (
    v !== null &&
    typeof v === 'object' &&
    !ArrayBuffer.isView(v) &&
    !Array.isArray(v) &&
    rng.next() < 0.7
  ) {
    const inner = v as Record<string, unknown>;
    const ik = pick(Object.keys(inner));
    const arr = inner[ik];
    if (arr instanceof Float64Array || arr instanceof Uint32Array) {
      if (arr.length > 0 && rng.next() < 0.7) {
        arr[rng.int(arr.length)] = pick([NaN, Infinity, 0, -1, 1, 2 ** 31, N, N - 1, arr[0]]);
        return tree;
      }
    }
    if (rng.next() < 0.2) delete inner[ik];
    else inner[ik] = oddValue();
    return tree;
  }
  if (key !== 't' && rng.next() < 0.2) delete tree[key];
  else tree[key] = oddValue();
  return tree;
}

const KNOWN = new Set(Object.keys(CLOSE_CODES));

function checkResult(r: DecodeResult<Message>, ctx: DecodeContext): 'ok' | 'refused' {
  if (!r.ok) {
    const e = r.error;
    if (!KNOWN.has(e.code) || e.code === 'E_INTERNAL')
      throw new Error(`unexpected code ${e.code}: ${e.message}`);
    if (e.closeCode !== CLOSE_CODES[e.code]) throw new Error(`close code ${e.closeCode} for ${e.code}`);
    if (typeof e.message !== 'string' || e.message.length === 0) throw new Error('empty message');
    return 'refused';
  }
  const broken = brokenInvariant(r.msg, ctx.n);
  if (broken !== null) throw new Error(`accepted ${r.msg.t} breaks ${broken}`);
  const again = fromWorker(r.msg)
    ? decodeFromWorker(encode(r.msg), ctx)
    : decodeFromMaster(encode(r.msg), ctx);
  if (!again.ok) throw new Error(`re-encoded ${r.msg.t} refused: ${again.error.message}`);
  return 'ok';
}

function run(frame: Buffer, tally: Record<string, number>): void {
  const ctx: DecodeContext = rng.next() < 0.5 ? { n: N } : {};
  for (const decode of [decodeFromWorker, decodeFromMaster]) {
    let r: DecodeResult<Message>;
    try {
      r = decode(frame, ctx);
    } catch (e) {
      throw new Error(`decoder threw on ${frame.toString('hex')}: ${(e as Error).stack}`);
    }
    tally[checkResult(r, ctx)]++;
  }
}

describe('fuzzing both decoders', () => {
  it('byte-level mutations never throw and never let a broken message through', () => {
    const tally = { ok: 0, refused: 0 };
    for (let i = 0; i < 5000; i++) run(mutateBytes(pick(frames)), tally);
    console.log(`byte mutations: ${tally.ok} accepted, ${tally.refused} refused`);
    expect(tally.ok).toBeGreaterThan(100);
    expect(tally.refused).toBeGreaterThan(5000);
  });

  it('field-level mutations never throw and never let a broken message through', () => {
    const tally = { ok: 0, refused: 0 };
    for (let i = 0; i < 3000; i++) run(Buffer.from(encode(mutateTree(pick(samples)) as Message)), tally);
    console.log(`field mutations: ${tally.ok} accepted, ${tally.refused} refused`);
    expect(tally.ok).toBeGreaterThan(100);
    expect(tally.refused).toBeGreaterThan(3000);
  });
});

/**
 * The varint gap lists of protocol 3 (varint.ts), byte by byte. An update frame is built with idx as
 * raw bytes (encode packs a Uint8Array as it is) and `count` values.
 */
describe('malformed varint gap lists', () => {
  const frameWith = (gaps: number[], count: number, n = N): Buffer =>
    Buffer.from(
      encode({
        t: 'update',
        shard: 0,
        k: 0,
        delta: { n, idx: Uint8Array.from(gaps), val: new Float64Array(count).fill(0.5) },
      } as unknown as Message),
    );
  const refusal = (gaps: number[], count: number, n = N) => {
    const r = decodeFromWorker(frameWith(gaps, count, n), { n });
    if (r.ok) throw new Error(`accepted ${JSON.stringify(gaps)}`);
    expect(r.error.code).toBe('E_FIELD');
    return r.error;
  };
  const accepted = (gaps: number[], count: number, n = N): number[] => {
    const r = decodeFromWorker(frameWith(gaps, count, n), { n });
    if (!r.ok) throw new Error(r.error.message);
    return Array.from((r.msg as { delta: { idx: Uint32Array } }).delta.idx);
  };

  it.each([
    ['overlong (0x80 0x00 for 0)', [0x80, 0x00], 1, 'delta.idx[0]', /overlong varint/],
    ['overlong (0x81 0x80 0x00 for 1)', [0x81, 0x80, 0x00], 1, 'delta.idx[0]', /overlong varint/],
    ['overlong after a good one', [3, 0x85, 0x00], 2, 'delta.idx[1]', /overlong varint/],
    ['truncated inside a varint', [5, 0x80], 2, 'delta.idx', /ends inside a varint \(idx\[1\]/],
    ['a lone continuation byte', [0xff], 1, 'delta.idx', /ends inside a varint/],
    ['six bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 1, 'delta.idx[0]', /longer than 5 bytes/],
    ['a gap past 2³² − 1', [0xff, 0xff, 0xff, 0xff, 0x10], 1, 'delta.idx[0]', /more than 2\^32 − 1/],
    ['a zero gap (duplicate index)', [3, 0], 2, 'delta.idx[1]', /= 3 is not greater than idx\[0\] = 3/],
    [
      'an index ≥ n',
      [N - 1, 1],
      2,
      'delta.idx[1]',
      new RegExp(`= ${N} is out of range for dimension n = ${N}`),
    ],
    ['a first index ≥ n', [N], 1, 'delta.idx[0]', /out of range/],
    ['fewer indices than values', [1, 1], 3, 'delta.idx', /holds 2 indices but val has 3 values/],
    ['more indices than values', [1, 1, 1], 2, 'delta.idx', /holds 3 indices but val has 2 values/],
    ['one more, unfinished', [1, 1, 0x80], 2, 'delta.idx', /holds 2 indices .* \(and ends inside a varint\)/],
  ])('%s', (_, gaps, count, field, message) => {
    const e = refusal(gaps as number[], count as number);
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message as RegExp);
  });

  it('indices sum past 2³² without wrapping: refused as out of range, not read modulo 2³²', () => {
    const big = 2 ** 32 - 1;
    // 2³² − 2 (5 bytes: fe ff ff ff 0f), then a gap of 2: the sum 2³² would wrap to 0 in a Uint32
    const e = refusal([0xfe, 0xff, 0xff, 0xff, 0x0f, 2], 2, big);
    expect(e.field).toBe('delta.idx[1]');
    expect(e.message).toMatch(/= 4294967296 is out of range for dimension n = 4294967295/);
  });

  it('the largest index, 2³² − 2 with n = 2³² − 1, and every varint width are accepted', () => {
    expect(accepted([0xfe, 0xff, 0xff, 0xff, 0x0f], 1, 2 ** 32 - 1)).toEqual([2 ** 32 - 2]);
    // gaps 0, 127, 128, 2¹⁴, 2²¹: 1, 1, 2, 3, 4 bytes
    const gaps = [0x00, 0x7f, 0x80, 0x01, 0x80, 0x80, 0x01, 0x80, 0x80, 0x80, 0x01];
    expect(accepted(gaps, 5, 2 ** 24)).toEqual([0, 127, 255, 255 + 2 ** 14, 255 + 2 ** 14 + 2 ** 21]);
  });

  it('random gap lists: never a throw; what is accepted is what an independent LEB128 reader reads', () => {
    // independent reference: BigInt LEB128, canonical, ≤ 5 bytes, then the same rules spelled out
    const reference = (b: number[], count: number, n: number): number[] | null => {
      const out: number[] = [];
      let p = 0;
      while (p < b.length) {
        let v = 0n;
        let shift = 0n;
        const start = p;
        for (;;) {
          if (p >= b.length || p - start >= 5) return null;
          const x = b[p++];
          v |= BigInt(x & 0x7f) << shift;
          shift += 7n;
          if (x < 0x80) {
            if (x === 0 && p - start > 1) return null;
            break;
          }
        }
        if (v > 0xffffffffn) return null;
        const j = out.length === 0 ? Number(v) : out[out.length - 1] + Number(v);
        if ((out.length > 0 && v === 0n) || j >= n) return null;
        out.push(j);
      }
      return out.length === count ? out : null;
    };
    let ok = 0;
    for (let i = 0; i < 4000; i++) {
      const len = rng.int(12);
      const gaps = Array.from({ length: len }, () =>
        pick([0, 1, 2, 0x7f, 0x80, 0x81, 0xff, 0x0f, 0x10, rng.int(256), rng.int(256)]),
      );
      const count = Math.max(0, len - rng.int(4));
      const n = pick([N, 300, 2 ** 20, 2 ** 32 - 1]);
      const want = reference(gaps, count, n);
      const r = decodeFromWorker(frameWith(gaps, count, n), { n });
      if (want === null) {
        if (r.ok) throw new Error(`accepted ${JSON.stringify(gaps)} (count ${count}, n ${n})`);
        expect(r.error.code).toBe('E_FIELD');
      } else {
        if (!r.ok) throw new Error(`refused ${JSON.stringify(gaps)}: ${r.error.message}`);
        expect(Array.from((r.msg as { delta: { idx: Uint32Array } }).delta.idx)).toEqual(want);
        ok++;
      }
    }
    expect(ok).toBeGreaterThan(100);
  });
});
