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
 */
export function encode(msg: Message): Buffer {
  return packr.pack(wireTree(msg));
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
