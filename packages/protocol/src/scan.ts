import { ProtocolError } from './errors';
import { LIMITS } from './messages';

/**
 * A structural pass over a frame before msgpackr sees it. msgpackr trusts what it is given: it runs
 * any extension it knows (records, Error, RegExp, Set, typed arrays...), recurses without a depth
 * limit and may size arrays from declared lengths. This walk, iterative and allocation-free apart
 * from its stack, proves that the bytes are exactly one msgpack map built only from nil, booleans,
 * numbers, strings, bin, arrays and string-keyed maps, nested at most `maxDepth` deep, with every
 * declared length inside the frame. After it, msgpackr can only produce plain data.
 */
export function scanFrame(b: Uint8Array, maxDepth: number = LIMITS.depth): ProtocolError | null {
  const len = b.length;
  if (len === 0) return new ProtocolError('E_DECODE', 'empty frame; expected a msgpack map');
  if (!isMapHead(b[0]))
    return new ProtocolError(
      'E_DECODE',
      `frame must be a msgpack map, got ${describe(b[0])} (first byte ${hex(b[0])})`,
    );

  // remaining[d] = items still to read at depth d (a map of n entries holds 2n items); depth 0 is the frame
  const remaining: number[] = [1];
  const isMap: boolean[] = [false];
  let pos = 0;
  while (remaining.length > 0) {
    const top = remaining.length - 1;
    if (remaining[top] === 0) {
      remaining.pop();
      isMap.pop();
      continue;
    }
    const wantKey = isMap[top] && remaining[top] % 2 === 0;
    remaining[top]--;
    if (pos >= len) return truncated(pos, 1, len);
    const at = pos;
    const tok = b[pos++];
    if (wantKey && !isStrHead(tok))
      return new ProtocolError('E_DECODE', `map key at offset ${at} must be a string, got ${describe(tok)}`);

    let payload = 0; // bytes to skip after the header
    let items = -1; // >= 0 for a container
    let lenBytes = 0; // width of an explicit length field
    if (tok <= 0x7f || tok >= 0xe0 || tok === 0xc0 || tok === 0xc2 || tok === 0xc3) payload = 0;
    else if (tok <= 0x8f) items = 2 * (tok & 0x0f);
    else if (tok <= 0x9f) items = tok & 0x0f;
    else if (tok <= 0xbf) payload = tok & 0x1f;
    else if (tok === 0xc1) return new ProtocolError('E_DECODE', `reserved byte 0xc1 at offset ${at}`);
    else if (tok === 0xc4 || tok === 0xd9) lenBytes = 1;
    else if (tok === 0xc5 || tok === 0xda) lenBytes = 2;
    else if (tok === 0xc6 || tok === 0xdb) lenBytes = 4;
    else if (tok === 0xca) payload = 4;
    else if (tok === 0xcb) payload = 8;
    else if (tok >= 0xcc && tok <= 0xd3) payload = 1 << (tok & 0x03);
    else if (tok === 0xdc || tok === 0xde) lenBytes = 2;
    else if (tok === 0xdd || tok === 0xdf) lenBytes = 4;
    else return extension(b, at);

    if (lenBytes > 0) {
      if (pos + lenBytes > len) return truncated(at, 1 + lenBytes, len - at);
      const declared = readUint(b, pos, lenBytes);
      pos += lenBytes;
      if (tok >= 0xdc) items = tok === 0xdc || tok === 0xdd ? declared : 2 * declared;
      else payload = declared;
    }
    if (items >= 0) {
      // every item takes at least one byte: refuse a declared count the frame cannot hold
      if (items > len - pos)
        return new ProtocolError(
          'E_DECODE',
          `${isMapHead(tok) ? 'map' : 'array'} at offset ${at} declares ${isMapHead(tok) ? items / 2 + ' entries' : items + ' elements'} but only ${len - pos} bytes follow`,
        );
      if (remaining.length > maxDepth)
        return new ProtocolError('E_DECODE', `nesting deeper than ${maxDepth} levels at offset ${at}`);
      remaining.push(items);
      isMap.push(isMapHead(tok));
    } else {
      if (payload > len - pos) return truncated(at, pos - at + payload, len - at);
      pos += payload;
    }
  }
  if (pos !== len) return new ProtocolError('E_DECODE', `${len - pos} trailing bytes after the message map`);
  return null;
}

function isMapHead(tok: number): boolean {
  return (tok >= 0x80 && tok <= 0x8f) || tok === 0xde || tok === 0xdf;
}

function isStrHead(tok: number): boolean {
  return (tok >= 0xa0 && tok <= 0xbf) || tok === 0xd9 || tok === 0xda || tok === 0xdb;
}

function readUint(b: Uint8Array, pos: number, width: number): number {
  if (width === 1) return b[pos];
  if (width === 2) return (b[pos] << 8) | b[pos + 1];
  return b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]);
}

function extension(b: Uint8Array, at: number): ProtocolError {
  const tok = b[at];
  const typeAt = tok >= 0xd4 ? at + 1 : at + 1 + (1 << (tok - 0xc7));
  const type = typeAt < b.length ? String((b[typeAt] << 24) >> 24) : '(truncated)';
  return new ProtocolError('E_UNSUPPORTED', `msgpack extension type ${type} at offset ${at} is not accepted`);
}

function truncated(at: number, need: number, have: number): ProtocolError {
  return new ProtocolError(
    'E_DECODE',
    `frame truncated: the value at offset ${at} needs ${need} bytes but only ${have} remain`,
  );
}

function hex(tok: number): string {
  return '0x' + tok.toString(16).padStart(2, '0');
}

/** What a msgpack head byte starts, for messages. */
export function describe(tok: number): string {
  if (tok <= 0x7f || tok >= 0xe0 || (tok >= 0xcc && tok <= 0xd3)) return 'an integer';
  if (isMapHead(tok)) return 'a map';
  if (tok <= 0x9f || tok === 0xdc || tok === 0xdd) return 'an array';
  if (isStrHead(tok)) return 'a string';
  if (tok === 0xc0) return 'nil';
  if (tok === 0xc2 || tok === 0xc3) return 'a boolean';
  if (tok === 0xc4 || tok === 0xc5 || tok === 0xc6) return 'binary data';
  if (tok === 0xca || tok === 0xcb) return 'a float';
  if (tok === 0xc1) return 'the reserved byte 0xc1';
  return 'an extension value';
}
