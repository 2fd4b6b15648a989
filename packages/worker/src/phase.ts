import type { SodaError } from '@soda/core';
import type WebSocket from 'ws';
import type { Assign, FrameMac, SessionParams } from '@soda/protocol';
import type { HeldModel } from './held-model';
import type { Held } from './loading';
import type { LocalStep } from './local-step';
import type { OwnShard } from './own-data';

/** One open connection: its socket and, once the master proved the token over plain ws://, the frame MAC. */
export interface Link {
  readonly ws: WebSocket;
  readonly mac: FrameMac | null;
}

/** A shard being computed on: the assignment, the held rows and the local step (Algorithm 1's w_i). */
export interface Work {
  readonly assign: Assign;
  readonly held: Held;
  readonly local: LocalStep;
  /** wire precision 32: the model ŵ built from the master's whole and diff frames (null: 64) */
  readonly model: HeldModel | null;
}

/**
 * The worker's phase, one variant per step of its life, each holding exactly what it needs (the
 * style of master/src/shards.ts). connecting → handshake → loading → ready ⇄ stepping / evaluating →
 * closing; a lost connection goes back to connecting, and everything tied to it goes with it.
 */
export type Phase =
  /** no connection: opening one, or waiting out the backoff */
  | { readonly kind: 'connecting' }
  /** connected; `session`: with a token, the session offered in our hello until the welcome proves it */
  | { readonly kind: 'handshake'; readonly link: Link; readonly session: SessionParams | null }
  /** an assign is being served: reading the own file, or (`own` set) stats sent, waiting for `scale` */
  | {
      readonly kind: 'loading';
      readonly link: Link;
      readonly assign: Assign;
      /** a shard loaded earlier on this connection (a restart may reuse it) */
      readonly held: Held | null;
      readonly own: OwnShard | null;
    }
  /** a shard is loaded; waiting for the master */
  | { readonly kind: 'ready'; readonly link: Link; readonly work: Work }
  /** Δs computed and waiting out their artificial delay (a step without delay is sent at once) */
  | { readonly kind: 'stepping'; readonly link: Link; readonly work: Work; readonly inFlight: number }
  /** f_i and the gap parts being computed (synchronous today: no frame is handled meanwhile) */
  | { readonly kind: 'evaluating'; readonly link: Link; readonly work: Work }
  /**
   * leaving for good; `refusal`: why, when it is a failure (reported once the socket closed); `error`:
   * the coded error to exit with when it is not a refusal by the master (this worker's own data file)
   */
  | { readonly kind: 'closing'; readonly refusal: string | null; readonly error?: SodaError };
