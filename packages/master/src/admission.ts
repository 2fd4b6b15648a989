import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';

/**
 * What a peer may cost the master before it has proved anything. A peer that has not sent an
 * accepted hello is a stranger: it gets a few KiB of frame, a few seconds, and a seat among a
 * bounded number of other strangers; when the seats are full the OLDEST stranger is evicted (it has
 * had the longest time to say hello), so a flood of idle sockets churns instead of locking real
 * workers and /healthz out.
 */
export interface AdmissionLimits {
  /** largest frame before hello is accepted; a legal hello is well under 1 KiB (id ≤ 128 chars, 32-byte nonce and proof) */
  readonly preAuthMaxPayload: number;
  /** a connection (TCP or WebSocket) that has not sent an accepted hello by then is closed */
  readonly helloTimeoutMs: number;
  /** WebSocket connections without an accepted hello */
  readonly maxUnauthenticated: number;
  /** open TCP sockets on the master's port (WebSocket and HTTP together) */
  readonly maxSockets: number;
  /**
   * authenticated workers at once: the run's M plus the spares (standbys) worth keeping; a hello
   * beyond it is answered close 1013 (try again later). resolveMasterConfig sets 2M + 8 by default.
   */
  readonly maxAuthenticated: number;
}

/** Half the process's descriptor limit (the rest is for files and the event loop), at most 1024. */
export function defaultMaxSockets(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+)/m.exec(limits);
    if (m) return Math.max(16, Math.min(1024, Math.floor(Number(m[1]) / 2)));
  } catch {
    // not Linux: fall through to the fixed default
  }
  return 1024;
}

export function defaultAdmissionLimits(): AdmissionLimits {
  return Object.freeze({
    preAuthMaxPayload: 16 * 1024,
    helloTimeoutMs: 5000,
    maxUnauthenticated: 32,
    maxSockets: defaultMaxSockets(),
    maxAuthenticated: 1024,
  });
}

export type RefusalReason =
  | 'hello-timeout'
  | 'unauthenticated-evicted'
  | 'socket-evicted'
  | 'socket-refused'
  | 'socket-idle'
  | 'pre-auth-too-big'
  | 'slow-consumer'
  | 'too-many-workers';

/**
 * Counts every refusal (for soda_connections_refused_total) and logs it at most once per source
 * and reason per `windowMs`, with how many were suppressed: an attack must not become a log flood.
 * One per master (server.ts makes it; the socket guard, the connection layer and /metrics share it).
 */
export class Refusals {
  readonly counts = new Map<RefusalReason, number>();
  private readonly lastLog = new Map<string, { at: number; suppressed: number }>();

  constructor(
    /** the master's logger (undefined: count only) */
    private readonly log: Logger | undefined,
    private readonly windowMs = 10_000,
  ) {}

  total(): number {
    let s = 0;
    for (const v of this.counts.values()) s += v;
    return s;
  }

  note(reason: RefusalReason, source: string): void {
    const log = this.log;
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (log === undefined) return;
    const key = `${reason} ${source}`;
    const now = performance.now(); // monotonic: a wall-clock step must not unmute or mute the log
    const seen = this.lastLog.get(key);
    if (seen !== undefined && now - seen.at < this.windowMs) {
      seen.suppressed++;
      return;
    }
    log.warn({ reason, source, suppressed: seen?.suppressed ?? 0 }, 'connection refused');
    this.lastLog.set(key, { at: now, suppressed: 0 });
    // keep the map bounded under a flood of distinct sources
    if (this.lastLog.size > 4096) this.lastLog.clear();
  }
}
