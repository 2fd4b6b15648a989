/**
 * The default of a switch over a union: a compile error when a case is missing (the value is not
 * `never`), an exception if a peer ever gets one past the decoder. Local to the worker until the
 * shared one (issue 19, core/protocol) lands; then import that instead.
 */
export function assertNever(x: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(x)}`);
}
