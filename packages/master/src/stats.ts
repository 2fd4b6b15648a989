import { SodaError } from '@soda/core';

/** The counters a checkpoint carries (the delay statistics are per progress line and are not kept). */
export const COUNTERS = [
  'updates',
  'coordsUp',
  'coordsDown',
  'bytesUp',
  'bytesDown',
  'rejectedFrames',
  'departures',
  'evalBytesUp',
  'gapCoordsUp',
  'evalCoordsDown',
  'updateBytesUp',
  'modelBytesDown',
] as const;
export type Counter = (typeof COUNTERS)[number];

/** The counters the connection layer keeps (it owns this object; the run only reads it). */
type WireCounter =
  'bytesUp' | 'bytesDown' | 'rejectedFrames' | 'evalBytesUp' | 'updateBytesUp' | 'modelBytesDown';

/** What crossed the wire in this process: written by Connections alone, read by RunStats. */
export class WireCounters {
  bytesUp = 0;
  bytesDown = 0;
  rejectedFrames = 0;
  /** bytes of the evaluation rounds' answers (f_i and the gap parts): what evaluation costs upstream */
  evalBytesUp = 0;
  /** bytes of the update frames (Δ) received, and of the model frames (w) sent: the step traffic */
  updateBytesUp = 0;
  modelBytesDown = 0;
}

const isWire = (k: Counter): k is WireCounter =>
  k === 'bytesUp' ||
  k === 'bytesDown' ||
  k === 'rejectedFrames' ||
  k === 'evalBytesUp' ||
  k === 'updateBytesUp' ||
  k === 'modelBytesDown';

/**
 * Counters of what crossed the network and how stale the updates were. The run's own counters change
 * through the coordinator; the wire's are the connection layer's (WireCounters), added to what a
 * checkpoint had counted before this process.
 */
export class RunStats {
  updates = 0;
  coordsUp = 0;
  coordsDown = 0;
  departures = 0;
  /** the wire's counts of the processes before this one (a resumed run) */
  private readonly before: Record<WireCounter, number> = {
    bytesUp: 0,
    bytesDown: 0,
    rejectedFrames: 0,
    evalBytesUp: 0,
    updateBytesUp: 0,
    modelBytesDown: 0,
  };
  /** coordinates of the gap parts u_i uploaded (Σ over rounds of Σ_i |u_i|) */
  gapCoordsUp = 0;
  /** coordinates of w sent in evaluation requests (Σ over requests of |w|): with coordsDown, all of w sent */
  evalCoordsDown = 0;
  private delaySum = 0;
  private delayCount = 0;
  private delayMaxValue = 0;

  /** `onDelay` is called with every recorded delay (the /metrics staleness histogram). */
  constructor(
    private readonly onDelay?: (d: number) => void,
    private readonly wire: Readonly<WireCounters> = new WireCounters(),
  ) {}

  get bytesUp(): number {
    return this.before.bytesUp + this.wire.bytesUp;
  }

  get bytesDown(): number {
    return this.before.bytesDown + this.wire.bytesDown;
  }

  get evalBytesUp(): number {
    return this.before.evalBytesUp + this.wire.evalBytesUp;
  }

  get updateBytesUp(): number {
    return this.before.updateBytesUp + this.wire.updateBytesUp;
  }

  get modelBytesDown(): number {
    return this.before.modelBytesDown + this.wire.modelBytesDown;
  }

  get rejectedFrames(): number {
    return this.before.rejectedFrames + this.wire.rejectedFrames;
  }

  /** delay = number of master updates between the model a worker used and the update it sent. */
  recordDelay(d: number): void {
    this.delaySum += d;
    this.delayCount++;
    if (d > this.delayMaxValue) this.delayMaxValue = d;
    this.onDelay?.(d);
  }

  /** Mean delay since the last takeDelays(), without resetting (for scrapes). */
  peekDelayMean(): number {
    return this.delayCount > 0 ? this.delaySum / this.delayCount : 0;
  }

  /** Mean and max delay since the last call (then reset). */
  takeDelays(): { delayMean: number; delayMax: number } {
    const out = {
      delayMean: this.delayCount > 0 ? this.delaySum / this.delayCount : 0,
      delayMax: this.delayMaxValue,
    };
    this.delaySum = 0;
    this.delayCount = 0;
    this.delayMaxValue = 0;
    return out;
  }

  /**
   * Continue the counts of a checkpoint, field by field: each must be an integer ≥ 0, and fields the
   * checkpoint does not know (an older version) start at 0. Anything else in it is ignored.
   */
  restore(saved: unknown): void {
    const o = (typeof saved === 'object' && saved !== null ? saved : {}) as Record<string, unknown>;
    for (const key of COUNTERS) {
      const v = o[key] ?? 0;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
        throw new SodaError('E_STATE', `checkpoint stats.${key} = ${String(v)} is not a count`, { key });
      if (isWire(key)) this.before[key] = v;
      else this[key] = v;
    }
  }

  snapshot(): Record<Counter, number> {
    return {
      updates: this.updates,
      coordsUp: this.coordsUp,
      coordsDown: this.coordsDown,
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      rejectedFrames: this.rejectedFrames,
      departures: this.departures,
      evalBytesUp: this.evalBytesUp,
      gapCoordsUp: this.gapCoordsUp,
      evalCoordsDown: this.evalCoordsDown,
      updateBytesUp: this.updateBytesUp,
      modelBytesDown: this.modelBytesDown,
    };
  }
}
