import { readFileSync } from 'node:fs';
import { SodaError } from '@soda/core';

/**
 * The shared token, from --token / SODA_TOKEN or --token-file / SODA_TOKEN_FILE. Validated here,
 * once: an EMPTY token is an error, never "no authentication" — `SODA_TOKEN=` left blank in a
 * compose file must not silently open the master to anyone. A token file's trailing newline (what
 * `echo secret > file` writes) is not part of the token.
 */
export function resolveToken(a: Record<string, unknown>): string | undefined {
  const direct = a.token;
  const file = a.tokenFile;
  if (direct !== undefined && file !== undefined)
    throw new SodaError(
      'E_CONFIG',
      'give the token once: --token (SODA_TOKEN) or --token-file (SODA_TOKEN_FILE), not both',
    );
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '')
      throw new SodaError('E_CONFIG', '--token-file (SODA_TOKEN_FILE) is empty; name a file or unset it');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new SodaError('E_CONFIG', `--token-file ${file}: ${(e as Error).message}`, { file });
    }
    const token = text.replace(/(\r?\n)+$/, '');
    if (token === '')
      throw new SodaError('E_CONFIG', `--token-file ${file} is empty: an empty token is not allowed`, {
        file,
      });
    return token;
  }
  if (direct === undefined) return undefined;
  if (typeof direct !== 'string' || direct === '')
    throw new SodaError(
      'E_CONFIG',
      '--token (SODA_TOKEN) is empty: an empty token is an error, not "no authentication"; ' +
        'unset it to run without a token',
    );
  return direct;
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
