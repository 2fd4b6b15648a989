import { SodaError } from '@soda/core';

/** What yargs tells about a command's declared options (its getOptions()). */
export interface DeclaredOptions {
  readonly key: Record<string, unknown>;
  readonly alias: Record<string, string[]>;
  readonly array: string[];
  readonly boolean: string[];
}

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/**
 * An option given twice: yargs keeps both values in an array (and, for a boolean, silently keeps the
 * last), which a command would then read as "not a string" and quietly ignore (`--data a --data b`
 * trained on the bundled set). The same value twice is that value; two different values are refused
 * with the option named. Mutates `argv` (every alias and camel-case copy gets the single value).
 */
export function collapseRepeated(
  argv: Record<string, unknown>,
  raw: readonly string[],
  o: DeclaredOptions,
): void {
  const arrays = new Set(o.array);
  const booleans = new Set(o.boolean);
  for (const [key, value] of Object.entries(argv)) {
    if (!Array.isArray(value) || key === '_' || arrays.has(key) || arrays.has(kebab(key))) continue;
    const first: unknown = value[0];
    if (value.some((x) => x !== first)) {
      const name = kebab(key.length === 1 ? aliasOf(key, o) : key);
      throw new SodaError(
        'E_CONFIG',
        `--${name} was given ${value.length} times with different values (${value.map((x) => JSON.stringify(x)).join(', ')}); give it once`,
        { option: name, value },
      );
    }
    argv[key] = first;
  }
  // booleans: yargs keeps the last of --x / --no-x / --x=… without a word; the raw line tells
  const seen = new Map<string, boolean>();
  for (const tok of raw) {
    if (tok === '--') break;
    if (!tok.startsWith('--')) continue;
    const [flag, eq] = tok.slice(2).split('=', 2) as [string, string | undefined];
    const negated = flag.startsWith('no-') && booleans.has(flag.slice(3));
    const name = negated ? flag.slice(3) : flag;
    if (!booleans.has(name)) continue;
    const value = negated ? false : eq === undefined ? true : eq !== 'false';
    const before = seen.get(name);
    if (before !== undefined && before !== value)
      throw new SodaError(
        'E_CONFIG',
        `--${name} was given twice with different values (${before}, ${value}); give it once`,
        {
          option: name,
        },
      );
    seen.set(name, value);
  }
}

/** The long name of a one-letter alias (-M → workers), for the message. */
function aliasOf(short: string, o: DeclaredOptions): string {
  for (const [k, aliases] of Object.entries(o.alias))
    if (aliases.includes(short)) return k.length > 1 ? k : (aliases.find((a) => a.length > 1) ?? short);
  return short;
}
