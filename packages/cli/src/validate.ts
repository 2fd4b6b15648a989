import { type Bounds, finiteNumber, inBounds, SodaError } from '@soda/core';

/*
 * Option checks, run once when a command starts; the resulting config is frozen. Each message names
 * the option, the environment variable that can set it, and the value received.
 */

function where(name: string): string {
  return `--${name} (env SODA_${name.toUpperCase().replace(/-/g, '_')})`;
}

function bad(name: string, rule: string, value: unknown): never {
  throw new SodaError('E_CONFIG', `${where(name)} must be ${rule}, got ${JSON.stringify(value)}`, {
    option: name,
    value,
  });
}

export function num(name: string, v: unknown): number {
  const x = finiteNumber(typeof v === 'string' && v.trim() !== '' ? Number(v) : v);
  if (x === undefined) bad(name, 'a finite number', v);
  return x;
}

/** A number within `b`; `rule` says it in words for the message. */
function bounded(name: string, v: unknown, b: Bounds, rule: string): number {
  const x = num(name, v);
  if (!inBounds(x, b)) bad(name, rule, v);
  return x;
}

export function positiveInt(name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  return bounded(name, v, { integer: true, ge: 1, le: max }, `an integer from 1 to ${max}`);
}

export function nonNegativeInt(name: string, v: unknown): number {
  return bounded(name, v, { integer: true, ge: 0 }, 'a non-negative integer');
}

/** A nice level for processes this one spawns: 0 (as it is) to 19 (the lowest priority). */
export function niceLevel(name: string, v: unknown): number {
  return bounded(name, v, { integer: true, ge: 0, le: 19 }, 'an integer from 0 to 19 (a nice level)');
}

export function nonNegative(name: string, v: unknown): number {
  return bounded(name, v, { ge: 0 }, '≥ 0');
}

export function positive(name: string, v: unknown): number {
  return bounded(name, v, { gt: 0 }, '> 0');
}

export function probability(name: string, v: unknown): number {
  return bounded(name, v, { gt: 0, le: 1 }, 'a probability in (0, 1]');
}

export function fraction(name: string, v: unknown): number {
  const x = num(name, v);
  if (!(x >= 0 && x < 1)) bad(name, 'a fraction in [0, 1)', v);
  return x;
}

export function port(name: string, v: unknown): number {
  return bounded(name, v, { integer: true, ge: 0, le: 65535 }, 'a TCP port from 0 to 65535');
}

export function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) bad(name, `one of ${allowed.join(', ')}`, v);
  return v as T;
}

/** --wire-precision: the bits of a value in the model and update frames, 32 or 64. */
export function wirePrecision(name: string, v: unknown): 32 | 64 {
  const x = num(name, v);
  if (x !== 32 && x !== 64) bad(name, '32 or 64 (bits of a value in the model and update frames)', v);
  return x;
}

export function wsUrl(name: string, v: unknown): string {
  if (typeof v !== 'string') bad(name, 'a ws:// or wss:// URL', v);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return bad(name, 'a ws:// or wss:// URL such as ws://master:7070', v);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    bad(name, 'a ws:// or wss:// URL such as ws://master:7070', v);
  return v;
}

export function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
