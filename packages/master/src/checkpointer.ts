import type { Logger } from 'pino';
import { encodeCheckpointChunks, writeCheckpointFile, type Checkpoint } from './checkpoint';

/**
 * Writes checkpoints one at a time, in order: a write requested while another is in flight waits for
 * it, and only the newest waiting checkpoint is written (an older one would be overwritten at once).
 */
export class Checkpointer {
  private inFlight: Promise<string | null> = Promise.resolve(null);
  private queued: Checkpoint | null = null;

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /**
   * Queue `ck` for writing; resolves when it (or a newer one) is on disk — null — or with the reason its
   * write failed (also logged): a failed final checkpoint must fail the run's exit code.
   */
  write(ck: Checkpoint): Promise<string | null> {
    const first = this.queued === null;
    this.queued = ck;
    if (first) this.inFlight = this.inFlight.then(() => this.flush());
    return this.inFlight;
  }

  private async flush(): Promise<string | null> {
    const ck = this.queued;
    this.queued = null;
    if (ck === null) return null;
    const t0 = Date.now();
    try {
      // hashed a slice at a time and written asynchronously: the event loop keeps turning meanwhile
      const pieces = await encodeCheckpointChunks(ck);
      await writeCheckpointFile(this.file, pieces);
      const bytes = pieces.reduce((a, p) => a + p.length, 0);
      this.log.info(
        {
          file: this.file,
          k: ck.meta.k,
          objective: ck.meta.evaluated?.objective ?? null,
          subopt: ck.meta.evaluated?.subopt ?? null,
          bytes,
          ms: Date.now() - t0,
        },
        'checkpoint written',
      );
      return null;
    } catch (e) {
      const err = (e as Error).message;
      this.log.error({ file: this.file, err }, 'could not write the checkpoint');
      return err;
    }
  }
}
