/**
 * The header of a step frame (update, model, eval: `{t, shard, k}`, `{t, k, gamma, p, diff}`) as
 * msgpack, written by hand: msgpackr's `pack` costs more per call than the whole header, and the
 * header goes out with every update in both directions (`npm run bench:master`). The bytes are the ones
 * msgpackr writes for the same map (the smallest integer forms, float64 for any other number, UTF-8
 * strings in the smallest str form, undefined values left out), which the tests hold it to; any value
 * that is not a string, number, boolean or null makes it decline (−1), and the caller packs the map
 * with msgpackr instead.
 */

const utf8 = new TextEncoder();

/**
 * Write the map `msg` minus the key `skip1` and `skip2` into `out` from `at` as a msgpack map with
 * room for `extra` more entries (the caller writes them after), or −1 if some value is not a scalar
 * (then nothing useful was written). Returns the end offset.
 */
export function writeFlatMap(
  msg: Readonly<Record<string, unknown>>,
  skip1: string,
  skip2: string,
  extra: number,
  out: Buffer,
  at: number,
): number {
  let count = extra;
  let o = at + 1; // the fixmap header, written last (≤ 15 entries: a step frame's header has ≤ 6)
  for (const k in msg) {
    if (k === skip1 || k === skip2 || !Object.prototype.hasOwnProperty.call(msg, k)) continue;
    const v = msg[k];
    if (v === undefined) continue; // as msgpackr's skipValues: [undefined]
    if (++count > 15) return -1;
    o = writeString(out, o, k);
    if (typeof v === 'number') o = writeNumber(out, o, v);
    else if (typeof v === 'string') o = writeString(out, o, v);
    else if (typeof v === 'boolean') out[o++] = v ? 0xc3 : 0xc2;
    else if (v === null) out[o++] = 0xc0;
    else return -1;
  }
  out[at] = 0x80 | count;
  return o;
}

/** Bytes writeFlatMap may need for `msg`'s header (an upper bound; strings at 3 bytes a UTF-16 unit). */
export function flatMapBound(msg: Readonly<Record<string, unknown>>): number {
  let bytes = 1;
  for (const k in msg) {
    const v = msg[k];
    bytes += 5 + 3 * k.length + 9 + (typeof v === 'string' ? 3 * v.length : 0);
  }
  return bytes;
}

/** A number as msgpackr writes it: the smallest int or uint form for a 32-bit integer, else a float64. */
export function writeNumber(out: Buffer, o: number, v: number): number {
  if (v >>> 0 === v) {
    if (v < 0x80) out[o++] = v;
    else if (v < 0x100) {
      out[o++] = 0xcc;
      out[o++] = v;
    } else if (v < 0x10000) {
      out[o++] = 0xcd;
      out.writeUInt16BE(v, o);
      o += 2;
    } else {
      out[o++] = 0xce;
      out.writeUInt32BE(v, o);
      o += 4;
    }
    return o;
  }
  if (v >> 0 === v) {
    if (v >= -0x20) out[o++] = v & 0xff;
    else if (v >= -0x80) {
      out[o++] = 0xd0;
      out.writeInt8(v, o++);
    } else if (v >= -0x8000) {
      out[o++] = 0xd1;
      out.writeInt16BE(v, o);
      o += 2;
    } else {
      out[o++] = 0xd2;
      out.writeInt32BE(v, o);
      o += 4;
    }
    return o;
  }
  out[o++] = 0xcb;
  out.writeDoubleBE(v, o);
  return o + 8;
}

/** A UTF-8 string in the smallest str form. */
function writeString(out: Buffer, o: number, s: string): number {
  let ascii = s.length < 32;
  for (let i = 0; ascii && i < s.length; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
  if (ascii) {
    // the common case (keys, 'update', 'model'): a fixstr, one byte a character
    out[o++] = 0xa0 | s.length;
    for (let i = 0; i < s.length; i++) out[o++] = s.charCodeAt(i);
    return o;
  }
  const b = utf8.encode(s);
  const n = b.length;
  if (n < 32) out[o++] = 0xa0 | n;
  else if (n < 0x100) {
    out[o++] = 0xd9;
    out[o++] = n;
  } else if (n < 0x10000) {
    out[o++] = 0xda;
    out.writeUInt16BE(n, o);
    o += 2;
  } else {
    out[o++] = 0xdb;
    out.writeUInt32BE(n, o);
    o += 4;
  }
  out.set(b, o);
  return o + n;
}
