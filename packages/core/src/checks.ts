/*
 * The rules every validator applies — CLI options, wire fields, model files, log lines — in one
 * place, so "a finite number", "an integer in [a, b]" mean the same everywhere. Each layer keeps
 * its own error (SodaError naming the option, ProtocolError naming the field): only the rule is shared.
 */

/** Bounds on a number; absent bounds are open. */
export interface Bounds {
  /** exclusive lower bound */
  readonly gt?: number;
  /** inclusive lower bound */
  readonly ge?: number;
  /** inclusive upper bound */
  readonly le?: number;
  /** a safe integer */
  readonly integer?: boolean;
}

/** v as a finite number, or undefined (NaN, ±Infinity, and non-numbers are not). */
export function finiteNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Does the finite number x keep the bounds? */
export function inBounds(x: number, b: Bounds): boolean {
  if (b.integer && !Number.isSafeInteger(x)) return false;
  return (
    (b.gt === undefined || x > b.gt) && (b.ge === undefined || x >= b.ge) && (b.le === undefined || x <= b.le)
  );
}

/** The bounds as an interval: "[0, 1]", "(0, ∞)". */
export function intervalText(b: Bounds): string {
  const lo = b.gt !== undefined ? `(${b.gt}` : b.ge !== undefined ? `[${b.ge}` : '(-∞';
  const hi = b.le !== undefined ? `${b.le}]` : '∞)';
  return `${lo}, ${hi}`;
}
