/*
 * The master's log is a contract: `soda run` learns the port from it, the report and the benchmark
 * read runs back from it. These are the records that carry data (pino adds level, time, pid, hostname
 * and `msg`); the master builds them with these types and the readers parse them through the same
 * ones, so a renamed field fails to compile on both sides instead of silently reading `undefined`.
 */

/** The `msg` of each typed record. */
export const LOG_MSG = Object.freeze({
  start: 'start',
  progress: 'progress',
  summary: 'summary',
} as const);

/** `event` of the record logged once the master listens (its `msg` is human text: "waiting for workers 0/M"). */
export const LISTENING_EVENT = 'listening';

/** The master is listening: the first line a launcher waits for. */
export interface ListeningRecord {
  readonly event: typeof LISTENING_EVENT;
  /** the TCP port actually bound (useful with --port 0) */
  readonly port: number;
  readonly workers: number;
  readonly m: number;
  readonly n: number;
  readonly runId: string;
  readonly tls: boolean;
  /** where /healthz, /readyz and /metrics are served when not on `port` (--status-port) */
  readonly statusPort?: number;
}

/** `start`: the run's settings and conditioning, logged when every shard is ready. */
export interface StartRecord {
  readonly algo: string;
  readonly p: number;
  readonly workers: number;
  readonly dataset: string;
  readonly m: number;
  /** features (the intercept not counted) */
  readonly n: number;
  /** an intercept is fitted (an extra, unpenalised coordinate of w) */
  readonly intercept: boolean;
  readonly lambda1: number;
  readonly lambda2: number;
  /** L = max_i L_i */
  readonly L: number;
  /** μ = λ2 */
  readonly mu: number;
  /** κ = L/μ, null when μ = 0 */
  readonly kappa: number | null;
  readonly gamma: number;
  readonly fstar: number | null;
  readonly tol: number;
  readonly k: number;
  readonly resumed: boolean;
  /** what stops the run: the suboptimality against F*, or (no F*, or --tol-gap) the duality gap */
  readonly stopRule?: string;
  /** bits of a value in the model and update frames (--wire-precision; absent in older masters' logs) */
  readonly wirePrecision?: 32 | 64;
}

/** The run's traffic counters, in progress and summary records. */
export interface TrafficCounters {
  readonly updates: number;
  readonly coordsUp: number;
  readonly coordsDown: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly rejectedFrames: number;
  readonly departures: number;
  /** bytes of evaluation answers (absent in logs of older masters) */
  readonly evalBytesUp?: number;
  /** coordinates of gap parts uploaded (absent in logs of older masters) */
  readonly gapCoordsUp?: number;
  /** coordinates of w sent in evaluation requests (absent in logs of older masters) */
  readonly evalCoordsDown?: number;
  /** bytes of the update frames received and of the model frames sent: the step traffic alone, per
   * coordinate updateBytesUp ÷ coordsUp and modelBytesDown ÷ coordsDown (absent in older masters' logs) */
  readonly updateBytesUp?: number;
  readonly modelBytesDown?: number;
}

/** `progress`: one evaluation round, F(w^k) = Σ π_i f_i(w^k) + λ1‖w^k‖₁. */
export interface ProgressRecord extends TrafficCounters {
  readonly k: number;
  readonly epoch: number;
  /** null in JSON when F was not finite */
  readonly objective: number | null;
  readonly subopt: number | null;
  /** the duality gap F(w) − D(θ) ≥ F − F* (present when λ2 > 0), gap / |D|, and D */
  readonly gap?: number | null;
  readonly gapRel?: number | null;
  readonly dual?: number | null;
  readonly nnz: number;
  readonly supportPct: number;
  readonly accuracy: number;
  readonly testAccuracy?: number;
  readonly testLogLoss?: number;
  readonly delayMean: number;
  readonly delayMax: number;
  /** shards whose worker is ready */
  readonly workers: number;
  readonly p: number;
  readonly restarts: number;
  readonly elapsedMs: number;
}

/** `summary`: the final line of a run. */
export interface SummaryRecord extends TrafficCounters {
  readonly reason: string;
  readonly objective: number | null;
  readonly fstar: number | null;
  readonly subopt: number | null;
  /** the last evaluation's duality gap and gap / |D| (when λ2 > 0) */
  readonly gap?: number | null;
  readonly gapRel?: number | null;
  readonly accuracy: number | null;
  readonly testAccuracy: number | null;
  readonly k: number;
  readonly epochs: number;
  readonly elapsedMs: number;
  readonly nnz: number;
  readonly supportPct: number;
  readonly algo: string;
  readonly p: number;
  readonly restarts: number;
  readonly workers: number;
  readonly gamma: number;
  /** null when no model was written (none asked for, or its write failed: see writeErrors) */
  readonly modelOut: string | null;
  readonly checkpoint: string | null;
  /** outputs that could not be written ("model: …", "checkpoint: …"); non-empty fails the exit code */
  readonly writeErrors: readonly string[];
}

/** Is this parsed log line the master's listening record (with a usable port)? */
export function isListeningRecord(o: unknown): o is ListeningRecord {
  if (typeof o !== 'object' || o === null) return false;
  const r = o as Record<string, unknown>;
  return r.event === LISTENING_EVENT && typeof r.port === 'number' && Number.isInteger(r.port);
}
