import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { createMetrics } from './metrics';
import type { RunState } from './run-state';
import type { AdmissionLimits, Refusals } from './admission';

export interface HealthSource {
  phase(): string;
  workers(): number;
  k(): number;
}

/**
 * /readyz is 200 only while the run trains AND k moved within `stallMs`: /healthz says the process
 * answers, /readyz tells a stalled run (all workers gone silent, a master waiting forever) apart.
 */
export function readiness(health: HealthSource, stallMs: number) {
  let lastK = -1;
  let movedAt = performance.now(); // monotonic: a wall-clock step must not fake progress or a stall
  return (): { ready: boolean; why: string } => {
    const now = performance.now();
    const k = health.k();
    if (k !== lastK) {
      lastK = k;
      movedAt = now;
    }
    const phase = health.phase();
    if (phase !== 'running') return { ready: false, why: `phase ${phase}` };
    const idle = now - movedAt;
    if (idle > stallMs) return { ready: false, why: `no update for ${Math.round(idle)} ms` };
    return { ready: true, why: 'training' };
  };
}

/**
 * /healthz (liveness, JSON), /readyz (training and progressing) and /metrics (Prometheus) beside the
 * WebSocket, on the same port. They need no token: they tell anyone who can reach the port the run's
 * phase, k, objective and traffic (README, "What is protected"); keep the port on loopback or behind
 * a firewall when that matters.
 */
export function httpHandler(health: HealthSource, metrics: Registry, stallMs = 30_000) {
  const ready = readiness(health, stallMs);
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.url === '/readyz') {
      const r = ready();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: r.ready ? 'ready' : 'not-ready', why: r.why, k: health.k() }));
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ status: 'ok', phase: health.phase(), workers: health.workers(), k: health.k() }),
      );
      return;
    }
    if (req.url === '/metrics') {
      metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${e.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  };
}

/**
 * The Prometheus metrics of a run, read at scrape time; the staleness histogram is fed by the caller
 * (the run's delay observer, see server.ts) through the returned observeStaleness.
 */
export function runMetrics(
  run: RunState,
  live: LiveSource,
): { registry: Registry; observeStaleness(d: number): void } {
  const { connected, last } = live;
  const { stats, shards } = run;
  // no model yet (the workers hold the data and the stats round is not over): zeros
  const model = () =>
    run.hasModel ? run.model : { k: 0, supportSize: 0, n: 1, unpenalizedFrom: 1, wAt: () => 0 };
  const metrics = createMetrics({
    updates: () => stats.updates,
    epochs: () => model().k / shards.size,
    objective: () => last()?.objective ?? null,
    subopt: () => last()?.subopt ?? null,
    supportSize: () => model().supportSize,
    // the intercept, when fitted, is a coordinate of w but not a feature
    supportRatio: () => {
      const m = model();
      const u = m.unpenalizedFrom;
      return (m.supportSize - (u < m.n && m.wAt(u) !== 0 ? 1 : 0)) / u;
    },
    coordsUp: () => stats.coordsUp,
    coordsDown: () => stats.coordsDown,
    bytesUp: () => stats.bytesUp,
    bytesDown: () => stats.bytesDown,
    evalCoordsDown: () => stats.evalCoordsDown,
    gapCoordsUp: () => stats.gapCoordsUp,
    evalBytesUp: () => stats.evalBytesUp,
    updateBytesUp: () => stats.updateBytesUp,
    modelBytesDown: () => stats.modelBytesDown,
    workersConnected: connected,
    workersReady: () => shards.readyCount(),
    rejectedFrames: () => stats.rejectedFrames,
    departures: () => stats.departures,
    connectionsRefused: () => live.refused(),
    outputWriteFailures: () => live.outputFailures(),
  });
  return metrics;
}

/** What the HTTP endpoints read from the master besides the run state. */
export interface LiveSource {
  phase(): string;
  connected(): number;
  last(): { objective: number; subopt: number | null } | null;
  /** connections refused or evicted before authentication (this master's Refusals) */
  refused(): number;
  /** outputs (model, final checkpoint) that could not be written */
  outputFailures(): number;
}

/**
 * /healthz, /readyz and /metrics alone: for a status listener on another address than the workers'
 * port (http.createServer(statusHandler(run, live)).listen(port, host)), so the run's state need not
 * be reachable by whoever can reach the workers' port.
 */
export function statusHandler(run: RunState, live: LiveSource, metrics: Registry) {
  const health = {
    phase: live.phase,
    workers: () => run.shards.readyCount(),
    k: () => (run.hasModel ? run.model.k : 0),
  };
  return httpHandler(health, metrics);
}

/** What the master's listeners share: the run, the live sources, the metrics, the socket guard's limits. */
export interface StatusContext {
  readonly run: RunState;
  readonly live: LiveSource;
  readonly metrics: Registry;
  readonly limits: AdmissionLimits;
  readonly refusals: Refusals;
}

/**
 * The HTTP(S) server the WebSocket upgrades from (https when a certificate and key are given). With
 * `serveStatus` false the status endpoints live on their own listener (createStatusServer) and this
 * port answers nothing but the WebSocket upgrade.
 */
export function createHttpServer(
  tls: { readonly cert: string; readonly key: string } | undefined,
  ctx: StatusContext,
  serveStatus = true,
): http.Server {
  const handler = serveStatus ? statusHandler(ctx.run, ctx.live, ctx.metrics) : elsewhere;
  const server = !tls
    ? http.createServer(handler)
    : https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler);
  guardSockets(server, ctx.limits, ctx.refusals);
  return server;
}

/** /healthz, /readyz and /metrics on a listener of their own (--status-host/--status-port). */
export function createStatusServer(ctx: StatusContext): http.Server {
  const server = http.createServer(statusHandler(ctx.run, ctx.live, ctx.metrics));
  guardSockets(server, ctx.limits, ctx.refusals);
  return server;
}

function elsewhere(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not here: this master serves /healthz, /readyz and /metrics on its --status-port\n');
}

/**
 * The TCP-level gate, before any byte is parsed: at most `maxSockets` open sockets; a socket that has
 * neither upgraded to WebSocket nor sent an HTTP request within `helloTimeoutMs` is closed; when the
 * sockets are all taken, the oldest such idle one makes room (evicting beats refusing: idle sockets
 * cannot then lock out a worker or a health probe, which need milliseconds). TCP keepalive is on so
 * a peer behind a dead link is found even when no frame is due.
 */
export function guardSockets(server: http.Server, limits: AdmissionLimits, refusals: Refusals): void {
  const open = new Set<Socket>();
  /** sockets that have said nothing yet, oldest first (Set keeps insertion order) */
  const idle = new Set<Socket>();
  const source = (s: Socket) => s.remoteAddress ?? 'unknown';
  // a TLS server emits 'connection' with the raw TCP socket; 'secureConnection' follows
  server.on('connection', (socket: Socket) => {
    if (open.size >= limits.maxSockets) {
      const oldest = idle.values().next();
      if (oldest.done === true) {
        refusals.note('socket-refused', source(socket));
        socket.destroy();
        return;
      }
      refusals.note('socket-evicted', source(oldest.value));
      oldest.value.destroy();
      idle.delete(oldest.value);
      open.delete(oldest.value);
    }
    open.add(socket);
    idle.add(socket);
    socket.setKeepAlive(true, 10_000);
    // ws calls socket.setTimeout(0) when it takes the socket over on upgrade
    socket.setTimeout(limits.helloTimeoutMs, () => {
      if (!idle.has(socket)) return;
      refusals.note('socket-idle', source(socket));
      socket.destroy();
    });
    socket.once('close', () => {
      open.delete(socket);
      idle.delete(socket);
    });
  });
  const active = (socket: Socket) => {
    idle.delete(socket);
  };
  server.on('request', (req: http.IncomingMessage) => active(req.socket));
  server.on('upgrade', (req: http.IncomingMessage) => active(req.socket));
}
