/**
 * The index list of a sparse vector on the wire (protocol 3): strictly increasing indices
 * i_0 < i_1 < … as their gaps d_0 = i_0, d_t = i_t − i_{t−1} (≥ 1 for t ≥ 1), each an unsigned LEB128
 * varint — 7 bits per byte, least significant group first, high bit set on every byte but the last.
 * A varint is canonical (no trailing 0x00 group: one list, one encoding) and at most 5 bytes holding a
 * value ≤ 2³² − 1. On spam a gap is 1 byte most of the time, 2 bytes otherwise, instead of 4.
 */

/** Longest varint of a 32-bit gap. */
export const MAX_VARINT_BYTES = 5;

/** Bytes the gaps of `idx` take (exact), for sizing a frame before writing it. */
export function indexDeltasLength(idx: ArrayLike<number>): number {
  let bytes = 0;
  let prev = 0;
  for (let t = 0; t < idx.length; t++) {
    const j = idx[t];
    const d = j > prev || t === 0 ? j - prev : 0;
    bytes += d < 0x80 ? 1 : d < 0x4000 ? 2 : d < 0x200000 ? 3 : d < 0x10000000 ? 4 : 5;
    prev = j;
  }
  return bytes;
}

/**
 * Write the gaps of `idx` into `out` from `at`; returns the end offset. The sender is our own code and
 * is not re-validated here, but a list that is not strictly increasing never goes out as a valid one:
 * a step that does not increase is written as the gap 0, which every receiver refuses (a duplicate).
 */
export function writeIndexDeltas(idx: ArrayLike<number>, out: Uint8Array, at: number): number {
  let o = at;
  let prev = 0;
  for (let t = 0; t < idx.length; t++) {
    const j = idx[t];
    let d = j > prev || t === 0 ? j - prev : 0;
    prev = j;
    if (d < 0x80) {
      out[o++] = d;
      continue;
    }
    if (d < 0x4000) {
      out[o++] = (d & 0x7f) | 0x80;
      out[o++] = d >>> 7;
      continue;
    }
    while (d >= 0x80) {
      out[o++] = (d & 0x7f) | 0x80;
      d = Math.floor(d / 128); // d may exceed 2³¹: no >>> on a possibly-negative int32
    }
    out[o++] = d;
  }
  return o;
}

/** Where a gap list went wrong: the entry, and the sentence for the error. */
export interface IndexFault {
  /** 'idx' (the whole list) or 'idx[t]' */
  readonly at: string;
  readonly rule: string;
}

/**
 * Exactly `count` strictly increasing indices < n from the gap list `b`, or the first fault: a
 * truncated, overlong (non-canonical) or over-32-bit varint, a zero gap after the first (a duplicate
 * index), an index ≥ n, or fewer or more varints than `count` (the number of values). Allocates only
 * the result (count × 4 bytes; count is what the frame's val holds, so the frame's own size bounds it),
 * or nothing when a `scratch` is lent: the result is then a view into it, valid until its next use.
 */
export function readIndexDeltas(
  b: Uint8Array,
  count: number,
  n: number,
  scratch?: IndexScratch,
): Uint32Array | IndexFault {
  // count is the number of values the frame holds: the allocation is bounded by the frame's size
  const idx = scratch === undefined ? new Uint32Array(count) : scratch.take(count);
  const len = b.length;
  let p = 0;
  let prev = -1;
  for (let t = 0; t < count; t++) {
    if (p >= len) return lengthFault(t, count);
    let d = b[p];
    if (d < 0x80) p++;
    else if (p + 1 < len && b[p + 1] < 0x80 && b[p + 1] !== 0) {
      // 2 bytes (a gap < 2¹⁴: most of them once n/|idx| > 128, e.g. n = 10⁶ and beyond), canonical
      d = (d & 0x7f) | (b[p + 1] << 7);
      p += 2;
    } else {
      // 3 to 5 bytes, or a fault: out of the hot loop, which then stays on small integers
      const end = varintEnd(b, p);
      if (end < 0) return longFault(b, p, t, end);
      d = varintValue(b, p, end);
      if (d > 0xffffffff)
        return { at: `idx[${t}]`, rule: `has the gap ${d}, more than 2^32 − 1 (at byte ${p})` };
      p = end;
    }
    if (d === 0 && t > 0)
      return {
        at: `idx[${t}]`,
        rule: `= ${prev} is not greater than idx[${t - 1}] = ${prev}; indices must be strictly increasing (gap 0)`,
      };
    const j = t === 0 ? d : prev + d;
    if (j >= n) return { at: `idx[${t}]`, rule: `= ${j} is out of range for dimension n = ${n}` };
    idx[t] = j;
    prev = j;
  }
  if (p !== len) {
    let more = 0;
    for (let q = p; q < len; q++) if (b[q] < 0x80) more++;
    return lengthFault(count + more, count, more === 0 ? ' (and ends inside a varint)' : '');
  }
  return idx;
}

/** End offset of the multi-byte varint at p; −1 truncated, −2 longer than 5 bytes, −3 overlong. */
function varintEnd(b: Uint8Array, p: number): number {
  let q = p;
  while (q < b.length && b[q] >= 0x80) {
    if (q - p >= MAX_VARINT_BYTES - 1) return -2;
    q++;
  }
  if (q >= b.length) return -1;
  if (b[q] === 0) return -3; // a final 0x00 group adds nothing: not the shortest encoding
  return q + 1;
}

function varintValue(b: Uint8Array, p: number, end: number): number {
  let v = 0;
  let scale = 1;
  for (let q = p; q < end; q++) {
    v += (b[q] & 0x7f) * scale;
    scale *= 0x80;
  }
  return v;
}

function longFault(b: Uint8Array, p: number, t: number, why: number): IndexFault {
  if (why === -1)
    return { at: 'idx', rule: `ends inside a varint (idx[${t}], from byte ${p} of ${b.length})` };
  if (why === -2)
    return { at: `idx[${t}]`, rule: `is a varint longer than ${MAX_VARINT_BYTES} bytes (at byte ${p})` };
  return { at: `idx[${t}]`, rule: `is an overlong varint (a final 0x00 byte, at byte ${p})` };
}

function lengthFault(indices: number, count: number, extra = ''): IndexFault {
  return {
    at: 'idx',
    rule: `holds ${indices} indices but val has ${count} values; they must have the same length${extra}`,
  };
}

/**
 * A buffer of indices a receiver lends the decoder (DecodeContext.indexScratch), so that a step frame's
 * indices are not a fresh array each frame: the vector decoded into it is valid only until the next
 * decode with the same scratch. For a receiver that uses (or copies) each vector before it decodes the
 * next frame. Grows by half again when short; never shrinks (bounded by the largest frame accepted).
 */
export class IndexScratch {
  private buf = new Uint32Array(0);

  /** A view of `count` indices (contents undefined until written). */
  take(count: number): Uint32Array {
    if (this.buf.length < count) this.buf = new Uint32Array(count + (count >> 1));
    return this.buf.subarray(0, count);
  }
}
