import { Rng } from '@soda/core';
import {
  closeReason,
  decodeFromMaster,
  decodeFromWorker,
  encode,
  errorFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  type DecodeContext,
  type Message,
} from '@soda/protocol';
import { Packr } from 'msgpackr';
import { fromWorker, sampleMessages } from './samples';

type Tree = Record<string, unknown>;
const samples = sampleMessages(new Rng(5), 500, 6);
const sample = (t: string): Message => structuredClone(samples.find((m) => m.t === t) as Message);

/** The error the receiver of `frame` reports; fails the test if the frame is accepted. */
function reject(frame: unknown, toMaster = true, ctx: DecodeContext = {}): ProtocolError {
  const input =
    frame instanceof Uint8Array || Array.isArray(frame) || typeof frame === 'string'
      ? frame
      : encode(frame as Message);
  const r = toMaster ? decodeFromWorker(input as Buffer, ctx) : decodeFromMaster(input as Buffer, ctx);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.msg)}`);
  expect(r.error).toBeInstanceOf(ProtocolError);
  return r.error;
}

/** A sample message of type t with `edit` applied to (a clone of) its decoded form. */
function edited(t: string, edit: (m: Tree) => void): { msg: Tree; toMaster: boolean } {
  const m = sample(t);
  const tree = m as unknown as Tree;
  edit(tree);
  return { msg: tree, toMaster: fromWorker(m) };
}

function rejectEdit(t: string, edit: (m: Tree) => void, ctx: DecodeContext = {}): ProtocolError {
  const { msg, toMaster } = edited(t, edit);
  return reject(msg, toMaster, ctx);
}

describe('frames that are not one msgpack map', () => {
  it.each([
    ['text', Buffer.from('hello, master'), 'E_DECODE', /must be a msgpack map, got an integer/],
    ['empty', Buffer.alloc(0), 'E_DECODE', /empty frame/],
    ['a number', encode(42 as unknown as Message), 'E_DECODE', /got an integer/],
    ['a string', encode('update' as unknown as Message), 'E_DECODE', /got a string/],
    ['an array', encode([1, 2] as unknown as Message), 'E_DECODE', /got an array/],
    ['reserved byte', Buffer.from([0x81, 0xa1, 0x74, 0xc1]), 'E_DECODE', /reserved byte 0xc1 at offset 3/],
    [
      'two maps',
      Buffer.concat([encode(sample('stop')), encode(sample('stop'))]),
      'E_DECODE',
      /trailing bytes/,
    ],
    ['non-string key', Buffer.from([0x81, 0x01, 0x02]), 'E_DECODE', /map key at offset 1 must be a string/],
  ])('%s → %s', (_, frame, code, message) => {
    const e = reject(frame, false);
    expect(e.code).toBe(code);
    expect(e.closeCode).toBe(1007);
    expect(e.message).toMatch(message);
  });

  it('every truncation of a valid frame is refused', () => {
    const frame = encode(sample('update'));
    for (let len = 0; len < frame.length; len++) {
      const e = reject(frame.subarray(0, len));
      expect(e.code).toBe('E_DECODE');
      if (len > 0) expect(e.message).toMatch(/truncated|declares/);
    }
  });

  it('huge declared lengths are refused before anything is allocated', () => {
    // map { t: <bin32 of 4 GiB> }, { t: <array32 of 2^32-1> }, map32 of 2^32-1 entries, str32
    const cases = [
      [0x81, 0xa1, 0x74, 0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2],
      [0x81, 0xa1, 0x74, 0xdd, 0xff, 0xff, 0xff, 0xff, 1],
      [0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x74],
      [0x81, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0x74],
    ];
    for (const bytes of cases) {
      const e = reject(Buffer.from(bytes));
      expect(e.code).toBe('E_DECODE');
      expect(e.message).toMatch(/truncated|declares \d+ (entries|elements) but only \d+ bytes follow/);
    }
  });

  it('refuses msgpack extension types (typed-array, Set, Date, undefined)', () => {
    const withExt = new Packr({ useRecords: false, moreTypes: true });
    const head = withExt.pack({ t: 'stop', reason: null }).subarray(0, -1); // all but the nil
    // msgpackr's typed-array extension (0x74), Float64Array code 8, written by hand: msgpackr
    // spots typed arrays by instanceof, which fails across jest's realms
    const f64 = Buffer.from([0xc7, 9, 0x74, 8, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    const values = [new Set([1]), new Date(0), undefined].map((v) => withExt.pack(v));
    for (const v of [f64, ...values]) {
      const e = reject(Buffer.concat([head, v]), false);
      expect(e.code).toBe('E_UNSUPPORTED');
      expect(e.closeCode).toBe(1003);
      expect(e.message).toMatch(/msgpack extension type -?\d+ at offset \d+ is not accepted/);
    }
  });

  it('refuses nesting deeper than the limit', () => {
    let deep: unknown = [];
    for (let i = 0; i < 12; i++) deep = [deep];
    const e = reject({ t: 'stop', reason: 'x', junk: deep }, false);
    expect(e.code).toBe('E_DECODE');
    expect(e.message).toMatch(/nesting deeper than 8/);
  });

  it('refuses a text frame and unreadable inputs with 1003', () => {
    expect(reject('{"t":"hello"}').code).toBe('E_UNSUPPORTED');
    const r = decodeFromWorker(42 as unknown as Buffer);
    expect(!r.ok && r.error.closeCode).toBe(1003);
  });

  it('refuses a frame over the limit with E_TOO_BIG / 1009, fragments counted together', () => {
    const frame = encode(sample('update'));
    const e = reject([frame.subarray(0, 10), frame.subarray(10)], true, { maxBytes: frame.length - 1 });
    expect(e.code).toBe('E_TOO_BIG');
    expect(e.closeCode).toBe(1009);
    expect(decodeFromWorker(frame, { maxBytes: frame.length }).ok).toBe(true);
  });
});

describe('message types', () => {
  it('unknown, missing or non-string t → E_TYPE', () => {
    expect(reject({ t: 'bogus' }).message).toBe('t = "bogus" is not a known message type');
    expect(reject({ t: 'toString' }).code).toBe('E_TYPE');
    expect(reject({ type: 'hello' }).message).toMatch(/no t/);
    const e = reject({ t: 7 });
    expect([e.code, e.field, e.closeCode]).toEqual(['E_TYPE', 't', 1002]);
  });

  it('a type the sender may not send → E_TYPE', () => {
    expect(reject(sample('model'), true).message).toBe('t = "model" is not a message a worker may send');
    expect(reject(sample('update'), false).message).toBe('t = "update" is not a message the master may send');
    expect(decodeFromWorker(encode(sample('error'))).ok).toBe(true);
    expect(decodeFromMaster(encode(sample('error'))).ok).toBe(true);
  });

  it('a frame of another protocol version → E_VERSION / 1008', () => {
    const e = rejectEdit('hello', (m) => (m.version = 1));
    expect([e.code, e.closeCode, e.field]).toEqual(['E_VERSION', 1008, 'version']);
    expect(e.message).toBe(
      `hello.version = 1 is not supported; this side speaks protocol version ${PROTOCOL_VERSION}`,
    );
    expect(rejectEdit('challenge', (m) => (m.version = 0)).code).toBe('E_VERSION');
  });
});

/** Fields a message may leave out (the first sample of each type is the one edited). */
const OPTIONAL: Readonly<Record<string, readonly string[]>> = {
  assign: ['scale', 'n', 'wi'],
  ready: ['n', 'nnz', 'hash'],
  stats: ['hash'],
  scale: ['scale'],
  eval: ['gap'],
  evalResult: ['correct', 'entropy', 'u'],
};

describe('fields', () => {
  const required = samples.flatMap((m) =>
    Object.keys(m)
      .filter((k) => k !== 't' && !(m.t === 'hello' && (k === 'proof' || k === 'nonce' || k === 'shard')))
      .filter((k) => !(m.t === 'challenge' && (k === 'runId' || k === 'mac')))
      .filter((k) => !OPTIONAL[m.t]?.includes(k))
      .map((k) => [m.t, k] as const),
  );

  it.each(required)('%s without %s → E_FIELD naming it', (t, key) => {
    const e = rejectEdit(t, (m) => delete m[key]);
    expect([e.code, e.field, e.closeCode]).toEqual(['E_FIELD', key, 1007]);
    expect(e.message).toBe(`${t}.${key} is missing`);
  });

  it.each(required)('%s with a wrongly typed %s → E_FIELD naming it', (t, key) => {
    const e = rejectEdit(t, (m) => (m[key] = typeof m[key] === 'string' ? 42 : 'oops'));
    expect(e.code).toBe('E_FIELD');
    expect(e.field).toBe(key);
    expect(e.message.startsWith(`${t}.${key} = `)).toBe(true);
  });

  it.each([
    ['update', 'k', -1, 'update.k = -1 must be ≥ 0'],
    ['update', 'k', 1.5, 'update.k = 1.5 is not an integer'],
    ['update', 'k', 2 ** 60, `update.k = ${2 ** 60} is not an integer`],
    ['evalResult', 'fi', NaN, 'evalResult.fi = NaN is not finite'],
    ['evalResult', 'fi', -Infinity, 'evalResult.fi = -Infinity is not finite'],
    ['model', 'gamma', 0, 'model.gamma = 0 must be in (0, ∞)'],
    ['model', 'p', 1.5, 'model.p = 1.5 must be in (0, 1]'],
    ['assign', 'lambda2', -1e-3, 'assign.lambda2 = -0.001 must be in [0, ∞)'],
    ['assign', 'seed', 2 ** 32, `assign.seed = ${2 ** 32} must be in [0, 4294967295]`],
    ['assign', 'shard', -1, 'assign.shard = -1 must be in [0, 4294967295]'],
    [
      'assign',
      'scale',
      new Float64Array(500),
      'assign.scale must be absent when rows are sent (they arrive scaled)',
    ],
    ['ready', 'L', 0, 'ready.L = 0 must be in (0, ∞)'],
    ['ready', 'm', 0, 'ready.m = 0 must be ≥ 1'],
    ['hello', 'workerId', '', 'hello.workerId has 0 characters; it must have 1 to 128'],
    ['hello', 'workerId', 'x'.repeat(129), 'hello.workerId has 129 characters; it must have 1 to 128'],
    ['hello', 'proof', new Uint8Array(31), 'hello.proof has 31 bytes; it must have 32'],
    ['hello', 'shard', -1, 'hello.shard = -1 must be in [0, 4294967295]'],
    ['ready', 'hash', 'AB'.repeat(32), 'ready.hash = "ABABABABABABABAB"… must be 64 lower-case hex digits'],
    ['ready', 'nnz', -1, 'ready.nnz = -1 must be ≥ 0'],
    ['stats', 'nnz', 2, 'stats.colMax has 6 columns but the shard has only nnz = 2 entries'],
    ['stats', 'm', 0, 'stats.m = 0 must be in [1, 4294967295]'],
    ['eval', 'gap', 1, 'eval.gap = 1 must be a boolean'],
    ['challenge', 'authRequired', 1, 'challenge.authRequired = 1 must be a boolean'],
    ['evalResult', 'correct', -2, 'evalResult.correct = -2 must be ≥ 0'],
  ])('%s.%s = %p → %s', (t, key, value, message) => {
    const e = rejectEdit(t, (m) => (m[key] = value));
    expect(e.code).toBe('E_FIELD');
    expect(e.message).toBe(message);
  });
});

describe('sparse vectors', () => {
  const delta = (
    edit: (d: { n: number; idx: Uint32Array; val: Float64Array }) => void,
    ctx: DecodeContext = {},
  ) => rejectEdit('update', (m) => edit(m.delta as { n: number; idx: Uint32Array; val: Float64Array }), ctx);

  it('non-finite values', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const e = delta((d) => (d.val[2] = bad));
      expect([e.code, e.field]).toEqual(['E_FIELD', 'delta.val[2]']);
      expect(e.message).toBe(`update.delta.val[2] = ${bad} is not finite`);
    }
  });

  it('unsorted and duplicate indices', () => {
    const e = delta((d) => ([d.idx[3], d.idx[4]] = [d.idx[4], d.idx[3]]));
    expect(e.field).toBe('delta.idx[4]');
    expect(e.message).toMatch(/^update\.delta\.idx\[4\] = \d+ is not greater than idx\[3\] = \d+/);
    const dup = delta((d) => (d.idx[1] = d.idx[0]));
    expect(dup.field).toBe('delta.idx[1]');
  });

  it('out-of-range index', () => {
    const e = delta((d) => (d.idx[5] = 70000));
    expect(e.field).toBe('delta.idx[5]');
    expect(e.message).toBe('update.delta.idx[5] = 70000 is out of range for dimension n = 500');
  });

  it('idx and val of different lengths', () => {
    const e = delta((d) => (d.val = new Float64Array(d.idx.length + 1)));
    expect([e.code, e.field]).toEqual(['E_FIELD', 'delta.idx']);
    expect(e.message).toBe(
      'update.delta.idx holds 6 indices but val has 7 values; they must have the same length',
    );
  });

  it('byte lengths that are not whole elements', () => {
    // 7 one-byte gaps for 6 values: one index too many
    const e = delta((d) => ((d as unknown as Tree).idx = Uint8Array.from([0, 1, 1, 1, 1, 1, 1])));
    expect(e.field).toBe('delta.idx');
    expect(e.message).toBe(
      'update.delta.idx holds 7 indices but val has 6 values; they must have the same length',
    );
    const v = delta((d) => ((d as unknown as Tree).val = new Uint8Array(12)));
    expect(v.message).toMatch(/update\.delta\.val has 12 bytes, not a multiple of 8/);
    expect(delta((d) => ((d as unknown as Tree).idx = [1, 2, 3])).message).toMatch(/must be binary data/);
  });

  it('a dimension other than the run’s, or out of uint32', () => {
    const e = delta(() => undefined, { n: 400 });
    expect([e.field, e.message]).toEqual([
      'delta.n',
      "update.delta.n = 500 does not match the run's dimension n = 400",
    ]);
    expect(delta((d) => (d.n = 2 ** 40)).message).toBe(
      `update.delta.n = ${2 ** 40} must be in [1, 4294967295]`,
    );
    expect(decodeFromWorker(encode(sample('update')), { n: 500 }).ok).toBe(true);
    const wi = rejectEdit('assign', (m) => ((m.wi as { n: number }).n = 499));
    expect(wi.message).toBe('assign.wi.n = 499 does not match assign.n = 500');
  });
});

describe('shard rows (CSR)', () => {
  type Rows = { m: number; ptr: Float64Array; ind: Uint32Array; val: Float64Array; y: Float64Array };
  const rows = (edit: (r: Rows) => void): ProtocolError => rejectEdit('assign', (m) => edit(m.rows as Rows));

  it.each<[string, (r: Rows) => void, string | RegExp]>([
    ['ptr[0] ≠ 0', (r) => (r.ptr[0] = 1), 'assign.rows.ptr[0] = 1 must be 0'],
    [
      'ptr too short',
      (r) => (r.ptr = r.ptr.subarray(1)),
      'assign.rows.ptr has 6 entries; it must have m + 1 = 7',
    ],
    ['huge m', (r) => (r.m = 1e9), 'assign.rows.ptr has 7 entries; it must have m + 1 = 1000000001'],
    [
      'ptr[m] ≠ nnz',
      (r) => (r.ptr[r.m] += 1),
      /^assign\.rows\.ptr\[6\] = \d+ must equal the \d+ entries of ind$/,
    ],
    [
      'decreasing ptr',
      (r) => (r.ptr[4] = r.ptr[3] - 1),
      /^assign\.rows\.ptr\[4\] = \d+ must be an integer in \[ptr\[3\]/,
    ],
    ['fractional ptr', (r) => (r.ptr[2] += 0.5), /^assign\.rows\.ptr\[2\] = [\d.]+ must be an integer/],
    ['column ≥ n', (r) => (r.ind[0] = 500), /^assign\.rows\.ind\[0\] = 500 is out of range for n = 500/],
    [
      'unsorted row',
      (r) => (r.ind[1] = r.ind[0]),
      /^assign\.rows\.ind\[1\] = \d+ is not greater than ind\[0\]/,
    ],
    ['NaN value', (r) => (r.val[3] = NaN), 'assign.rows.val[3] = NaN is not finite'],
    ['label 0', (r) => (r.y[2] = 0), 'assign.rows.y[2] = 0 must be -1 or +1'],
    [
      'y too long',
      (r) => (r.y = new Float64Array(r.m + 1).fill(1)),
      'assign.rows.y has 7 entries; it must have m = 6',
    ],
    [
      'val too short',
      (r) => (r.val = r.val.subarray(1)),
      /^assign\.rows\.val has \d+ entries but ind has \d+/,
    ],
  ])('%s', (_, edit, message) => {
    const e = rows(edit);
    expect(e.code).toBe('E_FIELD');
    expect(e.message).toMatch(message);
    expect(e.field.startsWith('rows.')).toBe(true);
  });

  it('the sample really has rows long enough for these edits', () => {
    const a = sample('assign');
    if (a.t !== 'assign' || a.rows === null) throw new Error('sample without rows');
    expect(a.rows.m).toBe(6);
    expect(a.rows.ptr[1]).toBeGreaterThanOrEqual(2); // ind[0], ind[1] are in row 0
  });
});

describe('error frame and close reason', () => {
  it('errorFrame is a valid error message in both directions', () => {
    const e = rejectEdit('update', (m) => (m.k = -1));
    const frame = errorFrame(e);
    expect(frame).toEqual({ t: 'error', code: 'E_FIELD', message: 'update.k = -1 must be ≥ 0' });
    const back = decodeFromMaster(encode(frame));
    expect(back.ok && back.msg).toEqual(frame);
  });

  it('closeReason fits a close frame (123 bytes of UTF-8) without splitting a character', () => {
    const e = new ProtocolError('E_FIELD', 'é€😀'.repeat(40), 'x');
    const reason = closeReason(e);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(Buffer.from(reason, 'utf8').toString('utf8')).toBe(reason);
    expect(reason).not.toMatch(/\uFFFD/);
    expect(closeReason(new ProtocolError('E_AUTH', 'bad proof'))).toBe('E_AUTH: bad proof');
  });
});

describe('hostile keys', () => {
  it('a __proto__ key changes nothing', () => {
    const raw = new Packr({ useRecords: false });
    const frame = Buffer.concat([
      Buffer.from([0x83]),
      raw.pack('t').subarray(0),
      raw.pack('stop'),
      raw.pack('reason'),
      raw.pack('x'),
      raw.pack('__proto__'),
      raw.pack({ polluted: true }),
    ]);
    const r = decodeFromMaster(frame);
    expect(r.ok && r.msg).toEqual({ t: 'stop', reason: 'x' });
    expect(({} as Tree).polluted).toBeUndefined();
    expect(r.ok && Object.getPrototypeOf(r.msg)).toBe(Object.prototype);
  });
});
