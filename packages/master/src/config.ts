import { randomInt } from 'node:crypto';
import { SodaError, type Dataset, type SplitManifest } from '@soda/core';
import type { WirePrecision } from '@soda/protocol';
import type { Logger } from 'pino';
import { defaultAdmissionLimits, type AdmissionLimits } from './admission';
import { algorithm, ALGO_NAMES, isAlgo, type Algo } from './algo';
import type { Checkpoint } from './checkpoint';
import type { DivergenceRule } from './divergence';

export type { Algo };

/**
 * Every default of the master, in one place. The CLI, the environment (through the CLI's options) and
 * a library caller all give MasterOptions; resolveMasterConfig turns them into the frozen, complete
 * MasterConfig the master runs on. Nothing downstream writes `x ?? default`.
 */
export const MASTER_DEFAULTS = Object.freeze({
  /** SODA's mask probability when none is given (DAve-PG and sync-PG fix their own: algo.ts) */
  p: 0.1,
  /** re-sum w̄ = Σ π_i w_i every this many updates, to shed floating-point drift */
  resumEvery: 10000,
  onDivergence: 'restart' as 'restart' | 'stop',
  maxRestarts: 10,
  normalize: true,
  heartbeatMs: 10_000,
  /** 0: wait for the workers for ever */
  waitTimeoutMs: 0,
  /** authenticated peers at once: the run's M workers plus as many spares again (+ 8) */
  maxAuthenticated: (workers: number) => 2 * workers + 8,
  /**
   * γ until the L_i are known: ModelState needs one from the start, the coordinator sets the real
   * γ = 2/(μ + max L_i) (or the given one) when training begins, before any w is sent.
   */
  gammaUntilStart: 1,
  /** bits of a value in the model and update frames: 64 (exact doubles) or, opt-in, 32 (DESIGN.md) */
  wirePrecision: 64 as WirePrecision,
});

/** The options with a default (MASTER_DEFAULTS); every other field of MasterOptions is required. */
type Defaulted =
  | 'p'
  | 'resumEvery'
  | 'onDivergence'
  | 'maxRestarts'
  | 'normalize'
  | 'heartbeatMs'
  | 'waitTimeoutMs'
  | 'spotCheckSalt'
  | 'wirePrecision';

/** What the master runs on: every default applied, checked, frozen (resolveMasterConfig). */
export type MasterConfig = Readonly<
  Omit<MasterOptions, Defaulted | 'admission'> &
    Required<Pick<MasterOptions, Defaulted>> & { readonly admission: AdmissionLimits }
>;

/**
 * The one place options become a config: defaults applied, the algorithm's p rule enforced (DAve-PG
 * and sync-PG run at p = 1; another p given with them is an error, never silently another algorithm),
 * the admission limits completed, the result frozen.
 */
export function resolveMasterConfig(o: MasterOptions): MasterConfig {
  if (o === null || typeof o !== 'object') throw new SodaError('E_CONFIG', 'the master needs its options');
  const algo: unknown = o.algo;
  if (!isAlgo(algo))
    throw new SodaError('E_CONFIG', `algo = ${String(algo)}: expected one of ${ALGO_NAMES.join(', ')}`, {
      field: 'algo',
      value: algo,
    });
  if (!(Number.isSafeInteger(o.workers) && o.workers >= 1))
    throw new SodaError('E_CONFIG', `workers = ${o.workers}: expected an integer ≥ 1`, { field: 'workers' });
  const fixed = algorithm(algo).fixedP;
  if (fixed !== null && o.p !== undefined && o.p !== fixed)
    throw new SodaError('E_CONFIG', `algo ${algo} runs at p = ${fixed}, but p = ${o.p} was given`, {
      field: 'p',
      value: o.p,
    });
  const p = fixed ?? o.p ?? MASTER_DEFAULTS.p;
  if (!(p > 0 && p <= 1))
    throw new SodaError('E_CONFIG', `p = ${p}: a probability in (0, 1] is expected`, {
      field: 'p',
      value: p,
    });
  const d = MASTER_DEFAULTS;
  const wirePrecision: unknown = o.wirePrecision ?? d.wirePrecision;
  if (wirePrecision !== 32 && wirePrecision !== 64)
    throw new SodaError('E_CONFIG', `wirePrecision = ${String(wirePrecision)}: expected 32 or 64`, {
      field: 'wirePrecision',
      value: wirePrecision,
    });
  const admission: AdmissionLimits = Object.freeze({
    ...defaultAdmissionLimits(),
    maxAuthenticated: d.maxAuthenticated(o.workers),
    ...o.admission,
  });
  return Object.freeze({
    ...o,
    algo,
    p,
    resumEvery: o.resumEvery ?? d.resumEvery,
    onDivergence: o.onDivergence ?? d.onDivergence,
    maxRestarts: o.maxRestarts ?? d.maxRestarts,
    normalize: o.normalize ?? d.normalize,
    heartbeatMs: o.heartbeatMs ?? d.heartbeatMs,
    waitTimeoutMs: o.waitTimeoutMs ?? d.waitTimeoutMs,
    wirePrecision,
    // unpredictable to the workers unless a test fixes it: the one random draw of a run
    spotCheckSalt: o.spotCheckSalt ?? randomInt(0x7fffffff),
    admission,
  });
}

/** Everything a caller (the CLI, a library user, a test) tells the master; see MASTER_DEFAULTS. */
export interface MasterOptions {
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
  /** With data null: whether the stats round's max-abs divisors scale the workers' rows. */
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
  /** Mask probability; dave-pg and sync-pg fix it at 1 (algo.ts). */
  readonly p?: number;
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
  readonly resumEvery?: number;
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
  /** What a peer may cost before its hello is accepted (admission.ts); absent fields get the defaults. */
  readonly admission?: Partial<AdmissionLimits>;
  /** Heartbeat: a worker that does not answer a ping within this time is dropped. */
  readonly heartbeatMs?: number;
  /** Salt of the spot-check's choice of shard per round (claim-guard.ts); random unless a test sets it. */
  readonly spotCheckSalt?: number;
  /** Checkpoint file, written every `everyMs` (0: only the final one, when the run stops). */
  readonly checkpoint?: { readonly file: string; readonly everyMs: number };
  /** Continue from this checkpoint (read by the caller; refused here if it is another run's). */
  readonly resume?: { readonly file: string; readonly checkpoint: Checkpoint };
  /** On divergence: restart from the best evaluated point with a larger p, or stop. */
  readonly onDivergence?: 'restart' | 'stop';
  /** Restarts allowed before the run is stopped as diverged. */
  readonly maxRestarts?: number;
  readonly divergence?: DivergenceRule;
  /**
   * Bits of a value in the model and update frames. 32: float32 values with error feedback both ways
   * (DESIGN.md, "Wire precision 32"): ≈ 5 bytes a coordinate instead of 9, the same tolerance reached.
   */
  readonly wirePrecision?: WirePrecision;
  readonly logger: Logger;
}
