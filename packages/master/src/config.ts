import type { Dataset, SplitManifest } from '@soda/core';
import type { Logger } from 'pino';
import type { Algo } from './algo';
import type { Checkpoint } from './checkpoint';
import type { DivergenceRule } from './divergence';

export type { Algo };

/** Everything the master needs, validated and frozen by the caller (the CLI) before the run starts. */
export interface MasterConfig {
  readonly host: string;
  readonly port: number;
  /** Serve /healthz, /readyz and /metrics here instead of on the workers' port (port 0: any free one). */
  readonly status?: { readonly host: string; readonly port: number };
  /**
   * The training data, already normalised; the master shards it and ships each shard to its worker.
   * null: the workers hold the data (each reads its own part); n, m_i and the scaling come from a
   * stats round, and the run stops on the duality gap unless F* is given.
   */
  readonly data: Dataset | null;
  /** With data null: the split's manifest, which the workers' stats must match (and the data's hash). */
  readonly manifest?: SplitManifest;
  /** With data null: whether the stats round's max-abs divisors scale the workers' rows (default true). */
  readonly normalize?: boolean;
  /** Stop when the duality gap / |D| falls to this (the default rule, at --tol, when F* is unknown). */
  readonly tolGap?: number;
  readonly dataName: string;
  /** Hex content hash of the data (checkpoints refuse a different dataset). */
  readonly dataHash: string;
  /** Column scale used to normalise the data (stored with the model so predictions scale the same way). */
  readonly scale?: Float64Array;
  /**
   * With an intercept: the index of its constant column (the last one). Coordinates from here on are
   * not ℓ1-penalised: ModelState(n, π, γ, λ1, unpenalizedFrom) skips their prox, and the evaluation's
   * ℓ1 term skips them (it reads this from ModelState.current()).
   */
  readonly unpenalizedFrom?: number;
  /**
   * With data null: fit an intercept. Each worker appends the constant column after scaling its part;
   * the run's dimension is the stats round's n + 1 and coordinates ≥ n are not ℓ1-penalised.
   * (With data, the intercept is already a column of cfg.data and unpenalizedFrom says so.)
   */
  readonly intercept?: boolean;
  /** Names of the features (the intercept not counted), for the model file. */
  readonly featureNames?: readonly string[];
  readonly workers: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly algo: Algo;
  /** Mask probability; 1 for dave-pg and sync-pg. */
  readonly p: number;
  readonly lambda1: number;
  readonly lambda2: number;
  /** Fixed step size; default 2/(μ + max L_i) with μ = λ2. */
  readonly gamma?: number;
  /** F*, when known: progress lines then carry the suboptimality (F − F*)/F*. */
  readonly fstar?: number;
  /** Held-out examples (scaled like the training data): progress lines then carry test accuracy. */
  readonly test?: Dataset;
  readonly tol: number;
  readonly maxEpochs: number;
  readonly maxTimeMs: number;
  /** Evaluate F(w^k) every this many updates (0: off) ... */
  readonly evalEveryUpdates: number;
  /** ... and/or every this many milliseconds (0: off). */
  readonly evalEveryMs: number;
  /** Re-sum w̄ = Σ π_i w_i every this many updates, to shed floating-point drift. */
  readonly resumEvery: number;
  readonly delayMs: number;
  readonly modelOut?: string;
  readonly token?: string;
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly maxPayload?: number;
  /**
   * Give up when fewer than `workers` are ready this long after the master starts waiting (at start,
   * on --resume, or after losing workers with no spare): reason 'wait-timeout', exit 6. 0: forever.
   */
  readonly waitTimeoutMs?: number;
  /** What a peer may cost before its hello is accepted (admission.ts; defaults when absent). */
  readonly admission?: import('./admission').AdmissionLimits;
  /** Heartbeat: a worker that does not answer a ping within this time is dropped. */
  readonly heartbeatMs: number;
  /** Checkpoint file, written every `everyMs` (0: only the final one, when the run stops). */
  readonly checkpoint?: { readonly file: string; readonly everyMs: number };
  /** Continue from this checkpoint (read by the caller; refused here if it is another run's). */
  readonly resume?: { readonly file: string; readonly checkpoint: Checkpoint };
  /** On divergence: restart from the best evaluated point with a larger p (default), or stop. */
  readonly onDivergence?: 'restart' | 'stop';
  /** Restarts allowed before the run is stopped as diverged (default 10). */
  readonly maxRestarts?: number;
  readonly divergence?: DivergenceRule;
  readonly logger: Logger;
}
