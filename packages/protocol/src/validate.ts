import { type Bounds, inBounds, intervalText, type SparseVector } from '@soda/core';
import { fromLittleEndian, isBytes, type NumericArrayCtor } from './bytes';
import { ProtocolError } from './errors';
import type { ShardRows } from './messages';
import { type IndexScratch, readIndexDeltas } from './varint';

/**
 * Field checks for a decoded msgpack tree. Each reads one field of a plain object, proves its
 * type and range, and returns it typed; on a violation it throws a ProtocolError('E_FIELD') whose
 * message names the field, the value and the rule. (The decoder catches it: decode never throws.)
 */

/** Where a field sits: the message type, and the dotted path of its parent inside the message. */
export interface Where {
  readonly t: string;
  readonly prefix: string;
}

export type Obj = Readonly<Record<string, unknown>>;

function fieldOf(w: Where, key: string): string {
  return w.prefix === '' ? key : `${w.prefix}.${key}`;
}

export function fail(w: Where, field: string, rule: string): never {
  const label = field === '' ? w.t : `${w.t}.${field}`;
  throw new ProtocolError('E_FIELD', `${label} ${rule}`, field);
}

/** A short description of any decoded value, for messages. */
export function show(v: unknown): string {
  if (v === null) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isBytes(v)) return `binary data (${v.byteLength} bytes)`;
  if (Array.isArray(v)) return `an array (${v.length} elements)`;
  if (typeof v === 'object') return 'a map';
  return typeof v;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

export function has(o: Obj, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** The value of a required field. */
export function req(o: Obj, key: string, w: Where): unknown {
  if (!has(o, key)) fail(w, fieldOf(w, key), 'is missing');
  return o[key];
}

/** True when an optional field is absent (nil counts as absent: other msgpack writers emit it). */
export function absent(o: Obj, key: string): boolean {
  return !has(o, key) || o[key] === null;
}

/** A safe integer in [min, max]. */
export function int(o: Obj, key: string, w: Where, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = req(o, key, w);
  const f = fieldOf(w, key);
  if (typeof v !== 'number') fail(w, f, `= ${show(v)} must be an integer`);
  if (!Number.isSafeInteger(v)) fail(w, f, `= ${v} is not an integer`);
  if (!inBounds(v, { ge: min, le: max }))
    fail(w, f, `= ${v} must be ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`}`);
  return v;
}

export type Range = Omit<Bounds, 'integer'>;

/** A finite number within `range`. */
export function num(o: Obj, key: string, w: Where, range: Range = {}): number {
  const v = req(o, key, w);
  const f = fieldOf(w, key);
  if (typeof v !== 'number') fail(w, f, `= ${show(v)} must be a number`);
  if (!Number.isFinite(v)) fail(w, f, `= ${v} is not finite`);
  if (!inBounds(v, range)) fail(w, f, `= ${v} must be in ${intervalText(range)}`);
  return v;
}

/** A string of minLen..maxLen UTF-16 units. */
export function str(o: Obj, key: string, w: Where, minLen: number, maxLen: number): string {
  const v = req(o, key, w);
  return strValue(v, w, fieldOf(w, key), minLen, maxLen);
}

export function strValue(v: unknown, w: Where, f: string, minLen: number, maxLen: number): string {
  if (typeof v !== 'string') fail(w, f, `= ${show(v)} must be a string`);
  if (v.length < minLen || v.length > maxLen)
    fail(w, f, `has ${v.length} characters; it must have ${minLen} to ${maxLen}`);
  return v;
}

export function bool(o: Obj, key: string, w: Where): boolean {
  const v = req(o, key, w);
  if (typeof v !== 'boolean') fail(w, fieldOf(w, key), `= ${show(v)} must be a boolean`);
  return v;
}

/** Exactly `size` bytes of bin, copied so the result does not pin the frame's buffer. */
export function bytes(o: Obj, key: string, w: Where, size: number): Uint8Array {
  const v = req(o, key, w);
  const f = fieldOf(w, key);
  if (!isBytes(v)) fail(w, f, `= ${show(v)} must be binary data of ${size} bytes`);
  if (v.byteLength !== size) fail(w, f, `has ${v.byteLength} bytes; it must have ${size}`);
  return new Uint8Array(v);
}

/** A typed array carried as bin of its little-endian bytes. */
export function typed<C extends NumericArrayCtor>(o: Obj, key: string, w: Where, ctor: C): InstanceType<C> {
  const v = req(o, key, w);
  const f = fieldOf(w, key);
  const size = ctor.BYTES_PER_ELEMENT;
  if (!isBytes(v)) fail(w, f, `= ${show(v)} must be binary data (a ${ctor.name})`);
  if (v.byteLength % size !== 0)
    fail(w, f, `has ${v.byteLength} bytes, not a multiple of ${size} (the size of a ${ctor.name} element)`);
  return fromLittleEndian(ctor, v);
}

/** A nested map. */
export function sub(o: Obj, key: string, w: Where): { obj: Obj; where: Where } {
  const v = req(o, key, w);
  const f = fieldOf(w, key);
  if (!isObj(v)) fail(w, f, `= ${show(v)} must be a map`);
  return { obj: v, where: { t: w.t, prefix: f } };
}

/**
 * A SparseVector {n, idx, val} satisfying core's `sparseViolation`; when `n` is given, its dimension
 * must equal it (`nWhat` says where that dimension comes from). On the wire (protocol 3) idx is the
 * gap list of varint.ts and val the values as little-endian doubles; the number of values fixes the
 * number of indices. A float32 vector (valBits 32) is refused here: only the step frames may carry one
 * (sparseWire).
 */
export function sparse(o: Obj, key: string, w: Where, n?: number, nWhat = 'n'): SparseVector {
  return sparseWire(o, key, w, n, nWhat, ONLY_STEP_FRAMES).v;
}

const ONLY_STEP_FRAMES = 'only model.w and update.delta may carry float32 values';

/**
 * sparse(), where `valBits` (absent or nil: 64) may also be 32 unless `no32` says why not: val is then
 * 4·c bytes, c little-endian float32 values, each finite, widened to doubles (exactly). Returns the
 * vector and the width it came in; its indices are in `scratch` when one is lent (IndexScratch).
 */
export function sparseWire(
  o: Obj,
  key: string,
  w: Where,
  n: number | undefined,
  nWhat: string,
  no32: string | null,
  scratch?: IndexScratch,
): { v: SparseVector; bits: 32 | 64 } {
  const { obj, where } = sub(o, key, w);
  const dim = int(obj, 'n', where, 1, 0xffffffff);
  if (n !== undefined && dim !== n)
    fail(where, `${where.prefix}.n`, `= ${dim} does not match ${nWhat} = ${n}`);
  const bits = absent(obj, 'valBits') ? 64 : int(obj, 'valBits', where, 0, 0xffffffff);
  if (bits !== 32 && bits !== 64)
    fail(where, `${where.prefix}.valBits`, `= ${bits} must be 32 or 64 (bits of a value)`);
  if (bits === 32 && no32 !== null) fail(where, `${where.prefix}.valBits`, `= 32 is refused: ${no32}`);
  const val =
    bits === 64 ? typed(obj, 'val', where, Float64Array) : widen(typed(obj, 'val', where, Float32Array));
  const gaps = req(obj, 'idx', where);
  if (!isBytes(gaps))
    fail(where, `${where.prefix}.idx`, `= ${show(gaps)} must be binary data (varint index gaps)`);
  const idx = readIndexDeltas(gaps, val.length, dim, scratch);
  if (!(idx instanceof Uint32Array)) fail(where, `${where.prefix}.${idx.at}`, idx.rule);
  // x − x is 0 exactly for finite x (NaN for ±∞ and NaN): one branch per value on the fast path
  for (let k = 0; k < val.length; k++)
    if (val[k] - val[k] !== 0) fail(where, `${where.prefix}.val[${k}]`, `= ${val[k]} is not finite`);
  return { v: { n: dim, idx, val }, bits };
}

/** float32 values as doubles (every float32 is exactly a double, ±∞ and NaN included). */
function widen(f: Float32Array): Float64Array {
  const out = new Float64Array(f.length);
  for (let k = 0; k < f.length; k++) out[k] = f[k];
  return out;
}

/** CSR rows of a shard with n columns, and their ±1 labels. */
export function csrRows(o: Obj, key: string, w: Where, n: number): ShardRows {
  const { obj, where } = sub(o, key, w);
  const at = (k: string): string => `${where.prefix}.${k}`;
  const m = int(obj, 'm', where, 1, 0xffffffff);
  const ptr = typed(obj, 'ptr', where, Float64Array);
  const ind = typed(obj, 'ind', where, Uint32Array);
  const val = typed(obj, 'val', where, Float64Array);
  const y = typed(obj, 'y', where, Float64Array);
  // lengths first, so no loop below is sized by a number the peer merely declared
  if (ptr.length !== m + 1)
    fail(where, at('ptr'), `has ${ptr.length} entries; it must have m + 1 = ${m + 1}`);
  if (y.length !== m) fail(where, at('y'), `has ${y.length} entries; it must have m = ${m}`);
  if (ind.length !== val.length)
    fail(where, at('val'), `has ${val.length} entries but ind has ${ind.length}; they must be equal`);
  if (ptr[0] !== 0) fail(where, at('ptr[0]'), `= ${ptr[0]} must be 0`);
  if (ptr[m] !== ind.length)
    fail(where, at(`ptr[${m}]`), `= ${ptr[m]} must equal the ${ind.length} entries of ind`);
  for (let r = 0; r < m; r++) {
    const start = ptr[r];
    const end = ptr[r + 1];
    if (!Number.isInteger(end) || end < start || end > ind.length)
      fail(
        where,
        at(`ptr[${r + 1}]`),
        `= ${end} must be an integer in [ptr[${r}] = ${start}, ${ind.length}]`,
      );
    for (let k = start; k < end; k++) {
      const j = ind[k];
      if (j >= n) fail(where, at(`ind[${k}]`), `= ${j} is out of range for n = ${n} (row ${r})`);
      if (k > start && j <= ind[k - 1])
        fail(
          where,
          at(`ind[${k}]`),
          `= ${j} is not greater than ind[${k - 1}] = ${ind[k - 1]}; indices must increase within row ${r}`,
        );
    }
  }
  for (let k = 0; k < val.length; k++)
    if (!Number.isFinite(val[k])) fail(where, at(`val[${k}]`), `= ${val[k]} is not finite`);
  for (let r = 0; r < m; r++)
    if (y[r] !== 1 && y[r] !== -1) fail(where, at(`y[${r}]`), `= ${y[r]} must be -1 or +1`);
  return { m, ptr, ind, val, y };
}
