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
