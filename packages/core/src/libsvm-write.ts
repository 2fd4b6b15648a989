import { once } from 'node:events';
import * as fs from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { publish, tempPathFor } from './durable-write';
import { SodaError } from './errors';
import type { Dataset } from './matrix';

/** Anything that consumes labelled sparse rows (0-based indices); a Promise result asks the caller to wait. */
export interface RowSink {
  write(y: number, idx: ArrayLike<number>, val: ArrayLike<number>): void | Promise<void>;
}

/**
 * Writes LIBSVM lines (`y idx:val ...`, 1-based) to a temporary file beside `path`, gzip-compressed when the path
 * ends in .gz, and publishes it (fsync, rename, fsync the folder: see durable-write) only when `close()` succeeds.
 * Values are printed with String(v), the shortest decimal that parses back to the same double.
 */
export class LibsvmWriter implements RowSink {
  private readonly file: fs.WriteStream;
  private readonly out: Writable;
  private error: unknown = null;
  private state: 'open' | 'closing' | 'done' = 'open';
  /** The one wait for 'drain' while the buffer is full: rows written meanwhile share it (no listener each). */
  private drained: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    private readonly tmp: string,
  ) {
    // flush: fsync before close, so the rename publishes bytes that are on disk.
    this.file = fs.createWriteStream(tmp, { flush: true });
    this.file.on('error', (e) => this.onError(e));
    if (path.endsWith('.gz')) {
      const gz = zlib.createGzip();
      gz.on('error', (e) => this.onError(e));
      gz.pipe(this.file);
      this.out = gz;
    } else {
      this.out = this.file;
    }
  }

  static create(path: string): LibsvmWriter {
    return new LibsvmWriter(path, tempPathFor(path));
  }

  /** Appends one row; returns a Promise (resolved on 'drain') when the stream's buffer is full. */
  write(y: number, idx: ArrayLike<number>, val: ArrayLike<number>): void | Promise<void> {
    if (this.state !== 'open')
      throw new SodaError('E_DATA_WRITE', `${this.path}: write after close or abort`);
    if (this.error !== null) throw this.ioError();
    if (!Number.isFinite(y)) throw new SodaError('E_DATA', `${this.path}: label ${y} is not a finite number`);
    if (idx.length !== val.length)
      throw new SodaError('E_DATA', `${this.path}: row has ${idx.length} indices but ${val.length} values`);
    let line = String(y);
    let prev = -1;
    for (let k = 0; k < idx.length; k++) {
      const j = idx[k];
      const v = val[k];
      if (!Number.isInteger(j) || j <= prev || j > 0xffffffff)
        throw new SodaError(
          'E_DATA',
          `${this.path}: index ${j} at position ${k} is not a strictly increasing 0-based integer`,
        );
      if (!Number.isFinite(v))
        throw new SodaError('E_DATA', `${this.path}: value ${v} of index ${j} is not finite`);
      line += ` ${j + 1}:${v}`;
      prev = j;
    }
    return this.writeLine(line);
  }

  /** Appends one line as it is (no newline in `line`): a CSV part's header and rows use this writer too. */
  writeLine(line: string): void | Promise<void> {
    if (this.state !== 'open')
      throw new SodaError('E_DATA_WRITE', `${this.path}: write after close or abort`);
    if (this.error !== null) throw this.ioError();
    if (this.out.write(line + '\n')) return;
    return (this.drained ??= this.untilDrained());
  }

  private untilDrained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // With gzip, a failing file stream never drains the gzip stream: listen to both for errors.
      const done = (): void => {
        this.drained = null;
        this.out.off('drain', onDrain);
        this.out.off('error', onFail);
        this.file.off('error', onFail);
      };
      const onDrain = (): void => {
        done();
        resolve();
      };
      const onFail = (): void => {
        done();
        reject(this.ioError());
      };
      this.out.once('drain', onDrain);
      this.out.once('error', onFail);
      this.file.once('error', onFail);
    });
  }

  /** Flushes, fsyncs and renames the temporary file onto `path`; on any failure removes it and rejects. */
  async close(): Promise<void> {
    if (this.state !== 'open')
      throw new SodaError('E_DATA_WRITE', `${this.path}: close after close or abort`);
    this.state = 'closing';
    try {
      if (this.error !== null) throw this.ioError();
      this.out.end();
      await finished(this.file);
      // 'finish' precedes the fsync-and-close; rename only a closed file.
      if (!this.file.closed) await once(this.file, 'close');
      if (this.error !== null) throw this.ioError();
      await publish(this.tmp, this.path);
    } catch (e) {
      await this.removeTmp();
      throw e instanceof SodaError ? e : this.ioError(e);
    } finally {
      this.state = 'done';
    }
  }

  /** Drops everything written so far; `path` is left untouched. */
  async abort(): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'done';
    this.out.destroy();
    this.file.destroy();
    await new Promise<void>((resolve) =>
      this.file.closed ? resolve() : this.file.once('close', () => resolve()),
    );
    await this.removeTmp();
  }

  private onError(e: unknown): void {
    if (this.error === null) this.error = e;
  }

  private ioError(e: unknown = this.error): SodaError {
    const reason = e instanceof Error ? e.message : String(e);
    return new SodaError('E_DATA_WRITE', `cannot write ${this.path}: ${reason}`, { file: this.path, reason });
  }

  private async removeTmp(): Promise<void> {
    await fs.promises.rm(this.tmp, { force: true });
  }
}

/** Writes a whole dataset as a LIBSVM file (atomically, see LibsvmWriter). */
export async function writeLibsvm(path: string, ds: Dataset): Promise<void> {
  const { X, y } = ds;
  if (y.length !== X.rows)
    throw new SodaError('E_DATA', `${path}: dataset has ${X.rows} rows but ${y.length} labels`);
  const w = LibsvmWriter.create(path);
  try {
    for (let i = 0; i < X.rows; i++) {
      const start = X.ptr[i];
      const end = X.ptr[i + 1];
      const pending = w.write(y[i], X.ind.subarray(start, end), X.val.subarray(start, end));
      if (pending !== undefined) await pending;
    }
  } catch (e) {
    await w.abort();
    throw e;
  }
  await w.close();
}
