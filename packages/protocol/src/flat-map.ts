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
    if (v < 0x80) {
      out[o++] = v; // positive fixint
      return o;
    }
    return writeSized(out, o, v, 0xcc, false); // uint 8, 16, 32
  }
  if (v >> 0 === v) {
    if (v >= -0x20) {
      out[o++] = v & 0xff; // negative fixint
      return o;
    }
    return writeSized(out, o, v, 0xd0, true); // int 8, 16, 32
  }
  out[o++] = 0xcb;
  out.writeDoubleBE(v, o);
  return o + 8;
}

/**
 * `v` in the smallest of msgpack's 1-, 2- and 4-byte forms, whose type codes follow each other from
 * `code` (uint 0xcc–0xce, int 0xd0–0xd2, str length 0xd9–0xdb); `signed`: v's range is an int's.
 */
function writeSized(out: Buffer, o: number, v: number, code: number, signed: boolean): number {
  const fits8 = signed ? v >= -0x80 : v < 0x100;
  const fits16 = signed ? v >= -0x8000 : v < 0x10000;
  if (fits8) {
    out[o++] = code;
    out[o++] = v & 0xff;
    return o;
  }
  if (fits16) {
    out[o++] = code + 1;
    if (signed) out.writeInt16BE(v, o);
    else out.writeUInt16BE(v, o);
    return o + 2;
  }
  out[o++] = code + 2;
  if (signed) out.writeInt32BE(v, o);
  else out.writeUInt32BE(v, o);
  return o + 4;
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
  else o = writeSized(out, o, n, 0xd9, false); // str 8, 16, 32
  out.set(b, o);
  return o + n;
}
