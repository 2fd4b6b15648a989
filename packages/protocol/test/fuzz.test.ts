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
