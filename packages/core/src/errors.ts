/**
 * Errors are values with a stable `code` a program can branch on and a message a person can act on.
 * Every package throws (or returns) SodaError so the CLI can print one JSON line and pick an exit code.
 */
export class SodaError extends Error {
  readonly code: string;
  /** Optional structured context (file, line, field, value...) for logs. */
  readonly details?: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'SodaError';
    this.code = code;
    if (details !== undefined) this.details = Object.freeze({ ...details });
  }
}

export function isSodaError(e: unknown): e is SodaError {
  return e instanceof SodaError;
}

/**
 * The default branch of a switch over a union: with every case handled, `x` has type never and this
 * compiles; a case forgotten (or a member added to the union) is a compile error at the call. Reached
 * at run time only through a cast or an unchecked value: an internal error, never a peer's fault.
 */
export function assertNever(x: never, what: string): never {
  const tag = (x as { type?: unknown; t?: unknown; kind?: unknown } | null) ?? {};
  throw new SodaError('E_INTERNAL', `unhandled ${what}: ${String(tag.type ?? tag.t ?? tag.kind ?? x)}`);
}
