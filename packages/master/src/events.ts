import { assertNever, type SparseVector } from '@soda/core';
import {
  ProtocolError,
  type ErrorMsg,
  type FromMaster,
  type FromWorker,
  type Hello,
  type ProtocolErrorCode,
  type SummaryRecord,
} from '@soda/protocol';
import type { Checkpoint } from './checkpoint';

/**
 * The worker frames the coordinator handles once the handshake is over: each is declared once, in
 * @soda/protocol's FromWorker (with its schema in SCHEMAS), and becomes the event of the same name
 * (hello and error are the connection layer's). A new message type is a new member of this union, and
 * every switch over it (messageEvent, Coordinator.handle) fails to compile until it is handled.
 */
export type ShardMessage = Exclude<FromWorker, Hello | ErrorMsg>;

/** The event of a shard message `M`: its type is the message's `t`. */
export type MessageEvent<M extends ShardMessage = ShardMessage> = M extends ShardMessage
  ? { readonly type: M['t']; readonly now: number; readonly conn: number; readonly msg: M }
  : never;

/** A decoded, authenticated frame from connection `conn` as the coordinator's event. */
export function messageEvent(msg: ShardMessage, now: number, conn: number): MessageEvent {
  switch (msg.t) {
    case 'ready':
      return { type: 'ready', now, conn, msg };
    case 'update':
      return { type: 'update', now, conn, msg };
    case 'evalResult':
      return { type: 'evalResult', now, conn, msg };
    case 'stats':
      return { type: 'stats', now, conn, msg };
    default:
      return assertNever(msg, "worker's message");
  }
}

/**
 * What the coordinator hears. Every event carries `now`, a monotonic clock in ms (the coordinator
 * reads no clock); `conn` is the connection id the wiring gave the worker. Frames arrive here only
 * after Connections decoded, validated and authenticated them.
 */
export type CoordinatorEvent =
  | {
      readonly type: 'hello';
      readonly now: number;
      readonly conn: number;
      readonly worker: string;
      /** the shard a pinned worker (--shard) insists on */
      readonly shard?: number;
    }
  | MessageEvent
  | { readonly type: 'close'; readonly now: number; readonly conn: number; readonly code: number }
  /** time passes: deadlines (max time, checkpoints, the final evaluation's timeout) are checked */
  | { readonly type: 'tick'; readonly now: number }
  /** stop the run (a signal, the API) */
  | { readonly type: 'stop'; readonly now: number; readonly reason: string };

/** The run's outcome, as the wiring resolves it. */
export interface Outcome {
  readonly reason: string;
  /** F at the last evaluation (null if none) */
  readonly objective: number | null;
  readonly subopt: number | null;
  readonly updates: number;
}

/** What the coordinator asks the wiring to do, in order. */
export type Command =
  | { readonly type: 'send'; readonly conn: number; readonly msg: FromMaster }
  /** refuse a frame: error frame, warning, close with the error's code (the state is untouched) */
  | { readonly type: 'reject'; readonly conn: number; readonly error: ProtocolError }
  /** the run is over: tell every peer `stop` and close */
  | { readonly type: 'close'; readonly reason: string }
  | { readonly type: 'writeCheckpoint'; readonly checkpoint: Checkpoint }
  | {
      readonly type: 'log';
      readonly level: 'info' | 'warn';
      readonly msg: string;
      readonly fields: object;
    }
  /**
   * Write the outputs and shut down: the model file (with F when it is of the final w), the final
   * checkpoint (null: none, e.g. training never started), then the summary line.
   */
  | {
      readonly type: 'finish';
      readonly outcome: Outcome;
      readonly w: SparseVector;
      readonly modelObjective: number | null;
      readonly checkpoint: Checkpoint | null;
      readonly summary: SummaryRecord;
    };

/** Where a handler's commands collect, in order, until the event is handled. */
export class Outbox {
  private cmds: Command[] = [];

  push(cmd: Command): void {
    this.cmds.push(cmd);
  }

  /** The commands so far; the outbox is empty again. */
  take(): Command[] {
    const out = this.cmds;
    this.cmds = [];
    return out;
  }

  send(conn: number, msg: FromMaster): void {
    this.cmds.push({ type: 'send', conn, msg });
  }

  reject(conn: number, code: ProtocolErrorCode, message: string, field: string): void {
    this.cmds.push({ type: 'reject', conn, error: new ProtocolError(code, message, field) });
  }

  writeCheckpoint(checkpoint: Checkpoint): void {
    this.cmds.push({ type: 'writeCheckpoint', checkpoint });
  }

  info(fields: object, msg: string): void {
    this.cmds.push({ type: 'log', level: 'info', msg, fields });
  }

  warn(fields: object, msg: string): void {
    this.cmds.push({ type: 'log', level: 'warn', msg, fields });
  }
}
