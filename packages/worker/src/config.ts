import type { Logger } from 'pino';

/** Everything a worker needs, validated and frozen by the caller. It needs only the master's address. */
export interface WorkerConfig {
  /** ws://host:port or wss://host:port */
  readonly master: string;
  readonly workerId: string;
  readonly token?: string;
  /** PEM CA bundle to trust for wss:// (self-signed masters). */
  readonly tlsCa?: string;
  /** Multiply the time of each step: F − 1 times the compute time is slept after it (F ≥ 1). */
  readonly slowdown: number;
  /** Fixed extra delay per step, in ms (added to the master's per-run delay). */
  readonly delayMs: number;
  /** Reconnect backoff: first wait, cap, and how long to keep trying before giving up (0: forever). */
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly giveUpMs: number;
  readonly maxPayload?: number;
  /**
   * Drop the connection and reconnect when nothing (frame or ping) came from the master for this
   * long. The master pings every --heartbeat (10 s by default), so keep it ≥ 3 heartbeats. 0: off.
   */
  readonly livenessMs?: number;
  /**
   * This worker's own data (data at scale): a LIBSVM file, where `{shard}` is replaced by the assigned
   * shard number (part-{shard}.svm → part-00003.svm). Used when the master sends no rows.
   */
  readonly data?: string;
  /** Refuse an index above this in `data` (a LIBSVM file; core's DEFAULT_MAX_FEATURES otherwise). */
  readonly maxFeatures?: number;
  /** Take only this shard (a worker pinned to one fixed file); another assignment is refused. */
  readonly shard?: number;
  readonly logger: Logger;
}
