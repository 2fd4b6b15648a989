import { Packr, Unpackr } from 'msgpackr';
import { isBytes, wireTree } from './bytes';
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
import type { FrameMac } from './session';
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
 * is a slice of msgpackr's working buffer that later calls never overwrite, so it may be queued.
 * The sparse vector of an update, model or eval frame is laid out so that its idx and val bytes start
 * at multiples of 8 from the frame's start (see alignSparse): a receiver that holds the frame at an
 * aligned address then views them in place instead of copying.
 */
export function encode(msg: Message): Buffer {
  const field = SPARSE_FIELD[msg.t];
  if (field === undefined) return packr.pack(wireTree(msg));
  const tree = wireTree(msg) as Record<string, unknown>;
  const v = tree[field];
  // only a well-formed {n, idx, val} is re-laid out; anything else is packed exactly as given
  if (!isWireSparse(v)) return packr.pack(tree);
  // two empty padding strings around idx; alignSparse fills them to the lengths alignment needs
  tree[field] = { n: v.n, [PAD_A]: '', idx: v.idx, [PAD_B]: '', val: v.val };
  const frame = packr.pack(tree);
  return alignSparse(frame, v.idx.byteLength) ?? frame;
}

function isWireSparse(v: unknown): v is { n: unknown; idx: Uint8Array; val: Uint8Array } {
  if (!isObj(v)) return false;
  const keys = Object.keys(v);
  return (
    keys.length === 3 &&
    keys.includes('n') &&
    isBytes((v as Record<string, unknown>).idx) &&
    isBytes((v as Record<string, unknown>).val)
  );
}

/** The field holding the (large) sparse vector, per message type. */
const SPARSE_FIELD: Partial<Record<MessageType, string>> = { update: 'delta', model: 'w', eval: 'w' };
/** Padding keys: unknown to every schema, so receivers drop them (older receivers too). */
const PAD_A = '_a';
const PAD_B = '_b';
/** fixstr "_a" + fixstr "" + fixstr "idx" — the bytes just before idx's bin header; likewise for val */
const MARK_A = Buffer.from([0xa2, 0x5f, 0x61, 0xa0, 0xa3, 0x69, 0x64, 0x78]);
const MARK_B = Buffer.from([0xa2, 0x5f, 0x62, 0xa0, 0xa3, 0x76, 0x61, 0x6c]);

/**
 * Grow the two empty padding strings of `frame` (as packed by encode) so that the payloads of idx and
 * val start at offsets ≡ 0 (mod 8). One copy of the frame; null (send as packed) if the layout is not
 * the expected one.
 */
function alignSparse(frame: Buffer, idxBytes: number): Buffer | null {
  const a = frame.indexOf(MARK_A); // in the header fields before any payload: a short search
  if (a < 0) return null;
  const idxHead = a + MARK_A.length;
  const idxBody = idxHead + binHeaderLength(frame[idxHead]);
  if (idxBody < 0) return null;
  const b = idxBody + idxBytes; // val's padding entry follows idx's bytes
  if (b + MARK_B.length > frame.length || frame.compare(MARK_B, 0, MARK_B.length, b, b + MARK_B.length) !== 0)
    return null;
  const valHead = b + MARK_B.length;
  const valBody = valHead + binHeaderLength(frame[valHead]);
  if (valBody < valHead) return null;
  const padA = (8 - (idxBody % 8)) % 8;
  const padB = (8 - ((valBody + padA) % 8)) % 8;
  if (padA === 0 && padB === 0) return frame;
  const out = Buffer.allocUnsafe(frame.length + padA + padB);
  let o = frame.copy(out, 0, 0, a + 3); // up to the empty string's header
  out[o++] = 0xa0 | padA;
  out.fill(0x20, o, o + padA);
  o += padA;
  o += frame.copy(out, o, a + 4, b + 3);
  out[o++] = 0xa0 | padB;
  out.fill(0x20, o, o + padB);
  o += padB;
  frame.copy(out, o, b + 4);
  return out;
}

/** Bytes of a msgpack bin header from its first byte (bin 8/16/32), or −Infinity if it is not one. */
function binHeaderLength(first: number | undefined): number {
  if (first === 0xc4) return 2;
  if (first === 0xc5) return 3;
  if (first === 0xc6) return 5;
  return -Infinity;
}

/** encode(msg), sealed with the session's MAC when there is one (seal in send order). */
export function encodeFor(msg: Message, mac: FrameMac | null | undefined): Buffer {
  const frame = encode(msg);
  return mac ? mac.seal(frame) : frame;
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
