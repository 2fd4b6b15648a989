import { SodaError } from '@soda/core';

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
  const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isFinite(x)) bad(name, 'a finite number', v);
  return x;
}

export function positiveInt(name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  const x = num(name, v);
  if (!Number.isInteger(x) || x < 1 || x > max) bad(name, `an integer from 1 to ${max}`, v);
  return x;
}

export function nonNegativeInt(name: string, v: unknown): number {
  const x = num(name, v);
  if (!Number.isInteger(x) || x < 0) bad(name, 'a non-negative integer', v);
  return x;
}

export function nonNegative(name: string, v: unknown): number {
  const x = num(name, v);
  if (x < 0) bad(name, '≥ 0', v);
  return x;
}

export function positive(name: string, v: unknown): number {
  const x = num(name, v);
  if (!(x > 0)) bad(name, '> 0', v);
  return x;
}

export function probability(name: string, v: unknown): number {
  const x = num(name, v);
  if (!(x > 0 && x <= 1)) bad(name, 'a probability in (0, 1]', v);
  return x;
}

export function fraction(name: string, v: unknown): number {
  const x = num(name, v);
  if (!(x >= 0 && x < 1)) bad(name, 'a fraction in [0, 1)', v);
  return x;
}

export function port(name: string, v: unknown): number {
  const x = num(name, v);
  if (!Number.isInteger(x) || x < 0 || x > 65535) bad(name, 'a TCP port from 0 to 65535', v);
  return x;
}

export function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) bad(name, `one of ${allowed.join(', ')}`, v);
  return v as T;
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
