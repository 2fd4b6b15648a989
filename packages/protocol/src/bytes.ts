import { indexDeltasLength, writeIndexDeltas } from './varint';

/**
 * Typed arrays on the wire: msgpack `bin` holding the elements' little-endian bytes. On a
 * little-endian host (every platform Node ships for but s390x/ppc64 BE) the encoder writes the
 * array's memory as it is; the decoder views it in place when the offset is aligned, else copies.
 * The big-endian branches swap through a DataView; tests exercise them by forcing the flag.
 */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export type NumericArrayCtor = Uint32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor;
export type NumericArray = Uint32Array | Float32Array | Float64Array;

/**
 * Elements of type `ctor` from `bytes` (little-endian). Caller has checked that the byte length is
 * a multiple of the element size. The result aliases `bytes` when it can (aligned, little-endian host).
 */
export function fromLittleEndian<C extends NumericArrayCtor>(
  ctor: C,
  bytes: Uint8Array,
  hostLittleEndian = HOST_LITTLE_ENDIAN,
): InstanceType<C> {
  const size = ctor.BYTES_PER_ELEMENT;
  const count = bytes.byteLength / size;
  if (hostLittleEndian) {
    if (bytes.byteOffset % size === 0)
      return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count) as InstanceType<C>;
    // unaligned: copy into a fresh, aligned buffer (the generic slice copies; Buffer's would not)
    const copy = Uint8Array.prototype.slice.call(bytes);
    return new ctor(copy.buffer, 0, count) as InstanceType<C>;
  }
  const out = new ctor(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (tag(out) === 'Float32Array') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (size === 4) for (let i = 0; i < count; i++) out[i] = view.getUint32(4 * i, true);
  else for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  return out as InstanceType<C>;
}

/** The little-endian bytes of `a`; a view of its memory on a little-endian host. */
export function toLittleEndian(a: NumericArray, hostLittleEndian = HOST_LITTLE_ENDIAN): Uint8Array {
  if (hostLittleEndian) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  if (tag(a) === 'Float32Array') for (let i = 0; i < a.length; i++) view.setFloat32(4 * i, a[i], true);
  else if (a.BYTES_PER_ELEMENT === 4) for (let i = 0; i < a.length; i++) view.setUint32(4 * i, a[i], true);
  else for (let i = 0; i < a.length; i++) view.setFloat64(8 * i, a[i], true);
  return out;
}

/** A Uint8Array (or Buffer) from any realm. */
export function isBytes(v: unknown): v is Uint8Array {
  return ArrayBuffer.isView(v) && tag(v) === 'Uint8Array';
}

function tag(v: object): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

/**
 * The message as msgpackr should see it: every Uint32Array/Float64Array replaced by a Uint8Array of
 * its little-endian bytes (a view, no copy, on little-endian hosts), so it is written as `bin`.
 * We do not leave this to msgpackr: it recognises typed arrays by `instanceof`, which fails for
 * arrays made in another realm (a vm context, jest's sandbox) and would silently write them as maps.
 * A sparse vector {n, idx: Uint32Array, val: Float64Array} goes out with idx as its varint gap list
 * (varint.ts). Walks only the message's few objects, and the elements of a sparse vector's idx.
 */
export function wireTree(value: unknown, hostLittleEndian = HOST_LITTLE_ENDIAN): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) {
    const t = tag(value);
    if (t === 'Uint32Array' || t === 'Float64Array')
      return toLittleEndian(value as NumericArray, hostLittleEndian);
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => wireTree(v, hostLittleEndian));
  if (isSparseVector(value))
    return { n: value.n, idx: indexDeltas(value.idx), val: toLittleEndian(value.val, hostLittleEndian) };
  const out: Record<string, unknown> = {};
  for (const k in value) {
    if (Object.prototype.hasOwnProperty.call(value, k))
      out[k] = wireTree((value as Record<string, unknown>)[k], hostLittleEndian);
  }
  return out;
}

/** A SparseVector as our own code builds it: exactly n, idx (Uint32Array), val (Float64Array). */
export function isSparseVector(v: unknown): v is { n: number; idx: Uint32Array; val: Float64Array } {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const o = v as Record<string, unknown>;
  let keys = 0;
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) keys++;
  return (
    keys === 3 &&
    typeof o.n === 'number' &&
    // instanceof first (one check); the tag for arrays made in another realm (jest's vm sandbox)
    (o.idx instanceof Uint32Array || (ArrayBuffer.isView(o.idx) && tag(o.idx) === 'Uint32Array')) &&
    (o.val instanceof Float64Array || (ArrayBuffer.isView(o.val) && tag(o.val) === 'Float64Array'))
  );
}

/** The varint gap list of idx, in a buffer of its exact length. */
function indexDeltas(idx: Uint32Array): Uint8Array {
  const out = new Uint8Array(indexDeltasLength(idx));
  writeIndexDeltas(idx, out, 0);
  return out;
}
