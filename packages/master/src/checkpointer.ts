import type { Logger } from 'pino';
import { encodeCheckpoint, writeCheckpointFile, type Checkpoint } from './checkpoint';

/**
 * Writes checkpoints one at a time, in order: a write requested while another is in flight waits for
 * it, and only the newest waiting checkpoint is written (an older one would be overwritten at once).
 */
export class Checkpointer {
  private inFlight: Promise<void> = Promise.resolve();
  private queued: Checkpoint | null = null;

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /** Queue `ck` for writing; resolves when it (or a newer one) is on disk, or its write failed (logged). */
  write(ck: Checkpoint): Promise<void> {
    const first = this.queued === null;
    this.queued = ck;
    if (first) this.inFlight = this.inFlight.then(() => this.flush());
    return this.inFlight;
  }

  private async flush(): Promise<void> {
    const ck = this.queued;
    this.queued = null;
    if (ck === null) return;
    const t0 = Date.now();
    try {
      const buf = encodeCheckpoint(ck);
      await writeCheckpointFile(this.file, buf);
      this.log.info(
        {
          file: this.file,
          k: ck.meta.k,
          objective: ck.meta.evaluated?.objective ?? null,
          subopt: ck.meta.evaluated?.subopt ?? null,
          bytes: buf.length,
          ms: Date.now() - t0,
        },
        'checkpoint written',
      );
    } catch (e) {
      this.log.error({ file: this.file, err: (e as Error).message }, 'could not write the checkpoint');
    }
  }
}
