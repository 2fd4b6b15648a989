import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { SodaError } from '@soda/core';
import { DEFAULT_MAX_PAYLOAD_WORKER } from '@soda/protocol';
import type { WorkerConfig } from './config';

/*
 * The connection's housekeeping, apart from the protocol: reconnect backoff and the liveness watch.
 */

/** A socket to the master: frames up to cfg.maxPayload, a zero masking key, TCP keepalive. */
export function openSocket(cfg: WorkerConfig): WebSocket {
  const ws = new WebSocket(cfg.master, {
    maxPayload: cfg.maxPayload ?? DEFAULT_MAX_PAYLOAD_WORKER,
    generateMask: zeroMask,
    ...(cfg.tlsCa ? { ca: readFileSync(cfg.tlsCa) } : {}),
  });
  // TCP keepalive: the kernel probes an idle link, so a dead path surfaces as an error even when
  // neither side has anything to send
  ws.on('upgrade', (res) => res.socket.setKeepAlive(true, 10_000));
  return ws;
}

/** Close codes after which reconnecting cannot help (wrong token, wrong version): the worker exits non-zero. */
export function isFatalClose(code: number): boolean {
  return code === 1008;
}

/** Reconnect with exponential backoff and jitter; give up after cfg.giveUpMs of failures (0: never). */
export class Backoff {
  private waitMs: number;
  private firstFailureAt = 0;
  private timer: NodeJS.Timeout | null = null;
  lastError: string | null = null;

  constructor(private readonly cfg: WorkerConfig) {
    this.waitMs = cfg.retryInitialMs;
  }

  /** A connection opened: the next failure starts a fresh backoff. */
  reset(): void {
    this.waitMs = this.cfg.retryInitialMs;
    this.firstFailureAt = 0;
  }

  /** Schedules `retry`, or returns why the worker gives up. */
  next(retry: () => void): SodaError | null {
    const now = performance.now();
    if (this.firstFailureAt === 0) this.firstFailureAt = now;
    const { giveUpMs, master } = this.cfg;
    if (giveUpMs > 0 && now - this.firstFailureAt > giveUpMs)
      return new SodaError(
        'E_UNREACHABLE',
        `could not reach the master at ${master} for ${giveUpMs} ms` +
          (this.lastError ? ` (last error: ${this.lastError})` : ''),
      );
    const wait = this.waitMs * (0.75 + 0.5 * Math.random()); // jitter: spread a herd of workers
    this.waitMs = Math.min(this.waitMs * 2, this.cfg.retryMaxMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      retry();
    }, wait);
    return null;
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * A master that went silent (dropped by a proxy, a dead NAT entry, a frozen process) sends no FIN:
 * without this the worker would sit 'connected' forever. Any frame or ping counts as a sign of life.
 */
export class Liveness {
  /** performance.now() when the master was last heard from (monotonic: immune to clock steps) */
  private lastHeard = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly cfg: WorkerConfig) {}

  heard(): void {
    this.lastHeard = performance.now();
  }

  watch(ws: WebSocket): void {
    this.stop();
    const limit = this.cfg.livenessMs ?? 0;
    this.heard();
    if (limit <= 0) return;
    const period = Math.max(100, Math.min(1000, limit / 4));
    let lastTick = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      // late: this worker was busy (loading its shard) and has not read its socket yet; Node runs an
      // overdue timer before it reads, so the master's pings may be waiting there: listen afresh
      if (now - lastTick > 2 * period) this.lastHeard = now;
      lastTick = now;
      const silent = now - this.lastHeard;
      if (silent <= limit) return;
      this.cfg.logger.warn({ silentMs: Math.round(silent), limitMs: limit }, 'master silent; reconnecting');
      this.stop();
      ws.terminate();
    }, period);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

/**
 * The WebSocket masking key of every frame this worker sends: all zeros. RFC 6455 masks client frames so
 * that script in a browser cannot make a proxy cache attacker-chosen bytes; a worker sends only the
 * msgpack it encoded itself, so the mask protects nothing here, while XOR-ing every update (tens of kB)
 * on the worker and again on the master cost as much CPU as the step. With a zero key `ws` skips the
 * work on both sides (and the copy it makes to mask). Frames stay valid WebSocket client frames: the
 * mask bit is set, the key is simply 0; the master still decodes and validates every frame in full.
 */
function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
