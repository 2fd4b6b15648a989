import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SodaError } from './errors';

/*
 * The one way this program writes a file a person or a later run relies on (model, checkpoint, solver
 * cache, report, generated data): write a temporary file beside the target, fsync it, rename it over
 * the target, fsync the folder. A reader — or the program restarted after a crash or power loss at any
 * instant — sees the old file or the new one, never half of one, and a rename that returned is on disk.
 */

/** `<file>.tmp-<pid>-<random>`: beside the target (same file system, so rename is atomic). */
export function tempPathFor(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Is `name` a temporary file of `file` (left by a process killed mid-write)? */
export function isTempOf(file: string, name: string): boolean {
  return name.startsWith(`${path.basename(file)}.tmp-`);
}

/** Renames a complete, fsynced `tmp` onto `file` and fsyncs the folder so the rename itself survives. */
export async function publish(tmp: string, file: string): Promise<void> {
  await fs.rename(tmp, file);
  const dir = await fs.open(path.dirname(path.resolve(file)), 'r');
  try {
    await dir.sync();
  } catch (e) {
    // Some file systems refuse fsync on a directory (EINVAL/EISDIR); the rename has still happened.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw e;
  } finally {
    await dir.close();
  }
}

export interface DurableWriteOptions {
  /** error code on failure (default E_IO) */
  readonly code?: string;
  /** what the file is, for the message: "cannot write <what> <file>: …" */
  readonly what?: string;
}

/**
 * Writes `data` (or its pieces, one after the other) to `file` atomically and durably; on failure
 * removes the temporary file and throws.
 */
export async function writeFileDurable(
  file: string,
  data: string | Uint8Array | readonly Uint8Array[],
  opts: DurableWriteOptions = {},
): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const h = await fs.open(tmp, 'w');
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await h.writeFile(data);
      else for (const piece of data) await h.writeFile(piece); // each from where the last ended
      await h.sync();
    } finally {
      await h.close();
    }
    await publish(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    const what = opts.what ?? 'file';
    throw new SodaError(opts.code ?? 'E_IO', `cannot write ${what} ${file}: ${(e as Error).message}`, {
      file,
    });
  }
}

/** Removes temporary files of `file` left by a process killed in the middle of a write. */
export async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  await Promise.all(
    names.filter((f) => isTempOf(file, f)).map((f) => fs.rm(path.join(dir, f), { force: true })),
  );
}
