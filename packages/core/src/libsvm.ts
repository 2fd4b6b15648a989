import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { SodaError } from './errors';
import { DEFAULT_MAX_FEATURES, LibsvmParser, MAX_INDEX } from './libsvm-parse';
export { DEFAULT_MAX_FEATURES, MAX_INDEX } from './libsvm-parse';
import type { CsrMatrix, Dataset } from './matrix';

export { LibsvmWriter, writeLibsvm } from './libsvm-write';
export type { RowSink } from './libsvm-write';

/** A dataset read from a LIBSVM file: X is m × n (CSR, 0-based columns), y ∈ {−1,+1}^m. */
export interface LibsvmData extends Dataset {
  readonly n: number;
  /** The path the data was read from. */
  readonly source: string;
}

export interface ReadLibsvmOptions {
  /** Declared dimension: every index must be ≤ n, and X gets exactly n columns. Default: max index seen. */
  n?: number;
  /** Refuse any index above this (default DEFAULT_MAX_FEATURES = 2^24), naming file:line. */
  maxFeatures?: number;
}

/**
 * Reads a LIBSVM/svmlight file (gzip-compressed when the name ends in .gz or the bytes start with
 * 1f 8b), streaming: memory is O(nnz) typed arrays, never the file as a string.
 *
 * Labels may be {−1,+1}, {0,1} or {1,2} and are mapped to −1/+1. Errors: E_DATA_PARSE with
 * `file:line: what` for malformed content (details {file, line}); E_DATA_READ for a missing or
 * unreadable file or a corrupt/truncated gzip stream (the bytes themselves cannot be recovered).
 */
export async function readLibsvm(path: string, opts: ReadLibsvmOptions = {}): Promise<LibsvmData> {
  const { n: declared, maxFeatures = DEFAULT_MAX_FEATURES } = opts;
  if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0 && declared <= MAX_INDEX))
    throw new SodaError(
      'E_CONFIG',
      `declared dimension n must be an integer in [0, 2^32 - 1], got ${declared}`,
    );
  if (!(Number.isSafeInteger(maxFeatures) && maxFeatures >= 1 && maxFeatures <= MAX_INDEX))
    throw new SodaError('E_CONFIG', `maxFeatures must be an integer in [1, 2^32 - 1], got ${maxFeatures}`);
  const gzip = path.endsWith('.gz') || (await startsWithGzipMagic(path));
  const parser = new LibsvmParser(path, declared, { maxFeatures });
  await forEachChunk(path, gzip, (chunk) => parser.push(chunk));
  const { X, y, n } = parser.finish();
  return { X, y, n, source: path };
}

/** Rows of a streamed file: `X.cols` is the largest index seen so far; y is NaN on unlabelled rows. */
export interface RowBatch {
  readonly X: CsrMatrix;
  readonly y: Float64Array;
  /** 0-based index of the batch's first row in the file. */
  readonly firstRow: number;
}

/**
 * Streams a LIBSVM file (gzip too) in batches of about `batchRows` rows, so memory stays bounded
 * whatever the file's size. With `allowUnlabelled`, lines may have no label (all or none of them).
 */
export async function* streamLibsvm(
  path: string,
  opts: { allowUnlabelled?: boolean; batchRows?: number; maxFeatures?: number } = {},
): AsyncGenerator<RowBatch> {
  const batchRows = opts.batchRows ?? 8192;
  const gzip = path.endsWith('.gz') || (await startsWithGzipMagic(path));
  const parser = new LibsvmParser(path, undefined, {
    allowUnlabelled: opts.allowUnlabelled,
    ...(opts.maxFeatures !== undefined ? { maxFeatures: opts.maxFeatures } : {}),
  });
  let firstRow = 0;
  for await (const chunk of readChunks(path, gzip)) {
    parser.push(chunk);
    if (parser.pendingRows >= batchRows) {
      const b = parser.drain();
      yield { ...b, firstRow };
      firstRow += b.X.rows;
    }
  }
  const last = parser.finish();
  if (last.X.rows > 0) yield { X: last.X, y: last.y, firstRow };
}

/** SHA-256 (hex) of the file's bytes, streamed: a cache key and a checkpoint's data fingerprint. */
export async function contentHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  await forEachChunk(path, false, (chunk) => {
    hash.update(chunk);
  });
  return hash.digest('hex');
}

export async function startsWithGzipMagic(path: string): Promise<boolean> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(path, 'r');
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } catch (e) {
    throw readError(path, e);
  } finally {
    await handle?.close();
  }
}

/** The file's bytes (decompressed when `gzip`) in chunks of about 1 MiB; I/O and zlib errors become SodaErrors. */
export async function* readChunks(path: string, gzip: boolean): AsyncGenerator<Buffer> {
  const file = fs.createReadStream(path, { highWaterMark: 1 << 20 });
  let stream: Readable = file;
  if (gzip) {
    const gunzip = zlib.createGunzip();
    file.on('error', (e) => gunzip.destroy(e));
    stream = file.pipe(gunzip);
  }
  const chunks = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } catch (e) {
        throw readError(path, e);
      }
      if (next.done) return;
      yield next.value as Buffer;
    }
  } finally {
    file.destroy();
    stream.destroy();
  }
}

/** Streams the file's bytes (decompressed when `gzip`) into `onChunk`, waiting for it when it returns a promise. */
export async function forEachChunk(
  path: string,
  gzip: boolean,
  onChunk: (chunk: Buffer) => void | Promise<void>,
): Promise<void> {
  for await (const chunk of readChunks(path, gzip)) {
    const wait = onChunk(chunk);
    if (wait !== undefined) await wait;
  }
}

function readError(path: string, e: unknown): SodaError {
  const err = e as NodeJS.ErrnoException;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code?.startsWith('Z_'))
    return new SodaError('E_DATA_READ', `${path}: corrupt or truncated gzip data (${err.message})`, {
      file: path,
      reason: code,
    });
  const reason = err instanceof Error ? err.message : String(e);
  return new SodaError('E_DATA_READ', `cannot read ${path}: ${reason}`, {
    file: path,
    reason: code ?? reason,
  });
}
