/*
 * The byte-level pieces of the LIBSVM parser (libsvm-parse.ts): whitespace, tokens, 1-based indices and
 * decimal numbers read in place from a Buffer, never through an intermediate string on the fast path.
 */

export const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
export const HASH = 35;
export const COLON = 58;
const DIGIT0 = 48;
const DIGIT9 = 57;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === CR;
}

export function skipSpace(buf: Buffer, pos: number, end: number): number {
  while (pos < end && isSpace(buf[pos])) pos++;
  return pos;
}

/** A token ends at whitespace, at a comment, or at the end of the line. */
export function tokenEnd(buf: Buffer, pos: number, end: number): number {
  while (pos < end && !isSpace(buf[pos]) && buf[pos] !== HASH) pos++;
  return pos;
}

/** The digits of a 1-based index as a number; −1 when empty or not plain digits. */
export function parseIndex(buf: Buffer, start: number, end: number): number {
  if (start === end) return -1;
  let v = 0;
  for (let p = start; p < end; p++) {
    const c = buf[p];
    if (c < DIGIT0 || c > DIGIT9) return -1;
    v = v * 10 + (c - DIGIT0);
  }
  return v;
}

/** 10^k for k ≤ 22: all exactly representable doubles. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * A decimal number, NaN when malformed. Plain decimals with at most 15 significant digits and no
 * exponent take Clinger's fast path: the digits form an exact integer N < 2^53 and 10^f is exact, so
 * the single rounding of N / 10^f is the correctly rounded value, the same double Number() gives.
 * Anything else goes through Number(). Only [0-9+-.eE] is accepted, so "0x1F", "Infinity" or "" are
 * not numbers here.
 */
export function parseNumber(buf: Buffer, start: number, end: number): number {
  if (start === end) return NaN;
  let p = start;
  let sign = 1;
  if (buf[p] === 45 || buf[p] === 43) sign = buf[p++] === 45 ? -1 : 1;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1; // digits after the point; −1 while no point seen
  for (; p < end; p++) {
    const c = buf[p];
    if (c >= DIGIT0 && c <= DIGIT9) {
      mantissa = mantissa * 10 + (c - DIGIT0);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 46 && fraction < 0) {
      fraction = 0;
    } else break;
  }
  if (p === end && digits > 0 && digits <= 15) return (sign * mantissa) / POW10[fraction < 0 ? 0 : fraction];
  for (p = start; p < end; p++) {
    const c = buf[p];
    const ok = (c >= DIGIT0 && c <= DIGIT9) || c === 43 || c === 45 || c === 46 || c === 101 || c === 69;
    if (!ok) return NaN;
  }
  return Number(buf.toString('latin1', start, end));
}

/** Token text for messages, cut short so a garbage line does not flood the log. */
export function text(buf: Buffer, start: number, end: number): string {
  const s = buf.toString('utf8', start, Math.min(end, start + 40));
  return end - start > 40 ? `${s}...` : s;
}
