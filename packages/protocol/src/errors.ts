import { SodaError } from '@soda/core';
import { LIMITS, type ErrorMsg } from './messages';

/**
 * WebSocket close code for each protocol error code (RFC 6455 §7.4.1). A peer that gets one of
 * these knows whether retrying the same bytes can ever help (1011) or not (the rest).
 */
export const CLOSE_CODES = Object.freeze({
  /** the bytes are not one msgpack map */
  E_DECODE: 1007,
  /** a text frame, or a msgpack extension type we do not accept */
  E_UNSUPPORTED: 1003,
  /** unknown `t`, or a type this side never receives */
  E_TYPE: 1002,
  /** a field is missing, of the wrong type, or out of range */
  E_FIELD: 1007,
  /** the peer speaks another protocol version */
  E_VERSION: 1008,
  /** no proof, or a wrong one */
  E_AUTH: 1008,
  /**
   * a frame fails its session MAC (rewritten, replayed, reordered or injected on the way): not the
   * worker's fault, so not 1008 — a worker reconnects after it instead of exiting
   */
  E_INTEGRITY: 1002,
  /** the frame exceeds the receiver's limit */
  E_TOO_BIG: 1009,
  /** a valid message at the wrong moment (decided by the master or worker, not by the decoder) */
  E_STATE: 1002,
  /** our own bug; the peer did nothing wrong */
  E_INTERNAL: 1011,
});

export type ProtocolErrorCode = keyof typeof CLOSE_CODES;

/**
 * A frame the receiver refuses. A class (not a plain object) so it is a SodaError like every other
 * error in SODA — the CLI and logs handle it the same way — and so the master can throw it from deep
 * in a handler and catch it by `instanceof` at the connection boundary. The decoder never throws it:
 * it returns it inside a DecodeResult.
 */
export class ProtocolError extends SodaError {
  declare readonly code: ProtocolErrorCode;
  /** WebSocket close code to end the connection with */
  readonly closeCode: number;
  /** dotted path of the offending field inside the message ('delta.idx[3]'), '' for the whole frame */
  readonly field: string;

  constructor(code: ProtocolErrorCode, message: string, field = '') {
    super(code, message, field === '' ? undefined : { field });
    this.name = 'ProtocolError';
    this.closeCode = CLOSE_CODES[code];
    this.field = field;
  }
}

/** The frame to send before closing the connection for `err`. */
export function errorFrame(err: ProtocolError): ErrorMsg {
  return { t: 'error', code: err.code, message: truncateChars(err.message, LIMITS.errorMessage) };
}

/** RFC 6455 caps a close reason at 123 bytes of UTF-8; `ws` throws on longer ones. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** The close reason for `err`: its message, cut on a character boundary to fit a close frame. */
export function closeReason(err: ProtocolError): string {
  return truncateUtf8(`${err.code}: ${err.message}`, MAX_CLOSE_REASON_BYTES);
}

function truncateChars(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  let out = '';
  let bytes = 0;
  // iterate by code point so a surrogate pair is never split
  for (const ch of s) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > maxBytes) break;
    out += ch;
    bytes += b;
  }
  return out;
}
