import { Packr, Unpackr } from 'msgpackr';
import { HOST_LITTLE_ENDIAN, isBytes, isSparseVector, toLittleEndian, wireTree } from './bytes';
import { ProtocolError } from './errors';
import { SCHEMAS, type DecodeContext } from './frames';
import {
  DEFAULT_MAX_PAYLOAD_MASTER,
  DEFAULT_MAX_PAYLOAD_WORKER,
  MASTER_TYPES,
  WORKER_TYPES,
  type FromMaster,
  type FromWorker,
  type Message,
  type MessageType,
} from './messages';
import { scanFrame } from './scan';
import { MAC_BYTES, type FrameMac } from './session';
import { flatMapBound, writeFlatMap, writeNumber } from './flat-map';
import { writeIndexDeltas } from './varint';
import type { FramePool } from './frame-pool';
import { has, isObj, show } from './validate';

/**
 * Plain msgpack maps in both directions: no records (a peer in another language can read every
 * frame), no extensions (typed arrays go out as `bin` of their bytes, see wireTree), undefined
 * optional fields left out rather than written as msgpackr's extension 0.
 */
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  // documented in msgpackr's README but missing from its typings
  ...{ skipValues: [undefined] },
});
/** Only ever fed frames that scanFrame accepted, so it never meets records or extensions. */
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * The frame for `msg`. Not validated (the sender is our own code; see validateOutgoing). The result
 * is a fresh buffer (or a slice of msgpackr's working buffer that later calls never overwrite), so it
 * may be queued.
 */
export function encode(msg: Message): Buffer {
  return encodeWithRoom(msg, 0);
}

/**
 * encode(msg) in a buffer with `room` spare bytes after the frame (the MAC trailer is written there:
 * no second copy). The frame is buf[0, buf.length − room).
 *
 * The frames that carry a large sparse vector (update, model, eval) are written by hand: the small
 * header fields (flat-map.ts: msgpackr's bytes without its per-call cost), then the vector — one pass
 * over idx for its gaps, one copy of val's bytes, no per-element type checks. val's bytes start at a
 * multiple of 8 from the frame's start (a padding string `_p` of 0–7 spaces before them), so a receiver
 * holding the frame at an aligned address views them in place instead of copying.
 */
function encodeWithRoom(msg: Message, room: number, pool?: FramePool): Buffer {
  const field = SPARSE_FIELD[msg.t];
  const v = field === undefined ? undefined : (msg as unknown as Record<string, unknown>)[field];
  if (field === undefined || !isSparseVector(v)) {
    const frame = packr.pack(wireTree(msg));
    if (room === 0) return frame;
    const out = Buffer.allocUnsafe(frame.length + room);
    frame.copy(out, 0);
    return out;
  }
  const fields = msg as unknown as Readonly<Record<string, unknown>>;
  const count = v.val.length; // (= idx.length for a valid vector; if not, the receiver refuses it)
  // valBits 32 asked for: the values as float32 when each one is exactly a float32, else as doubles
  const f32 = (msg as { valBits?: number }).valBits === 32 && allFloat32(v.val);
  // upper bound: header, key, map header and n (≤ 16), idx key + bin32 header (9), ≤ 5 bytes a gap,
  // valBits key and value (9), _p key + pad (≤ 11), val key + bin32 header (9), 8 bytes a value
  const sized = (head: number): Buffer => {
    const bound = head + 1 + field.length + 16 + 9 + 5 * v.idx.length + 9 + 11 + 9 + 8 * count + room;
    return pool === undefined ? Buffer.allocUnsafe(bound) : pool.take(bound);
  };
  let out = sized(flatMapBound(fields));
  // the header's scalars by hand, with one more entry in its map: the vector
  let o = writeFlatMap(fields, field, 'valBits', 1, out, 0);
  if (o < 0) {
    const head = packedHead(fields, field);
    out = sized(head.length);
    head.copy(out, 0);
    out[0] = head[0] + 1;
    o = head.length;
  }
  out[o++] = 0xa0 | field.length;
  o += out.write(field, o, 'latin1');
  out[o++] = f32 ? 0x85 : 0x84; // {n, idx, valBits, _p, val} or {n, idx, _p, val}
  out[o++] = 0xa1;
  out[o++] = 0x6e; // "n"
  o = writeNumber(out, o, v.n); // n: a uint (anything else goes as it is, and the receiver refuses it)
  out[o++] = 0xa3;
  o += out.write('idx', o, 'latin1');
  // the gaps' length is known only after writing them: a bin32 header (valid msgpack, if not minimal)
  out[o] = 0xc6;
  const gapsAt = o + 5;
  const gapsEnd = writeIndexDeltas(v.idx, out, gapsAt);
  out.writeUInt32BE(gapsEnd - gapsAt, o + 1);
  o = gapsEnd;
  if (f32) {
    out[o++] = 0xa7;
    o += out.write('valBits', o, 'latin1');
    out[o++] = 32;
  }
  out[o++] = 0xa2;
  out[o++] = 0x5f;
  out[o++] = 0x70; // "_p"
  // val's bytes start after: fixstr pad, "val" (4), bin32 header (5)
  const pad = (8 - ((o + 1 + 4 + 5) % 8)) % 8;
  out[o++] = 0xa0 | pad;
  out.fill(0x20, o, o + pad);
  o += pad;
  out[o++] = 0xa3;
  o += out.write('val', o, 'latin1');
  out[o++] = 0xc6;
  out.writeUInt32BE((f32 ? 4 : 8) * count, o);
  o += 4;
  if (f32) o = writeFloat32(out, o, v.val);
  else {
    const bytes = toLittleEndian(v.val);
    out.set(bytes, o);
    o += bytes.byteLength;
  }
  return out.subarray(0, o + room);
}

/**
 * Whether every value is exactly a float32: the frame then carries them in 4 bytes, nothing rounded
 * here (the sender rounded them, see DESIGN.md "Wire precision 32"); else they go as doubles (a value
 * beyond float32's range, which the sender keeps unrounded rather than clamped; NaN, which the
 * receiver refuses as a double).
 */
export function allFloat32(val: Float64Array): boolean {
  for (let k = 0; k < val.length; k++) if (Math.fround(val[k]) !== val[k]) return false;
  return true;
}

/** val (each exactly a float32) as little-endian float32 at `o`; returns the end offset. */
function writeFloat32(out: Buffer, o: number, val: Float64Array): number {
  const at = out.byteOffset + o;
  if (HOST_LITTLE_ENDIAN && at % 4 === 0) new Float32Array(out.buffer, at, val.length).set(val);
  else for (let k = 0; k < val.length; k++) out.writeFloatLE(val[k], o + 4 * k);
  return o + 4 * val.length;
}

/** writeFlatMap's fallback (a header value that is not a scalar, which no message of ours has): msgpackr. */
function packedHead(fields: Readonly<Record<string, unknown>>, field: string): Buffer {
  const rest: Record<string, unknown> = {};
  for (const k in fields)
    if (k !== field && k !== 'valBits' && Object.prototype.hasOwnProperty.call(fields, k))
      rest[k] = fields[k];
  const head = packr.pack(rest);
  if (head[0] < 0x80 || head[0] >= 0x8f) throw new Error(`encode: unexpected header byte ${head[0]}`);
  return head;
}

/** The field holding the (large) sparse vector, per message type. */
const SPARSE_FIELD: Partial<Record<MessageType, string>> = { update: 'delta', model: 'w', eval: 'w' };

/**
 * encode(msg), sealed with the session's MAC when there is one (seal in send order). With a pool, a
 * frame carrying a sparse vector is written into one of its blocks: give it back (pool.give) once the
 * socket has sent it.
 */
export function encodeFor(msg: Message, mac: FrameMac | null | undefined, pool?: FramePool): Buffer {
  const buf = encodeToSeal(msg, mac, pool);
  if (mac) mac.sealInPlace(buf);
  return buf;
}

/**
 * encode(msg) with room for the MAC trailer when there is a MAC, for a frame encoded now and sealed
 * later (`mac.sealInPlace(buf)` just before the socket, in send order): no second copy to append it.
 */
export function encodeToSeal(msg: Message, mac: FrameMac | null | undefined, pool?: FramePool): Buffer {
  return encodeWithRoom(msg, mac ? MAC_BYTES : 0, pool);
}

export type DecodeResult<T> = { ok: true; msg: T } | { ok: false; error: ProtocolError };

/** What `ws` hands a 'message' listener for a binary frame (any binaryType), or anything else. */
export type FrameData = Buffer | ArrayBuffer | Uint8Array | readonly Buffer[];

const FROM_WORKER: ReadonlySet<string> = new Set(WORKER_TYPES);
const FROM_MASTER: ReadonlySet<string> = new Set(MASTER_TYPES);

/**
 * A frame received by the master. Never throws: any input yields either a fully checked message
 * or the ProtocolError to answer with (errorFrame) and close on (closeCode). Typed arrays in the
 * result may be views over `data`'s memory, so `data` must not be reused afterwards.
 */
export function decodeFromWorker(data: FrameData, ctx: DecodeContext = {}): DecodeResult<FromWorker> {
  return decodeFrame(
    data,
    FROM_WORKER,
    'a worker',
    ctx.maxBytes ?? DEFAULT_MAX_PAYLOAD_MASTER,
    ctx,
  ) as DecodeResult<FromWorker>;
}

/** A frame received by a worker; as decodeFromWorker. */
export function decodeFromMaster(data: FrameData, ctx: DecodeContext = {}): DecodeResult<FromMaster> {
  return decodeFrame(
    data,
    FROM_MASTER,
    'the master',
    ctx.maxBytes ?? DEFAULT_MAX_PAYLOAD_WORKER,
    ctx,
  ) as DecodeResult<FromMaster>;
}

/**
 * Debug aid for senders: the error the receiving side would report for `msg`, or null. Costs a
 * full encode and decode; meant for tests and assertions, not the hot path.
 */
export function validateOutgoing(msg: Message, ctx: DecodeContext = {}): ProtocolError | null {
  const toMaster = (WORKER_TYPES as readonly string[]).includes(msg.t);
  const frame = encode(msg);
  const big = { ...ctx, maxBytes: Infinity };
  const r = toMaster ? decodeFromWorker(frame, big) : decodeFromMaster(frame, big);
  return r.ok ? null : r.error;
}

function decodeFrame(
  data: unknown,
  allowed: ReadonlySet<string>,
  sender: string,
  maxBytes: number,
  ctx: DecodeContext,
): DecodeResult<Message> {
  try {
    return decodeChecked(data, allowed, sender, maxBytes, ctx);
  } catch (e) {
    // only reachable through resource exhaustion or a bug of ours: the peer is not to blame
    return err('E_INTERNAL', `could not decode the frame: ${(e as Error).message}`);
  }
}

function decodeChecked(
  data: unknown,
  allowed: ReadonlySet<string>,
  sender: string,
  maxBytes: number,
  ctx: DecodeContext,
): DecodeResult<Message> {
  const size = frameSize(data);
  if (size > maxBytes)
    return err('E_TOO_BIG', `frame of ${size} bytes exceeds the limit of ${maxBytes} bytes`);
  const raw = frameBytes(data);
  if (raw instanceof ProtocolError) return { ok: false, error: raw };
  // integrity first: not one byte of an unauthenticated frame reaches the parser
  const bytes = ctx.mac ? ctx.mac.open(raw) : raw;
  if (bytes instanceof ProtocolError) return { ok: false, error: bytes };
  const bad = scanFrame(bytes);
  if (bad !== null) return { ok: false, error: bad };

  let tree: unknown;
  try {
    tree = unpackr.unpack(bytes);
  } catch (e) {
    return err('E_DECODE', `frame is not valid msgpack: ${(e as Error).message}`);
  }
  if (!isObj(tree)) return err('E_DECODE', `frame must be a msgpack map, got ${show(tree)}`);
  if (!has(tree, 't')) return err('E_TYPE', 'frame has no t (message type)', 't');
  const t = tree.t;
  if (typeof t !== 'string')
    return err('E_TYPE', `t = ${show(t)} must be a string naming the message type`, 't');
  if (!has(SCHEMAS, t)) return err('E_TYPE', `t = ${show(t)} is not a known message type`, 't');
  if (!allowed.has(t)) return err('E_TYPE', `t = ${show(t)} is not a message ${sender} may send`, 't');
  try {
    return { ok: true, msg: SCHEMAS[t as MessageType](tree, ctx) };
  } catch (e) {
    if (e instanceof ProtocolError) return { ok: false, error: e };
    // out of memory for a copy, or a bug of ours: either way not the peer's fault
    return err('E_INTERNAL', `could not check a ${t} frame: ${(e as Error).message}`);
  }
}

/** Byte length of a frame before joining its fragments (0 when unreadable: frameBytes reports it). */
function frameSize(data: unknown): number {
  if (isBytes(data) || isArrayBuffer(data)) return data.byteLength;
  if (!Array.isArray(data)) return 0;
  let total = 0;
  for (const d of data) if (isBytes(d)) total += d.byteLength;
  return total;
}

function frameBytes(data: unknown): Uint8Array | ProtocolError {
  if (isBytes(data)) return data;
  if (isArrayBuffer(data)) return new Uint8Array(data);
  if (Array.isArray(data) && data.every(isBytes)) return Buffer.concat(data);
  if (typeof data === 'string')
    return new ProtocolError('E_UNSUPPORTED', 'text frame received; SODA frames are binary msgpack');
  return new ProtocolError('E_UNSUPPORTED', `cannot read a frame from ${show(data)}`);
}

function err(code: ProtocolError['code'], message: string, field = ''): DecodeResult<never> {
  return { ok: false, error: new ProtocolError(code, message, field) };
}

function isArrayBuffer(v: unknown): v is ArrayBuffer {
  return Object.prototype.toString.call(v) === '[object ArrayBuffer]';
}
